"""Incremental execution: a notebook runs again exactly when something it reads changed.

On a copy of the fixture review: nothing changed -> nothing executed; one count changed in one
study file -> that study's chapter (which then shows the new count), the chapters that name it
as overlapping and the pages over all studies run again, and no other study chapter does --
and that other chapter, executed anyway, gives the same bytes (its declared inputs are enough).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis import build, notebooks
from analysis.review.loading import load
from factory import FIXTURE, ROOT

STUDIES = ("hua2020", "zhang2021", "ddcart2_2025")


def run(book: Path, data: Path, cache: Path, pool: build.Pool) -> build.Result:
    result = build.execute_book(load(data), book, cache_file=cache, log=lambda line: None, pool=pool)
    assert result.ok, [o.error for o in result.failed]
    return result


def names(paths) -> set[str]:
    return {Path(getattr(p, "path", p)).stem for p in paths}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder for the copies, and one warm kernel serving every test of this module that uses
    it (as it would a long build: it re-reads what changed).  The kernel starts at the first
    execution, inside a test, where :func:`review_copy` has pointed it at the copy."""
    with build.Pool(1) as pool:
        yield tmp_path_factory.mktemp("incremental"), pool


@pytest.fixture
def review_copy(workspace, monkeypatch):
    """A fresh copy of the fixture review, of three study chapters and one synthesis chapter, and
    no execution cache, in the workspace (whatever an earlier test left there is removed)."""
    root, pool = workspace
    monkeypatch.setenv("REVIEW_DATA_DIR", str(root / "data"))  # the kernels read the copy (set for this test only)
    for old in root.iterdir():
        shutil.rmtree(old)
    data = root / "data"
    shutil.copytree(FIXTURE, data)
    book = root / "book"
    (book / "studies").mkdir(parents=True)
    (book / "synthesis").mkdir()
    for sid in STUDIES:
        shutil.copy(ROOT / "book" / "studies" / f"{sid}.ipynb", book / "studies")
    shutil.copy(ROOT / "book" / "synthesis" / "characteristics.ipynb", book / "synthesis")
    return book, data, root / "_build" / ".exec-cache.json", pool


def test_only_what_reads_a_changed_file_runs_again(review_copy):
    book, data, cache, pool = review_copy
    first = run(book, data, cache, pool)
    assert names(first.executed) == {*STUDIES, "characteristics"}
    assert names(run(book, data, cache, pool).executed) == set()  # nothing changed, nothing runs

    study = data / "studies" / "hua2020.yaml"
    text = study.read_text(encoding="utf-8")
    old = "  - outcome: agvhd_any\n    arm: car_t\n    events: 1\n"
    assert old in text
    study.write_text(text.replace(old, old.replace("events: 1", "events: 2")), encoding="utf-8")
    untouched = (book / "studies" / "ddcart2_2025.ipynb").read_bytes()

    third = run(book, data, cache, pool)
    # hua2020's chapter; zhang2021's names hua2020 as overlapping; characteristics reads all studies
    assert names(third.executed) == {"hua2020", "zhang2021", "characteristics"}
    chapter = (book / "studies" / "hua2020.ipynb").read_text(encoding="utf-8")
    row = "| Acute GVHD\\\\, any grade | Donor\\\\-derived CD19 CAR\\\\-T | {}\\\\/13 |"  # as stored in the JSON
    assert row.format(2) in chapter and row.format(1) not in chapter

    # the study chapter left alone gives the same bytes when executed anyway
    [outcome] = pool.execute([book / "studies" / "ddcart2_2025.ipynb"], None, None, log=lambda line: None)
    assert outcome.error is None, outcome.error
    assert build.text_of(outcome.nb).encode() == untouched


def test_a_markdown_edit_reexecutes_nothing_and_a_code_edit_its_notebook(review_copy):
    book, data, cache, pool = review_copy
    (book / "studies" / "zhang2021.ipynb").unlink()
    (book / "studies" / "ddcart2_2025.ipynb").unlink()
    run(book, data, cache, pool)
    path = book / "studies" / "hua2020.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nA sentence added to the prose."
    nbformat.write(nb, path)
    assert names(run(book, data, cache, pool).executed) == set()
    nb.cells[1].source += "\n# a comment in code"
    nbformat.write(nb, path)
    assert names(run(book, data, cache, pool).executed) == {"hua2020"}


def test_outputs_not_written_by_the_executor_are_not_trusted(review_copy):
    book, data, cache, pool = review_copy
    run(book, data, cache, pool)
    path = book / "synthesis" / "characteristics.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    next(c for c in nb["cells"] if c["cell_type"] == "code")["outputs"] = []  # e.g. an old version checked out
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert names(run(book, data, cache, pool).executed) == {"characteristics"}


def test_inputs_of_a_study_chapter_and_of_other_pages(tmp_path):
    review = load(FIXTURE)
    book = ROOT / "book"
    chapter = notebooks.inputs(book / "studies" / "hua2020.ipynb", review, book, seeds=tmp_path)
    rel = {p.relative_to(FIXTURE).as_posix() if p.is_relative_to(FIXTURE) else p.name for p in chapter}
    assert rel == {"studies/hua2020.yaml", "sources/hua2020.txt", "studies/zhang2021.yaml",
                   review.study("hua2020").extracted_from.document}
    every = notebooks.inputs(book / "synthesis" / "survival.ipynb", review, book, seeds=tmp_path)
    assert {p for p in FIXTURE.rglob("*") if p.is_file()} <= set(every)


def test_the_package_fingerprint_covers_every_file(tmp_path):
    pkg = tmp_path / "analysis"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "sub" / "m.py").write_text("x = 1\n")
    (pkg / "data.json").write_text("{}")
    (tmp_path / "requirements.txt").write_text("numpy==2\n")
    first = notebooks.Hasher().package(pkg, tmp_path)
    (pkg / "data.json").write_text("{ }")
    assert notebooks.Hasher().package(pkg, tmp_path) != first
    (pkg / "data.json").write_text("{}")
    (tmp_path / "requirements.txt").write_text("numpy==3\n")
    assert notebooks.Hasher().package(pkg, tmp_path) != first

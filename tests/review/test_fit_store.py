"""The build's store of model fits (``REVIEW_FIT_STORE``: GLMM fits, survival reconstructions): what is
read back is what was fitted.

The store only saves time: a result read from it must be the same, to the bit, as the fit it
replaces; an entry that cannot be read is fitted again; nothing is kept when the variable is
unset (tests and nbval); and a store belongs to one version of the package code.
"""
from __future__ import annotations

import os
import pickle

import polars as pl
import pytest

from analysis import notebooks
from analysis.review import fit_store, pooling

ROWS = pl.DataFrame({"study": ["a", "b", "c", "d"], "events": [3, 5, 2, 7], "denominator": [10, 12, 9, 15]})


def pooled(rows: pl.DataFrame = ROWS) -> pooling.Pooled:
    pooling._glmm.cache_clear()  # the per-process memo would hide the store
    return pooling.pool_counts(rows, "cr", "primary", "glmm", min_k=3, level=0.95)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(fit_store.ENV, str(tmp_path / "store"))
    yield tmp_path / "store"
    pooling._glmm.cache_clear()


def test_a_fit_read_from_the_store_is_the_fit(store, monkeypatch):
    first = pooled()
    [entry] = list(store.glob("glmm-*.pickle"))
    monkeypatch.setattr(pooling, "_fit_glmm", lambda *a: pytest.fail("fitted again although stored"))
    again = pooled()
    assert again.row() == first.row()
    assert again.fit.summary.equals(first.fit.summary)
    assert again.fit.forest_frame().equals(first.fit.forest_frame())
    assert entry.stat().st_size > 0
    monkeypatch.undo()  # no store, the real fit
    assert pooled().row() == first.row()


def test_another_input_is_another_entry(store):
    pooled()
    changed = ROWS.with_columns(pl.when(pl.col("study") == "a").then(4).otherwise(pl.col("events")).alias("events"))
    assert pooled(changed).events == 18
    assert len(list(store.glob("glmm-*.pickle"))) == 2


def test_an_unreadable_entry_is_fitted_again(store):
    first = pooled()
    [entry] = list(store.glob("glmm-*.pickle"))
    entry.write_bytes(b"not a pickle")
    assert pooled().row() == first.row()
    _, values, _ = pickle.loads(entry.read_bytes())  # rewritten whole
    assert (values["estimate"], values["tau2_high"]) == (first.estimate, first.tau2_high)


def test_no_store_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(fit_store.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    pooled()
    assert not list(tmp_path.rglob("*.pickle"))


def test_one_folder_per_version_of_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv(fit_store.ENV, "")  # restored after the test: use_fit_store sets it
    old = notebooks.use_fit_store(tmp_path / "store", package="a" * 64)
    (old / "glmm-x.pickle").write_bytes(b"")
    new = notebooks.use_fit_store(tmp_path / "store", package="b" * 64)
    assert new != old and not old.exists() and new.is_dir()
    assert os.environ[fit_store.ENV] == str(new)


def reconstructed(study: str = "roddie2025") -> list:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from factory import FIXTURE

    from analysis.review import survival
    from analysis.review.loading import load

    review = load(FIXTURE)
    review.memo.clear()  # the review is cached by content, with what it computed
    return survival.reconstructions(review, study)


def test_a_reconstruction_read_from_the_store_is_the_reconstruction(store, monkeypatch):
    from analysis.review import survival

    first = reconstructed()
    entries = sorted(store.glob("from_summary-*.pickle"))
    assert len(entries) == len(first) == 4  # one per arm and outcome
    monkeypatch.setattr(survival.survival, "from_summary", lambda *a, **k: pytest.fail("rebuilt although stored"))
    again = reconstructed()
    assert [r.label for r in again] == [r.label for r in first]
    for a, b in zip(again, first):
        assert a.data.equals(b.data) and a.used == b.used
        assert a.result.summary.equals(b.result.summary)
    monkeypatch.undo()
    monkeypatch.setenv(fit_store.ENV, "")  # no store: the same data rebuilt
    assert all(a.data.equals(b.data) for a, b in zip(reconstructed(), first))


def test_another_summary_is_another_entry(store):
    reconstructed()
    reconstructed("ddcart2_2025")
    assert len(list(store.glob("from_summary-*.pickle"))) == 6


def test_an_analysis_read_from_the_store_is_the_analysis(store, monkeypatch, tmp_path):
    import shutil
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from factory import FIXTURE

    from analysis.review import synthesis
    from analysis.review.loading import load

    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    first = synthesis.analyse(load(data), "crs_any")
    assert len(list(store.glob("analyse-*.pickle"))) == 1
    monkeypatch.setattr(synthesis, "_analyse", lambda *a: pytest.fail("analysed again although stored"))
    again = synthesis.analyse(load(data), "crs_any")
    assert again.result_rows() == first.result_rows()
    assert all(again.rows[k].equals(first.rows[k]) for k in first.rows)
    monkeypatch.undo()
    monkeypatch.setenv(fit_store.ENV, "")  # no store: the same analysis
    assert synthesis.analyse(load(data), "crs_any").result_rows() == first.result_rows()
    assert synthesis.analyse(load(data), "crs_any", sets=("logit_reml",)).result_rows() != first.result_rows()


@pytest.mark.parametrize("change", ["a file the studies do not name", "the plan", "the sets"])
def test_any_change_to_the_data_folder_is_another_analysis(store, tmp_path, change):
    import shutil
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from factory import FIXTURE

    from analysis.review import synthesis
    from analysis.review.loading import load

    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    synthesis.analyse(load(data), "crs_any")
    sets = None
    if change == "a file the studies do not name":
        (data / "curves" / "notes.txt").write_text("a reviewer's note", encoding="utf-8")
    elif change == "the plan":
        plan = data / "analysis_plan.yaml"
        plan.write_text(plan.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    else:
        sets = ("logit_reml",)
    synthesis.analyse(load(data), "crs_any", sets=sets)
    assert len(list(store.glob("analyse-*.pickle"))) == 2


def test_prune_removes_the_least_recently_used_entries(tmp_path):
    import time as _time

    folder = tmp_path / "store"
    folder.mkdir()
    paths = []
    for i in range(5):
        p = folder / f"glmm-{i}.pickle"
        p.write_bytes(pickle.dumps(b"x" * 1000))
        os.utime(p, (1_000_000 + i, 1_000_000 + i))  # entry 0 used longest ago
        paths.append(p)
    os.utime(paths[0], (_time.time(), _time.time()))  # ... but then read: fit_store.load touches it
    assert fit_store.load(paths[1]) == b"x" * 1000  # read now: kept
    size = paths[0].stat().st_size
    removed = fit_store.prune(folder, limit=3 * size)
    assert sorted(p.name for p in removed) == ["glmm-2.pickle", "glmm-3.pickle"]
    assert sorted(p.name for p in folder.glob("*.pickle")) == ["glmm-0.pickle", "glmm-1.pickle", "glmm-4.pickle"]
    assert fit_store.prune(folder, limit=3 * size) == []

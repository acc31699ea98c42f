"""The hostile corpus: every file in tests/data/invalid/ is rejected, naming the file and the field.

Each corpus file is ``tests/data/valid/base2024.yaml`` with one thing made wrong; its first line
says what, and the field path the message must name: ``# <what is wrong>; expect: <field>``.
Each is validated beside the valid base study (which must not be blamed), in-process through
``python -m analysis validate``'s ``main`` (and a few in a real subprocess).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from analysis.__main__ import main
from analysis.review import validation
from factory import ROOT

CORPUS = ROOT / "tests" / "data" / "invalid"
BASE = ROOT / "tests" / "data" / "valid" / "base2024.yaml"
FILES = sorted(CORPUS.iterdir())
#: every file is validated in less than this (the slowest measured: ~0.05 s on a loaded 2-core machine)
LIMIT_S = 1.0


def expectation(path: Path) -> tuple[str, str]:
    """``(what is wrong, expected field path)`` from the corpus file's first line."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    m = re.fullmatch(r"# (.+); expect: (.+)", first)
    assert m, f"{path.name}: line 1 must be '# <what is wrong>; expect: <field path>'"
    return m[1], m[2]


def folder(tmp_path: Path, *files: Path) -> Path:
    """A data folder holding the valid base study and ``files``."""
    studies = tmp_path / "data" / "studies"
    studies.mkdir(parents=True)
    for f in (BASE, *files):
        shutil.copy(f, studies / f.name)
    return tmp_path / "data"


def run(directory: Path) -> tuple[int, str, str, float]:
    """``python -m analysis validate directory`` in-process: exit status, stdout, stderr, seconds."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["validate", str(directory)])
    return rc, out.getvalue(), err.getvalue(), time.perf_counter() - start


def named(lines: list[str], name: str, field: str) -> list[str]:
    """The problem lines of file ``name`` at ``field``: ``<path>/<name>: <study>: <field>: <message>``."""
    pattern = re.compile(r"(^|/)" + re.escape(name) + r": [^:]+: " + re.escape(field) + ": .")
    return [line for line in lines if pattern.search(line)]


def test_the_corpus_is_large_and_documented():
    assert len(FILES) >= 55
    assert all(expectation(f) for f in FILES)


def test_the_base_study_is_valid(tmp_path):
    rc, out, err, _ = run(folder(tmp_path))
    assert (rc, err) == (0, "") and out.startswith("ok: 1 studies"), out + err


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_invalid_file_is_rejected_naming_file_and_field(tmp_path, path):
    what, field = expectation(path)
    rc, out, err, seconds = run(folder(tmp_path, path))
    lines = out.splitlines()
    assert rc == 1, f"{path.name} ({what}) passed validation: {out}"
    assert named(lines, path.name, field), f"{path.name} ({what}): no line names field {field!r}:\n{out}"
    assert not [line for line in lines if "base2024.yaml: " in line], f"the valid base study was blamed:\n{out}"
    assert "Traceback" not in out + err
    assert seconds < LIMIT_S, f"{path.name}: {seconds:.2f} s"


@pytest.mark.parametrize("name", ["percent_nan.yaml", "alias_bomb_in_flags.yaml", "huge_arm_and_denominator.yaml",
                                  "yml_extension.yml", "not_utf8.yaml"])
def test_a_real_subprocess_names_file_and_field(tmp_path, name):
    path = CORPUS / name
    _, field = expectation(path)
    res = subprocess.run([sys.executable, "-m", "analysis", "validate", str(folder(tmp_path, path))],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert named(res.stdout.splitlines(), name, field), res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_the_whole_corpus_at_once_reports_every_file(tmp_path):
    """One bad file never stops the others from being checked."""
    rc, out, err, seconds = run(folder(tmp_path, *FILES))
    lines = out.splitlines()
    assert rc == 1 and "Traceback" not in out + err
    missing = [p.name for p in FILES if not named(lines, p.name, expectation(p)[1])]
    assert missing == []
    assert seconds < LIMIT_S * 10


# ------------------------------------------------------------------ cases made at test time


def test_a_symlink_leaving_the_data_folder_is_refused(tmp_path):
    data = folder(tmp_path)
    outside = tmp_path / "elsewhere" / "leak2024.yaml"
    outside.parent.mkdir()
    outside.write_text(BASE.read_text(encoding="utf-8").replace("base2024", "leak2024"), encoding="utf-8")
    (data / "studies" / "leak2024.yaml").symlink_to(outside)
    (data / "studies" / "passwd.yaml").symlink_to("/etc/passwd")
    rc, out, _, _ = run(data)
    assert rc == 1
    assert named(out.splitlines(), "leak2024.yaml", "(file)") and "outside" in out
    assert named(out.splitlines(), "passwd.yaml", "(file)")
    assert "root:" not in out  # nothing of the target is read


def test_a_symlink_within_the_data_folder_is_followed(tmp_path):
    data = folder(tmp_path)
    (data / "archive").mkdir()
    (data / "archive" / "kept2024.yaml").write_text(
        BASE.read_text(encoding="utf-8").replace("base2024", "kept2024"), encoding="utf-8")
    (data / "studies" / "kept2024.yaml").symlink_to(Path("..") / "archive" / "kept2024.yaml")
    (data / "studies" / "gone2024.yaml").symlink_to(data / "archive" / "gone2024.yaml")
    rc, out, _, _ = run(data)
    assert named(out.splitlines(), "gone2024.yaml", "(file)") and "broken symbolic link" in out
    assert not [line for line in out.splitlines() if "kept2024" in line]


def test_a_file_too_large_to_be_a_study_is_refused_quickly(tmp_path):
    big = tmp_path / "big2024.yaml"
    big.write_text(BASE.read_text(encoding="utf-8").replace("base2024", "big2024")
                   + "notes: [" + ", ".join(["x"] * 200_000) + "]\n", encoding="utf-8")
    rc, out, _, seconds = run(folder(tmp_path, big))
    assert rc == 1 and named(out.splitlines(), "big2024.yaml", "(file)") and "larger than" in out
    assert seconds < LIMIT_S


def test_other_files_and_folders_among_the_studies_are_reported(tmp_path):
    data = folder(tmp_path)
    (data / "studies" / "README.md").write_text("notes", encoding="utf-8")
    (data / "studies" / ".base2024.yaml.swp").write_bytes(b"\x00")
    (data / "studies" / "old").mkdir()
    rc, out, _, _ = run(data)
    lines = out.splitlines()
    assert rc == 1
    assert named(lines, "README.md", "(file)") and named(lines, ".base2024.yaml.swp", "(file)")
    assert named(lines, "old", "(file)")


def test_an_unexpected_exception_is_a_problem_line_and_the_others_are_checked(tmp_path, monkeypatch):
    real = validation.check_study

    def broken(study):
        if study.id == "base2024":
            raise RuntimeError("injected defect")
        return real(study)

    monkeypatch.setattr(validation, "check_study", broken)
    rc, out, err, _ = run(folder(tmp_path, CORPUS / "percent_not_reproducible.yaml"))
    lines = out.splitlines()
    assert rc == 1 and "Traceback" not in out + err
    assert named(lines, "base2024.yaml", "(file)")
    assert "internal error while checking base2024.yaml: RuntimeError: injected defect" in out
    assert named(lines, "percent_not_reproducible.yaml", "outcomes[1].percent")


def test_a_failing_overlap_target_does_not_blame_the_study_naming_it(tmp_path):
    naming = tmp_path / "naming2024.yaml"
    study = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    study.update(id="naming2024", overlap=[{"study": "percent_nan", "likelihood": "possible", "reason": "same centre"}])
    study["citation"]["bibkey"] = "naming2024"
    naming.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    rc, out, _, _ = run(folder(tmp_path, naming, CORPUS / "percent_nan.yaml"))
    assert rc == 1
    assert [line for line in out.splitlines() if "naming2024" in line] == []
    assert named(out.splitlines(), "percent_nan.yaml", "outcomes[0].percent")


def test_a_duplicate_id_is_reported_as_a_duplicate(tmp_path):
    rc, out, _, _ = run(folder(tmp_path, CORPUS / "dup_id.yaml"))
    dup = named(out.splitlines(), "dup_id.yaml", "id")
    assert rc == 1 and any("duplicate study id 'base2024' (also in " in line for line in dup), out


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_missing_path_or_a_file_for_a_folder_says_so(tmp_path, kind):
    target = tmp_path / "nothere" if kind == "missing" else BASE
    rc, out, _, _ = run(target)
    assert rc == 1
    assert out.splitlines()[0].endswith("no such file or directory" if kind == "missing"
                                        else "is a file, not a folder: give the data folder (e.g. data) or its studies/ folder")


def test_an_unreadable_file_is_a_problem_not_a_traceback(tmp_path, monkeypatch):
    data = folder(tmp_path)
    real = Path.read_bytes

    def denied(self):
        if self.name == "base2024.yaml":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    rc, out, err, _ = run(data)
    assert rc == 1 and "Traceback" not in out + err
    assert named(out.splitlines(), "base2024.yaml", "(file)") and "cannot read: Permission denied" in out


def test_a_fifo_among_the_studies_is_reported_not_read(tmp_path):
    data = folder(tmp_path)
    os.mkfifo(data / "studies" / "pipe2024.yaml")  # reading it would block forever
    rc, out, _, seconds = run(data)
    assert rc == 1 and named(out.splitlines(), "pipe2024.yaml", "(file)") and "not a regular file" in out
    assert seconds < LIMIT_S

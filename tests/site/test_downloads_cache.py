"""The data downloads are computed once per state of data/ and the package, and never served stale."""
from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

import analysis.review.downloads as downloads_mod
import analysis.review.living as living
import analysis.review.loading as loading
from factory import module_from_file

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "review"


def _ext():
    return module_from_file(ROOT / "book" / "_ext" / "downloads.py", "downloads_ext")


def test_the_key_follows_every_data_file(tmp_path):
    ext = _ext()
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    k0 = ext.key(data)
    assert ext.key(data) == k0
    study = next((data / "studies").glob("*.yaml"))
    study.write_text(study.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    k1 = ext.key(data)
    assert k1 != k0
    (data / "records").mkdir(exist_ok=True)
    (data / "records" / "new.ris").write_text("TY  - JOUR\nER  - \n", encoding="utf-8")
    assert ext.key(data) != k1


def test_downloads_are_computed_once_per_key_and_copied_into_every_build(tmp_path, monkeypatch):
    ext = _ext()
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    monkeypatch.setattr(loading, "DATA_DIR", data)
    calls = []

    def fake_write(st, directory):
        calls.append(st)
        Path(directory).mkdir(parents=True)
        (Path(directory) / "studies.csv").write_text(f"computed {len(calls)}\n", encoding="utf-8")

    monkeypatch.setattr(downloads_mod, "write", fake_write)
    monkeypatch.setattr(living, "state", lambda: "state")

    def build(n):
        out = tmp_path / "_build" / f"html{n}"
        out.mkdir(parents=True)
        ext._write(SimpleNamespace(outdir=str(out), builder=SimpleNamespace(format="html")), None)
        return (out / ext.DOWNLOADS / "studies.csv").read_text(encoding="utf-8")

    assert build(1) == build(2) == "computed 1\n"
    study = next((data / "studies").glob("*.yaml"))
    study.write_text(study.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert build(3) == "computed 2\n"
    assert len(list((tmp_path / "_build" / ext.CACHE).iterdir())) == 1  # only the current entry is kept


def test_the_tables_computed_in_the_background_are_the_tables(tmp_path, monkeypatch):
    """start() computes the entry in another process (while Sphinx works); the hook waits for it
    and copies it, computing nothing itself; the files are what write() gives in this process."""
    ext = _ext()
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    monkeypatch.setenv("REVIEW_DATA_DIR", str(data))  # for the background process
    monkeypatch.setattr(loading, "DATA_DIR", data)
    monkeypatch.delenv("REVIEW_FIT_STORE", raising=False)
    cache = tmp_path / "_build" / ext.CACHE
    ext.start(cache)
    assert ext._pending is not None
    expected = tmp_path / "expected"
    downloads_mod.write(living.state(data), expected)
    monkeypatch.setattr(downloads_mod, "write", lambda *a: pytest.fail("computed in the build process"))
    out = tmp_path / "_build" / "html"
    out.mkdir(parents=True)  # the background process may not have made _build/ yet
    ext._write(SimpleNamespace(outdir=str(out), builder=SimpleNamespace(format="html")), None)
    assert ext._pending is None
    names = sorted(p.name for p in expected.iterdir())
    assert names and sorted(p.name for p in (out / ext.DOWNLOADS).iterdir()) == names
    for name in names:
        assert (out / ext.DOWNLOADS / name).read_bytes() == (expected / name).read_bytes(), name
    ext.start(cache)  # the entry is there: nothing is started
    assert ext._pending is None

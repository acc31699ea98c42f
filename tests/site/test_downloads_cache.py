"""The data downloads are computed once per state of data/ and the package, and never served stale."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import SimpleNamespace

import analysis.review.downloads as downloads_mod
import analysis.review.living as living
import analysis.review.loading as loading

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "review"


def _ext():
    spec = importlib.util.spec_from_file_location("downloads_ext", ROOT / "book" / "_ext" / "downloads.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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

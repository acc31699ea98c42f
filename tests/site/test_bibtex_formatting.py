"""book/_ext/bibliography.py keeps pybtex's formatted entries in the build environment: a kept
result is the one pybtex gives, and any change to the entry or the label formats it again."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path
from types import SimpleNamespace

import pybtex.database
import pytest
from pybtex.plugin import find_plugin

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import bibliography as ext  # noqa: E402  (the book's extension module)

BIB = """
@article{a2020, author = {Zhang, Cheng and Wang, Xiao-Qi and van der Berg, Jan}, title = {Donor-derived CD19 CAR-T cells},
  journal = {Leukemia}, year = {2020}, volume = {35}, pages = {1--10}}
@inproceedings{b2021, author = {Roddie, Claire}, title = {An abstract}, booktitle = {Blood}, year = {2021}}
"""


def entries(text: str = BIB) -> dict:
    return dict(pybtex.database.parse_string(text, "bibtex").entries)


def texts(style, labels: dict, found: dict) -> dict[str, str]:
    return {k: style.format_entry(labels[k], e).text.render_as("html") for k, e in found.items()}


@pytest.fixture
def env(monkeypatch):
    ext._memoise_formatting()
    env = SimpleNamespace()
    monkeypatch.setattr(ext, "_formatted", None)
    ext._attach(None, env, [])
    yield env
    ext._used.clear()


def test_kept_results_are_pybtex_results_and_are_reused(env, monkeypatch):
    style = find_plugin("pybtex.style.formatting", "plain")()
    labels = {"a2020": "1", "b2021": "2"}
    first = texts(style, labels, entries())
    kept = dict(getattr(env, ext.ENV_ATTR))
    assert len(kept) == 2
    monkeypatch.setattr(ext, "_formatted", None)  # outside a build: pybtex itself
    assert texts(style, labels, entries()) == first
    ext._attach(None, env, [])
    again = {k: style.format_entry(labels[k], e) for k, e in entries().items()}
    assert all(any(again[k] is v for v in kept.values()) for k in again)  # the kept objects, not new ones


@pytest.mark.parametrize("change", [
    ("Donor-derived CD19 CAR-T cells", "Donor-derived CD19 CAR-T cells, corrected"),
    ("Zhang, Cheng", "Zhang, Chen"),
    ("van der Berg, Jan", "von der Berg, Jan"),
    ("@article{a2020", "@misc{a2020"),
    ("year = {2020}", "year = {2021}"),
])
def test_a_changed_entry_is_formatted_again(env, change):
    style = find_plugin("pybtex.style.formatting", "plain")()
    labels = {"a2020": "1", "b2021": "2"}
    before = texts(style, labels, entries())["a2020"]
    after = texts(style, labels, entries(BIB.replace(*change)))["a2020"]
    ext._attach(None, SimpleNamespace(), [])
    assert after != before
    assert after == texts(style, labels, entries(BIB.replace(*change)))["a2020"]  # what an empty store gives


def test_label_and_style_are_part_of_the_key(env):
    plain = find_plugin("pybtex.style.formatting", "plain")()
    alpha = find_plugin("pybtex.style.formatting", "alpha")()
    e = entries()["a2020"]
    assert plain.format_entry("1", e).label == "1"
    assert plain.format_entry("Zha20", e).label == "Zha20"
    assert alpha.format_entry("1", e) is not plain.format_entry("1", e)
    assert len(getattr(env, ext.ENV_ATTR)) == 3


def test_results_no_build_used_are_dropped_and_the_rest_pickles(env):
    style = find_plugin("pybtex.style.formatting", "plain")()
    for k, e in entries().items():
        style.format_entry(k, e)
    ext._attach(None, env, [])  # the next build: only a2020 is cited
    style.format_entry("a2020", entries()["a2020"])
    ext._prune(None, env)
    kept = getattr(env, ext.ENV_ATTR)
    assert [k[-4] for k in kept] == ["a2020"]
    assert pickle.loads(pickle.dumps(kept)).keys() == kept.keys()

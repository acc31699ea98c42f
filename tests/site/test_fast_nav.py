"""book/_ext/fast_nav.py gives each page the sidebar the theme would give it, computed once per folder.

The marking and unmarking of the current entry are tested on sidebars as the theme writes them;
the slow test builds the site with and without the cache and compares every file.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))

import fast_nav  # noqa: E402

PART = ('<p aria-level="2" class="caption" role="heading"><span class="caption-text">Studies</span></p>\n'
        '<ul class="current nav bd-sidenav">\n'
        '<li class="toctree-l1"><a class="reference internal" href="a2020.html">A 2020</a></li>\n'
        '<li class="toctree-l1 current active"><a class="current reference internal" href="#">B 2021</a></li>\n'
        '</ul>\n')
OTHER = ('<ul class="nav bd-sidenav">\n'
         '<li class="toctree-l1"><a class="reference internal" href="../synthesis/response.html">Response</a></li>\n'
         '</ul>\n')


def test_unmark_then_mark_gives_each_page_its_sidebar():
    neutral = fast_nav.unmark(PART + OTHER, "b2021.html")
    assert neutral is not None and "current active" not in neutral and 'href="b2021.html">B 2021' in neutral
    assert fast_nav.mark(neutral, "b2021.html") == PART + OTHER
    a = fast_nav.mark(neutral, "a2020.html")
    assert a == (PART.replace('<li class="toctree-l1"><a class="reference internal" href="a2020.html">',
                              '<li class="toctree-l1 current active"><a class="current reference internal" href="#">')
                 .replace('<li class="toctree-l1 current active"><a class="current reference internal" href="#">B 2021',
                          '<li class="toctree-l1"><a class="reference internal" href="b2021.html">B 2021')) + OTHER


def test_whatever_it_cannot_show_is_left_to_the_theme():
    # a page in another part (its part's list would be marked instead), or not in the sidebar
    neutral = fast_nav.unmark(PART + OTHER, "b2021.html")
    assert fast_nav.mark(neutral, "../synthesis/response.html") is None
    assert fast_nav.mark(neutral, "search.html") is None
    # a title with the word "current", two marked entries, a marked entry with nested sections
    assert fast_nav.unmark(PART.replace("A 2020", "current practice") + OTHER, "b2021.html") is None
    assert fast_nav.unmark(PART + PART, "b2021.html") is None
    nested = PART.replace('B 2021</a></li>', 'B 2021</a><details open="open"><ul><li>x</li></ul></details></li>')
    assert fast_nav.unmark(nested, "b2021.html") is None
    leafless = neutral.replace('A 2020</a></li>', 'A 2020</a><details><ul></ul></details></li>')
    assert fast_nav.mark(leafless, "a2020.html") is None


@pytest.mark.slow
def test_the_site_is_the_same_with_and_without_the_cache(tmp_path):
    """Two Sphinx builds of this checkout's stored outputs, compared file by file."""
    import deterministic_build as db

    sites = {}
    for flag in ("1", "0"):
        out = tmp_path / f"nav{flag}"
        code = ("import sys; sys.path.insert(0, 'tools'); import build_site as b; from pathlib import Path;"
                f" sys.exit(b.sphinx(Path({str(out)!r}), Path({str(out) + '.doctrees'!r}), True))")
        env = {**os.environ, "REVIEW_NAV_CACHE": flag, "PYTHONPATH": str(ROOT)}
        res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        sites[flag] = out
    cmp = db.compare(sites["1"], sites["0"])
    assert cmp.ok, db.report(cmp, sites["1"], sites["0"])
    shutil.rmtree(tmp_path, ignore_errors=True)

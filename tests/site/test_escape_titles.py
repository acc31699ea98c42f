"""book/_ext/escape_titles.py: titles that sphinx-book-theme renders raw are escaped first."""
from __future__ import annotations

import sys

from markupsafe import Markup

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import escape_titles  # noqa: E402


def test_plain_titles_are_escaped_and_markup_is_left_alone():
    ctx = {"pagetitle": "Inject <script>alert(1)</script> 2024", "root_title": 'A "review" & <b>',
           "title": Markup("Inject &lt;script&gt;")}
    escape_titles._escape_titles(None, "book/studies/x", "page.html", ctx, None)
    assert ctx["pagetitle"] == "Inject &lt;script&gt;alert(1)&lt;/script&gt; 2024"
    assert ctx["root_title"] == "A &quot;review&quot; &amp; &lt;b&gt;"
    assert ctx["title"] == Markup("Inject &lt;script&gt;")


def test_it_runs_after_the_theme(monkeypatch):
    calls = []

    class App:
        def connect(self, event, fn, priority=500):
            calls.append((event, priority))

    escape_titles.setup(App())
    assert calls == [("html-page-context", 600)]  # the theme's handler has the default 500

"""Text from data/ is inert wherever the book shows it (issue 13: escape in one place).

The Markdown context is checked with the book's own MyST parser configuration (the
extensions listed in _config.yml): whatever a study file holds, the escaped text parses as
one paragraph of plain text equal to the input (whitespace collapsed), so no role, directive,
HTML, link, emphasis or math survives.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from myst_parser.config.main import MdParserConfig
from myst_parser.mdit_to_docutils.base import DocutilsRenderer
from myst_parser.parsers.mdit import create_md_parser

from analysis.present.escape import html, md
from analysis.present.tables import markdown

ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = set(yaml.safe_load((ROOT / "_config.yml").read_text())["parse"]["myst_enable_extensions"])
PARSER = create_md_parser(MdParserConfig(enable_extensions=EXTENSIONS), DocutilsRenderer)

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{raw}`<script>alert(1)</script>`",
    "```{raw} html\n<script>alert(1)</script>\n```",
    ":::{eval-rst}\n.. raw:: html\n\n   <script>alert(1)</script>\n:::",
    "[click](javascript:alert(1))",
    "**bold** _it_ `code` $x^2$ {{ subst }} &lt;script&gt;",
    "# heading\n- item\n1. item\n> quote\n| a | b |\n|---|---|",
    "<!-- comment --> <a href='x'>x</a> https://example.org",
    "term\n: definition",
    "\u2028line\u2029sep\x0bvt\x1cfs",
]


def inline_text(text: str) -> list[tuple[str, str]]:
    """(token type, content) of the inline children, or the block token types if not one paragraph."""
    tokens = PARSER.parse(text)
    blocks = [t.type for t in tokens]
    if blocks != ["paragraph_open", "inline", "paragraph_close"]:
        return [("blocks", " ".join(blocks))]
    return [(c.type, c.content) for c in tokens[1].children]


def literal(text: str) -> str:
    children = inline_text(md(text))
    assert all(kind in ("text", "text_special") for kind, _ in children), children
    return "".join(content for _, content in children)


@pytest.mark.parametrize("attack", ATTACKS)
def test_known_injections_render_as_their_own_text(attack):
    assert literal(attack) == " ".join(attack.split())


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=1).filter(lambda s: s.split()))
def test_any_text_renders_as_itself(text):
    assert literal(text) == " ".join(text.replace("\x00", "\ufffd").split())


def test_markdown_table_cells_and_headers_are_escaped():
    import polars as pl

    table = markdown(pl.DataFrame({"a<b>": ["<script>alert(1)</script>|x"], "source": ["{raw}`y`"]}))
    tokens = PARSER.parse(table)
    assert [t.type for t in tokens][:2] == ["table_open", "thead_open"]
    inline = [t for t in tokens if t.type == "inline"]
    texts = ["".join(c.content for c in t.children) for t in inline]
    assert texts == ["A<b>", "Source", "<script>alert(1)</script>|x", "“{raw}`y`”"]
    assert all(c.type in ("text", "text_special") for t in inline for c in t.children)


def test_html_escapes_markup_and_quotes():
    assert html('<img src=x onerror="a()">&\'') == "&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;&#x27;"
    assert html(None) == "" and md(None) == ""


def test_md_cited_keeps_plain_citation_roles_and_escapes_the_rest():
    from analysis.present.escape import md_cited

    text = "GLMM {cite:p}`stijnen2010,lin2020` <script>x</script> and {cite:t}`a b` [x](javascript:y)."
    tokens = PARSER.parse(md_cited(text))
    inline = tokens[1].children
    roles = [c for c in inline if c.type == "myst_role"]
    assert [(r.meta["name"], r.content) for r in roles] == [("cite:p", "stijnen2010,lin2020")]
    rest = "".join(c.content for c in inline if c.type != "myst_role")
    assert "<script>x</script>" in rest and "{cite:t}`a b`" in rest and "[x](javascript:y)" in rest
    assert all(c.type in ("text", "text_special", "myst_role") for c in inline)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1).filter(lambda s: s.split() and "{cite:" not in s))
def test_md_cited_without_roles_is_md(text):
    from analysis.present.escape import md_cited

    assert md_cited(text) == md(text)

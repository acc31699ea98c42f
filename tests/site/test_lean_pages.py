"""book/_ext/lean_pages.py: icons inlined, tables labelled, Font Awesome CSS stripped, assets per page."""
from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import lean_pages as lp  # noqa: E402


def test_icon_table_has_the_three_free_packs() -> None:
    table = lp.icon_table()
    packs = {pack for pack, _ in table}
    assert packs == {"fas", "far", "fab"}
    assert table[("fas", "moon")] != table[("far", "moon")]  # solid and regular differ
    assert table[("fas", "search")] == table[("fas", "magnifying-glass")]  # alias


def test_icon_becomes_inline_svg_keeping_attributes() -> None:
    page = ('<button><i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" title="Li&quot;ght"></i>'
            '<span class="fa-solid fa-bars" onclick="x()"></span><i class="plain"></i></button>')
    out = lp.inline_icons(page, "p")
    assert out.count("<svg ") == 2 and "<i " in out  # the non-icon <i> stays
    sun = re.search(r"<svg [^>]*fa-sun[^>]*>", out).group(0)
    assert 'class="svg-inline--fa fa-sun theme-switch fa-lg"' in sun and 'data-mode="light"' in sun
    assert 'aria-label="Li&quot;ght"' in sun and "<title>Li&quot;ght</title>" in out
    assert "onclick" not in out  # an event handler is never carried over


def test_unknown_icon_warns(caplog) -> None:
    caplog.set_level(logging.WARNING)
    out = lp.inline_icons('<i class="fa-solid fa-no-such-icon"></i>', "book/x")
    assert out == '<i class="fa-solid fa-no-such-icon"></i>'
    assert "no Font Awesome icon" in caplog.text


TABLE = """<table class="table">
<thead>
<tr class="row-odd"><th class="head"><p>Outcome</p></th>
<th class="head"><p>A &amp; B</p></th>
<th class="head"><p>Check</p></th>
<th class="head"><p>Source</p></th>
</tr>
</thead>
<tbody>
<tr class="row-even"><td><p>CR</p></td>
<td><p>1</p></td>
<td><p>flagged: percent_not_reproducible</p></td>
<td><p>“quote”</p></td>
</tr>
</tbody>
</table>"""


def test_table_cells_get_their_column_labels() -> None:
    out = lp.label_table(TABLE)
    assert out.startswith('<table class="lsr-reflow lsr-quote-last table" style="--lsr-cols: 3">')
    assert '<td data-label="Outcome">' in out and '<td data-label="A &amp; B">' in out
    assert '<td class="lsr-quote" data-label="Source">' in out and '<th class="lsr-quote head">' in out
    assert "percent_<wbr>not_<wbr>reproducible" in out


def test_irregular_tables_are_left_alone() -> None:
    ragged = TABLE.replace("<td><p>1</p></td>\n", "")
    assert lp.label_table(ragged) == ragged
    spanned = TABLE.replace("<td><p>1</p></td>", '<td colspan="2"><p>1</p></td>')
    assert lp.label_table(spanned) == spanned
    headless = re.sub(r"<thead>.*?</thead>", "", TABLE, flags=re.S)
    assert lp.label_table(headless) == headless


def test_wide_tables_are_marked() -> None:
    heads = "".join(f"<th><p>c{i}</p></th>" for i in range(9))
    cells = "".join(f"<td><p>{i}</p></td>" for i in range(9))
    out = lp.label_table(f"<table><thead><tr>{heads}</tr></thead><tbody><tr>{cells}</tr></tbody></table>")
    assert out.startswith('<table class="lsr-reflow lsr-wide lsr-xwide">')


def test_fontawesome_css_stripped_but_theme_rules_kept() -> None:
    css = ('@font-face{font-family:"Font Awesome 6 Free";src:url(x.woff2)}'
           '@font-face{font-family:Other;src:url(o.woff2)}'
           '.fa-bars:before{content:"\\f0c9"}.fa-solid,.fas{font-weight:900}.fa-lg{font-size:1.25em}'
           '@keyframes fa-spin{0%{transform:none}}'
           '.theme-switch .fa-lg{aspect-ratio:1/1}:root{--fa-font-solid:normal 900 1em/1 "Font Awesome 6 Free"}'
           'p{color:red}/*# sourceMappingURL=x.css.map*/')
    out = lp.strip_fontawesome_css(css)
    for gone in ("Font Awesome 6 Free\";src", "fa-bars", ".fas", "fa-spin", "sourceMappingURL", "{font-size:1.25em}"):
        assert gone not in out, gone
    for kept in ("font-family:Other", ".theme-switch .fa-lg", "--fa-font-solid", "p{color:red}"):
        assert kept in out, kept


def test_the_stripped_stylesheet_is_kept_once_computed(tmp_path, monkeypatch) -> None:
    css = '.fa-bars:before{content:"\\f0c9"}p{color:red}'
    first = lp.stripped_css(css, tmp_path / "cache")
    assert first == lp.strip_fontawesome_css(css) and len(list((tmp_path / "cache").glob("*.css"))) == 1
    monkeypatch.setattr(lp, "strip_fontawesome_css", lambda text: "computed again")
    assert lp.stripped_css(css, tmp_path / "cache") == first
    assert lp.stripped_css(css + "a{color:blue}", tmp_path / "cache") == "computed again"  # another stylesheet
    assert len(list((tmp_path / "cache").glob("*.css"))) == 1  # only the current entry is kept


def test_search_scripts_only_on_the_search_page() -> None:
    head = ('<script src="../_static/searchtools.js"></script>\n<script src="../_static/language_data.js"></script>\n'
            '<script src="../searchindex.js"></script>\n<script defer src="../_static/scripts/fontawesome.js?digest=1">'
            '</script>\n')
    assert lp.postprocess(head, "book/x") == ""
    kept = lp.postprocess(head, "search")
    assert "searchtools.js" in kept and "fontawesome" not in kept
    assert "searchtools.js" in lp.postprocess(head, "book/x", search_as_you_type=True)


def test_built_pages_have_no_font_awesome_left(built_site: Path) -> None:
    assert not (built_site / "_static" / "scripts" / "fontawesome.js").exists()
    assert not list(built_site.rglob("*.woff2"))
    leftovers = []
    for page in built_site.rglob("*.html"):
        if "_static" in page.relative_to(built_site).parts:
            continue  # the theme's template macros are copied there; not pages
        text = page.read_text(encoding="utf-8")
        leftovers += [f"{page.name}: {m}" for m in re.findall(r'<(?!svg)[a-z]+ [^>]*class="[^"]*\bfa-[^"]*"', text)]
        if "fontawesome" in text:
            leftovers.append(f"{page.name}: mentions fontawesome")
    assert not leftovers
    css = (built_site / "_static" / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    assert re.search(r"@font-face\s*\{[^}]*Font Awesome", css) is None

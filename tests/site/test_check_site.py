"""Site check (tools/check_site.py): no network references, no script that is not the site's own,
no inline event handler, no javascript: URL — on hand-written fixtures and on the built site."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import check_site as cs
from conftest import ROOT

FIXTURES = ROOT / "tests" / "site" / "fixtures" / "site"


def problems_of(name: str) -> list[cs.Problem]:
    return cs.check_page(FIXTURES / "book" / name, FIXTURES)


def kinds(problems: list[cs.Problem]) -> list[str]:
    return [p.kind for p in problems]


def test_clean_page_passes() -> None:
    assert problems_of("clean.html") == []


def test_injected_script_fails() -> None:
    (p,) = problems_of("injected_script.html")
    assert p.kind == "script" and "alert(1)" in p.detail and p.line == 4


def test_img_onerror_fails() -> None:
    (p,) = problems_of("img_onerror.html")
    assert p.kind == "handler" and "onerror" in p.detail


def test_javascript_url_fails() -> None:
    (p,) = problems_of("javascript_url.html")
    assert p.kind == "url" and "javascript:alert(1)" in p.detail


def test_main_exit_status(tmp_path: Path, capsys) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES, site)
    assert cs.main([str(site)]) == 1
    out = capsys.readouterr().out
    assert "book/img_onerror.html:4: handler:" in out and "book/injected_script.html:4: script:" in out
    for bad in ("img_onerror", "injected_script", "javascript_url"):
        (site / "book" / f"{bad}.html").unlink()
    assert cs.main([str(site)]) == 0
    assert cs.main([str(tmp_path / "nothing")]) == 2


CLEAN = (FIXTURES / "book" / "clean.html").read_text(encoding="utf-8")


def check(html: str) -> list[str]:
    path = FIXTURES / "book" / "clean.html"  # resolves <script src> against the fixture site
    return kinds(cs.check_html(html, "t.html", "book/clean", path, FIXTURES))


@pytest.mark.parametrize("snippet, kind", [
    ("<svg><script>alert(1)</script></svg>", "script"),
    ("<svg onload=alert(1)></svg>", "handler"),
    ("<IMG SRC=x ONERROR=alert(1)>", "handler"),
    ("<img/src=x onerror=alert(1)>", "handler"),
    ("<svg/onload=alert(1)>", "handler"),
    ('<img src="x"onerror=alert(1)>', "handler"),
    ("<body onpageshow=alert(1)>", "handler"),
    ('<a href=" java\tscript:alert(1)">x</a>', "url"),
    ('<a href="JaVaScRiPt&colon;alert(1)">x</a>', "url"),
    ('<form action="javascript:alert(1)"><button>x</button></form>', "url"),
    ('<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>', "url"),
    ('<iframe src="data:text/html,<script>alert(1)</script>"></iframe>', "url"),
    ('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', "url"),
    ('<base href="https://evil.example/">', "url"),
    ('<meta http-equiv="refresh" content="0; url=javascript:alert(1)">', "url"),
    ('<script src="https://cdn.example/x.js"></script>', "script"),
    ('<script src="//cdn.example/x.js"></script>', "script"),
    ('<script src="../evil.js"></script>', "script"),
    ('<script src="../_static/missing.js"></script>', "script"),
    ('<script src="../../../etc/passwd"></script>', "script"),
    ('<script src="../_static/app.js">alert(1)</script>', "script"),
    ('<script type="module">alert(1)</script>', "script"),
    ('<script type="importmap">{"imports": {}}</script>', "script"),
    ('<script type="text/x-whatever">alert(1)</script>', "script"),
    ('<script type="application/json">alert(1)</script>', "script"),
    ("<script>DOCUMENTATION_OPTIONS.pagename = 'book/other';</script>", "script"),
    ("<script>DOCUMENTATION_OPTIONS.pagename = 'book/clean';alert(1)</script>", "script"),
    ('<link rel="stylesheet" href="https://fonts.example/css">', "network"),
    ('<img src="http://tracker.example/p.gif">', "network"),
    ('<img srcset="a.png 1x, https://x.example/b.png 2x">', "network"),
    ('<style>@import "https://x.example/a.css";</style>', "network"),
    ('<div style="background:url(//x.example/a.png)"></div>', "network"),
    ("<script>alert(1)", "script"),  # unterminated: runs to the end of the file
])
def test_hostile_snippets_fail(snippet: str, kind: str) -> None:
    html = CLEAN.replace("</body>", snippet + "\n</body>")
    assert kind in check(html), snippet


def _chart(spec: str = '{"mark":"point"}', opt: str = '{"actions":false}',
           tail: str = cs.CHART_TAIL_V2, div_id: str = "altair-viz-" + "ab" * 16) -> str:
    return (f'<div id="{div_id}"></div><script type="text/javascript">(function(){{var id="altair-viz-{"ab" * 16}",'
            f"spec={spec},opt={opt}{tail}</script>")


def test_chart_script_allowed() -> None:
    assert check(CLEAN.replace("</body>", _chart() + "</body>")) == []


@pytest.mark.parametrize("kwargs, why", [
    ({"tail": cs.CHART_TAIL_V2.replace("show();}", "show();alert(1);}", 1)}, "unknown chart-embedding code"),
    ({"spec": '{"mark":"point"};alert(1);var x={}'}, "no opt="),
    ({"spec": '{"mark":"point","href":"javascript:alert(1)"}'}, "script URL"),
    ({"spec": '{"data":{"url":"https://x.example/d.json"}}'}, "another host"),
    ({"opt": '{"loader":{"baseURL":"https://x.example/"}}'}, "not allowed"),
    ({"div_id": "altair-viz-" + "cd" * 16}, "no element with that id"),
])
def test_tampered_chart_script_fails(kwargs: dict, why: str) -> None:
    problems = cs.check_html(CLEAN.replace("</body>", _chart(**kwargs) + "</body>"), "t.html", "book/clean",
                             FIXTURES / "book" / "clean.html", FIXTURES)
    assert any(p.kind == "script" and why in p.detail for p in problems), problems


def test_classify_inline_script() -> None:
    assert cs.classify_inline_script("DOCUMENTATION_OPTIONS.search_as_you_type = false;")[0] == "search as you type"
    name, reason = cs.classify_inline_script("alert(1)")
    assert name is None and "sha256" in reason


def test_built_site_passes(built_site: Path) -> None:
    pages, problems = cs.check_site(built_site)
    assert len(pages) > 10
    assert not problems, "\n".join(map(str, problems))


def test_allowed_chart_body_is_the_one_the_package_writes() -> None:
    """The allow-list and the chart renderer change together (or this fails)."""
    from analysis.present.charts.render import EMBED_TAIL

    assert cs.CHART_TAIL_V2 == EMBED_TAIL

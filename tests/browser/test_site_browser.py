"""The built site in a real browser, offline (make browser-test).

Every page is opened at 1280 px and 390 px in headless Chromium with every other host blocked
(tests/browser/site_browser.py) and must show: no console error, no failed or blocked request, no
dialog, every chart drawn, every internal link and #anchor resolving, no chart or SVG wider than
a phone's viewport, only the site's own scripts and no inline event handler in the live DOM, and
nothing fetched that tools/page_weight.py did not count.  The search page must find a known term.
The last tests run the same machinery on small broken sites to show that each check can fail.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import check_site as cs
import page_weight as pw
import site_browser as sb
from conftest import ROOT

KNOWN_TERM = "Kaplan"  # appears in the survival chapter and the study pages


def _fail(title: str, lines: list[str]) -> None:
    if lines:
        pytest.fail(f"{title}:\n" + "\n".join(lines[:60]))


def test_every_page_loaded(reports: list[sb.PageReport]) -> None:
    assert len({r.page for r in reports}) >= 15
    _fail("pages that did not load", [f"{r.page} [{r.viewport}]: {r.load_error}" for r in reports if r.load_error])


def test_no_console_errors(reports: list[sb.PageReport]) -> None:
    _fail("console errors", [f"{r.page} [{r.viewport}]: {m}" for r in reports for m in r.console_errors + r.page_errors])


def test_no_failed_or_blocked_requests(reports: list[sb.PageReport]) -> None:
    _fail("failed requests", [f"{r.page} [{r.viewport}]: {m}" for r in reports
                              for m in r.failed_requests + r.http_errors + [f"blocked {u}" for u in r.blocked_requests]])


def test_no_dialog_opens(reports: list[sb.PageReport]) -> None:
    _fail("dialogs", [f"{r.page} [{r.viewport}]: {m}" for r in reports for m in r.dialogs])


def test_every_chart_draws_marks(reports: list[sb.PageReport]) -> None:
    charts = [(r, c) for r in reports for c in r.charts]
    assert charts, "no chart on the whole site"
    _fail("charts not rendered", [
        f"{r.page} [{r.viewport}]: {c['id']} classes={c['classes']!r} svg={c['svg']} marks={c['marks']} "
        f"graphic={c['graphic']} text={c['text']!r}" for r, c in charts
        if not (c["svg"] and "vega-embed" in c["classes"].split() and c["marks"] > 0 and c["graphic"] > 0)])


def test_internal_links_and_anchors_resolve(reports: list[sb.PageReport], site_root: Path, site_url: str) -> None:
    assert sum(len(r.links) for r in reports) > 100
    _fail("broken links", [f"{r.page}: {m}" for r in reports if r.viewport == "desktop"
                           for m in sb.broken_links(r, site_root, site_url)])


def test_phone_nothing_wider_than_viewport(reports: list[sb.PageReport]) -> None:
    phone = [r for r in reports if r.viewport == "phone" and r.widths]
    assert phone and any(r.widths["svgs"] for r in phone)
    _fail("at 390 px", [f"{r.page}: {m}" for r in phone for m in sb.phone_overflow(r)])


def test_live_dom_runs_only_the_sites_scripts(reports: list[sb.PageReport]) -> None:
    """The runtime half of tools/check_site.py: the DOM the browser built, after every script ran."""
    problems = []
    for r in reports:
        pagename = r.final_url.split("/", 3)[-1].split("?")[0].removesuffix(".html")
        problems += [f"{r.page}: inline handler {h}" for h in r.handlers]
        for s in r.scripts:
            if s["src"]:
                if "://" in s["src"] or s["src"].startswith("//") or not (
                        "_static/" in s["src"] or s["src"].split("?")[0].endswith("searchindex.js")):
                    problems.append(f"{r.page}: script src {s['src']}")
            elif s["type"] and cs.JSON_TYPE.match(s["type"]):
                continue
            else:
                name, reason = cs.classify_inline_script(s["text"], pagename)
                if reason:
                    problems.append(f"{r.page}: {reason}")
    _fail("scripts that are not the site's own", problems)


def test_page_weight_counts_everything_fetched(reports: list[sb.PageReport], site_root: Path, site_url: str) -> None:
    """Whatever the browser fetched is in tools/page_weight.py's list for that page (so the meter
    does not undercount); fonts and images the CSS declares may be counted without being fetched."""
    problems = []
    for r in reports:
        if r.viewport != "desktop" or r.page == "index.html":
            continue
        counted = {p.resolve() for p in pw.page_assets(site_root / r.page, site_root)[0]}
        for url in r.requested:
            if not url.startswith(site_url):
                continue
            path = (site_root / url[len(site_url):].split("?")[0].split("#")[0]).resolve()
            if path != (site_root / r.page).resolve() and path not in counted:
                problems.append(f"{r.page}: fetched {path.relative_to(site_root.resolve())}, not counted")
    _fail("fetched but not measured", problems)


def test_synthesis_screenshots_saved(reports: list[sb.PageReport], screenshot_dir: Path) -> None:
    synthesis = [r for r in reports if r.page.startswith("book/synthesis/")]
    assert synthesis
    for r in synthesis:
        assert r.screenshot and Path(r.screenshot).stat().st_size > 10_000, (r.page, r.viewport)


def _results(page) -> list[str]:
    page.wait_for_function("() => { const s = document.querySelector('#search-results');"
                           " return s && /(Search finished|found \\d+ page|did not match)/i.test(s.textContent); }",
                           timeout=20_000)
    return page.locator("#search-results ul.search li a").evaluate_all("els => els.map(e => e.getAttribute('href'))")


def test_search_page_finds_a_known_term(live_page) -> None:
    hits = _results(live_page(f"search.html?q={KNOWN_TERM}"))
    assert hits, f"no result for {KNOWN_TERM!r}"
    assert any("book/" in h for h in hits), hits


def test_search_page_finds_nothing_for_nonsense(live_page) -> None:
    assert _results(live_page("search.html?q=qzxqvnonsenseterm")) == []


def test_search_box_of_a_chapter_leads_to_results(live_page) -> None:
    """Chapters no longer load Sphinx's search scripts: their search box must still work."""
    page = live_page("book/question.html")
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    field.wait_for(state="visible", timeout=10_000)
    field.fill(KNOWN_TERM)
    field.press("Enter")
    page.wait_for_url(f"**/search.html?q={KNOWN_TERM}*", timeout=20_000)
    assert _results(page)


# --- the checks can fail: the same machinery on small broken sites ----------------------------------

BROKEN = {
    "injected.html": "<p>Arm <script>alert('injected')</script></p>",
    "onerror.html": '<p>Title <img src="_static/nothing.png" onerror="alert(\'onerror\')"></p>',
    "external.html": '<img src="https://example.org/pixel.png" alt="">',
    "broken.html": ('<a href="nope.html">a</a> <a href="#missing">b</a> <a href="/abs.html">c</a>'
                    '<script src="_static/missing.js"></script><script>console.error("boom")</script>'),
    "chart.html": '<div class="bd-article"><div id="altair-viz-00000000000000000000000000000000"></div></div>',
    "wide.html": '<div class="bd-article"><svg width="900" height="20"><rect width="900" height="20"/></svg></div>',
    "fine.html": '<p id="here">fine <a href="#here">here</a> <a href="injected.html">next</a></p>',
}


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("broken-site")
    for name, body in BROKEN.items():
        (root / name).write_text(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
                                 f"<title>{name}</title>"
                                 f"</head><body>{body}</body></html>", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def broken_reports(broken_site: Path):
    with sb.served(broken_site) as base:
        reports = sb.crawl(broken_site, base, jobs=3, chart_timeout_ms=1500)
        bad, lines = sb.summarise(reports, broken_site, base)
    return {(r.page, r.viewport): r for r in reports}, bad, "\n".join(lines)


def test_checks_fail_on_a_broken_site(broken_reports) -> None:
    by_page, bad, text = broken_reports
    d = "desktop"
    assert by_page[("injected.html", d)].dialogs == ["alert: injected"]
    assert by_page[("onerror.html", d)].dialogs == ["alert: onerror"]
    assert by_page[("onerror.html", d)].handlers
    assert by_page[("external.html", d)].blocked_requests == ["https://example.org/pixel.png"]
    broken = by_page[("broken.html", d)]
    assert any("missing.js" in m for m in broken.http_errors) and any("boom" in m for m in broken.console_errors)
    assert "link: nope.html: nope.html does not exist" in text
    assert "link: #missing: no id 'missing' in broken.html" in text
    assert "root-absolute link" in text
    assert "chart altair-viz-00000000000000000000000000000000 not rendered" in text
    assert "svg wider than the viewport" in text and "wide.html [phone]" in text
    assert "FAIL fine.html" not in text and "ok   fine.html [desktop]" in text
    assert bad == 2 * len(BROKEN) - 2 - 1  # every page at both widths but fine.html, and wide.html at 1280


def test_issue13_fixture_pages_at_run_time(_sync_browser) -> None:
    """The hand-written pages of tests/site/fixtures: the injected ones open a dialog, the clean one none,
    and the javascript: link runs when clicked."""
    site = ROOT / "tests" / "site" / "fixtures" / "site"
    with sb.served(site) as base:
        reports = sb.crawl(site, base, pages=["book/clean.html", "book/injected_script.html", "book/img_onerror.html"],
                           jobs=3, chart_timeout_ms=1500)
        dialogs = {r.page: r.dialogs for r in reports if r.viewport == "desktop"}
        assert dialogs == {"book/clean.html": [], "book/injected_script.html": ["alert: 1"],
                           "book/img_onerror.html": ["alert: 1"]}
        context = _sync_browser.new_context()
        seen: list[str] = []
        page = context.new_page()
        page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
        page.goto(base + "book/javascript_url.html")
        page.click("a")
        page.wait_for_timeout(300)
        context.close()
        assert seen == ["1"]


# --- the CSS contract for static chart fallbacks (_static/site.css) ----------------------------------

SPEC = ('{"data":{"values":[{"x":1,"y":2},{"x":2,"y":3}]},"mark":"point",'
        '"encoding":{"x":{"field":"x","type":"quantitative"},"y":{"field":"y","type":"quantitative"}}}')
CHART_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="site.css"><script src="vega-bundle.js"></script></head>
<body><div class="bd-article">
<div id="altair-viz-{a}"></div>
<div class="chart-static" id="static-sibling"><svg width="900" height="90" viewBox="0 0 900 90"><rect width="900" height="90"/></svg></div>
<script>vegaEmbed("#altair-viz-{a}", {spec}, {{"actions": false, "renderer": "svg", "mode": "vega-lite"}});</script>
<figure class="lsr-chart">
<div class="chart-static" id="static-wrapped"><svg width="200" height="50"><rect width="200" height="50"/></svg></div>
<div id="altair-viz-{b}"></div>
<script>vegaEmbed("#altair-viz-{b}", {spec}, {{"actions": false, "renderer": "svg", "mode": "vega-lite"}});</script>
</figure>
</div></body></html>"""


@pytest.fixture(scope="module")
def chart_fallback_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chart-fallback")
    (root / "site.css").write_bytes((ROOT / "_static" / "site.css").read_bytes())
    (root / "vega-bundle.js").write_bytes((ROOT / "_static" / "vega" / "vega-bundle.js").read_bytes())
    (root / "index.html").write_text(CHART_PAGE.format(a="a" * 32, b="b" * 32, spec=SPEC), encoding="utf-8")
    return root


def _display(page, selector: str) -> str:
    return page.eval_on_selector(selector, "e => getComputedStyle(e).display")


@pytest.mark.parametrize("javascript, media, static_shown, chart_shown", [
    (True, "screen", False, True),    # the interactive chart rendered: static copies hidden
    (False, "screen", True, False),   # no scripts: static copies shown
    (True, "print", True, False),     # print: the static copy, not the interactive one
])
def test_static_chart_fallback_css(_sync_browser, chart_fallback_site: Path, javascript: bool, media: str,
                                   static_shown: bool, chart_shown: bool) -> None:
    with sb.served(chart_fallback_site) as base:
        context = _sync_browser.new_context(java_script_enabled=javascript, viewport={"width": 390, "height": 800})
        page = context.new_page()
        page.goto(base + "index.html")
        if javascript:
            page.wait_for_function(sb.JS_CHARTS_DONE, timeout=20_000)
        page.emulate_media(media=media)
        for static in ("#static-sibling", "#static-wrapped"):
            assert (_display(page, static) != "none") == static_shown, (static, media, javascript)
        if javascript:
            for chart in ("#altair-viz-" + "a" * 32, "#altair-viz-" + "b" * 32):
                assert (_display(page, chart) != "none") == chart_shown, (chart, media)
        if static_shown and media == "screen":  # a wide static SVG scales down to the phone's width
            assert page.eval_on_selector("#static-sibling svg", "e => e.getBoundingClientRect().width") <= 390
        context.close()


def test_print_stylesheet(live_page, screenshot_dir: Path) -> None:
    """Printed: no navigation or sidebars, tables unclipped, rows kept whole; a PDF is kept as artefact."""
    page = live_page("book/studies/hua2020.html", width=1280)
    page.pdf(path=str(screenshot_dir / "book__studies__hua2020__print.pdf"), format="A4")
    page.emulate_media(media="print")
    for hidden in (".bd-header", ".bd-sidebar-primary", ".bd-sidebar-secondary", ".prev-next-footer",
                   "details.hide.above-input"):
        assert page.eval_on_selector_all(hidden, "els => els.every(e => getComputedStyle(e).display === 'none')"), hidden
    assert page.eval_on_selector_all(".pst-scrollable-table-container",
                                     "els => els.length && els.every(e => getComputedStyle(e).overflowX === 'visible')")
    assert page.eval_on_selector_all("table.table tr",
                                     "els => els.length && els.every(e => getComputedStyle(e).breakInside === 'avoid')")
    assert page.eval_on_selector_all("table.table", "els => els.every(e => getComputedStyle(e).display === 'table')")
    assert (screenshot_dir / "book__studies__hua2020__print.pdf").stat().st_size > 20_000


def _pooled_texts(page) -> list[str]:
    """The bold 'pooled' lines the first forest plot of a page draws, as the reader sees them."""
    return page.evaluate("""() => {
        const chart = document.querySelector('.lsr-chart .vega-embed');
        return chart ? [...chart.querySelectorAll('text')].map(t => t.textContent)
                           .filter(t => /^Pooled \\(|^\\d+% \\[/.test(t)) : [];
    }""")


def test_analysis_set_switch_changes_the_pooled_estimate(live_page) -> None:
    """The reader picks another analysis set offline: the forest plot redraws from the rows the kernel
    computed for that set (no server, no re-implementation in JavaScript)."""
    page = live_page("book/synthesis/safety.html", width=1280)
    select = page.locator(".lsr-chart .vega-bind select").first
    options = select.locator("option").all_inner_texts()
    assert options[0] == "Primary analysis" and "Including indirect populations" in options
    before = _pooled_texts(page)
    assert any(t.startswith("Pooled (") for t in before), before
    select.select_option(label="Including indirect populations")
    page.wait_for_function("(b) => { const c = document.querySelector('.lsr-chart .vega-embed');"
                           " return [...c.querySelectorAll('text')].map(t => t.textContent).join('|') !== b; }",
                           arg="|".join(before), timeout=10_000)
    after = _pooled_texts(page)
    assert after != before, (before, after)
    assert not page.lsr_events, page.lsr_events

#!/usr/bin/env python3
"""Open every page of the built site in headless Chromium, offline, and record what happens.

Library of the browser test (``tests/browser/test_site_browser.py``, run by ``make
browser-test``) and a command line of its own::

    python tests/browser/site_browser.py [_build/html] [--jobs 4] [--screenshots DIR]

How
---
* The site is served by Python's ``http.server`` on ``127.0.0.1`` (a random free port) in a
  thread of this process; pages are opened over HTTP so that failed requests are visible.
* Python ``playwright`` drives the system Chromium (``/usr/bin/chromium`` or ``$CHROMIUM``);
  it never downloads a browser.  Chromium starts with every host name resolved to nothing
  (``--host-resolver-rules=MAP * ~NOTFOUND``) and background networking off, and every
  request that is not for the local server (or ``data:``/``blob:``/``about:``) is aborted by
  a route and recorded as *blocked*.
* One browser, one fresh context (so fresh ``localStorage``) per page and viewport, at most
  ``--jobs`` pages at a time (asyncio).

For each page and viewport (1280×900 and 390×844) a :class:`PageReport` records console
errors and uncaught exceptions, failed/blocked/HTTP-error requests, dialogs (each dialog is
recorded and dismissed), every chart ``<div id="altair-viz-…">`` (whether vega-embed
rendered it: class ``vega-embed``, an ``<svg>`` and how many elements its ``role-mark``
groups draw), the links (``<a href>``, ``<link rel=next|prev|index|search>``), the width of
every ``<svg>`` in the article and of the document, the scripts and ``on*`` attributes of
the live DOM, and every URL the page requested.  Screenshots of the synthesis pages go to
``--screenshots`` (``_build/screenshots`` in ``make browser-test``).

Hooks for more tests
--------------------
* :func:`served` — context manager serving a directory on 127.0.0.1, yields the base URL.
* :func:`launch_args` / :func:`browser_executable` — how to start the offline Chromium.
* :func:`route_offline` — the route handler blocking every other host (records the URLs).
* :func:`wait_for_charts` — wait until every chart of a page has rendered.
* :data:`CHART_SELECTOR`, :data:`JS_CHARTS` — the chart contract the tests rely on.

``tests/browser/conftest.py`` turns them into pytest fixtures (``site_url``, ``live_page``)
for tests that interact with a page, e.g. an analysis-set switch::

    def test_analysis_set_switch(live_page):
        page = live_page("book/synthesis/response.html")
        before = page.locator(".pooled-estimate").first.inner_text()
        page.select_option("select.analysis-set", label="Peer-reviewed only")
        wait_for_charts(page)   # sync variant: tests/browser/conftest.py
        assert page.locator(".pooled-estimate").first.inner_text() != before
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHART_SELECTOR = 'div[id^="altair-viz-"]'
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SKIP_DIRS = {"_static", "_sources", "_images"}
SCREENSHOT_PAGES = re.compile(r"^book/synthesis/[^/]+\.html$")
REFRESH = re.compile(r"""<meta\b[^>]*http-equiv=["']?refresh""", re.I)

#: JavaScript returning the state of every chart of the page (the contract of analysis/charts.py:
#: a <div id="altair-viz-…"> that vega-embed fills with an <svg> and marks "vega-embed").
JS_CHARTS = """() => [...document.querySelectorAll('div[id^="altair-viz-"]')].map(d => {
  const svg = d.querySelector('svg');
  const marks = svg ? svg.querySelectorAll('g.role-mark path, g.role-mark line, g.role-mark rect, ' +
      'g.role-mark circle, g.role-mark polygon, g.role-mark polyline, g.role-mark ellipse, ' +
      'g.role-mark image, g.role-mark text') : [];
  const graphic = [...marks].filter(e => e.tagName.toLowerCase() !== 'text').length;
  return {id: d.id, classes: d.className, svg: !!svg, marks: marks.length, graphic: graphic,
          text: (d.textContent || '').trim().slice(0, 160)};
})"""
JS_CHARTS_DONE = """() => [...document.querySelectorAll('div[id^="altair-viz-"]')].every(d =>
  (d.classList.contains('vega-embed') && d.querySelector('svg')) || /\\[Chart (error|not rendered)/.test(d.textContent))"""
JS_LINKS = """() => [
  ...[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  ...[...document.querySelectorAll('link[href]')].filter(l => /\\b(next|prev|index|search)\\b/.test(l.rel))
      .map(l => l.getAttribute('href'))]"""
JS_WIDTHS = """() => ({
  viewport: window.innerWidth,
  document: document.documentElement.scrollWidth,
  svgs: [...document.querySelectorAll('.bd-article svg, ' + 'div[id^="altair-viz-"] svg')]
     .filter(s => s.getClientRects().length && !s.closest('.pst-scrollable-table-container'))
     .map(s => { const r = s.getBoundingClientRect();
        const c = s.closest('div[id^="altair-viz-"]');
        return {chart: c ? c.id : (s.getAttribute('class') || 'svg'), width: Math.round(r.width),
                left: Math.round(r.left), right: Math.round(r.right)}; })
})"""
JS_SECURITY = """() => ({
  scripts: [...document.scripts].map(s => ({src: s.getAttribute('src'), type: s.getAttribute('type') || '',
                                           text: s.src ? '' : s.textContent})),
  handlers: [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
      .filter(a => a.name.toLowerCase().startsWith('on'))
      .map(a => `<${el.tagName.toLowerCase()} ${a.name}="${a.value.slice(0, 80)}">`)),
})"""


def browser_executable() -> str:
    """System Chromium: $CHROMIUM, else /usr/bin/chromium, else chromium on PATH."""
    for cand in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"):
        if cand and (path := shutil.which(cand)):
            return path
    raise FileNotFoundError("Chromium not found: apt-get install -y chromium (or set $CHROMIUM)")


def launch_args() -> list[str]:
    return [
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # every host but the local server
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--no-sandbox",            # CI runs as root in a container
        "--disable-dev-shm-usage",  # containers have a small /dev/shm
        "--disable-gpu",
    ]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
        pass


@contextlib.contextmanager
def served(root: Path):
    """Serve ``root`` on 127.0.0.1 (free port) in a daemon thread; yields ``http://127.0.0.1:PORT/``."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def is_local(url: str, base: str) -> bool:
    return url.startswith(base) or url.startswith(("data:", "blob:", "about:"))


def not_local(base: str) -> re.Pattern[str]:
    """URL pattern of every request that is not for ``base`` (nor ``data:``/``blob:``/``about:``).

    A regular expression rather than a Python predicate so that Playwright matches it in the
    browser driver: requests for the local server are then never intercepted (faster)."""
    return re.compile(rf"^(?!{re.escape(base)}|data:|blob:|about:)")


def route_offline(base: str, blocked: list[str]):
    """A route handler (sync or async API) that aborts every request not for ``base``;
    register it with ``context.route(not_local(base), route_offline(base, blocked))``."""
    def handler(route):
        url = route.request.url
        if is_local(url, base):
            return route.continue_()
        blocked.append(url)
        return route.abort("blockedbyclient")
    return handler


@dataclass
class PageReport:
    page: str
    viewport: str
    final_url: str = ""
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    charts_timed_out: bool = False
    links: list[str] = field(default_factory=list)
    widths: dict = field(default_factory=dict)
    scripts: list[dict] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    text: str = ""
    screenshot: str | None = None
    load_error: str | None = None
    seconds: float = 0.0


def site_pages(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if not (SKIP_DIRS & set(p.relative_to(root).parts)))


async def _visit(browser, base: str, page_rel: str, viewport: dict, name: str,
                 shots: Path | None, chart_timeout_ms: int, redirect: bool = False) -> PageReport:
    rep = PageReport(page=page_rel, viewport=name)
    t0 = time.monotonic()
    context = await browser.new_context(viewport=viewport, service_workers="block",
                                        device_scale_factor=1, is_mobile=(name == "phone"),
                                        has_touch=(name == "phone"))
    await context.route(not_local(base), route_offline(base, rep.blocked_requests))
    page = await context.new_page()

    async def on_dialog(dialog) -> None:
        rep.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: rep.console_errors.append(f"{m.text} ({m.location.get('url', '')}:"
                                                           f"{m.location.get('lineNumber', '')})")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: rep.page_errors.append(str(e)))
    page.on("request", lambda r: rep.requested.append(r.url))
    page.on("requestfailed", lambda r: rep.failed_requests.append(f"{r.url} ({r.failure})")
            if is_local(r.url, base) else None)
    page.on("response", lambda r: rep.http_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        await page.goto(base + page_rel, wait_until="load", timeout=60_000)
        if redirect:  # a redirect page (index.html): follow it and check where it leads
            await page.wait_for_url(lambda u: u != base + page_rel, timeout=10_000)
            await page.wait_for_load_state("load")
        try:
            await page.wait_for_function(JS_CHARTS_DONE, timeout=chart_timeout_ms)
        except Exception:  # noqa: BLE001 - a chart that never renders is recorded below
            rep.charts_timed_out = True
        await page.wait_for_timeout(100)  # let late console messages arrive
        rep.final_url = page.url
        rep.charts = await page.evaluate(JS_CHARTS)
        rep.links = await page.evaluate(JS_LINKS)
        rep.widths = await page.evaluate(JS_WIDTHS)
        sec = await page.evaluate(JS_SECURITY)
        rep.scripts, rep.handlers = sec["scripts"], sec["handlers"]
        rep.text = await page.evaluate("() => document.body.innerText")
        if shots is not None and SCREENSHOT_PAGES.match(page_rel):
            out = shots / f"{page_rel.removesuffix('.html').replace('/', '__')}__{name}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(out), full_page=True)
            rep.screenshot = str(out)
    except Exception as exc:  # noqa: BLE001 - reported as a failure of the page
        rep.load_error = f"{type(exc).__name__}: {exc}"
    finally:
        await context.close()
    rep.seconds = round(time.monotonic() - t0, 2)
    return rep


async def crawl_async(root: Path, base: str, pages: list[str] | None = None, jobs: int = 4,
                      shots: Path | None = None, chart_timeout_ms: int = 20_000) -> list[PageReport]:
    from playwright.async_api import async_playwright

    pages = site_pages(root) if pages is None else pages
    sem = asyncio.Semaphore(max(1, jobs))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=browser_executable(), args=launch_args())
        try:
            async def one(rel: str, vp: dict, name: str) -> PageReport:
                async with sem:
                    return await _visit(browser, base, rel, vp, name, shots, chart_timeout_ms,
                                        redirect=REFRESH.search((root / rel).read_text(errors="replace")) is not None)
            return list(await asyncio.gather(*(one(rel, vp, name) for rel in pages
                                               for name, vp in (("desktop", DESKTOP), ("phone", PHONE)))))
        finally:
            await browser.close()


def _run(coro):
    """asyncio.run in a thread of its own (Playwright's sync API may hold a loop in this one)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def crawl(root: Path, base: str | None = None, **kw) -> list[PageReport]:
    """Visit every page at both viewports; serves ``root`` itself unless ``base`` is given."""
    if base is not None:
        return _run(crawl_async(root, base, **kw))
    with served(root) as url:
        return _run(crawl_async(root, url, **kw))


# --- link targets ---------------------------------------------------------------------------------

class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for k, v in attrs:
            if k in ("id",) or (tag == "a" and k == "name"):
                self.ids.add(v or "")


@functools.lru_cache(maxsize=None)
def ids_of(path: Path) -> frozenset[str]:
    p = _Ids()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(p.ids)


def broken_links(rep: PageReport, root: Path, base: str) -> list[str]:
    """Internal links of a page whose file or #anchor does not exist (external links are not checked)."""
    out = []
    here = rep.final_url[len(base):] if rep.final_url.startswith(base) else rep.page
    here = unquote(urlsplit(here).path) or rep.page
    for href in rep.links:
        href = href.strip()
        if not href or href.startswith(("mailto:", "tel:")):
            continue
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            if href.startswith(base):
                parts = urlsplit(href[len(base) - 1:])
            else:
                continue  # another site (DOI, registry): not followed offline
        if parts.path.startswith("/"):
            out.append(f"{href}: root-absolute link (breaks when the site is published under /<version>/)")
            continue
        target = (root / here).parent / unquote(parts.path) if parts.path else root / here
        target = Path(os.path.normpath(target))
        if target.is_dir():
            target = target / "index.html"
        if not target.resolve().is_relative_to(root.resolve()):
            out.append(f"{href}: outside the site")
            continue
        if not target.is_file():
            out.append(f"{href}: {target.relative_to(root).as_posix()} does not exist")
            continue
        frag = unquote(parts.fragment)
        if frag and target.suffix == ".html" and frag not in ids_of(target):
            out.append(f"{href}: no id {frag!r} in {target.relative_to(root).as_posix()}")
    return out


def phone_overflow(r: PageReport, width: int = PHONE["width"]) -> list[str]:
    """What is wider than a phone screen: SVGs (charts, icons) and the page itself.  Compared with
    the screen width, not ``innerWidth``: a mobile browser widens its layout viewport to fit
    content that overflows."""
    if not r.widths:
        return []
    out = [f"svg wider than the viewport: {s['chart']} is {s['width']} px wide (right edge {s['right']})"
           for s in r.widths["svgs"] if s["width"] > width or s["right"] > width]
    if max(r.widths["document"], r.widths["viewport"]) > width:
        out.append(f"the page is {max(r.widths['document'], r.widths['viewport'])} px wide on a {width} px screen")
    return out


# --- command line ---------------------------------------------------------------------------------

def summarise(reports: list[PageReport], root: Path, base: str) -> tuple[int, list[str]]:
    lines, bad = [], 0
    for r in reports:
        problems = ([f"load: {r.load_error}"] if r.load_error else []) + \
            [f"console: {m}" for m in r.console_errors + r.page_errors] + \
            [f"failed request: {m}" for m in r.failed_requests + r.http_errors] + \
            [f"blocked request: {m}" for m in r.blocked_requests] + \
            [f"dialog: {m}" for m in r.dialogs] + \
            [f"chart {c['id']} not rendered: {c}" for c in r.charts
             if not (c["svg"] and "vega-embed" in c["classes"].split() and c["marks"] > 0)] + \
            [f"link: {m}" for m in broken_links(r, root, base)]
        if r.viewport == "phone":
            problems += phone_overflow(r)
        bad += bool(problems)
        lines.append(f"{'FAIL' if problems else 'ok  '} {r.page} [{r.viewport}] charts {len(r.charts)} "
                     f"({r.seconds:.1f}s)" + "".join(f"\n       - {p}" for p in problems))
    return bad, lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", nargs="?", default="_build/html")
    ap.add_argument("-j", "--jobs", type=int, default=4)
    ap.add_argument("--screenshots", help="directory for screenshots of the synthesis pages")
    args = ap.parse_args(argv)
    root = Path(args.site)
    if not site_pages(root):
        print(f"no HTML pages under {root}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with served(root) as base:
        reports = asyncio.run(crawl_async(root, base, jobs=args.jobs,
                                          shots=Path(args.screenshots) if args.screenshots else None))
        bad, lines = summarise(reports, root, base)
    print("\n".join(lines))
    print(f"{len(reports)} page loads, {bad} failing, {time.monotonic() - t0:.1f}s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

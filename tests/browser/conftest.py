"""Fixtures of the browser test (make browser-test): the built site served on 127.0.0.1, one crawl of
every page in offline headless Chromium, and ``live_page`` for tests that interact with a page.

The tests run only when SITE_BROWSER=1 (``make browser-test`` sets it), so that ``make test`` stays a
unit-test run; the site is ``$SITE_DIR`` or ``_build/html``; screenshots go to ``$SCREENSHOT_DIR`` or
``_build/screenshots``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tools"))

import site_browser as sb  # noqa: E402


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("SITE_BROWSER") == "1":
        return
    skip = pytest.mark.skip(reason="browser test: run `make browser-test` (or set SITE_BROWSER=1)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def site_root() -> Path:
    root = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html"))
    if not (root / "search.html").is_file():
        pytest.fail(f"{root} is not a built site: run `make book` first")
    return root


@pytest.fixture(scope="session")
def site_url(site_root: Path):
    with sb.served(site_root) as url:
        yield url


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    out = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "_build" / "screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def reports(site_root: Path, site_url: str, screenshot_dir: Path) -> list[sb.PageReport]:
    """Every page of the site at 1280 px and 390 px, visited once for all the tests."""
    return sb.crawl(site_root, site_url, jobs=int(os.environ.get("BROWSER_JOBS", "3")), shots=screenshot_dir)


@pytest.fixture(scope="session")
def _sync_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=sb.browser_executable(), args=sb.launch_args())
        yield browser
        browser.close()


@pytest.fixture
def live_page(_sync_browser, site_url: str):
    """Factory: ``live_page("book/x.html", width=1280)`` -> a loaded Playwright (sync) page of the site,
    offline, charts rendered.  Fails the test on any dialog, console error, failed or blocked request
    seen while the test used the page (``page.lsr_events`` lists them).  Hook for interactive tests
    such as "the analysis-set switch changes the pooled estimate"."""
    contexts = []

    def open_page(path: str, width: int = 1280, height: int = 900, base: str | None = None):
        base = base or site_url
        context = _sync_browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
        contexts.append(context)
        events: list[str] = []
        blocked: list[str] = []
        context.route(sb.not_local(base), sb.route_offline(base, blocked))
        page = context.new_page()
        page.on("dialog", lambda d: (events.append(f"dialog {d.type}: {d.message}"), d.dismiss()))
        page.on("console", lambda m: events.append(f"console error: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: events.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: events.append(f"failed request: {r.url}"))
        page.on("response", lambda r: events.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.goto(base + path, wait_until="load")
        wait_for_charts(page)
        page.lsr_events = events
        page.lsr_blocked = blocked
        return page

    yield open_page
    problems = []
    for context in contexts:
        for page in context.pages:
            problems += getattr(page, "lsr_events", []) + [f"blocked: {u}" for u in getattr(page, "lsr_blocked", [])]
        context.close()
    if problems:
        pytest.fail("while the test used the page:\n" + "\n".join(problems))


def wait_for_charts(page, timeout_ms: int = 20_000) -> None:
    """Sync API: wait until every chart div of ``page`` has rendered (or shows its error text)."""
    page.wait_for_function(sb.JS_CHARTS_DONE, timeout=timeout_ms)

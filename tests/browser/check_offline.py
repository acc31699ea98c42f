#!/usr/bin/env python3
"""Check that every Altair chart of a built site renders offline in headless Chromium.

Usage::

    python tests/browser/check_offline.py _build/html [-j 4] [--screenshot-dir DIR]

For every ``*.html`` page of the site (``_static``/``_sources`` excluded) it

1. fails if the page loads an external script or stylesheet
   (``<script src="http(s)://…">`` / ``<link rel="stylesheet" href="http(s)://…">``,
   protocol-relative ``//host/…`` included);
2. if the page contains Altair chart placeholders (``<div id="altair-viz-…">``),
   opens it over ``file://`` in headless Chromium with every host name resolved to
   nothing (``--host-resolver-rules='MAP * ~NOTFOUND'``) and background networking
   off, dumps the DOM after the scripts ran, and fails unless each chart ``<div>``
   got the ``vega-embed`` class and contains an ``<svg>`` with drawn marks.

It prints one line per page (charts found / rendered) and exits 1 on any failure,
2 on usage errors (no pages, no Chromium).  Chromium: Debian package ``chromium``
(``apt-get install -y chromium``), or pass ``--chromium PATH``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

CHART_ID = re.compile(r"^altair-viz-[0-9a-f]{32}$")
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
DRAWN = {"path", "rect", "line", "circle", "text", "polygon", "polyline", "ellipse", "image"}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-extensions",
    "--allow-file-access-from-files",
    "--enable-logging=stderr",
    "--v=0",
]


@dataclass
class Chart:
    id: str
    classes: str = ""
    svgs: int = 0
    drawn: int = 0
    text: list[str] = field(default_factory=list)

    @property
    def rendered(self) -> bool:
        return "vega-embed" in self.classes.split() and self.svgs > 0 and self.drawn > 0


class PageScan(HTMLParser):
    """Collect chart divs (with what is drawn inside them) and external resources."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: list[Chart] = []
        self.external: list[str] = []
        self._stack: list[tuple[str, Chart | None]] = []  # open tags inside a chart div
        self._cur: Chart | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "script" and EXTERNAL.match(a.get("src", "")):
            self.external.append(f"script {a['src']}")
        if tag == "link" and "stylesheet" in a.get("rel", "").lower() and EXTERNAL.match(a.get("href", "")):
            self.external.append(f"stylesheet {a['href']}")
        if self._cur is None:
            if tag == "div" and CHART_ID.match(a.get("id", "")):
                self._cur = Chart(id=a["id"], classes=a.get("class", ""))
                self.charts.append(self._cur)
                self._stack = [("div", self._cur)]
            return
        if tag == "svg":
            self._cur.svgs += 1
        elif tag in DRAWN:
            self._cur.drawn += 1
        if tag not in VOID:
            self._stack.append((tag, None))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self._cur is not None and tag not in VOID and self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if self._cur is None:
            return
        # pop up to the matching open tag (tolerates sloppy markup)
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break
        if not self._stack:
            self._cur = None

    def handle_data(self, data: str) -> None:
        if self._cur is not None and data.strip() and len(self._cur.text) < 5:
            self._cur.text.append(data.strip())


def scan(html: str) -> PageScan:
    p = PageScan()
    p.feed(html)
    p.close()
    return p


def find_chromium(explicit: str | None) -> str | None:
    for cand in (explicit, os.environ.get("CHROMIUM"), "/usr/bin/chromium", "chromium",
                 "chromium-browser", "google-chrome"):
        if cand and (path := shutil.which(cand)):
            return path
    return None


def run_chromium(chromium: str, page: Path, budget_ms: int, timeout: float,
                 screenshot: Path | None = None, window: str = "1280,2400") -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="check-offline-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--virtual-time-budget={budget_ms}"]
        if screenshot is not None:
            cmd += [f"--screenshot={screenshot}", f"--window-size={window}", "--hide-scrollbars"]
        else:
            cmd += ["--dump-dom"]
        cmd.append(page.resolve().as_uri())
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return proc.stdout, proc.stderr


def console_lines(stderr: str) -> list[str]:
    return [ln.split("] ", 1)[-1] for ln in stderr.splitlines() if "CONSOLE" in ln][:10]


def check_page(page: Path, root: Path, chromium: str | None, args: argparse.Namespace) -> tuple[bool, str]:
    rel = page.relative_to(root).as_posix()
    static = scan(page.read_text(encoding="utf-8", errors="replace"))
    problems = [f"external {e}" for e in static.external]
    found = len(static.charts)
    rendered = 0
    if found:
        assert chromium is not None
        try:
            dom, err = run_chromium(chromium, page, args.budget, args.timeout)
        except subprocess.TimeoutExpired:
            return False, f"FAIL {rel}: charts {found}, chromium timed out"
        live = scan(dom)
        by_id = {c.id: c for c in live.charts}
        for c in static.charts:
            got = by_id.get(c.id)
            if got is not None and got.rendered:
                rendered += 1
            else:
                detail = "missing from DOM" if got is None else (
                    f"class={got.classes!r} svg={got.svgs} marks={got.drawn} text={' '.join(got.text)[:120]!r}")
                problems.append(f"chart {c.id} not rendered ({detail})")
        if rendered < found:
            problems += [f"console: {ln}" for ln in console_lines(err)]
        if args.screenshot_dir:
            out = Path(args.screenshot_dir) / (rel.replace("/", "__").removesuffix(".html") + ".png")
            out.parent.mkdir(parents=True, exist_ok=True)
            run_chromium(chromium, page, args.budget, args.timeout, screenshot=out, window=args.window_size)
    ok = not problems
    line = f"{'ok  ' if ok else 'FAIL'} {rel}: charts found {found}, rendered {rendered}"
    if problems:
        line += "".join(f"\n       - {p}" for p in problems)
    return ok, line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", nargs="?", default="_build/html", help="built HTML site (default _build/html)")
    ap.add_argument("--chromium", help="Chromium binary (default: /usr/bin/chromium or $CHROMIUM)")
    ap.add_argument("-j", "--jobs", type=int, default=4, help="pages checked in parallel (default 4)")
    ap.add_argument("--budget", type=int, default=10000, help="virtual time budget per page, ms")
    ap.add_argument("--timeout", type=float, default=120, help="wall-clock timeout per page, s")
    ap.add_argument("--screenshot-dir", help="also save a PNG screenshot of every page with charts")
    ap.add_argument("--window-size", default="1280,2400", help="screenshot window size W,H")
    args = ap.parse_args(argv)

    root = Path(args.site)
    pages = sorted(p for p in root.rglob("*.html")
                   if not ({"_static", "_sources", "_images"} & set(p.relative_to(root).parts)))
    if not pages:
        print(f"no HTML pages under {root}", file=sys.stderr)
        return 2
    needs_browser = any("altair-viz-" in p.read_text(encoding="utf-8", errors="replace") for p in pages)
    chromium = find_chromium(args.chromium)
    if needs_browser and chromium is None:
        print("Chromium not found: apt-get install -y chromium (or pass --chromium)", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda p: check_page(p, root, chromium, args), pages))
    for _, line in results:
        print(line)
    n_fail = sum(not ok for ok, _ in results)
    total = sum(int(re.search(r"charts found (\d+)", ln).group(1)) for _, ln in results)
    done = sum(int(re.search(r"rendered (\d+)", ln).group(1)) for _, ln in results)
    print(f"{len(pages)} pages, {total} charts, {done} rendered, {n_fail} page(s) failing")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())

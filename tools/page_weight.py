#!/usr/bin/env python3
"""Page weight of the built site: what a reader downloads on the first load of each page.

Usage::

    python tools/page_weight.py [_build/html] [--json FILE] [--assets PAGE] [--top N]

For every ``*.html`` page of the site (``_static/``, ``_sources/``, ``_images/`` excluded)
it adds up the **gzip-compressed** size (``gzip -9``, the compression the issue's "before"
numbers were measured with) of

* the page itself, and
* every local asset the page makes the browser fetch, each distinct file counted once per
  page: ``<script src>``, ``<link rel=stylesheet|preload|modulepreload|icon>``, ``<img src>``
  / ``srcset``, ``<source>``, ``<video poster>``, ``<object data>``, ``<embed src>``,
  ``<iframe src>``, ``<image href>`` in inline SVG, ``url()`` in ``<style>`` elements and
  ``style=""`` attributes, and, inside every loaded stylesheet, its ``@import`` and
  ``url()`` references (fonts and images), recursively.

That is a first load with an empty cache: assets shared between pages are counted in full
on every page.  Fonts and background images that a stylesheet declares are counted even if
no element on the page uses them (an upper bound: browsers fetch a font only when a glyph
needs it); for ``@font-face`` only the first ``url()`` of each ``src`` list is counted,
the format a current browser picks.

A page is a *chart page* when it holds an Altair chart placeholder
(``<div id="altair-viz-…">``); its limit is 500 KB, every other page's 150 KB
(KB = 1000 bytes, as in the issue).  The table lists page, html, assets, total, limit
and ok; the summary names the largest assets.  Exit status 1 when a page is over its
limit or references a local asset that does not exist, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

TEXT_LIMIT = 150_000
CHART_LIMIT = 500_000
SKIP_DIRS = {"_static", "_sources", "_images"}
CHART_DIV = re.compile(r"""<div\b[^>]*\bid=["']altair-viz-[0-9A-Za-z_-]+["']""")
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""", re.I)
FONT_FACE = re.compile(r"@font-face\s*\{([^}]*)\}", re.I)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
LINK_RELS_FETCHED = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon"}


def gz(data: bytes) -> int:
    """gzip -9 size in bytes (mtime fixed so the number depends on the content only)."""
    return len(gzip.compress(data, compresslevel=9, mtime=0))


@lru_cache(maxsize=None)
def gz_file(path: Path) -> int:
    return gz(path.read_bytes())


def is_local(url: str) -> bool:
    """A reference this site serves itself (relative, or root-absolute)."""
    u = url.strip()
    if not u or u.startswith(("#", "data:", "about:", "blob:", "javascript:", "mailto:", "tel:")):
        return False
    parts = urlsplit(u)
    return not parts.scheme and not parts.netloc


def resolve(url: str, base: Path, root: Path) -> Path:
    """File a local URL points at (query and fragment dropped; ``/x`` is relative to the site root)."""
    path = unquote(urlsplit(url.strip()).path)
    target = (root / path.lstrip("/")) if path.startswith("/") else (base / path)
    return Path(*_normalise(target.parts))


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out and out[-1] not in ("/", ".."):
                out.pop()
            else:
                out.append(p)
        elif p != ".":
            out.append(p)
    return out


class _PageRefs(HTMLParser):
    """URLs of everything a page makes the browser fetch (plus inline CSS texts)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (kind, url)
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        add = self.refs.append
        if tag == "script" and a.get("src"):
            add(("script", a["src"]))
        elif tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels & LINK_RELS_FETCHED and a.get("href"):
                kind = "stylesheet" if "stylesheet" in rels or a.get("as") == "style" else (
                    "script" if a.get("as") == "script" or "modulepreload" in rels else
                    "font" if a.get("as") == "font" else "image")
                add((kind, a["href"]))
        elif tag in ("img", "source", "input") and (a.get("src") or a.get("srcset")):
            if a.get("src") and (tag != "input" or a.get("type", "").lower() == "image"):
                add(("image", a["src"]))
            for cand in filter(None, (c.strip().split(" ")[0] for c in a.get("srcset", "").split(","))):
                add(("image", cand))
        elif tag == "video" and a.get("poster"):
            add(("image", a["poster"]))
        elif tag in ("object",) and a.get("data"):
            add(("object", a["data"]))
        elif tag in ("embed", "iframe", "audio", "video", "track") and a.get("src"):
            add((tag, a["src"]))
        elif tag == "image" and (a.get("href") or a.get("xlink:href")):
            add(("image", a.get("href") or a["xlink:href"]))
        if a.get("style"):
            self.inline_css.append(a["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.inline_css.append(data)


def css_refs(text: str) -> list[tuple[str, str]]:
    """(kind, url) fetched by a stylesheet: imports, the first url() of each @font-face src, other url()s."""
    text = CSS_COMMENT.sub("", text)
    refs: list[tuple[str, str]] = [("stylesheet", m.group(1)) for m in CSS_IMPORT.finditer(text)]
    for m in FONT_FACE.finditer(text):
        src = re.search(r"\bsrc\s*:([^;]*)", m.group(1), re.I)
        if src and (u := CSS_URL.search(src.group(1))):
            refs.append(("font", next(g for g in u.groups() if g is not None)))
    rest = CSS_IMPORT.sub("", FONT_FACE.sub("", text))
    refs += [("image", next(g for g in u.groups() if g is not None)) for u in CSS_URL.finditer(rest)]
    return refs


@dataclass
class Asset:
    path: str
    kind: str
    gzip: int


@dataclass
class PageWeight:
    page: str
    chart_page: bool
    html: int
    assets: list[Asset] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def asset_bytes(self) -> int:
        return sum(a.gzip for a in self.assets)

    @property
    def total(self) -> int:
        return self.html + self.asset_bytes

    @property
    def limit(self) -> int:
        return CHART_LIMIT if self.chart_page else TEXT_LIMIT

    @property
    def ok(self) -> bool:
        return self.total <= self.limit and not self.missing

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(asset_bytes=self.asset_bytes, total=self.total, limit=self.limit, ok=self.ok)
        return d


def site_pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if not (SKIP_DIRS & set(p.relative_to(root).parts)))


def page_assets(page: Path, root: Path) -> tuple[dict[Path, str], list[str]]:
    """Every local file the page loads ({path: kind}) and the references that do not exist."""
    root = root.resolve()
    page = page.resolve()
    scan = _PageRefs()
    scan.feed(page.read_text(encoding="utf-8", errors="replace"))
    scan.close()
    todo: list[tuple[str, str, Path]] = [(k, u, page.parent) for k, u in scan.refs]
    for css in scan.inline_css:
        todo += [(k, u, page.parent) for k, u in css_refs(css)]
    found: dict[Path, str] = {}
    missing: list[str] = []
    while todo:
        kind, url, base = todo.pop(0)
        if not is_local(url):
            continue
        target = resolve(url, base, root)
        if target in found:
            continue
        if not target.is_file():
            missing.append(f"{kind} {url}")
            continue
        found[target] = kind
        if kind == "stylesheet" or target.suffix.lower() == ".css":
            found[target] = "stylesheet"
            todo += [(k, u, target.parent) for k, u in css_refs(target.read_text(encoding="utf-8", errors="replace"))]
    return found, missing


def measure_page(page: Path, root: Path) -> PageWeight:
    text = page.read_bytes()
    found, missing = page_assets(page, root)
    rootr = root.resolve()
    assets = sorted((Asset(p.relative_to(rootr).as_posix() if p.is_relative_to(rootr) else str(p), kind, gz_file(p))
                     for p, kind in found.items()), key=lambda a: -a.gzip)
    return PageWeight(page=page.relative_to(root).as_posix(),
                      chart_page=bool(CHART_DIV.search(text.decode("utf-8", "replace"))),
                      html=gz(text), assets=assets, missing=missing)


def measure_site(root: Path) -> list[PageWeight]:
    return [measure_page(p, root) for p in site_pages(root)]


def kb(n: int) -> str:
    return f"{n / 1000:.1f}"


def table(results: list[PageWeight]) -> str:
    w = max([len("page")] + [len(r.page) for r in results])
    lines = [f"{'page':<{w}}  {'html':>7}  {'assets':>7}  {'total':>7}  {'limit':>6}  ok",
             f"{'':-<{w}}  {'(KB gz)':>7}  {'':->7}  {'':->7}  {'':->6}  --"]
    for r in results:
        flag = "ok" if r.ok else "OVER" if not r.missing else "MISSING"
        lines.append(f"{r.page:<{w}}  {kb(r.html):>7}  {kb(r.asset_bytes):>7}  {kb(r.total):>7}  "
                     f"{kb(r.limit):>6}  {flag}")
        lines += [f"{'':<{w}}    missing: {m}" for m in r.missing]
    return "\n".join(lines)


def summary(results: list[PageWeight], top: int = 8) -> str:
    text = [r for r in results if not r.chart_page]
    charts = [r for r in results if r.chart_page]
    over = [r for r in results if not r.ok]
    out = [f"{len(results)} pages ({len(text)} text, {len(charts)} with charts); "
           f"{len(over)} over the limit or with missing assets"]
    for name, group in (("text pages", text), ("chart pages", charts)):
        if group:
            big = max(group, key=lambda r: r.total)
            out.append(f"  {name}: max {kb(big.total)} KB ({big.page}), "
                       f"min {kb(min(r.total for r in group))} KB, limit {kb(group[0].limit)} KB")
    sizes: dict[str, tuple[int, int]] = {}
    for r in results:
        for a in r.assets:
            n, _ = sizes.get(a.path, (0, a.gzip))
            sizes[a.path] = (n + 1, a.gzip)
    if sizes:
        out.append(f"  largest assets (KB gzip, pages loading it of {len(results)}):")
        for path, (n, size) in sorted(sizes.items(), key=lambda kv: -kv[1][1])[:top]:
            out.append(f"    {kb(size):>7}  {n:>3}  {path}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", nargs="?", default="_build/html", help="built site (default _build/html)")
    ap.add_argument("--json", metavar="FILE", help="also write the measurements as JSON ('-' for stdout)")
    ap.add_argument("--assets", metavar="PAGE", help="list the assets of one page (path relative to the site)")
    ap.add_argument("--top", type=int, default=8, help="largest assets listed in the summary")
    args = ap.parse_args(argv)
    root = Path(args.site)
    if not root.is_dir():
        print(f"{root}: no such directory (build the site first: make book)", file=sys.stderr)
        return 2
    if args.assets:
        r = measure_page(root / args.assets, root)
        for a in r.assets:
            print(f"{kb(a.gzip):>8}  {a.kind:<10}  {a.path}")
        for m in r.missing:
            print(f"missing     {m}")
        print(f"{kb(r.html):>8}  html        {r.page}\n{kb(r.total):>8}  total (limit {kb(r.limit)})")
        return 0 if r.ok else 1
    results = measure_site(root)
    if not results:
        print(f"no HTML pages under {root}", file=sys.stderr)
        return 2
    print(table(results))
    print(summary(results, args.top))
    if args.json:
        payload = json.dumps([r.as_dict() for r in results], indent=1)
        if args.json == "-":
            print(payload)
        else:
            Path(args.json).write_text(payload + "\n", encoding="utf-8")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

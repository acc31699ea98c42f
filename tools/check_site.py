#!/usr/bin/env python3
"""Site check: a built page loads nothing from the network and runs no script that is not the site's own.

Usage::

    python tools/check_site.py [_build/html]

Every ``*.html`` file of the site is parsed (Python's HTML parser; the browser test checks
the same rules again on the DOM the browser built) and each of these is a problem:

* **network**: a resource the browser would fetch from another host — ``<script src>``,
  ``<link href>`` (stylesheet, preload, icon …), ``<img src|srcset>``, ``<source>``,
  ``<video|audio src|poster>``, ``<iframe|embed|frame src>``, ``<object data>``, SVG
  ``<image href>``, ``url()``/``@import`` in ``<style>``/``style=""`` — with an absolute
  ``http(s):`` or protocol-relative ``//`` URL; also in the site's own ``_static/**/*.css``.
* **script**: a ``<script>`` that is not one of the site's own.  Allowed are

  - ``<script src>`` naming a file of this site under ``_static/`` (or Sphinx's
    ``searchindex.js`` at the site root) that exists, with no inline text;
  - inline scripts on the allow-list :data:`THEME_SCRIPTS` (the exact texts the theme and
    Sphinx write, by pattern; ``DOCUMENTATION_OPTIONS.pagename`` must name the page itself);
  - the chart-embedding script of ``analysis/present/charts/render.py``: ``var id="altair-viz-<32 hex>",
    spec=<JSON>,opt=<JSON>`` followed by one of the known bodies in :data:`CHART_TAILS`
    (by SHA-256); the spec and the options must parse as JSON, the id must be the id of a
    ``<div>`` on the page, and no string in them may be a ``javascript:`` URL or an external
    URL; the options may only use the keys in :data:`CHART_OPTIONS`;
  - data blocks: ``<script type="application/json">`` (and ``…+json``) whose text parses as
    JSON.  Any other ``type`` (``importmap``, ``speculationrules``, unknown types) is a
    problem.
* **handler**: any inline event-handler attribute (``on*=`` on any element, SVG included).
* **url**: a ``javascript:``/``vbscript:`` URL in any attribute (after removing the
  whitespace and control characters browsers ignore), a ``data:`` URL that can hold a
  document (``text/html``, ``application/xhtml+xml``, ``image/svg+xml``) outside ``<img>``,
  ``srcdoc`` (an inline document), ``<base>`` (rewrites every relative URL), or a
  ``<meta http-equiv="refresh">`` to anything but a relative URL.

Exit status 1 when a problem is found (one line each: ``page:line: kind: detail``), 2 on
usage errors.  :func:`check_page` / :func:`check_html` / :func:`check_site` are importable;
the browser test reuses :func:`classify_inline_script`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

SKIP_DIRS = {"_static", "_sources", "_images"}

#: Inline scripts written by Sphinx and the theme, as exact patterns (whole text must match).
THEME_SCRIPTS: dict[str, re.Pattern[str]] = {
    # pydata-sphinx-theme layout.html: colour mode before first paint (html_context.default_mode)
    "theme mode": re.compile(
        r'\n    document\.documentElement\.dataset\.mode = localStorage\.getItem\("mode"\) \|\| "(light|dark|auto|)";'
        r'\n    document\.documentElement\.dataset\.theme = localStorage\.getItem\("theme"\) \|\| "(light|dark|auto|)";\n  '),
    # pydata-sphinx-theme: html_theme_options.search_as_you_type
    "search as you type": re.compile(r"DOCUMENTATION_OPTIONS\.search_as_you_type = (?:true|false);"),
    # Sphinx: the page's own name (checked against the page path below)
    "page name": re.compile(r"DOCUMENTATION_OPTIONS\.pagename = '(?P<pagename>[A-Za-z0-9_./-]+)';"),
    # pydata-sphinx-theme search.html: focus the search field
    "search focus": re.compile(re.escape(
        '\n    // Activate the search field on page load\n    let searchInput = document.querySelector("form.bd-search input");\n'
        '    if (searchInput) {\n        searchInput.focus();\n        searchInput.select();\n'
        '        console.log("[PST]: Set focus on search field.");\n    }\n  ')),
}

#: The chart-embedding script's body, the text after ``opt=<JSON>``.  When that script changes,
#: add its new body here (the check prints the SHA-256 and the text of any body it does not know).
#: analysis/present/charts/render.py EMBED_TAIL (finds its div as the script's previous sibling;
#: tests/site/test_check_site.py asserts the two texts are equal)
CHART_TAIL_V2 = (
    ';var s=document.currentScript,el=s&&s.previousElementSibling;if(!el||el.id!==id)el=document.getEleme'
    'ntById(id);function show(){if(!el)return;if(typeof window.vegaEmbed!=="function"){el.textContent="[C'
    'hart not rendered: the offline Vega bundle (_static/vega/vega-bundle.js) is not loaded.]";return;}wi'
    'ndow.vegaEmbed(el,spec,opt).catch(function(e){el.textContent="[Chart error: "+e+"]";});}if(typeof wi'
    'ndow.vegaEmbed==="function"||document.readyState==="complete"){show();}else{window.addEventListener('
    '"load",show);}})();'
)
CHART_TAILS: dict[str, str] = {  # sha256 of the body -> where it comes from
    hashlib.sha256(CHART_TAIL_V2.encode()).hexdigest(): "analysis/present/charts/render.py EMBED_TAIL",
}
CHART_HEAD = re.compile(r'\(function\(\)\{var id="(?P<id>altair-viz-[0-9a-f]{32})",spec=')
#: vega-embed options a chart may set (JSON only, so no functions can come in through them)
CHART_OPTIONS = {"actions", "renderer", "mode", "width", "height", "padding", "scaleFactor", "theme",
                 "config", "tooltip", "downloadFileName", "defaultStyle", "hover", "logLevel", "i18n",
                 "formatLocale", "timeFormatLocale", "ast"}

JS_TYPES = {"", "text/javascript", "application/javascript", "module", "text/ecmascript",
            "application/ecmascript", "application/x-javascript", "text/jscript", "text/livescript",
            "text/x-javascript", "text/x-ecmascript", "text/javascript1.0", "text/javascript1.1",
            "text/javascript1.2", "text/javascript1.3", "text/javascript1.4", "text/javascript1.5"}
JSON_TYPE = re.compile(r"^application/(?:[a-z0-9.+-]+\+)?json$")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
SCRIPT_SCHEME = re.compile(r"^(?:javascript|vbscript|livescript):", re.I)
DOC_DATA_URL = re.compile(r"^data:(?:text/html|application/xhtml\+xml|image/svg\+xml)", re.I)
IGNORED_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
CSS_URL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])\s*((?:[a-z][a-z0-9+.-]*:)?//[^"')\s]*)""", re.I)
FETCHED = {  # element -> attributes whose URL the browser fetches on load
    "script": ("src",), "img": ("src", "srcset"), "source": ("src", "srcset"), "video": ("src", "poster"),
    "audio": ("src",), "track": ("src",), "iframe": ("src",), "frame": ("src",), "embed": ("src",),
    "object": ("data",), "image": ("href", "xlink:href"), "input": ("src",), "use": ("href", "xlink:href"),
    "feimage": ("href", "xlink:href"),
}
LINK_FETCHED = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut", "apple-touch-icon",
                "manifest", "import", "preconnect", "dns-prefetch"}


@dataclass(frozen=True)
class Problem:
    page: str
    line: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.kind}: {self.detail}"


def _clip(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


def _json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_json_strings(k), *_json_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


def check_chart_script(text: str) -> tuple[str | None, str | None]:
    """(chart id, None) for a known chart-embedding script, (id or None, reason) otherwise."""
    m = CHART_HEAD.match(text)
    if not m:
        return None, "not a chart-embedding script"
    dec = json.JSONDecoder()
    try:
        spec, end = dec.raw_decode(text, m.end())
    except json.JSONDecodeError as exc:
        return m["id"], f"chart spec is not JSON ({exc.msg} at {exc.pos})"
    if not text.startswith(",opt=", end):
        return m["id"], "chart script: no opt= after the spec"
    try:
        opt, end = dec.raw_decode(text, end + len(",opt="))
    except json.JSONDecodeError as exc:
        return m["id"], f"chart options are not JSON ({exc.msg} at {exc.pos})"
    tail = text[end:]
    digest = hashlib.sha256(tail.encode()).hexdigest()
    if digest not in CHART_TAILS:
        return m["id"], f"unknown chart-embedding code (sha256 {digest}): {_clip(tail, 400)}"
    if not isinstance(spec, dict) or not isinstance(opt, dict):
        return m["id"], "chart spec and options must be JSON objects"
    if unknown := sorted(set(opt) - CHART_OPTIONS):
        return m["id"], f"chart options not allowed: {unknown}"
    for s in _json_strings(spec) + _json_strings(opt):
        cleaned = IGNORED_URL_CHARS.sub("", s)
        if SCRIPT_SCHEME.match(cleaned):
            return m["id"], f"chart holds a script URL: {_clip(s)}"
        if EXTERNAL.match(cleaned):
            return m["id"], f"chart refers to another host: {_clip(s)}"
    return m["id"], None


def classify_inline_script(text: str, pagename: str | None = None) -> tuple[str | None, str | None]:
    """(name of the allow-list entry, None) if an inline script is the site's own, else (None, reason).

    ``pagename`` (the page path without ``.html``) is compared with Sphinx's pagename script."""
    for name, pattern in THEME_SCRIPTS.items():
        m = pattern.fullmatch(text)
        if m:
            if name == "page name" and pagename is not None and m["pagename"] != pagename:
                return None, f"pagename script names {m['pagename']!r}, not this page ({pagename!r})"
            return name, None
    chart_id, reason = check_chart_script(text)
    if reason is None:
        return f"chart {chart_id}", None
    if chart_id is None:
        digest = hashlib.sha256(text.encode()).hexdigest()
        return None, f"inline script not on the allow-list (sha256 {digest}): {_clip(text)}"
    return None, reason


class _Scan(HTMLParser):
    def __init__(self, page: str, pagename: str | None, page_path: Path | None, root: Path | None) -> None:
        super().__init__(convert_charrefs=True)
        self.page, self.pagename, self.page_path, self.root = page, pagename, page_path, root
        self.problems: list[Problem] = []
        self.ids: set[str] = set()
        self.chart_ids: list[tuple[int, str]] = []
        self._script: tuple[int, dict[str, str]] | None = None
        self._script_text: list[str] = []
        self._style: list[str] | None = None

    def add(self, kind: str, detail: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.page, line or self.getpos()[0], kind, detail))

    # -- elements and attributes
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        a: dict[str, str] = {}
        for k, v in attrs:
            k = k.lower()
            v = v or ""
            a.setdefault(k, v)
            if k.startswith("on"):
                self.add("handler", f"<{tag} {k}=…> event-handler attribute: {_clip(v)}")
            cleaned = IGNORED_URL_CHARS.sub("", v)
            if SCRIPT_SCHEME.match(cleaned):
                self.add("url", f"<{tag} {k}=…> script URL: {_clip(v)}")
            elif DOC_DATA_URL.match(cleaned) and tag != "img":
                self.add("url", f"<{tag} {k}=…> data: URL that can hold a document: {_clip(v, 80)}")
            if k == "srcdoc":
                self.add("url", f"<{tag} srcdoc> inline document: {_clip(v)}")
            if k == "style":
                self._css(v)
        if "id" in a:
            self.ids.add(a["id"])
        for k in FETCHED.get(tag, ()):
            for url in (c.strip().split(" ")[0] for c in a.get(k, "").split(",")) if k == "srcset" else [a.get(k, "")]:
                if url and EXTERNAL.match(IGNORED_URL_CHARS.sub("", url)):
                    self.add("network", f"<{tag} {k}={url!r}> loads from another host")
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels & LINK_FETCHED and EXTERNAL.match(IGNORED_URL_CHARS.sub("", a.get("href", ""))):
                self.add("network", f"<link rel={a.get('rel')!r} href={a['href']!r}> loads from another host")
        if tag == "base":
            self.add("url", f"<base href={a.get('href', '')!r}> rewrites every relative URL")
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            target = re.sub(r"^\s*\d+\s*;?\s*(?:url\s*=\s*)?", "", a.get("content", ""), flags=re.I).strip("'\" ")
            if target and (EXTERNAL.match(target) or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)):
                self.add("url", f"<meta http-equiv=refresh> to {target!r}")
        if tag == "script":
            self._script = (self.getpos()[0], a)
            self._script_text = []
        elif tag == "style":
            self._style = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag.lower() == "script":  # <script/> in foreign content: no text
            self.handle_endtag("script")

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text.append(data)
        elif self._style is not None:
            self._style.append(data)

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag == "script" and self._script is not None:
            line, a = self._script
            self._script = None
            self._check_script(line, a, "".join(self._script_text))
        elif tag == "style" and self._style is not None:
            self._css("".join(self._style))
            self._style = None

    def close(self) -> None:
        super().close()
        if self._script is not None:  # unterminated <script>: the browser runs it to the end of the file
            line, a = self._script
            self._script = None
            self._check_script(line, a, "".join(self._script_text))
        for line, chart_id in self.chart_ids:
            if chart_id not in self.ids:
                self.add("script", f"chart script for {chart_id} but no element with that id", line)

    # -- checks
    def _css(self, text: str) -> None:
        for m in CSS_URL.finditer(text):
            self.add("network", f"CSS loads {m.group(1)!r} from another host")

    def _check_script(self, line: int, a: dict[str, str], text: str) -> None:
        kind = a.get("type", "").strip().lower()
        src = a.get("src") or a.get("href") or a.get("xlink:href") or ""
        if kind not in JS_TYPES:
            if JSON_TYPE.match(kind):
                try:
                    json.loads(text)
                except ValueError:
                    self.add("script", f'<script type="{kind}"> that is not JSON: {_clip(text)}', line)
                if src:
                    self.add("script", f'<script type="{kind}" src={src!r}> data block with a source', line)
            else:
                self.add("script", f'<script type="{kind}"> is not a type this site uses: {_clip(text)}', line)
            return
        if src:
            if text.strip():
                self.add("script", f"<script src={src!r}> with inline text: {_clip(text)}", line)
            reason = self._own_file(src)
            if reason:
                self.add("script", f"<script src={src!r}>: {reason}", line)
            return
        name, reason = classify_inline_script(text, self.pagename)
        if reason:
            self.add("script", reason, line)
        elif name and name.startswith("chart "):
            self.chart_ids.append((line, name.split(" ", 1)[1]))

    def _own_file(self, src: str) -> str | None:
        """None if ``src`` is a file of this site under _static/ (or searchindex.js), else why not."""
        cleaned = IGNORED_URL_CHARS.sub("", src)
        parts = urlsplit(cleaned)
        if parts.scheme or parts.netloc or cleaned.startswith("/"):
            return "not a relative URL of this site"
        if self.page_path is None or self.root is None:
            return None if re.match(r"^(?:\.\./)*(?:_static/|searchindex\.js$)", parts.path) else \
                "not a file under _static/"
        root = self.root.resolve()
        target = (self.page_path.parent / parts.path).resolve()
        if not target.is_relative_to(root):
            return "outside the site"
        rel = target.relative_to(root).as_posix()
        if not (rel.startswith("_static/") or rel == "searchindex.js"):
            return f"{rel} is not under _static/"
        if not target.is_file():
            return f"{rel} does not exist"
        return None


def check_html(html: str, page: str = "<page>", pagename: str | None = None,
               page_path: Path | None = None, root: Path | None = None) -> list[Problem]:
    """Problems of one page's HTML (``page_path``/``root`` let ``<script src>`` be resolved)."""
    scan = _Scan(page, pagename, page_path, root)
    scan.feed(html)
    scan.close()
    return scan.problems


def check_page(path: Path, root: Path) -> list[Problem]:
    rel = path.relative_to(root).as_posix()
    return check_html(path.read_text(encoding="utf-8", errors="replace"), rel,
                      rel.removesuffix(".html"), path, root)


def check_css(root: Path) -> list[Problem]:
    problems = []
    for css in sorted((root / "_static").rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        for m in CSS_URL.finditer(re.sub(r"/\*.*?\*/", "", text, flags=re.S)):
            problems.append(Problem(css.relative_to(root).as_posix(), 0, "network",
                                    f"stylesheet loads {m.group(1)!r} from another host"))
    return problems


def site_pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if not (SKIP_DIRS & set(p.relative_to(root).parts)))


def check_site(root: Path) -> tuple[list[Path], list[Problem]]:
    pages = site_pages(root)
    return pages, [p for page in pages for p in check_page(page, root)] + check_css(root)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", nargs="?", default="_build/html", help="built site (default _build/html)")
    args = ap.parse_args(argv)
    root = Path(args.site)
    if not root.is_dir():
        print(f"{root}: no such directory (build the site first: make book)", file=sys.stderr)
        return 2
    pages, problems = check_site(root)
    if not pages:
        print(f"no HTML pages under {root}", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    kinds = {k: sum(p.kind == k for p in problems) for k in ("network", "script", "handler", "url")}
    print(f"check-site: {len(pages)} pages, " + ", ".join(f"{n} {k}" for k, n in kinds.items())
          + f" problem(s){'' if problems else ' - ok'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

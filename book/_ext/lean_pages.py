"""Sphinx extension: pages that load only what they use.

What the theme (sphinx-book-theme 1.3 on pydata-sphinx-theme 0.17) loads on every page and
what this site does with it (gzip sizes; measure with ``tools/page_weight.py``):

* **Font Awesome** — a 542 KB script that swaps ``<i class="fa-…">`` for SVG at run time,
  plus three web fonts (300 KB) and ~22 KB of icon rules declared by the theme CSS.  The
  pages use about ten icons.  Every empty ``<i|span class="fa-…">`` of a page is replaced
  here by the same icon as inline SVG (paths read from the theme's own ``fontawesome.js``
  at build time), the script tag is dropped, and the theme stylesheet is rewritten without
  the Font Awesome rules and ``@font-face`` blocks.  An icon that cannot be found is a
  Sphinx warning, so ``-W`` fails the build.  The few icons the theme draws with CSS
  pseudo-elements get CSS replacements in ``_static/site.css``.
* **The vega bundle** (305 KB) is added only to pages holding a chart
  (``<div id="altair-viz-…">`` — the renderer contract of ``analysis/charts.py``), with
  ``defer``: an embedding script must wait for ``window.vegaEmbed`` (today's waits for the
  ``load`` event when it is not defined yet).
* **sphinx-design** CSS/JS only on pages that use ``sd-`` components.
* **Sphinx's search scripts and index** (``searchtools.js``, ``language_data.js``,
  ``searchindex.js``) only on the search page: the theme's search box is a form that
  submits to ``search.html`` (``search_as_you_type`` is off).
* **No source maps**: ``*.map`` files are deleted and ``sourceMappingURL`` comments removed.
* Tables get a ``data-label`` on every body cell (its column header) and the class
  ``lsr-reflow``; the cells of a column headed "Source" or "Quote" get ``lsr-quote``; a table
  of six or more columns gets ``lsr-wide`` (nine or more also ``lsr-xwide``), and one whose last column is the quote gets
  ``lsr-quote-last`` with ``style="--lsr-cols: <other columns>"``.  ``_static/site.css`` uses
  them to put the quote on a line of its own under its row (wide tables) and to reflow
  tables into one card per row on phones.

thebe, copybutton, togglebutton and comments are not loaded at all: ``_config.yml`` lists
the Sphinx extensions explicitly (thebe is switched off, the hidden notebook inputs are
native ``<details>`` elements, code is selectable text).
"""
from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemBytecodeCache
from sphinx.jinja2glue import BuiltinTemplateLoader
from sphinx.util import logging

logger = logging.getLogger(__name__)

VEGA_BUNDLE = "vega/vega-bundle.js"
#: a chart placeholder as emitted by analysis.present.charts.render.mimebundle
CHART_DIV = re.compile(r"""<div\b[^>]*\bid=["']altair-viz-[0-9A-Za-z_-]+["']""")
SPHINX_DESIGN = re.compile(r"""class=["'][^"']*\bsd-""")
ON_DEMAND: dict[str, Any] = {
    # asset basename -> does this page body need it?
    "vega-bundle.js": lambda body: bool(CHART_DIV.search(body)),
    "sphinx-design.min.css": lambda body: bool(SPHINX_DESIGN.search(body)),
    "design-tabs.js": lambda body: bool(SPHINX_DESIGN.search(body)),
}
SEARCH_SCRIPTS = re.compile(
    r"""[ \t]*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>\n?""")
FA_SCRIPT = re.compile(
    r"""[ \t]*(?:<!-- So that users can add custom icons -->\s*)?<script defer src="[^"]*_static/scripts/fontawesome\.js(?:\?[^"]*)?"></script>\n?""")
ICON_TAG = re.compile(r"<(i|span)\b([^>]*)>\s*</\1>")  # the theme writes icons as <i> and <span>
ATTR = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
FA_STYLES = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far", "fa-brands": "fab",
             "fab": "fab", "fa-classic": "fas", "fa": "fas"}
FA_MODIFIERS = re.compile(r"^fa-(?:\d?x[sl]|xs|sm|lg|xl|\d+x|fw|spin|spin-pulse|spin-reverse|pulse|border|"
                          r"pull-left|pull-right|rotate-\d+|rotate-by|flip|flip-horizontal|flip-vertical|"
                          r"flip-both|inverse|stack|stack-1x|stack-2x|beat|beat-fade|bounce|fade|shake|li|ul|"
                          r"width-auto|classic|solid|regular|brands)$")
TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
QUOTE_HEADERS = {"source", "quote", "source quote", "quotes"}
WIDE_TABLE = 6  # columns from which a table is "wide" (class lsr-wide)
XWIDE_TABLE = 9  # ... and "extra wide" (class lsr-xwide: smaller type)


# --------------------------------------------------------------------------------------------
# Font Awesome icons as inline SVG
# --------------------------------------------------------------------------------------------

def fontawesome_js() -> Path:
    import pydata_sphinx_theme

    return Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / "scripts" / "fontawesome.js"


_FA_ENTRY = re.compile(r'(?:"([a-z0-9-]+)"|([a-z0-9_$]+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]+","([^"]+)"\]')
_FA_PACK = re.compile(r'\bd\("(fas|far|fab)",(\w+)\)')


@lru_cache(maxsize=1)
def icon_table() -> dict[tuple[str, str], tuple[int, int, str]]:
    """{(pack, name): (width, height, path)} for every icon in the theme's Font Awesome script.

    The script defines each pack as an object literal ``{name:[w,h,[aliases],"unicode","path"],…}``
    followed by the call registering it (``d("fas",p)``); an entry belongs to the next call.
    """
    text = fontawesome_js().read_text(encoding="utf-8")
    calls = [(m.start(), m.group(1)) for m in _FA_PACK.finditer(text)]
    table: dict[tuple[str, str], tuple[int, int, str]] = {}
    i = 0
    for m in _FA_ENTRY.finditer(text):
        while i < len(calls) and calls[i][0] < m.start():
            i += 1
        if i == len(calls):
            break
        icon = (int(m.group(3)), int(m.group(4)), m.group(6))
        table.setdefault((calls[i][1], m.group(1) or m.group(2)), icon)
        for alias in re.findall(r'"([a-z0-9-]+)"', m.group(5)):  # old names, e.g. "search"
            table.setdefault((calls[i][1], alias), icon)
    return table


def _attrs(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), html_lib.unescape(next((g for g in m.groups()[1:] if g is not None), "")))
            for m in ATTR.finditer(text)]


def icon_svg(attr_text: str) -> str | None:
    """The inline SVG for the attributes of an ``<i class="fa-…">`` element, or None if unknown."""
    attrs = _attrs(attr_text)
    classes = next((v for k, v in attrs if k.lower() == "class"), "").split()
    pack = next((FA_STYLES[c] for c in classes if c in FA_STYLES), "fas")
    names = [c[3:] for c in classes if c.startswith("fa-") and not FA_MODIFIERS.match(c)]
    table = icon_table()
    name = next((n for n in names if (pack, n) in table), None)
    if name is None:
        return None
    width, height, path = table[(pack, name)]
    kept = [c for c in classes if c not in FA_STYLES and c != f"fa-{name}"]
    out = [f'class="{html_lib.escape(" ".join(["svg-inline--fa", f"fa-{name}", *kept]))}"']
    title = next((v for k, v in attrs if k.lower() == "title"), "")
    for k, v in attrs:
        if k.lower() in ("class", "title", "aria-hidden", "role", "focusable", "viewbox", "xmlns") \
                or k.lower().startswith("on"):  # never carry an event handler over
            continue
        out.append(f'{html_lib.escape(k)}="{html_lib.escape(v)}"')
    if title:
        out.append(f'role="img" aria-label="{html_lib.escape(title)}"')
        title = f"<title>{html_lib.escape(title)}</title>"
    else:
        out.append('aria-hidden="true"')
    return (f'<svg {" ".join(out)} focusable="false" viewBox="0 0 {width} {height}">{title}'
            f'<path fill="currentColor" d="{html_lib.escape(path)}"></path></svg>')


def inline_icons(page: str, pagename: str) -> str:
    def swap(m: re.Match[str]) -> str:
        classes = next((v for k, v in _attrs(m.group(2)) if k.lower() == "class"), "").split()
        if not any(c in FA_STYLES or c.startswith("fa-") for c in classes):
            return m.group(0)
        svg = icon_svg(m.group(2))
        if svg is None:
            logger.warning("lean_pages: no Font Awesome icon for <%s%s> (not in %s)", m.group(1), m.group(2),
                           fontawesome_js().name, location=pagename)
            return m.group(0)
        return svg

    return ICON_TAG.sub(swap, page)


# --------------------------------------------------------------------------------------------
# Tables that reflow on phones
# --------------------------------------------------------------------------------------------

def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _add_class(attrs: str, cls: str) -> str:
    """An element's attribute text with ``cls`` added to its class attribute."""
    if re.search(r"""\bclass=["']""", attrs):
        return re.sub(r"""\bclass=(["'])""", lambda m: f"class={m.group(1)}{cls} ", attrs, count=1)
    return f'{attrs} class="{cls}"'


def label_table(table: str) -> str:
    """Give every body cell of a simple table the header of its column as ``data-label``.

    Tables with nested tables, row/column spans, no header row or ragged rows are left alone.
    """
    if table.count("<table") != 1 or re.search(r"\b(?:rowspan|colspan)=", table):
        return table
    head = re.search(r"<thead>(.*?)</thead>", table, re.S)
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S)
    if not head or not body:
        return table
    rows = re.findall(r"<tr\b[^>]*>(.*?)</tr>", head.group(1), re.S)
    if len(rows) != 1:
        return table
    labels = [_text(h) for h in re.findall(r"<th\b[^>]*>(.*?)</th>", rows[0], re.S)]
    if not labels:
        return table

    def row(m: re.Match[str]) -> str:
        cells = list(re.finditer(r"<td\b([^>]*)>", m.group(0)))
        if len(cells) != len(labels):
            raise ValueError("ragged")
        out, last = [], 0
        for cell, label in zip(cells, labels):
            attrs = cell.group(1)
            if label.lower() in QUOTE_HEADERS:
                attrs = _add_class(attrs, "lsr-quote")
            out.append(m.group(0)[last:cell.start()])
            out.append(f'<td{attrs} data-label="{html_lib.escape(label)}">')
            last = cell.end()
        out.append(m.group(0)[last:])
        # a line may break after "_" in long codes such as percent_not_reproducible
        return re.sub(r">([^<]*_[^<]*)<", lambda t: ">" + t.group(1).replace("_", "_<wbr>") + "<", "".join(out))

    try:
        new_body = re.sub(r"<tr\b[^>]*>.*?</tr>", row, body.group(1), flags=re.S)
    except ValueError:
        return table
    heads = list(re.finditer(r"<th\b([^>]*)>", head.group(1)))
    new_head, last = [], 0
    for cell, label in zip(heads, labels):
        new_head.append(head.group(1)[last:cell.start()])
        new_head.append(f"<th{_add_class(cell.group(1), 'lsr-quote')}>" if label.lower() in QUOTE_HEADERS
                        else cell.group(0))
        last = cell.end()
    new_head.append(head.group(1)[last:])
    table = (table[:head.start(1)] + "".join(new_head) + table[head.end(1):body.start(1)] + new_body
             + table[body.end(1):])
    classes = ["lsr-reflow"]
    style = ""
    if len(labels) >= WIDE_TABLE:
        classes.append("lsr-wide")
    if len(labels) >= XWIDE_TABLE:
        classes.append("lsr-xwide")
    if len(labels) > 1 and labels[-1].lower() in QUOTE_HEADERS:
        # the quote can go on a line of its own under its row (CSS grid of the other columns)
        classes.append("lsr-quote-last")
        style = f' style="--lsr-cols: {len(labels) - 1}"'
    opening = re.match(r"<table\b([^>]*)>", table)
    return f"<table{_add_class(opening.group(1), ' '.join(classes))}{style}>" + table[opening.end():]


# --------------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------------

def postprocess(page: str, pagename: str, search_as_you_type: bool = False) -> str:
    """Rewrite one rendered page (see the module docstring)."""
    page = FA_SCRIPT.sub("", page)
    if pagename != "search" and not search_as_you_type:
        page = SEARCH_SCRIPTS.sub("", page)
    page = inline_icons(page, pagename)
    return TABLE.sub(lambda m: label_table(m.group(0)), page)


class LeanTemplateLoader(BuiltinTemplateLoader):
    """Sphinx's template bridge with :func:`postprocess` applied to every rendered HTML page."""

    def init(self, builder, theme=None, dirs=None) -> None:
        super().init(builder, theme, dirs)
        # compiled templates kept between builds (keyed by Jinja on name and source checksum, and
        # on the Python version in its header): compiling them took 0.2 s of every build
        compiled = Path(builder.outdir).parent / TEMPLATE_CACHE
        compiled.mkdir(parents=True, exist_ok=True)
        self.environment.bytecode_cache = FileSystemBytecodeCache(str(compiled))
        self._search_as_you_type = bool(
            (builder.config.html_theme_options or {}).get("search_as_you_type", False))

    def render(self, template: str, context: dict) -> str:  # type: ignore[override]
        out = super().render(template, context)
        if template.endswith(".html") and "pagename" in context:
            out = postprocess(out, context["pagename"], self._search_as_you_type)
        return out


def _config_inited(app, config) -> None:
    if config.template_bridge and config.template_bridge != f"{__name__}.LeanTemplateLoader":
        logger.warning("lean_pages: template_bridge is already %r; pages are not post-processed",
                       config.template_bridge)
        return
    config.template_bridge = f"{__name__}.LeanTemplateLoader"


def _page_context(app, pagename, templatename, context, doctree) -> None:
    """Per page: drop on-demand assets the page does not use; the vega bundle, deferred, where it charts.

    Jupyter Book 1 lists every ``*.js``/``*.css`` under ``_static/`` in ``html_js_files`` /
    ``html_css_files`` itself, so without this every page would load the vega bundle."""
    body = context.get("body", "") or ""

    def name(asset) -> str:
        return Path(str(getattr(asset, "filename", asset) or "").split("?")[0]).name

    for key in ("script_files", "css_files"):
        files = context.get(key)
        if files:
            files[:] = [f for f in files if not (name(f) in ON_DEMAND and
                                                 (name(f) == "vega-bundle.js" or not ON_DEMAND[name(f)](body)))]
    if ON_DEMAND["vega-bundle.js"](body):
        # deferred: the text paints before 900 KB of JavaScript is parsed; the chart scripts wait
        # for the load event when window.vegaEmbed is not defined yet
        app.add_js_file(VEGA_BUNDLE, priority=800, defer="defer")


_CSS_MAP = re.compile(r"/\*[#@]\s*sourceMappingURL=[^*]*\*/\s*")
_JS_MAP = re.compile(r"^//[#@]\s*sourceMappingURL=.*$\n?", re.M)
_FA_SELECTOR = re.compile(r"^(?:\.(?:fa|fas|far|fab|fa-[a-z0-9-]+))+(?:::?(?:before|after))?$")


def strip_fontawesome_css(text: str) -> str:
    """The stylesheet without Font Awesome: its ``@font-face``/``@keyframes fa-*`` blocks and rules
    whose every selector is made of Font Awesome classes only (``.fa-bars:before``, ``.fa-lg``…).
    Rules that style icons in context (``.theme-switch .fa-lg``) and custom properties stay."""
    import tinycss2

    out = []
    for rule in tinycss2.parse_stylesheet(text, skip_comments=False, skip_whitespace=False):
        if rule.type == "at-rule":
            if rule.lower_at_keyword == "font-face" and "Font Awesome" in tinycss2.serialize(rule.content or []):
                continue
            if rule.lower_at_keyword == "keyframes" and tinycss2.serialize(rule.prelude).strip().startswith("fa-"):
                continue
        elif rule.type == "qualified-rule":
            selectors = [s.strip() for s in tinycss2.serialize(rule.prelude).split(",")]
            if all(_FA_SELECTOR.match(s) for s in selectors):
                continue
        elif rule.type == "comment" and "sourceMappingURL" in rule.value:
            continue
        out.append(rule)
    return tinycss2.serialize(out)


#: beside the output folder: the theme stylesheet without Font Awesome, kept between builds
CSS_CACHE = ".lean-pages-cache"
#: compiled page templates, beside the site (Jinja's bytecode cache)
TEMPLATE_CACHE = ".jinja-cache"


def stripped_css(text: str, cache: Path) -> str:
    """:func:`strip_fontawesome_css` of ``text``, kept in ``cache`` under a hash of the text and of
    this module's code (tinycss2 takes 0.4 s over the theme's 300 KB stylesheet on every build)."""
    import hashlib

    import tinycss2

    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape") + b"\0" + Path(__file__).read_bytes()
                            + b"\0" + tinycss2.__version__.encode()).hexdigest()
    entry = cache / f"{digest}.css"
    try:
        return entry.read_text(encoding="utf-8")
    except OSError:
        pass
    out = strip_fontawesome_css(text)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for old in cache.glob("*.css"):
            old.unlink(missing_ok=True)  # only the current entry is kept
        tmp = entry.with_name(f"{entry.name}.tmp")
        tmp.write_text(out, encoding="utf-8")
        tmp.replace(entry)
    except OSError:
        pass
    return out


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    static = out / "_static"
    pages = [p for p in out.rglob("*.html") if "_static" not in p.relative_to(out).parts]
    still = [p.relative_to(out).as_posix() for p in pages if "scripts/fontawesome.js" in p.read_text(encoding="utf-8")]
    if still:
        logger.warning("lean_pages: pages still load Font Awesome's script: %s", ", ".join(still))
        return
    theme_css = static / "styles" / "pydata-sphinx-theme.css"
    if theme_css.is_file():
        theme_css.write_text(stripped_css(theme_css.read_text(encoding="utf-8"), out.parent / CSS_CACHE), encoding="utf-8")
    for path in sorted(static.rglob("*.map")):
        path.unlink()
    for path in sorted([*static.rglob("*.js"), *static.rglob("*.css")]):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = _JS_MAP.sub("", text) if path.suffix == ".js" else _CSS_MAP.sub("", text)
        if new != text:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
    # Font Awesome's script and web fonts: nothing refers to them any more (its licence stays)
    (static / "scripts" / "fontawesome.js").unlink(missing_ok=True)
    fonts = static / "vendor" / "fontawesome"
    if fonts.is_dir():
        for path in sorted(fonts.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        fonts.rmdir()
        if not any((static / "vendor").iterdir()):
            (static / "vendor").rmdir()


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

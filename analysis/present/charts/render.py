"""Charts as offline HTML: a ``<div>`` and a script that calls the site's own vega bundle.

Nothing here changes global state on import.  :func:`display` shows a chart in a notebook
through :func:`mimebundle`; :func:`setup` (explicit, for interactive use) registers the same
output as an Altair renderer together with the theme.

The HTML contract the site relies on (page-weight script, browser test, ``tools/check_site.py``,
``_static/site.css``), all inside one ``<div class="lsr-chart">``:

* ``<div id="altair-viz-<32 hex>" class="review-chart" role="img" aria-label="…">`` followed by one
  inline ``<script>``: ``(function(){var id="altair-viz-…",spec=<JSON>,opt=<JSON>`` and a fixed
  body (:data:`EMBED_TAIL`, whose SHA-256 ``tools/check_site.py`` allows) that embeds the spec
  with ``window.vegaEmbed`` once the deferred bundle has loaded;
* ``<div class="chart-static">`` with the same chart as static SVG from the pinned
  ``vl-convert`` (shown where scripts do not run and in print), and ``<p class="chart-alt">``
  with the chart's text alternative (its description);
* the id is a SHA-256 of the spec, so re-executing a notebook reproduces it byte for byte
  whatever ran before in the kernel; the script finds its own ``<div>`` as its previous
  element sibling, so two identical charts on a page still render;
* the vega bundle ``_static/vega/vega-bundle.js`` is loaded by the page (never by the chart);
  set ``REVIEW_EMBED_VEGA=1`` (``make lab``) to carry the bundle inside each output for
  JupyterLab, which does not load the book's ``_static/``.
"""
from __future__ import annotations

import hashlib
import html as _html
import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import fonts
from .theme import FONT, theme

#: Name under which :func:`setup` registers the offline renderer with ``alt.renderers``.
RENDERER_NAME = "lsr-offline"
#: Name under which :func:`setup` registers the theme with ``alt.theme``.
THEME_NAME = "lsr"
#: Path of the shared Vega bundle relative to the book's ``_static`` folder.
BUNDLE_STATIC_PATH = "vega/vega-bundle.js"
#: Absolute path of the vendored bundle in this repository.
BUNDLE_FILE = Path(__file__).resolve().parents[3] / "_static" / BUNDLE_STATIC_PATH
#: set to "1" (``make lab`` does) to carry the vega bundle inside each chart's output
EMBED_ENV = "REVIEW_EMBED_VEGA"

#: the embedding script's fixed body, after ``(function(){var id="…",spec=<JSON>,opt=<JSON>``;
#: tools/check_site.py allows exactly this text (by SHA-256): change both together
EMBED_TAIL = (
    ';var s=document.currentScript,el=s&&s.previousElementSibling;'
    'if(!el||el.id!==id)el=document.getElementById(id);'
    'function show(){if(!el)return;'
    'if(typeof window.vegaEmbed!=="function"){'
    'el.textContent="[Chart not rendered: the offline Vega bundle (_static/vega/vega-bundle.js) is not loaded.]";return;}'
    'window.vegaEmbed(el,spec,opt).catch(function(e){el.textContent="[Chart error: "+e+"]";});}'
    'if(typeof window.vegaEmbed==="function"||document.readyState==="complete"){show();}'
    'else{window.addEventListener("load",show);}'
    "})();"
)


def json_for_script(obj: Any) -> str:
    """JSON that is safe to inline in a ``<script>`` element (no ``</script>``, no HTML)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def describe(spec: Mapping[str, Any]) -> str:
    """Short deterministic plain-text description of a Vega-Lite spec (its text alternative)."""
    text = spec.get("description")
    if not text:
        title = spec.get("title")
        if isinstance(title, Mapping):
            title = title.get("text")
        if isinstance(title, list):
            title = " ".join(map(str, title))
        text = title or "untitled chart"
    return f"<Chart: {text}>"


@lru_cache(maxsize=1)
def _bundle_text() -> str:
    return BUNDLE_FILE.read_text(encoding="utf-8").replace("</script", "<\\/script")


def spec_of(chart: Any) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart under the book's theme.

    The theme is registered under :data:`THEME_NAME` (a name in Altair's registry) and enabled
    only while the spec is written, so the globally active theme is left as it was.  The spec is
    not validated against the Vega-Lite schema here (a tenth of a second per chart, the same
    dict either way): ``tests/test_book_charts.py`` validates every spec the book stores, and
    the chart tests validate each builder's output.
    """
    from ._altair import alt

    if THEME_NAME not in alt.theme.names():
        alt.theme.register(THEME_NAME, enable=False)(theme)
    with alt.theme.enable(THEME_NAME):
        return chart.to_dict(validate=False)


def mimebundle(chart_or_spec: Any, embed_options: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Offline MIME bundle of a chart: ``text/html`` (div + embedding script) and ``text/plain``.

    Parameters
    ----------
    chart_or_spec : altair.TopLevelMixin or dict
        A chart (written with the book's theme, :func:`spec_of`), or a Vega-Lite spec with data
        inlined as ``datasets``.
    embed_options : mapping, optional
        Extra vega-embed options; defaults are ``actions=False``, ``renderer="svg"``,
        ``mode="vega-lite"``.

    Notes
    -----
    The ``$schema`` URL is dropped (it is only a version hint and would be the page's only
    URL) and the mode is passed explicitly.  Altair's Vega-Lite MIME type is deliberately not
    included: JupyterLab 4.6 renders Vega-Lite only up to v5, and nbformat's schema rejects a
    JSON object under that MIME type, which breaks notebook execution in myst-nb.
    """
    spec = dict(chart_or_spec) if isinstance(chart_or_spec, Mapping) else spec_of(chart_or_spec)
    spec = {k: v for k, v in spec.items() if k != "$schema"}
    opts: dict[str, Any] = {"actions": False, "renderer": "svg", "mode": "vega-lite"}
    opts.update(embed_options or {})
    spec_json = json_for_script(spec)
    div_id = "altair-viz-" + hashlib.sha256(spec_json.encode()).hexdigest()[:32]
    script = f'(function(){{var id="{div_id}",spec={spec_json},opt={json_for_script(opts)}' + EMBED_TAIL
    alt_text = _html.escape(_alternative(spec), quote=True)
    html = (f'<div class="lsr-chart">\n<div id="{div_id}" class="review-chart" role="img" aria-label="{alt_text}"></div>\n'
            f'<script type="text/javascript">{script}</script>\n'
            f'<div class="chart-static" aria-hidden="true">{static_svg(spec)}</div>\n'
            f'<p class="chart-alt">{alt_text}</p>\n</div>')
    if os.environ.get(EMBED_ENV) == "1":
        html = f'<script type="text/javascript">{_bundle_text()}</script>\n{html}'
    return {"text/html": html, "text/plain": describe(spec)}


def _alternative(spec: Mapping[str, Any]) -> str:
    """The chart's text alternative: its title and the one-sentence description it was built with."""
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    desc = spec.get("description") or ""
    return ". ".join(x for x in (str(title).strip() if title else "", str(desc).strip()) if x) or "Chart"


def static_svg(spec: Mapping[str, Any]) -> str:
    """The chart as static SVG (pinned vl-convert), for readers without scripts and for print.

    The SVG is rendered from the same spec (its parameters at their initial values); vl-convert
    writes text as escaped SVG text, and the XML prolog is dropped so it can sit inside HTML.
    Text is measured with :data:`analysis.present.charts.fonts.FAMILY` in place of the theme's
    font list, so the SVG is the same whatever fonts the machine has, and the SVG names the
    theme's font list again (:mod:`analysis.present.charts.fonts`).  Clip-path ids are
    renumbered by :func:`_renumber_clips`.
    """
    import vl_convert as vlc

    family = fonts.register()
    svg = vlc.vegalite_to_svg(_swap_font(spec, FONT, family))
    svg = svg.replace(f'font-family="{family}"', f'font-family="{_html.escape(FONT)}"')
    return _renumber_clips(svg[svg.index("<svg"):] if "<svg" in svg else svg)


def _swap_font(obj: Any, old: str, new: str) -> Any:
    """A copy of a spec whose font properties (``font``, ``labelFont``, ``titleFont``, ...) equal
    to ``old`` (a font list) are ``new``; data values are left as they are, whatever they say."""
    if isinstance(obj, Mapping):
        return {k: new if (k == "font" or str(k).endswith("Font")) and v == old else _swap_font(v, old, new)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_swap_font(v, old, new) for v in obj]
    return obj


#: the next clip-path id of the notebook being executed (see :func:`_renumber_clips`)
_NEXT_CLIP = [1]
_CLIP = re.compile(r'(id="clip|url\(#clip)(\d+)')


def reset_clip_ids() -> None:
    """Start clip-path ids at 1 again: called before each notebook by a warm kernel
    (:func:`analysis.kernel_state.reset`), as a fresh kernel starts at 1."""
    _NEXT_CLIP[0] = 1


def _renumber_clips(svg: str) -> str:
    """Clip-path ids numbered 1, 2, ... through the notebook, in order of first appearance.

    Vega numbers clip paths with a counter that lives as long as vl-convert's JavaScript
    runtime, i.e. the process: in a fresh kernel a notebook's charts get ``clip1``, ``clip2``,
    ... (unique on the page); in a kernel that executed another notebook before, the counter
    goes on from there.  Renumbering by a counter of our own, which :func:`reset_clip_ids` puts
    back to 1 before each notebook, gives exactly the fresh kernel's ids whatever ran before.
    """
    mapping: dict[str, int] = {}

    def sub(m: re.Match[str]) -> str:
        if m.group(2) not in mapping:
            mapping[m.group(2)] = _NEXT_CLIP[0]
            _NEXT_CLIP[0] += 1
        return f"{m.group(1)}{mapping[m.group(2)]}"

    return _CLIP.sub(sub, svg)


class Offline:
    """A chart that displays through :func:`mimebundle` in IPython (no global renderer needed)."""

    def __init__(self, chart: Any):
        self.chart = chart

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return mimebundle(self.chart)


def display(chart: Any) -> None:
    """Display a chart in a notebook as offline HTML (see the module docstring)."""
    from IPython.display import display as _display

    _display(Offline(chart))


def setup(renderer: str = RENDERER_NAME, **renderer_options: Any) -> None:
    """Register the theme and the offline renderer with Altair and enable both (idempotent).

    Only for interactive use (e.g. ``make lab``): the book never relies on Altair's global
    renderer, it displays charts with :func:`display`.  Pass ``renderer="default"`` to go back
    to Altair's own renderer.
    """
    from ._altair import alt

    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, lambda spec, embed_options=None, **_: mimebundle(spec, embed_options))
    alt.renderers.enable(renderer, **renderer_options)
    alt.theme.register(THEME_NAME, enable=True)(theme)

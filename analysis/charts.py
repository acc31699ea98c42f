"""Charts for the living systematic review, rendered offline.

Importing this module registers and enables

* the Altair renderer ``"lsr-offline"`` (see :func:`offline_renderer`), which
  emits a ``<div>`` plus an inline ``<script>`` calling ``vegaEmbed`` from the
  shared bundle ``_static/vega/vega-bundle.js`` (loaded on every page of the
  book), so charts render without network access; and
* the Altair theme ``"lsr"`` (see :func:`theme`): system sans-serif fonts, print
  friendly sizes and the colour-blind-safe Okabe-Ito palette.

:func:`setup` does the same explicitly and can be called again to change the
renderer options.  The chart builders (:func:`forest`, :func:`km`,
:func:`outcome_bars`) take :class:`polars.DataFrame` inputs and return Altair
charts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from functools import lru_cache
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import polars as pl

__all__ = [
    "BUNDLE_FILE",
    "BUNDLE_STATIC_PATH",
    "PALETTE",
    "RENDERER_NAME",
    "THEME_NAME",
    "forest",
    "km",
    "offline_renderer",
    "outcome_bars",
    "setup",
    "theme",
]

#: Name under which the offline renderer is registered with ``alt.renderers``.
RENDERER_NAME = "lsr-offline"
#: Name under which the theme is registered with ``alt.theme``.
THEME_NAME = "lsr"
#: Path of the shared Vega bundle relative to the book's ``_static`` folder.
BUNDLE_STATIC_PATH = "vega/vega-bundle.js"
#: Absolute path of the vendored bundle in this repository.
BUNDLE_FILE = Path(__file__).resolve().parents[1] / "_static" / BUNDLE_STATIC_PATH

#: Okabe & Ito (2008) colour-blind-safe palette, ordered for contrast on white
#: paper (yellow #F0E442 is left out: it vanishes in print).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
)
INK = "#222222"
MUTED = "#666666"
FONT = "Helvetica Neue, Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif"
ROW_HEIGHT = 22

# --------------------------------------------------------------------------------------
# Theme
# --------------------------------------------------------------------------------------


def theme() -> dict[str, Any]:
    """Return the Vega-Lite config of the book's theme (registered as ``"lsr"``).

    Returns
    -------
    dict
        ``{"config": {...}}`` suitable for ``alt.theme.register``.
    """
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 6,
            "view": {"stroke": None, "continuousWidth": 460, "continuousHeight": 280},
            "title": {
                "fontSize": 15,
                "fontWeight": "bold",
                "anchor": "start",
                "color": INK,
                "subtitleFontSize": 12,
                "subtitleColor": MUTED,
                "subtitleFontStyle": "italic",
                "offset": 10,
            },
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "labelColor": INK,
                "titleColor": INK,
                "domainColor": "#444444",
                "tickColor": "#444444",
                "gridColor": "#E3E3E3",
                "gridWidth": 0.8,
                "labelOverlap": True,
            },
            "legend": {
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "labelColor": INK,
                "titleColor": INK,
                "symbolStrokeWidth": 2,
            },
            "header": {"labelFontSize": 12, "titleFontSize": 12},
            "text": {"fontSize": 12, "color": INK},
            "range": {"category": list(PALETTE)},
            "line": {"strokeWidth": 2},
            "point": {"size": 50, "filled": True},
            "rule": {"color": INK},
            "concat": {"spacing": 8},
        }
    }


# --------------------------------------------------------------------------------------
# Offline renderer
# --------------------------------------------------------------------------------------

_ids = itertools.count()

_EMBED_JS = (
    "(function(){{"
    'var id="{id}",spec={spec},opt={opt};'
    "function show(){{var el=document.getElementById(id);if(!el)return;"
    'if(typeof window.vegaEmbed!=="function"){{'
    'el.textContent="[Chart not rendered: the offline Vega bundle (_static/{bundle}) is not loaded. '
    'In a live JupyterLab session call analysis.charts.setup(\'default\').]";return;}}'
    'window.vegaEmbed("#"+id,spec,opt).catch(function(e){{el.textContent="[Chart error: "+e+"]";}});}}'
    'if(typeof window.vegaEmbed==="function"||document.readyState==="complete"){{show();}}'
    'else{{window.addEventListener("load",show);}}'
    "}})();"
)


def _json_for_script(obj: Any) -> str:
    """JSON that is safe to inline in a ``<script>`` element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _describe(spec: Mapping[str, Any]) -> str:
    """Short deterministic plain-text description of a Vega-Lite spec."""
    text = spec.get("description")
    if not text:
        title = spec.get("title")
        if isinstance(title, Mapping):
            title = title.get("text")
        if isinstance(title, list):
            title = " ".join(map(str, title))
        text = title or "untitled chart"
    return f"<Chart: {text}>"


def offline_renderer(
    spec: dict[str, Any],
    embed_options: Mapping[str, Any] | None = None,
    **_metadata: Any,
) -> dict[str, Any]:
    """Altair renderer producing self-contained HTML that needs no network.

    The HTML is ``<div id="altair-viz-<32 hex>"></div><script>…</script>``; the
    script calls ``window.vegaEmbed`` (defined by the shared bundle that the book
    loads on every page) with the spec inlined.  Neither the bundle nor any URL
    is embedded (the ``$schema`` URL is dropped; ``mode="vega-lite"`` is explicit).  The id is a SHA-256 of the
    spec and a per-kernel counter, so re-executing a notebook reproduces the same
    ids while identical charts on one page still get distinct ids.

    Parameters
    ----------
    spec : dict
        Vega-Lite spec (``chart.to_dict()``), data inlined as ``datasets``.
    embed_options : mapping, optional
        Extra vega-embed options; defaults are ``actions=False``,
        ``renderer="svg"``, ``mode="vega-lite"``.

    Returns
    -------
    dict
        MIME bundle with ``text/html`` and ``text/plain`` only.

    Notes
    -----
    Altair's Vega-Lite MIME type (``application/vnd.vegalite.v6.json``) is
    deliberately not included: JupyterLab 4.6 renders Vega-Lite only up to v5,
    and nbformat's schema rejects a JSON object under that MIME type (it does
    not end in ``+json``), which breaks notebook execution in myst-nb.
    """
    opts: dict[str, Any] = {"actions": False, "renderer": "svg", "mode": "vega-lite"}
    opts.update(embed_options or {})
    # "$schema" is only a version hint for vega-embed (never fetched); dropping it keeps
    # the HTML free of any URL.  The mode is passed explicitly instead.
    spec_json = _json_for_script({k: v for k, v in spec.items() if k != "$schema"})
    digest = hashlib.sha256(f"{next(_ids)}\n{spec_json}".encode()).hexdigest()[:32]
    div_id = f"altair-viz-{digest}"
    script = _EMBED_JS.format(
        id=div_id, spec=spec_json, opt=_json_for_script(opts), bundle=BUNDLE_STATIC_PATH
    )
    html = f'<div id="{div_id}"></div>\n<script type="text/javascript">{script}</script>'
    if os.environ.get(EMBED_ENV) == "1":
        # JupyterLab does not load the book's _static/ bundle: carry it in the output
        html = f'<script type="text/javascript">{_bundle_text()}</script>\n{html}'
    bundle: dict[str, Any] = {
        "text/html": html,
        "text/plain": _describe(spec),
    }
    return bundle


#: set to "1" (``make lab`` does) to carry the vega bundle inside each chart's output, so charts
#: render in JupyterLab, which does not load the book's ``_static/``; never set for the book build.
EMBED_ENV = "REVIEW_EMBED_VEGA"


@lru_cache(maxsize=1)
def _bundle_text() -> str:
    return BUNDLE_FILE.read_text(encoding="utf-8").replace("</script", "<\\/script")


def setup(renderer: str = RENDERER_NAME, **renderer_options: Any) -> None:
    """Register the theme and the offline renderer and enable both (idempotent).

    Called at import time with the defaults.

    Parameters
    ----------
    renderer : str, default ``"lsr-offline"``
        Renderer to enable; pass e.g. ``"default"`` to go back to Altair's CDN
        renderer in a live JupyterLab session.
    **renderer_options
        Passed to the renderer (e.g. ``embed_options={...}``).
    """
    if RENDERER_NAME not in alt.renderers.names():
        alt.renderers.register(RENDERER_NAME, offline_renderer)
    alt.renderers.enable(renderer, **renderer_options)
    alt.theme.register(THEME_NAME, enable=True)(theme)


setup()

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


#: decimals kept in chart data: charts print at most 3 significant digits, and rounding keeps the
#: stored notebook outputs (compared by nbval) independent of last-bit floating-point differences
CHART_DECIMALS = 6


def _to_pandas(df: pl.DataFrame | pd.DataFrame) -> pd.DataFrame:
    if isinstance(df, pl.DataFrame):
        return df.with_columns(pl.col(pl.Float32, pl.Float64).round(CHART_DECIMALS)).to_pandas()
    if isinstance(df, pd.DataFrame):
        out = df.copy()
        floats = out.select_dtypes("float").columns
        out[floats] = out[floats].round(CHART_DECIMALS)
        return out
    raise TypeError(f"expected a polars DataFrame, got {type(df).__name__}")


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; has {list(df.columns)}")


def _fmt(x: float | None, percent: bool, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if percent:
        return f"{100 * x:.{digits}f}%"
    return f"{x:.{digits}f}"


def _est_text(est: float | None, lo: float | None, hi: float | None, percent: bool, digits: int) -> str:
    if lo is None or hi is None or any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
        return _fmt(est, percent, digits)
    return f"{_fmt(est, percent, digits)} [{_fmt(lo, percent, digits)}, {_fmt(hi, percent, digits)}]"


def _title(title: str | None, subtitle: str | None) -> alt.TitleParams | str | None:
    if title is None and subtitle is None:
        return None
    if subtitle is None:
        return title
    return alt.TitleParams(text=title or "", subtitle=subtitle)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else round(f, CHART_DECIMALS)


def _pooled_rows(pooled: Any, estimate: str, lower: str, upper: str) -> list[dict[str, Any]]:
    """Normalise ``pooled`` (dict, list of dicts, or DataFrame) into a list of dicts."""
    if pooled is None:
        return []
    if isinstance(pooled, (pl.DataFrame, pd.DataFrame)):
        rows = _to_pandas(pooled).to_dict("records")
    elif isinstance(pooled, Mapping):
        rows = [dict(pooled)]
    else:
        rows = [dict(r) for r in pooled]
    out = []
    for r in rows:

        def pick(*keys: str, r: Mapping[str, Any] = r) -> Any:
            for k in keys:
                if k in r and r[k] is not None:
                    return r[k]
            return None

        est = _num(pick(estimate, "estimate"))
        if est is None:
            raise ValueError(f"pooled row without an estimate: {r}")
        out.append(
            {
                "estimate": est,
                "ci_lower": _num(pick(lower, "ci_lower")),
                "ci_upper": _num(pick(upper, "ci_upper")),
                "pi_lower": _num(pick("pi_lower")),
                "pi_upper": _num(pick("pi_upper")),
                "label": pick("label"),
                "group": pick("group"),
                "note": pick("note"),
            }
        )
    return out


# --------------------------------------------------------------------------------------
# Forest plot
# --------------------------------------------------------------------------------------


def forest(
    df: pl.DataFrame,
    estimate: str = "estimate",
    lower: str = "ci_lower",
    upper: str = "ci_upper",
    label: str = "label",
    weight: str | None = None,
    group: str | None = None,
    pooled: Mapping[str, Any] | pl.DataFrame | None = None,
    xscale: str = "linear",
    xtitle: str | None = None,
    reference_line: float | None = None,
    percent: bool = False,
    title: str | None = None,
    subtitle: str | None = None,
    xdomain: tuple[float, float] | None = None,
    digits: int | None = None,
    width: int = 240,
    label_width: int | None = None,
    label_title: str = "Study",
    estimate_title: str = "Estimate [95% CI]",
) -> alt.HConcatChart:
    """Meta-analysis forest plot.

    One row per study: a square (area proportional to ``weight`` if given) and
    its confidence interval, the study label on the left and
    ``"est [lo, hi]"`` (plus the weight, if given) on the right.  The pooled
    estimate is drawn as a diamond spanning its CI, the prediction interval as a
    line on its own row below.  With ``group``, studies are listed under bold
    subgroup headers (in order of first appearance) and pooled rows carrying a
    matching ``group`` are drawn as subgroup diamonds.

    Parameters
    ----------
    df : polars.DataFrame
        One row per study with columns ``label``, ``estimate``, ``lower``,
        ``upper`` and optionally ``weight`` (any positive scale; shown as % of the
        total) and ``group``.  Rows are drawn in the given order.
    estimate, lower, upper, label, weight, group : str
        Column names.
    pooled : dict, list of dicts or polars.DataFrame, optional
        Pooled estimate(s) with keys ``estimate``, ``ci_lower``, ``ci_upper`` and
        optionally ``pi_lower``, ``pi_upper`` (prediction interval), ``label``
        (default "Pooled estimate"), ``note`` (e.g. "I² = 42%", shown under the
        label) and ``group`` (a subgroup total drawn after that subgroup; rows
        without ``group`` are overall totals drawn at the bottom).
    xscale : {"linear", "log"}
        Use "log" for ratios (HR, OR, RR).
    xtitle : str, optional
        Axis title.
    reference_line : float, optional
        x position of a dashed vertical reference line (e.g. 1 for ratios, or a
        benchmark proportion).
    percent : bool, default False
        Estimates are proportions in [0, 1]; show them as percentages.  The x
        domain defaults to [0, 1].
    title, subtitle : str, optional
        Chart title and subtitle.
    xdomain : (float, float), optional
        x-axis domain; marks outside it are clipped.
    digits : int, optional
        Decimals in the estimate column (default 0 for percent, else 2).
    width : int
        Width of the plotting panel in pixels (the whole chart is about
        ``width + label column + 200`` px; the book's text column is ~700 px).
    label_width : int, optional
        Width of the label column; longer labels are truncated with an ellipsis
        (full text in the tooltip).  Default: fitted to the labels, 120–220 px.
    label_title, estimate_title : str
        Column headers.

    Returns
    -------
    altair.HConcatChart
    """
    if xscale not in ("linear", "log"):
        raise ValueError("xscale must be 'linear' or 'log'")
    d = _to_pandas(df)
    _require(d, [estimate, lower, upper, label, weight, group], "forest()")
    digits = (0 if percent else 2) if digits is None else digits
    pooled_rows = _pooled_rows(pooled, estimate, lower, upper)
    total_w = float(d[weight].fillna(0).sum()) if weight else 0.0
    if weight and not total_w > 0:
        weight = None  # weight column present but empty (e.g. no model fitted): unweighted plot

    rows: list[dict[str, Any]] = []
    diamonds: list[dict[str, Any]] = []

    def add_study(r: Mapping[str, Any]) -> None:
        est, lo, hi = _num(r[estimate]), _num(r[lower]), _num(r[upper])
        w = _num(r[weight]) if weight else None
        rows.append(
            {
                "kind": "study",
                "label": str(r[label]),
                "estimate": est,
                "lower": lo,
                "upper": hi,
                "weight": ((w or 0.0) / total_w) if total_w > 0 else None,
                "text": _est_text(est, lo, hi, percent, digits),
                "wtext": f"{100 * w / total_w:.1f}%" if (w is not None and total_w > 0) else "",
            }
        )

    def add_pooled(p: Mapping[str, Any], default_label: str) -> None:
        row = len(rows)
        rows.append(
            {
                "kind": "pooled",
                "label": p["label"] or default_label,
                "estimate": p["estimate"],
                "lower": p["ci_lower"],
                "upper": p["ci_upper"],
                "weight": None,
                "text": _est_text(p["estimate"], p["ci_lower"], p["ci_upper"], percent, digits),
                "wtext": "100%" if (weight and not p["group"]) else "",
            }
        )
        lo = p["ci_lower"] if p["ci_lower"] is not None else p["estimate"]
        hi = p["ci_upper"] if p["ci_upper"] is not None else p["estimate"]
        for x, half in ((lo, 0.0), (p["estimate"], 0.38), (hi, 0.0)):
            diamonds.append({"row": row, "x": x, "y": row - half, "y2": row + half})
        if p["pi_lower"] is not None and p["pi_upper"] is not None:
            rows.append(
                {
                    "kind": "pi",
                    "label": "95% prediction interval",
                    "estimate": None,
                    "lower": p["pi_lower"],
                    "upper": p["pi_upper"],
                    "weight": None,
                    "text": f"[{_fmt(p['pi_lower'], percent, digits)}, {_fmt(p['pi_upper'], percent, digits)}]",
                    "wtext": "",
                }
            )
        if p["note"]:
            rows.append({"kind": "note", "label": str(p["note"]), "estimate": None, "lower": None,
                         "upper": None, "weight": None, "text": "", "wtext": ""})

    records = d.to_dict("records")
    if group:
        groups = list(dict.fromkeys(str(g) for g in d[group]))
        for g in groups:
            rows.append({"kind": "header", "label": g, "estimate": None, "lower": None, "upper": None,
                         "weight": None, "text": "", "wtext": ""})
            for r in records:
                if str(r[group]) == g:
                    add_study(r)
            for p in pooled_rows:
                if p["group"] is not None and str(p["group"]) == g:
                    add_pooled(p, f"Subtotal: {g}")
    else:
        for r in records:
            add_study(r)
    overall = [p for p in pooled_rows if p["group"] is None or (group and str(p["group"]) not in groups)]
    if overall:
        rows.append({"kind": "spacer", "label": "", "estimate": None, "lower": None, "upper": None,
                     "weight": None, "text": "", "wtext": ""})
        for p in overall:
            add_pooled(p, "Pooled estimate")

    for i, r in enumerate(rows):
        r["row"] = i
    data = pd.DataFrame(rows)
    n = len(rows)
    height = ROW_HEIGHT * max(n, 1)
    y = alt.Y("row:Q", axis=None, scale=alt.Scale(domain=[-0.6, n - 0.4], reverse=True, nice=False, zero=False))

    if xdomain is None and percent:
        xdomain = (0.0, 1.0)
    scale_kw: dict[str, Any] = {"type": xscale} if xscale == "log" else {"type": xscale, "zero": False}
    if xdomain is not None:
        scale_kw.update(domain=list(xdomain), nice=False, clamp=False)
    axis_kw: dict[str, Any] = {"grid": False, "title": xtitle or ("Proportion" if percent else "Estimate"),
                               "tickCount": 5}
    if percent:
        axis_kw["format"] = ".0%"
    x_scale = alt.Scale(**scale_kw)
    clip = xdomain is not None

    base = alt.Chart(data).encode(y=y)
    layers: list[alt.Chart] = []
    if reference_line is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"ref": [reference_line]}))
            .mark_rule(color=MUTED, strokeDash=[4, 3], strokeWidth=1)
            .encode(x=alt.X("ref:Q", scale=x_scale, axis=alt.Axis(**axis_kw)))
        )
    studies = base.transform_filter(alt.datum.kind == "study")
    layers.append(
        studies.mark_rule(strokeWidth=1.5, clip=clip).encode(
            x=alt.X("lower:Q", scale=x_scale, axis=alt.Axis(**axis_kw)), x2="upper:Q"
        )
    )
    tooltip = [
        alt.Tooltip("label:N", title="Study"),
        alt.Tooltip("text:N", title=estimate_title),
    ]
    if weight:
        tooltip.append(alt.Tooltip("wtext:N", title="Weight"))
    square = studies.mark_square(color=PALETTE[0], opacity=1).encode(
        x=alt.X("estimate:Q", scale=x_scale), tooltip=tooltip
    )
    if weight:
        square = square.encode(
            size=alt.Size("weight:Q", scale=alt.Scale(range=[20, 260], zero=True), legend=None)
        )
    else:
        square = square.encode(size=alt.value(70))
    layers.append(square)
    if any(r["kind"] == "pi" for r in rows):
        layers.append(
            base.transform_filter(alt.datum.kind == "pi")
            .mark_rule(strokeWidth=2, color=PALETTE[1], clip=clip)
            .encode(x=alt.X("lower:Q", scale=x_scale), x2="upper:Q",
                    tooltip=[alt.Tooltip("label:N", title=""), alt.Tooltip("text:N", title="Interval")])
        )
    if diamonds:
        layers.append(
            alt.Chart(pd.DataFrame(diamonds))
            .mark_area(color=INK, opacity=1, line=False, clip=clip, orient="vertical")
            .encode(
                x=alt.X("x:Q", scale=x_scale),
                y=alt.Y("y:Q", scale=alt.Scale(domain=[-0.6, n - 0.4], reverse=True, nice=False, zero=False),
                        axis=None),
                y2="y2:Q",
                detail="row:N",
            )
        )
    plot = alt.layer(*layers).properties(width=width, height=height, title=alt.TitleParams(
        text=" ", fontSize=12))

    def text_col(field: str, kinds: Sequence[str], col_title: str, w: int, **mark: Any) -> alt.Chart:
        return (
            base.transform_filter(alt.FieldOneOfPredicate(field="kind", oneOf=list(kinds)))
            .mark_text(**{"align": "left", "baseline": "middle", "limit": w, **mark})
            .encode(x=alt.value(0), text=f"{field}:N", tooltip=alt.Tooltip(f"{field}:N", title=None))
            .properties(width=w, height=height)
        )

    def header(col_title: str) -> alt.TitleParams:
        return alt.TitleParams(text=col_title, fontSize=12, fontWeight="bold", anchor="start", color=INK)

    label_w = label_width or max(120, min(220, 7 * max((len(r["label"]) for r in rows), default=10) + 14))
    left = alt.layer(
        text_col("label", ["study"], label_title, label_w, dx=10),
        text_col("label", ["header", "pooled"], label_title, label_w, fontWeight="bold"),
        text_col("label", ["pi", "note"], label_title, label_w, fontStyle="italic", color=MUTED, dx=10),
    ).properties(title=header(label_title))
    est_w = 140 if not percent else 115
    right = alt.layer(
        text_col("text", ["study", "pi"], estimate_title, est_w),
        text_col("text", ["pooled"], estimate_title, est_w, fontWeight="bold"),
    ).properties(title=header(estimate_title))
    panels: list[Any] = [left, plot, right]
    if weight:
        panels.append(text_col("wtext", ["study", "pooled"], "Weight", 50)
                      .properties(title=header("Weight")))

    n_studies = sum(r["kind"] == "study" for r in rows)
    desc = f"Forest plot of {n_studies} studies"
    if xtitle:
        desc += f" ({xtitle})"
    for p in pooled_rows:
        desc += f"; {p['label'] or ('Subtotal ' + str(p['group']) if p['group'] else 'pooled')}: " + _est_text(
            p["estimate"], p["ci_lower"], p["ci_upper"], percent, digits)
    chart = alt.hconcat(*panels, spacing=6).resolve_scale(y="shared").properties(description=desc)
    t = _title(title, subtitle)
    if t is not None:
        chart = chart.properties(title=t)
    return chart


# --------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------


def km(
    curves: pl.DataFrame,
    at_risk: pl.DataFrame | None = None,
    censors: pl.DataFrame | None = None,
    color: str | None = "arm",
    title: str | None = None,
    subtitle: str | None = None,
    time_unit: str = "months",
    xtitle: str | None = None,
    ytitle: str = "Survival probability",
    x_max: float | None = None,
    x_tick: float | None = None,
    width: int = 460,
    height: int = 280,
) -> alt.VConcatChart | alt.LayerChart:
    """Kaplan-Meier curves with CI bands, censor ticks and a numbers-at-risk table.

    Parameters
    ----------
    curves : polars.DataFrame
        Step-function points with columns ``time``, ``survival`` (0–1),
        optionally ``ci_lower`` and ``ci_upper`` (drawn as a band when present and
        not all null), and the ``color`` column naming the arm / curve.  Each
        curve should start at (0, 1).
    at_risk : polars.DataFrame, optional
        Columns ``time``, ``n_at_risk`` and ``color``; drawn as a table below
        the plot on the same x scale.
    censors : polars.DataFrame, optional
        Columns ``time``, ``survival`` and ``color``; drawn as vertical ticks.
    color : str or None, default "arm"
        Column distinguishing curves; ``None`` (or absent from ``curves``) for a
        single curve.
    title, subtitle : str, optional
        Title and subtitle, e.g. subtitle="Reconstructed from published curve".
    time_unit : str
        Unit shown in the default x-axis title ``"Time (<unit>)"``.
    xtitle, ytitle : str
        Axis titles.
    x_max : float, optional
        Right end of the time axis (default: largest time in the inputs).
    x_tick : float, optional
        Spacing of x-axis ticks and of the at-risk columns' grid.
    width, height : int
        Size of the plot panel in pixels.

    Returns
    -------
    altair.VConcatChart or altair.LayerChart
        A vconcat of the plot and the at-risk table, or the plot alone.
    """
    c = _to_pandas(curves)
    _require(c, ["time", "survival"], "km() curves")
    single = color is None or color not in c.columns
    series = "_series" if single else color
    if single:
        c[series] = "All patients"
    ar = _to_pandas(at_risk) if at_risk is not None else None
    ce = _to_pandas(censors) if censors is not None else None
    if ar is not None:
        _require(ar, ["time", "n_at_risk"], "km() at_risk")
        if single:
            ar[series] = "All patients"
        else:
            _require(ar, [series], "km() at_risk")
    if ce is not None:
        _require(ce, ["time", "survival"], "km() censors")
        if single:
            ce[series] = "All patients"
        else:
            _require(ce, [series], "km() censors")

    domain_order = [str(s) for s in dict.fromkeys(c[series].astype(str))]
    for frame in (c, ar, ce):
        if frame is not None:
            frame[series] = frame[series].astype(str)
    if x_max is None:
        x_max = max(float(f["time"].max()) for f in (c, ar, ce) if f is not None and len(f))
    xs = alt.Scale(domain=[0, x_max], nice=False, zero=True)
    axis_kw: dict[str, Any] = {"title": xtitle or f"Time ({time_unit})", "grid": False}
    if x_tick:
        axis_kw["values"] = [round(i * x_tick, 10) for i in range(int(x_max // x_tick) + 1)]
    col = alt.Color(
        f"{series}:N",
        scale=alt.Scale(domain=domain_order, range=list(PALETTE[: len(domain_order)])),
        legend=None
        if single
        else alt.Legend(title=None, orient="top-right", direction="vertical", symbolType="stroke",
                        symbolStrokeWidth=3, symbolOpacity=1, symbolSize=300),
    )
    y = alt.Y(
        "survival:Q",
        scale=alt.Scale(domain=[0, 1], nice=False),
        axis=alt.Axis(format=".0%", title=ytitle, values=[0, 0.25, 0.5, 0.75, 1.0], grid=True),
    )
    tooltip = [
        alt.Tooltip(f"{series}:N", title="Arm"),
        alt.Tooltip("time:Q", title=f"Time ({time_unit})", format=".1f"),
        alt.Tooltip("survival:Q", title="Survival", format=".1%"),
    ]
    layers: list[alt.Chart] = []
    has_ci = all(k in c.columns for k in ("ci_lower", "ci_upper")) and c[["ci_lower", "ci_upper"]].notna().any().all()
    base = alt.Chart(c)
    if has_ci:
        layers.append(
            base.mark_area(interpolate="step-after", opacity=0.16, clip=True).encode(
                x=alt.X("time:Q", scale=xs, axis=alt.Axis(**axis_kw)),
                y=alt.Y("ci_lower:Q", scale=alt.Scale(domain=[0, 1], nice=False)),
                y2="ci_upper:Q",
                color=col,
                detail=f"{series}:N",
            )
        )
        tooltip += [
            alt.Tooltip("ci_lower:Q", title="95% CI lower", format=".1%"),
            alt.Tooltip("ci_upper:Q", title="95% CI upper", format=".1%"),
        ]
    layers.append(
        base.mark_line(interpolate="step-after", strokeWidth=2, clip=True).encode(
            x=alt.X("time:Q", scale=xs, axis=alt.Axis(**axis_kw)), y=y, color=col, tooltip=tooltip
        )
    )
    if ce is not None and len(ce):
        layers.append(
            alt.Chart(ce)
            .mark_tick(orient="vertical", size=9, thickness=1.5, clip=True)
            .encode(
                x=alt.X("time:Q", scale=xs),
                y=alt.Y("survival:Q", scale=alt.Scale(domain=[0, 1], nice=False)),
                color=col,
                tooltip=[alt.Tooltip(f"{series}:N", title="Censored"),
                         alt.Tooltip("time:Q", title=f"Time ({time_unit})", format=".1f")],
            )
        )
    plot = alt.layer(*layers).properties(width=width, height=height)

    n_curves = len(domain_order)
    desc = f"Kaplan-Meier plot, {n_curves} curve{'s' if n_curves != 1 else ''}"
    if title:
        desc += f": {title}"
    if subtitle:
        desc += f" ({subtitle})"
    t = _title(title, subtitle)

    if ar is None or not len(ar):
        out = plot.properties(description=desc)
        return out.properties(title=t) if t is not None else out

    table = (
        alt.Chart(ar)
        .mark_text(baseline="middle", fontSize=11)
        .encode(
            x=alt.X("time:Q", scale=xs, axis=None),
            y=alt.Y(f"{series}:N", sort=domain_order, title=None,
                    axis=alt.Axis(domain=False, ticks=False, labelPadding=16, labelFontSize=11,
                                  labelLimit=200)),
            text="n_at_risk:Q",
            color=col,
        )
        .properties(
            width=width,
            height=18 * n_curves,
            title=alt.TitleParams("Number at risk", fontSize=11, fontWeight="bold", anchor="start",
                                  color=INK, offset=4),
        )
    )
    out = alt.vconcat(plot, table, spacing=14).resolve_scale(color="shared").properties(description=desc)
    return out.properties(title=t) if t is not None else out


# --------------------------------------------------------------------------------------
# Outcome dot-and-whisker chart for a study chapter
# --------------------------------------------------------------------------------------


def outcome_bars(
    df: pl.DataFrame,
    outcome: str = "outcome",
    estimate: str = "estimate",
    lower: str = "ci_lower",
    upper: str = "ci_upper",
    arm: str | None = "arm",
    denominator: str | None = "denominator",
    title: str | None = None,
    subtitle: str | None = None,
    xtitle: str = "Proportion of patients (95% CI)",
    percent: bool = True,
    width: int = 360,
) -> alt.LayerChart:
    """Horizontal dot-and-whisker chart of proportions, one row per outcome.

    Parameters
    ----------
    df : polars.DataFrame
        Columns ``outcome`` (label), ``estimate``, ``lower``, ``upper`` (0–1),
        optionally ``arm`` (rows of one outcome are offset and coloured by arm)
        and ``denominator`` (text such as ``"12/20"`` shown right of the plot).
        Outcomes are shown in order of first appearance.
    outcome, estimate, lower, upper, arm, denominator : str
        Column names; ``arm``/``denominator`` may be ``None`` or absent.
    title, subtitle, xtitle : str
        Titles.
    percent : bool, default True
        Format the axis and labels as percentages (domain [0, 1]).
    width : int
        Width of the plot panel in pixels.

    Returns
    -------
    altair.LayerChart
    """
    d = _to_pandas(df)
    _require(d, [outcome, estimate, lower, upper], "outcome_bars()")
    has_arm = arm is not None and arm in d.columns
    has_den = denominator is not None and denominator in d.columns
    d["_outcome"] = d[outcome].astype(str)
    order = list(dict.fromkeys(d["_outcome"]))
    digits = 0 if percent else 2
    d["_text"] = [
        _est_text(_num(e), _num(lo), _num(hi), percent, digits)
        + (f"  ({r})" if has_den and r is not None and str(r) != "nan" else "")
        for e, lo, hi, r in zip(d[estimate], d[lower], d[upper], d[denominator] if has_den else [None] * len(d))
    ]
    arms = list(dict.fromkeys(d[arm].astype(str))) if has_arm else []
    if has_arm:
        d["_arm"] = d[arm].astype(str)
    step = ROW_HEIGHT if has_arm else ROW_HEIGHT + 8
    y = alt.Y("_outcome:N", sort=order, title=None,
              axis=alt.Axis(labelLimit=260, domain=False, ticks=False, labelPadding=8))
    xs = alt.Scale(domain=[0, 1], nice=False) if percent else alt.Scale(zero=False)
    enc: dict[str, Any] = {"y": y}
    if has_arm:
        enc["yOffset"] = alt.YOffset("_arm:N", sort=arms)
        enc["color"] = alt.Color("_arm:N", sort=arms, scale=alt.Scale(domain=arms, range=list(PALETTE[: len(arms)])),
                                 legend=alt.Legend(title=None, orient="top"))
    base = alt.Chart(d).encode(**enc)
    tooltip = [alt.Tooltip("_outcome:N", title="Outcome"), alt.Tooltip("_text:N", title="Estimate")]
    if has_arm:
        tooltip.insert(1, alt.Tooltip("_arm:N", title="Arm"))
    axis = alt.Axis(format=".0%" if percent else None, title=xtitle, grid=True, tickCount=5)
    rule = base.mark_rule(strokeWidth=2).encode(x=alt.X(f"{lower}:Q", scale=xs, axis=axis), x2=f"{upper}:Q")
    if not has_arm:
        rule = rule.encode(color=alt.value(PALETTE[0]))
    point = base.mark_point(size=70, filled=True, opacity=1).encode(x=alt.X(f"{estimate}:Q", scale=xs),
                                                                      tooltip=tooltip)
    if not has_arm:
        point = point.encode(color=alt.value(PALETTE[0]))
    label = base.mark_text(align="left", baseline="middle", dx=8, fontSize=11).encode(
        x=alt.value(width), text="_text:N"
    )
    if has_arm:
        label = label.encode(color=alt.value(INK))
    chart = alt.layer(rule, point, label).properties(width=width, height=alt.Step(step))
    desc = f"Dot-and-whisker chart of {len(order)} outcome{'s' if len(order) != 1 else ''}"
    if has_arm:
        desc += f" by arm ({', '.join(arms)})"
    if title:
        desc += f": {title}"
    chart = chart.properties(description=desc)
    t = _title(title, subtitle)
    return chart.properties(title=t) if t is not None else chart

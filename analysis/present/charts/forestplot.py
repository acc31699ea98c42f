"""Meta-analysis forest plot (studies, weights, pooled diamonds, prediction intervals)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ._altair import alt
from ._common import _est_text, _fmt, _frame, _num, _pooled_rows, _require, _title, _values
from .theme import INK, MUTED, PALETTE, ROW_HEIGHT


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
    d = _frame(df)
    _require(d, [estimate, lower, upper, label, weight, group], "forest()")
    digits = (0 if percent else 2) if digits is None else digits
    pooled_rows = _pooled_rows(pooled, estimate, lower, upper)
    total_w = float(d[weight].fill_null(0).sum()) if weight else 0.0
    if weight and not total_w > 0:
        weight = None  # weight column present but empty (e.g. no model fitted): unweighted plot
    cols = _Columns(estimate, lower, upper, label, weight, percent, digits, total_w)
    rows, diamonds = _layout(d, cols, group, pooled_rows)
    n = len(rows)
    data = _values(rows)
    height = ROW_HEIGHT * max(n, 1)
    if xdomain is None and percent:
        xdomain = (0.0, 1.0)
    plot = _plot_panel(data, rows, diamonds, n, height, cols, xscale, xdomain, xtitle, reference_line, estimate_title,
                       width)
    panels = [plot] + _text_panels(data, rows, height, cols, label_title, estimate_title, label_width)
    panels[0], panels[1] = panels[1], panels[0]  # label column | plot | estimates | weights

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


@dataclass(frozen=True)
class _Columns:
    """Column names and number format shared by the steps of :func:`forest`."""

    estimate: str
    lower: str
    upper: str
    label: str
    weight: str | None
    percent: bool
    digits: int
    total_w: float


def _row_axis(n: int) -> alt.Y:
    """One row per table line, top to bottom, shared by the plot and the text columns."""
    return alt.Y("row:Q", axis=None, scale=alt.Scale(domain=[-0.6, n - 0.4], reverse=True, nice=False, zero=False))


def _blank(kind: str, label: str) -> dict[str, Any]:
    return {"kind": kind, "label": label, "estimate": None, "lower": None, "upper": None,
            "weight": None, "text": "", "wtext": ""}


def _study_row(r: Mapping[str, Any], c: _Columns) -> dict[str, Any]:
    est, lo, hi = _num(r[c.estimate]), _num(r[c.lower]), _num(r[c.upper])
    w = _num(r[c.weight]) if c.weight else None
    return {
        "kind": "study",
        "label": str(r[c.label]),
        "estimate": est,
        "lower": lo,
        "upper": hi,
        "weight": ((w or 0.0) / c.total_w) if c.total_w > 0 else None,
        "text": _est_text(est, lo, hi, c.percent, c.digits),
        "wtext": f"{100 * w / c.total_w:.1f}%" if (w is not None and c.total_w > 0) else "",
    }


def _add_pooled(rows: list[dict], diamonds: list[dict], p: Mapping[str, Any], default_label: str, c: _Columns) -> None:
    """Append a pooled row (drawn as a diamond), its prediction interval and its note."""
    row = len(rows)
    rows.append({
        "kind": "pooled",
        "label": p["label"] or default_label,
        "estimate": p["estimate"],
        "lower": p["ci_lower"],
        "upper": p["ci_upper"],
        "weight": None,
        "text": _est_text(p["estimate"], p["ci_lower"], p["ci_upper"], c.percent, c.digits),
        "wtext": "100%" if (c.weight and not p["group"]) else "",
    })
    lo = p["ci_lower"] if p["ci_lower"] is not None else p["estimate"]
    hi = p["ci_upper"] if p["ci_upper"] is not None else p["estimate"]
    for x, half in ((lo, 0.0), (p["estimate"], 0.38), (hi, 0.0)):
        diamonds.append({"row": row, "x": x, "y": row - half, "y2": row + half})
    if p["pi_lower"] is not None and p["pi_upper"] is not None:
        rows.append({**_blank("pi", "95% prediction interval"), "lower": p["pi_lower"], "upper": p["pi_upper"],
                     "text": f"[{_fmt(p['pi_lower'], c.percent, c.digits)}, {_fmt(p['pi_upper'], c.percent, c.digits)}]"})
    if p["note"]:
        rows.append(_blank("note", str(p["note"])))


def _layout(d: pl.DataFrame, c: _Columns, group: str | None, pooled_rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The plot's rows in drawing order (studies, subgroup headers and totals, pooled rows) and diamonds."""
    rows: list[dict[str, Any]] = []
    diamonds: list[dict[str, Any]] = []
    records = d.to_dicts()
    groups: list[str] = []
    if group:
        groups = list(dict.fromkeys(str(g) for g in d[group].to_list()))
        for g in groups:
            rows.append(_blank("header", g))
            rows.extend(_study_row(r, c) for r in records if str(r[group]) == g)
            for p in pooled_rows:
                if p["group"] is not None and str(p["group"]) == g:
                    _add_pooled(rows, diamonds, p, f"Subtotal: {g}", c)
    else:
        rows.extend(_study_row(r, c) for r in records)
    overall = [p for p in pooled_rows if p["group"] is None or (group and str(p["group"]) not in groups)]
    if overall:
        rows.append(_blank("spacer", ""))
        for p in overall:
            _add_pooled(rows, diamonds, p, "Pooled estimate", c)
    for i, r in enumerate(rows):
        r["row"] = i
    return rows, diamonds


def _plot_panel(data: alt.InlineData, rows: list[dict], diamonds: list[dict], n: int, height: int, c: _Columns,
                xscale: str, xdomain: tuple[float, float] | None, xtitle: str | None, reference_line: float | None,
                estimate_title: str, width: int) -> alt.LayerChart:
    """The plotting panel: CIs, weighted squares, prediction intervals, diamonds, reference line."""
    y = _row_axis(n)
    scale_kw: dict[str, Any] = {"type": xscale} if xscale == "log" else {"type": xscale, "zero": False}
    if xdomain is not None:
        scale_kw.update(domain=list(xdomain), nice=False, clamp=False)
    axis_kw: dict[str, Any] = {"grid": False, "title": xtitle or ("Proportion" if c.percent else "Estimate"),
                               "tickCount": 5}
    if c.percent:
        axis_kw["format"] = ".0%"
    x_scale = alt.Scale(**scale_kw)
    clip = xdomain is not None

    base = alt.Chart(data).encode(y=y)
    layers: list[alt.Chart] = []
    if reference_line is not None:
        layers.append(
            alt.Chart(_values([{"ref": reference_line}]))
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
    if c.weight:
        tooltip.append(alt.Tooltip("wtext:N", title="Weight"))
    square = studies.mark_square(color=PALETTE[0], opacity=1).encode(
        x=alt.X("estimate:Q", scale=x_scale), tooltip=tooltip
    )
    if c.weight:
        square = square.encode(
            size=alt.Size("weight:Q", scale=alt.Scale(range=[20, 260], zero=True), legend=None)
        )
    else:
        square = square.encode(size=alt.SizeValue(70))
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
            alt.Chart(_values(diamonds))
            .mark_area(color=INK, opacity=1, line=False, clip=clip, orient="vertical")
            .encode(
                x=alt.X("x:Q", scale=x_scale),
                y=alt.Y("y:Q", scale=alt.Scale(domain=[-0.6, n - 0.4], reverse=True, nice=False, zero=False),
                        axis=None),
                y2="y2:Q",
                detail="row:N",
            )
        )
    return alt.layer(*layers).properties(width=width, height=height, title=alt.TitleParams(text=" ", fontSize=12))


def _text_panels(data: alt.InlineData, rows: list[dict], height: int, c: _Columns, label_title: str,
                 estimate_title: str, label_width: int | None) -> list[Any]:
    """The text columns beside the plot: labels, estimates with CIs, and weights."""
    base = alt.Chart(data).encode(y=_row_axis(len(rows)))

    def text_col(field: str, kinds: Sequence[str], w: int, **mark: Any) -> alt.Chart:
        return (
            base.transform_filter(alt.FieldOneOfPredicate(field="kind", oneOf=list(kinds)))
            .mark_text(**{"align": "left", "baseline": "middle", "limit": w, **mark})
            .encode(x=alt.XValue(0), text=alt.Text(f"{field}:N"),  # channel objects: no schema look-up
                    tooltip=alt.Tooltip(f"{field}:N", title=None))
            .properties(width=w, height=height)
        )

    def header(col_title: str) -> alt.TitleParams:
        return alt.TitleParams(text=col_title, fontSize=12, fontWeight="bold", anchor="start", color=INK)

    label_w = label_width or max(120, min(220, 7 * max((len(r["label"]) for r in rows), default=10) + 14))
    left = alt.layer(
        text_col("label", ["study"], label_w, dx=10),
        text_col("label", ["header", "pooled"], label_w, fontWeight="bold"),
        text_col("label", ["pi", "note"], label_w, fontStyle="italic", color=MUTED, dx=10),
    ).properties(title=header(label_title))
    est_w = 140 if not c.percent else 115
    right = alt.layer(
        text_col("text", ["study", "pi"], est_w),
        text_col("text", ["pooled"], est_w, fontWeight="bold"),
    ).properties(title=header(estimate_title))
    panels: list[Any] = [left, right]
    if c.weight:
        panels.append(text_col("wtext", ["study", "pooled"], 50).properties(title=header("Weight")))
    return panels

"""Forest plot of one outcome under every analysis set, with a switch between the sets.

The reader picks an analysis set (primary, including indirect populations, peer-reviewed only,
...) from a drop-down under the chart and the study rows and the pooled estimate switch to it,
offline: every set's rows are computed at build time by the review's kernel and inlined in the
spec; the switch is a Vega-Lite parameter that filters them.  Where a report printed its own
interval, it is drawn in grey under the recomputed one.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from ._altair import alt
from ._common import _frame, _require, _title, _values
from .theme import INK, MUTED, PALETTE, ROW_HEIGHT

#: row kinds of the input frame and how they are drawn
KINDS = ("study", "pooled", "hk", "pi", "note")
PARAM = "analysis_set"


def _layout(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[dict], int]:
    """Row numbers within each set, diamonds of pooled rows, and the largest row count."""
    rows = rows.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("set").alias("row"))
    diamonds = []
    for p in rows.filter(pl.col("kind") == "pooled").iter_rows(named=True):
        lo = p["estimate"] if p["low"] is None else p["low"]  # _frame made NaN missing
        hi = p["estimate"] if p["high"] is None else p["high"]
        for x, half in ((lo, 0.0), (p["estimate"], 0.38), (hi, 0.0)):
            diamonds.append({"set": p["set"], "row": p["row"], "x": x, "y": p["row"] - half, "y2": p["row"] + half})
    n = int(rows["row"].max()) + 1 if rows.height else 1
    return rows, diamonds, n


def set_forest(
    rows: pl.DataFrame,
    sets: Sequence[tuple[str, str]],
    selected: str | None = None,
    percent: bool = True,
    title: str | None = None,
    subtitle: str | None = None,
    xtitle: str | None = None,
    width: int = 220,
    label_width: int = 190,
    estimate_title: str = "Estimate [95% CI]",
) -> alt.HConcatChart:
    """Forest plot with an analysis-set switch.

    Parameters
    ----------
    rows : polars.DataFrame
        One row per line of the plot: ``set`` (analysis set id), ``kind`` (one of
        :data:`KINDS`: a study, the pooled estimate drawn as a diamond, a second interval of
        the pooled estimate ("hk"), a prediction interval ("pi"), or a note), ``label``,
        ``estimate``, ``low``, ``high``, ``reported_low``, ``reported_high`` (an interval as the
        report printed it, drawn in grey), ``text`` (estimate and interval as text) and
        ``weight`` (text).  Rows are drawn in the given order within each set.
    sets : sequence of (id, label)
        The analysis sets in the order of the drop-down; the first is shown first unless
        ``selected`` says otherwise.
    percent : bool
        Proportions in [0, 1], shown as percentages on a [0, 1] axis.

    Returns
    -------
    altair.HConcatChart
        Label column | plot | estimate column | weight column, sharing the row axis.
    """
    d = _frame(rows)
    _require(d, ["set", "kind", "label", "estimate", "low", "high", "reported_low", "reported_high", "text", "weight"],
             "set_forest()")
    bad = set(d["kind"].to_list()) - set(KINDS)
    if bad:
        raise ValueError(f"set_forest(): unknown row kinds {sorted(bad)}")
    ids = [s for s, _ in sets]
    selected = selected or ids[0]
    d, diamonds, n = _layout(d)
    height = ROW_HEIGHT * max(n, 1)
    yscale = alt.Scale(domain=[-0.6, n - 0.4], reverse=True, nice=False, zero=False)
    y = alt.Y("row:Q", axis=None, scale=yscale)
    param = alt.param(name=PARAM, value=selected,
                      bind=alt.binding_select(options=ids, labels=[lab for _, lab in sets], name="Analysis set: ")
                      if len(sets) > 1 else None)
    keep = alt.datum.set == param
    xs = alt.Scale(domain=[0, 1] if percent else alt.Undefined, nice=False, zero=False)
    axis = alt.Axis(grid=False, title=xtitle or ("Proportion" if percent else "Estimate"), tickCount=5,
                    format=".0%" if percent else alt.Undefined)
    base = alt.Chart(d).transform_filter(keep).encode(y=y)

    def kind(*kinds: str) -> alt.Chart:
        return base.transform_filter(alt.FieldOneOfPredicate(field="kind", oneOf=list(kinds)))

    tooltip = [alt.Tooltip("label:N", title=""), alt.Tooltip("text:N", title=estimate_title)]
    layers = [
        kind("study").mark_rule(strokeWidth=1.5, clip=True).encode(x=alt.X("low:Q", scale=xs, axis=axis), x2="high:Q"),
        kind("study").mark_square(color=PALETTE[0], size=70, opacity=1).encode(x=alt.X("estimate:Q", scale=xs), tooltip=tooltip),
        kind("study").transform_filter("isValid(datum.reported_low)")
        .transform_calculate(yr="datum.row + 0.28")
        .mark_rule(color=MUTED, strokeWidth=1.2, strokeDash=[3, 2], clip=True)
        .encode(x=alt.X("reported_low:Q", scale=xs), x2="reported_high:Q", y=alt.Y("yr:Q", scale=yscale, axis=None),
                tooltip=[alt.Tooltip("label:N", title=""), alt.Tooltip("reported:N", title="Printed by the report")])
        .transform_calculate(reported="format(datum.reported_low, '.0%') + ' to ' + format(datum.reported_high, '.0%')"),
        kind("hk").mark_rule(strokeWidth=3, color=PALETTE[2], clip=True).encode(
            x=alt.X("low:Q", scale=xs), x2="high:Q", tooltip=tooltip),
        kind("pi").mark_rule(strokeWidth=2, color=PALETTE[1], clip=True).encode(
            x=alt.X("low:Q", scale=xs), x2="high:Q", tooltip=tooltip),
    ]
    if len(diamonds):
        layers.append(alt.Chart(_values(diamonds)).transform_filter(keep)
                      .mark_area(color=INK, opacity=1, line=False, clip=True, orient="vertical")
                      .encode(x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=yscale, axis=None), y2="y2:Q",
                              detail="row:N"))
    plot = alt.layer(*layers).properties(width=width, height=height, title=alt.TitleParams(text=" ", fontSize=12))

    def text_col(field: str, kinds: Sequence[str], w: int, **mark: Any) -> alt.Chart:
        return (kind(*kinds).mark_text(**{"align": "left", "baseline": "middle", "limit": w, **mark})
                .encode(x=alt.XValue(0), text=alt.Text(f"{field}:N"),  # channel objects: no schema look-up
                        tooltip=alt.Tooltip(f"{field}:N", title=None))
                .properties(width=w, height=height))

    def header(text: str) -> alt.TitleParams:
        return alt.TitleParams(text=text, fontSize=12, fontWeight="bold", anchor="start", color=INK)

    left = alt.layer(
        text_col("label", ["study"], label_width),
        text_col("label", ["pooled"], label_width, fontWeight="bold"),
        text_col("label", ["hk", "pi", "note"], label_width, fontStyle="italic", color=MUTED, dx=10),
    ).properties(title=header("Study"))
    right = alt.layer(
        text_col("text", ["study", "hk", "pi"], 120),
        text_col("text", ["pooled"], 120, fontWeight="bold"),
    ).properties(title=header(estimate_title))
    weights = text_col("weight", ["study"], 50).properties(title=header("Weight"))
    chart = alt.hconcat(left, plot, right, weights, spacing=6).resolve_scale(y="shared")
    # the switch is one top-level parameter: set there directly (``add_params`` on a concat pushes it
    # into every layer and lifts it back, copying the whole chart each time: 0.3 s per chart)
    chart.params = [param.param]
    first = d.filter((pl.col("set") == selected) & (pl.col("kind") == "pooled"))
    desc = f"Forest plot, {len(sets)} analysis set{'s' if len(sets) != 1 else ''}"
    if first.height:
        desc += f"; {first['label'][0]}: {first['text'][0]}"
    chart = chart.properties(description=desc)
    t = _title(title, subtitle)
    return chart.properties(title=t) if t is not None else chart

"""Dot-and-whisker chart of a study's crude proportions, one row per outcome."""
from __future__ import annotations

from typing import Any

from ._altair import alt
import polars as pl

from ._common import _est_text, _frame, _num, _require, _title
from .theme import INK, PALETTE, ROW_HEIGHT


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
    d = _frame(df)
    _require(d, [outcome, estimate, lower, upper], "outcome_bars()")
    has_arm = arm is not None and arm in d.columns
    has_den = denominator is not None and denominator in d.columns
    d = d.with_columns(pl.col(outcome).cast(pl.String).alias("_outcome"))
    order = list(dict.fromkeys(d["_outcome"].to_list()))
    digits = 0 if percent else 2
    d = d.with_columns(pl.Series("_text", [
        _est_text(_num(e), _num(lo), _num(hi), percent, digits)
        + (f"  ({r})" if has_den and r is not None else "")  # _frame made NaN missing
        for e, lo, hi, r in zip(d[estimate].to_list(), d[lower].to_list(), d[upper].to_list(),
                                d[denominator].to_list() if has_den else [None] * d.height)
    ], dtype=pl.String))
    arms = list(dict.fromkeys(d[arm].cast(pl.String).to_list())) if has_arm else []
    if has_arm:
        d = d.with_columns(pl.col(arm).cast(pl.String).alias("_arm"))
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
        rule = rule.encode(color=alt.ColorValue(PALETTE[0]))
    point = base.mark_point(size=70, filled=True, opacity=1).encode(x=alt.X(f"{estimate}:Q", scale=xs),
                                                                      tooltip=tooltip)
    if not has_arm:
        point = point.encode(color=alt.ColorValue(PALETTE[0]))
    label = base.mark_text(align="left", baseline="middle", dx=8, fontSize=11).encode(
        x=alt.XValue(width), text=alt.Text("_text:N")
    )
    if has_arm:
        label = label.encode(color=alt.ColorValue(INK))
    chart = alt.layer(rule, point, label).properties(width=width, height=alt.Step(step))
    desc = f"Dot-and-whisker chart of {len(order)} outcome{'s' if len(order) != 1 else ''}"
    if has_arm:
        desc += f" by arm ({', '.join(arms)})"
    if title:
        desc += f": {title}"
    chart = chart.properties(description=desc)
    t = _title(title, subtitle)
    return chart.properties(title=t) if t is not None else chart

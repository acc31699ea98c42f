"""What a survival summary determines: the band of every consistent curve, and the printed points.

A curve rebuilt from two printed percentages is not trial data, so it is never drawn as a
Kaplan-Meier step function with numbers at risk.  This chart shows the band between the lowest
and highest survival that any death/censoring history consistent with the report allows at each
time (:attr:`analysis.stats.survival.SummaryReconstruction.envelope`), and the landmarks as the
report printed them, with their printed intervals.
"""
from __future__ import annotations

from ._altair import alt
import polars as pl

from ._common import _frame, _require, _title
from .theme import INK, PALETTE


def envelope(
    bands: pl.DataFrame,
    points: pl.DataFrame,
    color: str = "arm",
    time_unit: str = "months",
    title: str | None = None,
    subtitle: str | None = None,
    width: int = 420,
    height: int = 260,
) -> alt.HConcatChart:
    """Envelope of consistent survival curves with the printed landmarks.

    Parameters
    ----------
    bands : polars.DataFrame
        ``time``, ``s_min``, ``s_max`` and the ``color`` column (one band per arm), drawn as
        step-after areas.
    points : polars.DataFrame
        ``time``, ``estimate``, ``ci_low``, ``ci_high`` (None when not printed), ``label`` (the
        figure as printed) and the ``color`` column.
    """
    b, p = _frame(bands), _frame(points)
    _require(b, ["time", "s_min", "s_max", color], "envelope() bands")
    _require(p, ["time", "estimate", "ci_low", "ci_high", "label", color], "envelope() points")
    b, p = (f.with_columns(pl.col(color).cast(pl.String).alias("_arm")) for f in (b, p))
    arms = list(dict.fromkeys(b["_arm"].to_list() + p["_arm"].to_list()))
    t_max = float(max(b["time"].max(), p["time"].max() if p.height else 0))
    xs = alt.Scale(domain=[0, t_max], nice=False, zero=True)
    ys = alt.Scale(domain=[0, 1], nice=False)
    panels = []
    for i, arm in enumerate(arms):
        ba, pa = (f.filter(pl.col("_arm") == arm).drop("_arm") for f in (b, p))
        shade = PALETTE[i % len(PALETTE)]
        x = alt.X("time:Q", scale=xs, axis=alt.Axis(title=f"Time ({time_unit})", grid=False))
        y_axis = alt.Axis(format=".0%", title="Survival probability" if i == 0 else None,
                          values=[0, 0.25, 0.5, 0.75, 1.0], grid=True, labels=i == 0)
        band = alt.Chart(ba).mark_area(interpolate="step-after", opacity=0.35, color=shade, clip=True,
                                       line={"color": shade, "strokeWidth": 1}).encode(
            x=x, y=alt.Y("s_min:Q", scale=ys, axis=y_axis), y2="s_max:Q",
            tooltip=[alt.Tooltip("time:Q", title=f"Time ({time_unit})", format=".1f"),
                     alt.Tooltip("s_min:Q", title="Lowest consistent", format=".0%"),
                     alt.Tooltip("s_max:Q", title="Highest consistent", format=".0%")])
        layers = [band]
        if pa.height:
            pts = alt.Chart(pa)
            layers += [
                pts.transform_filter("isValid(datum.ci_low)").mark_rule(strokeWidth=2, color=INK).encode(
                    x=alt.X("time:Q", scale=xs), y=alt.Y("ci_low:Q", scale=ys), y2="ci_high:Q"),
                pts.mark_point(filled=True, size=80, color=INK, shape="diamond", opacity=1).encode(
                    x=alt.X("time:Q", scale=xs), y=alt.Y("estimate:Q", scale=ys),
                    tooltip=[alt.Tooltip("label:N", title="Printed")]),
            ]
        panels.append(alt.layer(*layers).properties(width=width // max(len(arms), 1), height=height,
                                                    title=alt.TitleParams(arm, fontSize=12, anchor="start", color=shade)))
    n = len(arms)
    desc = (f"Range of survival curves consistent with the report for {n} arm{'s' if n != 1 else ''}, "
            f"with {p.height} printed landmark{'s' if p.height != 1 else ''}")
    chart = alt.hconcat(*panels, spacing=12).properties(description=desc)
    t = _title(title, subtitle)
    return chart.properties(title=t) if t is not None else chart

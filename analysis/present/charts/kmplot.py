"""Kaplan-Meier curves with CI bands, censor ticks and a numbers-at-risk table."""
from __future__ import annotations

from typing import Any

from ._altair import alt
import polars as pl

from ._common import _frame, _require, _title
from .theme import INK, PALETTE


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
    c = _frame(curves)
    _require(c, ["time", "survival"], "km() curves")
    single = color is None or color not in c.columns
    series = "_series" if single else color
    ar = _frame(at_risk) if at_risk is not None else None
    ce = _frame(censors) if censors is not None else None
    if ar is not None:
        _require(ar, ["time", "n_at_risk"], "km() at_risk")
        if not single:
            _require(ar, [series], "km() at_risk")
    if ce is not None:
        _require(ce, ["time", "survival"], "km() censors")
        if not single:
            _require(ce, [series], "km() censors")

    def labelled(frame: pl.DataFrame | None) -> pl.DataFrame | None:
        """The frame with its series as text ("All patients" for a single curve)."""
        if frame is None:
            return None
        return frame.with_columns((pl.lit("All patients") if single else pl.col(series).cast(pl.String)).alias(series))

    c, ar, ce = labelled(c), labelled(ar), labelled(ce)
    domain_order = list(dict.fromkeys(c[series].to_list()))
    if x_max is None:
        x_max = max(float(f["time"].max()) for f in (c, ar, ce) if f is not None and f.height)
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
    has_ci = all(k in c.columns and c[k].null_count() < c.height for k in ("ci_lower", "ci_upper"))
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
    if ce is not None and ce.height:
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

    if ar is None or not ar.height:
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

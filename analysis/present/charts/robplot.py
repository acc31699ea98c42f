"""Risk-of-bias figures in the robvis style: traffic-light plot and summary bars, colour-blind safe.

Colours are robvis's ``colour = "colourblind"`` palette and every judgement also has robvis's
glyph (``+`` low, ``-`` some concerns / moderate / unclear, ``x`` high / serious, ``!``
critical, ``?`` no information, blank not applicable), so colour is never the only cue
(McGuinness & Higgins 2021).
"""
from __future__ import annotations

import polars as pl

from ._altair import alt
from ._common import CHART_DECIMALS
from .theme import FONT, INK

#: judgement -> (robvis colour-blind colour, glyph)
STYLE = {
    "Low": ("#fed98e", "+"), "Some concerns": ("#fe9929", "-"), "Moderate": ("#fe9929", "-"),
    "Unclear": ("#fe9929", "-"), "High": ("#d95f0e", "x"), "Serious": ("#d95f0e", "x"),
    "Critical": ("#993404", "!"), "No information": ("#ffffff", "?"), "Not applicable": ("#cccccc", " "),
}


def traffic_light(df: pl.DataFrame, title: str, description: str, domains: list[str]) -> alt.LayerChart:
    """A study × domain grid of circles coloured and marked by judgement.

    ``df`` has columns ``study`` (label), ``domain`` (short caption, in ``domains`` order, the
    last being "Overall") and ``judgement`` (a key of :data:`STYLE`).
    """
    order = [j for j in STYLE if j in set(df["judgement"].to_list())]
    d = df.with_columns(glyph=pl.col("judgement").replace_strict({j: s[1] for j, s in STYLE.items()}))
    studies = list(dict.fromkeys(d["study"].to_list()))
    x = alt.X("domain:N", sort=domains, title=None, axis=alt.Axis(orient="top", labelAngle=0, labelFontSize=11))
    y = alt.Y("study:N", sort=studies, title=None, axis=alt.Axis(labelLimit=180))
    dots = alt.Chart(d).mark_circle(size=330, opacity=1, stroke=INK, strokeWidth=0.8).encode(
        x=x, y=y, color=alt.Color("judgement:N", sort=order, title="Judgement",
                                  scale=alt.Scale(domain=order, range=[STYLE[j][0] for j in order]),
                                  legend=alt.Legend(orient="bottom", columns=3, symbolStrokeColor=INK, symbolSize=150,
                                                    labelExpr=_legend_expr(order))),
        tooltip=["study:N", "domain:N", "judgement:N"])
    glyphs = alt.Chart(d).mark_text(fontSize=13, fontWeight="bold", color=INK, font=FONT, baseline="middle").encode(
        x=x, y=y, text="glyph:N")
    return alt.layer(dots, glyphs).properties(width=alt.Step(34), height=alt.Step(24), title=title,
                                              description=description)


def _legend_expr(order: list[str]) -> str:
    """Legend labels with the glyph beside the judgement (e.g. ``x High``)."""
    cases = " : ".join(f"datum.label == '{j}' ? '{STYLE[j][1].strip() or '·'}  {j}'" for j in order)
    return f"{cases} : datum.label" if cases else "datum.label"


def summary_bars(df: pl.DataFrame, title: str, description: str, domains: list[str]) -> alt.LayerChart:
    """Horizontal stacked bars: per domain, the share of studies at each judgement (robvis ``rob_summary``).

    ``df`` has columns ``domain`` (full label, in ``domains`` order), ``judgement`` and ``share`` (0-1).
    """
    order = [j for j in STYLE if j in set(df["judgement"].to_list())]
    d = (df.with_columns(glyph=pl.col("judgement").replace_strict({j: s[1] for j, s in STYLE.items()}),
                         rank=pl.col("judgement").replace_strict({j: i for i, j in enumerate(order)}, return_dtype=pl.Int64))
         .sort(["domain", "rank"], maintain_order=True)
         .with_columns(end=pl.col("share").cum_sum().over("domain")))
    d = (d.with_columns(start=pl.col("end") - pl.col("share")).with_columns(mid=(pl.col("start") + pl.col("end")) / 2)
         .with_columns(pl.col("end", "start", "mid").round(CHART_DECIMALS)))  # a bar of all studies ends at 1, not 1 - 1e-16
    y = alt.Y("domain:N", sort=domains, title=None, axis=alt.Axis(labelLimit=330))
    xs = alt.Scale(domain=[0, 1])
    bars = alt.Chart(d).mark_bar(stroke=INK, strokeWidth=0.6).encode(
        y=y, x=alt.X("start:Q", scale=xs, title="Share of studies", axis=alt.Axis(format=".0%")), x2="end:Q",
        color=alt.Color("judgement:N", sort=order, title="Judgement",
                        scale=alt.Scale(domain=order, range=[STYLE[j][0] for j in order]),
                        legend=alt.Legend(orient="bottom", labelExpr=_legend_expr(order))),
        tooltip=["domain:N", "judgement:N", alt.Tooltip("share:Q", format=".0%")])
    glyphs = alt.Chart(d.filter(pl.col("share") >= 0.06)).mark_text(fontSize=12, fontWeight="bold", color=INK, font=FONT).encode(
        y=y, x=alt.X("mid:Q", scale=xs), text="glyph:N")
    bars = alt.layer(bars, glyphs)
    return bars.properties(width=300, height=alt.Step(22), title=title, description=description)

"""The book's chart theme: system fonts, print-friendly sizes, the Okabe-Ito palette."""
from __future__ import annotations

from typing import Any

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
    """Return the Vega-Lite config of the book's theme.

    Returns
    -------
    dict
        ``{"config": {...}}``; :func:`analysis.present.charts.render.mimebundle` merges it into
        every spec it renders, and :func:`analysis.present.charts.setup` registers it with Altair.
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

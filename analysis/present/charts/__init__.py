"""Offline charts (Altair / Vega-Lite) for the review.

Importing this package changes no global state and does not import Altair; the chart
builders are loaded on first use.  Display a chart with :func:`display` (offline HTML, see
:mod:`analysis.present.charts.render`); :func:`setup` registers the renderer and theme with
Altair for interactive sessions.

Builders: :func:`forest` (forest plot), :func:`km` (Kaplan-Meier curves), :func:`outcome_bars`
(a study's proportions).
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .render import BUNDLE_FILE, BUNDLE_STATIC_PATH, EMBED_ENV, RENDERER_NAME, THEME_NAME, display, mimebundle, setup
from .theme import PALETTE, theme

_LAZY = {"forest": ".forestplot", "km": ".kmplot", "outcome_bars": ".bars", "set_forest": ".setforest",
         "envelope": ".envelopeplot", "flow_diagram": ".flowchart", "traffic_light": ".robplot",
         "summary_bars": ".robplot"}

__all__ = ["BUNDLE_FILE", "BUNDLE_STATIC_PATH", "EMBED_ENV", "PALETTE", "RENDERER_NAME", "THEME_NAME",
           "display", "envelope", "flow_diagram", "forest", "km", "mimebundle", "outcome_bars", "set_forest", "setup",
           "summary_bars", "theme", "traffic_light"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""What a summary says about the whole survival curve: the envelope of consistent Kaplan-Meier curves.

A curve rebuilt from two printed landmarks is not trial data. :func:`survival_envelope` returns
what is known instead of one arbitrary step curve: on a time grid, the pointwise minimum and
maximum of S(t) over every death/censoring configuration consistent with the report (the
enumeration of :class:`~.search.ConfigurationSearch`, each configuration with its deaths as
early and as late as its time windows allow), and the reported landmarks with their intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from .inputs import FollowUp, Landmark, parse_summary
from .summary import consistent_configurations, default_grid, envelope_bounds
from .windows import TimeWindows

__all__ = ["SurvivalEnvelope", "survival_envelope"]


@dataclass
class SurvivalEnvelope:
    """Result of :func:`survival_envelope`.

    Attributes
    ----------
    curve : polars.DataFrame
        ``time``, ``s_min``, ``s_max``: the range of S(t) over every dataset consistent with the
        report (right-continuous: at a time, deaths at that time have happened).
    landmarks : polars.DataFrame
        ``label``, ``time``, ``estimate``, ``ci_low``, ``ci_high`` (proportions; CI None when not
        printed): the reported points, to be drawn as reported.
    n_consistent : int
        Number of consistent configurations (a lower bound when ``truncated``).
    truncated : bool
    ci_dropped : bool
        True when no configuration reproduces a printed CI as a log(-log) interval and the CI
        was not used as a constraint.
    time_unit : str
    """

    curve: pl.DataFrame
    landmarks: pl.DataFrame
    n_consistent: int
    truncated: bool
    ci_dropped: bool
    time_unit: str = "days"

    def __str__(self) -> str:
        return (f"SurvivalEnvelope: {self.n_consistent}{'+' if self.truncated else ''} consistent configuration(s), "
                f"{self.landmarks.height} reported landmark(s), {self.curve.height} grid times ({self.time_unit})")


def survival_envelope(
    n: int,
    landmarks: Iterable[Landmark | Mapping | Sequence] = (),
    *,
    event_times: Iterable[float] = (),
    n_events: int | None = None,
    followup: FollowUp | Mapping | Sequence | None = None,
    horizon: float | None = None,
    grid: Sequence[float] | None = None,
    require_ci: bool = True,
    alpha: float = 0.05,
    time_unit: str = "days",
    max_configurations: int = 20_000,
    max_nodes: int = 2_000_000,
) -> SurvivalEnvelope:
    """Pointwise min and max of S(t) over the Kaplan-Meier curves consistent with a summary.

    The inputs are those of :func:`~analysis.stats.survival.from_summary` (same checks, same
    consistency rules); no dataset is chosen and no times are invented. ``grid`` defaults to 201
    points on [0, horizon] plus the landmark and known death times.

    Returns
    -------
    SurvivalEnvelope
    """
    summary = parse_summary(n, landmarks, event_times, n_events, followup, horizon)
    windows = TimeWindows(summary)
    search, relaxed = consistent_configurations(summary, windows, require_ci=require_ci, alpha=alpha,
                                                max_configurations=max_configurations, max_nodes=max_nodes)
    g = default_grid(summary, grid)
    s_min, s_max = envelope_bounds(search.found, windows, summary.n, g)
    lm = pl.DataFrame([{"label": tg.label, "time": tg.time, "estimate": tg.S, "ci_low": tg.ci_low,
                        "ci_high": tg.ci_high} for tg in summary.targets],
                      schema={"label": pl.String, "time": pl.Float64, "estimate": pl.Float64, "ci_low": pl.Float64,
                              "ci_high": pl.Float64})
    return SurvivalEnvelope(curve=pl.DataFrame({"time": g, "s_min": s_min, "s_max": s_max}), landmarks=lm,
                            n_consistent=len(search.found), truncated=search.truncated, ci_dropped=relaxed,
                            time_unit=time_unit)

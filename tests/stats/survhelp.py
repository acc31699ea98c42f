"""Helpers shared by the survival tests: lifelines read-outs and a simulation of censored data."""

from __future__ import annotations

import numpy as np
import polars as pl
from lifelines import KaplanMeierFitter

from refdata import FIXTURES


def lifelines_at(kmf: KaplanMeierFitter, t: float) -> tuple[float, float, float]:
    """S, lower, upper read straight from lifelines' tables at time t (last row <= t)."""
    sf = kmf.survival_function_.loc[:t].iloc[-1, 0]
    ci = kmf.confidence_interval_.loc[:t].iloc[-1]
    return float(sf), float(ci.iloc[0]), float(ci.iloc[1])


def simulate(rng, n, shape, scale, cure=0.0, hr=1.0, admin=30.0, cens_max=60.0):
    """Weibull times (optional cure fraction and hazard ratio), uniform and administrative censoring."""
    t = scale * (-np.log(rng.uniform(size=n)) / hr) ** (1.0 / shape)
    if cure:
        t[rng.uniform(size=n) < cure] = np.inf
    c = np.minimum(rng.uniform(0, cens_max, size=n), admin)
    return np.minimum(t, c), (t <= c).astype(int)


def fixture_curve():
    """The synthetic 40-patient curve of tests/fixtures/curves (31 events), rebuilt by guyot()."""
    from analysis.stats import survival as sv

    d = FIXTURES / "curves"
    pts = pl.read_csv(d / "example2020__os__all.csv", comment_prefix="#")
    risk = pl.read_csv(d / "example2020__os__all__risk.csv", comment_prefix="#")
    return sv.guyot(pts["time"].to_list(), pts["survival"].to_list(), risk["time"].to_list(),
                    risk["n_at_risk"].to_list(), 31, percent=False)

"""Guyot 2012 reconstruction from digitised curves: simulation round trips and exact cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from analysis.stats import survival as sv
from survhelp import simulate


# =========================================================================== Guyot round trips


def km_curve(t, e):
    k = KaplanMeierFitter().fit(t, e)
    return k.survival_function_.index.values, k.survival_function_.iloc[:, 0].values


def step_at(x, y, g):
    return y[np.clip(np.searchsorted(x, g, side="right") - 1, 0, None)]


def digitise(rng, t, e, max_points=200, noise=0.002, jitter=0.1, visible=0.008):
    """A digitiser's reading of the published step curve: top and bottom corners of every
    visible step (drop >= 0.008) and of every k-th small one, <= max_points points, with
    N(0, 0.002) vertical noise and upward jitter on 10 % of the points."""
    x, y = km_curve(t, e)
    idx = np.flatnonzero(np.diff(y) < 0) + 1
    drop = y[idx - 1] - y[idx]
    big, small = idx[drop >= visible], idx[drop < visible]
    budget = max(0, (max_points - 1) // 2 - len(big))
    if len(small) and budget:
        k = int(np.ceil(len(small) / budget))
        small = small[k - 1::k]
    else:
        small = small[:0]
    sel = np.sort(np.r_[big, small]).astype(int)
    px = np.r_[x[sel], x[sel], x[-1]]
    py = np.r_[y[sel - 1], y[sel], y[-1]] + rng.normal(0, noise, 2 * len(sel) + 1)
    j = rng.uniform(size=len(py)) < jitter
    py[j] += rng.uniform(0, 0.005, j.sum())
    order = rng.permutation(len(px))  # digitisers export in click order
    return px[order], np.clip(py[order], 0, 1)


def risk_table(t, step=6.0):
    rt = np.arange(0, t.max() + 1e-9, step)
    return rt, np.array([int(np.sum(t >= r)) for r in rt])


SCENARIOS = {
    "exponential": dict(shape=1.0, scale=15.0),
    "weibull": dict(shape=1.5, scale=15.0),
    "cure_fraction": dict(shape=1.2, scale=8.0, cure=0.25),
}


@pytest.mark.parametrize("scenario,seed", [("exponential", 1), ("weibull", 2), ("cure_fraction", 3),
                                           ("exponential", 11), ("weibull", 12), ("cure_fraction", 13)])
def test_guyot_round_trip(scenario, seed):
    rng = np.random.default_rng(seed)
    t, e = simulate(rng, 150, **SCENARIOS[scenario])
    gx, gy = digitise(rng, t, e)
    assert 100 <= len(gx) <= 200
    rt, nr = risk_table(t)
    r = sv.guyot(gx, gy, rt, nr, total_events=int(e.sum()))
    rec_t, rec_e = r.data["time"].to_numpy(), r.data["event"].to_numpy()
    assert len(rec_t) == 150
    assert abs(int(rec_e.sum()) - int(e.sum())) <= 0.02 * 150  # Guyot cannot remove early excess deaths
    x0, y0 = km_curve(t, e)
    x1, y1 = km_curve(rec_t, rec_e)
    g = np.linspace(0, t.max(), 4000)
    assert np.max(np.abs(step_at(x0, y0, g) - step_at(x1, y1, g))) <= 0.02
    m0 = KaplanMeierFitter().fit(t, e).median_survival_time_
    m1 = KaplanMeierFitter().fit(rec_t, rec_e).median_survival_time_
    assert np.isfinite(m0) and abs(m1 / m0 - 1) <= 0.05
    # published numbers at risk are reproduced at every risk time
    iv = r.intervals
    assert (iv["n_at_risk_hat"] == iv["n_at_risk"]).all()
    assert r.precision["max_abs"] < 0.03


@pytest.mark.parametrize("seed", [5, 6])
def test_guyot_two_arm_hazard_ratio(seed):
    orig, rec = [], []
    for arm, hr in ((0, 1.0), (1, 0.6)):
        rng = np.random.default_rng(100 * seed + arm)
        t, e = simulate(rng, 150, shape=1.5, scale=15.0, hr=hr)
        gx, gy = digitise(rng, t, e)
        rt, nr = risk_table(t)
        r = sv.guyot(gx, gy, rt, nr, total_events=int(e.sum()))
        orig.append(pd.DataFrame({"T": t, "E": e, "arm": arm}))
        d = r.data.to_pandas().rename(columns={"time": "T", "event": "E"})
        d["arm"] = arm
        rec.append(d)
    b0 = CoxPHFitter().fit(pd.concat(orig), "T", "E").params_["arm"]
    b1 = CoxPHFitter().fit(pd.concat(rec), "T", "E").params_["arm"]
    assert b0 < -0.2  # the simulated effect is visible
    assert abs(b1 - b0) <= 0.05


def test_guyot_exact_on_clean_curve_without_censoring():
    # 10 patients, deaths at 1..10, no censoring: the digitised corners give the data back exactly
    t = np.arange(1.0, 11.0)
    x, y = km_curve(t, np.ones(10))
    gx = np.r_[x[1:], x[1:]]
    gy = np.r_[y[:-1], y[1:]]
    r = sv.guyot(gx, gy, [0, 5], [10, 6], total_events=10)
    assert sorted(r.data["time"].to_list()) == t.tolist()
    assert r.data["event"].sum() == 10


def test_guyot_without_risk_table_uses_n_start():
    t = np.arange(1.0, 6.0)
    x, y = km_curve(t, np.ones(5))
    r = sv.guyot(np.r_[x[1:], x[1:]], np.r_[y[:-1], y[1:]], n_start=5)
    assert r.data.height == 5 and r.data["event"].sum() == 5
    with pytest.raises(ValueError, match="n_start"):
        sv.guyot([0, 1], [1, 0.5])


@pytest.mark.parametrize("kwargs,match", [
    (dict(risk_times=[1, 2], n_at_risk=[10, 5]), "start at time 0"),
    (dict(risk_times=[0, 2], n_at_risk=[10, 12]), "increase"),
    (dict(risk_times=[0, 2], n_at_risk=[10]), "same non-zero length"),
    (dict(risk_times=[0, 0], n_at_risk=[10, 5]), "strictly increasing"),
    (dict(risk_times=[0, 2], n_at_risk=[10, 5.5]), "integer"),
    (dict(risk_times=[0, 2], n_at_risk=[10, 5], total_events=11), "total_events"),
])
def test_guyot_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sv.guyot([0, 1, 2, 3], [1, 0.8, 0.6, 0.5], **kwargs)


def test_clean_digitised():
    t, s, notes = sv.clean_digitised([3, 1, 2, 2, 4, 5], [60, 90, 70, 80, 62, 101])
    assert t[0] == 0 and s[0] == 1  # (0, 1) added
    assert np.all(np.diff(t) >= 0) and np.all(np.diff(s) <= 0)  # sorted, non-increasing
    assert s.max() <= 1 and s[-1] == pytest.approx(0.60)  # percent rescaled, upward steps removed
    assert any("upward" in n for n in notes) and any("percent" in n for n in notes)
    with pytest.raises(ValueError, match="outside"):
        sv.clean_digitised([0, 1], [1.0, 1.2])

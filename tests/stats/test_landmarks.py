"""Landmark estimates, the cloglog transform, log(-log) intervals and plot tables."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from analysis.stats import survival as sv
from analysis.stats.survival import FollowUp, Landmark
from survhelp import fixture_curve, lifelines_at, simulate


@pytest.fixture(scope="module")
def ddcart2():
    return sv.from_summary(7, [Landmark(730, "85.7", "33.4", "97.9", label="2-year OS")], event_times=[70], n_events=1,
                           followup=FollowUp(median=540, minimum=70, maximum=1290), time_unit="days", label="ddCAR-T2")


# =========================================================================== landmarks


def test_cloglog_and_back_transform():
    y, v, why = sv.cloglog(0.8, 0.01)
    assert y == pytest.approx(math.log(-math.log(0.8)))
    assert v == pytest.approx(0.01 / (0.8 * math.log(0.8)) ** 2)
    assert why == ""
    assert sv.inv_cloglog(y) == pytest.approx(0.8)
    assert np.allclose(sv.inv_cloglog(np.array([y, y])), 0.8)
    for S in (0.0, 1.0):
        y, v, why = sv.cloglog(S, 0.0)
        assert math.isnan(y) and math.isnan(v) and "undefined" in why


def test_landmark_greenwood_matches_lifelines_ci():
    rng = np.random.default_rng(7)
    t, e = simulate(rng, 60, shape=1.0, scale=12.0)
    data = pl.DataFrame({"time": t, "event": e})
    kmf = KaplanMeierFitter().fit(t, e)
    for at in (3.0, 6.0, 12.0):
        le = sv.landmark(data, at)
        S, lo, hi = lifelines_at(kmf, at)
        assert le.S == pytest.approx(S, rel=1e-12)
        # the log(-log) CI rebuilt from (yi, vi) is lifelines' interval
        z = 1.959963984540054
        assert sv.inv_cloglog(le.yi + z * math.sqrt(le.vi)) == pytest.approx(lo, rel=1e-9)
        assert sv.inv_cloglog(le.yi - z * math.sqrt(le.vi)) == pytest.approx(hi, rel=1e-9)
        # and inverting lifelines' CI gives back Greenwood's variance
        assert sv.var_from_loglog_ci(S, lo, hi) == pytest.approx(le.var_S, rel=1e-9)
        assert le.vi == pytest.approx(le.var_S / (le.S * math.log(le.S)) ** 2, rel=1e-9)
        assert le.n_at_risk == int(np.sum(t >= at))


def test_landmark_from_reported_ddcart2():
    le = sv.landmark_from_reported("85.7", "33.4", "97.9", time=730)
    assert le.S == pytest.approx(0.857)
    assert le.yi == pytest.approx(math.log(-math.log(0.857)))
    # the exact value (7 patients, 1 death): vi = [1/(7*6)] / log(6/7)^2 = 1.00198; rounding of the CI
    assert le.vi == pytest.approx(1.00198, rel=0.02)
    assert le.source == "reported"
    no_ci = sv.landmark_from_reported("83", time=12)
    assert math.isnan(no_ci.vi) and "no CI" in no_ci.note
    # a one-sided CI (upper limit 100 %) still gives a variance from the other limit
    one = sv.landmark_from_reported("90", "55", "100")
    assert one.vi > 0 and math.isfinite(one.vi)


def test_landmark_table(ddcart2):
    roddie = sv.from_summary(7, [Landmark(12, "83")], time_unit="months")
    curve = fixture_curve()
    tab = sv.landmark_table([
        dict(study="ddcart2", arm="all", outcome="os", time=730, result=ddcart2),
        dict(study="ddcart2", arm="all", outcome="os", time=730, estimate="85.7", ci_low="33.4", ci_high="97.9",
             time_unit="days"),
        dict(study="roddie2025", arm="car_dli_ld", outcome="os", time=12, result=roddie),
        dict(study="example2020", arm="all", outcome="os", time=12, result=curve, time_unit="months"),
        dict(study="ddcart2", arm="all", outcome="os", time=30, result=ddcart2),
    ])
    assert tab.columns == ["study", "arm", "outcome", "time", "time_unit", "S", "se_S", "yi", "vi", "n_at_risk",
                           "source", "poolable", "note"]
    assert tab["poolable"].to_list() == [True, True, True, True, False]
    assert tab["source"].to_list() == ["reconstructed from reported summaries", "reported",
                                       "reconstructed from reported summaries", "reconstructed from published curve",
                                       "reconstructed from reported summaries"]
    r0 = tab.row(0, named=True)
    assert r0["S"] == pytest.approx(6 / 7) and r0["vi"] == pytest.approx((1 / 42) / math.log(6 / 7) ** 2)
    assert r0["time_unit"] == "days"
    assert tab.row(2, named=True)["S"] == pytest.approx(5 / 6)
    assert math.isnan(tab.row(4, named=True)["yi"]) and "S = 1" in tab.row(4, named=True)["note"]
    with pytest.raises(ValueError, match="exactly one of"):
        sv.landmark_table([dict(study="x", arm="a", outcome="os", time=1)])


def test_var_from_loglog_ci_round_trip():
    for S, gw in ((0.6, 0.01), (0.9, 0.002), (0.2, 0.05)):
        lo, hi = sv.loglog_ci(S, gw)
        assert sv.var_from_loglog_ci(S, lo, hi) == pytest.approx(S * S * gw, rel=1e-9)
    with pytest.raises(ValueError, match="bracket"):
        sv.var_from_loglog_ci(0.5, 0.6, 0.7)


# =========================================================================== km_table


def test_km_table(ddcart2):
    k = sv.km_table(ddcart2, at_risk_times=[0, 365, 730, 1095], study="ddcart2")
    assert k.steps.columns == ["time", "survival", "ci_low", "ci_high", "study"]
    assert k.steps["time"].to_list() == [0.0, 70.0, 1290.0]
    assert k.steps["survival"].to_list() == pytest.approx([1.0, 6 / 7, 6 / 7])
    assert k.steps["ci_low"][1] == pytest.approx(0.334054, abs=1e-6)
    assert k.censored.height == 6 and np.allclose(k.censored["survival"].to_numpy(), 6 / 7)
    assert k.at_risk["n_at_risk"].to_list() == [7, 5, 3, 1]  # times 70, 226.7, 383.3, 540, 842, 1066, 1290
    d = sv.km_table(pl.DataFrame({"time": [1.0, 2.0, 2.0, 3.0], "event": [1, 1, 0, 0]}))
    assert d.steps["survival"].to_list() == pytest.approx([1.0, 0.75, 0.5, 0.5])
    assert d.at_risk.height == 6
    with pytest.raises(ValueError, match="event must be 0"):
        sv.km_table(pl.DataFrame({"time": [1.0], "event": [2]}))

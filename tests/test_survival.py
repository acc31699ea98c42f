"""Tests of analysis.survival: reconstruction from summaries and curves, landmarks, curve files."""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from analysis import survival as sv
from analysis.survival import FollowUp, Landmark

FIXTURES = Path(__file__).parent / "fixtures" / "curves"
FIXTURE = FIXTURES / "example2020__os__all.csv"
REPO = Path(__file__).resolve().parents[1]


def lifelines_at(kmf: KaplanMeierFitter, t: float) -> tuple[float, float, float]:
    """S, lower, upper read straight from lifelines' tables at time t (last row <= t)."""
    sf = kmf.survival_function_.loc[:t].iloc[-1, 0]
    ci = kmf.confidence_interval_.loc[:t].iloc[-1]
    return float(sf), float(ci.iloc[0]), float(ci.iloc[1])


# =========================================================================== ddCAR-T2 (exact)


@pytest.fixture(scope="module")
def ddcart2():
    return sv.from_summary(
        7,
        [Landmark(730, "85.7", "33.4", "97.9", label="2-year OS")],
        event_times=[70],
        n_events=1,
        followup=FollowUp(median=540, minimum=70, maximum=1290),
        time_unit="days",
        label="ddCAR-T2",
    )


def test_ddcart2_lifelines_two_year_os_and_loglog_ci(ddcart2):
    data = ddcart2.data.to_pandas()
    kmf = KaplanMeierFitter().fit(data["time"], data["event"])  # independent lifelines fit
    S, lo, hi = lifelines_at(kmf, 730)
    assert round(100 * S, 1) == 85.7
    assert round(100 * lo, 1) == 33.4
    assert round(100 * hi, 1) == 97.9
    assert S == pytest.approx(6 / 7, abs=1e-12)
    assert lo == pytest.approx(0.334054, abs=1e-6)
    assert hi == pytest.approx(0.978561, abs=1e-6)


def test_ddcart2_dataset_respects_every_reported_figure(ddcart2):
    t = ddcart2.data["time"].to_numpy()
    e = ddcart2.data["event"].to_numpy()
    assert len(t) == 7 and e.sum() == 1
    assert t[e == 1].tolist() == [70.0]
    assert t.min() == 70 and t.max() == 1290 and np.median(t) == 540
    assert ddcart2.all_match
    assert ddcart2.checks.height == 5
    assert ddcart2.checks["match"].to_list() == [True] * 5
    row = ddcart2.checks.row(0, named=True)
    assert row["reconstructed_lower"] == pytest.approx(0.334054, abs=1e-6)
    assert row["reconstructed_upper"] == pytest.approx(0.978561, abs=1e-6)
    # the fitted model attribute is lifelines' and agrees
    assert sv.km_at(ddcart2.kmf, 730)[0] == pytest.approx(6 / 7)


def test_ddcart2_constrainedness(ddcart2):
    # K C C C [C C] | ... : 3, 4 or 5 censorings before 730 days (ranks 5 and 6 lie in 540-1290)
    assert ddcart2.n_consistent == 3
    assert sorted(ddcart2.configurations["censored_before_last_landmark"].to_list()) == [3, 4, 5]
    env = ddcart2.envelope
    at = env.filter(pl.col("time") == 730.0).row(0, named=True)
    assert at["lower"] == pytest.approx(6 / 7) and at["upper"] == pytest.approx(6 / 7)
    before = env.filter(pl.col("time") < 70)
    assert (before["lower"] == 1.0).all() and (before["upper"] == 1.0).all()
    # the envelope always contains the chosen curve
    assert (env["lower"] <= env["reconstructed"] + 1e-12).all()
    assert (env["reconstructed"] <= env["upper"] + 1e-12).all()
    s = ddcart2.summary
    assert s["n"][0] == 7 and s["events"][0] == 1 and s["n_consistent"][0] == 3 and s["all_checks_match"][0]
    assert "2-year OS" in str(ddcart2) and "match" in str(ddcart2)


def test_wrong_ci_is_reported_not_hidden():
    r = sv.from_summary(7, [Landmark(730, "85.7", "40.0", "97.9")], event_times=[70], n_events=1,
                        followup=FollowUp(540, 70, 1290))
    assert not r.all_match
    assert r.checks.row(0, named=True)["match"] is False
    assert any("CI" in n and "dropped" in n for n in r.notes)


# =========================================================================== Roddie 2025 arms


def brute_force_count(n: int, target: float, tol: float) -> int:
    """Independent count: every E/C sequence with every landmark cut position (no other constraint)."""
    count = 0
    for seq in itertools.product("EC", repeat=n):
        for cut in range(n + 1):  # letters [0, cut) fall before the landmark
            S, r = 1.0, n
            for c in seq[:cut]:
                if c == "E":
                    S *= (r - 1) / r
                r -= 1
            count += abs(S - target) <= tol
    return count


RODDIE = [  # arm, outcome, printed 12-month percentage, k/7 ?
    ("car_dli_alone", "os", "29", True),
    ("car_dli_alone", "efs", "29", True),
    ("car_dli_ld", "os", "83", False),
    ("car_dli_ld", "efs", "57", True),
]


@pytest.mark.parametrize("arm,outcome,pct,k_over_n", RODDIE)
def test_roddie_arms_reconstruct_exactly(arm, outcome, pct, k_over_n):
    r = sv.from_summary(7, [Landmark(12, pct, label=f"12-month {outcome}")], time_unit="months", label=arm)
    S, _, _ = lifelines_at(KaplanMeierFitter().fit(r.data["time"].to_numpy(), r.data["event"].to_numpy()), 12)
    assert round(100 * S) == int(pct)
    assert r.all_match
    # the number of consistent configurations is exactly the brute-force count
    assert r.n_consistent == brute_force_count(7, int(pct) / 100, 0.005 + 1e-9)
    notes = " ".join(r.notes)
    if k_over_n:
        assert "is k/n for k =" in notes
    else:
        assert "is not k/7 for any k" in notes and "5/6" in notes


def test_roddie_83_percent_needs_censoring_before_12_months():
    r = sv.from_summary(7, [Landmark(12, "83")], time_unit="months")
    d = r.data.to_pandas()
    before = d[d["time"] <= 12]
    assert before["event"].sum() == 1  # one death ...
    assert ((before["event"] == 0) & (before["time"] < before.loc[before["event"] == 1, "time"].iloc[0])).sum() == 1
    # ... after one censoring: S = 5/6
    assert sv.km_at(r.kmf, 12)[0] == pytest.approx(5 / 6)
    # every consistent configuration gives 5/6 at 12 months, with >= 1 censoring before it
    assert all(v == [pytest.approx(5 / 6)] for v in r.configurations["S_at_landmarks"].to_list())
    assert r.configurations["censored_before_last_landmark"].min() == 1
    env = r.envelope.filter(pl.col("time") == 12.0).row(0, named=True)
    assert env["lower"] == pytest.approx(5 / 6) and env["upper"] == pytest.approx(5 / 6)


def test_km_configurations_printed_percentages():
    c83 = sv.km_configurations(7, "83")
    assert c83.height == 1
    row = c83.row(0, named=True)
    assert row["fraction"] == "5/6" and row["at_risk"] == [6] and row["events"] == 1
    assert row["censored_before_last_event"] == 1 and row["k_over_n"] is False

    c29 = sv.km_configurations(7, "29")
    assert sorted(map(tuple, c29["at_risk"].to_list())) == [(7, 3, 2), (7, 6, 5, 2), (7, 6, 5, 4, 3)]
    assert set(c29["fraction"]) == {"2/7"} and c29["k_over_n"].all()
    assert c29.row(0, named=True)["censored_before_last_event"] == 0  # sorted: no censoring first

    c57 = sv.km_configurations(7, "57")
    assert sorted(map(tuple, c57["at_risk"].to_list())) == [(7, 3), (7, 6, 5)]
    # 85.7 with one decimal from 7 patients: only 6/7
    c857 = sv.km_configurations(7, "85.7")
    assert c857["fraction"].to_list() == ["6/7"]
    # decimals matter: "83.3" admits 5/6 only, "83.0" admits nothing from 7 patients
    assert sv.km_configurations(7, "83.3")["fraction"].to_list() == ["5/6"]
    assert sv.km_configurations(7, "83.0").height == 0
    with pytest.raises(ValueError, match="positive integer"):
        sv.km_configurations(0, "50")


# =========================================================================== from_summary, general


def test_from_summary_two_landmarks_even_followup_median():
    r = sv.from_summary(8, [Landmark(180, "62.5"), Landmark(365, "50")], followup=FollowUp(200, 10, 700))
    assert r.all_match
    t = r.data["time"].to_numpy()
    assert np.median(t) == pytest.approx(200) and t.min() == 10 and t.max() == 700
    assert sv.km_at(r.kmf, 180)[0] == pytest.approx(0.625) and sv.km_at(r.kmf, 365)[0] == pytest.approx(0.5)


def test_from_summary_seeded_choices_are_reproducible():
    kw = dict(time_unit="months", choose="random", times="random")
    a = sv.from_summary(7, [Landmark(12, "83")], seed=3, **kw)
    b = sv.from_summary(7, [Landmark(12, "83")], seed=3, **kw)
    assert a.data.equals(b.data)
    seen = {tuple(sv.from_summary(7, [Landmark(12, "83")], seed=s, **kw).data["time"].round(6)) for s in range(6)}
    assert len(seen) > 1
    for s in range(6):  # every seeded choice still reproduces the report
        assert sv.from_summary(7, [Landmark(12, "83")], seed=s, **kw).all_match


def test_from_summary_total_events_constrains():
    r = sv.from_summary(7, [Landmark(12, "83")], n_events=1, followup=FollowUp(maximum=30), time_unit="months")
    assert r.data["event"].sum() == 1
    # one death before 12 months, none after: the curve stays at 5/6 to the end
    env_after = r.envelope.filter(pl.col("time") > 12)
    assert np.allclose(env_after["lower"].to_numpy(), 5 / 6) and np.allclose(env_after["upper"].to_numpy(), 5 / 6)


def test_from_summary_descriptive_median_only():
    # Hua 2020, CAR-T arm: "overall survival 9.5 months (range 3-25)" -- a median of observed times
    r = sv.from_summary(13, followup=FollowUp("9.5", 3, 25), time_unit="months")
    t = r.data["time"].to_numpy()
    assert np.median(t) == pytest.approx(9.5) and t.min() == 3 and t.max() == 25
    assert r.all_match and r.n_consistent == 2 ** 13  # any death/censoring pattern fits
    env = r.envelope.filter(pl.col("time") == 20.0).row(0, named=True)
    assert env["lower"] < 0.1 and env["upper"] == 1.0  # ... so the curve is not identified
    assert any("No landmark" in n for n in r.notes)


def test_from_summary_followup_of_censored_patients():
    r = sv.from_summary(7, [Landmark(12, "57")], followup=FollowUp(18, 14, 30, of="censored"), time_unit="months")
    d = r.data.to_pandas()
    cens = d.loc[d["event"] == 0, "time"].to_numpy()
    assert np.median(cens) == pytest.approx(18) and cens.min() == 14 and cens.max() == 30
    assert r.all_match and sv.km_at(r.kmf, 12)[0] == pytest.approx(4 / 7)


def test_from_summary_truncation_is_reported():
    r = sv.from_summary(12, [Landmark(12, "50")], time_unit="months", max_configurations=50)
    assert r.truncated and r.n_consistent == 50
    assert any("lower bound" in n for n in r.notes)
    assert r.summary["truncated"][0]


def test_from_summary_reproduces_summaries_of_random_small_series():
    """Property: summaries computed from any real small dataset (lifelines KM at landmarks, printed
    with 0 or 1 decimals and the log(-log) CI, events, follow-up of all or of censored patients)
    are always reconstructed with every check matching."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(3, 11))
        t = np.round(rng.exponential(300, n)) + 1
        c = np.round(rng.uniform(50, 1500, n))
        tt, ee = np.minimum(t, c), (t <= c).astype(int)
        kmf = KaplanMeierFitter().fit(tt, ee)
        lms = []
        for x in sorted(rng.choice([90, 180, 365, 730], size=int(rng.integers(1, 3)), replace=False)):
            S, lo, hi = lifelines_at(kmf, float(x))
            if seed % 2 and 0 < S < 1:
                lms.append(Landmark(float(x), f"{100 * S:.1f}", f"{100 * lo:.1f}", f"{100 * hi:.1f}"))
            else:
                lms.append(Landmark(float(x), f"{100 * S:.0f}"))
        kw = {"n_events": int(ee.sum())} if seed % 3 else {}
        if seed % 4 == 1:
            kw["followup"] = FollowUp(float(np.median(tt)), float(tt.min()), float(tt.max()))
        elif seed % 4 == 3 and (ee == 0).any():
            ct = tt[ee == 0]
            kw["followup"] = FollowUp(float(np.median(ct)), float(ct.min()), float(ct.max()), of="censored")
        if seed % 5 == 0:
            kw["event_times"] = sorted(tt[ee == 1].tolist())
        r = sv.from_summary(n, lms, **kw)
        assert r.all_match, (seed, str(r))
        assert r.n_consistent >= 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=3, landmarks=[Landmark(12, "90")]), "no dataset"),
    (dict(n=0, landmarks=[Landmark(12, "50")]), "positive integer"),
    (dict(n=7, landmarks=[Landmark(12, "120")]), "outside"),
    (dict(n=7, landmarks=[Landmark(-1, "50")]), "must be > 0"),
    (dict(n=7, landmarks=[Landmark(12, "50", "60", "70")]), "bracket"),
    (dict(n=7, landmarks=[Landmark(6, "50"), Landmark(12, "70")]), "increase"),
    (dict(n=7, event_times=[5], n_events=0), "n_events"),
    (dict(n=7, followup=FollowUp(100, 200, 300)), "minimum <= median"),
    (dict(n=7, landmarks=[Landmark(12, "x")]), "not a number"),
])
def test_from_summary_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sv.from_summary(**kwargs)


# =========================================================================== Guyot round trips


def simulate(rng, n, shape, scale, cure=0.0, hr=1.0, admin=30.0, cens_max=60.0):
    t = scale * (-np.log(rng.uniform(size=n)) / hr) ** (1.0 / shape)
    if cure:
        t[rng.uniform(size=n) < cure] = np.inf
    c = np.minimum(rng.uniform(0, cens_max, size=n), admin)
    return np.minimum(t, c), (t <= c).astype(int)


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


# =========================================================================== curve files


def copy_fixture(tmp_path: Path, stem: str = "example2020__os__all") -> Path:
    for p in FIXTURES.glob("example2020__os__all*"):
        shutil.copy(p, tmp_path / p.name.replace("example2020__os__all", stem))
    return tmp_path / f"{stem}.csv"


def test_load_curve_fixture_and_reconstruct():
    c = sv.load_curve(FIXTURE)
    assert (c.study, c.outcome, c.arm) == ("example2020", "os", "all")
    assert c.time_unit == "months" and c.total_events == 31
    assert c.points.columns == ["time", "survival"] and c.risk["n_at_risk"].to_list() == [40, 23, 8, 6, 2, 1]
    r = c.reconstruct()
    assert r.data.height == 40 and r.data["event"].sum() == 31
    assert (r.intervals["n_at_risk_hat"] == r.intervals["n_at_risk"]).all()


def test_load_curves_directory(tmp_path):
    assert sv.load_curves(REPO / "data" / "curves") == []  # none digitised yet
    assert sv.load_curves(tmp_path / "missing") == []
    copy_fixture(tmp_path)
    curves = sv.load_curves(tmp_path)
    assert [c.path.name for c in curves] == ["example2020__os__all.csv"]
    (tmp_path / "orphan2020__os__all__risk.csv").write_text("time,n_at_risk\n0,3\n")
    with pytest.raises(ValueError, match="without its curve"):
        sv.load_curves(tmp_path)


def _edit(path: Path, line_no: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[line_no - 1] = new
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("which,line,new,match", [
    ("curve", 3, "0.321,abc", r"line 3, column survival: 'abc' is not a number"),
    ("curve", 4, "-1,0.97", r"line 4, column time: negative time"),
    ("curve", 5, "1.2,1.5", r"line 5, column survival: 1.5 is outside \[0, 1\]"),
    ("curve", 1, "t,s", "header must be exactly time,survival"),
    ("curve", 6, "1.5", "line 6: expected 2 fields"),
    ("risk", 3, "6,45", r"line 3, column n_at_risk: numbers at risk increase \(40 -> 45\)"),
    ("risk", 2, "1,40", "must start at time 0"),
    ("risk", 4, "6,7", "strictly increasing"),
    ("risk", 3, "6,22.5", "not a non-negative integer"),
])
def test_load_curve_errors_name_file_and_row(tmp_path, which, line, new, match):
    csv_path = copy_fixture(tmp_path)
    target = csv_path if which == "curve" else tmp_path / "example2020__os__all__risk.csv"
    _edit(target, line, new)
    with pytest.raises(ValueError, match=match) as exc:
        sv.load_curve(csv_path)
    assert target.name in str(exc.value)


def test_load_curve_metadata_errors(tmp_path):
    csv_path = copy_fixture(tmp_path)
    meta = tmp_path / "example2020__os__all.yaml"
    text = meta.read_text()
    meta.write_text(text.replace("arm: all", "arm: other"))
    with pytest.raises(ValueError, match="field arm is 'other' but the file name says 'all'"):
        sv.load_curve(csv_path)
    meta.write_text(text.replace("time_unit: months", "time_unit: fortnights"))
    with pytest.raises(ValueError, match="time_unit"):
        sv.load_curve(csv_path)
    meta.write_text(text.replace("figure:", "figgure:"))
    with pytest.raises(ValueError, match="unknown field"):
        sv.load_curve(csv_path)
    meta.write_text(text.replace("total_events: 31", "total_events: 99"))
    with pytest.raises(ValueError, match="total_events"):
        sv.load_curve(csv_path)
    meta.unlink()
    with pytest.raises(ValueError, match="missing metadata sidecar"):
        sv.load_curve(csv_path)


@pytest.mark.parametrize("name,match", [
    ("Example2020__os__all.csv", "file name"),
    ("example2020_os_all.csv", "file name"),
    ("example__os__all.csv", "publication year"),
    ("example2020__overall__all.csv", "unknown outcome"),
])
def test_load_curve_bad_names(tmp_path, name, match):
    p = copy_fixture(tmp_path, stem=name[:-4])
    with pytest.raises(ValueError, match=match):
        sv.load_curve(p)


def test_load_curve_unknown_study(tmp_path):
    p = copy_fixture(tmp_path)
    with pytest.raises(ValueError, match="unknown study id 'example2020'"):
        sv.load_curve(p, known_studies=["roddie2025"])


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
    curve = sv.load_curve(FIXTURE).reconstruct()
    tab = sv.landmark_table([
        dict(study="ddcart2", arm="all", outcome="os", time=730, result=ddcart2),
        dict(study="ddcart2", arm="all", outcome="os", time=730, estimate="85.7", lower="33.4", upper="97.9",
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
    assert k.steps.columns == ["time", "survival", "ci_lower", "ci_upper", "study"]
    assert k.steps["time"].to_list() == [0.0, 70.0, 1290.0]
    assert k.steps["survival"].to_list() == pytest.approx([1.0, 6 / 7, 6 / 7])
    assert k.steps["ci_lower"][1] == pytest.approx(0.334054, abs=1e-6)
    assert k.censored.height == 6 and np.allclose(k.censored["survival"].to_numpy(), 6 / 7)
    assert k.at_risk["n_at_risk"].to_list() == [7, 5, 3, 1]  # times 70, 226.7, 383.3, 540, 842, 1066, 1290
    d = sv.km_table(pl.DataFrame({"time": [1.0, 2.0, 2.0, 3.0], "event": [1, 1, 0, 0]}))
    assert d.steps["survival"].to_list() == pytest.approx([1.0, 0.75, 0.5, 0.5])
    assert d.at_risk.height == 6
    with pytest.raises(ValueError, match="event must be 0"):
        sv.km_table(pl.DataFrame({"time": [1.0], "event": [2]}))


def test_km_table_feeds_the_charts_helper():
    charts = pytest.importorskip("analysis.charts")
    a = sv.km_table(sv.from_summary(7, [Landmark(12, "83")], time_unit="months"), [0, 6, 12], arm="CAR-DLI + LD")
    b = sv.km_table(sv.from_summary(7, [Landmark(12, "29")], time_unit="months"), [0, 6, 12], arm="CAR-DLI alone")
    chart = charts.km(pl.concat([a.steps, b.steps]), pl.concat([a.at_risk, b.at_risk]),
                      pl.concat([a.censored, b.censored]), color="arm", time_unit="months")
    assert chart.to_dict()  # renders to a Vega-Lite spec

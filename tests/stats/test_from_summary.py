"""Reconstruction from reported summaries (from_summary, km_configurations) against lifelines and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from analysis.stats import survival as sv
from analysis.stats.survival import FollowUp, Landmark
from survhelp import lifelines_at


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
    assert row["reconstructed_low"] == pytest.approx(0.334054, abs=1e-6)
    assert row["reconstructed_high"] == pytest.approx(0.978561, abs=1e-6)
    # the fitted model attribute is lifelines' and agrees
    assert sv.km_at(ddcart2.kmf, 730)[0] == pytest.approx(6 / 7)


def test_ddcart2_constrainedness(ddcart2):
    # K C C C [C C] | ... : 3, 4 or 5 censorings before 730 days (ranks 5 and 6 lie in 540-1290)
    assert ddcart2.n_consistent == 3
    assert sorted(ddcart2.configurations["censored_before_last_landmark"].to_list()) == [3, 4, 5]
    env = ddcart2.envelope
    at = env.filter(pl.col("time") == 730.0).row(0, named=True)
    assert at["s_min"] == pytest.approx(6 / 7) and at["s_max"] == pytest.approx(6 / 7)
    before = env.filter(pl.col("time") < 70)
    assert (before["s_min"] == 1.0).all() and (before["s_max"] == 1.0).all()
    # the envelope always contains the chosen curve
    assert (env["s_min"] <= env["reconstructed"] + 1e-12).all()
    assert (env["reconstructed"] <= env["s_max"] + 1e-12).all()
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
    assert env["s_min"] == pytest.approx(5 / 6) and env["s_max"] == pytest.approx(5 / 6)


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
    assert np.allclose(env_after["s_min"].to_numpy(), 5 / 6) and np.allclose(env_after["s_max"].to_numpy(), 5 / 6)


def test_from_summary_descriptive_median_only():
    # Hua 2020, CAR-T arm: "overall survival 9.5 months (range 3-25)" -- a median of observed times
    r = sv.from_summary(13, followup=FollowUp("9.5", 3, 25), time_unit="months")
    t = r.data["time"].to_numpy()
    assert np.median(t) == pytest.approx(9.5) and t.min() == 3 and t.max() == 25
    assert r.all_match and r.n_consistent == 2 ** 13  # any death/censoring pattern fits
    env = r.envelope.filter(pl.col("time") == 20.0).row(0, named=True)
    assert env["s_min"] < 0.1 and env["s_max"] == 1.0  # ... so the curve is not identified
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

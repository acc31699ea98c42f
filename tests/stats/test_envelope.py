"""The envelope of Kaplan-Meier curves consistent with a summary, against brute force on a time lattice."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from analysis.stats.survival import Landmark, loglog_ci, survival_envelope

H = 6  # horizon; patients' times lie on the lattice 0.5, 1, ..., H and S(t) is compared at t = 0, 1, ..., H
STEP = 0.5  # finer than the comparison grid: a death may follow a censoring strictly, as in continuous time


def km(times, events, t):
    """Kaplan-Meier S(t) and Greenwood sum, written out (independent of the package)."""
    S, gw = 1.0, 0.0
    for s in sorted({u for u, e in zip(times, events) if e and u <= t}):
        r = sum(1 for u in times if u >= s)
        d = sum(1 for u, e in zip(times, events) if e and u == s)
        S *= 1 - d / r
        gw = gw + d / (r * (r - d)) if r > d else math.inf
    return S, gw


def brute_force(n, targets, n_events=None):
    """Pointwise min/max of S(t), t = 0..H, over every dataset of n patients on the lattice whose
    landmark estimates (and CIs, when given) print as reported."""
    options = [(STEP * i, e) for i in range(1, int(H / STEP) + 1) for e in (0, 1)]
    lo, hi = np.ones(H + 1), np.zeros(H + 1)
    count = 0
    for data in itertools.combinations_with_replacement(options, n):
        times = [d[0] for d in data]
        events = [d[1] for d in data]
        if n_events is not None and sum(events) != n_events:
            continue
        ok = True
        for t, S_rep, tol, ci, ci_tol in targets:
            S, gw = km(times, events, t)
            if abs(S - S_rep) > tol:
                ok = False
                break
            if ci is not None:
                clo, chi = loglog_ci(S, gw)
                if not (abs(clo - ci[0]) <= ci_tol and abs(chi - ci[1]) <= ci_tol):
                    ok = False
                    break
        if not ok:
            continue
        count += 1
        s = np.array([km(times, events, t)[0] for t in range(H + 1)])
        lo, hi = np.minimum(lo, s), np.maximum(hi, s)
    assert count > 0
    return lo, hi


CASES = [
    (4, [Landmark(3, "50")], None),
    (4, [Landmark(2, "75"), Landmark(4, "50")], 3),
    (4, [Landmark(3, "67")], None),  # 2/3 needs a censoring before the death at risk 3
    (3, [Landmark(3, "67", "5.4", "94.5")], None),  # 2/3 of 3 with its log(-log) CI
]


@pytest.mark.parametrize("n,landmarks,n_events", CASES)
def test_envelope_equals_brute_force(n, landmarks, n_events):
    env = survival_envelope(n, landmarks, n_events=n_events, horizon=H, grid=range(H + 1))
    def tol(printed: str) -> float:  # half a unit of the last printed digit, in proportion units
        return 0.5 * 10 ** -(len(printed.split(".")[1]) if "." in printed else 0) / 100 + 1e-9

    targets = []
    for lm in landmarks:
        ci = None if lm.ci_low is None else (float(lm.ci_low) / 100, float(lm.ci_high) / 100)
        targets.append((lm.time, float(lm.estimate) / 100, tol(lm.estimate), ci, None if ci is None else tol(lm.ci_low)))
    lo, hi = brute_force(n, targets, n_events)
    np.testing.assert_allclose(env.curve["s_min"].to_numpy(), lo, atol=1e-12)
    np.testing.assert_allclose(env.curve["s_max"].to_numpy(), hi, atol=1e-12)


def test_landmarks_are_returned_as_reported():
    env = survival_envelope(3, [Landmark(3, "67", "5.4", "94.5", label="3-month OS")], horizon=H)
    row = env.landmarks.row(0, named=True)
    assert row == pytest.approx({"label": "3-month OS", "time": 3.0, "estimate": 0.67, "ci_low": 0.054, "ci_high": 0.945})
    assert not env.ci_dropped and env.n_consistent >= 1
    # the CI used here is the log(-log) interval of 2/3 with 3 patients
    assert loglog_ci(2 / 3, 1 / 6) == pytest.approx((0.0541, 0.9452), abs=5e-5)
    assert "consistent configuration" in str(env)

"""Property-based tests (hypothesis 6.170.15): invariances and bounds every result must respect.

Raw proportions (transform="raw") are left out of the [0, 1] property on purpose: metafor does not
clip them and neither does this package.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analysis.stats.meta import crude_proportion, mantel_haenszel, pool_proportions, rma
from analysis.stats.proportions import CI_METHODS, ci

# some random data make REML's Fisher scoring oscillate: the fit then says so and maximises directly
# (tests/stats/test_rma.py tests that fallback and its warning); here other properties are under test
pytestmark = pytest.mark.filterwarnings("ignore:Fisher scoring did not converge:UserWarning")

# database=None: nothing is written to the work tree (.hypothesis/); failures print their example
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


@st.composite
def effects(draw, min_k=2, max_k=8):
    k = draw(st.integers(min_k, max_k))
    yi = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k))
    vi = draw(st.lists(st.floats(0.005, 2.0, allow_nan=False), min_size=k, max_size=k))
    return np.array(yi), np.array(vi)


@st.composite
def counts(draw, min_k=2, max_k=6):
    k = draw(st.integers(min_k, max_k))
    n = draw(st.lists(st.integers(1, 60), min_size=k, max_size=k))
    x = [draw(st.integers(0, m)) for m in n]
    return np.array(x), np.array(n)


def permuted(data, perm):
    return [np.asarray(a)[perm] for a in data]


@SETTINGS
@given(effects(), st.randoms(use_true_random=False), st.sampled_from(["REML", "ML", "DL", "PM", "HE", "SJ", "FE"]))
def test_rma_is_invariant_to_study_order(data, rnd, method):
    perm = list(range(len(data[0])))
    rnd.shuffle(perm)
    a, b = rma(*data, method=method), rma(*permuted(data, perm), method=method)
    # closed forms agree to rounding; an iterative tau^2 (REML, ML, PM) to its convergence threshold
    # (metafor's default 1e-5 on the change in tau^2), not beyond (seen: 2.3e-7 relative on REML)
    rel, abs_ = (1e-7, 1e-9) if method in ("DL", "HE", "SJ", "FE") else (1e-5, 1e-7)
    for attr in ("estimate", "ci_low", "ci_high", "tau2", "q", "pi_low", "pi_high"):
        assert getattr(a, attr) == pytest.approx(getattr(b, attr), rel=rel, abs=abs_)


@SETTINGS
@given(counts(), st.randoms(use_true_random=False), st.sampled_from(["logit", "ft", "arcsine", "raw"]))
def test_pooled_proportions_are_invariant_to_study_order(data, rnd, transform):
    perm = list(range(len(data[0])))
    rnd.shuffle(perm)
    a = pool_proportions(*data, transform=transform)
    b = pool_proportions(*permuted(data, perm), transform=transform)
    # tau^2 by REML (iterative): agreement to its convergence threshold, as in the rma test above
    assert (a.estimate, a.ci_low, a.ci_high) == pytest.approx((b.estimate, b.ci_low, b.ci_high), rel=1e-5, abs=1e-7)


@FEW
@given(counts(max_k=4), st.randoms(use_true_random=False))
def test_glmm_is_invariant_to_study_order(data, rnd):
    x, n = data
    if x.sum() == 0 or x.sum() == n.sum():
        return  # no finite logistic estimate
    perm = list(range(len(x)))
    rnd.shuffle(perm)
    try:
        a = pool_proportions(x, n, transform="glmm", nAGQ=7)
    except ValueError as err:  # tau^2 not identified: the permuted data must be refused as well
        assert "information matrix is singular" in str(err)
        with pytest.raises(ValueError, match="information matrix is singular"):
            pool_proportions(*permuted(data, perm), transform="glmm", nAGQ=7)
        return
    b = pool_proportions(*permuted(data, perm), transform="glmm", nAGQ=7)
    # the objective is the same function of the data in any order: the maximum is the same
    assert a.model.loglik == pytest.approx(b.model.loglik, abs=1e-7)
    # where the optimum sits is known to the optimiser's tolerance, which on a flat likelihood (e.g.
    # 0/1, 0/1, 1/1: se about 50) is wide on the estimate's scale: agreement relative to the se
    tol = 1e-3 * max(1.0, a.model.se)
    assert abs(a.model.estimate - b.model.estimate) <= tol
    if a.model.se < 10:  # a well-determined fit
        # se comes from a finite-difference Hessian (step 1e-4, as lme4): agreement to 1e-3, not to the last digit
        assert a.model.se == pytest.approx(b.model.se, rel=1e-3)
        logit = lambda p: np.log(p / (1 - p))  # noqa: E731
        ci_tol = 3 * tol  # a bound is estimate ± z·se: it moves by both tolerances (z < 2)
        assert abs(logit(a.ci_low) - logit(b.ci_low)) <= ci_tol and abs(logit(a.ci_high) - logit(b.ci_high)) <= ci_tol


@SETTINGS
@given(counts(min_k=1), st.sampled_from(["logit", "ft", "arcsine"]))
def test_back_transformed_proportions_stay_in_0_1(data, transform):
    r = pool_proportions(*data, transform=transform)
    for v in (r.estimate, r.ci_low, r.ci_high, r.pi_low, r.pi_high, r.hk_low, r.hk_high):
        assert v is None or 0.0 <= v <= 1.0
    assert r.ci_low <= r.estimate <= r.ci_high
    sf = r.summary_frame()
    assert ((sf["ci_low"] >= 0) & (sf["ci_high"] <= 1)).all()


@FEW
@given(counts(max_k=4))
def test_glmm_proportions_stay_in_0_1(data):
    x, n = data
    if x.sum() == 0 or x.sum() == n.sum():
        return
    try:
        r = pool_proportions(x, n, transform="glmm", nAGQ=7)
    except ValueError as err:  # tau^2 not identified (as metafor, which cannot invert the Hessian)
        assert "information matrix is singular" in str(err)
        return
    for v in (r.estimate, r.ci_low, r.ci_high, r.pi_low, r.pi_high):
        assert 0.0 <= v <= 1.0
    assert r.ci_low <= r.estimate <= r.ci_high


@SETTINGS
@given(counts(min_k=1))
def test_crude_count_and_single_proportion_cis_stay_in_0_1(data):
    r = crude_proportion(*data)
    assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0
    x, n = data
    for m in CI_METHODS:
        lo, hi = ci(x, n, m)
        assert np.all((0 <= lo) & (lo <= x / n + 1e-12) & (x / n - 1e-12 <= hi) & (hi <= 1))


@SETTINGS
@given(effects(min_k=1))
def test_common_effect_estimate_lies_within_the_study_estimates(data):
    yi, vi = data
    r = rma(yi, vi, method="FE")
    assert yi.min() - 1e-12 <= r.estimate <= yi.max() + 1e-12


@SETTINGS
@given(counts(min_k=2, max_k=5), counts(min_k=2, max_k=5))
def test_mantel_haenszel_or_lies_within_the_study_odds_ratios(g1, g2):
    k = min(len(g1[0]), len(g2[0]))
    a, n1 = g1[0][:k], g1[1][:k]
    c, n2 = g2[0][:k], g2[1][:k]
    b, d = n1 - a, n2 - c
    if np.any(b * c == 0) or np.sum(a * d / (n1 + n2)) == 0:
        return  # a study OR is undefined or the MH OR is 0
    r = mantel_haenszel(a, n1, c, n2, "OR")
    ors = a * d / (b * c)
    assert ors.min() * (1 - 1e-12) <= r.exp_estimate <= ors.max() * (1 + 1e-12)
    assert r.exp_ci_low <= r.exp_estimate <= r.exp_ci_high


@SETTINGS
@given(effects(), st.sampled_from(["REML", "DL", "PM"]), st.sampled_from(["z", "knha", "adhoc"]))
@example((np.array([0, 0, 0, 1.75, 0, 0]), np.array([1, 1, 1, 0.1875, 0.0078125, 0.0078125])), "REML", "z")
@example((np.array([0, 0, 0, 1.75, 0, 0]), np.array([1, 1, 1, 0.1875, 0.0078125, 0.0078125])), "PM", "z")
def test_estimate_lies_in_its_intervals(data, method, test):
    r = rma(*data, method=method, test=test)
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.estimate <= r.pi_high
    assert r.hk_low <= r.estimate <= r.hk_high
    assert r.tau2_low <= r.tau2_high
    if method == "PM":
        # the Q-profile interval is {tau2: chi2_{k-1}(a/2) <= Q(tau2) <= chi2_{k-1}(1-a/2)} and PM solves
        # Q(tau2) = k - 1 (or is 0 where Q(0) < k - 1), so it always lies inside; a DL or REML estimate
        # need not: metafor's confint.rma.uni notes that the interval consistent with ML/REML is the
        # profile-likelihood one (the examples above: REML's Fisher scoring from the HE estimate, metafor's
        # algorithm, stops at tau2 = 0, a local maximum of the REML likelihood; the Q-profile interval is
        # .032 to 2.83 and holds PM's .309)
        assert r.tau2_low <= r.tau2 + 1e-9 <= r.tau2_high + 2e-9 or r.confint().low_sign == ">"

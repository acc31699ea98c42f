"""The binomial-normal GLMM on sparse series: node selection, t test, profile-likelihood CI of tau^2.

The independent reference is the marginal likelihood integrated by scipy.integrate.quad
(adaptive Gauss-Kronrod on the whole real line), not this package's quadrature.
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from analysis.stats.meta import glmm_proportion, pool_proportions

SPARSE = [([0, 0, 1], [43, 28, 7]), ([2, 0, 1], [43, 13, 7]), ([1, 0, 2], [43, 7, 7])]


def quad_loglik(beta: float, theta: float, x, n) -> float:
    """sum_i log int Bin(x_i | n_i, expit(beta + theta u)) phi(u) du, by scipy.integrate.quad."""
    total = 0.0
    for xi, ni in zip(x, n):
        lc = special.gammaln(ni + 1) - special.gammaln(xi + 1) - special.gammaln(ni - xi + 1)

        def f(u, xi=xi, ni=ni, lc=lc):
            eta = beta + theta * u  # Bin(x | n, expit(eta)) on the log scale, without underflow
            return math.exp(lc - xi * np.logaddexp(0, -eta) - (ni - xi) * np.logaddexp(0, eta) - u * u / 2) / math.sqrt(2 * math.pi)

        val, _ = integrate.quad(f, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-12, limit=400)
        total += math.log(val)
    return total


def quad_profile(theta: float, x, n, beta0: float) -> float:
    """max over beta of the quad log-likelihood at tau = theta."""
    opt = optimize.minimize_scalar(lambda b: -quad_loglik(b, theta, x, n), bracket=(beta0 - 1, beta0 + 1), tol=1e-9)
    return -opt.fun


@pytest.mark.parametrize("x,n", SPARSE[:1] + SPARSE[2:])
def test_adaptive_nodes_reach_the_quad_likelihood_maximum(x, n):
    r = glmm_proportion(x, n)  # nAGQ="auto"
    assert r.method == f"ML (GLMM, nAGQ={r.nAGQ}, adaptive)" and r.nAGQ > 7
    # the settled log-likelihood is the quad log-likelihood at the estimate ...
    assert r.loglik == pytest.approx(quad_loglik(r.estimate, r.tau, x, n), abs=1e-7)
    # ... and the estimate maximises it: a direct search from there finds nothing better
    f = lambda p: -quad_loglik(p[0], abs(p[1]), x, n)  # noqa: E731
    opt = optimize.minimize(f, [r.estimate, r.tau], method="Nelder-Mead",
                            options={"xatol": 1e-7, "fatol": 1e-11, "maxiter": 400})
    assert -opt.fun <= r.loglik + 1e-7
    assert opt.x[0] == pytest.approx(r.estimate, abs=1e-3) and abs(opt.x[1]) == pytest.approx(r.tau, abs=1e-3)
    # successive node counts agree to the tolerance at the one used
    assert abs(r.nagq_path[-1][1] - r.nagq_path[-2][1]) < 1e-8


def test_seven_nodes_are_not_enough_on_sparse_data():
    """metafor's default nAGQ = 7 is off here: its likelihood is not the integral (a test that can fail)."""
    x, n = SPARSE[0]
    r7 = glmm_proportion(x, n, nAGQ=7)
    assert abs(r7.loglik - quad_loglik(r7.estimate, r7.tau, x, n)) > 1e-4
    auto = glmm_proportion(x, n)
    # the upper CI bound moves by about 0.3 percentage points, tau^2 by 0.1
    assert abs(special.expit(auto.ci_high) - special.expit(r7.ci_high)) > 1e-3
    assert abs(auto.tau2 - r7.tau2) > 0.05


def test_boundary_fit_when_the_common_effect_model_is_most_likely():
    x, n = SPARSE[1]  # [2, 0, 1] of [43, 13, 7]: tau^2-hat = 0
    r = glmm_proportion(x, n)
    assert r.tau2 == 0.0 and r.estimate == pytest.approx(special.logit(3 / 63))
    for theta in (0.05, 0.3, 1.0):  # every tau > 0 is less likely (quad)
        assert quad_profile(theta, x, n, r.estimate) < r.loglik
    assert r.tau2_low == 0.0 and r.tau2_high > 0 and r.i2_low == 0.0


@pytest.mark.parametrize("x,n", SPARSE)
def test_profile_likelihood_ci_of_tau2(x, n):
    r = glmm_proportion(x, n)
    crit = stats.chi2.ppf(0.95, 1)
    lo, hi = r.tau2_low, r.tau2_high
    assert lo <= r.tau2 <= hi
    # at the upper bound the likelihood-ratio statistic (quad likelihood) is chi^2_1(0.95)
    assert 2 * (r.loglik - quad_profile(math.sqrt(hi), x, n, r.estimate)) == pytest.approx(crit, abs=2e-4)
    if lo > 0:
        assert 2 * (r.loglik - quad_profile(math.sqrt(lo), x, n, r.estimate)) == pytest.approx(crit, abs=2e-4)
    else:  # tau = 0 is inside the interval: the statistic at 0 (exact binomial) is below the critical value
        pbar = sum(x) / sum(n)
        ll0 = float(np.sum(stats.binom.logpmf(x, n, pbar)))
        assert 2 * (r.loglik - ll0) <= crit
    # I^2 bounds follow from the tau^2 bounds and metafor's typical within-study variance
    xa = np.array(x, float)
    na = np.array(n, float)
    zero = (xa == 0) | (xa == na)
    vi = 1 / np.where(zero, xa + 0.5, xa) + 1 / np.where(zero, na - xa + 0.5, na - xa)
    w = 1 / vi
    vt = (len(x) - 1) / (w.sum() - (w**2).sum() / w.sum())
    assert r.i2 == pytest.approx(100 * r.tau2 / (vt + r.tau2))
    assert r.i2_high == pytest.approx(100 * hi / (vt + hi))
    assert r.confint().method == "profile likelihood"


def test_t_test_uses_k_minus_1_df():
    x, n = [10, 4, 7, 12], [43, 28, 20, 30]
    z = glmm_proportion(x, n, nAGQ=7)
    t = glmm_proportion(x, n, nAGQ=7, test="t")
    assert t.se == z.se and t.estimate == z.estimate and t.ddf == 3
    crit = stats.t.isf(0.025, 3)
    assert (t.ci_low, t.ci_high) == pytest.approx((t.estimate - crit * t.se, t.estimate + crit * t.se))
    pi_se = math.sqrt(t.se**2 + t.tau2)
    assert t.pi_high == pytest.approx(t.estimate + crit * pi_se)
    assert t.pval == pytest.approx(2 * stats.t.sf(abs(t.zval), 3))
    assert t.ci_high - t.ci_low > z.ci_high - z.ci_low
    p = pool_proportions(x, n, transform="glmm", test="t", nAGQ=7)
    assert p.ci_low == pytest.approx(special.expit(t.ci_low))


@pytest.mark.parametrize("x,n", [([0, 1], [1, 1]), ([0, 3], [3, 3]), ([1, 0], [1, 17])])
def test_no_fit_when_tau2_is_not_identified(x, n):
    """0/n beside n/n: the likelihood grows without bound in tau (or is flat); metafor cannot invert the
    Hessian either. Found by the property tests."""
    with pytest.raises(ValueError, match="information matrix is singular"):
        glmm_proportion(x, n)


def test_glmm_options_are_checked():
    with pytest.raises(ValueError, match="nAGQ"):
        glmm_proportion([1, 2], [10, 10], nAGQ="many")
    with pytest.raises(ValueError, match="test"):
        glmm_proportion([1, 2], [10, 10], test="knha")


def quad_eta(beta: float, theta: float, x, n) -> float:
    """The marginal log-likelihood on the logit scale by scipy.integrate.quad with no absolute
    tolerance, over mu +- 40 tau in 400 pieces (for integrals far below quad_loglik's epsabs)."""
    total = 0.0
    edges = np.linspace(beta - 40 * theta, beta + 40 * theta, 401)
    for xi, ni in zip(x, n):
        lc = special.gammaln(ni + 1) - special.gammaln(xi + 1) - special.gammaln(ni - xi + 1)

        def f(eta, xi=xi, ni=ni, lc=lc):
            return math.exp(lc - xi * np.logaddexp(0, -eta) - (ni - xi) * np.logaddexp(0, eta)
                            - 0.5 * ((eta - beta) / theta) ** 2) / (theta * math.sqrt(2 * math.pi))

        total += math.log(sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-13, limit=200)[0]
                              for lo, hi in zip(edges, edges[1:])))
    return total


@pytest.mark.parametrize("theta", [0.3, 12.0, 40.0, 300.0])
@pytest.mark.parametrize("x,n", SPARSE + [([5, 19, 38], [6, 28, 43])])
def test_adaptive_gauss_legendre_is_the_marginal_likelihood(x, n, theta, monkeypatch):
    """quadrature.quad_logliks (the profile likelihood where Gauss-Hermite rules fail) against
    scipy.integrate.quad, at three mu at once, integrals from 1e-36 up; and its scipy fallback,
    forced by allowing each integral too few intervals, gives the same."""
    from analysis.stats.meta import quadrature

    xa, na = np.asarray(x, float), np.asarray(n, float)
    lc = quadrature.binom_loglik_const(xa, na)
    betas = [-4.0, -1.0, 1.5]
    expected = [quad_eta(b, theta, x, n) for b in betas]
    assert quadrature.quad_logliks(betas, theta, xa, na, lc) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    monkeypatch.setattr(quadrature, "_MAX_INTERVALS", 2)
    fallbacks = []
    plain = quadrature._quad_one
    monkeypatch.setattr(quadrature, "_quad_one", lambda *a: fallbacks.append(a) or plain(*a))
    assert quadrature.quad_logliks(betas, theta, xa, na, lc) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert fallbacks  # the fallback did run

"""The profile-likelihood CI of tau^2 as implemented before issue 18 (verbatim), the reference
that ``test_glmm_profile_fast.py`` compares the faster implementation with.

Copied from analysis/stats/meta/glmm.py and quadrature.py at commit e58feea (``_modes`` as it
stood at be71e5c, which the package's fit no longer uses): Brent's method for
the profiled mu at every node count, scipy's logsumexp, Gauss-Hermite rules recomputed per call.
Only used by the tests; never imported by the package.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from analysis.stats.meta.glmm import NAGQ_SEQUENCE, _heterogeneity_tests
from analysis.stats.meta.quadrature import binom_loglik_const
from scipy import integrate


def _modes(beta: float, theta: float, x, n, cache: dict | None, keep_root: bool = False) -> np.ndarray:
    """Conditional modes of u_i (safeguarded Newton): the package's ``_modes`` at be71e5c, verbatim
    but for this docstring; the reference calls it with ``keep_root=False``, as it did."""
    # g' is strictly decreasing with its root in [theta (x - n), theta x]; bisection whenever
    # Newton leaves the bracket
    lo = theta * (x - n) - 1e-12
    hi = theta * x + 1e-12
    if theta < 0:
        lo, hi = theta * x - 1e-12, theta * (x - n) + 1e-12
    u0 = cache.get("u") if cache is not None else None
    u = np.clip(u0 if u0 is not None else np.zeros_like(x), lo, hi)
    for _ in range(200):
        p = special.expit(beta + theta * u)
        g1 = theta * (x - n * p) - u
        g2 = -(theta * theta) * n * p * (1 - p) - 1.0
        pos = g1 > 0
        lo = np.where(pos, u, lo)
        hi = np.where(pos, hi, u)
        un = u - g1 / g2
        bad = ((un < lo) | (un > hi)) if keep_root else ((un <= lo) | (un >= hi))
        un = np.where(bad, 0.5 * (lo + hi), un)
        done = np.max(np.abs(un - u)) < 1e-11
        u = un
        if done:
            break
    if cache is not None:
        cache["u"] = u
    return u


def gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / math.sqrt(2 * math.pi)


def agq_loglik(beta, theta, x, n, lconst, z, wz, cache=None):
    u = _modes(beta, theta, x, n, cache)
    p = special.expit(beta + theta * u)
    s = 1.0 / np.sqrt(theta * theta * n * p * (1 - p) + 1.0)
    uu = u[:, None] + s[:, None] * z[None, :]
    et = beta + theta * uu
    lf = x[:, None] * et - n[:, None] * np.logaddexp(0.0, et)
    g = lf - 0.5 * uu * uu + 0.5 * z[None, :] ** 2
    li = np.log(s) + special.logsumexp(g, axis=1, b=wz[None, :]) + lconst
    return float(np.sum(li))


def quad_loglik(beta, theta, x, n, lconst):
    total = 0.0
    sd = float(theta)
    cuts = sorted({-np.inf, -20.0, float(beta), 20.0, np.inf})
    for xi, ni, lc in zip(x, n, lconst):
        def f(eta, xi=xi, ni=ni, lc=lc):
            return math.exp(lc - xi * np.logaddexp(0.0, -eta) - (ni - xi) * np.logaddexp(0.0, eta)
                            - 0.5 * ((eta - beta) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))

        val = sum(integrate.quad(f, a, b, epsabs=1e-300, epsrel=1e-11, limit=500)[0] for a, b in zip(cuts, cuts[1:]))
        total += math.log(val)
    return total


def _profile_at(theta, x, nn, lconst, nagq, beta0):
    if nagq is None:
        f = lambda b: -quad_loglik(b, theta, x, nn, lconst)  # noqa: E731
        width = 5.0 + 3.0 * theta
        opt = optimize.minimize_scalar(f, bounds=(beta0 - width, beta0 + width), method="bounded",
                                       options={"xatol": 1e-8})
        return -float(opt.fun), float(opt.x)
    z, wz = gh_rule(nagq)
    cache: dict = {}
    opt = optimize.minimize_scalar(lambda b: -agq_loglik(b, theta, x, nn, lconst, z, wz, cache),
                                   bracket=(beta0 - 1.0, beta0 + 1.0), tol=1e-10)
    return -float(opt.fun), float(opt.x)


def profile_loglik(res, theta, tol=1e-8):
    x, nn = res.events, res.n
    lconst = binom_loglik_const(x, nn)
    if theta <= 0:
        return _heterogeneity_tests(x, nn, lconst)[0]
    prev, beta = None, res.estimate
    for q in [res.nAGQ] + [q for q in NAGQ_SEQUENCE if q > res.nAGQ]:
        val, beta = _profile_at(theta, x, nn, lconst, q, beta)
        if prev is not None and abs(val - prev) < tol:
            return val
        prev = val
    return _profile_at(theta, x, nn, lconst, None, res.estimate)[0]


def profile_tau2_ci(res, level):
    crit = float(stats.chi2.ppf(level, 1))
    theta_hat = math.sqrt(res.tau2)

    def excess(theta):
        return 2.0 * (res.loglik - profile_loglik(res, theta)) - crit

    lower = 0.0
    if theta_hat > 0 and excess(0.0) > 0:
        lower = optimize.brentq(excess, 0.0, theta_hat, xtol=1e-10)
    hi = max(2.0 * theta_hat, 0.5)
    while excess(hi) < 0:
        if hi >= 1000.0:
            return lower**2, hi**2, ">"
        hi *= 2.0
    upper = optimize.brentq(excess, theta_hat, hi, xtol=1e-10)
    return lower**2, upper**2, ""


def pinned(cases) -> dict:
    """The reference values ``test_glmm_profile_fast.py`` pins: for each case, the profile CI of
    tau^2 (lower, upper, sign) and the profiled log-likelihood at tau = 0.05, 0.5, 2, 8.
    ``python tests/stats/glmm_profile_reference.py`` prints them for pasting."""
    from analysis.stats.meta import glmm_proportion

    out = {}
    for x, n in cases:
        fit = glmm_proportion(x, n)
        out[(tuple(x), tuple(n))] = {"ci": profile_tau2_ci(fit, 0.95),
                                     "loglik": tuple(profile_loglik(fit, t) for t in (0.05, 0.5, 2.0, 8.0))}
    return out


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_glmm_profile_fast import CASES

    for case, values in pinned(CASES).items():
        print(f"    {case!r}: {values!r},")

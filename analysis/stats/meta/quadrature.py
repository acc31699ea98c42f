r"""Numerical machinery of the binomial-normal model: adaptive Gauss-Hermite quadrature and Newton steps.

The marginal likelihood of study i, :math:`L_i=\int \mathrm{Bin}(x_i\mid n_i,\mathrm{expit}(\beta+\theta u))
\,\phi(u)\,du`, is integrated by adaptive Gauss-Hermite quadrature centred at the conditional mode
(Liu & Pierce 1994), as lme4's glmer does for nAGQ > 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import integrate, special

__all__ = ["gh_rule", "binom_loglik_const", "agq_loglik", "quad_loglik", "num_hessian", "newton_polish"]


def gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes/weights for the N(0,1) density (lme4 GHrule): sum w_k h(z_k) ~ E h(Z)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / math.sqrt(2 * math.pi)


def binom_loglik_const(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """log binomial coefficients log C(n, x)."""
    return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)


def _modes(beta: float, theta: float, x, n, cache: dict | None) -> np.ndarray:
    """Conditional modes of u_i: roots of g'(u) = theta (x - n p(u)) - u (safeguarded Newton)."""
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
        bad = (un <= lo) | (un >= hi)
        un = np.where(bad, 0.5 * (lo + hi), un)
        done = np.max(np.abs(un - u)) < 1e-11
        u = un
        if done:
            break
    if cache is not None:
        cache["u"] = u
    return u


def agq_loglik(beta: float, theta: float, x, n, lconst, z, wz, cache: dict | None = None, per_study: bool = False):
    r"""Marginal log-likelihood of the random-intercept logistic model by adaptive GH quadrature.

    For study i with u ~ N(0,1) and logit p = beta + theta u, g(u) = log f(x_i|u) - u^2/2; at the
    conditional mode û with scale s = (-g''(û))^{-1/2}:
    :math:`L_i \approx s\sum_k w_k \exp\{z_k^2/2 + g(\hat u + s z_k)\}` (Liu & Pierce 1994;
    lme4 glmer nAGQ > 1). ``cache`` (optional dict) warm-starts the modes from the previous call;
    ``per_study=True`` returns the vector of per-study log-likelihoods.
    """
    u = _modes(beta, theta, x, n, cache)
    p = special.expit(beta + theta * u)
    s = 1.0 / np.sqrt(theta * theta * n * p * (1 - p) + 1.0)
    uu = u[:, None] + s[:, None] * z[None, :]
    et = beta + theta * uu
    # log f = x*eta - n*log(1+exp(eta)) = x*log p + m*log(1-p)
    lf = x[:, None] * et - n[:, None] * np.logaddexp(0.0, et)
    g = lf - 0.5 * uu * uu + 0.5 * z[None, :] ** 2
    li = np.log(s) + special.logsumexp(g, axis=1, b=wz[None, :]) + lconst
    return li if per_study else float(np.sum(li))


def quad_loglik(beta: float, theta: float, x, n, lconst) -> float:
    r"""Marginal log-likelihood by :func:`scipy.integrate.quad` over :math:`\eta=\beta+\theta u`.

    :math:`\sum_i\log\int \mathrm{Bin}(x_i\mid n_i,\mathrm{expit}\,\eta)\,N(\eta;\beta,\theta^2)\,d\eta`,
    split at :math:`\beta` and :math:`\pm 20` on the logit scale. Slow, but reliable where a
    Gauss-Hermite rule centred at the mode is not (tau of tens on the logit scale, all-zero studies).
    """
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


def num_hessian(f: Callable[[np.ndarray], float], x0: np.ndarray, h: float) -> np.ndarray:
    """Central finite-difference Hessian (as lme4's deriv12 with delta=1e-4)."""
    d = x0.size
    H = np.empty((d, d))
    f0 = f(x0)
    for i in range(d):
        ei = np.zeros(d)
        ei[i] = h
        H[i, i] = (f(x0 + ei) - 2 * f0 + f(x0 - ei)) / (h * h)
        for j in range(i + 1, d):
            ej = np.zeros(d)
            ej[j] = h
            H[i, j] = H[j, i] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (4 * h * h)
    return H


def newton_polish(f: Callable[[np.ndarray], float], x0: np.ndarray, maxit: int = 50) -> tuple[np.ndarray, float]:
    """Newton iterations with finite-difference derivatives and step halving (minimises f)."""
    x = np.array(x0, dtype=float)
    fx = f(x)
    d = x.size
    for _ in range(maxit):
        g = np.empty(d)
        for i in range(d):
            h = 1e-6 * max(1.0, abs(x[i]))
            e = np.zeros(d)
            e[i] = h
            g[i] = (f(x + e) - f(x - e)) / (2 * h)
        H = num_hessian(f, x, 1e-4)
        try:
            step = np.linalg.solve(H, g)
            if not np.all(np.isfinite(step)) or float(g @ step) <= 0:  # not a descent direction
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = g / max(1.0, float(np.max(np.abs(np.diag(H)))))
        t = 1.0
        while t > 1e-10:
            xn = x - t * step
            fn = f(xn)
            if fn <= fx:
                break
            t /= 2
        else:
            break
        done = float(np.max(np.abs(xn - x))) < 1e-10
        x, fx = xn, fn
        if done:
            break
    return x, fx

r"""Numerical machinery of the binomial-normal model: adaptive Gauss-Hermite quadrature and Newton steps.

The marginal likelihood of study i, :math:`L_i=\int \mathrm{Bin}(x_i\mid n_i,\mathrm{expit}(\beta+\theta u))
\,\phi(u)\,du`, is integrated by adaptive Gauss-Hermite quadrature centred at the conditional mode
(Liu & Pierce 1994), as lme4's glmer does for nAGQ > 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import integrate, special

__all__ = ["gh_rule", "binom_loglik_const", "agq_loglik", "quad_loglik", "num_hessian", "newton_polish", "maximise_1d"]


def gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes/weights for the N(0,1) density (lme4 GHrule): sum w_k h(z_k) ~ E h(Z).

    Computed once per node count (the arrays are shared and read-only).
    """
    return _gh_rule(int(n))


@lru_cache(maxsize=None)
def _gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / math.sqrt(2 * math.pi)
    z.flags.writeable = w.flags.writeable = False
    return z, w


def _logsumexp_rows(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``scipy.special.logsumexp(a, axis=1, b=w[None, :])`` for a 2-d ``a`` and positive weights ``w``.

    The same operations in the same order as scipy's (1.17) real-valued path -- the largest term
    of each row taken out of the sum and added back with ``log1p`` -- so the result is the same to
    the last bit, without scipy's array-API dispatch (which cost more than the sum at small k).
    Rows with a non-finite result go to scipy itself.
    """
    b = np.broadcast_to(w, a.shape)
    a_max = np.max(a, axis=1, keepdims=True)
    at_max = a == a_max
    m = np.sum(b * at_max.astype(a.dtype), axis=1, keepdims=True, dtype=a.dtype)
    shifted = np.where(at_max, -np.inf, a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.sum(b * np.exp(shifted - a_max), axis=1, keepdims=True, dtype=a.dtype)
        s = np.where(s == 0, s, s / m)
        out = (np.log1p(s) + np.log(m) + a_max)[:, 0]
    if not np.all(np.isfinite(out)):
        out = special.logsumexp(a, axis=1, b=w[None, :])
    return out


def binom_loglik_const(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """log binomial coefficients log C(n, x)."""
    return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)


def _modes(beta: float, theta: float, x, n, cache: dict | None, keep_root: bool = False) -> np.ndarray:
    """Conditional modes of u_i: roots of g'(u) = theta (x - n p(u)) - u (safeguarded Newton).

    ``keep_root=False`` (the model fit) rejects a Newton step that lands on an end of the
    bracket, which is where the root itself sits once it has converged; the iteration then
    bisects back from the far end, to the same root within 1e-11, in 20-50 steps instead of 2-3.
    The fit keeps this behaviour so that its estimates stay the same to the last bit (its
    standard error, a finite-difference Hessian, moves in the fifth digit with the modes'
    last-digit noise); the profile likelihood passes ``keep_root=True``.
    """
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


def agq_loglik(beta: float, theta: float, x, n, lconst, z, wz, cache: dict | None = None, per_study: bool = False,
               keep_root: bool = False):
    r"""Marginal log-likelihood of the random-intercept logistic model by adaptive GH quadrature.

    For study i with u ~ N(0,1) and logit p = beta + theta u, g(u) = log f(x_i|u) - u^2/2; at the
    conditional mode û with scale s = (-g''(û))^{-1/2}:
    :math:`L_i \approx s\sum_k w_k \exp\{z_k^2/2 + g(\hat u + s z_k)\}` (Liu & Pierce 1994;
    lme4 glmer nAGQ > 1). ``cache`` (optional dict) warm-starts the modes from the previous call;
    ``per_study=True`` returns the vector of per-study log-likelihoods; ``keep_root`` see :func:`_modes`.
    """
    u = _modes(beta, theta, x, n, cache, keep_root)
    p = special.expit(beta + theta * u)
    s = 1.0 / np.sqrt(theta * theta * n * p * (1 - p) + 1.0)
    uu = u[:, None] + s[:, None] * z[None, :]
    et = beta + theta * uu
    # log f = x*eta - n*log(1+exp(eta)) = x*log p + m*log(1-p)
    lf = x[:, None] * et - n[:, None] * np.logaddexp(0.0, et)
    g = lf - 0.5 * uu * uu + 0.5 * z[None, :] ** 2
    li = np.log(s) + _logsumexp_rows(g, wz) + lconst
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
    norm = sd * math.sqrt(2 * math.pi)
    exp, log1p = math.exp, math.log1p
    for xi, ni, lc in zip(x, n, lconst):
        xi, mi, lc = float(xi), float(ni - xi), float(lc)

        def f(eta, xi=xi, mi=mi, lc=lc):
            # log(1 + e^-eta) and log(1 + e^eta) in plain floats (numpy's logaddexp on scalars
            # cost more than the rest of the integrand)
            sp = log1p(exp(-abs(eta)))
            return exp(lc - xi * (sp + (-eta if eta < 0 else 0.0)) - mi * (sp + (eta if eta > 0 else 0.0))
                       - 0.5 * ((eta - beta) / sd) ** 2) / norm

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


def maximise_1d(f, b0: float, h: float = 1e-4, xtol: float = 1e-10, ftol: float = 1e-13,
                 maxit: int = 100) -> tuple[float, float] | None:
    """Maximise a smooth concave function of one variable by Newton's method from ``b0``.

    Central differences (step ``h`` times max(1, |b|)) give the first and second derivative; the
    step is halved until the value does not decrease.  Stops when a full Newton step moves less
    than ``xtol`` or gains less than ``ftol`` (the error left after a Newton step is of the order
    of the cube of the step, far below the gain).  Returns (max value, argmax), or None when
    the curvature is not negative (the caller then uses Brent's method).  Near the optimum an
    iteration costs three evaluations and converges quadratically, where Brent's method needs
    some thirty evaluations from a bracket of width 2.
    """
    b, fb = float(b0), f(b0)
    for _ in range(maxit):
        hb = h * max(1.0, abs(b))
        fp, fm = f(b + hb), f(b - hb)
        curv = (fp - 2.0 * fb + fm) / (hb * hb)
        if not curv < 0:
            return None
        step = -((fp - fm) / (2.0 * hb)) / curv
        t = 1.0
        while True:
            bn = b + t * step
            fn = f(bn)
            if fn >= fb:
                break
            t /= 2.0
            if t < 1e-12:
                return fb, b
        moved, gain = abs(bn - b), fn - fb
        b, fb = bn, fn
        if moved < xtol * max(1.0, abs(b)) or (t == 1.0 and gain < ftol):
            return fb, b
    return None

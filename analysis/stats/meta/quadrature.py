r"""Numerical machinery of the binomial-normal model: adaptive Gauss-Hermite quadrature and Newton steps.

The marginal likelihood of study i, :math:`L_i=\int \mathrm{Bin}(x_i\mid n_i,\mathrm{expit}(\beta+\theta u))
\,\phi(u)\,du`, is integrated by adaptive Gauss-Hermite quadrature centred at the conditional mode
(Liu & Pierce 1994), as lme4's glmer does for nAGQ > 1; where that rule is unreliable (tau of
tens of logits), by adaptive Gauss-Legendre quadrature on the logit scale.  Every function takes
P parameter points at once: the finite-difference derivatives of the fit and of the profile
likelihood evaluate their whole stencil in one numpy pass, which for the 3-7 studies of a
typical series costs little more than one point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import integrate, special

__all__ = ["gh_rule", "binom_loglik_const", "agq_logliks", "agq_loglik", "quad_logliks", "quad_loglik", "num_hessian",
           "gradient", "newton_polish", "maximise_1d"]


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
    """``scipy.special.logsumexp(a, axis=-1, b=w)`` for positive weights ``w`` along the last axis.

    The same operations in the same order as scipy's (1.17) real-valued path -- the largest term
    of each row taken out of the sum and added back with ``log1p`` -- so the result is the same to
    the last bit, without scipy's array-API dispatch (which cost more than the sum at small k).
    Rows with a non-finite result go to scipy itself.
    """
    b = np.broadcast_to(w, a.shape)
    a_max = np.max(a, axis=-1, keepdims=True)
    at_max = a == a_max
    m = np.sum(b * at_max.astype(a.dtype), axis=-1, keepdims=True, dtype=a.dtype)
    shifted = np.where(at_max, -np.inf, a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.sum(b * np.exp(shifted - a_max), axis=-1, keepdims=True, dtype=a.dtype)
        s = np.where(s == 0, s, s / m)
        out = (np.log1p(s) + np.log(m) + a_max)[..., 0]
    if not np.all(np.isfinite(out)):
        out = special.logsumexp(a, axis=-1, b=np.broadcast_to(w, a.shape))
    return out


def binom_loglik_const(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """log binomial coefficients log C(n, x)."""
    return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)


def _modes(beta: np.ndarray, theta: np.ndarray, x, n, cache: dict | None) -> np.ndarray:
    """Conditional modes of u_i: roots of g'(u) = theta (x - n p(u)) - u (safeguarded Newton).

    ``beta`` and ``theta`` are columns, shape (P, 1), of P parameter points; the result has shape
    (P, k).  g' is strictly decreasing with its root between theta (x - n) and theta x; a Newton
    step that leaves the bracket is replaced by bisection.  Stops when no mode moves by 1e-11
    (relative to the mode where it exceeds 1; Newton converges quadratically, so the modes are
    then exact to rounding).  ``cache`` (a dict) starts every point from the modes of the first
    point of the previous call and keeps those of the first point of this one.
    """
    ends = (theta * (x - n), theta * x)
    lo = np.minimum(*ends) - 1e-12
    hi = np.maximum(*ends) + 1e-12
    u0 = cache.get("u") if cache is not None else None
    u = np.clip(u0 if u0 is not None else 0.0, lo, hi)
    tt = theta * theta
    for _ in range(200):
        p = special.expit(beta + theta * u)
        g1 = theta * (x - n * p) - u
        pos = g1 > 0
        lo = np.where(pos, u, lo)
        hi = np.where(pos, hi, u)
        un = u + g1 / (tt * n * p * (1 - p) + 1.0)
        un = np.where((un < lo) | (un > hi), 0.5 * (lo + hi), un)
        done = np.max(np.abs(un - u) / np.maximum(1.0, np.abs(un))) < 1e-11
        u = un
        if done:
            break
    if cache is not None:
        cache["u"] = u[0]
    return u


def agq_logliks(beta, theta, x, n, lconst, z, wz, cache: dict | None = None, per_study: bool = False) -> np.ndarray:
    r"""Marginal log-likelihood of the random-intercept logistic model at P points, by adaptive GH quadrature.

    For study i with u ~ N(0,1) and logit p = beta + theta u, g(u) = log f(x_i|u) - u^2/2; at the
    conditional mode û with scale s = (-g''(û))^{-1/2}:
    :math:`L_i \approx s\sum_k w_k \exp\{z_k^2/2 + g(\hat u + s z_k)\}` (Liu & Pierce 1994;
    lme4 glmer nAGQ > 1).  ``beta`` and ``theta`` are 1-d arrays of the P points (one numpy pass
    evaluates them all: finite-difference stencils cost one call, not one per point); returns
    shape (P,), or (P, k) per study with ``per_study=True``.  ``cache`` (optional dict)
    warm-starts the modes (:func:`_modes`).
    """
    b = np.asarray(beta, dtype=float).reshape(-1, 1)
    t = np.asarray(theta, dtype=float).reshape(-1, 1)
    u = _modes(b, t, x, n, cache)
    p = special.expit(b + t * u)
    s = 1.0 / np.sqrt(t * t * n * p * (1 - p) + 1.0)
    uu = u[..., None] + s[..., None] * z
    et = b[..., None] + t[..., None] * uu
    # log f = x*eta - n*log(1+exp(eta)) = x*log p + m*log(1-p)
    lf = x[:, None] * et - n[:, None] * np.logaddexp(0.0, et)
    g = lf - 0.5 * uu * uu + 0.5 * z * z
    li = np.log(s) + _logsumexp_rows(g, wz) + lconst
    return li if per_study else np.sum(li, axis=-1)


def agq_loglik(beta: float, theta: float, x, n, lconst, z, wz, cache: dict | None = None, per_study: bool = False):
    """:func:`agq_logliks` at one point: a float (or the k per-study values with ``per_study=True``)."""
    out = agq_logliks((beta,), (theta,), x, n, lconst, z, wz, cache, per_study)[0]
    return out if per_study else float(out)


@lru_cache(maxsize=None)
def _legendre(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (computed once per order, read-only)."""
    z, w = np.polynomial.legendre.leggauss(m)
    z.flags.writeable = w.flags.writeable = False
    return z, w


#: fixed cuts on the logit scale: +-20 and, outwards, +-(20 + 2^j) up to 52.  Beyond +-20 a study's
#: binomial likelihood decays at least as e^{-|eta|} (for 0 < x < n) or is flat; the cuts let the
#: rules resolve that decay, which on one interval of width 40 tau would fall between their nodes
_CUTS = tuple(s * (20.0 + d) for s in (-1.0, 1.0) for d in (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0))

#: orders of the Gauss-Legendre pair of :func:`quad_logliks` (estimate, and the one its error is read from)
_GL_ORDERS = (21, 10)
#: intervals one integral may be split into before :func:`quad_logliks` hands it to scipy's quad
#: (the integrals of today's review need at most 27)
_MAX_INTERVALS = 2000


def quad_logliks(beta, theta, x, n, lconst, epsrel: float = 1e-11, max_rounds: int = 60) -> np.ndarray:
    r"""Marginal log-likelihood at P points by globally adaptive Gauss-Legendre quadrature over :math:`\eta`.

    :math:`\sum_i\log\int \mathrm{Bin}(x_i\mid n_i,\mathrm{expit}\,\eta)\,N(\eta;\beta,\theta^2)\,d\eta`
    for each point (``beta`` a 1-d array of P values; ``theta`` one value or P).  Reliable where a
    Gauss-Hermite rule centred at the mode is not (tau of tens on the logit scale, all-zero
    studies); slower than :func:`agq_logliks`.

    Each integral runs over :math:`\beta\pm 40\theta` (the normal density beyond is below the
    smallest double), split at :math:`\beta`, the study's :math:`\mathrm{logit}(x_i/n_i)` and
    :data:`_CUTS` (:math:`\pm 20`, and outwards to :math:`\pm 52`: where the binomial factor decays
    like :math:`e^{-|\eta|}`, one interval thousands of logits wide would put the decay between
    its nodes).  Every interval gets a 21-point rule, with the difference
    from a 10-point rule as its error (a bound for the 21-point value, as in QUADPACK's
    Gauss-Kronrod pairs; Piessens et al. 1983).  While an integral's summed error exceeds
    ``epsrel`` times its value, its intervals whose error exceeds that tolerance shared among
    its intervals are halved.  All intervals of all points and studies are evaluated in one
    numpy pass per round.  An integral that has not converged after ``max_rounds`` rounds, or in
    :data:`_MAX_INTERVALS` intervals, is taken by :func:`scipy.integrate.quad` instead.  Returns
    shape (P,).
    """
    b = np.asarray(beta, dtype=float).ravel()
    t = np.abs(np.broadcast_to(np.asarray(theta, dtype=float), b.shape)).astype(float)
    x, n, lconst = (np.asarray(v, dtype=float) for v in (x, n, lconst))
    k = x.size
    # one row per (point, study) integral; its intervals in flat arrays
    owner, lo, hi = [], [], []
    for p in range(b.size):
        left, right = b[p] - 40.0 * t[p], b[p] + 40.0 * t[p]
        for i in range(k):
            cuts = {b[p], *_CUTS}
            if 0 < x[i] < n[i]:
                cuts.add(math.log(x[i] / (n[i] - x[i])))
            edges = [left, *sorted(c for c in cuts if left < c < right), right]
            owner += [p * k + i] * (len(edges) - 1)
            lo += edges[:-1]
            hi += edges[1:]
    owner, lo, hi = np.array(owner), np.array(lo), np.array(hi)
    rows = b.size * k
    xr, mr, lcr = np.tile(x, b.size), np.tile(n - x, b.size), np.tile(lconst, b.size)
    br, tr = np.repeat(b, k), np.repeat(t, k)

    def rule(own, a, c):
        """(21-point value, |21-point - 10-point|) of each interval [a, c] of integral ``own``."""
        half, mid = 0.5 * (c - a), 0.5 * (c + a)
        out = []
        for m in _GL_ORDERS:
            z, w = _legendre(m)
            eta = mid[:, None] + half[:, None] * z
            sp = np.logaddexp(0.0, -np.abs(eta))  # log(1 + e^-|eta|)
            logf = (lcr[own, None] - xr[own, None] * (sp + np.maximum(-eta, 0.0))
                    - mr[own, None] * (sp + np.maximum(eta, 0.0))
                    - 0.5 * ((eta - br[own, None]) / tr[own, None]) ** 2)
            out.append(half * (np.exp(logf) @ w) / (tr[own] * math.sqrt(2 * math.pi)))
        return out[0], np.abs(out[0] - out[1])

    val, err = rule(owner, lo, hi)
    done = np.zeros(rows, dtype=bool)
    for _ in range(max_rounds):
        total = np.bincount(owner, val, rows)
        total_err = np.bincount(owner, err, rows)
        done = total_err <= epsrel * np.abs(total)
        if done.all():
            break
        count = np.bincount(owner, minlength=rows)
        split = (~done[owner] & (count[owner] < _MAX_INTERVALS)
                 & (err > epsrel * np.abs(total[owner]) / (2.0 * count[owner])))
        if not split.any():  # rounding: the summed error cannot fall further
            break
        mid = 0.5 * (lo[split] + hi[split])
        o2 = np.concatenate((owner[split], owner[split]))
        a2, c2 = np.concatenate((lo[split], mid)), np.concatenate((mid, hi[split]))
        v2, e2 = rule(o2, a2, c2)
        keep = ~split
        owner, lo, hi = np.concatenate((owner[keep], o2)), np.concatenate((lo[keep], a2)), np.concatenate((hi[keep], c2))
        val, err = np.concatenate((val[keep], v2)), np.concatenate((err[keep], e2))
    total = np.bincount(owner, val, rows)
    for r in np.flatnonzero(~done):
        total[r] = _quad_one(br[r], tr[r], xr[r], mr[r], lcr[r])
    with np.errstate(divide="ignore"):
        return np.log(total).reshape(b.size, k).sum(axis=1)


def _quad_one(beta: float, sd: float, xi: float, mi: float, lc: float) -> float:
    """One study's integral by :func:`scipy.integrate.quad` (the fallback of :func:`quad_logliks`)."""
    norm = sd * math.sqrt(2 * math.pi)
    exp, log1p = math.exp, math.log1p

    def f(eta):
        sp = log1p(exp(-abs(eta)))
        return exp(lc - xi * (sp + (-eta if eta < 0 else 0.0)) - mi * (sp + (eta if eta > 0 else 0.0))
                   - 0.5 * ((eta - beta) / sd) ** 2) / norm

    cuts = sorted({-np.inf, -20.0, float(beta), 20.0, np.inf})
    return sum(integrate.quad(f, a, b, epsabs=1e-300, epsrel=1e-11, limit=500)[0] for a, b in zip(cuts, cuts[1:]))


def quad_loglik(beta: float, theta: float, x, n, lconst) -> float:
    """:func:`quad_logliks` at one point."""
    return float(quad_logliks((beta,), theta, x, n, lconst)[0])


def _stencil(x0: np.ndarray, h: float | None, hg: np.ndarray | None = None) -> np.ndarray:
    """The points of central differences around ``x0``: x0, then x0 ± hg_i e_i (gradient, when
    ``hg`` is given), x0 ± h e_i, and x0 ± h e_i ± h e_j for i < j (Hessian, unless ``h`` is
    None); one row each."""
    d = x0.size
    e = np.eye(d)
    rows = [x0]
    if hg is not None:
        for i in range(d):
            rows += [x0 + hg[i] * e[i], x0 - hg[i] * e[i]]
    if h is None:
        return np.array(rows)
    for i in range(d):
        rows += [x0 + h * e[i], x0 - h * e[i]]
    for i in range(d):
        for j in range(i + 1, d):
            ei, ej = h * e[i], h * e[j]
            rows += [x0 + ei + ej, x0 + ei - ej, x0 - ei + ej, x0 - ei - ej]
    return np.array(rows)


def _hessian(v: np.ndarray, h: float, d: int) -> np.ndarray:
    """The central-difference Hessian from the values ``v`` at the Hessian part of :func:`_stencil`
    (``v[0]`` is the value at x0, then the 2d axis points, then 4 points per pair i < j)."""
    H = np.empty((d, d))
    f0, axis, pairs = v[0], v[1:1 + 2 * d], v[1 + 2 * d:]
    for i in range(d):
        H[i, i] = (axis[2 * i] - 2 * f0 + axis[2 * i + 1]) / (h * h)
    c = 0
    for i in range(d):
        for j in range(i + 1, d):
            pp, pm, mp, mm = pairs[4 * c:4 * c + 4]
            H[i, j] = H[j, i] = (pp - pm - mp + mm) / (4 * h * h)
            c += 1
    return H


def num_hessian(f: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, h: float) -> np.ndarray:
    """Central finite-difference Hessian (as lme4's deriv12 with delta=1e-4).

    ``f`` maps an array of points, one per row, to their values: the 1 + 2d + 2d(d-1) points
    of the stencil are evaluated in one call.
    """
    x0 = np.asarray(x0, dtype=float)
    return _hessian(np.asarray(f(_stencil(x0, h))), h, x0.size)


def _gradient_step(x: np.ndarray) -> np.ndarray:
    """The step of the central-difference gradient: 1e-6 max(1, |x_i|)."""
    return 1e-6 * np.maximum(1.0, np.abs(x))


def gradient(f: Callable[[np.ndarray], np.ndarray], x0: np.ndarray) -> tuple[float, np.ndarray]:
    """(f(x0), its central-difference gradient), step 1e-6 max(1, |x_i|), in one call of the
    batched ``f`` (rows are points)."""
    x0 = np.asarray(x0, dtype=float)
    hg = _gradient_step(x0)
    v = np.asarray(f(_stencil(x0, None, hg)))
    return float(v[0]), (v[1::2] - v[2::2]) / (2 * hg)


def newton_polish(f: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, maxit: int = 50) -> tuple[np.ndarray, float]:
    """Newton iterations with finite-difference derivatives and step halving (minimises f).

    ``f`` is batched (rows of an array are points): each iteration evaluates the value, the
    central-difference gradient (step 1e-6 max(1, |x_i|)) and Hessian (step 1e-4) in one call.
    """
    x = np.array(x0, dtype=float)
    d = x.size
    for _ in range(maxit):
        hg = _gradient_step(x)
        v = np.asarray(f(_stencil(x, 1e-4, hg)))
        fx = float(v[0])
        g = (v[1:1 + 2 * d:2] - v[2:2 + 2 * d:2]) / (2 * hg)
        H = _hessian(np.concatenate((v[:1], v[1 + 2 * d:])), 1e-4, d)
        try:
            step = np.linalg.solve(H, g)
            if not np.all(np.isfinite(step)) or float(g @ step) <= 0:  # not a descent direction
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = g / max(1.0, float(np.max(np.abs(np.diag(H)))))
        t = 1.0
        while t > 1e-10:
            xn = x - t * step
            fn = float(f(xn[None, :])[0])
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


def maximise_1d(f: Callable[[np.ndarray], np.ndarray], b0: float, h: float = 1e-4, xtol: float = 1e-10,
                ftol: float = 1e-13, maxit: int = 100) -> tuple[float, float] | None:
    """Maximise a smooth concave function of one variable by Newton's method from ``b0``.

    Central differences (step ``h`` times max(1, |b|)) give the first and second derivative; the
    step is halved until the value does not decrease.  Stops when a full Newton step moves less
    than ``xtol`` or gains less than ``ftol`` (the error left after a Newton step is of the order
    of the cube of the step, far below the gain).  Returns (max value, argmax), or None when
    the curvature is not negative (the caller then uses Brent's method).  ``f`` is batched (an
    array of points to their values): a candidate point is evaluated with its two neighbours in
    one call, so an iteration costs one call.  Near the optimum it converges quadratically,
    where Brent's method needs some thirty evaluations from a bracket of width 2.
    """
    def at(b: float) -> np.ndarray:
        hb = h * max(1.0, abs(b))
        return np.asarray(f(np.array([b, b + hb, b - hb])), dtype=float)

    b = float(b0)
    v = at(b)
    for _ in range(maxit):
        hb = h * max(1.0, abs(b))
        fb, fp, fm = v
        curv = (fp - 2.0 * fb + fm) / (hb * hb)
        if not curv < 0:
            return None
        step = -((fp - fm) / (2.0 * hb)) / curv
        t = 1.0
        while True:
            bn = b + t * step
            vn = at(bn)
            if vn[0] >= fb:
                break
            t /= 2.0
            if t < 1e-12:
                return float(fb), b
        moved, gain = abs(bn - b), vn[0] - fb
        b, v = bn, vn
        if moved < xtol * max(1.0, abs(b)) or (t == 1.0 and gain < ftol):
            return float(v[0]), b
    return None

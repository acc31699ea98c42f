"""R's ``uniroot`` (Brent's method as in R_zeroin2), ported so root-found bounds match R to the digit.

metafor finds the Paule-Mandel estimate and the Q-profile bounds of tau^2 with ``uniroot(...,
tol=.Machine$double.eps^0.25)``. scipy's :func:`scipy.optimize.brentq` finds the same roots but
stops at a different point inside that tolerance, so its 4th decimal can differ from metafor's
printout; this port stops where R stops (tests/stats/test_tau2.py checks every printed digit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["EPS", "UNIROOT_TOL", "uniroot", "zeroin"]

EPS = float(np.finfo(float).eps)
#: R: ``.Machine$double.eps^0.25``, the default tolerance of ``uniroot`` and metafor's.
UNIROOT_TOL = EPS**0.25


def zeroin(f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float, tol: float, maxit: int) -> float:
    """Brent's root finder exactly as R's ``R_zeroin2`` (src/library/stats/src/zeroin.c).

    Parameters
    ----------
    f : callable
        Function whose root is bracketed by ``ax`` and ``bx``.
    ax, bx : float
        Bracket.
    fa, fb : float
        ``f(ax)`` and ``f(bx)`` (of opposite sign, or one of them 0).
    tol : float
        Absolute tolerance on the root.
    maxit : int
        Maximum number of iterations.

    Returns
    -------
    float
        The root, within ``tol`` (plus R's relative term ``2 eps |b|``).
    """
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    it = maxit + 1
    while it > 0:
        it -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # linear interpolation
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise RuntimeError("root finder did not converge")


def uniroot(f: Callable[[float], float], lower: float, upper: float, tol: float = UNIROOT_TOL,
            maxiter: int = 1000) -> float:
    """R ``uniroot(f, c(lower, upper), tol=tol, maxiter=maxiter)$root``.

    Raises
    ------
    RuntimeError
        When ``f(lower)`` and ``f(upper)`` have the same sign (R: "f() values at end points not of
        opposite sign") or the iteration does not converge.
    """
    fl, fu = f(lower), f(upper)
    if fl * fu > 0:
        raise RuntimeError("f() values at end points not of opposite sign")
    return zeroin(f, lower, upper, fl, fu, tol, maxiter)

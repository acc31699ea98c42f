"""Effect sizes and their sampling variances (metafor ``escalc``), and back-transformations.

Single proportions: "logit" (metafor PLO), "raw" (PR), "ft" (PFT, Freeman-Tukey), "arcsine"
(PAS). Two-group 2x2 tables: "RR", "OR", "RD". Formulas follow metafor 5.1-12, R/escalc.r and
R/transf.r (Viechtbauer W, 2010, J Stat Softw 36(3)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from .._util import check_counts

__all__ = [
    "TRANSFORMS",
    "MEASURES",
    "transform_name",
    "escalc_proportion",
    "escalc_2x2",
    "check_2x2",
    "back_transform",
    "ipft_hm",
    "iarcsin",
]

#: Transformations of a single proportion ("glmm" = logit link of the binomial-normal model).
TRANSFORMS: tuple[str, ...] = ("logit", "raw", "ft", "arcsine", "glmm")
#: Two-group measures of a 2x2 table.
MEASURES: tuple[str, ...] = ("RR", "OR", "RD")
_TRANSFORM_ALIASES = {"plo": "logit", "pr": "raw", "pft": "ft", "freeman-tukey": "ft", "pas": "arcsine", "asin": "arcsine"}


def transform_name(transform: str) -> str:
    """Canonical transformation name (metafor measure names PLO/PR/PFT/PAS accepted)."""
    t = str(transform).lower()
    t = _TRANSFORM_ALIASES.get(t, t)
    if t not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; choose one of {TRANSFORMS}")
    return t


def escalc_proportion(events, n, transform: str = "logit", add: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-study transformed proportions and sampling variances (metafor escalc, R/escalc.r).

    * "logit" (PLO): :math:`y=\log\{x/(n-x)\}`, :math:`v = 1/x + 1/(n-x)`; ``add`` (default 1/2)
      is added to x and n-x only in studies with x = 0 or x = n (escalc add=1/2, to="only0").
    * "raw" (PR): :math:`y = x/n`, :math:`v = y(1-y)/n`, same correction (a 10/10 study enters as 10.5/11).
    * "ft" (PFT): :math:`y = \tfrac12\{\arcsin\sqrt{x/(n+1)} + \arcsin\sqrt{(x+1)/(n+1)}\}`,
      :math:`v = 1/(4n+2)`; no correction (half of the classical Freeman-Tukey double arcsine).
    * "arcsine" (PAS): :math:`y=\arcsin\sqrt{x/n}`, :math:`v=1/(4n)`; no correction.

    Parameters
    ----------
    events, n : array_like
        Events and patients per study (0 <= events <= n, n > 0).
    transform : {"logit", "raw", "ft", "arcsine"}
        "glmm" is accepted and gives the logit values.
    add : float, optional
        Continuity correction; default 1/2 for logit/raw and 0 for ft/arcsine (escalc defaults).

    Returns
    -------
    (yi, vi) : tuple of numpy.ndarray
    """
    t = transform_name(transform)
    x, nn = check_counts(events, n)
    if t in ("logit", "raw", "glmm"):
        a = 0.5 if add is None else float(add)
        m = nn - x
        zero = (x == 0) | (m == 0)
        xa = np.where(zero, x + a, x)
        ma = np.where(zero, m + a, m)
        na = xa + ma
        p = xa / na
        if t == "raw":
            return p, p * (1 - p) / na
        with np.errstate(divide="ignore"):
            return np.log(xa / ma), 1.0 / xa + 1.0 / ma
    a = 0.0 if add is None else float(add)
    if a:
        x, nn = x + a, nn + 2 * a
    if t == "ft":
        y = 0.5 * (np.arcsin(np.sqrt(x / (nn + 1))) + np.arcsin(np.sqrt((x + 1) / (nn + 1))))
        return y, 1.0 / (4 * nn + 2)
    return np.arcsin(np.sqrt(x / nn)), 1.0 / (4 * nn)


def ipft_hm(z, n_harm: float) -> np.ndarray:
    r"""Inverse Freeman-Tukey with the harmonic mean of n (Miller 1978; metafor transf.ipft.hm).

    :math:`p = \tfrac12\{1 - \mathrm{sgn}(\cos 2z)\sqrt{1-(\sin 2z + (\sin 2z - 1/\sin 2z)/\bar n)^2}\}`,
    set to 0 below the transform of p=0 and to 1 above the transform of p=1.

    References
    ----------
    Miller JJ (1978). The inverse of the Freeman-Tukey double arcsine transformation. The
    American Statistician 32(4):138. Schwarzer G, et al. (2019). Seriously misleading results
    using inverse of Freeman-Tukey double arcsine transformation in meta-analysis of single
    proportions. Res Synth Methods 10:476-483 (why the harmonic mean matters).
    """
    z = np.asarray(z, dtype=float)
    s = np.sin(2 * z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 0.5 * (1 - np.sign(np.cos(2 * z)) * np.sqrt(1 - (s + (s - 1 / s) / n_harm) ** 2))
    lo = 0.5 * (np.arcsin(0.0) + np.arcsin(np.sqrt(1 / (n_harm + 1))))
    hi = 0.5 * (np.arcsin(np.sqrt(n_harm / (n_harm + 1))) + np.arcsin(1.0))
    return np.where(z > hi, 1.0, np.where(z < lo, 0.0, p))


def iarcsin(z) -> np.ndarray:
    """metafor transf.iarcsin: sin(z)^2, 0 below 0 and 1 above pi/2."""
    z = np.asarray(z, dtype=float)
    return np.where(z < 0, 0.0, np.where(z > np.pi / 2, 1.0, np.sin(z) ** 2))


def _identity(z) -> np.ndarray:
    return np.asarray(z, dtype=float)


def back_transform(transform: str, n=None) -> Callable[[np.ndarray], np.ndarray]:
    """The inverse of a proportion transformation (metafor transf.*) as a vectorised function.

    logit and glmm -> inverse logit; raw -> identity (not clipped, as metafor); ft ->
    :func:`ipft_hm` with the harmonic mean of ``n`` (required); arcsine -> :func:`iarcsin`.
    """
    t = transform_name(transform)
    if t in ("logit", "glmm"):
        return special.expit
    if t == "raw":
        return _identity
    if t == "ft":
        if n is None:
            raise ValueError("the Freeman-Tukey back-transformation needs the study sizes n")
        nh = 1.0 / float(np.mean(1.0 / np.asarray(n, dtype=float)))
        return lambda z: ipft_hm(z, nh)
    return iarcsin


def check_2x2(events1, n1, events2, n2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cells (a, b, c, d) of k 2x2 tables from events and totals of two groups."""
    a, nn1 = check_counts(events1, n1, "events1", "n1")
    c, nn2 = check_counts(events2, n2, "events2", "n2")
    if a.shape != c.shape:
        raise ValueError(f"group 1 and group 2 have mismatched lengths ({a.size} and {c.size})")
    return a, nn1 - a, c, nn2 - c


def measure_name(measure: str) -> str:
    meas = str(measure).upper()
    if meas not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {MEASURES}")
    return meas


def escalc_2x2(
    events1, n1, events2, n2, measure: str = "RR", add: float = 0.5, to: str = "only0", drop00: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-study effect sizes for 2x2 tables as metafor ``escalc(measure, ai, n1i, ci, n2i)``.

    Cells a (events, group 1), b, c (events, group 2), d. With ``to="only0"`` (default) ``add``
    (1/2) is added to every cell of a table having a zero cell; ``to="all"`` adds to all tables,
    ``to="none"`` never. ``drop00=True`` sets tables with no events (or only events) in both
    groups to NaN (escalc's default is drop00=FALSE).

    * RR: :math:`\log\{(a/n_1)/(c/n_2)\}`, :math:`v=1/a-1/n_1+1/c-1/n_2`
    * OR: :math:`\log\{ad/(bc)\}`, :math:`v=1/a+1/b+1/c+1/d`
    * RD: :math:`a/n_1-c/n_2`, :math:`v=p_1(1-p_1)/n_1+p_2(1-p_2)/n_2` (vtype="LS")

    Parameters
    ----------
    events1, n1, events2, n2 : array_like
        Events and patients in group 1 (treated) and group 2 (control) per study.
    measure : {"RR", "OR", "RD"}
    add, to, drop00 :
        metafor's escalc arguments (defaults 1/2, "only0", False).

    Returns
    -------
    (yi, vi) : tuple of numpy.ndarray
        NaN for tables dropped by ``drop00``.
    """
    meas = measure_name(measure)
    a, b, c, d = check_2x2(events1, n1, events2, n2)
    if to not in ("only0", "all", "none"):
        raise ValueError("to must be 'only0', 'all' or 'none'")
    if to == "all":
        sel = np.ones(a.shape, bool)
    elif to == "only0":
        sel = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    else:
        sel = np.zeros(a.shape, bool)
    a2, b2, c2, d2 = (np.where(sel, q + add, q) for q in (a, b, c, d))
    m1, m2 = a2 + b2, c2 + d2
    p1, p2 = a2 / m1, c2 / m2
    with np.errstate(divide="ignore", invalid="ignore"):
        if meas == "RR":
            y = np.log(p1) - np.log(p2)
            v = 1 / a2 - 1 / m1 + 1 / c2 - 1 / m2
        elif meas == "OR":
            y = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            v = 1 / a2 + 1 / b2 + 1 / c2 + 1 / d2
        else:
            y = p1 - p2
            v = p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2
    if drop00:
        both = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
        y = np.where(both, np.nan, y)
        v = np.where(both, np.nan, v)
    return y, v

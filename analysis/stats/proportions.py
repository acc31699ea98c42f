"""Confidence intervals for a single binomial proportion and checks of printed percentages.

Functions
---------
ci(x, n, method="wilson", level=0.95)
    Two-sided confidence interval for x events out of n, vectorised over numpy arrays.
counts_from_percent(percent, n, decimals=0)
    Every integer count k with 100·k/n equal to a printed percentage at that precision (GRIM-style;
    defined in :mod:`analysis.stats.grim`, standard library only, and re-exported here).
identify_ci_method(x, n, low, high, decimals=0, level=0.95, percent=None)
    Which interval methods reproduce a printed interval (in percent) at the printed precision,
    computed on the count or on the printed, rounded percentage.
ci_table(x, n, level=0.95, decimals=None)
    Every method's interval for one proportion, in percent, as a polars DataFrame.

Library first: Wilson and Clopper-Pearson are :meth:`scipy.stats.binomtest(...).proportion_ci`
(methods "wilson" and "exact"); Jeffreys uses :data:`scipy.stats.beta` quantiles. Wald, Wald with
continuity correction and Agresti-Coull are one-line formulas that scipy does not provide
(statsmodels' ``proportion_confint`` has Wald and Agresti-Coull, but is not a runtime dependency,
and its Jeffreys interval lacks the boundary rule of Brown, Cai & DasGupta).

References
----------
Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial proportion.
Statistical Science 16(2):101-133 (Wald, Wilson, Agresti-Coull, Jeffreys, Clopper-Pearson).
Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of
seven methods. Statistics in Medicine 17:857-872 (Wald with continuity correction).
Brown NJL, Heathers JAJ (2017). The GRIM test. Social Psychological and Personality Science 8:363-369.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ._util import check_level, norm_isf
from .grim import _exact_decimal, count_interval, counts_from_percent  # noqa: F401 - part of this module's API

__all__ = ["CI_METHODS", "ci", "ci_table", "counts_from_percent", "identify_ci_method"]

#: Interval methods understood by :func:`ci`, in the order :func:`identify_ci_method` reports them.
CI_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson", "wald", "wald-cc", "agresti-coull", "jeffreys")

_ALIASES = {
    "exact": "clopper-pearson",
    "clopper_pearson": "clopper-pearson",
    "clopperpearson": "clopper-pearson",
    "wald_cc": "wald-cc",
    "waldcc": "wald-cc",
    "agresti_coull": "agresti-coull",
    "agresticoull": "agresti-coull",
}
_SCIPY = {"wilson": "wilson", "clopper-pearson": "exact"}


def _method_name(method: str) -> str:
    if not isinstance(method, str):
        raise ValueError(f"method must be a string, one of {CI_METHODS}; got {method!r}")
    m = method.strip().lower()
    m = _ALIASES.get(m, m)
    if m not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; choose one of {CI_METHODS} (or 'exact')")
    return m


def _check_counts(x, n):
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    try:
        x, n = np.broadcast_arrays(x, n)
    except ValueError:
        raise ValueError(f"x and n have mismatched shapes {np.shape(x)} and {np.shape(n)}") from None
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(n)):
        raise ValueError("x and n must be finite numbers")
    if np.any(n <= 0):
        raise ValueError("n (number of patients) must be > 0")
    if np.any(x < 0):
        raise ValueError("x (number of events) must be >= 0")
    if np.any(x > n):
        raise ValueError("x (number of events) cannot exceed n (number of patients)")
    return x, n


def _scipy_ci(xa: np.ndarray, na: np.ndarray, method: str, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise ``scipy.stats.binomtest(x, n).proportion_ci(level, method)`` (whole counts)."""
    from scipy import stats  # on first use: importing scipy.stats costs every fresh interpreter 0.5 s
    lo = np.empty(xa.shape)
    hi = np.empty(xa.shape)
    for idx in np.ndindex(xa.shape):
        r = stats.binomtest(int(xa[idx]), int(na[idx])).proportion_ci(confidence_level=level, method=_SCIPY[method])
        lo[idx], hi[idx] = r.low, r.high
    return lo, hi


def _closed_form(xa: np.ndarray, na: np.ndarray, method: str, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson and Clopper-Pearson for a fractional x (a printed percentage times n), which binomtest refuses."""
    alpha = 1.0 - level
    if method == "wilson":
        z = norm_isf(alpha / 2.0)
        p, z2 = xa / na, z * z
        centre = (p + z2 / (2 * na)) / (1 + z2 / na)
        half = z * np.sqrt(p * (1 - p) / na + z2 / (4 * na * na)) / (1 + z2 / na)
        return np.where(xa > 0, centre - half, 0.0), np.where(xa < na, centre + half, 1.0)
    from scipy import stats

    lo = np.where(xa > 0, stats.beta.ppf(alpha / 2, np.maximum(xa, 1e-300), na - xa + 1), 0.0)
    hi = np.where(xa < na, stats.beta.ppf(1 - alpha / 2, xa + 1, np.maximum(na - xa, 1e-300)), 1.0)
    return lo, hi


def ci(x, n, method: str = "wilson", level: float = 0.95):
    r"""Two-sided confidence interval for a binomial proportion :math:`\hat p = x/n`.

    Parameters
    ----------
    x, n : int, float or array_like
        Number of events and number of patients (broadcast against each other). ``x`` may be
        fractional (a printed percentage times n, see :func:`identify_ci_method`).
    method : {"wilson", "clopper-pearson", "wald", "wald-cc", "agresti-coull", "jeffreys"}
        ``"exact"`` is accepted as an alias of ``"clopper-pearson"``.
    level : float
        Confidence level (0.95 by default; 95 is also accepted).

    Returns
    -------
    (lower, upper) : tuple of float, or tuple of numpy.ndarray
        Bounds on the proportion scale, clipped to [0, 1]. Scalars in give floats out.

    Notes
    -----
    With :math:`z = \Phi^{-1}(1-\alpha/2)` and :math:`\hat p = x/n`:

    * Wald: :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}`.
    * Wald with continuity correction: :math:`\hat p \pm \{z\sqrt{\hat p(1-\hat p)/n} + 1/(2n)\}`
      (Newcombe 1998, method 2).
    * Wilson score: :math:`\{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}\}/(1+z^2/n)`
      (Wilson 1927; R ``prop.test(correct=FALSE)``); scipy ``binomtest(...).proportion_ci("wilson")``
      for whole counts, the formula for a fractional x.
    * Agresti-Coull: :math:`\tilde n = n+z^2`, :math:`\tilde p=(x+z^2/2)/\tilde n`,
      :math:`\tilde p \pm z\sqrt{\tilde p(1-\tilde p)/\tilde n}`.
    * Clopper-Pearson (exact): Beta(α/2; x, n−x+1) and Beta(1−α/2; x+1, n−x) quantiles,
      0 when x = 0 and 1 when x = n (R ``binom.test``); scipy ``proportion_ci("exact")`` for whole
      counts, the Beta quantiles themselves for a fractional x.
    * Jeffreys: Beta(α/2 and 1−α/2; x+½, n−x+½) quantiles, with the lower bound set to 0
      when x = 0 and the upper to 1 when x = n (Brown, Cai & DasGupta 2001, section 4.1.2).

    Examples
    --------
    >>> lo, hi = ci(34, 43, "wald-cc")
    >>> round(100 * lo), round(100 * hi)
    (66, 92)
    """
    m = _method_name(method)
    level = check_level(level)
    scalar = np.ndim(x) == 0 and np.ndim(n) == 0
    xa, na = _check_counts(x, n)
    alpha = 1.0 - level
    z = norm_isf(alpha / 2.0)
    p = xa / na
    with np.errstate(divide="ignore", invalid="ignore"):
        if m in _SCIPY:
            whole = bool(np.all(xa == np.round(xa)) and np.all(na == np.round(na)))
            lo, hi = (_scipy_ci if whole else _closed_form)(xa, na, m, level)
        elif m in ("wald", "wald-cc"):
            half = z * np.sqrt(p * (1.0 - p) / na)
            if m == "wald-cc":
                half = half + 0.5 / na
            lo, hi = p - half, p + half
        elif m == "agresti-coull":
            nt = na + z * z
            pt = (xa + z * z / 2.0) / nt
            half = z * np.sqrt(pt * (1 - pt) / nt)
            lo, hi = pt - half, pt + half
        else:  # jeffreys
            from scipy import stats

            lo = np.where(xa > 0, stats.beta.ppf(alpha / 2, xa + 0.5, na - xa + 0.5), 0.0)
            hi = np.where(xa < na, stats.beta.ppf(1 - alpha / 2, xa + 0.5, na - xa + 0.5), 1.0)
    lo = np.clip(lo, 0.0, 1.0)
    hi = np.clip(hi, 0.0, 1.0)
    if scalar:
        return float(lo), float(hi)
    return lo, hi


def identify_ci_method(x: int, n: int, low, high, decimals: int = 0, level: float = 0.95,
                       percent=None) -> list[str]:
    r"""Interval methods that reproduce a printed confidence interval, on the count or on the printed percentage.

    A method matches when both of its bounds, in percent, lie within
    :math:`0.5\cdot 10^{-d}` (boundary included, plus 1e-9 for floating point) of the printed
    bounds ``low`` and ``high``, i.e. when rounding them to ``decimals`` can give the printed numbers.
    Each method is first computed on the count x/n. When ``percent`` (the percentage as printed)
    is given, every method that does not match on the count is also computed on the printed,
    rounded proportion ``percent/100`` with the same n -- reports often compute the interval from
    the rounded figure -- and a match is named ``"<method> (on the printed <percent>%)"``.

    Parameters
    ----------
    x, n : int
        Events and patients of the report.
    low, high : float
        Printed bounds in percent units, e.g. ``66`` and ``92``.
    decimals : int
        Decimals of the printed bounds.
    level : float
        Confidence level of the printed interval.
    percent : float or str, optional
        The printed percentage (e.g. ``88`` for "38 (88%)").

    Returns
    -------
    list of str
        Matching methods: those on the count in the order of :data:`CI_METHODS`, then those on
        the printed percentage (possibly empty).

    Examples
    --------
    >>> identify_ci_method(34, 43, 66, 92)
    ['wald-cc']
    >>> identify_ci_method(38, 43, 78, 98, percent=88)  # Zhang 2021, CRS: "38 (88% [78, 98%])"
    ['wald (on the printed 88%)']
    """
    if low is None or high is None:
        raise ValueError("low and high must be given (printed bounds in percent)")
    low_f, high_f = float(_exact_decimal(low)), float(_exact_decimal(high))
    if low_f > high_f:
        raise ValueError(f"low ({low}) must not exceed high ({high})")
    tol = 0.5 * 10.0 ** (-int(decimals)) + 1e-9

    def fits(xx) -> list[str]:
        out = []
        for m in CI_METHODS:
            lo, hi = ci(xx, n, m, level)
            if abs(100.0 * lo - low_f) <= tol and abs(100.0 * hi - high_f) <= tol:
                out.append(m)
        return out

    found = fits(x)
    if percent is not None:
        pct = _exact_decimal(percent)
        if not 0 <= pct <= 100:
            raise ValueError(f"percent must lie in [0, 100]; got {percent}")
        found += [f"{m} (on the printed {percent}%)" for m in fits(float(pct / 100 * int(n))) if m not in found]
    return found


def _half_up(v: float, decimals: int) -> float:
    return float(Decimal(repr(v)).quantize(Decimal(1).scaleb(-int(decimals)), rounding="ROUND_HALF_UP"))


def ci_table(x: int, n: int, level: float = 0.95, decimals: int | None = None) -> pl.DataFrame:
    """Every method's interval for x/n in percent, as a polars DataFrame.

    Parameters
    ----------
    x, n : int
        Events and patients.
    level : float
        Confidence level.
    decimals : int, optional
        If given, adds columns ``ci_low_printed``/``ci_high_printed`` rounded half-up to that many
        decimals (as most reports print).

    Returns
    -------
    polars.DataFrame
        Columns method, estimate, ci_low, ci_high (percent) [, ci_low_printed, ci_high_printed].
    """
    rows = {"method": [], "estimate": [], "ci_low": [], "ci_high": []}
    for m in CI_METHODS:
        lo, hi = ci(x, n, m, level)
        rows["method"].append(m)
        rows["estimate"].append(100.0 * x / n)
        rows["ci_low"].append(100.0 * lo)
        rows["ci_high"].append(100.0 * hi)
    out = pl.DataFrame(rows)
    if decimals is not None:
        out = out.with_columns(
            pl.Series("ci_low_printed", [_half_up(v, decimals) for v in rows["ci_low"]]),
            pl.Series("ci_high_printed", [_half_up(v, decimals) for v in rows["ci_high"]]),
        )
    return out

"""Tests and effect measures for a single 2x2 table (two arms of one study).

Library first: Fisher's exact test is :func:`scipy.stats.fisher_exact` (R's two-sided rule),
its conditional maximum-likelihood odds ratio and exact interval are
:func:`scipy.stats.contingency.odds_ratio` with ``kind="conditional"`` (R ``fisher.test``'s
estimate and conf.int), and Pearson's chi-square test with and without Yates' correction is
:func:`scipy.stats.chi2_contingency` (R ``chisq.test``). Effect measures use metafor's escalc
conventions (:func:`analysis.stats.meta.escalc_2x2`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats
from scipy.stats.contingency import odds_ratio

from ._util import check_level, norm_isf
from .meta.effects import MEASURES, escalc_2x2
from .meta.text import fmt, table

__all__ = ["FisherResult", "ChiSquareResult", "TwoByTwoResult", "fisher_exact", "chisq_test", "two_by_two"]


@dataclass
class FisherResult:
    """Fisher's exact test for a 2x2 table [[a, b], [c, d]] (R fisher.test).

    Attributes: ``pval`` (two-sided: sum of table probabilities <= that of the observed table,
    relative tolerance 1e-7 as R), ``sample_odds_ratio`` (ad/bc), ``odds_ratio`` (conditional MLE,
    R's estimate), ``ci_low``, ``ci_high`` (conditional exact CI, R's conf.int), ``alternative``,
    ``level``.
    """

    pval: float
    sample_odds_ratio: float
    odds_ratio: float
    ci_low: float
    ci_high: float
    alternative: str
    level: float


@dataclass
class ChiSquareResult:
    """Pearson chi-square test of a 2x2 table (R chisq.test): ``statistic``, ``df`` (1), ``pval``, ``correct``."""

    statistic: float
    df: int
    pval: float
    correct: bool


def _table_ints(a, b, c, d) -> tuple[int, int, int, int]:
    vals = []
    for name, q in zip("abcd", (a, b, c, d)):
        qf = float(q)
        if not np.isfinite(qf) or qf < 0 or not qf.is_integer():
            raise ValueError(f"cell {name} must be a non-negative whole number; got {q}")
        vals.append(int(qf))
    if sum(vals) == 0:
        raise ValueError("the table is empty")
    return tuple(vals)  # type: ignore[return-value]


def fisher_exact(a, b, c, d, alternative: str = "two-sided", level: float = 0.95) -> FisherResult:
    """Fisher's exact test and conditional MLE odds ratio for [[a, b], [c, d]] (R stats::fisher.test).

    The p-value is :func:`scipy.stats.fisher_exact`'s; the conditional MLE (which solves
    E[X; psi] = a under Fisher's noncentral hypergeometric distribution) and its exact interval
    (bounds solving P(X >= a; psi) = alpha/2 and P(X <= a; psi) = alpha/2) are
    ``scipy.stats.contingency.odds_ratio(table, kind="conditional")``, as R.

    Parameters
    ----------
    a, b, c, d : int
        Table [[a, b], [c, d]]: a = events and b = non-events in group 1, c and d in group 2.
    alternative : {"two-sided", "less", "greater"}
    level : float
        Level of the odds-ratio CI.

    Returns
    -------
    FisherResult
    """
    a, b, c, d = _table_ints(a, b, c, d)
    lvl = check_level(level)
    alt = {"two.sided": "two-sided", "greater": "greater", "less": "less"}.get(alternative, alternative)
    tab = [[a, b], [c, d]]
    p = float(stats.fisher_exact(tab, alternative=alt).pvalue)
    orr = odds_ratio(tab, kind="conditional")
    ci = orr.confidence_interval(confidence_level=lvl, alternative=alt)
    sor = (a * d) / (b * c) if b * c > 0 else (float("inf") if a * d > 0 else float("nan"))
    return FisherResult(pval=p, sample_odds_ratio=float(sor), odds_ratio=float(orr.statistic), ci_low=float(ci.low),
                        ci_high=float(ci.high), alternative=alt, level=lvl)


def chisq_test(a, b, c, d, correct: bool = True) -> ChiSquareResult:
    r"""Pearson's chi-square test for [[a, b], [c, d]], with Yates' correction by default (R chisq.test).

    :math:`X^2=\sum (|O-E| - Y)^2/E` with :math:`Y=\min(0.5, \min|O-E|)` when ``correct`` else 0,
    computed by :func:`scipy.stats.chi2_contingency`.

    Parameters
    ----------
    a, b, c, d : int
        Table [[a, b], [c, d]].
    correct : bool
        Yates' continuity correction (R default TRUE).

    Returns
    -------
    ChiSquareResult
        NaN statistic and p-value when an expected count is 0 (R returns NaN with a warning).
    """
    a, b, c, d = _table_ints(a, b, c, d)
    O = np.array([[a, b], [c, d]])
    if np.any(O.sum(axis=0) == 0) or np.any(O.sum(axis=1) == 0):
        return ChiSquareResult(statistic=float("nan"), df=1, pval=float("nan"), correct=correct)
    r = stats.chi2_contingency(O, correction=correct)
    return ChiSquareResult(statistic=float(r.statistic), df=int(r.dof), pval=float(r.pvalue), correct=correct)


@dataclass
class TwoByTwoResult:
    """Effect measures and tests for one 2x2 table (group 1 vs group 2).

    Attributes: ``events1``, ``n1``, ``events2``, ``n2``, ``level``; ``rr``, ``or_``, ``rd`` as
    (estimate, ci_low, ci_high) triples (Wald intervals on the log scale for RR/OR, escalc variances,
    1/2 added to all cells when a cell is zero); ``fisher`` (:class:`FisherResult`), ``chisq``
    and ``chisq_yates`` (:class:`ChiSquareResult`).
    """

    events1: int
    n1: int
    events2: int
    n2: int
    level: float
    rr: tuple[float, float, float]
    or_: tuple[float, float, float]
    rd: tuple[float, float, float]
    fisher: FisherResult
    chisq: ChiSquareResult
    chisq_yates: ChiSquareResult

    @property
    def pvals(self) -> dict[str, float]:
        """p-values by test name: "fisher", "chisq", "chisq_yates"."""
        return {"fisher": self.fisher.pval, "chisq": self.chisq.pval, "chisq_yates": self.chisq_yates.pval}

    def tests_reproducing(self, reported_p: float, decimals: int = 2) -> list[str]:
        """Tests whose p-value rounds (half either way, boundary included) to the reported p."""
        tol = 0.5 * 10.0 ** (-decimals) + 1e-12
        return [name for name, p in self.pvals.items() if abs(p - reported_p) <= tol]

    @property
    def summary(self) -> pl.DataFrame:
        f = self.fisher
        return pl.DataFrame(
            {
                "quantity": ["RR", "OR", "RD", "Fisher exact p", "chi-square p", "chi-square (Yates) p", "conditional MLE OR"],
                "estimate": [self.rr[0], self.or_[0], self.rd[0], f.pval, self.chisq.pval, self.chisq_yates.pval, f.odds_ratio],
                "ci_low": [self.rr[1], self.or_[1], self.rd[1], None, None, None, f.ci_low],
                "ci_high": [self.rr[2], self.or_[2], self.rd[2], None, None, None, f.ci_high],
            }
        )

    def __str__(self) -> str:
        rows = [[name, fmt(t[0]), fmt(t[1]), fmt(t[2])] for name, t in (("RR", self.rr), ("OR", self.or_), ("RD", self.rd))]
        s = f"\n{self.events1}/{self.n1} vs {self.events2}/{self.n2}\n\n" + table(["", "estimate", "ci.lb", "ci.ub"], rows)
        s += (
            f"\n\nFisher's exact test (two-sided): p = {fmt(self.fisher.pval)}"
            f"\nChi-square test: X^2 = {fmt(self.chisq.statistic)}, p = {fmt(self.chisq.pval)}"
            f"\nChi-square test with Yates' correction: X^2 = {fmt(self.chisq_yates.statistic)}, p = {fmt(self.chisq_yates.pval)}\n"
        )
        return s

    def print_summary(self) -> None:
        print(self)


def two_by_two(events1, n1, events2, n2, level: float = 0.95) -> TwoByTwoResult:
    """RR, OR and RD with Wald CIs plus Fisher's exact and chi-square tests for one 2x2 table.

    Parameters
    ----------
    events1, n1, events2, n2 : int
        Events and patients in group 1 and group 2 (zero cells allowed).
    level : float

    Returns
    -------
    TwoByTwoResult
        Use ``tests_reproducing(p, decimals)`` to see which test gives a reported p-value.

    Examples
    --------
    >>> two_by_two(8, 13, 2, 15).tests_reproducing(0.02, 2)
    ['fisher', 'chisq_yates']
    """
    lvl = check_level(level)
    a, b, c, d = _table_ints(events1, float(n1) - float(events1), events2, float(n2) - float(events2))
    zc = norm_isf((1 - lvl) / 2)
    out = {}
    for meas in MEASURES:
        y, v = escalc_2x2([a], [a + b], [c], [c + d], meas)
        y0, s0 = float(y[0]), math.sqrt(float(v[0]))
        lo, hi = y0 - zc * s0, y0 + zc * s0
        out[meas] = (y0, lo, hi) if meas == "RD" else (math.exp(y0), math.exp(lo), math.exp(hi))
    return TwoByTwoResult(
        events1=a, n1=a + b, events2=c, n2=c + d, level=lvl, rr=out["RR"], or_=out["OR"], rd=out["RD"],
        fisher=fisher_exact(a, b, c, d, level=lvl), chisq=chisq_test(a, b, c, d, correct=False),
        chisq_yates=chisq_test(a, b, c, d, correct=True),
    )

"""Reported vs recomputed: for every figure a report prints, what this review can check.

:func:`audit` returns one row per outcome record with *structured* results of the checks
(statuses, the counts that reproduce a percentage, the interval methods that reproduce a
printed CI) so that callers select problems by status, never by searching prose.  The text a
reader sees is written from these columns by :mod:`analysis.present`.
"""
from __future__ import annotations

from decimal import Decimal

import polars as pl

from ..stats import proportions
from .loading import Review
from .schema import decimals

#: the interval used wherever this review recomputes a CI for a single proportion
RECOMPUTED_CI = "wilson"

#: values of the ``percent_check`` column
PERCENT_CHECKS = {
    "reproduced": "the printed percentage is the printed count over its denominator",
    "not_reproduced": "the printed percentage is not the printed count over its denominator",
    "counts_only": "no count printed: the integer counts that give the percentage are listed",
}
#: values of the ``ci_check`` column
CI_CHECKS = {
    "reproduced": "a standard interval method reproduces the printed CI",
    "not_reproduced": "no standard interval method reproduces the printed CI",
}

_SCHEMA = {
    "percent_check": pl.String, "counts_low": pl.Int64, "counts_high": pl.Int64, "ci_check": pl.String,
    "ci_methods": pl.List(pl.String), "estimate": pl.Float64, "ci_lower": pl.Float64, "ci_upper": pl.Float64,
}


def _check(r: dict) -> dict:
    """The checks of one record of ``Review.outcomes`` (see :func:`audit`)."""
    out = {"percent_check": None, "counts_low": None, "counts_high": None, "ci_check": None, "ci_methods": None,
           "estimate": None, "ci_lower": None, "ci_upper": None}
    ev, den, pct = r["events"], r["denominator"], r["percent"]
    if r["estimator"] != "proportion" or not den:
        return out
    if ev is not None:
        lo, hi = proportions.ci(ev, den, RECOMPUTED_CI)
        out.update(estimate=ev / den, ci_lower=float(lo), ci_upper=float(hi))
    if pct is not None:
        lo, hi = proportions.count_interval(pct, den, decimals(pct))
        out.update(counts_low=lo, counts_high=hi)
        out["percent_check"] = "counts_only" if ev is None else ("reproduced" if lo <= ev <= hi else "not_reproduced")
    if r["ci_low"] is not None and ev is not None:
        methods = proportions.identify_ci_method(
            ev, den, float(Decimal(r["ci_low"])), float(Decimal(r["ci_high"])),
            max(decimals(r["ci_low"]), decimals(r["ci_high"])), level=(r["ci_level"] or 95) / 100, percent=pct)
        out["ci_methods"] = list(methods)
        out["ci_check"] = "reproduced" if methods else "not_reproduced"
    return out


def audit(review: Review, studies: list[str] | None = None) -> pl.DataFrame:
    """Reported vs recomputed, one row per outcome record of ``review.outcomes``.

    ``studies`` restricts the rows to those studies (a study chapter needs its own: the checks
    of a record depend on that record alone, so its rows are the same either way).  Results are
    kept per review and selection (:attr:`Review.memo`).

    For crude proportions: the recomputed estimate ``events/denominator`` with its
    :data:`RECOMPUTED_CI` 95% interval; whether a printed percentage is ``events/denominator``
    at the printed precision, or, when no count is printed, which counts give it (an interval of
    counts, :func:`analysis.stats.grim.count_interval`, O(1) whatever the denominator); which interval methods reproduce a printed CI
    (:func:`analysis.stats.proportions.identify_ci_method`), also computed on the printed, rounded
    percentage when the count does not reproduce the interval.  Time-to-event figures carry no
    recomputation here (see the survival reconstruction).

    Returns
    -------
    polars.DataFrame
        The columns of ``review.outcomes`` plus ``percent_check``, ``counts_low``, ``counts_high``,
        ``ci_check``, ``ci_methods``, ``estimate``, ``ci_lower``, ``ci_upper`` and ``problem``
        (a printed figure that does not reproduce, or a recorded flag).
    """
    key = ("audit", None if studies is None else tuple(studies))
    if key not in review.memo:
        o = review.outcomes if studies is None else review.outcomes.filter(pl.col("study").is_in(list(studies)))
        checks = pl.DataFrame([_check(r) for r in o.iter_rows(named=True)], schema=_SCHEMA)
        df = pl.concat([o, checks], how="horizontal")
        problem = ((pl.col("percent_check") == "not_reproduced").fill_null(False)
                   | (pl.col("ci_check") == "not_reproduced").fill_null(False)
                   | (pl.col("flags") != ""))
        review.memo[key] = df.with_columns(problem=problem)
    return review.memo[key]

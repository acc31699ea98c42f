"""Between-arm comparisons within one study: recomputed effect measures, tests, printed p-values.

Only comparisons of counts the report prints are recomputed.  Survival is never compared
between arms here: a difference or a test computed on pseudo-patient data rebuilt from two
printed percentages would look like evidence it is not.  Returns numbers only; the chapter
formats them (:mod:`analysis.present.study`).
"""
from __future__ import annotations

from decimal import Decimal

import polars as pl

from ..stats import contingency, survival
from .loading import Review
from .schema import decimals

def arm_comparisons(review: Review, study_id: str) -> pl.DataFrame:
    """Every binary outcome a study reports as counts in two of its (non-combined) arms, compared.

    RR, OR and RD with Wald 95% CIs (metafor ``escalc`` conventions, 1/2 added to every cell
    of a table with a zero cell), Fisher's exact and chi-square p-values
    (:func:`analysis.stats.contingency.two_by_two`), the p-value the report prints for that comparison
    (if any), and which test reproduces it at its printed precision.
    """
    study = review.study(study_id)
    o = review.outcomes.filter((pl.col("study") == study_id) & (pl.col("estimator") == "proportion")
                               & ~pl.col("combined_arm") & pl.col("events").is_not_null())
    printed = {(c.outcome, frozenset(c.groups)): c for c in study.comparisons}
    rows = []
    for (outcome,), recs in o.group_by(["outcome"], maintain_order=True):
        if recs.height != 2:
            continue
        a, b = recs.row(0, named=True), recs.row(1, named=True)
        t = contingency.two_by_two(a["events"], a["denominator"], b["events"], b["denominator"])
        comp = printed.get((outcome, frozenset((a["arm"], b["arm"]))))
        reproduced = (t.tests_reproducing(float(Decimal(comp.p_value)), decimals(comp.p_value)) if comp else [])
        rows.append({
            "outcome": outcome, "outcome_label": a["outcome_label"],
            "arm_a": a["arm_label"], "events_a": a["events"], "n_a": a["denominator"],
            "arm_b": b["arm_label"], "events_b": b["events"], "n_b": b["denominator"],
            **{f"{m}{suffix}": float(v) for m, e in (("rr", t.rr), ("or", t.or_), ("rd", t.rd))
               for suffix, v in zip(("", "_low", "_high"), e)},
            "fisher_p": t.fisher.pval, "chisq_p": t.chisq.pval, "yates_p": t.chisq_yates.pval,
            "reported_p": comp.p_value if comp else None,
            "reproduced_by": list(reproduced) if comp else None,
        })
    measures = {f"{m}{suffix}": pl.Float64 for m in ("rr", "or", "rd") for suffix in ("", "_low", "_high")}
    return pl.DataFrame(rows, schema={"outcome": pl.String, "outcome_label": pl.String, "arm_a": pl.String,
                                      "events_a": pl.Int64, "n_a": pl.Int64, "arm_b": pl.String,
                                      "events_b": pl.Int64, "n_b": pl.Int64, **measures,
                                      "fisher_p": pl.Float64, "chisq_p": pl.Float64, "yates_p": pl.Float64,
                                      "reported_p": pl.String, "reproduced_by": pl.List(pl.String)})

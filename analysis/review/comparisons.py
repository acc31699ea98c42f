"""Between-arm comparisons within one study: recomputed effect measures, tests, printed p-values.

Returns numbers only (estimates, bounds, p-values); the chapter formats them
(:mod:`analysis.present.study`).
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
from scipy.stats import norm

from ..stats import contingency, survival
from .loading import Review
from .schema import decimals
from .survival import _convert, reconstructions

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


def landmark_comparisons(review: Review, study_id: str) -> pl.DataFrame:
    """Between-arm comparisons of reconstructed landmark survival (two arms, same outcome).

    At each landmark time both arms report, the Kaplan-Meier estimates of the
    reconstructed pseudo-IPD, their difference with a Greenwood-based 95% CI, and a z-test of
    equality on the complementary log-log scale.  Labelled as reconstructed: the variances,
    and so the p-value, depend on censoring the report does not give.
    """
    recon = reconstructions(review, study_id)
    rows = []
    z = float(norm.ppf(0.975))
    for outcome in dict.fromkeys(r.outcome for r in recon):
        pair = [r for r in recon if r.outcome == outcome]
        if len(pair) != 2 or pair[0].time_unit != pair[1].time_unit:
            continue
        lm = review.outcomes.filter((pl.col("study") == study_id) & (pl.col("outcome") == outcome)
                                    & (pl.col("estimator") == "km_landmark") & pl.col("arm").is_in([r.arm for r in pair]))
        per_arm = [{_convert(t, u, pair[0].time_unit) for t, u in zip(lm.filter(pl.col("arm") == r.arm)["time"],
                                                                     lm.filter(pl.col("arm") == r.arm)["time_unit"])}
                   for r in pair]
        for t in sorted(per_arm[0] & per_arm[1]):
            e = [survival.landmark(r.data, t) for r in pair]
            diff = e[0].S - e[1].S
            se = (e[0].var_S + e[1].var_S) ** 0.5
            zc = (e[0].yi - e[1].yi) / (e[0].vi + e[1].vi) ** 0.5 if np.isfinite(e[0].vi + e[1].vi) else np.nan
            rows.append({"outcome": outcome, "time": t, "time_unit": pair[0].time_unit,
                         "arm_a": pair[0].arm_label, "arm_b": pair[1].arm_label,
                         "source": " + ".join(dict.fromkeys(r.source for r in pair)),
                         "S_a": e[0].S, "S_b": e[1].S, "difference": diff,
                         "difference_low": diff - z * se, "difference_high": diff + z * se,
                         "p_cloglog": float(2 * norm.sf(abs(zc))) if np.isfinite(zc) else None})
    return pl.DataFrame(rows, schema={"outcome": pl.String, "time": pl.Float64, "time_unit": pl.String,
                                      "arm_a": pl.String, "arm_b": pl.String, "source": pl.String,
                                      "S_a": pl.Float64, "S_b": pl.Float64, "difference": pl.Float64,
                                      "difference_low": pl.Float64, "difference_high": pl.Float64,
                                      "p_cloglog": pl.Float64})

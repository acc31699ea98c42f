"""Across-study synthesis: which figure each study contributes, pooling, and sensitivity analyses.

Studies are selected by *what they report*, never by name: a new study file that reports an
outcome enters every synthesis of that outcome on the next build.

Selection rule for a binary outcome (one row per study, :func:`study_level`)
------------------------------------------------------------------------------
1. candidate records: crude proportions (``estimator == "proportion"``) of the outcome in
   arms with ``role == "intervention"`` whose population fits the review question
   (``population_fit`` in ``fits``; arms outside the question, such as patients without a
   prior transplant, never enter);
2. a record of an arm that combines the others (``parts``, e.g. all 14 patients of a two-arm
   trial) is preferred;
3. otherwise records of several intervention arms are summed only when they share the same
   denominator kind, and the row says so (``selection``);
4. denominators of different kinds (infused vs evaluable vs in CR) are kept in the
   ``denominator_kind`` column (see :func:`denominator_kinds`), never silently mixed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.stats import norm

from ..stats import meta, proportions
from .audit import RECOMPUTED_CI
from .loading import Review
from .schema import OUTCOMES

#: the analyses every pooled outcome is re-run under
SCENARIOS = {
    "primary": "All studies in the review population or partly so",
    "direct_only": "Review population only (drops series with other diagnoses or targets)",
    "no_overlap": "Without possibly overlapping series (keeps the largest of each overlap group)",
    "full_papers": "Full papers only (drops conference abstracts and secondary reports)",
    "glmm": "Random-intercept logistic model (GLMM) instead of logit + REML",
}


def study_level(review: Review, outcome: str, fits: tuple[str, ...] = ("direct", "partial")) -> pl.DataFrame:
    """One row per study reporting ``outcome`` as a crude proportion (see module docstring).

    Returns columns: study, label, arm, events, denominator, denominator_kind, population_fit,
    publication_type, selection, source, n_arm_records, estimate, ci_lower, ci_upper (Wilson 95 %).
    """
    o = review.outcomes
    if o.height == 0:
        return _empty()
    cand = o.filter((pl.col("outcome") == outcome) & (pl.col("estimator") == "proportion")
                    & (pl.col("role") == "intervention") & pl.col("population_fit").is_in(list(fits))
                    & pl.col("events").is_not_null() & pl.col("denominator").is_not_null())
    names = dict(zip(review.studies_table["study"], review.studies_table["short_name"]))
    rows = []
    for sid in sorted(cand["study"].unique().to_list()):
        recs = cand.filter(pl.col("study") == sid)
        combined = recs.filter(pl.col("combined_arm"))
        if combined.height:
            r = combined.row(0, named=True)
            rows.append(_row(r, names[sid], f"combined arm ({r['arm_label']})", recs.height))
        elif recs.height == 1:
            r = recs.row(0, named=True)
            rows.append(_row(r, names[sid], "single record", 1))
        elif recs["denominator_kind"].n_unique() == 1:
            r = dict(recs.row(0, named=True))
            r.update(events=int(recs["events"].sum()), denominator=int(recs["denominator"].sum()),
                     arm="+".join(recs["arm"]), arm_label=" + ".join(recs["arm_label"]),
                     population_fit="partial" if (recs["population_fit"] != "direct").any() else "direct",
                     source=" / ".join(recs["source"]))
            rows.append(_row(r, names[sid], f"summed over arms: {r['arm_label']}", recs.height))
        else:
            raise ValueError(f"{sid}: {outcome}: arms report different denominator kinds "
                             f"({', '.join(recs['denominator_kind'].unique())}); cannot combine them")
    if not rows:
        return _empty()
    df = pl.DataFrame(rows)
    lo, hi = proportions.ci(df["events"].to_numpy(), df["denominator"].to_numpy(), RECOMPUTED_CI)
    return df.with_columns(estimate=df["events"] / df["denominator"], ci_lower=pl.Series(lo), ci_upper=pl.Series(hi))


def _row(r: dict, name: str, selection: str, n_records: int) -> dict:
    label = name if r["arm"] == "all" else f"{name}: {r['arm_label']}"
    return {"study": r["study"], "label": label, "arm": r["arm"], "events": int(r["events"]),
            "denominator": int(r["denominator"]), "denominator_kind": r["denominator_kind"],
            "population_fit": r["population_fit"], "publication_type": r["publication_type"],
            "selection": selection, "source": r["source"], "n_arm_records": n_records}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"study": pl.String, "label": pl.String, "arm": pl.String, "events": pl.Int64,
                                "denominator": pl.Int64, "denominator_kind": pl.String,
                                "population_fit": pl.String, "publication_type": pl.String,
                                "selection": pl.String, "source": pl.String, "n_arm_records": pl.Int64,
                                "estimate": pl.Float64, "ci_lower": pl.Float64, "ci_upper": pl.Float64})


def denominator_kinds(df: pl.DataFrame) -> dict[str, list[str]]:
    """Which studies contribute which denominator kind (infused, evaluable, ...), in order of appearance."""
    kinds = df["denominator_kind"].unique(maintain_order=True).to_list()
    return {k: df.filter(pl.col("denominator_kind") == k)["study"].to_list() for k in kinds}


def _drop_overlap(review: Review, df: pl.DataFrame) -> pl.DataFrame:
    """Keep, in each overlap cluster, only the contributing study with the largest denominator."""
    drop: set[str] = set()
    for cluster in review.overlap_clusters():
        present = df.filter(pl.col("study").is_in(list(cluster)))
        if present.height > 1:
            keep = present.sort(["denominator", "study"], descending=[True, False])["study"][0]
            drop |= set(present["study"]) - {keep}
    return df.filter(~pl.col("study").is_in(list(drop)))


@dataclass
class PooledProportion:
    """A pooled single proportion with the studies it pools and its sensitivity analyses.

    Attributes
    ----------
    outcome, label : str
    studies : polars.DataFrame
        :func:`study_level` rows with the model's percentage weights.
    result : analysis.stats.meta.ProportionResult or None
        The primary fit (None when fewer than two studies report the outcome).
    sensitivity : polars.DataFrame
        One row per scenario of :data:`SCENARIOS`.
    """

    outcome: str
    label: str
    transform: str
    method: str
    studies: pl.DataFrame
    result: meta.ProportionResult | None
    sensitivity: pl.DataFrame = field(repr=False)

    @property
    def summary(self) -> pl.DataFrame:
        """One row: k, patients, events, pooled estimate with CI and prediction interval, tau², I²."""
        r = self.result
        if r is None:
            return pl.DataFrame({"outcome": [self.label], "k": [self.studies.height],
                                 "note": ["fewer than two studies: not pooled"]})
        return pl.DataFrame({"outcome": [self.label], "k": [r.k], "patients": [int(self.studies["denominator"].sum())],
                             "events": [int(self.studies["events"].sum())], "pooled": [r.estimate],
                             "ci_lower": [r.ci_low], "ci_upper": [r.ci_high], "pi_lower": [r.pi_low],
                             "pi_upper": [r.pi_high], "tau2": [r.tau2], "I2": [r.i2],
                             "transform": [self.transform], "method": [self.method]})

    def __str__(self) -> str:
        head = f"{self.label}: {self.studies.height} studies"
        return head if self.result is None else f"{head}\n{self.result}"


def _fit(df: pl.DataFrame, transform: str, method: str):
    if df.height < 2:
        return None
    return meta.pool_proportions(df["events"].to_numpy(), df["denominator"].to_numpy(), transform=transform, method=method)


def pool_proportion(review: Review, outcome: str, transform: str = "logit", method: str = "REML",
                    fits: tuple[str, ...] = ("direct", "partial")) -> PooledProportion:
    """Pool a binary outcome across studies and re-run it under every scenario of :data:`SCENARIOS`.

    The primary model is the logit transformation with REML tau^2 (metafor
    ``rma(measure="PLO", method="REML")``); the GLMM scenario fits metafor's
    ``rma.glmm(measure="PLO")`` equivalent, which needs no continuity correction.
    """
    df = study_level(review, outcome, fits)
    result = _fit(df, transform, method)
    if result is not None:
        df = df.with_columns(weight=pl.Series(np.asarray(result.weights, dtype=float))
                             if result.weights is not None else pl.lit(None))
    scen = {"primary": df, "direct_only": df.filter(pl.col("population_fit") == "direct"),
            "no_overlap": _drop_overlap(review, df),
            "full_papers": df.filter(pl.col("publication_type") == "full_paper"), "glmm": df}
    rows = []
    for name, sub in scen.items():
        if name == "primary":
            fit = result
        else:
            fit = _fit(sub, "glmm", "ML") if name == "glmm" else _fit(sub, transform, method)
        row = {"scenario": name, "description": SCENARIOS[name], "k": sub.height,
               "studies": ", ".join(sub["study"]), "pooled": None, "ci_lower": None, "ci_upper": None,
               "pi_lower": None, "pi_upper": None, "I2": None}
        if fit is not None:
            row.update(pooled=fit.estimate, ci_lower=fit.ci_low, ci_upper=fit.ci_high,
                       pi_lower=fit.pi_low, pi_upper=fit.pi_high, I2=fit.i2)
        elif sub.height == 1:
            row.update(pooled=sub["estimate"][0], ci_lower=sub["ci_lower"][0], ci_upper=sub["ci_upper"][0])
        rows.append(row)
    sens = pl.DataFrame(rows, infer_schema_length=None)
    return PooledProportion(outcome, OUTCOMES[outcome][0], transform, method, df, result, sens)


def leave_one_out(pooled: PooledProportion) -> pl.DataFrame:
    """Refit the pooled proportion leaving out each study in turn (metafor ``leave1out``),
    back-transformed to the proportion scale with the same transformation and estimator."""
    df = pooled.studies
    rows = []
    if df.height >= 3:
        for sid in df["study"]:
            fit = _fit(df.filter(pl.col("study") != sid), pooled.transform, pooled.method)
            rows.append({"omitted": sid, "k": fit.k, "pooled": fit.estimate, "ci_lower": fit.ci_low,
                         "ci_upper": fit.ci_high, "I2": fit.i2})
    return pl.DataFrame(rows, schema={"omitted": pl.String, "k": pl.Int64, "pooled": pl.Float64,
                                      "ci_lower": pl.Float64, "ci_upper": pl.Float64, "I2": pl.Float64})

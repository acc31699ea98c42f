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
   ``denominator_kind`` column and reported by :func:`denominator_note`, never silently mixed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.stats import norm

from .stats import contingency, meta, proportions
from .stats.units import DAYS
from .data import Review
from .report import RECOMPUTED_CI, reported_text
from .report import _n

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


def denominator_note(df: pl.DataFrame) -> str:
    """A sentence stating which denominators are pooled together."""
    kinds = df["denominator_kind"].unique(maintain_order=True).to_list()
    if len(kinds) <= 1:
        return f"All denominators are {kinds[0] if kinds else 'n/a'} patients."
    return ("Denominators differ (" + ", ".join(f"{k}: {', '.join(df.filter(pl.col('denominator_kind') == k)['study'])}"
                                                for k in kinds) + "); pooled together with this caveat.")


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
        r = self.result
        if r is None:
            return pl.DataFrame({"outcome": [self.label], "k": [self.studies.height],
                                 "note": ["fewer than two studies: not pooled"]})
        return pl.DataFrame({"outcome": [self.label], "k": [r.k], "patients": [int(self.studies["denominator"].sum())],
                             "events": [int(self.studies["events"].sum())], "pooled": [r.estimate],
                             "ci_lower": [r.ci_low], "ci_upper": [r.ci_high], "pi_lower": [r.pi_low],
                             "pi_upper": [r.pi_high], "tau2": [r.tau2], "I2": [r.i2],
                             "model": [f"{self.transform} / {self.method}"]})

    @property
    def pooled_row(self) -> dict | None:
        """The pooled estimate as a forest-plot row (:func:`analysis.charts.forest`)."""
        r = self.result
        if r is None:
            return None
        return {"label": f"Pooled ({self.transform}, {self.method}; k = {r.k})", "estimate": r.estimate,
                "ci_lower": r.ci_low, "ci_upper": r.ci_high, "pi_lower": r.pi_low, "pi_upper": r.pi_high}

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
    from .schema import OUTCOMES

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


def forest_rows(pooled: PooledProportion) -> pl.DataFrame:
    """Per-study rows for :func:`analysis.charts.forest` (label, estimate, CI, weight, n)."""
    df = pooled.studies
    cols = ["label", "estimate", "ci_lower", "ci_upper", "events", "denominator"]
    if "weight" in df.columns:
        cols.append("weight")
    return df.select(cols)


# ----------------------------------------------------------------------------- survival

#: largest arm for which summaries are reconstructed by enumeration (analysis.stats.survival.from_summary)
MAX_RECONSTRUCT_N = 30


def _convert(x: float | None, unit: str, to: str) -> float | None:
    return None if x is None else x * DAYS[unit] / DAYS[to]


@dataclass
class Reconstruction:
    """Pseudo-IPD of one (study, outcome, arm), rebuilt from a published curve or from summaries.

    ``kind`` is ``"curve"`` (:func:`analysis.stats.survival.guyot` on a digitised curve in
    ``data/curves/``; ``result`` a ``CurveReconstruction``) or ``"summary"``
    (:func:`analysis.stats.survival.from_summary`; ``result`` a ``SummaryReconstruction``).
    """

    study: str
    outcome: str
    arm: str
    label: str
    time_unit: str
    result: object
    inputs: str
    kind: str = "summary"

    @property
    def data(self) -> pl.DataFrame:
        """The pseudo-IPD: ``time`` (in ``time_unit``), ``event``."""
        return self.result.data

    @property
    def source(self) -> str:
        from .stats.survival import SOURCES

        return SOURCES[self.kind]

    @property
    def arm_label(self) -> str:
        return self.label.split(": ", 1)[1]


def reconstructions(review: Review, study_id: str) -> list[Reconstruction]:
    """Rebuild pseudo individual-patient data for every survival outcome and arm of a study.

    A digitised published curve of the outcome and arm (``data/curves/``, format in its
    README) is preferred and rebuilt with Guyot's algorithm.  Otherwise, when the study
    reports Kaplan-Meier landmark estimates for the whole arm (not a subgroup), the data
    are rebuilt from those summaries.

    Inputs, all read from the study file: n = the landmark record's denominator; every
    landmark of that outcome and arm (estimate and CI as printed); known event times and the
    total number of events (``reconstruction:`` entries); and the study's follow-up, used
    only when the study has a single arm (otherwise it does not describe the arm).  Arms
    larger than :data:`MAX_RECONSTRUCT_N` are not enumerated (their printed CI is used).
    """
    from .review.curves import load_curves
    from .stats import survival

    study = review.study(study_id)
    arm_labels = {a.id: a.label for a in study.arms}
    out = []
    for c in load_curves(review.directory / "curves", known_studies=review.ids):
        if c.study != study_id:
            continue
        res = c.reconstruct()
        where = f"{c.meta.get('figure', '?')}, page {c.meta.get('page', '?')}"
        out.append(Reconstruction(study_id, c.outcome, c.arm, f"{study.short_name}: {arm_labels.get(c.arm, c.arm)}",
                                  c.time_unit, res, f"digitised from {where} ({c.path.name})", kind="curve"))
    from_curves = {(r.outcome, r.arm) for r in out}
    o = review.outcomes.filter((pl.col("study") == study_id) & (pl.col("estimator") == "km_landmark")
                               & (pl.col("denominator_kind") != "subgroup"))
    single_arm = len([a for a in study.arms if not a.parts]) == 1
    for (outcome, arm), recs in o.group_by(["outcome", "arm"], maintain_order=True):
        if (outcome, arm) in from_curves:
            continue
        n = int(recs["denominator"].max())
        if n > MAX_RECONSTRUCT_N:
            continue
        extra = next((r for r in study.reconstruction if r.outcome == outcome and r.arm == arm), None)
        unit = extra.time_unit if extra else recs["time_unit"][0]
        landmarks = [survival.Landmark(time=_convert(r["time"], r["time_unit"], unit), estimate=r["percent"],
                                       ci_low=r["ci_low"], ci_high=r["ci_high"],
                                       label=f"{_n(r['time'])}-{r['time_unit'][:-1]} {outcome.upper()}")
                     for r in recs.iter_rows(named=True)]
        fu = study.follow_up if single_arm else None
        followup = None if fu is None else survival.FollowUp(
            median=_convert(fu.median, fu.unit, unit), minimum=_convert(fu.low, fu.unit, unit),
            maximum=_convert(fu.high, fu.unit, unit), of="censored" if fu.of == "survivors" else "all")
        label = f"{study.short_name}: {recs['arm_label'][0]}"
        res = survival.from_summary(n, landmarks, event_times=extra.event_times if extra else (),
                                    n_events=extra.n_events if extra else None, followup=followup,
                                    time_unit=unit, seed=0, label=label)
        used = [f"n = {n}", "landmarks: " + "; ".join(f"{lm.estimate}% at {_n(lm.time)} {unit}" for lm in landmarks)]
        if extra:
            used.append(f"event times {extra.event_times} {unit}, {extra.n_events} events")
        if followup:
            used.append(f"follow-up {fu.median:g} ({fu.low:g}-{fu.high:g}) {fu.unit}")
        out.append(Reconstruction(study_id, outcome, arm, label, unit, res, "; ".join(used)))
    return out


#: outcome groups pooled together in the landmark synthesis
LANDMARK_GROUPS = {"os": ("os",), "efs_lfs": ("efs", "lfs")}


def landmark_estimates(review: Review, group: str = "os", time: float = 12, unit: str = "months",
                       fits: tuple[str, ...] = ("direct", "partial")) -> pl.DataFrame:
    """One row per study: the landmark survival at ``time`` for pooling on the cloglog scale.

    Per study, in order of preference:

    1. *reconstructed from reported summaries*: the pseudo-IPD of every intervention arm in
       the review population (arms concatenated when a study has several), Kaplan-Meier at
       ``time`` with Greenwood variance -- used when every such arm was reconstructed and the
       landmark lies within the reconstructed follow-up;
    2. *reported*: a Kaplan-Meier landmark at ``time`` printed with a CI, whose variance is
       recovered from the log(-log) interval;
    3. otherwise the study is listed as not poolable, with the reason (e.g. descriptive medians).

    Columns: study, label, outcome, estimate_source, S, se_S, yi, vi, reported, poolable, reason,
    ci_lower, ci_upper (the log(-log) 95% interval implied by yi and vi).
    """
    from .stats import survival

    outcomes = LANDMARK_GROUPS[group]
    t_days = time * DAYS[unit]
    rows = []
    names = dict(zip(review.studies_table["study"], review.studies_table["short_name"]))
    o = review.outcomes.filter(pl.col("outcome").is_in(list(outcomes)) & (pl.col("role") == "intervention")
                               & pl.col("population_fit").is_in(list(fits)) & ~pl.col("combined_arm"))
    for sid in sorted(o["study"].unique().to_list()):
        recs = o.filter(pl.col("study") == sid)
        arms = recs["arm"].unique(maintain_order=True).to_list()
        row = {"study": sid, "label": names[sid], "outcome": "/".join(recs["outcome"].unique(maintain_order=True)),
               "estimate_source": None, "S": None, "se_S": None, "yi": None, "vi": None,
               "reported": "; ".join(f"{r['arm_label']}: {reported_text(r)}" for r in recs.iter_rows(named=True)),
               "poolable": False, "reason": ""}
        recon = [r for r in reconstructions(review, sid) if r.outcome in outcomes and r.arm in arms]
        at = recs.filter((pl.col("estimator") == "km_landmark") & (pl.col("denominator_kind") != "subgroup")
                         & ((pl.col("time") * pl.col("time_unit").replace_strict(DAYS, return_dtype=pl.Float64)
                             - t_days).abs() < 1))
        if recon and {r.arm for r in recon} == set(arms) and len({r.outcome for r in recon}) == 1:
            frames = [pl.DataFrame({"time": r.data["time"] * DAYS[r.time_unit] / DAYS[unit],
                                    "event": r.data["event"]}) for r in recon]
            ipd = pl.concat(frames)
            if float(ipd["time"].max()) < time:
                row["reason"] = "reconstructed follow-up ends before the landmark"
            else:
                src = " + ".join(dict.fromkeys(r.source for r in recon))
                lm = survival.landmark(ipd, time, source=src)
                row.update(estimate_source=src + (" (arms combined)" if len(recon) > 1 else ""),
                           S=lm.S, se_S=lm.se_S, yi=lm.yi, vi=lm.vi, reason=lm.note)
        elif at.filter(pl.col("ci_low").is_not_null()).height == 1 and at.height == 1:
            row.update(reported_landmark(at.row(0, named=True), time))
        elif (recs["estimator"] == "descriptive_median").all():
            row["reason"] = "reports only descriptive medians of observed times: no landmark estimate"
        else:
            row["reason"] = f"no landmark estimate at {_n(time)} {unit} with a CI or reconstructable summaries"
        row["poolable"] = row["yi"] is not None and np.isfinite(row["yi"]) and np.isfinite(row["vi"] or np.nan)
        rows.append(row)
    schema = {"study": pl.String, "label": pl.String, "outcome": pl.String, "estimate_source": pl.String,
              "S": pl.Float64, "se_S": pl.Float64, "yi": pl.Float64, "vi": pl.Float64, "reported": pl.String,
              "poolable": pl.Boolean, "reason": pl.String}
    df = pl.DataFrame(rows, schema=schema)
    # log(-log) 95% CI from yi, vi: S = exp(-exp(y)) decreases in y, so the bounds swap
    z, se = float(norm.ppf(0.975)), pl.col("vi").sqrt()
    return df.with_columns(ci_lower=(-(pl.col("yi") + z * se).exp()).exp(),
                           ci_upper=(-(pl.col("yi") - z * se).exp()).exp())


def reported_landmark(r: dict, time: float) -> dict:
    """Variance of a printed landmark estimate from its printed 95% CI, on the interval's own scale.

    A printed interval that is symmetric about the estimate within printing precision
    (|(upper - S) - (S - lower)| <= one unit of the last printed digit) is a linear
    (plain Greenwood / Wald) interval: Var(S) = ((upper - lower) / (2 z))^2.  Otherwise it
    is taken as the log(-log) interval and inverted
    (:func:`analysis.stats.survival.landmark_from_reported`).  Returns the columns of
    :func:`landmark_estimates`.
    """
    from decimal import Decimal

    from .schema import decimals
    from .stats import survival

    S, lo, hi = (float(Decimal(r[k])) / 100 for k in ("percent", "ci_low", "ci_high"))
    unit = 10.0 ** -max(decimals(r["percent"]), decimals(r["ci_low"]), decimals(r["ci_high"])) / 100
    if abs((hi - S) - (S - lo)) <= unit + 1e-12:
        var_s = ((hi - lo) / (2 * float(norm.ppf(0.975)))) ** 2
        yi, vi, reason = survival.cloglog(S, var_s)
        return {"estimate_source": "reported (variance from the printed interval, symmetric: linear scale)",
                "S": S, "se_S": var_s ** 0.5, "yi": yi, "vi": vi, "reason": reason}
    lm = survival.landmark_from_reported(r["percent"], r["ci_low"], r["ci_high"], time=time)
    return {"estimate_source": "reported (variance from the printed log(-log) interval)", "S": lm.S,
            "se_S": lm.se_S, "yi": lm.yi, "vi": lm.vi, "reason": lm.note}


@dataclass
class PooledLandmark:
    """Landmark survival pooled on the complementary log-log scale (meta.rma), back-transformed."""

    group: str
    time: float
    unit: str
    studies: pl.DataFrame
    result: object | None  # analysis.stats.meta.MetaResult on the cloglog scale

    @property
    def pooled_row(self) -> dict | None:
        from .stats.survival import inv_cloglog

        r = self.result
        if r is None:
            return None
        # S = exp(-exp(y)) decreases in y: the bounds swap
        return {"label": f"Pooled (cloglog, {r.method}; k = {r.k})", "estimate": float(inv_cloglog(r.estimate)),
                "ci_lower": float(inv_cloglog(r.ci_high)), "ci_upper": float(inv_cloglog(r.ci_low)),
                "pi_lower": float(inv_cloglog(r.pi_high)), "pi_upper": float(inv_cloglog(r.pi_low))}


def pool_landmark(review: Review, group: str = "os", time: float = 12, unit: str = "months",
                  method: str = "REML") -> PooledLandmark:
    """Pool :func:`landmark_estimates` rows that are poolable with ``meta.rma`` on y = log(-log S)."""
    df = landmark_estimates(review, group, time, unit)
    ok = df.filter(pl.col("poolable"))
    result = meta.rma(ok["yi"].to_numpy(), ok["vi"].to_numpy(), method=method) if ok.height >= 2 else None
    return PooledLandmark(group, time, unit, df, result)


# ----------------------------------------------------------------------------- between-arm comparisons


def arm_comparisons(review: Review, study_id: str) -> pl.DataFrame:
    """Every binary outcome a study reports as counts in two of its (non-combined) arms, compared.

    RR, OR and RD with Wald 95% CIs (metafor ``escalc`` conventions, 1/2 added to every cell
    of a table with a zero cell), Fisher's exact and chi-square p-values
    (:func:`analysis.stats.contingency.two_by_two`), the p-value the report prints for that comparison
    (if any), and which test reproduces it at its printed precision.
    """
    from decimal import Decimal

    from .schema import decimals

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
        fmt = lambda e: f"{e[0]:.2f} ({e[1]:.2f}–{e[2]:.2f})"  # noqa: E731
        rows.append({
            "key": outcome, "outcome": a["outcome_label"],
            "comparison": f"{a['arm_label']} {a['events']}/{a['denominator']} vs {b['arm_label']} {b['events']}/{b['denominator']}",
            "RR (95% CI)": fmt(t.rr), "OR (95% CI)": fmt(t.or_), "RD (95% CI)": fmt(t.rd),
            "Fisher p": t.fisher.pval, "chi-square p": t.chisq.pval, "Yates p": t.chisq_yates.pval,
            "reported p": comp.p_value if comp else None,
            "reproduced by": (", ".join(reproduced) or "none") if comp else "",
        })
    return pl.DataFrame(rows, schema={"key": pl.String, "outcome": pl.String, "comparison": pl.String, "RR (95% CI)": pl.String,
                                      "OR (95% CI)": pl.String, "RD (95% CI)": pl.String, "Fisher p": pl.Float64,
                                      "chi-square p": pl.Float64, "Yates p": pl.Float64,
                                      "reported p": pl.String, "reproduced by": pl.String})


def landmark_comparisons(review: Review, study_id: str) -> pl.DataFrame:
    """Between-arm comparisons of reconstructed landmark survival (two arms, same outcome).

    At each landmark time both arms report, the Kaplan-Meier estimates of the
    reconstructed pseudo-IPD, their difference with a Greenwood-based 95% CI, and a z-test of
    equality on the complementary log-log scale.  Labelled as reconstructed: the variances,
    and so the p-value, depend on censoring the report does not give.
    """
    from .stats import survival

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
            rows.append({"outcome": outcome.upper(), "time": f"{t:g} {pair[0].time_unit}",
                         "arms": f"{pair[0].arm_label} vs {pair[1].arm_label}",
                         "source": " + ".join(dict.fromkeys(r.source for r in pair)),
                         "S (reconstructed)": f"{100 * e[0].S:.1f}% vs {100 * e[1].S:.1f}%",
                         "difference (95% CI)": f"{100 * diff:.1f} ({100 * (diff - z * se):.1f} to {100 * (diff + z * se):.1f}) points",
                         "p (cloglog z-test)": float(2 * norm.sf(abs(zc))) if np.isfinite(zc) else None})
    return pl.DataFrame(rows, schema={"outcome": pl.String, "time": pl.String, "arms": pl.String, "source": pl.String,
                                      "S (reconstructed)": pl.String, "difference (95% CI)": pl.String,
                                      "p (cloglog z-test)": pl.Float64})

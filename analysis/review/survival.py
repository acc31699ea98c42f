"""Survival across the review: pseudo-patient data per study arm, landmark estimates, pooling.

Which figure of a study enters a landmark synthesis, and how its variance is obtained, is
review policy and lives here; the estimators themselves are in :mod:`analysis.stats.survival`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import polars as pl
from scipy.stats import norm

from ..stats import meta, survival
from ..stats.units import DAYS
from . import fit_store
from .curves import load_curves
from .loading import Review
from .plan import AnalysisSet, Plan
from .selection import eligibility as _eligibility
from .selection import resolve_overlap
from .schema import decimals

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
    #: what the reconstruction used, for the reader: n, landmarks, event times, follow-up, curve file
    used: dict = field(default_factory=dict)

    @property
    def data(self) -> pl.DataFrame:
        """The pseudo-IPD: ``time`` (in ``time_unit``), ``event``."""
        return self.result.data

    @property
    def source(self) -> str:
        return survival.SOURCES[self.kind]

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
    key = ("reconstructions", study_id)
    if key not in review.memo:  # the synthesis asks once per outcome and analysis set
        review.memo[key] = _reconstructions(review, study_id)
    return list(review.memo[key])


def _reconstructions(review: Review, study_id: str) -> list[Reconstruction]:
    study = review.study(study_id)
    arm_labels = {a.id: a.label for a in study.arms}
    out = []
    for c in load_curves(review.directory / "curves", known_studies=review.ids):
        if c.study != study_id:
            continue
        res = c.reconstruct()
        where = f"{c.meta.get('figure', '?')}, page {c.meta.get('page', '?')}"
        out.append(Reconstruction(study_id, c.outcome, c.arm, f"{study.short_name}: {arm_labels.get(c.arm, c.arm)}",
                                  c.time_unit, res, where, kind="curve", used={"file": c.path.name}))
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
                                       label=f"{r['time']:g}-{r['time_unit'][:-1]} {outcome.upper()}")
                     for r in recs.iter_rows(named=True)]
        fu = study.follow_up if single_arm else None
        followup = None if fu is None else survival.FollowUp(
            median=_convert(fu.median, fu.unit, unit), minimum=_convert(fu.low, fu.unit, unit),
            maximum=_convert(fu.high, fu.unit, unit), of="censored" if fu.of == "survivors" else "all")
        label = f"{study.short_name}: {recs['arm_label'][0]}"
        res = _from_summary(n, landmarks, tuple(extra.event_times) if extra else (),
                            extra.n_events if extra else None, followup, unit, label)
        used = {"n": n, "landmarks": [(lm.estimate, lm.time) for lm in landmarks],
                "event_times": list(extra.event_times) if extra else None,
                "n_events": extra.n_events if extra else None, "follow_up": fu if followup else None}
        out.append(Reconstruction(study_id, outcome, arm, label, unit, res, "", used=used))
    return out


def _from_summary(n: int, landmarks: list, event_times: tuple, n_events: int | None, followup, unit: str, label: str):
    """:func:`analysis.stats.survival.from_summary` (seed 0) of these inputs, kept in the build's
    fit store when there is one (:mod:`analysis.review.fit_store`): the enumeration of event
    patterns behind a reconstruction takes 0.05-0.2 s per arm, and the pages and the download
    tables are computed in different processes."""
    return fit_store.kept("from_summary", lambda: (n, tuple(landmarks), event_times, n_events, followup, unit, label),
                          lambda: survival.from_summary(n, landmarks, event_times=event_times, n_events=n_events,
                                                        followup=followup, time_unit=unit, seed=0, label=label))


def _landmark_row(review: Review, sid: str, recs: pl.DataFrame, outcomes: list[str], time: float, unit: str) -> dict:
    """The landmark survival of one study at ``time`` (see :func:`select_landmarks`)."""
    t_days = time * DAYS[unit]
    study = review.study(sid)
    arms = recs["arm"].unique(maintain_order=True).to_list()
    row = {"study": sid, "label": study.short_name, "outcome": "/".join(recs["outcome"].unique(maintain_order=True)),
           "estimate_source": None, "S": None, "se_S": None, "yi": None, "vi": None,
           "records": recs["record"].to_list(), "n": int(recs["denominator"].max() or 0) if recs["denominator"].is_not_null().any() else 0,
           "publication_type": study.publication_type, "year": study.citation.year,
           "reported_percent": None, "reported_ci_low": None, "reported_ci_high": None,
           "included": False, "reason": ""}
    recon = [r for r in reconstructions(review, sid) if r.outcome in outcomes and r.arm in arms]
    at = recs.filter((pl.col("estimator") == "km_landmark")
                     & ((pl.col("time") * pl.col("time_unit").replace_strict(DAYS, return_dtype=pl.Float64)
                         - t_days).abs() < 1))
    if recon and {r.arm for r in recon} == set(arms) and len({r.outcome for r in recon}) == 1:
        ipd = pl.concat([pl.DataFrame({"time": r.data["time"] * DAYS[r.time_unit] / DAYS[unit], "event": r.data["event"]})
                         for r in recon])
        row["n"] = ipd.height
        if float(ipd["time"].max()) < time:
            row["reason"] = "reconstructed follow-up ends before the landmark"
        else:
            src = " + ".join(dict.fromkeys(r.source for r in recon))
            lm = survival.landmark(ipd, time, source=src)
            row.update(estimate_source=src + (" (arms combined)" if len(recon) > 1 else ""),
                       S=lm.S, se_S=lm.se_S, yi=lm.yi, vi=lm.vi, reason=lm.note)
    elif at.filter(pl.col("ci_low").is_not_null()).height == 1 and at.height == 1:
        r = at.row(0, named=True)
        row.update(reported_landmark(r, time), n=r["denominator"] or row["n"], reported_percent=r["percent"],
                   reported_ci_low=r["ci_low"], reported_ci_high=r["ci_high"])
    elif (recs["estimator"] == "descriptive_median").all():
        row["reason"] = "reports only descriptive medians of observed times: no landmark estimate"
    else:
        row["reason"] = f"no landmark estimate at {time:g} {unit} with a CI or reconstructable summaries"
    row["included"] = row["yi"] is not None and bool(np.isfinite(row["yi"])) and bool(np.isfinite(row["vi"] or np.nan))
    if row["included"]:
        row["reason"] = None
    return row


_LANDMARK_SCHEMA = {"study": pl.String, "label": pl.String, "outcome": pl.String, "estimate_source": pl.String,
                    "S": pl.Float64, "se_S": pl.Float64, "yi": pl.Float64, "vi": pl.Float64,
                    "records": pl.List(pl.Int64), "n": pl.Int64, "publication_type": pl.String, "year": pl.Int64,
                    "reported_percent": pl.String, "reported_ci_low": pl.String, "reported_ci_high": pl.String,
                    "included": pl.Boolean, "reason": pl.String}


def select_landmarks(review: Review, plan: Plan, outcome: str, aset: AnalysisSet | str = "primary") -> pl.DataFrame:
    """One row per study reporting the plan's landmark ``outcome``: its estimate at the plan's time.

    Figures are selected as for proportions (:mod:`analysis.review.selection`: population,
    ambiguous figures, publication type, overlap per outcome; a subgroup's figure, such as
    survival of those in CR, never stands for all patients).  Per study, in order of preference:

    1. *reconstructed from reported summaries* (or from a digitised curve): the pseudo-IPD of
       every eligible intervention arm (concatenated when a study has several), Kaplan-Meier at
       the landmark with Greenwood variance -- used when every such arm was reconstructed and
       the landmark lies within the reconstructed follow-up;
    2. *reported*: a Kaplan-Meier landmark at that time printed with a CI, whose variance is
       recovered from the printed interval (:func:`reported_landmark`);
    3. otherwise the study is listed with the reason it is not pooled (e.g. descriptive medians).

    Columns: :data:`_LANDMARK_SCHEMA` plus ``ci_low``/``ci_high`` (the log(-log) 95% interval
    implied by yi and vi).
    """
    aset = plan.analysis_set(aset) if isinstance(aset, str) else aset
    o = plan.outcomes[outcome]
    names = list(o.records)
    recs = review.outcomes.filter(pl.col("outcome").is_in(names) & (pl.col("role") == "intervention")
                                  & ~pl.col("combined_arm") & (pl.col("estimator") != "proportion"))
    reasons = [("a subgroup's figure, not all patients" if r["denominator_kind"] == "subgroup"
                else _eligibility(plan, aset, {**r, "denominator_kind": r["denominator_kind"] or "infused"}))
               for r in recs.iter_rows(named=True)]
    recs = recs.with_columns(reason=pl.Series(reasons, dtype=pl.String))
    rows = []
    for sid in sorted(recs["study"].unique().to_list()):
        mine = recs.filter(pl.col("study") == sid)
        ok = mine.filter(pl.col("reason").is_null())
        if ok.height:
            rows.append(_landmark_row(review, sid, ok, names, o.time, o.time_unit))
        else:
            rows.append({**_landmark_row(review, sid, mine, names, o.time, o.time_unit),
                         "S": None, "se_S": None, "yi": None, "vi": None, "estimate_source": None,
                         "included": False, "reason": mine["reason"][0]})
    for row in rows:
        row["denominator"] = row["n"]
    rows = resolve_overlap(review, plan, rows, aset)
    df = pl.DataFrame([{k: r[k] for k in _LANDMARK_SCHEMA} for r in rows], schema=_LANDMARK_SCHEMA)
    z, se = float(norm.ppf(0.975)), pl.col("vi").sqrt()
    # log(-log) interval from yi, vi: S = exp(-exp(y)) decreases in y, so the bounds swap
    df = df.with_columns(ci_low=(-(pl.col("yi") + z * se).exp()).exp(), ci_high=(-(pl.col("yi") - z * se).exp()).exp())
    return df.sort(["included", "study"], descending=[True, False])


def reported_landmark(r: dict, time: float) -> dict:
    """Variance of a printed landmark estimate from its printed 95% CI, on the interval's own scale.

    A printed interval that is symmetric about the estimate within printing precision
    (|(upper - S) - (S - lower)| <= one unit of the last printed digit) is a linear
    (plain Greenwood / Wald) interval: Var(S) = ((upper - lower) / (2 z))^2.  Otherwise it
    is taken as the log(-log) interval and inverted
    (:func:`analysis.stats.survival.landmark_from_reported`).  Returns the estimate columns of
    :func:`select_landmarks`.
    """
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


def km_readings(review: Review, study_id: str, max_n: int = MAX_RECONSTRUCT_N) -> pl.DataFrame:
    """For each printed Kaplan-Meier landmark of a small arm: is it k/n, or does it need censoring?

    Uses :func:`analysis.stats.survival.km_configurations` (every at-risk sequence whose
    Kaplan-Meier product prints as the reported percentage).  Columns: ``record``,
    ``outcome_label``, ``arm_label``, ``percent``, ``time``, ``time_unit``, ``denominator``,
    ``configurations`` (how many), ``k_over_n`` (the fraction when one configuration has no
    censoring, else None), ``least_censored`` (fewest censorings before the last event),
    ``least_fraction`` and ``least_at_risk`` (that configuration).
    """
    o = review.outcomes.filter((pl.col("study") == study_id) & (pl.col("estimator") == "km_landmark")
                               & pl.col("denominator").is_not_null() & (pl.col("denominator") <= max_n))
    rows = []
    for r in o.iter_rows(named=True):
        conf = survival.km_configurations(r["denominator"], r["percent"])
        kn = conf.filter(pl.col("k_over_n"))
        least = conf.sort("censored_before_last_event").row(0, named=True) if conf.height else None
        rows.append({"record": r["record"], "outcome_label": r["outcome_label"], "arm_label": r["arm_label"],
                     "percent": r["percent"], "time": r["time"], "time_unit": r["time_unit"],
                     "denominator": r["denominator"], "configurations": conf.height,
                     "k_over_n": kn["fraction"][0] if kn.height else None,
                     "least_censored": least["censored_before_last_event"] if least else None,
                     "least_fraction": least["fraction"] if least else None,
                     "least_at_risk": str(least["at_risk"]) if least else None})
    return pl.DataFrame(rows, schema={"record": pl.Int64, "outcome_label": pl.String, "arm_label": pl.String,
                                      "percent": pl.String, "time": pl.Float64, "time_unit": pl.String,
                                      "denominator": pl.Int64, "configurations": pl.Int64, "k_over_n": pl.String,
                                      "least_censored": pl.Int64, "least_fraction": pl.String,
                                      "least_at_risk": pl.String})

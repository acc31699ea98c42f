"""Synthesis chapters: study characteristics, each outcome of the plan, reported vs recomputed.

An outcome's section (:func:`outcome_section`) shows, in order: the headline of the primary
analysis (with the model that ran, and a crude pooled count labelled as such when k is small),
heterogeneity with its intervals, the forest plot with the analysis-set switch, the studies
with the reason each one is in or out, every analysis set as a row of the results table
(exactly the rows ``python -m analysis export`` writes), leave-one-out and subgroups.
"""
from __future__ import annotations

import polars as pl

from ..review import synthesis
from ..review.loading import Review
from ..review.plan import Plan, load_plan
from ..review.pooling import Pooled
from ..review.synthesis import OutcomeSynthesis
from . import charts
from .escape import md
from .fmt import DESIGN, PART, PUBLICATION, pct, period_text, reported_text, summary_text
from .tables import display_markdown, show

#: short names of the models, for table cells and forest-plot labels
MODEL_SHORT = {"glmm": "GLMM", "logit_reml": "logit REML", "crude_exact": "crude pooled count, exact CI",
               "cloglog_reml": "cloglog REML", "none": "not pooled"}


# ----------------------------------------------------------------------------- characteristics

def characteristics(review: Review) -> pl.DataFrame:
    """The characteristics table across studies (one row per study)."""
    rows = []
    fit = dict(zip(review.studies_table["study"], review.studies_table["population_fit"]))
    for s in review.studies:
        pop = s.population
        rows.append({
            "study": s.short_name,
            "publication": PUBLICATION[s.publication_type],
            "what was read": PART[s.extracted_from.part],
            "design": DESIGN[s.design],
            "country": s.country.value if s.country else None,
            "period": period_text(s.enrolment_period.start, s.enrolment_period.end) if s.enrolment_period else None,
            "infused": pop.n_infused.value if pop.n_infused else None,
            "age, median (range)": summary_text(pop.age) if pop.age else None,
            "arms": " | ".join(f"{a.label} (n={a.n.value})" for a in s.arms if not a.parts),
            "follow-up": summary_text(s.follow_up) if s.follow_up else None,
            "population fit": fit[s.id],
        })
    return pl.DataFrame(rows, schema={"study": pl.String, "publication": pl.String, "what was read": pl.String,
                                      "design": pl.String, "country": pl.String, "period": pl.String,
                                      "infused": pl.Int64, "age, median (range)": pl.String, "arms": pl.String,
                                      "follow-up": pl.String, "population fit": pl.String})


def grading(review: Review) -> pl.DataFrame:
    """Grading scale per study and domain, as the reports name them."""
    return review.studies_table.select(pl.col("short_name").alias("study"), pl.col("crs_scale").alias("CRS"),
                                       pl.col("icans_scale").alias("ICANS / neurotoxicity"),
                                       pl.col("gvhd_scale").alias("GVHD"))


def overlaps(review: Review) -> pl.DataFrame:
    """Recorded possible patient overlap between series."""
    return review.flags.filter(pl.col("kind").str.contains("overlap")).select("study", "kind", "note")


# ----------------------------------------------------------------------------- one pooled result in words

def _interval(lo: float | None, hi: float | None, digits: int = 1) -> str:
    return "" if lo is None or hi is None else f"{pct(lo, digits)} to {pct(hi, digits)}"


def headline(p: Pooled) -> str:
    """The primary result in one sentence, naming the model that ran (Markdown)."""
    n = f"{p.k} {'study' if p.k == 1 else 'studies'}, {p.patients} patients"
    if p.model == "none":
        return (f"**Not pooled** ({n}): " + (p.detail or "no study reports this outcome") + ".") if p.k else \
            "**No study reports this outcome** in the review population."
    ci = f"95% CI {_interval(p.ci_low, p.ci_high)}"
    if p.model == "crude_exact":
        return (f"**Crude pooled count: {p.events}/{p.patients} = {pct(p.estimate)}** (exact {ci}; {n}). "
                f"This is not a random-effects estimate: {md(p.detail)}.")
    extra = [] if p.hk_low is None else [f"{'t-based' if p.model == 'glmm' else 'Hartung-Knapp'} 95% CI "
                                         f"{_interval(p.hk_low, p.hk_high)}"]
    events = f", {p.events} events" if p.events is not None else ""
    return (f"**{pct(p.estimate)}** ({ci}" + "".join(f"; {e}" for e in extra) + f"; {n}{events}). "
            f"Model: {md(p.description)}.")


def heterogeneity(p: Pooled) -> str:
    """tau², I² with their intervals and the prediction interval, or why they are not estimated."""
    if p.model in ("none", "crude_exact"):
        return "Between-study heterogeneity is not estimated (no random-effects model)."
    tau = f"tau² = {p.tau2:.3f}" if p.tau2 is not None else "tau² not estimated"
    if p.tau2_low is not None:
        tau += f" (95% CI {p.tau2_low:.3f} to {p.tau2_high:.3f})"
    i2 = f"I² = {p.i2:.0f}%" if p.i2 is not None else "I² not estimated"
    if p.i2_low is not None:
        i2 += f" (95% CI {p.i2_low:.0f}% to {p.i2_high:.0f}%)"
    pi = (f"95% prediction interval {_interval(p.pi_low, p.pi_high)}" if p.pi_low is not None
          else "no prediction interval")
    note = (" With so few studies, tau² = 0 means the data cannot show heterogeneity, not that there is none; "
            "the intervals above say how little is known." if (p.tau2 == 0 or p.k < 5) else "")
    return f"{tau}; {i2}; {pi}.{note}"


# ----------------------------------------------------------------------------- the forest frame

def _pooled_lines(p: Pooled, label: str) -> list[dict]:
    if p.model == "none" or p.estimate is None:
        return [{"kind": "note", "label": f"not pooled ({p.detail or 'no study'})", "estimate": None, "low": None,
                 "high": None, "text": "", "weight": ""}]
    lines = [{"kind": "pooled", "label": f"{label} ({MODEL_SHORT[p.model]}; k = {p.k})", "estimate": p.estimate,
              "low": p.ci_low, "high": p.ci_high, "text": f"{pct(p.estimate, 0)} [{_interval(p.ci_low, p.ci_high, 0)}]",
              "weight": ""}]
    if p.hk_low is not None:
        lines.append({"kind": "hk", "label": "t-based 95% CI" if p.model == "glmm" else "Hartung-Knapp 95% CI",
                      "estimate": None, "low": p.hk_low, "high": p.hk_high,
                      "text": f"[{_interval(p.hk_low, p.hk_high, 0)}]", "weight": ""})
    if p.pi_low is not None:
        lines.append({"kind": "pi", "label": "95% prediction interval", "estimate": None, "low": p.pi_low,
                      "high": p.pi_high, "text": f"[{_interval(p.pi_low, p.pi_high, 0)}]", "weight": ""})
    return lines


def _printed(x: str | None) -> float | None:
    return None if x is None else float(x) / 100


def _views(an: OutcomeSynthesis) -> list[tuple[str, pl.DataFrame, Pooled]]:
    """Every selection a reader can switch to: the analysis sets, then each subgroup of the primary analysis."""
    out = [(set_id, rows, an.pooled[set_id]) for set_id, rows in an.rows.items()]
    for sg in an.subgroups:
        for value, p in sg.pooled.items():
            out.append((p.analysis, sg.rows.filter(pl.col(sg.variable) == value), p))
    return out


def forest_sets(an: OutcomeSynthesis, plan: Plan) -> list[tuple[str, str]]:
    """(id, label) of every selection of :func:`forest_frame`, in the order of the drop-down."""
    labels = {s.id: s.label for s in plan.analysis_sets}
    out = [(set_id, labels[set_id]) for set_id in an.rows]
    for sg in an.subgroups:
        out += [(p.analysis, f"Subgroup, {sg.label.lower()}: {value}") for value, p in sg.pooled.items()]
    return out


#: a set with more studies than this shows only its pooled rows in the forest plot (and a note): the
#: studies are in the table under the plot; a plot of hundreds of rows per set, for every set, is not
#: read, and its spec and static SVG grow to megabytes
FOREST_MAX_STUDIES = 60


def forest_frame(an: OutcomeSynthesis) -> pl.DataFrame:
    """The rows of :func:`analysis.present.charts.set_forest` for every analysis set and subgroup of an outcome.

    A set of more than :data:`FOREST_MAX_STUDIES` studies gets a note instead of its study rows.
    """
    out = []
    for set_id, rows, p in _views(an):
        w = synthesis.weights(p)
        inc = rows.filter(pl.col("included"))
        est, lo, hi = ("S", "ci_low", "ci_high") if an.kind == "landmark" else ("estimate", "ci_low", "ci_high")
        if inc.height > FOREST_MAX_STUDIES:
            out.append({"set": set_id, "kind": "note", "label": f"{inc.height} studies: see the table below",
                        "estimate": None, "low": None, "high": None, "reported_low": None, "reported_high": None,
                        "text": "", "weight": ""})
            inc = inc.head(0)
        for r in inc.iter_rows(named=True):
            out.append({"set": set_id, "kind": "study", "label": r["label"], "estimate": r[est], "low": r[lo],
                        "high": r[hi], "reported_low": _printed(r["reported_ci_low"]),
                        "reported_high": _printed(r["reported_ci_high"]),
                        "text": f"{pct(r[est], 0)} [{_interval(r[lo], r[hi], 0)}]",
                        "weight": f"{w[r['study']]:.0f}%" if r["study"] in w else ""})
        out += [{"set": set_id, "reported_low": None, "reported_high": None, **line} for line in _pooled_lines(p, "Pooled")]
    schema = {"set": pl.String, "kind": pl.String, "label": pl.String, "estimate": pl.Float64, "low": pl.Float64,
              "high": pl.Float64, "reported_low": pl.Float64, "reported_high": pl.Float64, "text": pl.String,
              "weight": pl.String}
    return pl.DataFrame(out, schema=schema)


def forest_subtitle(an: OutcomeSynthesis, plan: Plan) -> str:
    """What the plot shows and how it was computed, from the plan (never a fixed string)."""
    if an.kind == "landmark":
        study = "studies: Kaplan-Meier estimate with its log(-log) 95% CI"
    else:
        study = f"studies: crude proportion with {plan.models.study_ci.capitalize()} 95% CI"
    return f"{study}; grey dashed: interval as printed by the report; pooled: {MODEL_SHORT[an.primary.model]} (primary analysis)"


# ----------------------------------------------------------------------------- tables

_RESULTS_VIEW = {"analysis": pl.String, "model": pl.String, "k": pl.Int64, "patients": pl.Int64, "events": pl.Int64,
                 "estimate": pl.String, "95% CI": pl.String, "t-based / HK 95% CI": pl.String,
                 "prediction interval": pl.String, "tau²": pl.String, "I²": pl.String, "studies": pl.String}


def _fmt_row(r: dict) -> dict:
    return {
        "analysis": r["analysis"], "model": MODEL_SHORT.get(r["model"], r["model"]), "k": r["k"],
        "patients": r["patients"], "events": r["events"],
        "estimate": pct(r["estimate"]), "95% CI": _interval(r["ci_low"], r["ci_high"]),
        "t-based / HK 95% CI": _interval(r["hk_low"], r["hk_high"]),
        "prediction interval": _interval(r["pi_low"], r["pi_high"]),
        "tau²": "" if r["tau2"] is None else f"{r['tau2']:.3f}",
        "I²": "" if r["i2"] is None else f"{r['i2']:.0f}%", "studies": r["studies"],
    }


def results_table(rows: list[dict], labels: dict[str, str] | None = None) -> pl.DataFrame:
    """Rows of the results table (:func:`analysis.review.synthesis.results`) as the book prints them."""
    labels = labels or {}
    out = [_fmt_row({**r, "analysis": labels.get(r["analysis"], r["analysis"])}) for r in rows]
    return pl.DataFrame(out, schema=_RESULTS_VIEW)


def studies_table(review: Review, an: OutcomeSynthesis, set_id: str = "primary") -> pl.DataFrame:
    """The studies reporting the outcome under one analysis set: what each contributes, or why not."""
    rows = an.rows[set_id]
    if an.kind == "landmark":
        rows = rows.with_columns(reported=pl.Series(landmark_reported(review, rows), dtype=pl.String))
        return rows.select(
            "label", pl.when(pl.col("included")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("included"),
            "reported",
            pl.col("S").map_elements(lambda x: f"{100 * x:.1f}%", return_dtype=pl.String).alias("1-year estimate"),
            "estimate_source", pl.col("reason").alias("why not / note"))
    return rows.select(
        "label", pl.when(pl.col("included")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("included"),
        pl.format("{}/{}", "events", "denominator").alias("events / patients"), "denominator_kind",
        pl.col("recorded_as").alias("reported as"), pl.col("reason").alias("why not"), "source")


# ----------------------------------------------------------------------------- sections

def chapter_preamble(review: Review, plan: Plan, category: str) -> None:
    """What a chapter shows before its outcomes (the safety chapter: grading scales and their mapping)."""
    from ..review.loading import harmonisation

    if category == "safety":
        display_markdown("**Grading scales as each report names them**")
        show(grading(review), quote_columns=())
        display_markdown("**How the pooled toxicity categories map onto each scale** (`data/harmonisation.yaml`)")
        show(harmonisation(review.directory), quote_columns=())


def outcome_section(review: Review, outcome: str, plan: Plan | None = None) -> None:
    """Display one outcome of the plan: headline, heterogeneity, forest plot, studies, analyses."""
    plan = plan or load_plan(review.directory)
    an = synthesis.analyse(review, outcome, plan)
    o = plan.outcomes[outcome]
    labels = {s.id: s.label for s in plan.analysis_sets}
    display_markdown(f"*Definition:* {md(o.definition)}")
    display_markdown("**Primary analysis.** " + headline(an.primary))
    display_markdown(heterogeneity(an.primary))
    if any(r.height for r in an.rows.values()):
        charts.display(charts.set_forest(forest_frame(an), forest_sets(an, plan), percent=True, title=o.label,
                                         subtitle=forest_subtitle(an, plan)))
    display_markdown("**Studies in the primary analysis, and those left out**")
    show(studies_table(review, an))
    display_markdown("**Every analysis set** (one row of the review's results table each; the method of each row "
                     "is named in the row)")
    show(results_table([an.pooled[k].row() for k in an.pooled], labels), quote_columns=())
    if not an.leave_one_out and an.primary.k > synthesis.LEAVE_ONE_OUT_MAX_K:
        display_markdown(f"**Leave one study out:** not computed for more than {synthesis.LEAVE_ONE_OUT_MAX_K} "
                         "studies (each study weighs little; the studies table above shows each one).")
    if an.leave_one_out:
        display_markdown("**Leave one study out** (primary model, refitted without each study)")
        show(results_table([p.row() for p in an.leave_one_out]), quote_columns=())
    for sg in an.subgroups:
        test = ("Test for subgroup differences: " + f"Q = {sg.test['q']:.2f}, df = {sg.test['df']}, "
                f"p = {sg.test['pval']:.3f} ({md(sg.test['method'])})." if sg.test
                else f"No test for subgroup differences: {md(sg.why_no_test)}; the estimates below are descriptive.")
        display_markdown(f"**Subgroups: {md(sg.label)}.** {test}")
        show(results_table([p.row() for p in sg.pooled.values()]), quote_columns=())


# ----------------------------------------------------------------------------- reported vs recomputed

def ci_methods(audit_table: pl.DataFrame) -> pl.DataFrame:
    """Printed confidence intervals and the methods that reproduce them."""
    return (audit_table.filter(pl.col("ci_check").is_not_null())
            .select("study", pl.col("outcome_label").alias("outcome"), "reported",
                    pl.col("ci_methods").list.join(", ").replace("", "none").alias("reproduced by"), "source"))


def problems(audit_table: pl.DataFrame) -> pl.DataFrame:
    """Figures whose printed numbers do not reproduce, or that carry a recorded flag."""
    return audit_table.filter(pl.col("problem")).select(
        "study", pl.col("outcome_label").alias("outcome"), "reported", "check", "source")


def landmark_reported(review: Review, rows: pl.DataFrame) -> list[str]:
    """The figures each landmark row rests on, as printed ("arm: 43% at 12 months (95% CI …)")."""
    out = []
    for row in rows.iter_rows(named=True):
        recs = review.outcomes.filter((pl.col("study") == row["study"]) & pl.col("record").is_in(row["records"]))
        out.append("; ".join(f"{r['arm_label']}: {reported_text(r)}" for r in recs.iter_rows(named=True)))
    return out

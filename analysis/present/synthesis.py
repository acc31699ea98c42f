"""Synthesis chapters: study characteristics, pooled outcomes, survival, reported vs recomputed."""
from __future__ import annotations

import polars as pl

from ..review import synthesis
from ..review.loading import Review
from ..review.survival import PooledLandmark
from ..review.synthesis import PooledProportion
from . import charts
from .escape import md
from .fmt import DESIGN, PUBLICATION, pct, period_text, reported_text, summary_text
from .tables import display_markdown, show


def characteristics(review: Review) -> pl.DataFrame:
    """The characteristics table across studies (one row per study)."""
    rows = []
    for s in review.studies:
        pop = s.population
        rows.append({
            "study": s.short_name,
            "publication": PUBLICATION[s.publication_type],
            "design": DESIGN[s.design],
            "country": s.country.value if s.country else None,
            "period": period_text(s.enrolment_period.start, s.enrolment_period.end) if s.enrolment_period else None,
            "infused": pop.n_infused.value if pop.n_infused else None,
            "age, median (range)": summary_text(pop.age) if pop.age else None,
            "arms": " | ".join(f"{a.label} (n={a.n.value})" for a in s.arms if not a.parts),
            "follow-up": summary_text(s.follow_up) if s.follow_up else None,
            "population fit": review.studies_table.filter(pl.col("study") == s.id)["population_fit"][0],
        })
    return pl.DataFrame(rows, schema={"study": pl.String, "publication": pl.String, "design": pl.String,
                                      "country": pl.String, "period": pl.String, "infused": pl.Int64,
                                      "age, median (range)": pl.String, "arms": pl.String,
                                      "follow-up": pl.String, "population fit": pl.String})


def grading(review: Review) -> pl.DataFrame:
    """Grading scale per study and domain, as the reports name them."""
    return review.studies_table.select(pl.col("short_name").alias("study"), pl.col("crs_scale").alias("CRS"),
                                       pl.col("icans_scale").alias("ICANS / neurotoxicity"),
                                       pl.col("gvhd_scale").alias("GVHD"))


def overlaps(review: Review) -> pl.DataFrame:
    """Recorded possible patient overlap between series."""
    return review.flags.filter(pl.col("kind").str.contains("overlap")).select("study", "kind", "note")


def denominator_note(df: pl.DataFrame) -> str:
    """A sentence stating which denominators are pooled together."""
    kinds = synthesis.denominator_kinds(df)
    if len(kinds) <= 1:
        return f"All denominators are {next(iter(kinds), 'n/a')} patients."
    return ("Denominators differ (" + ", ".join(f"{k}: {', '.join(studies)}" for k, studies in kinds.items())
            + "); pooled together with this caveat.")


def forest_rows(pooled: PooledProportion) -> pl.DataFrame:
    """Per-study rows for :func:`analysis.present.charts.forest` (label, estimate, CI, weight, n)."""
    df = pooled.studies
    cols = ["label", "estimate", "ci_lower", "ci_upper", "events", "denominator"]
    if "weight" in df.columns:
        cols.append("weight")
    return df.select(cols)


def pooled_row(pooled: PooledProportion) -> dict | None:
    """The pooled estimate as a forest-plot row (:func:`analysis.present.charts.forest`)."""
    r = pooled.result
    if r is None:
        return None
    return {"label": f"Pooled ({pooled.transform}, {pooled.method}; k = {r.k})", "estimate": r.estimate,
            "ci_lower": r.ci_low, "ci_upper": r.ci_high, "pi_lower": r.pi_low, "pi_upper": r.pi_high}


def pooled_section(pooled: PooledProportion, digits: int = 1) -> None:
    """Display one pooled outcome: contributing figures, forest plot, model and sensitivity analyses."""
    fmt = lambda x: pct(x, digits)  # noqa: E731
    studies = pooled.studies
    if studies.height == 0:
        display_markdown(f"No study reports {md(pooled.label.lower())} as a crude proportion.")
        return
    show(studies.select("label", pl.format("{}/{}", "events", "denominator").alias("events / patients"),
                        "denominator_kind", "selection", "source"))
    display_markdown(md(denominator_note(studies)))
    charts.display(charts.forest(forest_rows(pooled), weight="weight" if pooled.result else None,
                          pooled=pooled_row(pooled), percent=True, xdomain=(0, 1),
                          title=pooled.label, subtitle="Recomputed Wilson 95% CIs; pooled: logit, REML"))
    if pooled.result is None:
        display_markdown("Fewer than two studies report this outcome: no pooled estimate.")
        return
    s = pooled.summary.row(0, named=True)
    display_markdown(
        f"**Pooled ({s['transform']} / {s['method']}, k = {s['k']}, {s['events']}/{s['patients']} patients):** "
        f"{fmt(s['pooled'])} (95% CI {fmt(s['ci_lower'])}–{fmt(s['ci_upper'])}; 95% prediction interval "
        f"{fmt(s['pi_lower'])}–{fmt(s['pi_upper'])}); tau² = {s['tau2']:.3f}, I² = {s['I2']:.1f}%.")
    as_pct = lambda cols: [pl.col(c).map_elements(fmt, return_dtype=pl.String) for c in cols]  # noqa: E731
    display_markdown("**Sensitivity analyses**")
    show(pooled.sensitivity.select("description", "k", "studies",
                                   *as_pct(("pooled", "ci_lower", "ci_upper", "pi_lower", "pi_upper"))))
    loo = synthesis.leave_one_out(pooled)
    if loo.height:
        display_markdown("**Leave one study out**")
        show(loo.select("omitted", "k", *as_pct(("pooled", "ci_lower", "ci_upper")),
                        pl.col("I2").map_elements(lambda x: f"{x:.1f}%", return_dtype=pl.String)))


def _reported(review: Review, df: pl.DataFrame) -> list[str]:
    """The figures each landmark row rests on, as printed ("arm: 43% at 12 months (95% CI …)")."""
    out = []
    for row in df.iter_rows(named=True):
        recs = review.outcomes.filter((pl.col("study") == row["study"]) & pl.col("record").is_in(row["records"]))
        out.append("; ".join(f"{r['arm_label']}: {reported_text(r)}" for r in recs.iter_rows(named=True)))
    return out


def landmark_section(review: Review, pooled: PooledLandmark) -> None:
    """Display a pooled landmark survival: per-study figures, forest plot, pooled estimate, exclusions."""
    df = pooled.studies
    what = {"os": "overall survival", "efs_lfs": "event-free or leukaemia-free survival"}[pooled.group]
    ok = df.filter(pl.col("poolable"))
    show(df.with_columns(reported=pl.Series(_reported(review, df), dtype=pl.String)).select(
        "label", "reported", "estimate_source",
        pl.col("S").map_elements(lambda x: f"{100 * x:.1f}%", return_dtype=pl.String).alias("used"),
        pl.col("se_S").map_elements(lambda x: f"{100 * x:.1f}", return_dtype=pl.String).alias("SE (points)"),
        "poolable", "reason"))
    if ok.height == 0:
        display_markdown(f"No study gives a poolable {pooled.time:g}-{pooled.unit[:-1]} {what} estimate.")
        return
    p = pooled.pooled
    row = None if p is None else {"label": f"Pooled (cloglog, {p['method']}; k = {p['k']})", **p}
    rows = ok.select("label", pl.col("S").alias("estimate"), "ci_lower", "ci_upper")
    charts.display(charts.forest(rows, pooled=row, percent=True, xdomain=(0, 1),
                          title=f"{pooled.time:g}-{pooled.unit[:-1]} {what}",
                          subtitle="Log(-log) 95% CIs; pooled on the cloglog scale (REML)"))
    if pooled.result is None:
        display_markdown("Fewer than two poolable studies: no pooled estimate.")
        return
    r = pooled.result
    display_markdown(f"**Pooled {pooled.time:g}-{pooled.unit[:-1]} {what} (k = {r.k}):** {100 * p['estimate']:.1f}% "
                     f"(95% CI {100 * p['ci_lower']:.1f}–{100 * p['ci_upper']:.1f}%; prediction interval "
                     f"{100 * p['pi_lower']:.1f}–{100 * p['pi_upper']:.1f}%); tau² = {r.tau2:.3f} on the cloglog scale, "
                     f"I² = {r.i2:.1f}%. Estimates marked *reconstructed* are computed from pseudo-patient data "
                     "rebuilt from the report's summaries; their variances depend on the implied censoring.")


def ci_methods(audit_table: pl.DataFrame) -> pl.DataFrame:
    """Printed confidence intervals and the methods that reproduce them."""
    return (audit_table.filter(pl.col("ci_check").is_not_null())
            .select("study", pl.col("outcome_label").alias("outcome"), "reported",
                    pl.col("ci_methods").list.join(", ").replace("", "none").alias("reproduced by"), "source"))


def problems(audit_table: pl.DataFrame) -> pl.DataFrame:
    """Figures whose printed numbers do not reproduce, or that carry a recorded flag."""
    return audit_table.filter(pl.col("problem")).select(
        "study", pl.col("outcome_label").alias("outcome"), "reported", "check", "source")

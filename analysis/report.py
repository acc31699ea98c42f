"""What a chapter shows: views of one study and across studies, and the reported-vs-recomputed audit.

Chapters call these functions and display the result; they never compute numbers
themselves.  Every view is a polars DataFrame; :func:`show` renders one as a Markdown table
(so the static site gets a plain, fast HTML table and nbval compares plain text).
"""
from __future__ import annotations

from decimal import Decimal

import polars as pl

from .stats import proportions
from .data import Review
from .schema import ESTIMATORS, Study, decimals

#: the interval used wherever this review recomputes a CI for a single proportion
RECOMPUTED_CI = "wilson"

_PUBLICATION = {"full_paper": "Full paper", "conference_abstract": "Conference abstract",
                "secondary_report": "Secondary report (authors' summary of a paper)"}
_DESIGN = {"prospective_trial": "Prospective trial", "retrospective_series": "Retrospective series",
           "comparative_cohort": "Comparative cohort (non-randomised)"}
_FIT = {"direct": "B-ALL relapsed after allo-HSCT (review population)",
        "partial": "Partly the review population", "outside": "Outside the review population"}


def _n(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _summary(x) -> str:
    return x.text() if x is not None else "not reported"


def overview(study: Study) -> pl.DataFrame:
    """Design and population of one study: item, value, source quote."""
    c, pop = study.citation, study.population
    cite = (f"{', '.join(c.authors)}{' et al.' if c.et_al else ''} ({c.year}). {c.title}. "
            f"{c.journal or ''} {c.volume or ''}{f'({c.issue})' if c.issue else ''}{f': {c.pages}' if c.pages else ''}")
    rows = [
        ("Report", cite.strip() + (f" [{c.note}]" if c.note else ""), ""),
        ("DOI / registry", ", ".join(x for x in [c.doi or "", *c.registry] if x) or "not reported", ""),
        ("Publication type", _PUBLICATION[study.publication_type], ""),
        ("Extracted from", f"{study.extracted_from.what} (file {study.extracted_from.document})", ""),
        ("Design", _DESIGN[study.design] + (f", {study.phase}" if study.phase else ""), ""),
    ]
    for label, obj in (("Centres", study.centres), ("Country", study.country)):
        rows.append((label, str(obj.value) if obj else "not reported", obj.source if obj else ""))
    p = study.enrolment_period
    rows.append(("Treatment period", f"{p.start or '?'} to {p.end or '?'}" if p else "not reported",
                 p.source if p else ""))
    for label, name in (("Enrolled", "n_enrolled"), ("Donors leukapheresed", "n_leukapheresed"),
                        ("Infused", "n_infused"), ("Evaluable", "n_evaluable")):
        cnt = getattr(pop, name)
        if cnt is not None:
            rows.append((label, str(cnt.value) + (f" ({cnt.note})" if cnt.note else ""), cnt.source))
    rows.append(("Age", _summary(pop.age), pop.age.source if pop.age else ""))
    for d in pop.diagnoses:
        rows.append((f"Diagnosis: {d.diagnosis}", str(d.count), d.source))
    for m in pop.disease_burden:
        rows.append((m.name.capitalize() + (f" ({m.arm})" if m.arm else ""), _measure(m), m.source))
    rows.append(("Follow-up", _summary(study.follow_up), study.follow_up.source if study.follow_up else ""))
    return pl.DataFrame(rows, schema=["item", "value", "source"], orient="row")


def _measure(m) -> str:
    rng = ""
    if m.low is not None or m.high is not None:
        rng = f" (range {_n(m.low) if m.low is not None else '?'}–{_n(m.high) if m.high is not None else '?'})"
    return f"{m.statistic} {_n(m.value)}{rng} {m.unit}".replace("value ", "")


def intervention(study: Study) -> pl.DataFrame:
    """Arms, donors, construct, dose, lymphodepletion and grading scales of one study."""
    rows = []
    for a in study.arms:
        donors = ", ".join(f"{d.type.replace('_', ' ')} {d.count}" for d in study.donor_types if d.arm == a.id)
        what = f"{a.intervention}; n = {a.n.value}; {_FIT[a.population_fit]}"
        if a.population_note:
            what += f" ({a.population_note})"
        if donors:
            what += f"; donors: {donors}"
        if a.lymphodepletion:
            what += f"; lymphodepletion: {a.lymphodepletion.regimen}"
        rows.append((f"Arm: {a.label}" + (" (combined)" if a.parts else ""), what, a.n.source))
    cc = study.car_construct
    rows.append(("CAR construct", (f"target {', '.join(cc.target)}; costimulation "
                                   f"{cc.costimulatory_domain or 'not reported'}"
                                   + (f"; {cc.generation} generation" if cc.generation else "")
                                   + (f" ({cc.note})" if cc.note else "")) if cc else "not reported",
                 cc.source if cc else ""))
    rows.append(("Dose", _summary(study.dose), study.dose.source if study.dose else ""))
    g = study.grading
    rows.append(("Grading scales", f"CRS: {g.crs}; ICANS: {g.icans}; GVHD: {g.gvhd}"
                 + (f" ({g.note})" if g.note else ""), g.source or ""))
    return pl.DataFrame(rows, schema=["item", "value", "source"], orient="row")


def reported_text(r: dict) -> str:
    """A record's figure (a row of ``Review.outcomes``) as the report printed it."""
    est = r["estimator"]
    ci = f"; 95% CI {r['ci_low']}–{r['ci_high']}" if r["ci_low"] is not None else ""
    if est == "proportion":
        count = f"{r['events']}/{r['denominator']}" if r["events"] is not None else f"n = {r['denominator']}"
        pct = f" ({r['percent']}%{ci})" if r["percent"] is not None else (f" ({ci[2:]})" if ci else "")
        return count + pct
    if est in ("km_landmark", "cumulative_incidence"):
        return f"{r['percent']}% at {_n(r['time'])} {r['time_unit']}" + (f" ({ci[2:]})" if ci else "")
    if r["median"] is None:
        return r["flag_notes"] or "not reported"
    rng = f" (range {_n(r['range_low'])}–{_n(r['range_high'])})" if r["range_low"] is not None else ""
    return f"median {_n(r['median'])}{rng} {r['time_unit']}"


def audit(review: Review) -> pl.DataFrame:
    """Reported vs recomputed, one row per outcome record.

    For crude proportions: the recomputed percentage ``events/denominator`` and whether it
    prints as reported (:func:`analysis.stats.proportions.counts_from_percent`); when only a
    percentage is printed, the integer counts that produce it; the recomputed 95% CI
    (:data:`RECOMPUTED_CI`); and which interval methods reproduce a printed CI
    (:func:`analysis.stats.proportions.identify_ci_method`), or that none does.
    Time-to-event figures are passed through as reported (see the survival chapter).
    """
    out = []
    for r in review.outcomes.iter_rows(named=True):
        row = {"study": r["study"], "record": r["record"], "outcome": r["outcome"],
               "outcome_label": r["outcome_label"], "arm": r["arm"], "arm_label": r["arm_label"],
               "estimator": ESTIMATORS[r["estimator"]], "denominator_kind": r["denominator_kind"],
               "reported": reported_text(r), "recomputed": "", "check": "", "ci_methods": None,
               "estimate": None, "ci_lower": None, "ci_upper": None, "source": r["source"]}
        ev, den, pct = r["events"], r["denominator"], r["percent"]
        checks = []
        if r["estimator"] == "proportion" and den:
            if ev is not None:
                lo, hi = proportions.ci(ev, den, RECOMPUTED_CI)
                row.update(estimate=ev / den, ci_lower=lo, ci_upper=hi)
                d = decimals(pct) if pct is not None else 1
                row["recomputed"] = f"{100 * ev / den:.{d + 1}f}% ({RECOMPUTED_CI} 95% CI {100 * lo:.1f}–{100 * hi:.1f})"
            if pct is not None:
                ks = proportions.counts_from_percent(pct, den, decimals(pct))
                if ev is None:
                    checks.append(f"counts giving {pct}%: {', '.join(map(str, ks)) or 'none'}")
                elif ev in ks:
                    checks.append(f"{pct}% = {ev}/{den} ✓")
                else:
                    checks.append(f"{pct}% is not {ev}/{den}; counts giving it: {', '.join(map(str, ks)) or 'none'}")
            if r["ci_low"] is not None and ev is not None:
                methods = proportions.identify_ci_method(
                    ev, den, float(Decimal(r["ci_low"])), float(Decimal(r["ci_high"])),
                    max(decimals(r["ci_low"]), decimals(r["ci_high"])))
                row["ci_methods"] = ", ".join(methods) if methods else "none"
                checks.append(f"printed CI reproduced by {', '.join(methods)}" if methods
                              else "printed CI reproduced by no standard method")
        elif r["estimator"] in ("km_landmark", "cumulative_incidence"):
            row["recomputed"] = "see survival reconstruction"
        if r["flags"]:
            checks.append(f"flagged: {r['flags']}")
        row["check"] = "; ".join(checks)
        out.append(row)
    return pl.DataFrame(out, infer_schema_length=None)


def outcomes(review: Review, study_id: str) -> pl.DataFrame:
    """The outcomes table of a study chapter: reported figure, recomputed figure, check, quote."""
    return (audit(review).filter(pl.col("study") == study_id)
            .select(pl.col("outcome_label").alias("outcome"), pl.col("arm_label").alias("arm"),
                    "reported", pl.col("denominator_kind").alias("denominator"), "estimator",
                    "recomputed", "check", "source"))


def proportion_points(review: Review, study_id: str, categories: tuple[str, ...] = ("response", "safety")) -> pl.DataFrame:
    """Crude proportions of one study with recomputed 95% CIs, for :func:`analysis.charts.outcome_bars`."""
    a = audit(review).filter((pl.col("study") == study_id) & pl.col("estimate").is_not_null())
    cat = review.outcomes.select("study", "record", "category", "events", "denominator")
    return (a.join(cat, on=["study", "record"]).filter(pl.col("category").is_in(list(categories)))
            .select(pl.col("outcome_label").alias("outcome"), pl.col("arm_label").alias("arm"),
                    "estimate", "ci_lower", "ci_upper",
                    pl.format("{}/{}", "events", "denominator").alias("denominator")))


def header(study: Study) -> str:
    """One Markdown paragraph saying what kind of evidence the chapter rests on."""
    fit = {a.population_fit for a in study.arms if a.role == "intervention"}
    n = study.population.n_infused or study.population.n_enrolled
    text = (f"**{_PUBLICATION[study.publication_type]}**, {_DESIGN[study.design].lower()}"
            f"{f', {n.value} patients' if n else ''}. Source: {{cite:t}}`{study.citation.bibkey}`; "
            f"extracted from: {study.extracted_from.what}.")
    if fit != {"direct"}:
        notes = "; ".join(f"{a.label}: {_FIT[a.population_fit].lower()}" + (f" ({a.population_note})" if a.population_note else "")
                          for a in study.arms if a.population_fit != "direct")
        text += f" **Population fit:** {notes}."
    return text


def flags(review: Review, study_id: str) -> pl.DataFrame:
    """Known problems recorded for a study (typos, inconsistencies, overlap, indirectness)."""
    return review.flags.filter(pl.col("study") == study_id).drop("study")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown(df: pl.DataFrame, quote_columns: tuple[str, ...] = ("source",)) -> str:
    """Render a DataFrame as a Markdown table; quote columns are shown in quotation marks."""
    if df.height == 0:
        return "*None recorded.*"
    head = "| " + " | ".join((c[:1].upper() + c[1:]).replace("_", " ") for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    lines = [head, sep]
    for row in df.iter_rows(named=True):
        cells = [(f"“{_cell(v)}”" if c in quote_columns and v else _cell(v)) for c, v in row.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show(df: pl.DataFrame, **kwargs) -> None:
    """Display a DataFrame as a Markdown table in a notebook."""
    display_markdown(markdown(df, **kwargs))


def display_markdown(text: str) -> None:
    """Display Markdown (MyST roles such as citations included) as a notebook output."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def characteristics(review: Review) -> pl.DataFrame:
    """The characteristics table across studies (one row per study)."""
    t = review.studies_table
    return t.select(
        pl.col("short_name").alias("study"),
        pl.col("publication_type").replace_strict(_PUBLICATION, default=None).alias("publication"),
        pl.col("design").replace_strict(_DESIGN, default=None).alias("design"),
        pl.col("country"), pl.col("period"), pl.col("n_infused").alias("infused"),
        pl.col("age").alias("age, median (range)"),
        pl.col("arms"), pl.col("follow_up").alias("follow-up"), pl.col("population_fit").alias("population fit"),
    )


def grading(review: Review) -> pl.DataFrame:
    """Grading scale per study and domain, as the reports name them."""
    return review.studies_table.select(pl.col("short_name").alias("study"), pl.col("crs_scale").alias("CRS"),
                                       pl.col("icans_scale").alias("ICANS / neurotoxicity"),
                                       pl.col("gvhd_scale").alias("GVHD"))


def overlaps(review: Review) -> pl.DataFrame:
    """Recorded possible patient overlap between series."""
    return review.flags.filter(pl.col("kind").str.contains("overlap")).select("study", "kind", "note")


def pooled_section(pooled, digits: int = 1) -> None:
    """Display one pooled outcome: contributing figures, forest plot, model and sensitivity analyses."""
    from IPython.display import display

    from . import charts, synthesis

    pct = lambda x: "" if x is None else f"{100 * x:.{digits}f}%"  # noqa: E731
    studies = pooled.studies
    if studies.height == 0:
        display_markdown(f"No study reports {pooled.label.lower()} as a crude proportion.")
        return
    show(studies.select("label", pl.format("{}/{}", "events", "denominator").alias("events / patients"),
                        "denominator_kind", "selection", "source"))
    display_markdown(synthesis.denominator_note(studies))
    display(charts.forest(synthesis.forest_rows(pooled), weight="weight" if pooled.result else None,
                          pooled=pooled.pooled_row, percent=True, xdomain=(0, 1),
                          title=pooled.label, subtitle="Recomputed Wilson 95% CIs; pooled: logit, REML"))
    if pooled.result is None:
        display_markdown("Fewer than two studies report this outcome: no pooled estimate.")
        return
    s = pooled.summary.row(0, named=True)
    display_markdown(
        f"**Pooled ({s['model']}, k = {s['k']}, {s['events']}/{s['patients']} patients):** {pct(s['pooled'])} "
        f"(95% CI {pct(s['ci_lower'])}–{pct(s['ci_upper'])}; 95% prediction interval "
        f"{pct(s['pi_lower'])}–{pct(s['pi_upper'])}); tau² = {s['tau2']:.3f}, I² = {s['I2']:.1f}%.")
    as_pct = lambda cols: [pl.col(c).map_elements(pct, return_dtype=pl.String) for c in cols]  # noqa: E731
    display_markdown("**Sensitivity analyses**")
    show(pooled.sensitivity.select("description", "k", "studies",
                                   *as_pct(("pooled", "ci_lower", "ci_upper", "pi_lower", "pi_upper"))))
    loo = synthesis.leave_one_out(pooled)
    if loo.height:
        display_markdown("**Leave one study out**")
        show(loo.select("omitted", "k", *as_pct(("pooled", "ci_lower", "ci_upper")),
                        pl.col("I2").map_elements(lambda x: f"{x:.1f}%", return_dtype=pl.String)))


def survival_records(review: Review, study_id: str) -> pl.DataFrame:
    """Time-to-event figures of a study as reported, with their estimator and quote."""
    a = audit(review).filter(pl.col("study") == study_id)
    cat = review.outcomes.select("study", "record", "category", "estimator")
    return (a.drop("estimator").join(cat, on=["study", "record"])
            .filter((pl.col("category") == "survival") & (pl.col("estimator") != "proportion"))
            .select(pl.col("outcome_label").alias("outcome"), pl.col("arm_label").alias("arm"), "reported",
                    pl.col("estimator").replace_strict(ESTIMATORS, default=None), "source"))


def km_explanations(review: Review, study_id: str, max_n: int = 30) -> pl.DataFrame:
    """For each printed landmark of a small arm: is it k/n, or does it need censoring?

    Uses :func:`analysis.stats.survival.km_configurations` (every at-risk sequence whose Kaplan-Meier
    product prints as the reported percentage).
    """
    from .stats import survival

    o = review.outcomes.filter((pl.col("study") == study_id) & (pl.col("estimator") == "km_landmark")
                               & pl.col("denominator").is_not_null() & (pl.col("denominator") <= max_n))
    rows = []
    for r in o.iter_rows(named=True):
        conf = survival.km_configurations(r["denominator"], r["percent"])
        kn = conf.filter(pl.col("k_over_n"))
        if conf.height == 0:
            reading = f"no Kaplan-Meier configuration of {r['denominator']} patients gives {r['percent']}%"
        elif kn.height:
            reading = f"= {kn['fraction'][0]}: reachable without censoring (k/n)"
        else:
            least = conf.sort("censored_before_last_event").row(0, named=True)
            reading = (f"not k/{r['denominator']}: needs censoring before the last death, at least "
                       f"{least['censored_before_last_event']} (e.g. {least['fraction']}, at risk {least['at_risk']})")
        rows.append({"outcome": r["outcome_label"], "arm": r["arm_label"],
                     "reported": f"{r['percent']}% at {r['time']:g} {r['time_unit']}",
                     "configurations": conf.height, "reading": reading})
    return pl.DataFrame(rows, schema={"outcome": pl.String, "arm": pl.String, "reported": pl.String,
                                      "configurations": pl.Int64, "reading": pl.String})


def survival_section(review: Review, study_id: str) -> None:
    """The survival part of a study chapter: reported figures, then reconstructed curves.

    Each reconstruction (:func:`analysis.synthesis.reconstructions`) is plotted with its
    numbers at risk and censor ticks, labelled "reconstructed from reported summaries", and
    followed by its check table (reported vs reconstructed) and the choices it had to make.
    """
    from IPython.display import display

    from . import charts, synthesis
    from .stats import survival

    rec = survival_records(review, study_id)
    if rec.height == 0:
        display_markdown("This report gives no time-to-event figures.")
        return
    show(rec)
    explain = km_explanations(review, study_id)
    if explain.height:
        display_markdown("**Which printed landmarks are simple fractions?** A Kaplan-Meier estimate of a small arm "
                         "is a product of (at risk − deaths)/at risk; a percentage that is not k/n implies censoring.")
        show(explain)
    recons = synthesis.reconstructions(review, study_id)
    if not recons:
        display_markdown("No curve is reconstructed: the report gives no Kaplan-Meier landmark for a whole arm small "
                         "enough to enumerate (see the survival synthesis for how its figures are used).")
        return
    for outcome in dict.fromkeys(r.outcome for r in recons):
        group = [r for r in recons if r.outcome == outcome]
        tables = [survival.km_table(r.data).with_label(arm=r.arm_label) for r in group]
        band = {"ci_low": "ci_lower", "ci_high": "ci_upper"}  # charts.km's column names
        display(charts.km(pl.concat([t.steps.rename(band) for t in tables]), at_risk=pl.concat([t.at_risk for t in tables]),
                          censors=pl.concat([t.censored for t in tables]), color="arm", time_unit=group[0].time_unit,
                          title=f"{review.study(study_id).short_name}: {outcome.upper()}",
                          subtitle=" + ".join(dict.fromkeys(r.source.capitalize() for r in group))
                          + " (pseudo-patient data)"))
        for r in group:
            res = r.result
            if r.kind == "curve":
                display_markdown(f"**{r.label}, {outcome.upper()}** — {r.source}: {r.inputs}. Numbers at risk, "
                                 "published vs reconstructed, per interval of the risk table:")
                show(res.intervals)
            else:
                display_markdown(f"**{r.label}, {outcome.upper()}** — {r.source}; inputs: {r.inputs}. "
                                 f"{res.n_consistent}{'+' if res.truncated else ''} death/censoring orderings are "
                                 "consistent with the report; the plotted one is the most parsimonious (fewest "
                                 "censorings), seeded.")
                show(res.checks.select("item", "time", "reported", "reconstructed", "reported_low", "reported_high",
                                       "reconstructed_low", "reconstructed_high", "match"))
            if res.notes:
                display_markdown("\n".join(f"- {n}" for n in res.notes))


def landmark_section(pooled) -> None:
    """Display a pooled landmark survival: per-study figures, forest plot, pooled estimate, exclusions."""
    from IPython.display import display

    from . import charts

    df = pooled.studies
    what = {"os": "overall survival", "efs_lfs": "event-free or leukaemia-free survival"}[pooled.group]
    ok = df.filter(pl.col("poolable"))
    show(df.select("label", "reported", "estimate_source",
                   pl.col("S").map_elements(lambda x: f"{100 * x:.1f}%", return_dtype=pl.String).alias("used"),
                   pl.col("se_S").map_elements(lambda x: f"{100 * x:.1f}", return_dtype=pl.String).alias("SE (points)"),
                   "poolable", "reason"))
    if ok.height == 0:
        display_markdown(f"No study gives a poolable {pooled.time:g}-{pooled.unit[:-1]} {what} estimate.")
        return
    rows = ok.select("label", pl.col("S").alias("estimate"), "ci_lower", "ci_upper")
    display(charts.forest(rows, pooled=pooled.pooled_row, percent=True, xdomain=(0, 1),
                          title=f"{pooled.time:g}-{pooled.unit[:-1]} {what}",
                          subtitle="Log(-log) 95% CIs; pooled on the cloglog scale (REML)"))
    if pooled.result is None:
        display_markdown("Fewer than two poolable studies: no pooled estimate.")
        return
    p, r = pooled.pooled_row, pooled.result
    display_markdown(f"**Pooled {pooled.time:g}-{pooled.unit[:-1]} {what} (k = {r.k}):** {100 * p['estimate']:.1f}% "
                     f"(95% CI {100 * p['ci_lower']:.1f}–{100 * p['ci_upper']:.1f}%; prediction interval "
                     f"{100 * p['pi_lower']:.1f}–{100 * p['pi_upper']:.1f}%); tau² = {r.tau2:.3f} on the cloglog scale, "
                     f"I² = {r.i2:.1f}%. Estimates marked *reconstructed* are computed from pseudo-patient data "
                     "rebuilt from the report's summaries; their variances depend on the implied censoring.")


def ci_methods(audit_table: pl.DataFrame) -> pl.DataFrame:
    """Printed confidence intervals and the methods that reproduce them."""
    return (audit_table.filter(pl.col("ci_methods").is_not_null())
            .select("study", pl.col("outcome_label").alias("outcome"), "reported",
                    pl.col("ci_methods").alias("reproduced by"), "source"))


def problems(audit_table: pl.DataFrame) -> pl.DataFrame:
    """Figures whose printed numbers do not reproduce, or that carry a recorded flag."""
    bad = (pl.col("check").str.contains("not ") | pl.col("check").str.contains("no standard")
           | pl.col("check").str.contains("flagged"))
    return audit_table.filter(bad).select("study", pl.col("outcome_label").alias("outcome"), "reported", "check", "source")


def comparisons_section(review: Review, study_id: str) -> None:
    """Between-arm comparisons of a study chapter (see :func:`analysis.synthesis.arm_comparisons`)."""
    from . import synthesis

    study = review.study(study_id)
    binary = synthesis.arm_comparisons(review, study_id)
    tte = synthesis.landmark_comparisons(review, study_id)
    if binary.height == 0 and tte.height == 0 and not study.comparisons:
        display_markdown("No outcome is reported for two arms: no between-arm comparison.")
        return
    p3 = lambda c: pl.col(c).map_elements(lambda x: f"{x:.4f}", return_dtype=pl.String)  # noqa: E731
    if binary.height:
        display_markdown("**Binary outcomes** (recomputed from the counts; Wald CIs, 1/2 added to every cell of a "
                         "table with a zero cell):")
        show(binary.drop("key").with_columns(p3("Fisher p"), p3("chi-square p"), p3("Yates p")))
        for r in binary.filter(pl.col("reported p").is_not_null()).iter_rows(named=True):
            display_markdown(f"The report prints p = {r['reported p']} for {r['outcome'].lower()}; reproduced at its "
                             f"printed precision by: {r['reproduced by'].replace('chisq_yates', 'chi-square with Yates correction').replace('chisq', 'chi-square')}.")
    if tte.height:
        display_markdown("**Landmark survival between arms** (reconstructed pseudo-patient data; the variances and the "
                         "p-value depend on censoring the report does not give):")
        show(tte.with_columns(p3("p (cloglog z-test)")))
    other = [c for c in study.comparisons if c.outcome not in binary["key"].to_list()]
    if other:
        display_markdown("**Printed p-values that cannot be recomputed from the reported figures:**")
        show(pl.DataFrame([{"comparison": f"{c.outcome}: {' vs '.join(c.groups)}", "reported p": c.p_value,
                            "test": c.test or "not stated", "note": c.note or "", "source": c.source}
                           for c in other]))

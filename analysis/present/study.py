"""A study chapter: the tables and sections of ``book/_templates/study.ipynb``.

Every function takes the loaded review (or a study) and returns a polars DataFrame of text
or displays a section; the numbers come from :mod:`analysis.review`.
"""
from __future__ import annotations

import polars as pl

from ..review import audit as _audit
from ..review import comparisons, quotes, survival
from ..review.loading import Review
from ..review.schema import ESTIMATORS, Study, decimals
from . import charts
from .escape import md
from .fmt import DESIGN, FIT, PART, PUBLICATION, measure_text, num, reported_text, summary_text
from .tables import display_markdown, show


def header(study: Study) -> str:
    """One Markdown paragraph saying what kind of evidence the chapter rests on."""
    fit = {a.population_fit for a in study.arms if a.role == "intervention"}
    n = study.population.n_infused or study.population.n_enrolled
    text = (f"**{PUBLICATION[study.publication_type]}**, {DESIGN[study.design].lower()}"
            f"{f', {n.value} patients' if n else ''}. Source: {{cite:t}}`{study.citation.bibkey}`; "
            f"extracted from: {md(study.extracted_from.what)}.")
    if fit != {"direct"}:
        notes = "; ".join(md(f"{a.label}: {FIT[a.population_fit].lower()}"
                             + (f" ({a.population_note})" if a.population_note else ""))
                          for a in study.arms if a.population_fit != "direct")
        text += f" **Population fit:** {notes}."
    return text


def overview(study: Study) -> pl.DataFrame:
    """Design and population of one study: item, value, source quote."""
    c, pop = study.citation, study.population
    cite = (f"{', '.join(c.authors)}{' et al.' if c.et_al else ''} ({c.year}). {c.title}. "
            f"{c.journal or ''} {c.volume or ''}{f'({c.issue})' if c.issue else ''}{f': {c.pages}' if c.pages else ''}")
    rows = [
        ("Report", cite.strip() + (f" [{c.note}]" if c.note else ""), ""),
        ("DOI / registry", ", ".join(x for x in [c.doi or "", *c.registry] if x) or "not reported", ""),
        ("Publication type", PUBLICATION[study.publication_type], ""),
        ("Read by this review", f"{PART[study.extracted_from.part]}: {study.extracted_from.what} "
                                f"({study.extracted_from.identifier})", ""),
        ("Design", DESIGN[study.design] + (f", {study.phase}" if study.phase else ""), ""),
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
    rows.append(("Age", summary_text(pop.age), pop.age.source if pop.age else ""))
    for d in pop.diagnoses:
        rows.append((f"Diagnosis: {d.diagnosis}", str(d.count), d.source))
    for m in pop.disease_burden:
        rows.append((m.name.capitalize() + (f" ({m.arm})" if m.arm else ""), measure_text(m), m.source))
    rows.append(("Follow-up", summary_text(study.follow_up), study.follow_up.source if study.follow_up else ""))
    return pl.DataFrame(rows, schema=["item", "value", "source"], orient="row")


def intervention(study: Study) -> pl.DataFrame:
    """Arms, donors, construct, dose, lymphodepletion and grading scales of one study."""
    rows = []
    for a in study.arms:
        donors = ", ".join(f"{d.type.replace('_', ' ')} {d.count}" for d in study.donor_types if d.arm == a.id)
        what = f"{a.intervention}; n = {a.n.value}; {FIT[a.population_fit]}"
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
    rows.append(("Dose", summary_text(study.dose), study.dose.source if study.dose else ""))
    g = study.grading
    rows.append(("Grading scales", f"CRS: {g.crs}; ICANS: {g.icans}; GVHD: {g.gvhd}"
                 + (f" ({g.note})" if g.note else ""), g.source or ""))
    return pl.DataFrame(rows, schema=["item", "value", "source"], orient="row")


def check_text(r: dict) -> str:
    """The check column of the audit for one row of :func:`analysis.review.audit.audit`."""
    checks = []
    pc, ev, den = r["percent"], r["events"], r["denominator"]
    lo, hi = r["counts_low"], r["counts_high"]
    counts = "none" if lo is None or lo > hi else (str(lo) if lo == hi else f"{lo}–{hi}" if hi - lo > 2
                                                   else ", ".join(map(str, range(lo, hi + 1))))
    if r["percent_check"] == "counts_only":
        checks.append(f"counts giving {pc}%: {counts}")
    elif r["percent_check"] == "reproduced":
        checks.append(f"{pc}% = {ev}/{den} ✓")
    elif r["percent_check"] == "not_reproduced":
        checks.append(f"{pc}% is not {ev}/{den}; counts giving it: {counts}")
    if r["ci_check"] == "reproduced":
        checks.append(f"printed CI reproduced by {', '.join(r['ci_methods'])}")
    elif r["ci_check"] == "not_reproduced":
        checks.append("printed CI reproduced by no standard method")
    if r["flags"]:
        checks.append(f"flagged: {r['flags']}")
    return "; ".join(checks)


def recomputed_text(r: dict) -> str:
    """The recomputed column of the audit: estimate and recomputed CI of a crude proportion."""
    if r["estimate"] is not None:
        d = decimals(r["percent"]) if r["percent"] is not None else 1
        return (f"{100 * r['estimate']:.{d + 1}f}% ({_audit.RECOMPUTED_CI} 95% CI "
                f"{100 * r['ci_lower']:.1f}–{100 * r['ci_upper']:.1f})")
    if r["estimator"] in ("km_landmark", "cumulative_incidence"):
        return "see survival reconstruction"
    return ""


def audit_table(review: Review, studies: list[str] | None = None) -> pl.DataFrame:
    """:func:`analysis.review.audit.audit` with its reported, recomputed and check texts (all
    studies, or only ``studies``)."""
    a = _audit.audit(review, studies)
    rows = list(a.iter_rows(named=True))
    return a.with_columns(
        reported=pl.Series([reported_text(r) for r in rows], dtype=pl.String),
        recomputed=pl.Series([recomputed_text(r) for r in rows], dtype=pl.String),
        check=pl.Series([check_text(r) for r in rows], dtype=pl.String),
        estimator_text=pl.col("estimator").replace_strict(ESTIMATORS, default=None),
    )


def outcomes(review: Review, study_id: str) -> pl.DataFrame:
    """The outcomes table of a study chapter: reported figure, recomputed figure, check, quote."""
    return (audit_table(review, [study_id]).filter(pl.col("study") == study_id)
            .select(pl.col("outcome_label").alias("outcome"), pl.col("arm_label").alias("arm"),
                    "reported", pl.col("denominator_kind").alias("denominator"),
                    pl.col("estimator_text").alias("estimator"), "recomputed", "check", "source"))


def proportion_points(review: Review, study_id: str, categories: tuple[str, ...] = ("response", "safety")) -> pl.DataFrame:
    """Crude proportions of one study with recomputed 95% CIs, for :func:`analysis.present.charts.outcome_bars`."""
    a = _audit.audit(review, [study_id])
    return (a.filter((pl.col("study") == study_id) & pl.col("estimate").is_not_null()
                     & pl.col("category").is_in(list(categories)))
            .select(pl.col("outcome_label").alias("outcome"), pl.col("arm_label").alias("arm"),
                    "estimate", "ci_lower", "ci_upper",
                    pl.format("{}/{}", "events", "denominator").alias("denominator")))


def outcome_chart(review: Review, study_id: str) -> None:
    """Display the study's crude proportions with recomputed Wilson 95% CIs (nothing if it has none)."""
    points = proportion_points(review, study_id)
    if points.height:
        charts.display(charts.outcome_bars(points, title=review.study(study_id).short_name,
                                           subtitle="Crude proportions with recomputed Wilson 95% CIs"))


def flags(review: Review, study_id: str) -> pl.DataFrame:
    """Known problems recorded for a study (typos, inconsistencies, overlap, indirectness)."""
    return review.flags.filter(pl.col("study") == study_id).drop("study")


def quote_checks(review: Review, study_id: str) -> pl.DataFrame:
    """Quotes of a study that could not be verified against a local source text (:func:`analysis.review.quotes.verify`).

    One row per unverified quote: its field in the study file, why (not found in the named
    local text, or no local text to check against) and the quote.  Empty when every quote was
    found verbatim.
    """
    q = quotes.verify(review, studies=[study_id]).filter((pl.col("study") == study_id) & (pl.col("status") != "verified"))
    why = [f"not found in {s.rsplit('/', 1)[-1]}" if st == "not_found" else "no local source text"
           for st, s in zip(q["status"], q["source_file"].fill_null(""))]
    return q.select("field", pl.Series("status", why, dtype=pl.String), pl.col("quote").alias("source"))


def survival_records(review: Review, study_id: str) -> pl.DataFrame:
    """Time-to-event figures of a study as reported, with their estimator and quote."""
    a = audit_table(review, [study_id]).filter((pl.col("study") == study_id) & (pl.col("category") == "survival")
                                   & (pl.col("estimator") != "proportion"))
    return a.select(pl.col("outcome_label").alias("outcome"), pl.col("arm_label").alias("arm"), "reported",
                    pl.col("estimator_text").alias("estimator"), "source")


def km_explanations(review: Review, study_id: str) -> pl.DataFrame:
    """For each printed landmark of a small arm: is it k/n, or does it need censoring?

    The reading of :func:`analysis.review.survival.km_readings`, in words.
    """
    rows = []
    for r in survival.km_readings(review, study_id).iter_rows(named=True):
        if r["configurations"] == 0:
            reading = f"no Kaplan-Meier configuration of {r['denominator']} patients gives {r['percent']}%"
        elif r["k_over_n"] is not None:
            reading = f"= {r['k_over_n']}: reachable without censoring (k/n)"
        else:
            reading = (f"not k/{r['denominator']}: needs censoring before the last death, at least "
                       f"{r['least_censored']} (e.g. {r['least_fraction']}, at risk {r['least_at_risk']})")
        rows.append({"outcome": r["outcome_label"], "arm": r["arm_label"],
                     "reported": f"{r['percent']}% at {r['time']:g} {r['time_unit']}",
                     "configurations": r["configurations"], "reading": reading})
    return pl.DataFrame(rows, schema={"outcome": pl.String, "arm": pl.String, "reported": pl.String,
                                      "configurations": pl.Int64, "reading": pl.String})


def reconstruction_inputs(r: survival.Reconstruction) -> str:
    """What a reconstruction used, as one line (n, landmarks, event times, follow-up; or the curve file)."""
    u = r.used
    if r.kind == "curve":
        return f"digitised from {r.inputs} ({u['file']})"
    parts = [f"n = {u['n']}", "landmarks: " + "; ".join(f"{est}% at {num(t)} {r.time_unit}" for est, t in u["landmarks"])]
    if u["event_times"] is not None:
        parts.append(f"event times {u['event_times']} {r.time_unit}, {u['n_events']} events")
    fu = u["follow_up"]
    if fu is not None:
        parts.append(f"follow-up {fu.median:g} ({fu.low:g}-{fu.high:g}) {fu.unit}")
    return "; ".join(parts)


def _envelope_points(review: Review, r: survival.Reconstruction) -> pl.DataFrame:
    """The printed landmarks of a reconstructed arm, in the reconstruction's time unit."""
    recs = review.outcomes.filter((pl.col("study") == r.study) & (pl.col("outcome") == r.outcome)
                                  & (pl.col("arm") == r.arm) & (pl.col("estimator") == "km_landmark"))
    return pl.DataFrame([{
        "arm": r.arm_label, "time": survival._convert(x["time"], x["time_unit"], r.time_unit),
        "estimate": float(x["percent"]) / 100,
        "ci_low": float(x["ci_low"]) / 100 if x["ci_low"] is not None else None,
        "ci_high": float(x["ci_high"]) / 100 if x["ci_high"] is not None else None,
        "label": reported_text(x)} for x in recs.iter_rows(named=True)],
        schema={"arm": pl.String, "time": pl.Float64, "estimate": pl.Float64, "ci_low": pl.Float64,
                "ci_high": pl.Float64, "label": pl.String})


def _curve_chart(review: Review, study_id: str, outcome: str, group: list) -> None:
    """A digitised published curve, rebuilt by Guyot's algorithm: a step curve with numbers at risk."""
    from ..stats import survival as sv

    tables = [sv.km_table(r.data).with_label(arm=r.arm_label) for r in group]
    band = {"ci_low": "ci_lower", "ci_high": "ci_upper"}  # charts.km's column names
    charts.display(charts.km(pl.concat([t.steps.rename(band) for t in tables]), at_risk=pl.concat([t.at_risk for t in tables]),
                             censors=pl.concat([t.censored for t in tables]), color="arm", time_unit=group[0].time_unit,
                             title=f"{review.study(study_id).short_name}: {outcome.upper()}",
                             subtitle="Reconstructed from the published curve (Guyot 2012; pseudo-patient data)"))


def _summary_chart(review: Review, study_id: str, outcome: str, group: list) -> None:
    """Printed summaries only: the band of every consistent curve and the printed points, never a step curve."""
    bands = pl.concat([r.result.envelope.select("time", "s_min", "s_max").with_columns(arm=pl.lit(r.arm_label))
                       for r in group])
    points = pl.concat([_envelope_points(review, r) for r in group])
    charts.display(charts.envelope(bands, points, time_unit=group[0].time_unit,
                                   title=f"{review.study(study_id).short_name}: {outcome.upper()}, what the report determines",
                                   subtitle="Shaded: every Kaplan-Meier curve consistent with the printed figures; "
                                            "diamonds: the printed landmarks with their printed 95% CI"))


def survival_section(review: Review, study_id: str) -> None:
    """The survival part of a study chapter: reported figures, then what they determine.

    For a digitised published curve (rebuilt with Guyot's algorithm) the chapter draws the
    step curve with numbers at risk.  For figures rebuilt from printed summaries it draws only
    what the report determines -- the band of every consistent curve and the printed
    landmarks -- followed by the check table (reported vs reconstructed) and the choices made;
    no step curve, no numbers at risk and no test statistic is drawn from such pseudo-data.
    """
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
    recons = survival.reconstructions(review, study_id)
    if not recons:
        display_markdown("Nothing is reconstructed: the report gives no Kaplan-Meier landmark for a whole arm small "
                         "enough to enumerate (see the survival synthesis for how its figures are used).")
        return
    for outcome in dict.fromkeys(r.outcome for r in recons):
        group = [r for r in recons if r.outcome == outcome]
        for kind, draw in (("curve", _curve_chart), ("summary", _summary_chart)):
            same = [r for r in group if r.kind == kind]
            if same:
                draw(review, study_id, outcome, same)
        for r in group:
            res = r.result
            if r.kind == "curve":
                display_markdown(f"**{md(r.label)}, {outcome.upper()}** — {r.source}: {md(reconstruction_inputs(r))}. "
                                 "Numbers at risk, published vs reconstructed, per interval of the risk table:")
                show(res.intervals)
            else:
                display_markdown(f"**{md(r.label)}, {outcome.upper()}** — {r.source}; inputs: {md(reconstruction_inputs(r))}. "
                                 f"{res.n_consistent}{'+' if res.truncated else ''} death/censoring histories are "
                                 "consistent with the report; the one-year estimate used in the synthesis comes from "
                                 "the most parsimonious (fewest censorings).")
                show(res.checks.select("item", "time", "reported", "reconstructed", "reported_low", "reported_high",
                                       "reconstructed_low", "reconstructed_high", "match"))
            if res.notes:
                display_markdown("\n".join(f"- {md(n)}" for n in res.notes))


def _p(x: float | None) -> str | None:
    return None if x is None else f"{x:.4f}"


def _effect(e: float, lo: float, hi: float) -> str:
    return f"{e:.2f} ({lo:.2f}–{hi:.2f})"


def comparisons_section(review: Review, study_id: str) -> None:
    """Between-arm comparisons of a study chapter (:mod:`analysis.review.comparisons`)."""
    study = review.study(study_id)
    binary = comparisons.arm_comparisons(review, study_id)
    if binary.height == 0 and not study.comparisons:
        display_markdown("No outcome is reported for two arms: no between-arm comparison.")
        return
    if binary.height:
        display_markdown("**Binary outcomes** (recomputed from the counts; Wald CIs, 1/2 added to every cell of a "
                         "table with a zero cell):")
        rows = [{"outcome": r["outcome_label"],
                 "comparison": f"{r['arm_a']} {r['events_a']}/{r['n_a']} vs {r['arm_b']} {r['events_b']}/{r['n_b']}",
                 "RR (95% CI)": _effect(r["rr"], r["rr_low"], r["rr_high"]),
                 "OR (95% CI)": _effect(r["or"], r["or_low"], r["or_high"]),
                 "RD (95% CI)": _effect(r["rd"], r["rd_low"], r["rd_high"]),
                 "Fisher p": _p(r["fisher_p"]), "chi-square p": _p(r["chisq_p"]), "Yates p": _p(r["yates_p"]),
                 "reported p": r["reported_p"],
                 "reproduced by": "" if r["reproduced_by"] is None else (", ".join(r["reproduced_by"]) or "none")}
                for r in binary.iter_rows(named=True)]
        show(pl.DataFrame(rows, infer_schema_length=None))
        for r in rows:
            if r["reported p"] is not None:
                how = r["reproduced by"].replace("chisq_yates", "chi-square with Yates correction").replace("chisq", "chi-square")
                display_markdown(f"The report prints p = {md(r['reported p'])} for {md(r['outcome'].lower())}; "
                                 f"reproduced at its printed precision by: {md(how)}.")
    other = [c for c in study.comparisons if c.outcome not in binary["outcome"].to_list()]
    if other:
        display_markdown("**Printed p-values that cannot be recomputed from the reported figures:**")
        show(pl.DataFrame([{"comparison": f"{c.outcome}: {' vs '.join(c.groups)}", "reported p": c.p_value,
                            "test": c.test or "not stated", "note": c.note or "", "source": c.source}
                           for c in other]))

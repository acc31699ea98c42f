"""Certainty of the evidence: the summary-of-findings table, key findings and the plain-language summary.

Every estimate is the primary row of the results table and every rating is computed by
:func:`analysis.review.grade.assess` from the data; the wording of the plain-language summary
follows the certainty level (GRADE's informative statements), never a typed conclusion.
"""
from __future__ import annotations

import polars as pl

from ..review import grade as gr
from ..review.living import State
from .escape import md, md_cited
from .fmt import pct
from .tables import display_markdown, show

SYMBOLS = {4: "⊕⊕⊕⊕", 3: "⊕⊕⊕◯", 2: "⊕⊕◯◯", 1: "⊕◯◯◯"}
LEVEL_OF = {v: k for k, v in gr.LEVELS.items()}
#: how a statement is worded at each certainty level (GRADE's informative statements)
WORDING = {4: "is {x}", 3: "is probably {x}", 2: "may be {x}", 1: "is very uncertain: the reports suggest {x}"}


def estimate_text(c: gr.Certainty) -> str:
    """The estimate as a reader should read it: a crude count with an exact CI is labelled as such."""
    r = c.result
    if r.get("estimate") is None:
        return f"not pooled ({c.k} {'study' if c.k == 1 else 'studies'} with a usable estimate)"
    ci = f"95% CI {pct(r['ci_low'])} to {pct(r['ci_high'])}"
    if r["model"] == "crude_exact":
        return (f"{r['events']}/{r['patients']} = {pct(r['estimate'])} ({ci}, exact); a crude pooled count, "
                f"not a random-effects estimate, because fewer than three studies report it")
    return f"{pct(r['estimate'])} ({ci})"


def _footnotes(certs: list[gr.Certainty]) -> tuple[dict[tuple[str, str], str], list[str]]:
    letters, notes = {}, []
    for c in certs:
        for r in c.ratings:
            if r.levels or r.override:
                letter = chr(ord("a") + len(notes))
                letters[(c.outcome, r.domain)] = letter
                who = f" (reviewer judgement: {r.override}; computed {r.computed})" if r.override else ""
                notes.append(f"{letter}. {gr.DOMAINS[r.domain]}, {r.levels or 0}: {r.reason}{who}.")
    return letters, notes


def sof_table(st: State) -> pl.DataFrame:
    """The summary-of-findings table: one row per main outcome of the plan."""
    letters, _ = _footnotes(st.certainty)
    rows = []
    for c in st.certainty:
        o = st.plan.outcomes[c.outcome]
        r = c.result
        marks = ",".join(letters[(c.outcome, d)] for d in gr.DOMAINS if (c.outcome, d) in letters)
        level = "no pooled estimate" if c.level is None else f"{SYMBOLS[c.level]} {gr.LEVELS[c.level]}"
        rows.append({
            "outcome": f"{o.label}: {o.definition}" + (f" (at {o.time:g} {o.time_unit})" if o.time else ""),
            "participants (studies)": f"{c.patients or 0} ({c.k})",
            "events / participants": f"{r['events']}/{r['patients']}" if r.get("events") is not None else "—",
            "proportion (95% CI)": estimate_text(c),
            "95% prediction interval": f"{pct(r['pi_low'])} to {pct(r['pi_high'])}" if r.get("pi_low") is not None else "—",
            "certainty": level + (f" ({marks})" if marks else ""),
            "comments": plain(c),
        })
    return pl.DataFrame(rows)


def footnotes(st: State) -> str:
    """The summary-of-findings footnotes: where certainty starts and every downgrade with its reason."""
    _, notes = _footnotes(st.certainty)
    start = f"Certainty starts at {gr.LEVELS[gr.START[st.rules.start.level]].lower()} for every outcome." if st.rules else ""
    return start + "\n\n" + "\n".join(f"- {md(n)}" for n in notes) if notes else start


def plain(c: gr.Certainty) -> str:
    """One plain-language sentence per outcome, worded by its certainty."""
    label = c.label[0].lower() + c.label[1:] if c.label[1:2].islower() else c.label  # "MRD-..." keeps its capitals
    if c.level is None:
        return f"No pooled estimate: too few studies report {label} in a usable form."
    r = c.result
    if r["model"] == "crude_exact":
        x = (f"{r['events']} of {r['patients']} patients in the {c.k} {'study' if c.k == 1 else 'studies'} reporting it "
             f"(between {round(100 * r['ci_low'])} and {round(100 * r['ci_high'])} in 100)")
    else:
        x = (f"about {round(100 * r['estimate'])} in 100 patients (between {round(100 * r['ci_low'])} and "
             f"{round(100 * r['ci_high'])})")
    return f"The proportion with {label} " + WORDING[c.level].format(x=x) + "."


def key_findings(st: State) -> None:
    """The landing page's key findings: per main outcome, estimate, studies, patients and certainty."""
    lines = []
    for c in st.certainty:
        cert = "no pooled estimate" if c.level is None else f"certainty {gr.LEVELS[c.level].lower()}"
        lines.append(f"- **{md(c.label)}**: {md(estimate_text(c))}; {c.k} {'study' if c.k == 1 else 'studies'}, "
                     f"{c.patients or 0} patients; {md(cert)}.")
    display_markdown("\n".join(lines))


def plain_summary(st: State) -> None:
    """The plain-language summary, generated from the same numbers and certainty ratings."""
    studies = st.review.studies
    n_abstract = sum(s.extracted_from.part != "full_text" for s in studies)
    from collections import Counter

    from .fmt import DESIGN

    counts = Counter(s.design for s in studies)
    short = {"prospective_trial": "prospective", "retrospective_series": "retrospective",
             "comparative_cohort": "non-randomised comparisons"}
    randomised = ("none was a randomised trial (" + ", ".join(f"{n} {short.get(d, DESIGN[d].lower())}"
                                                              for d, n in sorted(counts.items())) + ")")
    levels = [c.level for c in st.certainty if c.level is not None]
    worst = gr.LEVELS[min(levels)].lower() if levels else "not rated"
    text = (f"This review found {len(studies)} studies of donor-derived CD19 CAR-T cells given to people whose "
            f"B-cell acute lymphoblastic leukaemia came back after a stem-cell transplant; {randomised}, and "
            f"{n_abstract} of the {len(studies)} were read only as abstracts or short summaries. "
            + " ".join(plain(c) for c in st.certainty if c.level is not None)
            + f" The certainty of these figures is at best {worst}, so they may change as full reports and new "
              "studies are added.")
    display_markdown(md(text))


def rules_section(st: State) -> None:
    """The GRADE rules as the review applies them (start, bands, each domain's rule)."""
    if st.rules is None:
        display_markdown("*No GRADE rules file.*")
        return
    display_markdown(f"**Starting level: {md(st.rules.start.level.replace('_', ' '))}.** {md_cited(st.rules.start.rationale)}")
    for d, label in gr.DOMAINS.items():
        if d in st.rules.rationale:
            display_markdown(f"**{md(label)}.** {md_cited(st.rules.rationale[d])}")
    show(pl.DataFrame([{"outcome": st.plan.outcomes[o].label if o in st.plan.outcomes else o,
                        "band cut-points": ", ".join(pct(x, 0) for x in cuts)}
                       for o, cuts in st.rules.thresholds.items()]), quote_columns=())
    display_markdown(f"*Status of the thresholds:* {md(st.rules.thresholds_status)}")
    if st.overrides:
        show(pl.DataFrame([o.model_dump(mode="json") for o in st.overrides]), quote_columns=())
    else:
        display_markdown("No reviewer override of a computed rating in this version (`data/appraisal/grade_overrides.yaml`).")


def evidence_profile(st: State) -> pl.DataFrame:
    """Every domain of every main outcome: levels rated down and the reason generated from the data."""
    t = gr.table(st.certainty).filter(pl.col("domain") != "overall")
    return t.select(pl.col("outcome").replace_strict({o: d.label for o, d in st.plan.outcomes.items()}, default=None),
                    pl.col("domain").replace_strict(gr.DOMAINS, default=None), "levels", "reason",
                    pl.col("override").fill_null(""), "certainty")


def comparison_table(st: State) -> pl.DataFrame:
    """Summary of findings per comparison: each outcome of a ROBINS-I-appraised result, with its certainty."""
    from .fmt import reported_text

    names = {s.id: s.short_name for s in st.review.studies}
    rows = []
    for c in gr.comparisons(st.review, st.appraisals, st.rules) if st.rules else []:
        recs = st.review.outcomes.filter((pl.col("study") == c["study"]) & (pl.col("outcome") == c["outcome"]))
        arms = "; ".join(f"{r['arm_label']}: {reported_text(r)}" for r in recs.iter_rows(named=True)
                         if r["arm"] in {x.arm for x in c["records"]})
        rows.append({"comparison": f"{names[c['study']]}: {c['arms']}",
                     "outcome": st.plan.outcomes.get(c["outcome"]).label if c["outcome"] in st.plan.outcomes
                     else recs["outcome_label"][0],
                     "as reported": arms, "effect (recomputed)": c["effect"],
                     "risk of bias (ROBINS-I)": f"{c['robins_overall']} ({c['risk_of_bias']})",
                     "imprecision": f"{c['imprecision']}: {c['imprecision_reason']}",
                     "certainty": f"{SYMBOLS[LEVEL_OF[c['certainty']]]} {c['certainty']}"})
    return pl.DataFrame(rows)


def comparison_rule(st: State) -> str:
    """The rule of the per-comparison certainty, from the GRADE rules file (Markdown)."""
    text = st.rules.rationale.get("comparisons") if st.rules else None
    return f"**How certainty is rated for a comparison.** {md_cited(text)}" if text else ""

"""The methods chapter's analysis plan, rendered from ``data/analysis_plan.yaml``.

Every sentence about which figures enter which analysis and how they are pooled comes from the
plan file, so the methods text cannot drift from what the code does.  Reviewer prose from the
plan is escaped; only plain citation roles stay live (:func:`analysis.present.escape.md_cited`).
"""
from __future__ import annotations

import polars as pl

from ..review.plan import MODELS, Plan
from ..review.schema import OUTCOMES
from .escape import md, md_cited
from .tables import display_markdown, show


def plan_sections(plan: Plan) -> list[tuple[str, str]]:
    """(heading, Markdown body) for each part of the plan, in reading order."""
    p = plan.models.proportion
    lm = plan.models.landmark
    return [
        ("Review question", md(plan.question)),
        ("Population in the primary analysis",
         f"Arms whose population fit is {md(', '.join(plan.population.primary))}. {md_cited(plan.population.rationale)}"),
        ("Denominators",
         f"Primary: {md(', '.join(plan.denominators.primary))} patients; accepted in sensitivity analyses: "
         f"{md(', '.join(plan.denominators.sensitivity) or 'none')}. {md_cited(plan.denominators.rationale)}"),
        ("Overlapping series",
         f"Two series are one in the primary analysis when their recorded overlap is "
         f"{md(' or '.join(plan.overlap.primary))}, and in the sensitivity analysis without overlapping series "
         f"when it is {md(' or '.join(plan.overlap.sensitivity))}. Which series is kept: "
         f"{md(', then '.join(r.replace('_', '-') for r in plan.overlap.keep))}. {md_cited(plan.overlap.rationale)}"),
        ("Ambiguous figures",
         f"Figures flagged {md(', '.join(plan.ambiguous.flags))} enter only the analysis set that includes them. "
         f"{md_cited(plan.ambiguous.rationale)}"),
        ("Pooling single proportions",
         f"Primary model: {md(MODELS[p.primary])}, at {p.level:.0%} confidence; with fewer than {p.min_k} studies: "
         f"{md(MODELS[p.below_min_k])}. {md_cited(p.rationale)}"),
        ("Pooling landmark survival",
         f"Primary model: {md(MODELS[lm.primary])}; with fewer than {lm.min_k} studies no pooled estimate. "
         f"{md_cited(lm.rationale)}"),
        ("Intervals of single studies",
         f"{md(plan.models.study_ci.capitalize())} score interval. {md_cited(plan.models.study_ci_rationale)}"),
        ("Subgroups", md_cited(plan.subgroup_rationale)),
    ]


def analysis_sets(plan: Plan) -> pl.DataFrame:
    """The analysis sets: the primary analysis and every sensitivity analysis, with what each changes."""
    rows = []
    for s in plan.analysis_sets:
        changes = []
        if s.populations:
            changes.append(f"populations: {', '.join(s.populations)}")
        if s.publication_types:
            changes.append(f"publication types: {', '.join(s.publication_types)}")
        if s.overlap != "primary":
            changes.append(f"overlap: {' or '.join(getattr(plan.overlap, s.overlap))} series are one")
        if s.include_ambiguous:
            changes.append("ambiguous figures included")
        if s.definitions != "planned":
            changes.append("broad outcome definitions")
        if s.model:
            changes.append(f"model: {s.model}")
        if s.denominators != "primary":
            changes.append("sensitivity denominators accepted")
        rows.append({"analysis set": s.label, "what it changes": "; ".join(changes) or "(the plan's choices)",
                     "description": s.description})
    return pl.DataFrame(rows)


def outcome_definitions(plan: Plan) -> pl.DataFrame:
    """Each outcome: its definition, the recorded terms it counts, and those counted only broadly."""
    return pl.DataFrame([{
        "outcome": o.label, "main": "yes" if o.main else "", "definition": o.definition,
        "counts figures reported as": "; ".join(OUTCOMES[r][0] for r in o.records),
        "only in the broad-definitions set": "; ".join(OUTCOMES[r][0] for r in o.broad),
        "time": f"{o.time:g} {o.time_unit}" if o.time is not None else "",
    } for o in plan.outcomes.values()])


def subgroups(plan: Plan) -> pl.DataFrame:
    return pl.DataFrame([{"subgroup": sg.label, "description": sg.description} for sg in plan.subgroup_defs.values()])


def plan_section(plan: Plan) -> None:
    """Display the analysis plan: each choice with its rationale, then the sets, outcomes and subgroups."""
    for heading, body in plan_sections(plan):
        display_markdown(f"**{md(heading)}.** {body}")
    display_markdown("**Analysis sets.** Every pooled outcome is computed under each set; the forest plots let the "
                     "reader switch between them.")
    show(analysis_sets(plan), quote_columns=())
    display_markdown("**Outcomes and their definitions.**")
    show(outcome_definitions(plan), quote_columns=())
    display_markdown("**Subgroups.**")
    show(subgroups(plan), quote_columns=())

"""Which figure of which study enters an analysis: the analysis plan applied to the study files.

For one outcome of the plan and one analysis set, :func:`select` returns one row per study
that reports the outcome, with ``included`` and the ``reason`` when it is left out, so a
page can show both what was pooled and what was not, and why.  Studies are chosen by what
they report, never by name.

Steps (each a function below, each reading its choice from the plan):

1. :func:`records` -- the recorded figures that count as the outcome (the plan's ``records``,
   plus its ``broad`` terms in an analysis set with broad definitions), as crude proportions
   in intervention arms;
2. :func:`eligibility` -- a reason to leave each figure out, or none: an arm outside the set's
   populations, a denominator the set does not use, an ambiguous figure, a publication type
   the set does not include;
3. :func:`per_study` -- one figure per study: the arm that combines the others, else the only
   eligible arm, else the sum of arms with the same denominator kind; planned terms before
   broad ones, preferred denominators first;
4. :func:`resolve_overlap` -- per outcome, among the studies still in: a study that overlaps
   (at a likelihood the set treats as one series) a study already kept is left out; studies are
   considered in the order of the plan's ``keep`` rules (peer-reviewed first, then larger,
   then newer).
"""
from __future__ import annotations

import polars as pl

from ..stats import proportions
from .loading import Review
from .plan import AnalysisSet, Plan
from .schema import CHARACTERISTICS

#: subgroup value of a study row that combines arms coded differently
MIXED = "mixed"

_ROW_SCHEMA = {
    "study": pl.String, "label": pl.String, "arm": pl.String, "arm_label": pl.String, "events": pl.Int64,
    "denominator": pl.Int64, "denominator_kind": pl.String, "population_fit": pl.String,
    "publication_type": pl.String, "year": pl.Int64, "recorded_as": pl.String, "selection": pl.String,
    "flags": pl.String, "source": pl.String, "records": pl.List(pl.Int64), "reported_percent": pl.String,
    "reported_ci_low": pl.String, "reported_ci_high": pl.String, "included": pl.Boolean, "reason": pl.String,
    **{name: pl.String for name in CHARACTERISTICS}, "publication": pl.String,
    "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
}


def populations(plan: Plan, aset: AnalysisSet) -> list[str]:
    return aset.populations or plan.population.primary


def denominator_kinds(plan: Plan, aset: AnalysisSet) -> list[str]:
    """Denominator kinds the set accepts, in order of preference."""
    kinds = list(plan.denominators.primary)
    if aset.denominators == "sensitivity":
        kinds += [k for k in plan.denominators.sensitivity if k not in kinds]
    return kinds


def records(review: Review, plan: Plan, outcome: str, aset: AnalysisSet) -> pl.DataFrame:
    """Recorded crude proportions in intervention arms that count as the plan's ``outcome``."""
    o = plan.outcomes[outcome]
    names = list(o.records) + (list(o.broad) if aset.definitions == "broad" else [])
    return review.outcomes.filter(
        pl.col("outcome").is_in(names) & (pl.col("estimator") == "proportion") & (pl.col("role") == "intervention")
        & pl.col("events").is_not_null() & pl.col("denominator").is_not_null())


def eligibility(plan: Plan, aset: AnalysisSet, r: dict) -> str | None:
    """Why one recorded figure is left out of the set, or None when it may enter."""
    pops = populations(plan, aset)
    if r["population_fit"] not in pops:
        return f"arm outside the analysis population ({r['population_fit']}; the set uses {', '.join(pops)})"
    kinds = denominator_kinds(plan, aset)
    if r["denominator_kind"] not in kinds:
        return f"denominator of {r['denominator_kind']} patients (the set uses {', '.join(kinds)})"
    ambiguous = [f for f in (r["flags"] or "").split(", ") if f in plan.ambiguous.flags]
    if ambiguous and not aset.include_ambiguous:
        return f"figure recorded as ambiguous ({', '.join(ambiguous)})"
    if aset.publication_types is not None and r["publication_type"] not in aset.publication_types:
        return f"publication type {r['publication_type']} (the set uses {', '.join(aset.publication_types)})"
    return None


def _coded(review: Review, study_id: str, arm_ids: list[str]) -> dict[str, str | None]:
    """Subgroup values of a study row from its arms' coded characteristics (``mixed`` if they differ).

    A combined arm without its own coding is described by the arms it combines; a value no
    arm reports is None (not reported).
    """
    arms = {a.id: a for a in review.study(study_id).arms}
    arm_ids = [p for a in arm_ids for p in (arms[a].parts if arms[a].parts and not arms[a].characteristics else [a])]
    out: dict[str, str | None] = {}
    for name in CHARACTERISTICS:
        values = {arms[a].characteristics[name].value if name in arms[a].characteristics else None for a in arm_ids}
        out[name] = values.pop() if len(values) == 1 else (MIXED if None not in values else None)
    return out


def _publication(publication_type: str) -> str:
    return {"full_paper": "peer-reviewed article", "conference_abstract": "conference abstract"}.get(
        publication_type, "other report")


def _row(review: Review, recs: pl.DataFrame, selection: str) -> dict:
    first = recs.row(0, named=True)
    arm_ids = recs["arm"].to_list()
    study = review.study(first["study"])
    name = study.short_name
    single = recs.height == 1
    arms_in_study = [a for a in study.arms if a.role == "intervention" and not a.parts]
    label = name if single and (first["arm"] == "all" or len(arms_in_study) == 1) else f"{name}: {' + '.join(recs['arm_label'])}"
    return {
        "study": first["study"], "label": label, "arm": "+".join(arm_ids), "arm_label": " + ".join(recs["arm_label"]),
        "events": int(recs["events"].sum()), "denominator": int(recs["denominator"].sum()),
        "denominator_kind": first["denominator_kind"],
        "population_fit": "direct" if (recs["population_fit"] == "direct").all() else "partial",
        "publication_type": first["publication_type"], "year": first["year"],
        "recorded_as": ", ".join(dict.fromkeys(recs["outcome"])), "selection": selection,
        "flags": ", ".join(f for f in dict.fromkeys(", ".join(recs["flags"]).split(", ")) if f),
        "source": " / ".join(dict.fromkeys(recs["source"])), "records": recs["record"].to_list(),
        "reported_percent": first["percent"] if single else None,
        "reported_ci_low": first["ci_low"] if single else None, "reported_ci_high": first["ci_high"] if single else None,
        "included": True, "reason": None, **_coded(review, first["study"], arm_ids),
        "publication": _publication(first["publication_type"]),
    }


def per_study(review: Review, plan: Plan, outcome: str, eligible: pl.DataFrame, aset: AnalysisSet) -> list[dict]:
    """One row per study from its eligible figures (see the module docstring, step 3)."""
    planned = plan.outcomes[outcome].records
    kinds = denominator_kinds(plan, aset)
    rows = []
    for sid in sorted(eligible["study"].unique().to_list()):
        recs = eligible.filter(pl.col("study") == sid)
        # planned terms before broad ones; preferred denominator kinds first
        for subset in (recs.filter(pl.col("outcome").is_in(planned)), recs):
            if subset.height:
                recs = subset
                break
        best_kind = min(recs["denominator_kind"].to_list(), key=kinds.index)
        recs = recs.filter(pl.col("denominator_kind") == best_kind)
        combined = recs.filter(pl.col("combined_arm"))
        recs = recs.unique("arm", keep="first", maintain_order=True)
        if combined.height:
            rows.append(_row(review, combined.head(1), f"combined arm ({combined['arm_label'][0]})"))
        elif recs.height == 1:
            rows.append(_row(review, recs, "single record"))
        else:
            rows.append(_row(review, recs, f"summed over arms: {' + '.join(recs['arm_label'])}"))
    return rows


def _priority(plan: Plan, row: dict) -> tuple:
    """Sort key of a study under the plan's overlap ``keep`` rules (smaller sorts first)."""
    key = []
    for rule in plan.overlap.keep:
        if rule == "peer_reviewed":
            key.append(0 if row["publication_type"] == "full_paper" else 1)
        elif rule == "larger":
            key.append(-row["denominator"])
        elif rule == "newer":
            key.append(-(row["year"] or 0))
    return (*key, row["study"])


def _keep_reason(plan: Plan, kept: dict, dropped: dict) -> str:
    """The first keep rule that separates two overlapping series, in words."""
    for rule in plan.overlap.keep:
        if rule == "peer_reviewed" and (kept["publication_type"] == "full_paper") != (dropped["publication_type"] == "full_paper"):
            return "kept the peer-reviewed article"
        if rule == "larger" and kept["denominator"] != dropped["denominator"]:
            return "kept the larger series"
        if rule == "newer" and kept["year"] != dropped["year"]:
            return "kept the newer report"
    return "kept the first by study id"


def resolve_overlap(review: Review, plan: Plan, rows: list[dict], aset: AnalysisSet) -> list[dict]:
    """Leave out a study that overlaps one already kept (module docstring, step 4); marks rows in place."""
    levels = set(getattr(plan.overlap, aset.overlap))
    links: dict[str, dict[str, str]] = {}
    for s in review.studies:
        for ov in s.overlap:
            if ov.likelihood in levels:
                links.setdefault(s.id, {})[ov.study] = ov.likelihood
                links.setdefault(ov.study, {})[s.id] = ov.likelihood
    kept: list[dict] = []
    for row in sorted((r for r in rows if r["included"]), key=lambda r: _priority(plan, r)):
        clash = next((k for k in kept if k["study"] in links.get(row["study"], {})), None)
        if clash is None:
            kept.append(row)
        else:
            row["included"] = False
            row["reason"] = (f"{links[row['study']][clash['study']]} overlap with {clash['study']} "
                             f"({_keep_reason(plan, clash, row)})")
    return rows


def select(review: Review, plan: Plan, outcome: str, aset: AnalysisSet | str = "primary") -> pl.DataFrame:
    """The studies that report ``outcome`` under analysis set ``aset``: included or not, and why.

    Returns one row per study (columns in ``_ROW_SCHEMA``): the figure it contributes (summed
    events and denominator), how it was chosen (``selection``), ``included`` and ``reason``, the
    printed percentage and CI when the row is a single printed figure, its subgroup values, and
    its crude proportion with the plan's study-level interval (``estimate``, ``ci_low``,
    ``ci_high``).  Included rows come first, in study order.
    """
    aset = plan.analysis_set(aset) if isinstance(aset, str) else aset
    recs = records(review, plan, outcome, aset)
    reasons = [eligibility(plan, aset, r) for r in recs.iter_rows(named=True)]
    recs = recs.with_columns(reason=pl.Series(reasons, dtype=pl.String))
    eligible = recs.filter(pl.col("reason").is_null())
    rows = resolve_overlap(review, plan, per_study(review, plan, outcome, eligible, aset), aset)
    for sid in sorted(set(recs["study"]) - set(eligible["study"])):
        left = recs.filter(pl.col("study") == sid)
        row = _row(review, left.head(1), "not selected")
        row.update(included=False, reason=left["reason"][0])
        rows.append(row)
    if not rows:
        return pl.DataFrame(schema=_ROW_SCHEMA)
    df = pl.DataFrame(rows, schema={k: v for k, v in _ROW_SCHEMA.items() if k not in ("estimate", "ci_low", "ci_high")})
    lo, hi = proportions.ci(df["events"].to_numpy(), df["denominator"].to_numpy(), plan.models.study_ci)
    df = df.with_columns(estimate=df["events"] / df["denominator"], ci_low=pl.Series(lo, dtype=pl.Float64),
                         ci_high=pl.Series(hi, dtype=pl.Float64))
    return df.sort(["included", "study"], descending=[True, False])

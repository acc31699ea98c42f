"""The study-file model: field vocabularies, the declared schema, and the semantic checks.

A study file (``data/studies/<id>.yaml``) is parsed into :class:`Study`.  Two layers of
checking produce :class:`Problem` records, each naming the file, the study and the field
path, e.g. ``data/studies/zhang2021.yaml: zhang2021: outcomes[3].events: 50 is larger than
denominator 43``:

1. *structure* -- pydantic validation of types, required fields, vocabularies and unknown
   fields (``extra="forbid"``);
2. *meaning* -- :func:`check_study`: arm references, events within denominators, printed
   percentages that some integer count can produce (GRIM-style, via
   :func:`analysis.stats.proportions.counts_from_percent`), confidence limits around their
   estimate, estimators allowed for each outcome.

Every number in a study file lives in an object that carries a ``source`` quote, so a
number without provenance is a schema error, not a convention.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# --------------------------------------------------------------------------- vocabularies

#: outcome name -> (label, category, allowed estimators)
OUTCOMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cr": ("Complete remission (CR/CRi)", "response", ("proportion",)),
    "mrd_negative_cr": ("MRD-negative complete remission", "response", ("proportion",)),
    "orr": ("Overall response", "response", ("proportion",)),
    "metabolic_cr": ("Complete metabolic remission (PET-CT)", "response", ("proportion",)),
    "crs_any": ("CRS, any grade", "safety", ("proportion",)),
    "crs_grade1": ("CRS, grade 1 (maximum)", "safety", ("proportion",)),
    "crs_grade2": ("CRS, grade 2 (maximum)", "safety", ("proportion",)),
    "crs_grade3plus": ("CRS, grade 3 or higher", "safety", ("proportion",)),
    "icans_any": ("ICANS / neurotoxicity, any grade", "safety", ("proportion",)),
    "icans_grade3plus": ("ICANS / neurotoxicity, grade 3 or higher", "safety", ("proportion",)),
    "gvhd_any": ("GVHD (type not stated), any grade", "safety", ("proportion",)),
    "agvhd_any": ("Acute GVHD, any grade", "safety", ("proportion",)),
    "agvhd_grade3plus": ("Acute GVHD, grade 3-4 (III-IV)", "safety", ("proportion",)),
    "death_treatment_related": ("Treatment-related death", "safety", ("proportion",)),
    "death_any": ("Death, any cause (during reported follow-up)", "survival", ("proportion",)),
    "relapse": ("Relapse (during reported follow-up)", "survival", ("proportion",)),
    "second_hsct": ("Bridged to a second allo-HSCT", "course", ("proportion",)),
    "repeat_dosing": ("Repeat CAR-T dosing", "course", ("proportion",)),
    "lost_to_follow_up": ("Lost to follow-up", "course", ("proportion",)),
    "os": ("Overall survival", "survival", ("km_landmark", "km_median", "descriptive_median")),
    "efs": ("Event-free survival", "survival", ("km_landmark", "km_median", "descriptive_median", "proportion")),
    "lfs": ("Leukaemia-free survival", "survival", ("km_landmark", "km_median", "descriptive_median")),
    "cir": ("Cumulative incidence of relapse", "survival", ("cumulative_incidence",)),
    "cr_duration": ("Duration of complete remission", "survival", ("km_median", "descriptive_median")),
    "time_to_death": ("Time to death among those who died", "survival", ("descriptive_median",)),
}

ESTIMATORS = {
    "proportion": "crude proportion: events / denominator",
    "km_landmark": "Kaplan-Meier estimate at a landmark time",
    "km_median": "Kaplan-Meier median",
    "descriptive_median": "median (range) of observed times, not a Kaplan-Meier median",
    "cumulative_incidence": "cumulative incidence at a landmark time (competing risks)",
}
DenominatorKind = Literal["enrolled", "leukapheresed", "infused", "evaluable", "in_cr", "subgroup"]
Estimator = Literal["proportion", "km_landmark", "km_median", "descriptive_median", "cumulative_incidence"]

#: grading scales per domain ("not_reported" when the report does not name one)
SCALES: dict[str, tuple[str, ...]] = {
    "crs": ("Lee2014", "ASTCT2019", "CTCAEv5", "CTCAEv4", "Penn", "MSKCC", "not_reported"),
    "icans": ("ASTCT2019", "CTCAEv5", "CTCAEv4", "CARTOX", "not_reported"),
    "gvhd": ("MAGIC", "Glucksberg", "IBMTR", "NIH2014", "CTCAEv5", "not_reported"),
}
SCALE_DOMAIN = {"crs": "crs", "icans": "icans", "gvhd": "gvhd", "agvhd": "gvhd"}

PublicationType = Literal["full_paper", "conference_abstract", "secondary_report"]
Design = Literal["prospective_trial", "retrospective_series", "comparative_cohort"]
DonorType = Literal["matched_sibling", "haploidentical", "unrelated", "related_unspecified", "unknown"]
PopulationFit = Literal["direct", "partial", "outside"]
FlagKind = Literal[
    "percent_not_reproducible",  # a printed percentage no integer count of the denominator gives
    "denominator_unclear",
    "ambiguous_wording",
    "typo",
    "inconsistent",
    "secondary_source",
    "indirect_population",
    "incomplete_citation",
    "not_reported",
]
OverlapLikelihood = Literal["possible", "probable", "confirmed"]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"

# --------------------------------------------------------------------------- field types


def _printed(value: object) -> str:
    """Keep a number exactly as printed (``"23.07"``), accepting YAML ints/floats too."""
    if isinstance(value, bool):
        raise ValueError("expected a number as printed, got a boolean")
    if isinstance(value, (int, float)):
        value = repr(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a number as printed, got {type(value).__name__}")
    try:
        Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    return value.strip()


Printed = Annotated[str, BeforeValidator(_printed)]
Quote = Annotated[str, Field(min_length=3)]


def decimals(printed: str) -> int:
    """Number of decimals of a printed number: ``decimals("23.07") == 2``."""
    return len(printed.split(".")[1]) if "." in printed else 0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Count(_Model):
    """A reported integer and the sentence it comes from."""

    value: int
    source: Quote
    note: str | None = None


class Summary(_Model):
    """A reported median (or single value) with range, unit and the sentence it comes from."""

    median: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str
    of: str | None = Field(None, description="whom the summary describes, e.g. 'survivors'")
    source: Quote
    note: str | None = None

    def text(self) -> str:
        """As a reader reads it: ``median 19 (range 3–61) years, all 37 patients``."""
        s = f"median {self.median:g}" if self.median is not None else ""
        if self.low is not None or self.high is not None:
            s += f" (range {'?' if self.low is None else f'{self.low:g}'}–{'?' if self.high is None else f'{self.high:g}'})"
        s = f"{s} {self.unit}".strip()
        return s + (f", {self.of}" if self.of else "")


class Flag(_Model):
    kind: FlagKind
    note: str


class StudyFlag(_Model):
    kind: FlagKind
    field: str
    note: str
    source: Quote | None = None


class Citation(_Model):
    authors: list[str]
    et_al: bool = False
    year: int
    title: str
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    registry: list[str] = []
    bibkey: str
    note: str | None = None


class Extraction(_Model):
    document: str = Field(description="file name of the source document in shared/seeds")
    what: str = Field(description="what the document is, e.g. 'PubMed abstract page'")
    related: list[str] = Field([], description="other reports of the same study, cited for context")


class Period(_Model):
    start: str | None = Field(None, pattern=r"^\d{4}(-\d{2})?$")
    end: str | None = Field(None, pattern=r"^\d{4}(-\d{2})?$")
    source: Quote


class Text(_Model):
    value: str
    source: Quote


class Diagnosis(_Model):
    diagnosis: str
    count: int
    source: Quote


class Population(_Model):
    n_enrolled: Count | None = None
    n_leukapheresed: Count | None = None
    n_infused: Count | None = None
    n_evaluable: Count | None = None
    age: Summary | None = None
    diagnoses: list[Diagnosis] = []
    disease_burden: list["Measure"] = []


class Lymphodepletion(_Model):
    regimen: str
    source: Quote


class Arm(_Model):
    id: str = Field(pattern=ID_PATTERN)
    label: str
    n: Count
    role: Literal["intervention", "comparator"]
    intervention: str
    lymphodepletion: Lymphodepletion | None = None
    population_fit: PopulationFit
    population_note: str | None = None
    parts: list[str] = Field([], description="arm ids this arm combines (e.g. all patients of a two-arm trial)")


class DonorCount(_Model):
    arm: str
    type: DonorType
    count: int
    source: Quote


class Construct(_Model):
    target: list[str]
    costimulatory_domain: str | None = None
    generation: str | None = None
    source: Quote
    note: str | None = None


class Grading(_Model):
    crs: str = "not_reported"
    icans: str = "not_reported"
    gvhd: str = "not_reported"
    source: Quote | None = None
    note: str | None = None


class CI(_Model):
    low: Printed
    high: Printed
    level: float = 95


class Outcome(_Model):
    outcome: str
    arm: str
    estimator: Estimator = "proportion"
    events: int | None = None
    denominator: int | None = None
    denominator_kind: DenominatorKind | None = None
    percent: Printed | None = None
    ci: CI | None = None
    time: float | None = None
    time_unit: Literal["days", "months", "years"] | None = None
    median: float | None = None
    range_low: float | None = None
    range_high: float | None = None
    window: str | None = Field(None, description="assessment window as reported, e.g. 'within 30 days'")
    scale: str | None = None
    source: Quote
    note: str | None = None
    flags: list[Flag] = []


class Measure(_Model):
    """Any other reported number (cell kinetics, disease burden, time to peak)."""

    name: str
    arm: str | None = None
    statistic: Literal["median", "mean", "count", "value", "percent"] = "median"
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str
    source: Quote
    note: str | None = None


class Comparison(_Model):
    """A between-group test the report prints (its p-value as printed)."""

    outcome: str
    groups: list[str] = Field(min_length=2, max_length=2)
    p_value: Printed
    test: str | None = Field(None, description="test named by the report; null when not stated")
    source: Quote
    note: str | None = None


class ReconstructionInput(_Model):
    """What a report says about event times, beyond its landmark figures, for one survival outcome.

    Used by :func:`analysis.synthesis.reconstructions` together with the study's landmark
    records and follow-up to rebuild pseudo individual-patient data.
    """

    outcome: str
    arm: str
    time_unit: Literal["days", "months", "years"]
    event_times: list[float] = []
    n_events: int | None = None
    source: Quote
    note: str | None = None


class Overlap(_Model):
    study: str
    likelihood: OverlapLikelihood
    reason: str


class Study(_Model):
    id: str = Field(pattern=ID_PATTERN)
    short_name: str
    citation: Citation
    publication_type: PublicationType
    extracted_from: Extraction
    design: Design
    phase: str | None = None
    centres: Count | None = None
    country: Text | None = None
    enrolment_period: Period | None = None
    population: Population
    arms: list[Arm] = Field(min_length=1)
    donor_types: list[DonorCount] = []
    car_construct: Construct | None = None
    dose: Summary | None = None
    follow_up: Summary | None = None
    grading: Grading
    outcomes: list[Outcome] = []
    comparisons: list[Comparison] = []
    measures: list[Measure] = []
    reconstruction: list[ReconstructionInput] = []
    overlap: list[Overlap] = []
    flags: list[StudyFlag] = []


Population.model_rebuild()


class Release(_Model):
    """One version of the review in ``data/changelog.yaml``."""

    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    changes: list[str] = Field(min_length=1)

# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One validation problem, printed as ``file: study: field: message``."""

    file: str
    study: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.study}: {self.field}: {self.message}"


def field_path(loc: tuple) -> str:
    """Render a pydantic location tuple as ``outcomes[3].events``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _num(x: str | float) -> str:
    d = Decimal(str(x))
    return str(int(d)) if d == d.to_integral_value() else str(d)


def check_study(study: Study) -> list[tuple[str, str]]:
    """Semantic checks of one study; returns ``(field path, message)`` pairs.

    Rules
    -----
    * arm ids unique; every ``arm`` reference (outcomes, donor types, measures, comparison
      groups, ``parts``) names a declared arm;
    * outcome names, estimators and grading scales come from the vocabularies above;
    * counts are non-negative, events <= denominator <= the arm's n;
    * a printed percentage must be produced by ``events/denominator`` at the printed
      precision, or (without events) by *some* integer count of the denominator
      (:func:`analysis.stats.proportions.counts_from_percent`) -- unless the record carries a
      ``percent_not_reproducible`` flag explaining why (Hua 2020's "23.07 %" of 13);
    * printed confidence limits bracket the estimate; landmark estimators need a time and
      unit; descriptive medians need a median.
    """
    from .stats.proportions import counts_from_percent  # local: keeps schema import-light

    problems: list[tuple[str, str]] = []
    add = lambda path, msg: problems.append((path, msg))  # noqa: E731

    arm_ids = [a.id for a in study.arms]
    arms = {a.id: a for a in study.arms}
    for i, arm in enumerate(study.arms):
        if arm_ids.count(arm.id) > 1 and arm_ids.index(arm.id) != i:
            add(f"arms[{i}].id", f"duplicate arm id {arm.id!r}")
        if arm.n.value < 0:
            add(f"arms[{i}].n.value", f"{arm.n.value} is negative")
        for j, part in enumerate(arm.parts):
            if part not in arms:
                add(f"arms[{i}].parts[{j}]", f"unknown arm {part!r} (declared: {', '.join(arm_ids)})")

    def known_arm(path: str, arm: str | None) -> bool:
        if arm is not None and arm not in arms:
            add(path, f"unknown arm {arm!r} (declared: {', '.join(arm_ids)})")
            return False
        return True

    for i, d in enumerate(study.donor_types):
        known_arm(f"donor_types[{i}].arm", d.arm)
        if d.count < 0:
            add(f"donor_types[{i}].count", f"{d.count} is negative")
    for i, m in enumerate(study.measures):
        known_arm(f"measures[{i}].arm", m.arm)
    for i, c in enumerate(study.comparisons):
        if c.outcome not in OUTCOMES and not any(m.name == c.outcome for m in study.measures):
            add(f"comparisons[{i}].outcome", f"unknown outcome or measure {c.outcome!r}")
        for j, g in enumerate(c.groups):
            known_arm(f"comparisons[{i}].groups[{j}]", g)
    for domain in ("crs", "icans", "gvhd"):
        value = getattr(study.grading, domain)
        if value not in SCALES[domain]:
            add(f"grading.{domain}", f"unknown {domain.upper()} grading scale {value!r} "
                f"(known: {', '.join(SCALES[domain])})")
    for i, rc in enumerate(study.reconstruction):
        if rc.outcome not in OUTCOMES or OUTCOMES[rc.outcome][1] != "survival":
            add(f"reconstruction[{i}].outcome", f"{rc.outcome!r} is not a time-to-event outcome")
        known_arm(f"reconstruction[{i}].arm", rc.arm)
        if rc.n_events is not None and rc.n_events < len(rc.event_times):
            add(f"reconstruction[{i}].n_events", f"{rc.n_events} is fewer than the {len(rc.event_times)} event times given")
        if any(t < 0 for t in rc.event_times):
            add(f"reconstruction[{i}].event_times", "negative time")
    for i, ov in enumerate(study.overlap):
        if ov.study == study.id:
            add(f"overlap[{i}].study", "a study cannot overlap with itself")
    pop = study.population
    for name in ("n_enrolled", "n_leukapheresed", "n_infused", "n_evaluable"):
        c = getattr(pop, name)
        if c is not None and c.value < 0:
            add(f"population.{name}.value", f"{c.value} is negative")

    for i, o in enumerate(study.outcomes):
        p = f"outcomes[{i}]"
        if o.outcome not in OUTCOMES:
            add(f"{p}.outcome", f"unknown outcome {o.outcome!r} (known: {', '.join(OUTCOMES)})")
            continue
        allowed = OUTCOMES[o.outcome][2]
        if o.estimator not in allowed:
            add(f"{p}.estimator", f"{o.estimator!r} is not an estimator for {o.outcome!r} "
                f"(allowed: {', '.join(allowed)})")
        if not known_arm(f"{p}.arm", o.arm):
            continue
        if o.scale is not None:
            domain = SCALE_DOMAIN.get(o.outcome.split("_")[0])
            if domain is None or o.scale not in SCALES[domain]:
                add(f"{p}.scale", f"unknown grading scale {o.scale!r} for {o.outcome!r}")
        flagged = {f.kind for f in o.flags}
        for name in ("events", "denominator"):
            v = getattr(o, name)
            if v is not None and v < 0:
                add(f"{p}.{name}", f"{v} is negative")
        ev, den = o.events, o.denominator
        if den is not None and den == 0:
            add(f"{p}.denominator", "is zero")
            continue
        if ev is not None and den is not None and ev > den >= 0:
            add(f"{p}.events", f"{ev} is larger than denominator {den}")
        if den is not None and den > arms[o.arm].n.value >= 0:
            add(f"{p}.denominator", f"{den} is larger than the arm's n {arms[o.arm].n.value} ({o.arm})")
        if o.estimator == "proportion" and ev is not None and den is None:
            add(f"{p}.denominator", "a proportion needs a denominator")
        if den is not None and o.denominator_kind is None:
            add(f"{p}.denominator_kind", "missing: say whether the denominator is enrolled, infused, evaluable, in CR ...")
        pct = Decimal(o.percent) if o.percent is not None else None
        if pct is not None and not (0 <= pct <= 100):
            add(f"{p}.percent", f"{o.percent} is outside 0-100")
            pct = None
        if (pct is not None and o.estimator == "proportion" and den is not None and den > 0
                and (ev is None or 0 <= ev <= den)):
            ks = counts_from_percent(o.percent, den, decimals(o.percent))
            explained = "percent_not_reproducible" in flagged
            if ev is not None and ev not in ks and not explained:
                add(f"{p}.percent", f"{o.percent}% is not {ev}/{den} "
                    f"(= {100 * ev / den:.{decimals(o.percent) + 2}f}%) at the printed precision")
            elif ev is None and not ks and not explained:
                add(f"{p}.percent", f"no integer count of {den} gives {o.percent}% at "
                    f"{decimals(o.percent)} decimals")
            elif explained and ks and (ev is None or ev in ks):
                add(f"{p}.flags", "flagged percent_not_reproducible, but the percentage is reproducible")
        if o.ci is not None:
            lo, hi = Decimal(o.ci.low), Decimal(o.ci.high)
            if lo > hi:
                add(f"{p}.ci", f"lower limit {o.ci.low} is above upper limit {o.ci.high}")
            elif pct is not None and not (lo <= pct <= hi):
                add(f"{p}.ci", f"({o.ci.low}, {o.ci.high}) does not contain the estimate {o.percent}")
        if o.estimator in ("km_landmark", "cumulative_incidence"):
            if o.time is None or o.time_unit is None:
                add(f"{p}.time", f"a {o.estimator} estimate needs the landmark time and time_unit")
            if o.percent is None:
                add(f"{p}.percent", f"a {o.estimator} estimate needs the printed percentage")
        if o.estimator in ("descriptive_median", "km_median") and o.median is None and "not_reported" not in flagged:
            add(f"{p}.median", f"a {o.estimator} needs the median (or a not_reported flag, e.g. 'not reached')")
        if o.median is not None and o.time_unit is None:
            add(f"{p}.time_unit", "a median needs its time_unit")
        if (o.range_low is not None and o.range_high is not None and o.median is not None
                and not (o.range_low <= o.median <= o.range_high)):
            add(f"{p}.median", f"{_num(o.median)} is outside its range {_num(o.range_low)}-{_num(o.range_high)}")
    return problems

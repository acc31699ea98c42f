"""The study-file model: field vocabularies, the declared schema, and the semantic checks.

A study file (``data/studies/<id>.yaml``) is parsed into :class:`Study`.  Two layers of
checking produce :class:`Problem` records, each naming the file, the study and the field
path, e.g. ``data/studies/zhang2021.yaml: zhang2021: outcomes[3].events: 50 is larger than
denominator 43``:

1. *structure* -- pydantic validation of types, required fields, vocabularies and unknown
   fields (``extra="forbid"``);
2. *meaning* -- :func:`analysis.review.checks.check_study`: arm references, events within denominators, printed
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
    "icans_any": ("ICANS, any grade", "safety", ("proportion",)),
    "icans_grade3plus": ("ICANS, grade 3 or higher", "safety", ("proportion",)),
    "neurotox_any": ("Neurotoxicity (not reported as ICANS), any grade", "safety", ("proportion",)),
    "neurotox_grade3plus": ("Neurotoxicity (not reported as ICANS), grade 3 or higher", "safety", ("proportion",)),
    "gvhd_any": ("GVHD (type not stated), any grade", "safety", ("proportion",)),
    "gvhd_grade3plus": ("GVHD (type not stated), grade 3 or higher", "safety", ("proportion",)),
    "agvhd_any": ("Acute GVHD, any grade", "safety", ("proportion",)),
    "agvhd_grade3plus": ("Acute GVHD, grade 3-4 (III-IV)", "safety", ("proportion",)),
    "death_treatment_related": ("Treatment-related death (as the report attributes it)", "safety", ("proportion",)),
    "death_nonrelapse": ("Non-relapse death (any cause other than relapse)", "safety", ("proportion",)),
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
SCALE_DOMAIN = {"crs": "crs", "icans": "icans", "neurotox": "icans", "gvhd": "gvhd", "agvhd": "gvhd"}

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
    "lower_bound",  # a count the report may under-ascertain (e.g. only some deaths attributed)
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
    bibkey: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_:-]*$", description="BibTeX key; also used in a MyST citation role")
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


#: coded characteristics of an arm, used by the subgroup analyses of the plan: name -> allowed values
CHARACTERISTICS: dict[str, tuple[str, ...]] = {
    "age_group": ("children", "adults", "mixed"),
    "donor": ("matched", "haploidentical", "mixed"),
    "lymphodepletion": ("fludarabine_based", "other", "none", "mixed"),
    "prior_cd19_therapy": ("none", "some", "all"),
    "disease_burden": ("morphological", "mrd_only", "mixed"),
}


class Coded(_Model):
    """A characteristic coded by the reviewer, with the quote it rests on or the reasoning."""

    value: str
    source: Quote | None = None
    note: str | None = Field(None, description="how the value follows from the report when it is not stated outright")


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
    characteristics: dict[str, Coded] = Field({}, description="coded characteristics (see CHARACTERISTICS); absent = not reported")


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

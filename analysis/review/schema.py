"""The study-file model: field vocabularies, the declared schema, and the problem record.

A study file (``data/studies/<id>.yaml``) is parsed into :class:`Study`.  Two layers of
checking produce :class:`Problem` records, each naming the file, the study and the field
path, e.g. ``data/studies/zhang2021.yaml: zhang2021: outcomes[3].events: 50 is larger than
denominator 43``:

1. *structure* -- pydantic validation of types, required fields, vocabularies and unknown
   fields (``extra="forbid"``).  Types are strict: a count is an integer and nothing else
   (``true``, ``34.0`` and ``"34"`` are refused, not converted), a boolean is ``true`` or
   ``false``, a time or age is a finite number, and a printed percentage, confidence limit or
   p-value is a quoted decimal in plain notation, kept exactly as printed;
2. *meaning* -- :func:`analysis.review.checks.check_study`: arm references, counts within
   bounds and denominators, printed percentages that some integer count can produce
   (GRIM-style, :func:`analysis.stats.grim.count_interval`), confidence limits around their
   estimate, ranges, landmark monotonicity, grades on their scale, estimators allowed for each
   outcome.

Reading the files and the checks across studies are in :mod:`analysis.review.validation`.

Every number in a study file lives in an object that carries a ``source`` quote, so a
number without provenance is a schema error, not a convention.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool, StrictInt

from .versions import Release  # noqa: F401 - the changelog model, part of the schema's API

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
#: a BibTeX citation key: letters, digits and ``_ : -`` only (no spaces, commas or braces)
BIBKEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_:-]*$"
#: the largest count (of patients, centres, donors) a study file may hold: a larger number is a typo
MAX_COUNT = 1_000_000

#: grading scale -> highest grade of its ordinal scale (grades run from 1); used when a record
#: names the grades it counts (``Outcome.grades``)
SCALE_MAX_GRADE: dict[str, int] = {
    "Lee2014": 5, "ASTCT2019": 4, "CTCAEv5": 5, "CTCAEv4": 5, "Penn": 5, "MSKCC": 4, "CARTOX": 4,
    "MAGIC": 4, "Glucksberg": 4, "IBMTR": 4, "NIH2014": 3,
}
#: outcome -> the grades its name fixes (lowest, highest or None for "and higher")
OUTCOME_GRADES: dict[str, tuple[int, int | None]] = {
    "crs_grade1": (1, 1), "crs_grade2": (2, 2), "crs_grade3plus": (3, None),
    "icans_grade3plus": (3, None), "agvhd_grade3plus": (3, None),
}

# --------------------------------------------------------------------------- field types


_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _printed(value: object) -> str:
    """Keep a number exactly as printed (``"23.07"``): a quoted, finite decimal in plain notation.

    A YAML number is refused rather than converted, because conversion loses what was printed
    (``23.10`` would become ``"23.1"``); ``"NaN"``, ``"Infinity"``, ``"1e3"``, ``"0x10"``,
    ``" 12 "``, ``"12%"`` and ``"-0"`` are refused because a report prints none of them as a
    percentage, a confidence limit or a p-value.
    """
    if isinstance(value, bool):
        raise ValueError("expected a number as printed, in quotes (e.g. \"23.07\"), got a boolean")
    if isinstance(value, (int, float)):
        raise ValueError("write the number as printed, in quotes (e.g. \"23.07\"), so its decimals are kept")
    if not isinstance(value, str):
        raise ValueError(f"expected a number as printed, in quotes, got {type(value).__name__}")
    if not _PLAIN_NUMBER.fullmatch(value):
        raise ValueError(f"{short(value)} is not a non-negative number in plain notation "
                         "(digits with an optional decimal point, e.g. \"23.07\")")
    return value


def _level(value: float) -> float:
    """A confidence level as a percentage: ``0.95`` and ``95`` are both stored as ``95.0``."""
    if 0 < value < 1:
        return float(Decimal(repr(value)) * 100)
    if 1 <= value < 100:
        return value
    raise ValueError(f"{value:g} is not a confidence level: give it in (0, 1) or (0, 100), e.g. 0.95 or 95")


#: counts are integers and nothing else: ``true``, ``34.0`` and ``"34"`` are refused, not converted
Int = StrictInt
#: booleans are ``true``/``false`` and nothing else
Bool = StrictBool
#: a measured quantity (time, age, dose): a finite YAML number, never a string or a boolean
Number = Annotated[float, Strict(), AllowInfNan(False)]
Printed = Annotated[str, BeforeValidator(_printed)]
Level = Annotated[float, Strict(), AllowInfNan(False), AfterValidator(_level)]
Quote = Annotated[str, Field(min_length=3)]


def short(value: object, width: int = 60) -> str:
    """A bounded ``repr`` for messages: never walks a (possibly aliased, huge) YAML tree or prints
    an integer of thousands of digits."""
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'} of {len(value)} item(s)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * width:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, str) and len(value) > width:
        return repr(value[:width]) + "..."
    text = repr(value)
    return text if len(text) <= width + 5 else text[:width] + "..."


def decimals(printed: str) -> int:
    """Number of decimals of a printed number: ``decimals("23.07") == 2``."""
    return len(printed.split(".")[1]) if "." in printed else 0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Count(_Model):
    """A reported integer and the sentence it comes from."""

    value: Int
    source: Quote
    note: str | None = None


class Summary(_Model):
    """A reported median (or single value) with range, unit and the sentence it comes from."""

    median: Number | None = None
    low: Number | None = None
    high: Number | None = None
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
    authors: list[str] = Field(min_length=1)
    et_al: Bool = False
    year: Int
    title: str
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = Field(None, pattern=r"^10\.[0-9]{4,9}/[^\s{}]+$")
    pmid: str | None = Field(None, pattern=r"^[0-9]{1,9}$")
    registry: list[str] = []
    bibkey: str = Field(pattern=BIBKEY_PATTERN, description="BibTeX key; also used in a MyST citation role")
    note: str | None = None


SourcePart = Literal["abstract", "full_text", "conference_abstract", "secondary_report"]


class Extraction(_Model):
    """The document the study's numbers were read from: every ``source`` quote is a fragment of it."""

    identifier: str = Field(min_length=3, description="how to find the document: 'PMID 33077866', "
                            "'doi:10.1182/...', 'https://...', or 'seed:<file>' for a file in shared/seeds")
    part: SourcePart = Field(description="which part of the report was read")
    document: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                                 description="file name of a local copy in the shared seeds folder, if any")
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
    count: Int
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
    count: Int
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
    level: Level = Field(95.0, description="confidence level in percent; 0.95 is read as 95")


class GradeRange(_Model):
    """The grades a record counts when the report names them (e.g. 'grade 1-2' -> low 1, high 2)."""

    low: Int
    high: Int | None = Field(None, description="null for 'and higher'")


class Outcome(_Model):
    outcome: str
    arm: str
    estimator: Estimator = "proportion"
    events: Int | None = None
    denominator: Int | None = None
    denominator_kind: DenominatorKind | None = None
    percent: Printed | None = None
    ci: CI | None = None
    time: Number | None = None
    time_unit: Literal["days", "months", "years"] | None = None
    median: Number | None = None
    range_low: Number | None = None
    range_high: Number | None = None
    window: str | None = Field(None, description="assessment window as reported, e.g. 'within 30 days'")
    scale: str | None = None
    grades: GradeRange | None = Field(None, description="grades counted, when the report names them")
    source: Quote
    note: str | None = None
    flags: list[Flag] = []


class Measure(_Model):
    """Any other reported number (cell kinetics, disease burden, time to peak)."""

    name: str
    arm: str | None = None
    statistic: Literal["median", "mean", "count", "value", "percent"] = "median"
    value: Number | None = None
    low: Number | None = None
    high: Number | None = None
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

    Used by :func:`analysis.review.survival.reconstructions` together with the study's landmark
    records and follow-up to rebuild pseudo individual-patient data.
    """

    outcome: str
    arm: str
    time_unit: Literal["days", "months", "years"]
    event_times: list[Number] = []
    n_events: Int | None = None
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


def texts(obj: object, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Every text of a validated study (or part of one): ``(field path, field name, text)``."""
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            where = f"{path}.{name}" if path else name
            value = getattr(obj, name)
            if isinstance(value, str):
                yield where, name, value
            else:
                yield from texts(value, where)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            if isinstance(value, str):
                yield f"{path}[{i}]", path.rsplit(".", 1)[-1], value
            else:
                yield from texts(value, f"{path}[{i}]")


def field_path(loc: tuple) -> str:
    """Render a pydantic location tuple as ``outcomes[3].events``.

    A key that is not a plain name (a misspelt field with a space or a line break, a number, a
    date) is shown quoted in brackets, ``outcomes[0]['evnets\\n']``, so a problem stays one line.
    """
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,80}", part):
            out += ("." if out else "") + part
        else:
            out += f"[{short(part)}]"
    return out or "(top level)"

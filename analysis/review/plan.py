"""The analysis plan (``data/analysis_plan.yaml``): which figures enter which analysis, and how.

The plan is data: the synthesis reads it and never hard-codes a choice, and the methods
chapter renders it.  :func:`load_plan` validates it like a study file (pydantic for structure,
then cross-checks against the study-file vocabularies) and reports every problem as a
``file: -: field: message`` line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .loading import DATA_DIR
from .validation import DataError, display, pydantic_message, read_yaml
from .schema import OUTCOMES, DenominatorKind, FlagKind, OverlapLikelihood, Problem, PopulationFit, PublicationType, field_path

PLAN_FILE = "analysis_plan.yaml"

ProportionModel = Literal["glmm", "logit_reml"]
LandmarkModel = Literal["cloglog_reml"]

#: model key -> what the model is, as a caption or methods text names it (here, beside the keys
#: the plan may name, so that the methods page needs no statistics: :mod:`.pooling` fits them)
MODELS = {
    "glmm": "random-intercept logistic model (binomial-normal GLMM, maximum likelihood)",
    "logit_reml": "random-effects model of logit proportions (REML, inverse variance, 0.5 added to zero cells)",
    "crude_exact": "crude pooled count with an exact (Clopper-Pearson) interval; not a random-effects estimate",
    "cloglog_reml": "random-effects model of landmark survival on the complementary log-log scale (REML)",
    "none": "not pooled",
}
KeepRule = Literal["peer_reviewed", "larger", "newer"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Population(_Model):
    primary: list[PopulationFit] = Field(min_length=1)
    rationale: str


class Denominators(_Model):
    primary: list[DenominatorKind] = Field(min_length=1)
    sensitivity: list[DenominatorKind] = []
    rationale: str


class Overlap(_Model):
    primary: list[OverlapLikelihood]
    sensitivity: list[OverlapLikelihood]
    keep: list[KeepRule] = Field(min_length=1)
    rationale: str


class Ambiguous(_Model):
    flags: list[FlagKind] = Field(min_length=1)
    rationale: str


class _Pooling(_Model):
    """What every pooling choice states: the fewest studies to pool, the confidence level, why."""

    min_k: int = Field(ge=2)
    level: float = Field(gt=0, lt=1)
    rationale: str


class ProportionModels(_Pooling):
    primary: ProportionModel
    below_min_k: Literal["crude_exact"]


class LandmarkModels(_Pooling):
    primary: LandmarkModel
    below_min_k: Literal["none"]


class Models(_Model):
    proportion: ProportionModels
    landmark: LandmarkModels
    study_ci: Literal["wilson", "clopper-pearson", "jeffreys", "agresti-coull"]
    study_ci_rationale: str


class AnalysisSet(_Model):
    """One way of selecting the figures; fields left out take the primary analysis's choice."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    description: str
    populations: list[PopulationFit] | None = None
    publication_types: list[PublicationType] | None = None
    overlap: Literal["primary", "sensitivity"] = "primary"
    include_ambiguous: bool = False
    definitions: Literal["planned", "broad"] = "planned"
    model: ProportionModel | None = None
    denominators: Literal["primary", "sensitivity"] = "primary"


class Subgroup(_Model):
    label: str
    description: str


class Outcome(_Model):
    label: str
    category: Literal["response", "safety", "survival"]
    main: bool
    definition: str
    records: list[str] = Field(min_length=1)
    broad: list[str] = []
    kind: Literal["proportion", "landmark"] = "proportion"
    time: float | None = Field(None, gt=0)
    time_unit: Literal["days", "weeks", "months", "years"] | None = None


class Chapter(_Model):
    title: str
    intro: str


class Plan(_Model):
    version: str
    question: str
    population: Population
    denominators: Denominators
    overlap: Overlap
    ambiguous: Ambiguous
    models: Models
    analysis_sets: list[AnalysisSet] = Field(min_length=1)
    subgroups: dict[str, Subgroup | int | str]
    outcomes: dict[str, Outcome] = Field(min_length=1)
    chapters: dict[Literal["response", "safety", "survival"], Chapter]

    @property
    def primary(self) -> AnalysisSet:
        """The first analysis set, which is the primary analysis."""
        return self.analysis_sets[0]

    def analysis_set(self, set_id: str) -> AnalysisSet:
        for s in self.analysis_sets:
            if s.id == set_id:
                return s
        raise KeyError(f"no analysis set {set_id!r} in the plan (known: {', '.join(s.id for s in self.analysis_sets)})")

    @property
    def subgroup_defs(self) -> dict[str, Subgroup]:
        """The subgroup variables (the ``subgroups`` mapping without its settings)."""
        return {k: v for k, v in self.subgroups.items() if isinstance(v, Subgroup)}

    @property
    def subgroup_min_studies(self) -> int:
        value = self.subgroups.get("min_studies", 2)
        return value if isinstance(value, int) else 2

    @property
    def subgroup_rationale(self) -> str:
        value = self.subgroups.get("rationale", "")
        return value if isinstance(value, str) else ""


#: subgroup variables the synthesis knows how to derive from a study's arms
SUBGROUP_VARIABLES = ("age_group", "donor", "lymphodepletion", "publication")


def check_plan(plan: Plan) -> list[tuple[str, str]]:
    """Cross-checks of a parsed plan against the study-file vocabularies."""
    problems = []
    add = lambda path, msg: problems.append((path, msg))  # noqa: E731
    if plan.primary.id != "primary":
        add("analysis_sets[0].id", f"the first analysis set is the primary analysis and must be called 'primary', not {plan.primary.id!r}")
    ids = [s.id for s in plan.analysis_sets]
    for i, sid in enumerate(ids):
        if ids.index(sid) != i:
            add(f"analysis_sets[{i}].id", f"duplicate analysis set {sid!r}")
    for key, value in plan.subgroups.items():
        if isinstance(value, Subgroup) and key not in SUBGROUP_VARIABLES:
            add(f"subgroups.{key}", f"unknown subgroup variable (known: {', '.join(SUBGROUP_VARIABLES)})")
        elif not isinstance(value, Subgroup) and key not in ("min_studies", "rationale"):
            add(f"subgroups.{key}", "expected a subgroup (label, description), min_studies or rationale")
    for name, o in plan.outcomes.items():
        path = f"outcomes.{name}"
        for field in ("records", "broad"):
            for j, rec in enumerate(getattr(o, field)):
                if rec not in OUTCOMES:
                    add(f"{path}.{field}[{j}]", f"unknown recorded outcome {rec!r} (see the study-file vocabulary)")
        if o.kind == "landmark" and (o.time is None or o.time_unit is None):
            add(f"{path}.time", "a landmark outcome needs its time and time_unit")
        if o.kind == "proportion" and (o.time is not None or o.time_unit is not None):
            add(f"{path}.time", "only landmark outcomes have a time")
        if o.category not in plan.chapters:
            add(f"{path}.category", f"no chapter for category {o.category!r} (chapters: {', '.join(plan.chapters)})")
    return problems


def load_plan(directory: Path | str | None = None) -> Plan:
    """Read and validate ``analysis_plan.yaml``; raise :class:`DataError` listing every problem."""
    path = (Path(directory) if directory is not None else DATA_DIR) / PLAN_FILE
    shown = display(path)
    if not path.is_file():
        raise DataError([Problem(shown, "-", "(file)", "the analysis plan is missing")])
    raw, problems = read_yaml(path)
    if problems:
        raise DataError(problems)
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        raise DataError([Problem(shown, "-", field_path(e["loc"]), pydantic_message(e)) for e in exc.errors()]) from None
    problems = check_plan(plan)
    if problems:
        raise DataError([Problem(shown, "-", f, m) for f, m in problems])
    return plan

"""Load ``data/`` into validated models and polars frames.

>>> review = load()                       # every data/studies/*.yaml, validated
>>> review.studies_table                  # one row per study
>>> review.outcomes                       # one row per reported figure (long format)

Loading never raises a deep traceback: every problem in every file is collected and raised
together as :class:`DataError`, one line per problem naming the file, the study id and the
field path (see :class:`analysis.review.schema.Problem`).  Results are cached by the content hash
of the files, so notebooks can call :func:`load` freely and a data change is always seen.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl
import yaml
from pydantic import ValidationError

from . import schema
from .checks import check_study
from .schema import OUTCOMES, Problem, Study

#: the repository's data directory; override with the REVIEW_DATA_DIR environment variable
DATA_DIR = Path(os.environ.get("REVIEW_DATA_DIR", Path(__file__).resolve().parents[2] / "data"))


class DataError(ValueError):
    """Invalid study data; ``problems`` lists every problem found, one per line in ``str``."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate mapping keys (PyYAML keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _display(path: Path) -> str:
    """Path as the user should read it: relative to the current directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _pydantic_message(err: dict) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"{value!r} is not one of {err['ctx']['expected']}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not match the pattern {err['ctx']['pattern']}"
    if kind in ("int_parsing", "int_type", "int_from_float", "float_parsing", "float_type"):
        return f"expected a {'whole ' if kind.startswith('int') else ''}number, got {value!r}"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{msg} (got {value!r})" if value is not None and not isinstance(value, (dict, list)) else msg


def parse_study(path: Path) -> tuple[Study | None, list[Problem]]:
    """Read and validate one study file; returns the study (or None) and its problems."""
    shown = _display(path)
    stem = path.stem
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(shown, stem, "(file)", f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start]:#04x})")]
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(shown, stem, where, f"YAML syntax error: {what}")]
    if not isinstance(raw, dict):
        return None, [Problem(shown, stem, "(top level)", "expected a mapping of fields")]
    sid = raw.get("id") if isinstance(raw.get("id"), str) else stem
    problems: list[Problem] = []
    if raw.get("id") != stem:
        problems.append(Problem(shown, sid, "id", f"{raw.get('id')!r} does not match the file name {stem!r}"))
    try:
        study = Study.model_validate(raw)
    except ValidationError as exc:
        problems += [Problem(shown, sid, schema.field_path(e["loc"]), _pydantic_message(e)) for e in exc.errors()]
        return None, problems
    problems += [Problem(shown, sid, f, m) for f, m in check_study(study)]
    return (study if not problems else None), problems


def _files(directory: Path) -> list[Path]:
    studies = directory / "studies" if (directory / "studies").is_dir() else directory
    return sorted(studies.glob("*.yaml"))


def _hash(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def validate(directory: Path | str | None = None) -> tuple[list[Study], list[Problem]]:
    """Parse every study file under ``directory`` and run the cross-study checks."""
    directory = Path(directory) if directory is not None else DATA_DIR
    files = _files(directory)
    if not files:
        return [], [Problem(_display(directory), "-", "(directory)", "no study files (*.yaml) found")]
    studies: list[Study] = []
    problems: list[Problem] = []
    first_file: dict[str, str] = {}
    for f in files:
        study, probs = parse_study(f)
        problems += probs
        if study is None:
            continue
        if study.id in first_file:
            problems.append(Problem(_display(f), study.id, "id", f"duplicate study id (also in {first_file[study.id]})"))
            continue
        first_file[study.id] = _display(f)
        studies.append(study)
    known = {s.id for s in studies}
    for s in studies:
        for i, ov in enumerate(s.overlap):
            if ov.study not in known:
                problems.append(Problem(first_file[s.id], s.id, f"overlap[{i}].study", f"unknown study {ov.study!r}"))
    return studies, problems


_CACHE: dict[tuple[str, str], "Review"] = {}


def load(directory: Path | str | None = None) -> "Review":
    """Load and validate every study; raise :class:`DataError` listing all problems.

    Cached by the SHA-256 of the files' names and contents.
    """
    directory = Path(directory) if directory is not None else DATA_DIR
    key = (str(directory.resolve()), _hash(_files(directory)))
    if key not in _CACHE:
        studies, problems = validate(directory)
        if problems:
            raise DataError(problems)
        _CACHE[key] = Review(directory=directory, studies=studies)
    return _CACHE[key]


@dataclass(frozen=True)
class Review:
    """All validated studies, with tabular views (polars) built on first use."""

    directory: Path
    studies: list[Study] = field(default_factory=list)

    def study(self, study_id: str) -> Study:
        for s in self.studies:
            if s.id == study_id:
                return s
        raise KeyError(f"no study {study_id!r} in {self.directory} (known: {', '.join(self.ids)})")

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.studies]

    @cached_property
    def studies_table(self) -> pl.DataFrame:
        """One row per study: design, publication type, population, follow-up, scales."""
        rows = []
        for s in self.studies:
            pop = s.population
            rows.append({
                "study": s.id,
                "short_name": s.short_name,
                "year": s.citation.year,
                "publication_type": s.publication_type,
                "design": s.design,
                "centres": s.centres.value if s.centres else None,
                "country": s.country.value if s.country else None,
                "period_start": s.enrolment_period.start if s.enrolment_period else None,
                "period_end": s.enrolment_period.end if s.enrolment_period else None,
                "n_enrolled": pop.n_enrolled.value if pop.n_enrolled else None,
                "n_infused": pop.n_infused.value if pop.n_infused else None,
                "age_median": pop.age.median if pop.age else None,
                "age_low": pop.age.low if pop.age else None,
                "age_high": pop.age.high if pop.age else None,
                "follow_up_median": s.follow_up.median if s.follow_up else None,
                "follow_up_unit": s.follow_up.unit if s.follow_up else None,
                "crs_scale": s.grading.crs,
                "icans_scale": s.grading.icans,
                "gvhd_scale": s.grading.gvhd,
                "population_fit": _worst_fit(s),
                "overlaps_with": ", ".join(o.study for o in s.overlap),
                "bibkey": s.citation.bibkey,
            })
        return pl.DataFrame(rows)

    @cached_property
    def arms(self) -> pl.DataFrame:
        """One row per arm, with its role and how well its population fits the review question."""
        return pl.DataFrame([{
            "study": s.id, "arm": a.id, "arm_label": a.label, "n": a.n.value, "role": a.role,
            "intervention": a.intervention, "population_fit": a.population_fit,
            "lymphodepletion": a.lymphodepletion.regimen if a.lymphodepletion else None,
            "combined": bool(a.parts), "parts": ",".join(a.parts), "source": a.n.source,
        } for s in self.studies for a in s.arms])

    @cached_property
    def outcomes(self) -> pl.DataFrame:
        """Long table: one row per reported figure, with its estimator, denominator and quote."""
        rows = []
        for s in self.studies:
            arms = {a.id: a for a in s.arms}
            for i, o in enumerate(s.outcomes):
                arm = arms[o.arm]
                domain = schema.SCALE_DOMAIN.get(o.outcome.split("_")[0])
                rows.append({
                    "study": s.id, "record": i, "outcome": o.outcome, "outcome_label": OUTCOMES[o.outcome][0],
                    "category": OUTCOMES[o.outcome][1], "arm": o.arm, "arm_label": arm.label,
                    "role": arm.role, "population_fit": arm.population_fit, "combined_arm": bool(arm.parts),
                    "estimator": o.estimator, "events": o.events, "denominator": o.denominator,
                    "denominator_kind": o.denominator_kind, "percent": o.percent,
                    "percent_decimals": schema.decimals(o.percent) if o.percent is not None else None,
                    "ci_low": o.ci.low if o.ci else None, "ci_high": o.ci.high if o.ci else None,
                    "ci_level": o.ci.level if o.ci else None,
                    "time": o.time, "time_unit": o.time_unit, "median": o.median,
                    "range_low": o.range_low, "range_high": o.range_high, "window": o.window,
                    "scale": o.scale or (getattr(s.grading, domain) if domain else None),
                    "flags": ", ".join(f.kind for f in o.flags), "flag_notes": " ".join(f.note for f in o.flags),
                    "note": o.note, "source": o.source,
                    "publication_type": s.publication_type, "design": s.design, "year": s.citation.year,
                })
        return pl.DataFrame(rows, infer_schema_length=None)

    @cached_property
    def flags(self) -> pl.DataFrame:
        """Every recorded problem of the source data: study-level and per-figure flags, overlaps."""
        rows = [{"study": s.id, "field": f.field, "kind": f.kind, "note": f.note, "source": f.source}
                for s in self.studies for f in s.flags]
        rows += [{"study": s.id, "field": f"outcomes[{i}] ({o.outcome}, {o.arm})", "kind": f.kind,
                  "note": f.note, "source": o.source}
                 for s in self.studies for i, o in enumerate(s.outcomes) for f in o.flags]
        rows += [{"study": s.id, "field": f"overlap[{i}]", "kind": f"{ov.likelihood} overlap with {ov.study}",
                  "note": ov.reason, "source": None}
                 for s in self.studies for i, ov in enumerate(s.overlap)]
        return pl.DataFrame(rows, schema={"study": pl.String, "field": pl.String, "kind": pl.String,
                                          "note": pl.String, "source": pl.String})


def changelog(directory: Path | str | None = None) -> list[schema.Release]:
    """Versions of the review, newest first, from ``data/changelog.yaml`` (validated)."""
    path = (Path(directory) if directory is not None else DATA_DIR) / "changelog.yaml"
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    if not isinstance(raw, list):
        raise DataError([Problem(_display(path), "-", "(top level)", "expected a list of releases")])
    releases, problems = [], []
    for i, entry in enumerate(raw):
        try:
            releases.append(schema.Release.model_validate(entry))
        except ValidationError as exc:
            problems += [Problem(_display(path), "-", f"[{i}].{schema.field_path(e['loc'])}", _pydantic_message(e))
                         for e in exc.errors()]
    if problems:
        raise DataError(problems)
    return releases


def harmonisation(directory: Path | str | None = None) -> pl.DataFrame:
    """The toxicity-category mapping of ``data/harmonisation.yaml`` (domain, category, scales, defensible, note)."""
    path = (Path(directory) if directory is not None else DATA_DIR) / "harmonisation.yaml"
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    rows, problems = [], []
    known = {s for scales in schema.SCALES.values() for s in scales}
    for i, r in enumerate(raw or []):
        missing = {"domain", "category", "scales", "defensible", "note"} - set(r)
        if missing:
            problems.append(Problem(_display(path), "-", f"[{i}]", f"missing {', '.join(sorted(missing))}"))
            continue
        for j, sc in enumerate(r["scales"]):
            if sc not in known:
                problems.append(Problem(_display(path), "-", f"[{i}].scales[{j}]", f"unknown grading scale {sc!r}"))
        rows.append({**r, "scales": ", ".join(r["scales"])})
    if problems:
        raise DataError(problems)
    return pl.DataFrame(rows)


def _worst_fit(s: Study) -> str:
    fits = [a.population_fit for a in s.arms if a.role == "intervention"]
    return "direct" if all(f == "direct" for f in fits) else ("partial" if "partial" in fits else "mixed")


#: the helpers other readers of data/ files share (the analysis plan, records, appraisal)
UniqueKeyLoader = _UniqueKeyLoader
display_path = _display
pydantic_message = _pydantic_message

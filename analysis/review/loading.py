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
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from . import schema, validation
from .schema import OUTCOMES, Problem, Study
from .validation import DataError, display, parse_study, pydantic_message, read_yaml  # noqa: F401 - the loading API

if TYPE_CHECKING:
    import polars as pl

#: the repository's data directory; override with the REVIEW_DATA_DIR environment variable
DATA_DIR = Path(os.environ.get("REVIEW_DATA_DIR", Path(__file__).resolve().parents[2] / "data"))


def validate(directory: Path | str | None = None) -> tuple[list[Study], list[Problem]]:
    """Validate every study file of ``directory`` (default :data:`DATA_DIR`): see
    :func:`analysis.review.validation.validate`."""
    return validation.validate(Path(directory) if directory is not None else DATA_DIR)


#: SHA-256 of each file's bytes, by path and stat signature (see :func:`_file_hash`)
_FILE_HASHES: dict[tuple, str] = {}


def _file_hash(f: Path) -> str:
    """SHA-256 of a file's bytes, read again only when its stat signature changed.

    The signature holds the modification and status-change times in nanoseconds, the size
    and the inode: any write changes the status-change time (which no program can set back),
    so a changed file is read again.  File times are coarse (a few milliseconds), so two writes
    in quick succession can leave the same signature: a file changed in the last two seconds is
    always read (git's "racy" rule).  A notebook calls :func:`load` once or more, and a warm
    kernel runs hundreds of notebooks: without this, each call read every study file.
    """
    st = f.stat()
    sig = (str(f), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
    if sig in _FILE_HASHES:
        return _FILE_HASHES[sig]
    digest = hashlib.sha256(f.read_bytes()).hexdigest()
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > 2_000_000_000:
        _FILE_HASHES[sig] = digest
    return digest


def _hash(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(_file_hash(f).encode())
    return h.hexdigest()


_CACHE: dict[tuple[str, str], "Review"] = {}


def load(directory: Path | str | None = None) -> "Review":
    """Load and validate every study; raise :class:`DataError` listing all problems.

    Cached by the SHA-256 of the files' names and contents.
    """
    directory = Path(directory) if directory is not None else DATA_DIR
    try:
        key = (str(directory.resolve()), _hash(validation.study_files(directory)[0]))
    except OSError:  # an unreadable file: validation names it (file, study, field), no cache entry
        key = None
    if key is None or key not in _CACHE:
        studies, problems = validate(directory)
        if problems:
            raise DataError(problems)
        review = Review(directory=directory, studies=studies)
        if key is None:
            return review
        _CACHE[key] = review
    return _CACHE[key]


@dataclass(frozen=True)
class Review:
    """All validated studies, with tabular views (polars) built on first use."""

    directory: Path
    studies: list[Study] = field(default_factory=list)

    def study(self, study_id: str) -> Study:
        try:
            return self._by_id[study_id]
        except KeyError:
            raise KeyError(f"no study {study_id!r} in {self.directory} (known: {', '.join(self.ids)})") from None

    @cached_property
    def _by_id(self) -> dict[str, Study]:
        index: dict[str, Study] = {}
        for s in self.studies:
            index.setdefault(s.id, s)  # the first, as a search in order would find
        return index

    @cached_property
    def memo(self) -> dict:
        """Results derived from this review alone, kept for the review's lifetime by the functions
        that compute them (e.g. :func:`analysis.review.survival.reconstructions`), keyed by them."""
        return {}

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.studies]

    @cached_property
    def studies_table(self) -> pl.DataFrame:
        """One row per study: design, publication type, population, follow-up, scales."""
        import polars as pl  # on first use: loading the data does not need it

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
        import polars as pl  # on first use: loading the data does not need it

        return pl.DataFrame([{
            "study": s.id, "arm": a.id, "arm_label": a.label, "n": a.n.value, "role": a.role,
            "intervention": a.intervention, "population_fit": a.population_fit,
            "lymphodepletion": a.lymphodepletion.regimen if a.lymphodepletion else None,
            "combined": bool(a.parts), "parts": ",".join(a.parts), "source": a.n.source,
        } for s in self.studies for a in s.arms])

    @cached_property
    def outcomes(self) -> pl.DataFrame:
        """Long table: one row per reported figure, with its estimator, denominator and quote."""
        import polars as pl  # on first use: loading the data does not need it

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
        import polars as pl  # on first use: loading the data does not need it

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


def _read_list(path: Path, what: str) -> list:
    """A data file holding a YAML list; :class:`DataError` (one problem line) when it is anything else."""
    raw, problems = read_yaml(path)
    if not problems and not isinstance(raw, list):
        problems = [Problem(display(path), "-", "(top level)", f"expected a list of {what}")]
    if problems:
        raise DataError(problems)
    return raw


def changelog(directory: Path | str | None = None) -> list[schema.Release]:
    """Versions of the review, newest first, from ``data/changelog.yaml`` (validated)."""
    path = (Path(directory) if directory is not None else DATA_DIR) / "changelog.yaml"
    releases, problems = [], []
    for i, entry in enumerate(_read_list(path, "releases")):
        try:
            releases.append(schema.Release.model_validate(entry))
        except ValidationError as exc:
            problems += [Problem(display(path), "-", f"[{i}].{schema.field_path(e['loc'])}", pydantic_message(e))
                         for e in exc.errors()]
    if problems:
        raise DataError(problems)
    return releases


def harmonisation(directory: Path | str | None = None) -> pl.DataFrame:
    """The toxicity-category mapping of ``data/harmonisation.yaml`` (domain, category, scales, defensible, note)."""
    import polars as pl  # on first use: loading the data does not need it

    path = (Path(directory) if directory is not None else DATA_DIR) / "harmonisation.yaml"
    rows, problems = [], []
    known = {s for scales in schema.SCALES.values() for s in scales}
    fields = {"domain", "category", "scales", "defensible", "note"}
    for i, r in enumerate(_read_list(path, "mappings")):
        if not isinstance(r, dict) or set(r) != fields or not isinstance(r["scales"], list):
            problems.append(Problem(display(path), "-", f"[{i}]", f"expected a mapping of {', '.join(sorted(fields))} "
                                    "with a list of scales"))
            continue
        for j, sc in enumerate(r["scales"]):
            if sc not in known:
                problems.append(Problem(display(path), "-", f"[{i}].scales[{j}]", f"unknown grading scale {schema.short(sc)}"))
        rows.append({**r, "scales": ", ".join(map(str, r["scales"]))})
    if problems:
        raise DataError(problems)
    return pl.DataFrame(rows)


def _worst_fit(s: Study) -> str:
    fits = [a.population_fit for a in s.arms if a.role == "intervention"]
    return "direct" if all(f == "direct" for f in fits) else ("partial" if "partial" in fits else "mixed")

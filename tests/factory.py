"""Shared test data: a minimal valid study, writers, and the frozen fixture copy of the review."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import yaml

from analysis.review import loading as data
from analysis.review.appraisal import JBI_ITEMS

ROOT = Path(__file__).resolve().parents[1]
#: a frozen copy of today's data/ (tests/fixtures/review/README.md): tests that assert figures run on it
FIXTURE = ROOT / "tests" / "fixtures" / "review"

MINIMAL = {
    "id": "demo2024",
    "short_name": "Demo 2024",
    "citation": {"authors": ["Doe J"], "year": 2024, "title": "A demo", "bibkey": "demo2024"},
    "publication_type": "full_paper",
    "extracted_from": {"identifier": "seed:demo.txt", "part": "abstract", "what": "abstract"},
    "design": "retrospective_series",
    "population": {"n_infused": {"value": 43, "source": "43 subjects were infused"}},
    "arms": [{"id": "all", "label": "All", "n": {"value": 43, "source": "43 subjects were infused"},
              "role": "intervention", "intervention": "donor CAR-T", "population_fit": "direct"}],
    "grading": {"crs": "ASTCT2019"},
    "outcomes": [
        {"outcome": "cr", "arm": "all", "events": 34, "denominator": 43, "denominator_kind": "infused",
         "percent": "79", "ci": {"low": "66", "high": "92"}, "source": "34 subjects (79%) achieved CR"},
    ],
}


#: libyaml's emitter and parser where installed (the validator reads files with libyaml too): the
#: same tree as the pure-Python pair, 25 ms faster per copy of a study -- the property tests copy
#: hundreds
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def module_from_file(path: Path, name: str) -> ModuleType:
    """A fresh module object executed from ``path`` (a tool or Sphinx extension outside the package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def copy(obj):
    """A deep copy of a study dict (through YAML, as a file would give it)."""
    return yaml.load(yaml.dump(obj, Dumper=_DUMPER), Loader=_LOADER)  # noqa: S506 - a safe loader


def write(tmp_path: Path, study: dict, name: str | None = None) -> Path:
    """Write ``study`` as ``tmp_path/studies/<name or id>.yaml``."""
    d = tmp_path / "studies"
    d.mkdir(exist_ok=True)
    path = d / f"{name or study['id']}.yaml"
    path.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems_for(tmp_path: Path, study: dict) -> list[str]:
    """The problem lines of validating ``study`` alone."""
    write(tmp_path, study)
    _, problems = data.validate(tmp_path)
    return [str(p) for p in problems]


def with_outcome(**changes) -> dict:
    """:data:`MINIMAL` with its one outcome record changed."""
    study = copy(MINIMAL)
    study["outcomes"][0].update(changes)
    return study


def copy_review(tmp_path: Path) -> Path:
    """A writable copy of the fixture review under ``tmp_path/data``."""
    shutil.copytree(FIXTURE, tmp_path / "data")
    return tmp_path / "data"


def _jbi(answers: str) -> dict:
    """Ten answers as a JBI block ("YYUUYYYYU-" -> q1..q10, "-" for NA), quotes where the rules need them."""
    items = {}
    for q, a in zip(JBI_ITEMS, answers):
        a = {"-": "NA"}.get(a, a)
        items[q] = {"answer": a, "justification": f"Justification of {q} for the test."}
        if a in ("Y", "N"):
            items[q]["quote"] = "a quote of the report"
    return items


def write_appraisals(data, answers: dict[str, str]) -> None:
    """Write ``data/appraisal/<study>.yaml`` with the JBI answers given per study (see :func:`_jbi`)."""
    folder = data / "appraisal"
    folder.mkdir(exist_ok=True)
    for sid, a in answers.items():
        doc = {"study": sid, "date": "2026-01-01", "assessed_on": "abstract", "jbi": _jbi(a)}
        (folder / f"{sid}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

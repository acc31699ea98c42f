"""Chapters written once: study chapters from one template, outcome chapters from the plan.

``book/_templates/study.ipynb`` is the one study chapter.  :func:`sync` writes, for every study
file in ``data/studies/``, the template with ``__STUDY_ID__`` and ``__TITLE__`` filled in (the
title escaped for Markdown), and for every chapter of the analysis plan
(``book/synthesis/<category>.ipynb``) a title, the plan's introduction and one section per
outcome of that category.  A notebook whose cell sources already match keeps its stored
outputs; chapters whose study file is gone are removed.  ``python -m analysis execute`` runs it
before executing, so a template or plan change reaches every chapter; a test asserts that every
chapter equals what :func:`sync` would write.
"""
from __future__ import annotations

import json
from pathlib import Path

from .present.escape import md
from .review.plan import Plan
from .review.schema import Study

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "book" / "_templates" / "study.ipynb"
#: the skeleton of a study data file written by ``python -m analysis new-study <id>``
SKELETON = ROOT / "book" / "_templates" / "study.yaml"
STUDIES = ROOT / "book" / "studies"
SYNTHESIS = ROOT / "book" / "synthesis"

_KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
           "language_info": {"name": "python"}}
_SETUP = """from analysis.present import synthesis as page
from analysis.review.loading import load
from analysis.review.plan import load_plan

review = load()
plan = load_plan()
page.chapter_preamble(review, plan, {category!r})"""


def render(study_id: str, title: str, template: Path = TEMPLATE) -> dict:
    """The chapter notebook of one study (outputs empty), as an nbformat-4 dict."""
    nb = json.loads(template.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        src = "".join(cell["source"]).replace("__STUDY_ID__", study_id).replace("__TITLE__", md(title))
        cell["source"] = src.splitlines(keepends=True)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def _cell(kind: str, source: str, hide: bool = False) -> dict:
    cell = {"cell_type": kind, "metadata": {"tags": ["hide-input"]} if hide else {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def render_chapter(category: str, plan: Plan) -> dict:
    """The synthesis chapter of one outcome category: title, introduction, one section per outcome."""
    ch = plan.chapters[category]
    cells = [_cell("markdown", f"# {md(ch.title)}\n\n{md(ch.intro)}"),
             _cell("code", _SETUP.format(category=category), hide=True)]
    for oid, o in plan.outcomes.items():
        if o.category == category:
            cells.append(_cell("markdown", f"## {md(o.label)}"))
            cells.append(_cell("code", f"page.outcome_section(review, {oid!r}, plan)", hide=True))
    for i, cell in enumerate(cells):
        cell["id"] = f"{category}-{i}"  # nbformat 4.5 ids, stable so that regenerating changes no byte
    return {"cells": cells, "metadata": _KERNEL, "nbformat": 4, "nbformat_minor": 5}


def _sources(nb: dict) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def dumps(nb: dict) -> str:
    """Notebook JSON as nbformat writes it (one-space indent, trailing newline)."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _write(path: Path, nb: dict, changed: list[str]) -> None:
    """Write ``nb`` unless the file already has the same cell sources (its outputs are then kept)."""
    if path.exists() and _sources(json.loads(path.read_text(encoding="utf-8"))) == _sources(nb):
        return
    path.write_text(dumps(nb), encoding="utf-8")
    changed.append(f"wrote {path}")


def sync(studies: list[Study], plan: Plan | None = None, directory: Path = STUDIES, template: Path = TEMPLATE,
         synthesis: Path = SYNTHESIS) -> list[str]:
    """Make ``directory`` hold exactly one chapter per study, equal to the template, and write the
    plan's outcome chapters into ``synthesis``.

    Returns the messages of what changed (``wrote …``, ``removed …``); a chapter whose cell
    sources already match keeps its file (and stored outputs) untouched.
    """
    directory.mkdir(parents=True, exist_ok=True)
    changed: list[str] = []
    wanted = {s.id: s for s in studies}
    for s in studies:
        _write(directory / f"{s.id}.ipynb", render(s.id, s.short_name, template), changed)
    for category in (plan.chapters if plan else {}):
        _write(synthesis / f"{category}.ipynb", render_chapter(category, plan), changed)
    for path in sorted(directory.glob("*.ipynb")):
        if path.stem not in wanted:
            path.unlink()
            changed.append(f"removed {path} (no data/studies/{path.stem}.yaml)")
    return changed


def mismatches(studies: list[Study], plan: Plan | None = None, directory: Path = STUDIES,
               template: Path = TEMPLATE, synthesis: Path = SYNTHESIS) -> list[str]:
    """Chapters that differ from what :func:`sync` would write, or that are missing or orphaned."""
    out = []
    for category in (plan.chapters if plan else {}):
        path = synthesis / f"{category}.ipynb"
        if not path.exists() or _sources(json.loads(path.read_text(encoding="utf-8"))) != _sources(render_chapter(category, plan)):
            out.append(f"{path}: differs from the analysis plan's chapter (run `python -m analysis execute`)")
    ids = {s.id for s in studies}
    for s in studies:
        path = directory / f"{s.id}.ipynb"
        if not path.exists():
            out.append(f"{path}: missing (run `python -m analysis execute`)")
        elif _sources(json.loads(path.read_text(encoding="utf-8"))) != _sources(render(s.id, s.short_name, template)):
            out.append(f"{path}: differs from {template.name} (run `python -m analysis execute`)")
    out += [f"{p}: no study file data/studies/{p.stem}.yaml" for p in sorted(directory.glob("*.ipynb"))
            if p.stem not in ids]
    return out

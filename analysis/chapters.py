"""Study chapters written once: every ``book/studies/<id>.ipynb`` is the template with its id.

``book/_templates/study.ipynb`` is the one study chapter.  :func:`sync` writes, for every study
file in ``data/studies/``, the template with ``__STUDY_ID__`` and ``__TITLE__`` filled in (the
title escaped for Markdown), keeping a notebook's stored outputs only when its cell sources did
not change, and removes chapters whose study file is gone.  ``python -m analysis execute`` runs
it before executing, so a template change reaches every study; a test asserts that every
chapter equals the template for its study.
"""
from __future__ import annotations

import json
from pathlib import Path

from .present.escape import md
from .review.schema import Study

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "book" / "_templates" / "study.ipynb"
#: the skeleton of a study data file written by ``python -m analysis new-study <id>``
SKELETON = ROOT / "book" / "_templates" / "study.yaml"
STUDIES = ROOT / "book" / "studies"


def render(study_id: str, title: str, template: Path = TEMPLATE) -> dict:
    """The chapter notebook of one study (outputs empty), as an nbformat-4 dict."""
    nb = json.loads(template.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        src = "".join(cell["source"]).replace("__STUDY_ID__", study_id).replace("__TITLE__", md(title))
        cell["source"] = src.splitlines(keepends=True)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def _sources(nb: dict) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def dumps(nb: dict) -> str:
    """Notebook JSON as nbformat writes it (one-space indent, trailing newline)."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def sync(studies: list[Study], directory: Path = STUDIES, template: Path = TEMPLATE) -> list[str]:
    """Make ``directory`` hold exactly one chapter per study, equal to the template.

    Returns the messages of what changed (``wrote …``, ``removed …``); a chapter whose cell
    sources already match keeps its file (and stored outputs) untouched.
    """
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    wanted = {s.id: s for s in studies}
    for s in studies:
        path = directory / f"{s.id}.ipynb"
        nb = render(s.id, s.short_name, template)
        if path.exists() and _sources(json.loads(path.read_text(encoding="utf-8"))) == _sources(nb):
            continue
        path.write_text(dumps(nb), encoding="utf-8")
        changed.append(f"wrote {path}")
    for path in sorted(directory.glob("*.ipynb")):
        if path.stem not in wanted:
            path.unlink()
            changed.append(f"removed {path} (no data/studies/{path.stem}.yaml)")
    return changed


def mismatches(studies: list[Study], directory: Path = STUDIES, template: Path = TEMPLATE) -> list[str]:
    """Chapters that differ from the template for their study, or that are missing or orphaned."""
    out = []
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

"""Reading the review's other data files (records, appraisal, protocol) into validated models.

Every problem becomes a :class:`~analysis.review.schema.Problem` line, ``file: -: field:
message``, never a traceback: the YAML is read by :func:`analysis.review.validation.read_yaml`
(size limit, UTF-8, duplicate keys refused) and validated by pydantic.
"""
from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .schema import Problem, field_path
from .validation import display, pydantic_message, read_yaml

M = TypeVar("M", bound=BaseModel)


def _problems(shown: str, prefix: str, exc: ValidationError, who: str = "-") -> list[Problem]:
    return [Problem(shown, who, (prefix + field_path(e["loc"])) if e["loc"] else (prefix.rstrip(".") or "(top level)"),
                    pydantic_message(e)) for e in exc.errors()]


def read_model(path: Path, model: type[M], who: str = "-") -> tuple[M | None, list[Problem]]:
    """One YAML mapping validated as ``model``; ``(None, problems)`` when it is not valid."""
    shown = display(path)
    if not path.is_file():
        return None, [Problem(shown, who, "(file)", "missing")]
    raw, problems = read_yaml(path, who)
    if problems:
        return None, problems
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, _problems(shown, "", exc, who)


def read_list(path: Path, model: type[M], what: str) -> tuple[list[M], list[Problem]]:
    """A YAML list whose items are validated one by one as ``model`` (valid items are kept)."""
    items, problems, _ = read_indexed(path, model, what)
    return [m for _, m in items], problems


def read_indexed(path: Path, model: type[M], what: str) -> tuple[list[tuple[int, M]], list[Problem], list]:
    """Like :func:`read_list`, with each valid item's position in the file, and the raw entries."""
    shown = display(path)
    if not path.is_file():
        return [], [Problem(shown, "-", "(file)", "missing")], []
    raw, problems = read_yaml(path)
    if problems:
        return [], problems, []
    if raw is None:
        return [], [], []
    if not isinstance(raw, list):
        return [], [Problem(shown, "-", "(top level)", f"expected a list of {what}")], []
    items: list[tuple[int, M]] = []
    for i, entry in enumerate(raw):
        try:
            items.append((i, model.model_validate(entry)))
        except ValidationError as exc:
            problems += _problems(shown, f"[{i}].", exc)
    return items, problems, raw

"""Validation of the data files beside the studies: records and screening, appraisal, GRADE, protocol.

:func:`problems` is what ``python -m analysis validate`` adds to the study checks: every
problem a ``file: id: field: message`` line, never a traceback.  A file that is absent is no
problem unless another file needs it (the unit-test fixtures hold only some of them).
"""
from __future__ import annotations

from pathlib import Path

from .schema import Problem
from .validation import display


def problems(directory: Path, studies: list, known: list[str] | None = None) -> list[Problem]:
    """Every problem of the records, screening, appraisal, GRADE and protocol files of ``directory``.

    ``studies`` are the valid studies of the folder (:class:`~analysis.review.schema.Study`);
    ``known`` the ids of every study file, valid or not (default: those of ``studies``): a record
    or appraisal naming a study whose file has problems of its own is not blamed for them.
    """
    from . import appraisal, grade, protocol, screening

    study_ids = sorted({*(known or []), *(s.id for s in studies)})
    arms = {s.id: [a.id for a in s.arms] for s in studies}
    out: list[Problem] = []
    for name, check in (("records", lambda: screening.load(directory, study_ids)[1]),
                        ("appraisal", lambda: appraisal.load(directory, study_ids, arms)[1]),
                        ("grade", lambda: grade.load_rules(directory)[1]),
                        ("protocol", lambda: protocol.problems(directory))):
        try:
            out += check()
        except Exception as exc:  # noqa: BLE001 - a defect is reported as a problem line, not a traceback
            out.append(Problem(display(Path(directory)), "-", f"({name})",
                               f"internal error while checking the {name} files: {type(exc).__name__}: {exc}"))
    return out

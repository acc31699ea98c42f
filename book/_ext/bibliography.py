"""Sphinx extension: write the studies' bibliography from their data files before sphinxcontrib-bibtex reads it.

Each study file's ``citation:`` block is the one source of its reference
(:func:`analysis.review.bibliography.bibtex`).  On ``config-inited`` -- before
sphinxcontrib-bibtex reads ``bibtex_bibfiles`` on ``builder-inited`` -- this writes
:data:`STUDY_BIB` (relative to the configuration folder) and makes sure it is one of the
``bibtex_bibfiles``; the hand-kept ``data/references.bib`` holds the references that are not studies.
"""
from __future__ import annotations

from pathlib import Path

#: the generated bibliography of the studies, relative to the book's configuration folder (build output, not committed)
STUDY_BIB = "_build/bibliography/studies.bib"


def _write(app, config) -> None:
    from analysis.review.bibliography import bibtex
    from analysis.review.loading import load

    path = Path(app.confdir) / STUDY_BIB
    path.parent.mkdir(parents=True, exist_ok=True)
    text = bibtex(load().studies)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    if STUDY_BIB not in (config.bibtex_bibfiles or []):
        config.bibtex_bibfiles = [*(config.bibtex_bibfiles or []), STUDY_BIB]


def setup(app):
    app.connect("config-inited", _write, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

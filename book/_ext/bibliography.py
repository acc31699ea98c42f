"""Sphinx extension: write the studies' bibliography from their data files before sphinxcontrib-bibtex reads it.

Each study file's ``citation:`` block is the one source of its reference
(:func:`analysis.review.bibliography.bibtex`).  On ``config-inited`` -- before
sphinxcontrib-bibtex reads ``bibtex_bibfiles`` on ``builder-inited`` -- this writes
:data:`STUDY_BIB` (relative to the configuration folder) and makes sure it is one of the
``bibtex_bibfiles``; the hand-kept ``data/references.bib`` holds the references that are not studies.

pybtex finds its styles and backends by scanning the entry points of every installed package,
on every lookup (``pybtex.plugin._load_entry_point``: 20-25 ms, and sphinxcontrib-bibtex looks
a plugin up for every citation it formats or resolves -- about a second of each build).  The
installed packages do not change during a build, so each lookup is kept once made
(:func:`_memoise_plugins`); a plugin that is not found is still an error each time.
"""
from __future__ import annotations

from functools import lru_cache
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


def _memoise_plugins() -> None:
    import pybtex.plugin

    if hasattr(pybtex.plugin._load_entry_point, "cache_info"):
        return
    load = pybtex.plugin._load_entry_point = lru_cache(maxsize=None)(pybtex.plugin._load_entry_point)
    register = pybtex.plugin.register_plugin

    def register_plugin(*args, **kwargs):  # a plugin registered at run time replaces what was found
        try:
            return register(*args, **kwargs)
        finally:
            load.cache_clear()

    pybtex.plugin.register_plugin = register_plugin


def setup(app):
    _memoise_plugins()
    app.connect("config-inited", _write, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

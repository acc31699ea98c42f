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

sphinxcontrib-bibtex formats every cited entry on every build, twice (the reference and its
tooltip, with the same style): 120 ``format_entry`` calls, 0.3 s of a render after one count
changed.  What an entry formats to depends only on the style and the entry, so each result is
kept in the build environment, which Sphinx pickles with the parsed documents and throws away
with them (:func:`_memoise_formatting`, keyed by :func:`format_key`); the results no build used
are dropped when the environment is updated.
"""
from __future__ import annotations

from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

#: the generated bibliography of the studies, relative to the book's configuration folder (build output, not committed)
STUDY_BIB = "_build/bibliography/studies.bib"
#: the build environment's attribute holding the formatted entries (pickled with it)
ENV_ATTR = "review_bibtex_formatted"
#: the formatted entries of this build's environment, and the keys this build used
_formatted: dict | None = None
_used: set = set()


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


def format_key(style, label: str, entry) -> tuple[Any, ...]:
    """Everything :meth:`pybtex.style.formatting.BaseStyle.format_entry` reads: the style (its
    class, its name, label and sorting styles and their options), pybtex's version, the label,
    and the entry's key, type, fields and names (each name part by part)."""
    import pybtex

    def names(people) -> tuple:
        return tuple((tuple(p.first_names), tuple(p.middle_names), tuple(p.prelast_names),
                      tuple(p.last_names), tuple(p.lineage_names)) for p in people)

    kind = type(style)
    return (pybtex.__version__, kind.__module__, kind.__qualname__,
            *(f"{type(part).__module__}.{type(part).__qualname__}"
              for part in (style.name_style, style.label_style, style.sorting_style)),
            style.abbreviate_names, style.min_crossrefs, label, entry.key, entry.type,
            tuple(entry.fields.items()), tuple((role, names(people)) for role, people in entry.persons.items()))


def _memoise_formatting() -> None:
    from pybtex.style.formatting import BaseStyle

    if hasattr(BaseStyle.format_entry, "__wrapped__"):
        return
    original = BaseStyle.format_entry

    @wraps(original)
    def format_entry(self, label, entry, bib_data=None):
        if _formatted is None or bib_data is not None:  # outside a build, or with cross-references
            return original(self, label, entry, bib_data)
        key = format_key(self, label, entry)
        _used.add(key)
        if key not in _formatted:
            _formatted[key] = original(self, label, entry)
        return _formatted[key]

    BaseStyle.format_entry = format_entry


def _attach(app, env, docnames) -> None:
    global _formatted
    _formatted = env.__dict__.setdefault(ENV_ATTR, {})
    _used.clear()


def _prune(app, env) -> None:
    """After sphinxcontrib-bibtex formatted this build's citations: keep only what it used."""
    kept = getattr(env, ENV_ATTR, None)
    if kept is not None:
        for key in [k for k in kept if k not in _used]:
            del kept[key]


def setup(app):
    _memoise_plugins()
    _memoise_formatting()
    app.connect("env-before-read-docs", _attach)
    app.connect("env-updated", _prune, priority=900)  # sphinxcontrib-bibtex formats at 500
    app.connect("config-inited", _write, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

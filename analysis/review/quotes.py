"""Are the ``source:`` quotes of the study files verbatim in the documents they were read from?

Every number in a study file carries a ``source`` quote: a fragment of the report, or
several fragments joined by ``...``.  :func:`verify` looks for each quote in a local text of
the study's source document -- ``<seeds>/<extracted_from.document>`` (the shared seeds folder
beside the repository, :data:`SEEDS`) or ``data/sources/<study id>.txt`` (a text a reviewer
placed there) -- with whitespace normalised and the fragments in order.  A study without a
local text gets ``no_local_source`` for its quotes: they are shown as unchecked, not failed.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from .loading import Review
from .schema import Study, texts
from .seeds import SEEDS  # the default folder of source documents

#: values of the ``status`` column
STATUSES = {
    "verified": "every fragment of the quote occurs, in order, in the local source text",
    "not_found": "a fragment of the quote does not occur in the local source text",
    "no_local_source": "no local text of the source document to check the quote against",
}
_SCHEMA = {"study": pl.String, "field": pl.String, "quote": pl.String, "status": pl.String,
           "source_file": pl.String, "missing": pl.String}


def quotes(obj: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Every ``source`` quote of a validated study (or part of one), with its field path."""
    return ((where, text) for where, name, text in texts(obj, path) if name == "source")


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped."""
    return re.sub(r"\s+", " ", text).strip()


def missing_fragment(quote: str, text: str) -> str | None:
    """The first fragment of ``quote`` (split at ``...`` or ``…``) not found in order in ``text``; None if all are."""
    pos = 0
    for frag in (normalise(f) for f in re.split(r"\.\.\.|…", quote)):
        if not frag:
            continue
        at = text.find(frag, pos)
        if at < 0:
            return frag
        pos = at + len(frag)
    return None


def source_file(study: Study, seeds: Path, sources: Path) -> Path | None:
    """The local text of a study's source document: the seeds copy it names, else ``sources/<id>.txt``."""
    doc = study.extracted_from.document
    for path in ([seeds / doc] if doc else []) + [sources / f"{study.id}.txt"]:
        if path.is_file():
            return path
    return None


def verify(review: Review, seeds: Path | None = None, sources: Path | None = None,
           studies: list[str] | None = None) -> pl.DataFrame:
    """Check every quote of every study against its local source text; never raises.

    Parameters
    ----------
    review : Review
        The loaded review.
    seeds : Path, optional
        The shared seeds folder (default :data:`SEEDS`).
    sources : Path, optional
        Reviewer-placed texts (default ``<review data folder>/sources``).
    studies : list of str, optional
        Only these studies (a study chapter checks its own quotes; each study's rows are the
        same either way).

    Returns
    -------
    polars.DataFrame
        One row per quote: ``study``, ``field`` (path in the study file), ``quote``, ``status``
        (one of :data:`STATUSES`), ``source_file`` (the text checked against, or null) and
        ``missing`` (the first fragment not found, or null).
    """
    seeds = SEEDS if seeds is None else Path(seeds)
    sources = Path(review.directory) / "sources" if sources is None else Path(sources)
    rows = []
    for study in review.studies if studies is None else [review.study(s) for s in studies]:
        path = source_file(study, seeds, sources)
        try:
            text = normalise(path.read_text(encoding="utf-8", errors="replace")) if path else None
        except OSError:
            path, text = None, None
        for field, quote in quotes(study):
            miss = missing_fragment(quote, text) if text is not None else None
            status = "no_local_source" if text is None else ("not_found" if miss is not None else "verified")
            rows.append({"study": study.id, "field": field, "quote": quote, "status": status,
                         "source_file": str(path) if path else None, "missing": miss})
    return pl.DataFrame(rows, schema=_SCHEMA)

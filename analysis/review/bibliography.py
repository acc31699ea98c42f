"""BibTeX entries of the studies, generated from the ``citation:`` block of each study file.

A study's citation is written once, in its data file; the book's bibliography of studies is
generated from it (``book/_ext/bibliography.py`` writes :func:`bibtex` before
sphinxcontrib-bibtex reads its files), so a new study file needs no hand-edited ``.bib``.
References that are not studies (methods papers) stay in the hand-kept ``data/references.bib``.

Text is escaped so that pybtex (which decodes LaTeX in fields) prints it literally: the
characters ``\\ & % # _ ~`` become LaTeX commands, and the ligatures ``-- --- `` '' ?` !` ,,``
are broken with ``{}``.  Braces cannot be written literally in a BibTeX field, so validation
refuses them in a citation (:func:`analysis.review.checks.check_study`).
"""
from __future__ import annotations

import re

from .schema import Study

_SPECIAL = {"\\": r"{\textbackslash}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "~": r"{\textasciitilde}"}
_LIGATURE_FIRST, _LIGATURE_NEXT = set("-`'?!,"), set("-`',")
#: "Surname Initials" as the data files write authors ("Zhang XQ", "van der Berg JP", "Wang X-Q")
_NAME = re.compile(r"(?P<surname>\S.*?)\s+(?P<initials>[A-Z](?:-?[A-Z])*)")
#: characters BibTeX cannot hold literally in a field
UNWRITABLE = set("{}")


def escape(text: str) -> str:
    """``text`` as the content of a BibTeX field that pybtex renders literally.

    Examples
    --------
    >>> escape("CD19 CAR-T & 50% of #1 -- ≥ grade 3")
    'CD19 CAR-T \\\\& 50\\\\% of \\\\#1 -{}- ≥ grade 3'
    """
    if UNWRITABLE & set(text):
        raise ValueError(f"braces cannot be written in a BibTeX field: {text!r}")
    out = []
    flat = " ".join(text.split())
    for i, ch in enumerate(flat):
        out.append(_SPECIAL.get(ch, ch))
        if ch in _LIGATURE_FIRST and i + 1 < len(flat) and flat[i + 1] in _LIGATURE_NEXT:
            out.append("{}")
    return "".join(out)


def name(author: str) -> str:
    """One author of a data file as a BibTeX name: ``"Wang XQ"`` -> ``"Wang, X. Q."``.

    A name not written as "Surname Initials" (a group, "Anonymous") is kept whole, in braces, so
    that BibTeX neither splits nor reorders it.
    """
    m = _NAME.fullmatch(" ".join(author.split()))
    if m is None or "," in author or re.search(r"\band\b", m["surname"], re.I):
        return "{" + escape(author) + "}"
    initials = re.sub(r"([A-Z])", r"\1. ", m["initials"]).replace(". -", ".-").strip()
    return f"{escape(m['surname'])}, {initials}"


def entry(study: Study) -> str:
    """The BibTeX entry of one study (``@article`` when it names a journal, else ``@misc``)."""
    c = study.citation
    authors = [name(a) for a in c.authors] + (["others"] if c.et_al else [])
    fields = [("author", " and ".join(authors)), ("title", "{" + escape(c.title) + "}")]
    if c.journal:
        fields.append(("journal", escape(c.journal)))
    fields.append(("year", str(c.year)))
    fields += [(k, escape(v)) for k, v in (("volume", c.volume), ("number", c.issue), ("pages", c.pages)) if v]
    if not c.journal:
        fields.append(("howpublished", escape(study.publication_type.replace("_", " ").capitalize())))
    if c.doi:
        fields.append(("doi", c.doi))  # pattern-checked by the schema; pybtex reads it raw
    if c.pmid:
        fields.append(("pubmed", c.pmid))
    if c.registry:
        fields.append(("note", escape(", ".join(c.registry))))
    width = max(len(k) for k, _ in fields)
    body = ",\n".join(f"  {k.ljust(width)} = {{{v}}}" for k, v in fields)
    return f"@{'article' if c.journal else 'misc'}{{{c.bibkey},\n{body}\n}}\n"


def bibtex(studies: list[Study]) -> str:
    """The bibliography of the studies, one entry per study in citation-key order."""
    head = ("% Generated from the citation: blocks of data/studies/*.yaml by analysis.review.bibliography.\n"
            "% Do not edit: edit the study file. Hand-kept references (methods papers) are in data/references.bib.\n\n")
    return head + "\n".join(entry(s) for s in sorted(studies, key=lambda s: s.citation.bibkey))

"""Altair, imported without the IRI grammar that made importing it slow.

Altair imports jsonschema, which would compile the RFC 3987 grammar for its ``iri`` format
checkers: about 0.9 s of Altair's 1.2 s import, in every kernel and every fresh interpreter.
Altair never checks formats (it validates a spec against the Vega-Lite schema without a format
checker), so ``alt`` is imported by :func:`analysis._startup.import_without_iri_grammar`.
"""
from __future__ import annotations

from ..._startup import import_without_iri_grammar

alt = import_without_iri_grammar("altair")

__all__ = ["alt"]

"""Importing jsonschema without the IRI grammar nobody here checks (standard library only).

jsonschema registers its ``iri`` / ``iri-reference`` format checkers from ``rfc3987_syntax`` when
that is installed (it is, through ``jsonschema[format-nongpl]``, which Jupyter's server needs).
Importing ``rfc3987_syntax`` compiles the RFC 3987 grammar with lark: 0.9-1.4 s of CPU in every
process whose first import of jsonschema that is (a kernel importing Altair, the executor and
every pytest process importing nbformat, the render importing Jupyter Book).  Nothing here
checks those formats: Altair validates without a format checker, nbformat checks no IRI, and
the Vega-Lite schema has no ``iri`` format.

:func:`import_without_iri_grammar` imports a module with ``rfc3987_syntax`` hidden from the
import system -- only while jsonschema has not been imported yet (otherwise it changes
nothing) -- and visible again right after.  The one difference it makes: in such a process
``jsonschema.FormatChecker`` does not check the ``iri`` formats.

Used by :mod:`analysis.present.charts._altair`, :mod:`analysis.kernels`, ``tools/build_site.py``
and the test runs (``tests/pytest_startup.py``, loaded before pytest's plugins import nbformat).
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType

#: the module whose import compiles the grammar
GRAMMAR = "rfc3987_syntax"


def import_without_iri_grammar(name: str) -> ModuleType:
    """``importlib.import_module(name)``, with :data:`GRAMMAR` hidden while jsonschema is first imported."""
    if "jsonschema" in sys.modules or GRAMMAR in sys.modules:
        return importlib.import_module(name)
    sys.modules[GRAMMAR] = None  # type: ignore[assignment] - "import rfc3987_syntax" raises ImportError
    try:
        return importlib.import_module(name)
    finally:
        if sys.modules.get(GRAMMAR, 0) is None:
            del sys.modules[GRAMMAR]

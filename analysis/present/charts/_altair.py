"""Altair, imported without the one optional dependency that made importing it slow.

Altair imports jsonschema, and jsonschema registers its ``iri`` / ``iri-reference`` format
checkers from ``rfc3987_syntax`` when that is installed (it is, through ``jsonschema[format-nongpl]``,
which Jupyter's server needs); importing ``rfc3987_syntax`` compiles the RFC 3987 grammar with
lark, about 0.9 s of altair's 1.2 s import, in every kernel and every fresh interpreter.
Altair never checks formats (it validates a spec against the Vega-Lite schema without a format
checker), so the grammar is never used here.

``alt`` is therefore imported with ``rfc3987_syntax`` hidden from the import system -- only when
jsonschema has not been imported yet (otherwise nothing changes) -- and visible again right
after.  The one difference: in a process whose first import of jsonschema comes through here,
``jsonschema.FormatChecker`` does not check the ``iri`` formats (Jupyter's server, which does,
runs in its own process).
"""
from __future__ import annotations

import sys

if "altair" not in sys.modules and "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment] - "import rfc3987_syntax" raises ImportError
    try:
        import altair as alt
    finally:
        del sys.modules["rfc3987_syntax"]
else:
    import altair as alt

__all__ = ["alt"]

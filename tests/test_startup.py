"""analysis/_startup.py: jsonschema imported without the IRI grammar, and nothing else changed."""
from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_grammar_is_hidden_while_jsonschema_is_first_imported():
    run("import sys; from analysis._startup import import_without_iri_grammar as imp; "
        "m = imp('jsonschema'); assert m is sys.modules['jsonschema']; "
        "assert 'rfc3987_syntax' not in sys.modules, 'grammar imported'; "
        "import rfc3987_syntax")  # visible again afterwards: whoever asks for it gets it


def test_without_the_helper_jsonschema_compiles_it_and_then_the_helper_changes_nothing():
    assert run("import sys, jsonschema; print('rfc3987_syntax' in sys.modules); "
               "from analysis._startup import import_without_iri_grammar as imp; imp('nbformat'); "
               "print(sys.modules['rfc3987_syntax'] is not None)") == "True\nTrue"


def test_no_pytest_process_compiles_the_grammar():
    """tests/pytest_startup.py runs before nbval's plugin imports nbformat (``-p`` in pyproject.toml)."""
    assert "nbformat" in sys.modules and "rfc3987_syntax" not in sys.modules

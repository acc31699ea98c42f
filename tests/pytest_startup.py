"""Loaded by every pytest process before its plugins (``-p pytest_startup`` in pyproject.toml).

nbval's plugin imports nbformat, and with it jsonschema, before any conftest could run: without
this, each pytest process (the controller and every xdist worker) compiled jsonschema's IRI
grammar first, 1.2-1.4 s of CPU each (``analysis/_startup.py``).
"""
from analysis._startup import import_without_iri_grammar

import_without_iri_grammar("jsonschema")

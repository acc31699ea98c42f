"""`python -m analysis execute` writes notebooks deterministically: re-executing changes no byte."""
from __future__ import annotations

import json
import shutil

from analysis.__main__ import execute_notebook
from factory import ROOT


def test_executing_twice_writes_the_same_bytes(tmp_path):
    nb = tmp_path / "whats_new.ipynb"
    shutil.copy(ROOT / "book" / "whats_new.ipynb", nb)
    execute_notebook(nb)
    first = nb.read_bytes()
    execute_notebook(nb)
    assert nb.read_bytes() == first
    stored = json.loads(first)
    assert all("execution" not in c["metadata"] for c in stored["cells"])  # no timestamps
    assert "version" not in stored["metadata"].get("language_info", {})  # no interpreter version
    assert any(c.get("outputs") for c in stored["cells"])  # it did execute

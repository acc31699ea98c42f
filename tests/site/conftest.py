"""Tests of the built site and of the site tools in tools/ (page weight, site check, deterministic build)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture
def built_site() -> Path:
    """The site `make book` built; the test is skipped when there is none."""
    if not (SITE / "search.html").is_file():
        pytest.skip(f"{SITE} not built (run `make book`)")
    return SITE


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path

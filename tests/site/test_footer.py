"""Every page footer names the review version, its date and the commit the site was built from."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import review_version as rv  # noqa: E402


def test_commit_from_github_sha() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert rv.build_commit(ROOT, {"GITHUB_SHA": sha}) == "0123456"


def test_commit_from_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("a")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert rv.build_commit(tmp_path, {}) == head
    (tmp_path / "f").write_text("b")
    assert rv.build_commit(tmp_path, {}) == f"{head} + local changes"


def test_commit_unknown_without_git(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # no repository above either
    assert rv.build_commit(tmp_path, {}) == "unknown"
    assert rv.build_commit(tmp_path / "missing", {}) == "unknown"


def test_footer_escapes_everything() -> None:
    html = rv.footer_html("<script>alert(1)</script>", '2026"><img src=x onerror=alert(1)>', "<b>")
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_every_built_page_has_the_footer(built_site: Path) -> None:
    pages = [p for p in built_site.rglob("*.html") if "_static" not in p.parts and p.name != "index.html"]
    assert pages
    for page in pages:
        m = re.search(r'<p class="lsr-version">Living review version ([^ ]+) \(([^)]+)\), '
                      r"built from commit <code>([^<]+)</code>", page.read_text(encoding="utf-8"))
        assert m, f"{page}: no version footer"
        assert m.group(3) != "unknown", f"{page}: commit unknown"

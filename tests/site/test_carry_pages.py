"""A rebuild that carries unchanged pages (book/_ext/carry_pages.py) publishes the bytes of a build from empty.

In a copy of the repository, the site is built from the stored outputs; then:

1. one study chapter's stored output changes (what a changed count does after execution) and a
   stray file is left in the previous site's ``_images/``: the rebuild writes that page (and the
   index and search pages, written on every build), carries the others (the root page too),
   drops the stray file -- and the result is
   the same, file for file and byte for byte, as ``--fresh`` (every page read and written);
2. a chapter's title changes: every page's sidebar shows it, so every page is written again,
   and again the result is what ``--fresh`` gives.

Five Sphinx builds of the book (about a minute): ``make test-slow``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import deterministic_build as db
from repo_copy import copy_tracked

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def build(repo: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("REVIEW_DATA_DIR", "REVIEW_SEEDS_DIR", "GITHUB_SHA", "REVIEW_FIT_STORE"):
        env.pop(name, None)
    res = subprocess.run([sys.executable, "tools/build_site.py", *args], cwd=repo, env=env, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


def edit_notebook(path: Path, old: str, new: str, cell_type: str) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != cell_type:
            continue
        if cell_type == "markdown":
            src = "".join(cell["source"])
            if old in src:
                cell["source"] = src.replace(old, new, 1)
                break
        else:
            dumped = json.dumps(cell.get("outputs", []))
            if old in dumped:
                cell["outputs"] = json.loads(dumped.replace(old, new, 1))
                break
    else:
        raise AssertionError(f"{old!r} not in a {cell_type} cell of {path}")
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def same_as_fresh(repo: Path, tmp: Path, name: str) -> None:
    """The site as built is the site a build from empty gives."""
    site = repo / "_build" / "html"
    kept = tmp / name
    shutil.copytree(site, kept)
    build(repo, "--fresh")
    cmp = db.compare(kept, site, allowed={})
    assert cmp.ok, db.report(cmp, kept, site)


def html_pages(site: Path) -> list[Path]:
    return [p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "_static"]


def written_since(site: Path, t: float) -> set[str]:
    return {p.relative_to(site).as_posix() for p in html_pages(site) if p.stat().st_mtime > t}


def test_a_rebuild_carrying_unchanged_pages_equals_a_build_from_empty(tmp_path):
    repo = copy_tracked(ROOT, tmp_path / "copy")
    site = repo / "_build" / "html"
    assert "every page read and written" in build(repo)
    pages = {p.relative_to(site).as_posix() for p in html_pages(site)}

    # 1. one chapter's output changes
    chapter = repo / "book" / "studies" / "hua2020.ipynb"
    nb = json.loads(chapter.read_text(encoding="utf-8"))
    output = next(o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
                  if "text/html" in o.get("data", {}) or "text/markdown" in o.get("data", {}))
    old = "".join(output["data"].get("text/html") or output["data"]["text/markdown"])[:60]
    assert old.strip()
    edit_notebook(chapter, old, old + " (changed)", "code")
    (site / "_images").mkdir(exist_ok=True)
    (site / "_images" / "stray.png").write_bytes(b"not from this build")
    t = max(p.stat().st_mtime for p in site.rglob("*"))
    assert "others carried" in build(repo)
    written = written_since(site, t)
    assert "book/studies/hua2020.html" in written
    # the other chapters are carried; so is the root page, which Sphinx writes whenever any page
    # is written (its table of contents could show it): nothing it shows of other pages changed
    assert written == {"book/studies/hua2020.html", "genindex.html", "search.html", "index.html"}, sorted(written)
    assert not (site / "_images" / "stray.png").exists()
    assert "(changed)" in (site / "book" / "studies" / "hua2020.html").read_text(encoding="utf-8")
    same_as_fresh(repo, tmp_path, "after-output")

    # 2. a chapter's title changes: every page shows it in its sidebar
    title = next(line for line in "".join(json.loads(chapter.read_text(encoding="utf-8"))["cells"][0]["source"]).splitlines()
                 if line.startswith("# "))
    edit_notebook(chapter, title, title + " (retitled)", "markdown")
    t = max(p.stat().st_mtime for p in site.rglob("*"))
    assert "others carried" in build(repo)
    assert written_since(site, t) == pages
    assert "(retitled)" in (site / "book" / "studies" / "zhuo2024.html").read_text(encoding="utf-8")
    same_as_fresh(repo, tmp_path, "after-title")

"""The README's "Adding a study" steps, walked end to end in a temporary copy of the repository.

Slow (minutes: every notebook is executed, checked by nbval, and the book is built with -W):
``make test-slow`` runs it; ``make test`` leaves it out.  The copy holds the tracked files of
this repository (``git ls-files``), with ``../shared`` linked beside it when it exists here, and
runs this virtual environment's tools with ``PYTHONPATH`` pointing at the copy, so the copy's
``analysis`` package and ``data/`` are the ones used (never this checkout's).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.review import loading as data
from analysis.review import synthesis
from factory import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from repo_copy import copy_tracked  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "new_study"
SID = "walk2024"
#: a second study whose every text field holds HTML, Markdown and MyST injection
HOSTILE = "inject2024"
#: outcomes of the analysis plan the fixture study reports as crude proportions (every one is pooled in the book)
REPORTED = ("cr", "crs_any", "crs_grade3plus", "agvhd_any")
VERSION = "0.3.0"
BIN = Path(sys.executable).parent


def copy_repository(dest: Path) -> Path:
    """The tracked files of this checkout (as they are in the working tree) under ``dest/repo``."""
    return copy_tracked(ROOT, dest)


def step(repo: Path, *cmd: str, timeout: int = 1200) -> str:
    """Run one step in the copy; fail the test with its output when it fails."""
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("REVIEW_DATA_DIR", None)
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res.stdout


def pooled_k(directory: Path) -> dict[str, int]:
    review = data.load(directory)
    return {o: synthesis.analyse(review, o, sets=()).primary.k for o in REPORTED}


@pytest.mark.slow
def test_adding_a_study_by_the_readme_steps_reaches_a_green_build(tmp_path):
    start = time.perf_counter()
    repo = copy_repository(tmp_path)
    python = sys.executable
    before = pooled_k(repo / "data")

    # 1-2. write the data files (here: from the fixtures) and their source texts; scaffold the chapters
    (repo / "data" / "sources").mkdir(exist_ok=True)
    for sid in (SID, HOSTILE):
        shutil.copy(FIXTURE / f"{sid}.yaml", repo / "data" / "studies" / f"{sid}.yaml")
        shutil.copy(FIXTURE / f"{sid}.txt", repo / "data" / "sources" / f"{sid}.txt")
        assert f"book/studies/{sid}.ipynb" in step(repo, python, "-m", "analysis", "new-study", sid)
    # 3. a changelog line first (the search, the release and the "What's new" page name the version)
    log = repo / "data" / "changelog.yaml"
    head, rest = log.read_text(encoding="utf-8").split("\n", 1)
    log.write_text(f'{head}\n- version: "{VERSION}"\n  date: "2026-12-01"\n  changes:\n'
                   f'    - "Added Walk 2024 (fixture series)."\n{rest}', encoding="utf-8")
    # 4. the records they were found as: import each search export, then record the screening decisions
    screening = repo / "data" / "records" / "screening.yaml"
    for sid in (SID, HOSTILE):
        out = step(repo, python, "-m", "analysis", "import-search", str(FIXTURE / f"{sid}.ris"), "--source",
                   f"Fixture search {sid}", "--method", "website", "--date", "2026-12-01", "--version", VERSION,
                   "--query", "donor CD19 CAR-T")
        assert "1 new records to screen" in out
        text = screening.read_text(encoding="utf-8")
        assert text.endswith("  title_abstract: pending\n")
        screening.write_text(text.removesuffix("  title_abstract: pending\n") + "  title_abstract: include\n"
                             f"  full_text: include\n  assessed_on: abstract\n  study: {sid}\n", encoding="utf-8")
        # 5. its risk of bias
        shutil.copy(FIXTURE / f"{sid}_appraisal.yaml", repo / "data" / "appraisal" / f"{sid}.yaml")
    # 6. validate
    assert step(repo, python, "-m", "analysis", "validate", "data").startswith("ok: 14 studies")
    # 7. store the release's results and the citation of the new version
    step(repo, python, "-m", "analysis", "release", VERSION)
    step(repo, python, "-m", "analysis", "cite")
    # 8. execute every notebook, storing outputs
    step(repo, python, "-m", "analysis", "execute", "book")
    # 9. the notebooks' stored outputs are what they compute (nbval), and the data tests hold
    step(repo, python, "-m", "pytest", "book", "--nbval", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
         "-p", "no:cacheprovider", "-q")
    step(repo, python, "-m", "pytest", "tests/test_data.py", "tests/test_living.py", "-p", "no:cacheprovider", "-q")
    # 10. the book, warnings as errors, and nothing loaded from the network
    step(repo, python, "tools/build_site.py")  # as make book: Sphinx renders the outputs stored by step 8
    step(repo, python, "tools/check_site.py", "_build/html")

    after = pooled_k(repo / "data")
    # both new studies report CR; the hostile one reports nothing else
    assert after == {o: k + (2 if o == "cr" else 1) for o, k in before.items()}, (before, after)
    html = repo / "_build" / "html" / "book"
    assert "Walk 2024 (fixture series)" in (html / "synthesis" / "characteristics.html").read_text(encoding="utf-8")
    references = (html / "references.html").read_text(encoding="utf-8")
    assert "a six-patient single-centre series" in references and "Journal of Fixtures &amp; Tests" in references
    assert "Walk 2024 (fixture series)" in (html / "whats_new.html").read_text(encoding="utf-8")
    assert "total studies included: 14" in (html / "selection.html").read_text(encoding="utf-8")
    chapter = (html / "studies" / f"{SID}.html").read_text(encoding="utf-8")
    assert "Quotes checked against the source" in chapter
    check_hostile_pages(repo / "_build" / "html")
    print(f"add-a-study walk: {time.perf_counter() - start:.0f} s")


def check_hostile_pages(site: Path) -> None:
    """The hostile study's text is shown literally and nothing in it runs (headless Chromium)."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    import site_browser as sb

    pages = [f"book/studies/{HOSTILE}.html", "book/synthesis/characteristics.html", "book/synthesis/response.html",
             "book/risk_of_bias.html", "book/selection.html"]
    for rep in sb.crawl(site, pages=pages, jobs=2):
        where = f"{rep.page} ({rep.viewport})"
        assert rep.load_error is None, where
        assert rep.dialogs == [], f"{where}: a dialog opened: {rep.dialogs}"
        assert rep.handlers == [], f"{where}: inline handlers in the DOM: {rep.handlers}"
        assert not rep.page_errors and not rep.console_errors, (where, rep.page_errors, rep.console_errors)
        if rep.page != "book/selection.html":
            assert "Inject <script>alert(1)</script> 2024" in rep.text, f"{where}: the title is not shown literally"
    study = next(r for r in sb.crawl(site, pages=pages[:1], jobs=1) if r.viewport == "desktop")
    for literal in ("Arm <img src=x onerror=alert(9)>", "three <script>alert(13)</script> reached CR"):
        assert literal in study.text, f"not shown literally: {literal}"

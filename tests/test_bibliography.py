"""The studies' bibliography is generated from their citation: blocks and printed literally."""
from __future__ import annotations

import pybtex.database
import pytest
from pybtex.plugin import find_plugin

from analysis.review import bibliography
from analysis.review import loading as data
from factory import FIXTURE, MINIMAL, copy, problems_for, write

HOSTILE = "<script>alert(1)</script> & 50% #1 a_b ~x^2 $5 C:\\path -- --- ``q'' ?` !` ,, ≥ grade 3"


def rendered(bib: str) -> dict[str, str]:
    """Each entry as pybtex's plain style prints it (the style the book uses), as text."""
    style = find_plugin("pybtex.style.formatting", "plain")()
    db = pybtex.database.parse_string(bib, "bibtex")
    return {e.key: e.text.render_as("text") for e in style.format_bibliography(db).entries}


def test_every_fixture_study_has_one_entry_that_parses():
    studies = data.load(FIXTURE).studies
    out = rendered(bibliography.bibtex(studies))
    assert set(out) == {s.citation.bibkey for s in studies}
    assert "Donor-derived CD19 CAR-T cell therapy of relapse of CD19-positive B-ALL post allotransplant" in out["zhang2021"]
    assert out["zhang2021"].startswith("C. Zhang, X. Q. Wang, R. L. Zhang")
    assert "doi:10.1038/s41375-020-01056-6" in out["zhang2021"]


def test_hostile_text_is_printed_literally(tmp_path):
    study = copy(MINIMAL)
    study["citation"].update(title=HOSTILE, journal="J & K_x", authors=["O'Neil AB", "Smith and Co"],
                             et_al=True)
    write(tmp_path, study)
    studies, problems = data.validate(tmp_path)
    assert problems == []
    text = rendered(bibliography.bibtex(studies))["demo2024"]
    assert HOSTILE in text
    assert text.startswith("A. B. O'Neil, Smith and Co, and others.")
    assert "J & K_x" in text


@pytest.mark.parametrize("field", ["title", "journal"])
def test_braces_are_refused_by_validation(tmp_path, field):
    study = copy(MINIMAL)
    study["citation"][field] = "The {CAR} trial"
    msgs = problems_for(tmp_path, study)
    assert any(f"demo2024: citation.{field}: braces {{ }} cannot be written in a bibliography field" in m for m in msgs)
    with pytest.raises(ValueError, match="braces"):
        bibliography.escape("The {CAR} trial")


def test_duplicate_bibkey_is_reported(tmp_path):
    other = copy(MINIMAL)
    other.update(id="other2024")
    write(tmp_path, MINIMAL)
    write(tmp_path, other)
    _, problems = data.validate(tmp_path)
    assert [str(p).split(": ", 1)[1] for p in problems] == [
        "other2024: citation.bibkey: 'demo2024' is also the key of demo2024"]


def test_bibkey_already_in_the_hand_kept_bibliography(tmp_path):
    write(tmp_path, MINIMAL)
    (tmp_path / "references.bib").write_text("@article{demo2024,\n  title = {x}\n}\n", encoding="utf-8")
    _, problems = data.validate(tmp_path)
    assert len(problems) == 1 and "demo2024: citation.bibkey: 'demo2024' is also a key in" in str(problems[0])
    assert str(problems[0]).endswith("references.bib")

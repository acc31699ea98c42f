"""The living review's mechanics: releases, what changed, citation, downloads and their dictionary.

Two tests check today's committed state (like nbval does for the notebooks): the committed
CITATION.cff and the current release's results file must equal what the commands write (the
results' floats within ``living.RELEASE_RTOL``).
The others run on the fixture review.
"""
from __future__ import annotations

import sys

import polars as pl
import yaml

from analysis.review import downloads, living
from analysis.review.citation import TEAM_ENTITY, bibtex, cff
from analysis.review.export import write as export_write
from analysis.review.loading import DATA_DIR, changelog

from factory import ROOT, copy_review, write_appraisals

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import review_version as rv  # noqa: E402


def test_citation_cff_is_in_sync_with_the_changelog():
    assert (ROOT / "CITATION.cff").read_text(encoding="utf-8") == cff(DATA_DIR), \
        "CITATION.cff is stale: run `python -m analysis cite`"


def test_current_release_equals_what_export_writes(tmp_path):
    version = changelog(DATA_DIR)[0].version
    stored = DATA_DIR / "releases" / version / "results.csv"
    assert stored.is_file(), f"no release for {version}: run `python -m analysis release {version}`"
    st = living.state(DATA_DIR)
    export_write(st.review, tmp_path, st.plan)
    read = lambda p: pl.read_csv(p, infer_schema_length=None)  # noqa: E731
    assert not living.release_differences(read(stored), read(tmp_path / "results.csv")), \
        f"data/releases/{version}/results.csv differs from the export: run `python -m analysis release {version}`"


def test_release_differences_ignore_the_sixth_digit_only():
    stored = pl.DataFrame({"outcome": ["cr", "nrm"], "k": [3, 2], "estimate": [0.8593772810, None],
                           "hk_low": [1.328310138e-6, 0.0]})
    assert living.release_differences(stored, stored.clone()) == []
    noise = stored.with_columns(pl.Series("estimate", [0.8593772810 * (1 + 5e-6), None]),
                                pl.Series("hk_low", [1.328309674e-6, 5e-10]))
    assert living.release_differences(stored, noise) == []
    for changed in (stored.with_columns(pl.Series("estimate", [0.8594, None])),  # a result that moved
                    stored.with_columns(pl.Series("estimate", [0.8593772810, 0.1])),  # missing -> value
                    stored.with_columns(pl.Series("k", [4, 2])),
                    stored.with_columns(pl.Series("outcome", ["cr", "crs"]))):
        assert len(living.release_differences(stored, changed)) == 1
    assert living.release_differences(stored, stored.head(1))
    assert living.release_differences(stored, stored.drop("hk_low"))


def test_citation_never_invents_authors(tmp_path):
    data = copy_review(tmp_path)
    text = cff(data)
    assert f'name: "{TEAM_ENTITY}"' in text and 'version: "0.1.0"' in text
    (data / "team.yaml").write_text(yaml.safe_dump({"members": [{"name": "Doe, Jane"}], "url": "https://example.org/lsr"}))
    assert 'name: "Doe, Jane"' in cff(data) and "howpublished = {\\url{https://example.org/lsr}}" in bibtex(data)


def test_every_downloadable_column_has_a_meaning(tmp_path):
    st = living.state(copy_review(tmp_path))
    d = downloads.dictionary(downloads.tables(st, results=False))
    assert set(d["table"]) == set(downloads.DESCRIPTIONS)
    missing = d.filter(pl.col("meaning") == "")
    assert missing.height == 0, missing.rows()


def data_ids(data) -> list[str]:
    return sorted(p.stem for p in (data / "studies").glob("*.yaml"))


def _release(data, version: str, estimate: float, certainty: str) -> None:
    out = data / "releases" / version
    out.mkdir(parents=True)
    pl.DataFrame({"outcome": ["cr"], "analysis": ["primary"], "model": ["glmm"], "k": [3], "patients": [90],
                  "estimate": [estimate], "ci_low": [estimate - 0.1], "ci_high": [estimate + 0.05]}).write_csv(out / "results.csv")
    pl.DataFrame({"study": ["a", "b"] if version == "0.1.0" else ["a", "b", "c"], "n_infused": [10, 20] + ([] if version == "0.1.0" else [5])}
                 ).write_csv(out / "studies.csv")
    pl.DataFrame({"outcome": ["cr"], "certainty": [certainty]}).write_csv(out / "certainty.csv")


def test_what_changed_is_computed_from_the_stored_releases(tmp_path):
    data = copy_review(tmp_path)
    log = yaml.safe_load((data / "changelog.yaml").read_text())
    log.insert(0, {"version": "0.2.0", "date": "2026-02-01", "changes": ["a test release"]})
    (data / "changelog.yaml").write_text(yaml.safe_dump(log))
    write_appraisals(data, {s: "YYYYYYYYYY" for s in data_ids(data)})
    (data / "appraisal" / "grade_rules.yaml").write_text((DATA_DIR / "appraisal" / "grade_rules.yaml").read_text())
    _release(data, "0.1.0", 0.80, "Low")
    _release(data, "0.2.0", 0.86, "Very low")
    ch = living.changes(living.state(data), "0.2.0")
    assert ch["previous"] == "0.1.0" and ch["added"] == ["c"]
    row = ch["estimates"].row(0, named=True)
    assert row["conclusion changed"] == "yes"
    assert "certainty Low → Very low" in row["why"] and "another threshold band" in row["why"]
    assert living.changes(living.state(data), "0.1.0")["previous"] is None


def test_every_footer_links_to_the_cite_page():
    html = rv.footer_html("0.2.0", "2026-11-30", "abc1234", cite_href="../cite.html")
    assert '<a class="lsr-cite" href="../cite.html">Cite this version</a>' in html
    assert "Cite this version" not in rv.footer_html("0.2.0", "2026-11-30", "abc1234")

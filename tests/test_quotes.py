"""Quotes verified against a local text of the source document (analysis.review.quotes)."""
from __future__ import annotations

import polars as pl

from analysis.present import study as page
from analysis.review import loading as data
from analysis.review import quotes
from factory import MINIMAL, copy, write

TEXT = """Results: 43 subjects
were infused. Of these, 34 subjects (79%) achieved CR and nine had CRS."""


def review_with(tmp_path, study=MINIMAL, text: str | None = TEXT, seeds_text: str | None = None):
    write(tmp_path, study)
    if text is not None:
        (tmp_path / "sources").mkdir(exist_ok=True)
        (tmp_path / "sources" / f"{study['id']}.txt").write_text(text, encoding="utf-8")
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    if seeds_text is not None:
        (seeds / "demo.txt").write_text(seeds_text, encoding="utf-8")
    return data.load(tmp_path), seeds


def test_quotes_found_in_data_sources_are_verified(tmp_path):
    review, seeds = review_with(tmp_path)
    v = quotes.verify(review, seeds=seeds)
    assert v.columns == ["study", "field", "quote", "status", "source_file", "missing"]
    assert set(v["field"]) == {"population.n_infused.source", "arms[0].n.source", "outcomes[0].source"}
    assert set(v["status"]) == {"verified"}  # "43 subjects were infused" spans a line break
    assert v["source_file"][0].endswith("sources/demo2024.txt")


def test_a_quote_not_in_the_text_is_not_found_and_named(tmp_path):
    study = copy(MINIMAL)
    study["outcomes"][0]["source"] = "34 subjects (79%) ... achieved complete remission"
    review, seeds = review_with(tmp_path, study)
    v = quotes.verify(review, seeds=seeds).filter(pl.col("status") == "not_found")
    assert v.rows() == [("demo2024", "outcomes[0].source", "34 subjects (79%) ... achieved complete remission",
                         "not_found", v["source_file"][0], "achieved complete remission")]


def test_fragments_must_occur_in_order(tmp_path):
    study = copy(MINIMAL)
    study["outcomes"][0]["source"] = "achieved CR ... 34 subjects"
    review, seeds = review_with(tmp_path, study)
    row = quotes.verify(review, seeds=seeds).filter(pl.col("field") == "outcomes[0].source").row(0, named=True)
    assert (row["status"], row["missing"]) == ("not_found", "34 subjects")


def test_without_a_local_text_quotes_are_unchecked_not_failed(tmp_path):
    review, seeds = review_with(tmp_path, text=None)
    v = quotes.verify(review, seeds=seeds)
    assert set(v["status"]) == {"no_local_source"} and v["source_file"].null_count() == v.height


def test_the_seeds_copy_named_by_the_study_is_used_first(tmp_path):
    study = copy(MINIMAL)
    study["extracted_from"]["document"] = "demo.txt"
    review, seeds = review_with(tmp_path, study, text="nothing here", seeds_text=TEXT)
    v = quotes.verify(review, seeds=seeds)
    assert set(v["status"]) == {"verified"} and v["source_file"][0].endswith("seeds/demo.txt")


def test_an_unreadable_source_never_raises(tmp_path):
    (tmp_path / "sources" / "demo2024.txt").mkdir(parents=True)  # a folder where the text should be
    review, seeds = review_with(tmp_path, text=None)
    assert set(quotes.verify(review, seeds=seeds)["status"]) == {"no_local_source"}
    (tmp_path / "sources" / "demo2024.txt").rmdir()
    (tmp_path / "sources" / "demo2024.txt").write_bytes(b"43 subjects were infused \xff\xfe")
    assert "verified" in set(quotes.verify(review, seeds=seeds)["status"])


def test_the_chapter_lists_only_unverified_quotes_with_the_file_name(tmp_path, monkeypatch):
    study = copy(MINIMAL)
    study["outcomes"][0]["source"] = "34 subjects were cured"
    review, seeds = review_with(tmp_path, study)
    monkeypatch.setattr(quotes, "SEEDS", seeds)
    t = page.quote_checks(review, "demo2024")
    assert t.rows() == [("outcomes[0].source", "not found in demo2024.txt", "34 subjects were cured")]

"""What the synthesis chapters and the methods chapter say is generated from the plan and the results.

Runs on the frozen fixture copy of the review (tests/fixtures/review).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from analysis.present import methods
from analysis.present import synthesis as page
from analysis.review import loading, synthesis
from analysis.review.plan import load_plan

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "review"


@pytest.fixture(scope="module")
def review():
    return loading.load(FIXTURE)


@pytest.fixture(scope="module")
def plan():
    return load_plan(FIXTURE)


def test_headline_names_the_model_that_ran(review, plan):
    crude = page.headline(synthesis.analyse(review, "cr", plan).primary)
    assert crude.startswith("**Crude pooled count: 61/71 = 85.9%**") and "not a random-effects estimate" in crude
    glmm = page.headline(synthesis.analyse(review, "crs_grade3plus", plan).primary)
    assert "random\\-intercept logistic model" in glmm and "t-based 95% CI" in glmm


def test_heterogeneity_shows_intervals_and_warns_when_tau2_is_zero(review, plan):
    text = page.heterogeneity(synthesis.analyse(review, "crs_grade3plus", plan).primary)
    assert "tau² = 0.000 (95% CI 0.000 to" in text and "I² = 0% (95% CI 0% to" in text
    assert "not that there is none" in text
    assert page.heterogeneity(synthesis.analyse(review, "cr", plan).primary).startswith("Between-study heterogeneity is not estimated")


def test_forest_frame_has_every_set_with_its_method_and_printed_intervals(review, plan):
    an = synthesis.analyse(review, "cr", plan)
    frame = page.forest_frame(an)
    assert set(frame["set"]) == {set_id for set_id, _ in page.forest_sets(an, plan)} > set(an.rows)  # sets, then subgroups
    pooled = frame.filter(pl.col("kind") == "pooled")
    assert pooled.filter(pl.col("set") == "no_overlap")["label"][0] == "Pooled (crude pooled count, exact CI; k = 1)"
    # Zhang 2021 printed 79% (66, 92): the printed interval travels with its study row
    zhang = frame.filter((pl.col("set") == "primary") & (pl.col("label") == "Zhang 2021 (Leukemia)")).row(0, named=True)
    assert (zhang["reported_low"], zhang["reported_high"]) == (pytest.approx(0.66), pytest.approx(0.92))


def test_subtitle_follows_the_plan(review, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(FIXTURE, d)
    path = d / "analysis_plan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  study_ci: wilson", "  study_ci: clopper-pearson"),
                    encoding="utf-8")
    plan = load_plan(d)
    an = synthesis.analyse(loading.load(d), "crs_grade3plus", plan)
    assert "Clopper-pearson 95% CI" in page.forest_subtitle(an, plan)
    rows = an.rows["primary"].filter(pl.col("study") == "hua2020")
    from scipy import stats
    ref = stats.binomtest(3, 13).proportion_ci(method="exact")
    assert (rows["ci_low"][0], rows["ci_high"][0]) == (pytest.approx(ref.low), pytest.approx(ref.high))


def test_the_book_prints_exactly_the_results_rows(review, plan):
    an = synthesis.analyse(review, "crs_grade3plus", plan)
    shown = page.results_table([p.row() for p in an.pooled.values()])
    res = synthesis.results(review, plan, outcomes=["crs_grade3plus"])
    sets = res.filter(~pl.col("analysis").str.starts_with("leave out") & ~pl.col("analysis").str.starts_with("subgroup"))
    assert shown["analysis"].to_list() == sets["analysis"].to_list()
    assert shown["k"].to_list() == sets["k"].to_list()
    assert shown["estimate"].to_list() == [page.pct(x) for x in sets["estimate"].to_list()]


def test_methods_render_every_choice_of_the_plan_with_live_citations(plan):
    sections = dict(methods.plan_sections(plan))
    assert "{cite:p}`stijnen2010,lin2020`" in sections["Pooling single proportions"]
    assert "crude pooled count" in sections["Pooling single proportions"]
    assert "peer\\-reviewed\\, then larger\\, then newer" in sections["Overlapping series"]
    sets = methods.analysis_sets(plan)
    assert sets["analysis set"].to_list() == [s.label for s in plan.analysis_sets]
    defs = methods.outcome_definitions(plan)
    icans = defs.filter(pl.col("outcome") == "ICANS, any grade").row(0, named=True)
    assert icans["only in the broad-definitions set"].startswith("Neurotoxicity (not reported as ICANS)")


def test_the_switch_offers_every_subgroup_of_the_primary_analysis(review, plan):
    an = synthesis.analyse(review, "crs_grade3plus", plan)
    sets = dict(page.forest_sets(an, plan))
    assert list(sets)[: len(plan.analysis_sets)] == [s.id for s in plan.analysis_sets]
    assert sets["subgroup publication = conference abstract"] == "Subgroup, publication type: conference abstract"
    frame = page.forest_frame(an)
    studies = frame.filter((pl.col("set") == "subgroup publication = conference abstract") & (pl.col("kind") == "study"))
    assert studies["label"].to_list() == ["Zhang 2020 (ASH abstract): Relapsed after allo-HSCT (transplant-donor CAR-T)"]
    assert set(frame["set"]) == set(sets)


def test_a_set_of_many_studies_shows_its_pooled_rows_and_a_note(review, plan, monkeypatch):
    an = synthesis.analyse(review, "crs_grade3plus", plan)
    k = an.rows["primary"].filter(pl.col("included")).height
    monkeypatch.setattr(page, "FOREST_MAX_STUDIES", k - 1)
    frame = page.forest_frame(an).filter(pl.col("set") == "primary")
    assert frame.filter(pl.col("kind") == "study").height == 0
    assert frame.filter(pl.col("kind") == "note")["label"].to_list() == [f"{k} studies: see the table below"]
    assert frame.filter(pl.col("kind") == "pooled").height == 1


def test_leave_one_out_stops_above_its_limit(review, plan, monkeypatch):
    assert synthesis.analyse(review, "crs_grade3plus", plan).leave_one_out  # k = 3 today
    monkeypatch.setattr(synthesis, "LEAVE_ONE_OUT_MAX_K", 2)
    assert synthesis.analyse(review, "crs_grade3plus", plan).leave_one_out == []

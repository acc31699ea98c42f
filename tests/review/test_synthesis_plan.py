"""The plan-driven synthesis (issue 15): which figures enter which analysis, and how they are pooled.

Runs on the frozen fixture copy of the review (tests/fixtures/review), never on data/.  Each
"error found" of the issue is a test that fails on the synthesis the plan replaced.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from scipy import stats

from analysis.review import export, loading, selection, synthesis
from analysis.review.plan import load_plan
from analysis.review.pooling import RESULT_COLUMNS
from analysis.review.survival import select_landmarks

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "review"


@pytest.fixture(scope="module")
def review():
    return loading.load(FIXTURE)


@pytest.fixture(scope="module")
def plan():
    return load_plan(FIXTURE)


@pytest.fixture(scope="module")
def results(review, plan):
    """The fixture review's results table, computed once for the tests that only read it."""
    return synthesis.results(review, plan)


def included(df: pl.DataFrame) -> list[str]:
    return df.filter(pl.col("included"))["study"].to_list()


def reason(df: pl.DataFrame, study: str) -> str:
    return df.filter(pl.col("study") == study)["reason"][0]


# ------------------------------------------------------------------ overlap, decided per outcome

def test_overlap_is_decided_among_the_studies_that_report_the_outcome(review, plan):
    """Hua 2020 and the ASH 2020 abstract are each linked to Zhang 2021 only; Zhang 2021 does not
    report MRD-negative CR, so without overlapping series both stay (the transitive clusters of
    the old synthesis dropped Hua 2020 and printed 88.5% instead of 79.9%)."""
    df = selection.select(review, plan, "mrd_negative_cr", "no_overlap")
    assert sorted(included(df)) == ["hua2020", "zhang2020ash"]
    p = synthesis.analyse(review, "mrd_negative_cr", plan).pooled["no_overlap"]
    assert (p.events, p.patients) == (8 + 25, 13 + 28)


def test_the_overlap_rule_says_which_series_it_kept_and_why(review, plan):
    df = selection.select(review, plan, "cr", "no_overlap")
    assert included(df) == ["zhang2021"]
    assert reason(df, "zhang2020ash") == "possible overlap with zhang2021 (kept the peer-reviewed article)"
    # a possible overlap does not make two series one in the primary analysis
    assert sorted(included(selection.select(review, plan, "cr"))) == ["zhang2020ash", "zhang2021"]


def test_between_two_abstracts_the_larger_series_is_kept(review, plan, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(FIXTURE, d)
    path = d / "studies" / "ddcart2_2025.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["overlap"] = [{"study": "zhang2020ash", "likelihood": "confirmed", "reason": "same patients"}]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    df = selection.select(loading.load(d), load_plan(d), "mrd_negative_cr", "indirect")
    assert sorted(included(df)) == ["hua2020", "zhang2020ash"]
    assert reason(df, "ddcart2_2025") == "confirmed overlap with zhang2020ash (kept the larger series)"


def test_a_peer_reviewed_article_is_kept_over_a_larger_abstract(review, plan, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(FIXTURE, d)
    path = d / "studies" / "zhang2020ash.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["overlap"] = [{"study": "hua2020", "likelihood": "probable", "reason": "same centre, same period"}]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    df = selection.select(loading.load(d), load_plan(d), "mrd_negative_cr")
    assert included(df) == ["hua2020"]  # 13 patients in a journal vs 28 in an abstract
    assert reason(df, "zhang2020ash") == "probable overlap with hua2020 (kept the peer-reviewed article)"


# ------------------------------------------------------------------ populations, ambiguity, definitions

def test_indirect_populations_enter_only_their_sensitivity_analysis(review, plan):
    """ddCAR-T2 (5 B-ALL, 1 T-ALL with CD7 CAR-T, 1 plasma cell leukaemia with BCMA CAR-T)."""
    for outcome in ("agvhd_grade3plus", "nrm", "mrd_negative_cr"):
        an = synthesis.analyse(review, outcome, plan)
        assert "ddcart2_2025" not in an.primary.studies
        assert "ddcart2_2025" in an.pooled["indirect"].studies
        assert reason(an.rows["primary"], "ddcart2_2025").startswith("arm outside the analysis population (partial")


def test_an_ambiguous_figure_never_drives_a_primary_pool(review, plan):
    """Zhang 2021's '1-year EFS and survival was 43%' is printed once for two outcomes."""
    for outcome in ("os_12m", "efs_12m"):
        an = synthesis.analyse(review, outcome, plan)
        assert "zhang2021" not in an.primary.studies
        assert reason(an.rows["primary"], "zhang2021") == "figure recorded as ambiguous (ambiguous_wording)"
        assert "zhang2021" in an.pooled["ambiguous"].studies


def test_outcome_definitions_apply_to_every_study(review, plan):
    # 'CAR T-cell related neurotoxicity' (ASH 2020) is not ICANS: only in the broad-definitions set
    icans = synthesis.analyse(review, "icans_grade3plus", plan)
    assert "zhang2020ash" not in icans.primary.studies and "zhang2020ash" in icans.pooled["broad_definitions"].studies
    # GVHD of unstated type (Roddie 2025) does not enter acute GVHD grade III-IV
    agvhd = synthesis.analyse(review, "agvhd_grade3plus", plan)
    assert "roddie2025" not in agvhd.primary.studies and "roddie2025" in agvhd.pooled["broad_definitions"].studies
    # non-relapse mortality counts every non-relapse death, infection and GVHD deaths included
    nrm = selection.select(review, plan, "nrm").filter(pl.col("study") == "zhang2020ash").row(0, named=True)
    assert (nrm["events"], nrm["denominator"], nrm["included"]) == (5, 28, True)


def test_a_subgroup_figure_never_stands_for_all_patients(review, plan):
    efs = select_landmarks(review, plan, "efs_12m", "ambiguous")
    zhang = efs.filter(pl.col("study") == "zhang2021").row(0, named=True)
    assert zhang["S"] == pytest.approx(0.43)  # the whole cohort's 43%, not the 59% of those in CR


def test_peer_reviewed_set_uses_the_publication_type_not_what_was_read(review, plan):
    """Zhang 2021 is a journal article, although the review read the authors' summary of it."""
    df = selection.select(review, plan, "crs_grade3plus", "peer_reviewed")
    assert included(df) == ["hua2020", "zhang2021"]
    assert reason(df, "zhang2020ash").startswith("publication type conference_abstract")
    assert review.study("zhang2021").extracted_from.part == "secondary_report"


# ------------------------------------------------------------------ small-k methods

def test_fewer_than_three_studies_give_a_crude_count_with_an_exact_interval(review, plan):
    p = synthesis.analyse(review, "cr", plan).primary
    assert p.model == "crude_exact" and p.k == 2 and p.tau2 is None and p.pi_low is None
    ref = stats.binomtest(61, 71).proportion_ci(confidence_level=0.95, method="exact")  # Clopper-Pearson
    assert (p.estimate, p.ci_low, p.ci_high) == (pytest.approx(61 / 71), pytest.approx(ref.low), pytest.approx(ref.high))


def test_a_set_left_with_one_study_states_its_method(review, plan):
    """The old synthesis put that study's Wilson CI in the pooled column without saying so."""
    p = synthesis.analyse(review, "cr", plan).pooled["no_overlap"]
    assert p.model == "crude_exact" and p.k == 1 and "1 study" in p.detail
    ref = stats.binomtest(34, 43).proportion_ci(method="exact")
    assert (p.ci_low, p.ci_high) == (pytest.approx(ref.low), pytest.approx(ref.high))


def test_three_studies_or_more_use_the_planned_glmm(review, plan):
    an = synthesis.analyse(review, "crs_grade3plus", plan)
    p = an.primary
    assert p.model == "glmm" and p.k == 3 and p.weights is None
    est = an.rows["primary"].filter(pl.col("included"))["estimate"]
    assert est.min() <= p.estimate <= est.max() and p.ci_low < p.estimate < p.ci_high
    # the model sensitivity analysis is the inverse-variance logit model with its HKSJ interval
    q = an.pooled["logit_reml"]
    assert q.model == "logit_reml" and q.hk_low is not None and q.hk_low <= q.ci_low
    assert sum(q.weights) == pytest.approx(100)


def test_no_events_anywhere_gives_a_crude_count_not_an_infinite_model(review, plan):
    p = synthesis.analyse(review, "agvhd_grade3plus", plan).pooled["broad_definitions"]
    assert p.model == "crude_exact" and p.events == 0 and p.k == 3 and "no finite estimate" in p.detail


def test_leave_one_out_refits_the_primary_model(review, plan):
    an = synthesis.analyse(review, "crs_grade3plus", plan)
    assert [p.analysis for p in an.leave_one_out] == [f"leave out {s}" for s in an.primary.studies]
    assert all(p.model == "crude_exact" and p.k == 2 for p in an.leave_one_out)  # below min_k once one is out


def test_subgroup_tests_need_two_studies_per_subgroup(review, plan):
    an = synthesis.analyse(review, "crs_grade3plus", plan)
    pub = next(s for s in an.subgroups if s.variable == "publication")
    assert pub.test is None and "fewer than 2 studies" in pub.why_no_test
    assert set(pub.pooled) == {"peer-reviewed article", "conference abstract"}


def test_plan_min_k_is_read_from_the_plan(tmp_path):
    d = tmp_path / "data"
    shutil.copytree(FIXTURE, d)
    path = d / "analysis_plan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    min_k: 3\n    below_min_k: crude_exact",
                                                            "    min_k: 2\n    below_min_k: crude_exact"), encoding="utf-8")
    assert synthesis.analyse(loading.load(d), "cr", load_plan(d)).primary.model == "glmm"


# ------------------------------------------------------------------ results as data

def test_results_table_has_the_issue_columns_and_one_row_per_outcome_and_analysis(plan, results):
    res = results
    assert list(res.columns) == list(RESULT_COLUMNS)
    assert res.select("outcome", "analysis").is_duplicated().sum() == 0
    primary = res.filter(pl.col("analysis") == "primary")
    assert primary["outcome"].to_list() == list(plan.outcomes)
    assert res.filter(pl.col("model") == "crude_exact")["tau2"].is_null().all()


def test_export_writes_the_rows_the_book_shows(review, plan, results, tmp_path):
    paths = export.write(review, tmp_path, plan)
    assert {p.name for p in paths} == {f"{t}.{ext}" for t in export.TABLES for ext in ("csv", "parquet")}
    parquet = pl.read_parquet(tmp_path / "results.parquet")
    assert parquet.equals(results)
    csv = pl.read_csv(tmp_path / "results.csv", schema=RESULT_COLUMNS)
    assert csv.height == parquet.height and csv["estimate"].to_list() == pytest.approx(parquet["estimate"].to_list(), nan_ok=True)


def test_adding_a_study_raises_k_in_every_outcome_it_reports(review, plan, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(FIXTURE, d)
    quote = "six patients received donor CAR-T"
    new = {
        "id": "new2026", "short_name": "New 2026",
        "citation": {"authors": ["Roe R"], "year": 2026, "title": "Six patients", "bibkey": "new2026"},
        "publication_type": "full_paper", "extracted_from": {"identifier": "seed:x.txt", "part": "abstract", "what": "abstract"},
        "design": "retrospective_series", "population": {}, "grading": {},
        "arms": [{"id": "all", "label": "All", "n": {"value": 6, "source": quote}, "role": "intervention",
                  "intervention": "donor CAR-T", "population_fit": "direct"}],
        "outcomes": [{"outcome": o, "arm": "all", "events": e, "denominator": 6, "denominator_kind": "infused",
                      "source": quote} for o, e in (("cr", 5), ("crs_grade3plus", 1), ("death_nonrelapse", 0))],
    }
    (d / "studies" / "new2026.yaml").write_text(yaml.safe_dump(new), encoding="utf-8")
    grown = loading.load(d)
    for outcome in ("cr", "crs_grade3plus", "nrm"):  # the primary analyses only (sets=()): what k is read from
        before = synthesis.analyse(review, outcome, plan, sets=()).primary
        after = synthesis.analyse(grown, outcome, load_plan(d), sets=()).primary
        assert after.k == before.k + 1 and "new2026" in after.studies and "new2026" not in before.studies


def test_csv_export_is_blind_to_the_last_bits_of_a_float():
    a = pl.DataFrame({"x": [5.289374432991944], "studies": [["a", "b"]]})
    b = pl.DataFrame({"x": [5.289374432991895], "studies": [["a", "b"]]})
    assert export.flat(a).write_csv() == export.flat(b).write_csv() == "x,studies\n5.289374433,\"a, b\"\n"

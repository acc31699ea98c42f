"""Study-level selection, sensitivity scenarios, the reported-vs-recomputed audit, and the living-review property."""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from analysis import data, report, synthesis

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def review():
    return data.load()


def test_cr_selection_excludes_outside_population_and_comparators(review):
    cr = synthesis.study_level(review, "cr")
    # ASH 2020: only the 28 patients relapsed after allo-HSCT, never the 9 without a transplant
    ash = cr.filter(pl.col("study") == "zhang2020ash").row(0, named=True)
    assert (ash["events"], ash["denominator"], ash["arm"]) == (27, 28, "prior_hsct")
    mrd = synthesis.study_level(review, "mrd_negative_cr")
    hua = mrd.filter(pl.col("study") == "hua2020").row(0, named=True)
    assert (hua["events"], hua["denominator"], hua["arm"]) == (8, 13, "car_t")  # not the DLI arm (2/15)
    assert mrd["study"].n_unique() == mrd.height  # one row per study


def test_direct_only_drops_partial_population(review):
    assert "ddcart2_2025" in synthesis.study_level(review, "mrd_negative_cr")["study"].to_list()
    assert "ddcart2_2025" not in synthesis.study_level(review, "mrd_negative_cr", fits=("direct",))["study"].to_list()


def test_combined_arm_is_preferred(review):
    g = synthesis.study_level(review, "gvhd_any").filter(pl.col("study") == "roddie2025").row(0, named=True)
    assert (g["events"], g["denominator"]) == (2, 14) and g["selection"].startswith("combined arm")


def _copy_data(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "data", tmp_path / "data")
    return tmp_path / "data"


def _two_arm_study(outcomes: list[dict]) -> dict:
    src = "seven patients in each arm"
    return {
        "id": "twoarm2024", "short_name": "Two-arm 2024",
        "citation": {"authors": ["Roe R"], "year": 2024, "title": "Two arms", "bibkey": "twoarm2024"},
        "publication_type": "full_paper", "extracted_from": {"document": "x.txt", "what": "abstract"},
        "design": "prospective_trial", "population": {}, "grading": {},
        "arms": [{"id": a, "label": a.upper(), "n": {"value": 7, "source": src}, "role": "intervention",
                  "intervention": "donor CAR-T", "population_fit": "direct"} for a in ("a", "b")],
        "outcomes": outcomes,
    }


def test_arms_are_summed_when_no_combined_record(tmp_path):
    d = _copy_data(tmp_path)
    rec = lambda arm, ev: {"outcome": "cr", "arm": arm, "events": ev, "denominator": 7,  # noqa: E731
                           "denominator_kind": "infused", "source": "seven patients in each arm"}
    (d / "studies" / "twoarm2024.yaml").write_text(yaml.safe_dump(_two_arm_study([rec("a", 3), rec("b", 6)])))
    row = synthesis.study_level(data.load(d), "cr").filter(pl.col("study") == "twoarm2024").row(0, named=True)
    assert (row["events"], row["denominator"]) == (9, 14)
    assert row["selection"] == "summed over arms: A + B"


def test_unlike_denominators_are_not_summed(tmp_path):
    d = _copy_data(tmp_path)
    recs = [{"outcome": "cr", "arm": "a", "events": 3, "denominator": 7, "denominator_kind": "infused",
             "source": "seven patients in each arm"},
            {"outcome": "cr", "arm": "b", "events": 5, "denominator": 6, "denominator_kind": "evaluable",
             "source": "seven patients in each arm"}]
    (d / "studies" / "twoarm2024.yaml").write_text(yaml.safe_dump(_two_arm_study(recs)))
    with pytest.raises(ValueError, match="twoarm2024: cr: arms report different denominator kinds"):
        synthesis.study_level(data.load(d), "cr")


def test_adding_a_study_file_updates_the_synthesis(tmp_path, review):
    before = synthesis.pool_proportion(review, "cr")
    d = _copy_data(tmp_path)
    new = _two_arm_study([{"outcome": "cr", "arm": "a", "events": 5, "denominator": 7,
                           "denominator_kind": "infused", "source": "seven patients in each arm"}])
    new["arms"] = new["arms"][:1]
    (d / "studies" / "twoarm2024.yaml").write_text(yaml.safe_dump(new))
    after = synthesis.pool_proportion(data.load(d), "cr")
    assert after.result.k == before.result.k + 1
    assert "twoarm2024" in after.studies["study"].to_list()
    assert after.result.estimate != pytest.approx(before.result.estimate)


def test_sensitivity_scenarios(review):
    p = synthesis.pool_proportion(review, "cr")
    sens = {r["scenario"]: r for r in p.sensitivity.iter_rows(named=True)}
    assert set(sens) == set(synthesis.SCENARIOS)
    assert sens["primary"]["k"] == p.result.k
    # zhang2021 (43) and zhang2020ash (28) may overlap: the larger series is kept
    assert sens["no_overlap"]["studies"] == "zhang2021"
    assert sens["no_overlap"]["pooled"] == pytest.approx(34 / 43)
    # pooled estimate lies inside the range of the study estimates and its CI contains it
    est = p.studies["estimate"]
    assert est.min() <= p.result.estimate <= est.max()
    assert p.result.ci_lb < p.result.estimate < p.result.ci_ub


def test_pooled_weights_sum_to_100(review):
    p = synthesis.pool_proportion(review, "crs_grade3plus")
    assert p.studies["weight"].sum() == pytest.approx(100.0)


# ---------------------------------------------------------- audit against the reports' own numbers


def test_audit_identifies_zhang2021_interval_methods(review):
    """Zhang 2021 prints CR 79% (66, 92) and ICANS 21% (8, 34): Wald with continuity correction;
    CRS 88% (78, 98) is reproduced by none of the standard methods at 0 decimals."""
    a = report.audit(review).filter(pl.col("study") == "zhang2021")
    methods = dict(zip(a["outcome"], a["ci_methods"]))
    assert methods["cr"] == "wald-cc"
    assert methods["icans_any"] == "wald-cc"
    assert methods["crs_any"] == "none"


def test_audit_flags_hua_truncated_percentage(review):
    a = report.audit(review).filter((pl.col("study") == "hua2020") & (pl.col("outcome") == "crs_grade3plus"))
    check = a["check"][0]
    assert "23.07% is not 3/13; counts giving it: none" in check and "percent_not_reproducible" in check


def test_problems_view_lists_every_unreproducible_figure(review):
    probs = report.problems(report.audit(review))
    assert {"hua2020", "zhang2021", "zhang2020ash"} <= set(probs["study"])


def test_markdown_table_escapes_pipes():
    md = report.markdown(pl.DataFrame({"a": ["x|y"], "source": ["q"]}))
    assert "x\\|y" in md and "“q”" in md

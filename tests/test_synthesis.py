"""Selection details, the reported-vs-recomputed audit, survival reconstruction and landmark estimates.

Runs on the frozen fixture copy of the review (tests/fixtures/review); the plan-driven pooling
is tested in tests/review/test_synthesis_plan.py.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from analysis.present import study as page
from analysis.present import tables
from analysis.review import audit, comparisons, survival
from analysis.review import loading as data
from analysis.review.plan import load_plan
from analysis.review.pooling import pool_landmarks
from analysis.review.selection import select
from analysis.review.survival import select_landmarks

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "review"


@pytest.fixture(scope="module")
def review():
    return data.load(FIXTURE)


@pytest.fixture(scope="module")
def plan():
    return load_plan(FIXTURE)


def test_selection_never_takes_arms_outside_the_population_or_comparators(review, plan):
    cr = select(review, plan, "cr", "indirect")
    # ASH 2020: only the 28 patients relapsed after allo-HSCT, never the 9 without a transplant
    ash = cr.filter(pl.col("study") == "zhang2020ash").row(0, named=True)
    assert (ash["events"], ash["denominator"], ash["arm"]) == (27, 28, "prior_hsct")
    hua = select(review, plan, "mrd_negative_cr").filter(pl.col("study") == "hua2020").row(0, named=True)
    assert (hua["events"], hua["denominator"], hua["arm"]) == (8, 13, "car_t")  # not the DLI arm (2/15)


def test_combined_arm_is_preferred(review, plan):
    g = select(review, plan, "agvhd_any", "broad_definitions").filter(pl.col("study") == "roddie2025").row(0, named=True)
    assert (g["events"], g["denominator"]) == (2, 14) and g["selection"].startswith("combined arm")
    assert (g["age_group"], g["donor"], g["lymphodepletion"]) == ("adults", "matched", "mixed")


def _copy_data(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "data")
    return tmp_path / "data"


def _two_arm_study(outcomes: list[dict]) -> dict:
    src = "seven patients in each arm"
    return {
        "id": "twoarm2024", "short_name": "Two-arm 2024",
        "citation": {"authors": ["Roe R"], "year": 2024, "title": "Two arms", "bibkey": "twoarm2024"},
        "publication_type": "full_paper", "extracted_from": {"identifier": "seed:x.txt", "part": "abstract", "what": "abstract"},
        "design": "prospective_trial", "population": {}, "grading": {},
        "arms": [{"id": a, "label": a.upper(), "n": {"value": 7, "source": src}, "role": "intervention",
                  "intervention": "donor CAR-T", "population_fit": "direct",
                  "characteristics": {"lymphodepletion": {"value": v, "source": src}}}
                 for a, v in (("a", "none"), ("b", "fludarabine_based"))],
        "outcomes": outcomes,
    }


def test_arms_are_summed_when_no_combined_record(tmp_path):
    d = _copy_data(tmp_path)
    rec = lambda arm, ev: {"outcome": "cr", "arm": arm, "events": ev, "denominator": 7,  # noqa: E731
                           "denominator_kind": "infused", "source": "seven patients in each arm"}
    (d / "studies" / "twoarm2024.yaml").write_text(yaml.safe_dump(_two_arm_study([rec("a", 3), rec("b", 6)])))
    row = select(data.load(d), load_plan(d), "cr").filter(pl.col("study") == "twoarm2024").row(0, named=True)
    assert (row["events"], row["denominator"]) == (9, 14)
    assert row["selection"] == "summed over arms: A + B"
    assert row["lymphodepletion"] == "mixed"  # the arms are coded differently


def test_unlike_denominators_are_never_summed(tmp_path):
    """Arms with infused and evaluable denominators: the plan's primary kind (infused) is taken."""
    d = _copy_data(tmp_path)
    recs = [{"outcome": "cr", "arm": "a", "events": 3, "denominator": 7, "denominator_kind": "infused",
             "source": "seven patients in each arm"},
            {"outcome": "cr", "arm": "b", "events": 5, "denominator": 6, "denominator_kind": "evaluable",
             "source": "seven patients in each arm"}]
    (d / "studies" / "twoarm2024.yaml").write_text(yaml.safe_dump(_two_arm_study(recs)))
    row = select(data.load(d), load_plan(d), "cr").filter(pl.col("study") == "twoarm2024").row(0, named=True)
    assert (row["events"], row["denominator"], row["denominator_kind"]) == (3, 7, "infused")


# ---------------------------------------------------------- audit against the reports' own numbers


def test_audit_identifies_zhang2021_interval_methods(review):
    """Zhang 2021 prints CR 79% (66, 92) and ICANS 21% (8, 34): Wald with continuity correction;
    CRS 88% (78, 98) is the plain Wald interval computed on the rounded 88%, not on 38/43."""
    a = audit.audit(review).filter(pl.col("study") == "zhang2021")
    methods = dict(zip(a["outcome"], a["ci_methods"].to_list()))
    assert methods["cr"] == ["wald-cc"]
    assert methods["icans_any"] == ["wald-cc"]
    assert methods["crs_any"] == ["wald (on the printed 88%)"]


def test_audit_flags_hua_truncated_percentage(review):
    a = page.audit_table(review).filter((pl.col("study") == "hua2020") & (pl.col("outcome") == "crs_grade3plus"))
    row = a.row(0, named=True)
    assert row["percent_check"] == "not_reproduced" and row["counts_low"] > row["counts_high"] and row["problem"]
    assert "23.07% is not 3/13; counts giving it: none" in row["check"] and "percent_not_reproducible" in row["check"]


def test_problems_view_lists_every_unreproducible_figure(review):
    probs = audit.audit(review).filter(pl.col("problem"))
    assert {"hua2020", "zhang2021", "zhang2020ash"} <= set(probs["study"])


def test_markdown_table_escapes_pipes():
    md = tables.markdown(pl.DataFrame({"a": ["x|y"], "source": ["q"]}))
    assert "x\\|y" in md and "“q”" in md


# ---------------------------------------------------------------- survival from the data files


def test_ddcart2_reconstruction_reproduces_printed_two_year_os(review):
    """The abstract prints 2-year OS 85.7% (95% CI 33.4-97.9); the pseudo-IPD built from the data
    file (7 patients, one death on day 70, follow-up 70-1290 days) gives exactly that in lifelines."""
    from analysis.stats import survival as sv

    rec = {(r.outcome, r.arm): r for r in survival.reconstructions(review, "ddcart2_2025")}
    os_ = rec[("os", "all")].result
    assert os_.all_match
    S, lo, hi = sv.km_at(sv.fit_km(os_.data), 730)
    assert (round(100 * S, 1), round(100 * lo, 1), round(100 * hi, 1)) == (85.7, 33.4, 97.9)


def test_roddie_landmarks_reconstructed_and_explained(review):
    rec = {(r.outcome, r.arm): r.result for r in survival.reconstructions(review, "roddie2025")}
    assert set(rec) == {("os", "car_dli_alone"), ("os", "car_dli_ld"), ("efs", "car_dli_alone"), ("efs", "car_dli_ld")}
    assert all(r.all_match for r in rec.values())
    expl = page.km_explanations(review, "roddie2025")
    reading = dict(zip(zip(expl["outcome"], expl["arm"]), expl["reading"]))
    assert reading[("Overall survival", "CAR-DLI + Flu/Cy")].startswith("not k/7: needs censoring")
    assert reading[("Overall survival", "CAR-DLI alone")] == "= 2/7: reachable without censoring (k/n)"
    assert reading[("Event-free survival", "CAR-DLI + Flu/Cy")] == "= 4/7: reachable without censoring (k/n)"


def test_loglog_ci_inversion_recovers_greenwood_variance(review):
    """Inverting the printed log(-log) CI of ddCAR-T2 gives (to printing precision) the Greenwood SE
    of the exact reconstruction: sqrt(S^2 * 1/(7*6)) for one death among 7."""
    import math

    r = review.outcomes.filter((pl.col("study") == "ddcart2_2025") & (pl.col("outcome") == "os")
                               & (pl.col("estimator") == "km_landmark")).row(0, named=True)
    got = survival.reported_landmark(r, 24)
    exact = (6 / 7) * math.sqrt(1 / (7 * 6))
    assert got["estimate_source"].endswith("log(-log) interval)")
    assert got["se_S"] == pytest.approx(exact, rel=0.01)


def test_hua_reported_p_reproduced_by_fisher_not_plain_chi_square(review):
    """Hua 2020 prints p = 0.02 for MRD-negative CR 8/13 vs 2/15: Fisher's exact (0.0163) and
    Yates-corrected chi-square (0.0239) round to it; the uncorrected chi-square (0.0079) does not."""
    c = comparisons.arm_comparisons(review, "hua2020").filter(pl.col("outcome") == "mrd_negative_cr").row(0, named=True)
    assert c["reported_p"] == "0.02"
    assert c["reproduced_by"] == ["fisher", "chisq_yates"]
    # independent reference: scipy.stats.fisher_exact([[8, 5], [2, 13]]) and chi2_contingency
    assert c["fisher_p"] == pytest.approx(0.0163234, abs=1e-7)
    assert c["chisq_p"] == pytest.approx(0.0079325, abs=1e-7)
    assert c["yates_p"] == pytest.approx(0.0238513, abs=1e-7)
    assert (round(c["rr"], 2), round(c["rr_low"], 2), round(c["rr_high"], 2)) == (4.62, 1.18, 17.98)


def test_a_digitised_curve_in_data_curves_enters_the_synthesis(tmp_path):
    """Adding a curve (format of data/curves/README.md) makes the study's survival come from it."""
    d = _copy_data(tmp_path)
    fixtures = ROOT / "tests" / "fixtures" / "curves"
    for src in fixtures.glob("example2020__os__all*"):
        text = src.read_text(encoding="utf-8")
        if src.suffix == ".yaml":
            text = text.replace("study_id: example2020", "study_id: zhang2021")
        (d / "curves" / src.name.replace("example2020", "zhang2021")).write_text(text, encoding="utf-8")
    review = data.load(d)
    recon = [r for r in survival.reconstructions(review, "zhang2021") if r.outcome == "os"]
    assert len(recon) == 1 and recon[0].kind == "curve"
    assert recon[0].source == "reconstructed from published curve"
    assert recon[0].data.height == 40  # the fixture's 40 patients (its risk table starts at 40)
    plan = load_plan(d)
    row = select_landmarks(review, plan, "os_12m", "ambiguous").filter(pl.col("study") == "zhang2021").row(0, named=True)
    assert row["estimate_source"] == "reconstructed from published curve" and row["included"]
    # without the curve the printed 43% (25, 62) is used
    row0 = select_landmarks(data.load(FIXTURE), plan, "os_12m", "ambiguous").filter(pl.col("study") == "zhang2021").row(0, named=True)
    assert row0["estimate_source"].startswith("reported")


def test_landmark_estimates_sources_and_exclusions(review, plan):
    df = select_landmarks(review, plan, "os_12m", "ambiguous")
    by = {r["study"]: r for r in df.iter_rows(named=True)}
    assert by["roddie2025"]["estimate_source"].startswith("reconstructed from reported summaries (arms combined)")
    assert by["zhang2021"]["estimate_source"].startswith("reported (variance from the printed interval, symmetric")
    assert by["zhang2021"]["S"] == pytest.approx(0.43)
    # Zhang 2021 prints (25, 62): a linear interval of half-width 1.96 SE
    assert by["zhang2021"]["se_S"] == pytest.approx((0.62 - 0.25) / (2 * 1.959964), rel=1e-6)
    for sid in ("hua2020", "zhang2020ash"):  # descriptive medians only
        assert not by[sid]["included"] and "descriptive medians" in by[sid]["reason"]
    # ddCAR-T2 (indirect population): its only death is on day 70, so 1-year OS is 6/7 in every reconstruction
    indirect = select_landmarks(review, plan, "os_12m", "indirect").filter(pl.col("study") == "ddcart2_2025")
    assert indirect["S"][0] == pytest.approx(6 / 7)


def test_pooled_landmark_back_transforms_consistently(review, plan):
    rows = select_landmarks(review, plan, "os_12m", "ambiguous").filter(pl.col("included"))
    rows = pl.concat([rows, select_landmarks(review, plan, "os_12m", "indirect").filter(
        pl.col("included") & (pl.col("study") == "ddcart2_2025"))])
    p = pool_landmarks(rows, "os_12m", "test", min_k=3, level=0.95)
    assert p.model == "cloglog_reml" and p.k == 3
    assert p.ci_low < p.estimate < p.ci_high and p.pi_low <= p.ci_low
    assert rows["S"].min() <= p.estimate <= rows["S"].max()

"""Study-level selection, sensitivity scenarios, the reported-vs-recomputed audit, and the living-review property."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from analysis.present import study as page
from analysis.present import tables
from analysis.review import audit, comparisons, survival, synthesis
from analysis.review import loading as data

from factory import FIXTURE, ROOT, copy_review


@pytest.fixture(scope="module")
def review():
    """The frozen fixture review (tests/fixtures/review): adding a study to data/ changes nothing here."""
    return data.load(FIXTURE)


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
    return copy_review(tmp_path)


def _two_arm_study(outcomes: list[dict]) -> dict:
    src = "seven patients in each arm"
    return {
        "id": "twoarm2024", "short_name": "Two-arm 2024",
        "citation": {"authors": ["Roe R"], "year": 2024, "title": "Two arms", "bibkey": "twoarm2024"},
        "publication_type": "full_paper", "extracted_from": {"identifier": "seed:x.txt", "part": "abstract", "what": "abstract"},
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
    a = audit.audit(review).filter(pl.col("study") == "zhang2021")
    methods = dict(zip(a["outcome"], a["ci_methods"].to_list()))
    assert methods["cr"] == ["wald-cc"]
    assert methods["icans_any"] == ["wald-cc"]
    assert methods["crs_any"] == []


def test_audit_flags_hua_truncated_percentage(review):
    a = page.audit_table(review).filter((pl.col("study") == "hua2020") & (pl.col("outcome") == "crs_grade3plus"))
    row = a.row(0, named=True)
    assert row["percent_check"] == "not_reproduced" and row["percent_counts"] == [] and row["problem"]
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
    from analysis import survival as sv

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


def test_landmark_estimates_sources_and_exclusions(review):
    df = survival.landmark_estimates(review, "os", 12, "months")
    by = {r["study"]: r for r in df.iter_rows(named=True)}
    assert by["roddie2025"]["estimate_source"].startswith("reconstructed from reported summaries (arms combined)")
    assert by["zhang2021"]["estimate_source"].startswith("reported (variance from the printed interval, symmetric")
    assert by["zhang2021"]["S"] == pytest.approx(0.43)
    # Zhang 2021 prints (25, 62): a linear interval of half-width 1.96 SE
    assert by["zhang2021"]["se_S"] == pytest.approx((0.62 - 0.25) / (2 * 1.959964), rel=1e-6)
    for sid in ("hua2020", "zhang2020ash"):  # descriptive medians only
        assert not by[sid]["poolable"] and "descriptive medians" in by[sid]["reason"]
    # ddCAR-T2: the only death is on day 70, so 1-year OS is 6/7 in every consistent reconstruction
    assert by["ddcart2_2025"]["S"] == pytest.approx(6 / 7)


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


def test_pooled_landmark_back_transforms_consistently(review):
    p = survival.pool_landmark(review, "os", 12, "months")
    row = p.pooled
    assert p.result.k == 3
    assert row["ci_lower"] < row["estimate"] < row["ci_upper"]
    used = p.studies.filter(pl.col("poolable"))["S"]
    assert used.min() <= row["estimate"] <= used.max()


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


def test_roddie_landmark_comparison_uses_reconstructed_arms(review):
    t = comparisons.landmark_comparisons(review, "roddie2025")
    rows = {r["outcome"]: r for r in t.iter_rows(named=True)}
    assert (rows["os"]["S_a"], rows["os"]["S_b"]) == (pytest.approx(5 / 6), pytest.approx(2 / 7))
    assert (rows["efs"]["S_a"], rows["efs"]["S_b"]) == (pytest.approx(4 / 7), pytest.approx(2 / 7))
    assert 0 < rows["os"]["p_cloglog"] < 1


def test_leave_one_out_matches_refitting_without_each_study(review):
    from analysis import meta

    p = synthesis.pool_proportion(review, "crs_grade3plus")
    loo = synthesis.leave_one_out(p)
    assert loo.height == p.studies.height
    first = loo.row(0, named=True)
    rest = p.studies.filter(pl.col("study") != first["omitted"])
    direct = meta.proportions(rest["events"].to_numpy(), rest["denominator"].to_numpy(), transform="logit")
    assert first["pooled"] == pytest.approx(direct.estimate)
    # on the logit scale it agrees with the kernel's own leave-one-out (metafor leave1out)
    from scipy.special import expit
    k = meta.leave_one_out(pl.DataFrame({"study": p.studies["study"], "yi": p.result.yi, "vi": p.result.vi}))
    assert list(expit(k["estimate"].to_numpy())) == pytest.approx(list(loo["pooled"]))


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
    row = survival.landmark_estimates(review, "os", 12, "months").filter(pl.col("study") == "zhang2021").row(0, named=True)
    assert row["estimate_source"] == "reconstructed from published curve" and row["poolable"]
    # without the curve the printed 43% (25, 62) is used
    row0 = survival.landmark_estimates(data.load(FIXTURE), "os", 12, "months").filter(pl.col("study") == "zhang2021").row(0, named=True)
    assert row0["estimate_source"].startswith("reported")

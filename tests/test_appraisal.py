"""Risk of bias (JBI, ROBINS-I) and GRADE: the rules, validation lines, and pages that follow the data.

Runs on a copy of the fixture review with appraisal files written here, never on data/.
"""
from __future__ import annotations

import polars as pl
import pytest
import yaml

from analysis.review import appraisal as ap
from analysis.review import grade as gr

from factory import copy_review, write_appraisals

FIXTURE_STUDIES = ["ddcart2_2025", "hua2020", "roddie2025", "zhang2020ash", "zhang2021"]


@pytest.mark.parametrize("answers, expected", [
    ("YYYYYYYYYY", "Low"),
    ("UYYYYYYYYY", "Low"),          # one non-critical item unclear
    ("UUYYYYYYYY", "Some concerns"),  # two non-critical items unclear
    ("YYYUYYYYYY", "Some concerns"),  # one critical item unclear
    ("YYYUUYYYYY", "High"),           # two critical items unclear
    ("YYYNYYYYYY", "High"),           # a critical item No
    ("YYYYYYYYY-", "Low"),            # Q10 not applicable is ignored
])
def test_jbi_overall_rule(answers, expected):
    a = dict(zip(ap.JBI_ITEMS, [{"-": "NA"}.get(x, x) for x in answers]))
    assert ap.jbi_overall(a) == expected


def test_robins_overall_is_the_tools_rule():
    assert ap.robins_overall(["Low"] * 7) == "Low"
    assert ap.robins_overall(["Low", "Moderate"] + ["Low"] * 5) == "Moderate"
    assert ap.robins_overall(["Serious", "No information"] + ["Low"] * 5) == "Serious"
    assert ap.robins_overall(["Critical", "Serious"] + ["Low"] * 5) == "Critical"
    assert ap.robins_overall(["Moderate", "No information"] + ["Low"] * 5) == "No information"


def test_appraisal_problems_are_lines(tmp_path):
    data = copy_review(tmp_path)
    write_appraisals(data, {s: "YYYYYYYYYY" for s in FIXTURE_STUDIES})
    path = data / "appraisal" / "hua2020.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["jbi"]["q4"].pop("quote")
    doc["jbi"]["q7"]["answer"] = "Maybe"
    doc["override"] = {"judgement": "Low", "justification": "the same as derived, which is not an override"}
    path.write_text(yaml.safe_dump(doc))
    (data / "appraisal" / "zhang2021.yaml").unlink()
    _, problems = ap.load(data, FIXTURE_STUDIES)
    text = "\n".join(map(str, problems))
    assert "hua2020.yaml: hua2020: jbi.q7.answer: 'Maybe' is not one of" in text
    assert "zhang2021: (study): included study without a risk-of-bias appraisal" in text
    assert "Traceback" not in text
    doc["jbi"]["q7"]["answer"] = "Y"
    path.write_text(yaml.safe_dump(doc))
    _, problems = ap.load(data, FIXTURE_STUDIES)
    text = "\n".join(map(str, problems))
    assert "hua2020: jbi.q4.quote: a Yes answer needs the supporting quote" in text
    assert "hua2020: override: the override equals the derived judgement: remove it" in text


def test_a_risk_of_bias_judgement_changes_the_page_with_no_other_edit(tmp_path):
    from analysis.present.appraisal import overall_table
    from analysis.review.living import state

    data = copy_review(tmp_path)
    write_appraisals(data, {s: "YYYYYYYYYY" for s in FIXTURE_STUDIES})
    (data / "changelog.yaml").write_text((data / "changelog.yaml").read_text())
    before = overall_table(state(data))
    assert before.filter(pl.col("study") == "Hua 2020 (BMT)")["final judgement"].to_list() == ["Low"]
    write_appraisals(data, {"hua2020": "YYYNYYYYYY"})
    after = overall_table(state(data))
    assert after.filter(pl.col("study") == "Hua 2020 (BMT)")["final judgement"].to_list() == ["High"]


# --------------------------------------------------------------------------- GRADE rules

RULES = gr.Rules(start=gr.Start(level="low", rationale="x"), thresholds={"cr": [0.5, 0.7, 0.85]},
                 thresholds_status="test", preferred_scales={"crs": ["ASTCT2019"]}, rationale={})


def test_bands_and_spans():
    cuts = [0.5, 0.7, 0.85]
    assert [gr.bands(x, cuts) for x in (0.1, 0.5, 0.69, 0.9)] == [0, 1, 1, 3]
    assert gr.spanned(0.72, 0.8, cuts) == 1 and gr.spanned(0.6, 0.9, cuts) == 3


def test_imprecision_takes_the_largest_step_not_the_sum():
    res = {"estimate": 0.8, "ci_low": 0.72, "ci_high": 0.84, "patients": 40, "events": 32}
    levels, reason = gr.imprecision(res, None, [0.5, 0.7, 0.85], RULES)
    assert levels == -1  # fewer than the OIS (62) and fewer than 10 non-events: -1 once, not -2
    assert "fewer than the 62 needed" in reason and "8 non-events" in reason
    wide = {"estimate": 0.5, "ci_low": 0.1, "ci_high": 0.8, "patients": 10, "events": 5}
    assert gr.imprecision(wide, None, [0.5, 0.7, 0.85], RULES)[0] == -3


def test_inconsistency_with_two_studies():
    apart = pl.DataFrame({"estimate": [0.2, 0.9], "ci_low": [0.1, 0.8], "ci_high": [0.3, 0.95]})
    assert gr.inconsistency(apart, {}, [0.5, 0.7, 0.85])[0] == -1
    close = pl.DataFrame({"estimate": [0.6, 0.75], "ci_low": [0.4, 0.5], "ci_high": [0.8, 0.9]})
    assert gr.inconsistency(close, {}, [0.5, 0.7, 0.85])[0] == 0


def test_risk_of_bias_weighted_by_participants():
    inc = pl.DataFrame({"study": ["a", "b"], "denominator": [10, 40]})
    assert gr.risk_of_bias(inc, "denominator", {"a": "High", "b": "Low"}, {}, RULES)[0] == 0  # 20% high
    assert gr.risk_of_bias(inc, "denominator", {"a": "Low", "b": "High"}, {}, RULES)[0] == -1
    assert gr.risk_of_bias(inc, "denominator", {"a": "Low", "b": "High"}, {"b": True}, RULES)[0] == -2


def test_override_replaces_the_computed_rating_and_keeps_both():
    r = [gr.Rating("imprecision", -2, "wide", -2)]
    o = gr.Override(outcome="cr", domain="imprecision", levels=-1, justification="the reviewers judge one level enough")
    (out,) = gr.apply_overrides("cr", r, [o])
    assert (out.levels, out.computed, out.override) == (-1, -2, "the reviewers judge one level enough")
    assert gr.apply_overrides("nrm", r, [o]) == r


def test_certainty_follows_the_appraisal(tmp_path):
    from analysis.review import appraisal, screening
    from analysis.review.loading import load
    from analysis.review.plan import load_plan

    data = copy_review(tmp_path)
    review, plan = load(data), load_plan(data)
    rules = RULES.model_copy(update={"thresholds": {"mrd_negative_cr": [0.5, 0.7, 0.85]}})
    write_appraisals(data, {s: "YYYYYYYYYY" for s in FIXTURE_STUDIES})
    low = gr.assess(review, plan, appraisal.load(data)[0], None, rules)
    write_appraisals(data, {s: "YYYNNYYYYY" for s in FIXTURE_STUDIES})
    high = gr.assess(review, plan, appraisal.load(data)[0], None, rules)
    rob = lambda cs: next(r for c in cs if c.outcome == "mrd_negative_cr" for r in c.ratings if r.domain == "risk_of_bias")  # noqa: E731
    assert rob(low).levels == 0 and rob(high).levels == -2
    assert "100% of participants from studies at high risk of bias" in rob(high).reason
    assert screening  # imported for the signature's sake


def test_comparisons_are_rated_from_robins_i(tmp_path):
    from analysis.review import appraisal
    from analysis.review.loading import load

    data = copy_review(tmp_path)
    write_appraisals(data, {s: "YYYYYYYYYY" for s in FIXTURE_STUDIES})
    path = data / "appraisal" / "hua2020.yaml"
    doc = yaml.safe_load(path.read_text())
    dom = {d: {"judgement": "Low", "justification": "a justification of the domain"} for d in ap.ROBINS_DOMAINS}
    doc["robins_i"] = [{"result": "MRD-negative CR, CAR-T vs DLI", "outcomes": ["mrd_negative_cr"],
                        "arms": ["car_t", "dli"], "domains": dom}]
    path.write_text(yaml.safe_dump(doc))
    review = load(data)
    (row,) = gr.comparisons(review, appraisal.load(data)[0], RULES)
    assert row["risk_of_bias"] == 0 and row["effect"].startswith("risk difference +0.48")
    assert row["imprecision"] == -1 and "fewer than 200" in row["imprecision_reason"] and row["certainty"] == "Very low"
    dom["d1"] = {"judgement": "Critical", "justification": "a justification of the domain", "quote": "a quote"}
    path.write_text(yaml.safe_dump(doc))
    (row,) = gr.comparisons(review, appraisal.load(data)[0], RULES)
    assert (row["robins_overall"], row["risk_of_bias"]) == ("Critical", -2)


def test_inconsistency_of_survival_landmarks_reads_their_estimates():
    # landmark rows hold the study estimate as S (not `estimate`): with two or more pooled
    # survival figures the rating crashed (found by the 100-study synthetic build)
    apart = pl.DataFrame({"S": [0.2, 0.9], "ci_low": [0.1, 0.8], "ci_high": [0.3, 0.95]})
    assert gr.inconsistency(apart, {}, [0.5, 0.7, 0.85], "S")[0] == -1


def test_certainty_of_a_pooled_survival_landmark(tmp_path):
    from analysis.review import appraisal
    from analysis.review.loading import load
    from analysis.review.plan import load_plan

    data = copy_review(tmp_path)
    path = data / "studies" / "zhang2021.yaml"
    flag = ("    source: 1-year EFS and survival was 43% (25, 62%)\n    flags:\n      - kind: ambiguous_wording\n"
            "        note: \"'EFS and survival' gives one figure for two outcomes; recorded for both EFS and OS.\"\n")
    text = path.read_text(encoding="utf-8")
    assert flag in text
    path.write_text(text.replace(flag, "    source: 1-year EFS and survival was 43% (25, 62%)\n"), encoding="utf-8")
    plan_file = data / "analysis_plan.yaml"  # pool two landmarks (the plan asks for three)
    plan_text = plan_file.read_text(encoding="utf-8")
    assert "    min_k: 3\n    below_min_k: none" in plan_text
    plan_file.write_text(plan_text.replace("    min_k: 3\n    below_min_k: none", "    min_k: 2\n    below_min_k: none"),
                         encoding="utf-8")
    review, plan = load(data), load_plan(data)
    write_appraisals(data, {s: "YYYYYYYYYY" for s in FIXTURE_STUDIES})
    rules = RULES.model_copy(update={"thresholds": {"os_12m": [0.3, 0.5, 0.7]}})
    (os,) = [c for c in gr.assess(review, plan, appraisal.load(data)[0], None, rules) if c.outcome == "os_12m"]
    assert os.k == 2 and os.result["estimate"] is not None
    (inc,) = [r for r in os.ratings if r.domain == "inconsistency"]
    assert inc.reason.startswith("two studies whose 95% CIs")

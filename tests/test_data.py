"""Loading and validation of study files: every rejection rule asserted on its message."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from analysis.review import loading as data
from analysis.review.loading import DataError

from factory import FIXTURE, MINIMAL, ROOT, copy_review, problems_for, with_outcome, write


def test_minimal_study_is_valid(tmp_path):
    assert problems_for(tmp_path, MINIMAL) == []
    review = data.load(tmp_path)
    assert review.ids == ["demo2024"]
    row = review.outcomes.row(0, named=True)
    assert (row["events"], row["denominator"], row["percent"], row["ci_low"]) == (34, 43, "79", "66")


def test_events_above_denominator(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(events=50, percent=None, ci=None))
    assert any(m.endswith("demo2024: outcomes[0].events: 50 is larger than denominator 43") for m in msgs), msgs
    assert msgs[0].startswith(str(Path("studies/demo2024.yaml"))) or "demo2024.yaml" in msgs[0]


def test_negative_count(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(events=-1, percent=None, ci=None))
    assert any("outcomes[0].events: -1 is negative" in m for m in msgs), msgs


def test_denominator_above_arm_size(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(events=3, denominator=50, percent=None, ci=None))
    assert any("outcomes[0].denominator: 50 is larger than the arm's n 43 (all)" in m for m in msgs), msgs


def test_unknown_outcome_name(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(outcome="complete_response"))
    assert any("outcomes[0].outcome: unknown outcome 'complete_response'" in m for m in msgs), msgs


def test_unknown_grading_scale(tmp_path):
    study = yaml.safe_load(yaml.safe_dump(MINIMAL))
    study["grading"]["crs"] = "Lee2013"
    msgs = problems_for(tmp_path, study)
    assert any("grading.crs: unknown CRS grading scale 'Lee2013'" in m for m in msgs), msgs


def test_percent_no_integer_count_can_produce(tmp_path):
    # Hua 2020: "Three patients (23.07%)" of 13 -- 3/13 = 23.08% at two decimals
    msgs = problems_for(tmp_path, with_outcome(events=None, denominator=13, percent="23.07", ci=None))
    assert any("outcomes[0].percent: no integer count of 13 gives 23.07% at 2 decimals" in m for m in msgs), msgs


def test_percent_inconsistent_with_events(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(events=3, denominator=13, percent="23.07", ci=None))
    assert any("outcomes[0].percent: 23.07% is not 3/13 (= 23.0769%) at the printed precision" in m
               for m in msgs), msgs


def test_flag_explains_unreproducible_percent(tmp_path):
    flag = [{"kind": "percent_not_reproducible", "note": "3/13 truncated, not rounded"}]
    assert problems_for(tmp_path, with_outcome(events=3, denominator=13, percent="23.07", ci=None, flags=flag)) == []


def test_flag_on_reproducible_percent_is_rejected(tmp_path):
    flag = [{"kind": "percent_not_reproducible", "note": "wrong"}]
    msgs = problems_for(tmp_path, with_outcome(flags=flag))
    assert any("outcomes[0].flags: flagged percent_not_reproducible, but the percentage is reproducible" in m
               for m in msgs), msgs


def test_ci_not_containing_estimate(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(ci={"low": "80", "high": "92"}))
    assert any("outcomes[0].ci: (80, 92) does not contain the estimate 79" in m for m in msgs), msgs


def test_landmark_needs_time(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(outcome="os", estimator="km_landmark", events=None, ci=None))
    assert any("outcomes[0].time: a km_landmark estimate needs the landmark time and time_unit" in m
               for m in msgs), msgs


def test_estimator_not_allowed_for_outcome(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(estimator="km_landmark", time=12, time_unit="months"))
    assert any("outcomes[0].estimator: 'km_landmark' is not an estimator for 'cr'" in m for m in msgs), msgs


def test_unknown_arm(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(arm="cart"))
    assert any("outcomes[0].arm: unknown arm 'cart' (declared: all)" in m for m in msgs), msgs


def test_unknown_field(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(evnets=3))
    assert any(m.endswith("demo2024: outcomes[0].evnets: unknown field") for m in msgs), msgs


def test_missing_source_quote(tmp_path):
    study = yaml.safe_load(yaml.safe_dump(MINIMAL))
    del study["population"]["n_infused"]["source"]
    msgs = problems_for(tmp_path, study)
    assert any("population.n_infused.source: required field is missing" in m for m in msgs), msgs


def test_wrong_type(tmp_path):
    msgs = problems_for(tmp_path, with_outcome(events="thirty"))
    assert any("outcomes[0].events: expected a whole number, got 'thirty'" in m for m in msgs), msgs


def test_id_must_match_file_name(tmp_path):
    write(tmp_path, MINIMAL, name="other2024")
    _, problems = data.validate(tmp_path)
    assert any("demo2024: id: 'demo2024' does not match the file name 'other2024'" in str(p) for p in problems)


def test_duplicate_arm_ids(tmp_path):
    study = yaml.safe_load(yaml.safe_dump(MINIMAL))
    study["arms"].append(dict(study["arms"][0]))
    msgs = problems_for(tmp_path, study)
    assert any("arms[1].id: duplicate arm id 'all'" in m for m in msgs), msgs


def test_duplicate_yaml_key(tmp_path):
    d = tmp_path / "studies"
    d.mkdir()
    text = yaml.safe_dump(MINIMAL, sort_keys=False) + "id: demo2024\n"
    (d / "demo2024.yaml").write_text(text, encoding="utf-8")
    _, problems = data.validate(tmp_path)
    assert len(problems) == 1
    assert re.search(r"demo2024: line \d+, column 1: YAML syntax error: duplicate key 'id' \(first at line 1\)",
                     str(problems[0])), problems


def test_yaml_syntax_error(tmp_path):
    d = tmp_path / "studies"
    d.mkdir()
    (d / "broken.yaml").write_text("id: broken\noutcomes: [\n  - a: b: c\n", encoding="utf-8")
    _, problems = data.validate(tmp_path)
    assert len(problems) == 1 and "broken.yaml: broken: line 3" in str(problems[0])
    assert "YAML syntax error" in str(problems[0])


def test_non_utf8_file(tmp_path):
    d = tmp_path / "studies"
    d.mkdir()
    (d / "latin.yaml").write_bytes("id: latin\nsource: \"≥ grade 3\"\n".encode("utf-8").replace(b"\xe2\x89\xa5", b"\xb3"))
    _, problems = data.validate(tmp_path)
    assert len(problems) == 1
    assert str(problems[0]).endswith("latin.yaml: latin: (file): not UTF-8 text (byte 19: 0xb3)")


def test_overlap_with_unknown_study(tmp_path):
    study = yaml.safe_load(yaml.safe_dump(MINIMAL))
    study["overlap"] = [{"study": "ghost2020", "likelihood": "possible", "reason": "same centre"}]
    msgs = problems_for(tmp_path, study)
    assert any("demo2024: overlap[0].study: unknown study 'ghost2020'" in m for m in msgs), msgs


def test_load_raises_all_problems_at_once(tmp_path):
    study = with_outcome(events=50, outcome="cr", percent=None, ci=None)
    study["grading"]["gvhd"] = "Seattle"
    write(tmp_path, study)
    with pytest.raises(DataError) as exc:
        data.load(tmp_path)
    lines = str(exc.value).splitlines()
    assert len(lines) == 2 and all("demo2024.yaml: demo2024: " in line for line in lines)


def test_cli_valid_and_invalid(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "analysis", "validate", str(ROOT / "data")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.fullmatch(r"ok: \d+ studies, \d+ outcome records, \d+ recorded flags in .*\n", ok.stdout)
    write(tmp_path, with_outcome(events=50, percent=None, ci=None))
    bad = subprocess.run([sys.executable, "-m", "analysis", "validate", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "outcomes[0].events: 50 is larger than denominator 43" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


# ------------------------------------------------------------------ the frozen fixture review


def test_fixture_review_figures():
    """Figures the seed reports print, as extracted (on the frozen copy: new studies in data/ do not matter)."""
    review = data.load(FIXTURE)
    assert set(review.ids) == {"roddie2025", "zhang2021", "zhang2020ash", "hua2020", "ddcart2_2025"}
    assert review.studies_table.height == len(review.ids)
    o = review.outcomes
    cr = o.filter((pl.col("study") == "zhang2021") & (pl.col("outcome") == "cr")).row(0, named=True)
    assert (cr["events"], cr["denominator"], cr["percent"], cr["ci_low"], cr["ci_high"]) == (34, 43, "79", "66", "92")
    hua = o.filter((pl.col("study") == "hua2020") & (pl.col("outcome") == "crs_grade3plus")).row(0, named=True)
    assert hua["percent"] == "23.07" and "percent_not_reproducible" in hua["flags"]


def test_recorded_known_problems():
    flags = data.load(FIXTURE).flags
    assert flags.filter(pl.col("kind") == "typo")["note"].str.contains("four parents").any()
    assert flags.filter(pl.col("kind").str.contains("overlap")).height >= 2


def test_cli_checks_the_changelog(tmp_path):
    d = copy_review(tmp_path)
    log = d / "changelog.yaml"
    log.write_text(log.read_text(encoding="utf-8").replace('version: "0.1.0"', 'version: "0.1"'), encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "analysis", "validate", str(d)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "changelog.yaml: -: [0].version: '0.1' does not match the pattern" in bad.stdout


# ------------------------------------------------------------------ the repository's data (any valid data)


def test_repository_data_is_valid():
    studies, problems = data.validate()
    assert problems == [] and studies


def test_every_study_has_a_chapter_and_every_chapter_a_study():
    from analysis import chapters
    from analysis.review.plan import load_plan

    assert chapters.mismatches(data.load().studies, load_plan()) == []


def test_every_locally_verifiable_quote_is_verbatim():
    """Each `source` quote (fragments joined by '...') occurs, in order, in the local text of its
    source document (shared seeds or data/sources/<id>.txt); quotes without a local text are allowed."""
    from analysis.review import quotes

    checked = quotes.verify(data.load())
    assert checked.height > 5
    bad = checked.filter(pl.col("status") == "not_found")
    assert bad.height == 0, "\n".join(f"{r['study']}: {r['field']}: not in {r['source_file']}: {r['quote']!r} "
                                      f"(missing {r['missing']!r})" for r in bad.iter_rows(named=True))


# ------------------------------------------------------------------ conventions of the stricter checks


def test_ci_level_as_a_fraction_is_stored_in_percent(tmp_path):
    write(tmp_path, with_outcome(ci={"low": "66", "high": "92", "level": 0.95}))
    assert data.load(tmp_path).outcomes["ci_level"].to_list() == [95.0]


def test_landmarks_in_different_units_are_ordered_in_days(tmp_path):
    km = lambda pct, t, unit: {"outcome": "os", "arm": "all", "estimator": "km_landmark", "denominator": 43,  # noqa: E731
                               "denominator_kind": "infused", "percent": pct, "time": t, "time_unit": unit,
                               "source": "43 subjects were infused"}
    study = with_outcome()
    study["outcomes"] += [km("55", 12, "months"), km("55", 1, "years"), km("50", 2, "years")]
    assert problems_for(tmp_path, study) == []
    study["outcomes"][-1] = km("60", 2, "years")
    msgs = problems_for(tmp_path, study)
    assert any(m.endswith("demo2024: outcomes[3].percent: 60% at 2 years vs 55% at 1 years (outcomes[2]): "
                          "survival cannot rise over time (os, all)") for m in msgs), msgs


def test_a_subgroup_landmark_is_not_compared_with_the_whole_arm(tmp_path):
    """Zhang 2021: 1-year EFS 43% in all 43 and 59% in the CR subgroup are different populations."""
    study = with_outcome()
    for pct, kind in (("43", "infused"), ("59", "subgroup")):
        study["outcomes"].append({"outcome": "efs", "arm": "all", "estimator": "km_landmark", "denominator": 43,
                                  "denominator_kind": kind, "percent": pct, "time": 12, "time_unit": "months",
                                  "source": "43 subjects were infused"})
    study["outcomes"][-1]["time"] = 18
    assert problems_for(tmp_path, study) == []


def test_a_placeholder_left_from_the_skeleton_is_refused(tmp_path):
    study = with_outcome(source="TODO quote")
    msgs = problems_for(tmp_path, study)
    assert any(m.endswith("demo2024: outcomes[0].source: placeholder TODO left from the study skeleton") for m in msgs)


def test_new_study_scaffolds_the_data_file_then_the_chapter(tmp_path, monkeypatch, capsys):
    from analysis import chapters
    from analysis.__main__ import main

    (tmp_path / "data" / "studies").mkdir(parents=True)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(chapters, "STUDIES", tmp_path / "chapters")
    (tmp_path / "chapters").mkdir()
    assert main(["new-study", "demo2024"]) == 0  # 1. the skeleton
    path = tmp_path / "data" / "studies" / "demo2024.yaml"
    assert "id: demo2024" in path.read_text(encoding="utf-8")
    assert main(["new-study", "demo2024"]) == 1  # its TODOs do not validate: no chapter yet
    assert "citation.year: expected a whole number, got 'TODO'" in capsys.readouterr().err
    write(tmp_path / "data", MINIMAL)  # 2. filled in
    assert main(["new-study", "demo2024"]) == 0  # 3. the chapter, from the template
    nb = (tmp_path / "chapters" / "demo2024.ipynb").read_text(encoding="utf-8")
    assert "# Demo 2024" in nb and 'review.study(\\"demo2024\\")' in nb


def test_interval_of_a_median_time_is_in_its_time_unit(tmp_path):
    # Zhuo 2024: "median OS 287 (95% CI 132-441) days" -- a CI above 100 is no error for a median time
    median = {"outcome": "os", "estimator": "km_median", "events": None, "percent": None, "median": 287,
              "time_unit": "days", "ci": {"low": "132", "high": "441"}, "denominator": 43}
    assert problems_for(tmp_path, with_outcome(**median)) == []
    msgs = problems_for(tmp_path, with_outcome(**{**median, "median": 500}))
    assert any("outcomes[0].ci: (132, 441) does not contain the median 500" in m for m in msgs), msgs
    msgs = problems_for(tmp_path, with_outcome(**{**median, "ci": {"low": "441", "high": "132"}}))
    assert any("outcomes[0].ci: lower limit 441 is above upper limit 132" in m for m in msgs), msgs
    # a percentage's interval is still bounded by 100
    msgs = problems_for(tmp_path, with_outcome(ci={"low": "66", "high": "192"}))
    assert any("outcomes[0].ci.high: 192 is above 100" in m for m in msgs), msgs

"""Search records and screening: parsing exports, de-duplication, validation, PRISMA counts, import.

Runs on a copy of the fixture review with small records written here, never on data/.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import rispy
import yaml

from analysis.review import records as rec
from analysis.review import screening as sc
from analysis.present.charts.flowchart import describe

from factory import ROOT, copy_review

FIXTURE_STUDIES = ["ddcart2_2025", "hua2020", "roddie2025", "zhang2020ash", "zhang2021"]

MEDLINE = """PMID- 29076142
TI  - Donor-derived CD19-targeted T cell infusion induces minimal residual disease-negative
      remission in relapsed B-cell acute lymphoblastic leukaemia.
AB  - An abstract that must not be kept.
AU  - Doe J
AU  - Roe R
DP  - 2017 Nov
TA  - Br J Haematol
VI  - 179
PG  - 598-605
LID - 10.1111/bjh.14923 [doi]

PMID- 33077866
TI  - Donor-derived CD19 CAR-T cell therapy of relapse of CD19-positive B-ALL post allotransplant.
AID - 10.1038/s41375-020-01056-6 [doi]
DP  - 2021 Jun
"""


def _ris(entries: list[dict]) -> str:
    return rispy.dumps([{"type_of_reference": "JOUR", **e} for e in entries])


SEEDS = [{"title": f"Report of {s}", "year": "2020"} for s in FIXTURE_STUDIES]
WEB = [
    {"title": "A new series of donor CAR-T", "doi": "10.1000/new.1", "year": "2024"},
    {"title": "A narrative review of CAR-T", "year": "2022"},
    {"title": "A NEW series of donor CAR-T!", "urls": ["https://example.org/copy"]},  # same title: duplicate
    {"title": "Report of hua2020", "urls": ["https://example.org/mirror"]},  # duplicates a supplied report
    {"title": "A registered trial", "type_of_reference": "DBASE"},
]


def _searches(exports: dict[str, list]) -> list[dict]:
    out = []
    for i, (name, entries) in enumerate(exports.items()):
        out.append({"id": name, "version": "0.1.0", "date": f"2026-01-0{i + 1}", "method": "supplied" if i == 0 else "website",
                    "source": name, "queries": ["q"], "hits": len(entries), "export": f"{name}.ris"})
    return out


def _decisions(directory: Path) -> list[dict]:
    r, _ = rec.load_records(directory)
    ids = dict(zip(r.records["title"], r.records["record"]))
    out = [{"record": ids[f"Report of {s}"], "title_abstract": "include", "full_text": "include",
            "assessed_on": "abstract", "study": s} for s in FIXTURE_STUDIES]
    out += [{"record": ids["A new series of donor CAR-T"], "title_abstract": "include", "full_text": "exclude",
             "full_text_reason": "no_separate_data", "assessed_on": "abstract"},
            {"record": ids["A narrative review of CAR-T"], "title_abstract": "exclude", "title_abstract_reason": "wrong_design"},
            {"record": ids["A registered trial"], "title_abstract": "include", "full_text": "exclude",
             "full_text_reason": "ongoing", "assessed_on": "registry_entry", "registry_status": "unknown"}]
    return out


def make_records(tmp_path: Path) -> Path:
    data = copy_review(tmp_path)
    folder = data / "records"
    folder.mkdir()
    exports = {"supplied": SEEDS, "web": WEB}
    for name, entries in exports.items():
        (folder / f"{name}.ris").write_text(_ris(entries), encoding="utf-8")
    (folder / "searches.yaml").write_text(yaml.safe_dump(_searches(exports), sort_keys=False), encoding="utf-8")
    (folder / "screening.yaml").write_text(yaml.safe_dump(_decisions(data), sort_keys=False), encoding="utf-8")
    return data


def test_medline_export_is_parsed_without_abstracts():
    hits = rec.parse_medline(MEDLINE)
    assert [h["pmid"] for h in hits] == ["29076142", "33077866"]
    assert hits[0]["title"].startswith("Donor-derived CD19-targeted T cell infusion induces minimal residual disease-negative remission")
    assert hits[0]["doi"] == "10.1111/bjh.14923" and hits[1]["doi"] == "10.1038/s41375-020-01056-6"
    assert hits[0]["authors"] == "Doe J; Roe R" and hits[0]["year"] == "2017"
    assert all("abstract" not in h for h in hits)
    assert rec.sniff_format(MEDLINE) == "medline" and rec.sniff_format("TY  - JOUR") == "ris"


def test_deduplication_by_doi_pmid_and_normalised_title():
    hits = [{"title": "Alpha trial", "doi": "10.1/a", "pmid": None}, {"title": "Other", "doi": "10.1/a", "pmid": "1"},
            {"title": "Beta", "doi": None, "pmid": "1"}, {"title": "ALPHA   trial.", "doi": None, "pmid": None},
            {"title": "Gamma", "doi": None, "pmid": None}]
    out = rec.deduplicate(hits)
    assert out == [("doi:10.1/a", False), ("doi:10.1/a", True), ("doi:10.1/a", True), ("doi:10.1/a", True),
                   (rec.record_id(None, None, "Gamma"), False)]
    assert rec.normalise_doi("https://doi.org/10.1182/BLOOD.1") == "10.1182/blood.1"
    assert rec.normalise_title("Ünïcode — Title!") == "unicode title"


def test_flow_counts_come_from_the_records(tmp_path):
    data = make_records(tmp_path)
    s, problems = sc.load(data, FIXTURE_STUDIES)
    assert problems == []
    f = sc.flow(s, "0.1.0", ["0.1.0"])
    other = f["other"]
    assert (other["identified"], other["duplicates"], other["screened"], other["excluded"]) == (10, 2, 8, 1)
    assert (other["assessed"], other["full_text_excluded"], other["ongoing"], other["included_reports"]) == (7, 1, 1, 5)
    assert other["excluded_reasons"] == {"no separate data for the review population": 1}
    assert other["by_source"] == {"Reports supplied to the review team": 5, "Websites": 5}
    assert not f["databases"]["searched"] and f["total_studies"] == 5
    assert "no search has been run" in describe(f)


def test_adding_a_record_changes_the_flow_diagram_with_no_other_edit(tmp_path):
    data = make_records(tmp_path)
    before = describe(sc.flow(sc.load(data, FIXTURE_STUDIES)[0], "0.1.0", ["0.1.0"]))
    web = data / "records" / "web.ris"
    web.write_text(_ris(WEB + [{"title": "Another case series", "doi": "10.1000/new.2"}]), encoding="utf-8")
    searches = yaml.safe_load((data / "records" / "searches.yaml").read_text())
    searches[1]["hits"] += 1
    (data / "records" / "searches.yaml").write_text(yaml.safe_dump(searches, sort_keys=False))
    with (data / "records" / "screening.yaml").open("a") as f:
        f.write("- {record: 'doi:10.1000/new.2', title_abstract: exclude, title_abstract_reason: wrong_population}\n")
    s, problems = sc.load(data, FIXTURE_STUDIES)
    assert problems == []
    after = describe(sc.flow(s, "0.1.0", ["0.1.0"]))
    assert after != before
    assert "11 records identified" in after.replace("Other methods: ", "") or "11 records" in after
    assert "9 records screened, 2 excluded" in after


def test_screening_problems_are_lines_not_tracebacks(tmp_path):
    data = make_records(tmp_path)
    path = data / "records" / "screening.yaml"
    entries = yaml.safe_load(path.read_text())
    entries[5]["full_text_reason"] = "did_not_like_it"
    entries[6].pop("title_abstract_reason")
    entries[0]["study"] = "nosuch2020"
    del entries[7]
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    _, problems = sc.load(data, FIXTURE_STUDIES)
    text = "\n".join(map(str, problems))
    assert "[5].full_text_reason: 'did_not_like_it' is not one of" in text
    assert "[6].title_abstract_reason: an exclusion needs a reason from the fixed list" in text
    assert "[0].study: no study file data/studies/nosuch2020.yaml" in text
    assert "no screening entry for 'A registered trial'" in text
    assert "zhang2021: (study): an included study without an included record" not in text


def test_hit_count_must_match_the_export(tmp_path):
    data = make_records(tmp_path)
    searches = yaml.safe_load((data / "records" / "searches.yaml").read_text())
    searches[1]["hits"] = 99
    (data / "records" / "searches.yaml").write_text(yaml.safe_dump(searches, sort_keys=False))
    _, problems = rec.load_records(data)
    assert any("[1].hits: 99 hits stated, but web.ris holds 5" in str(p) for p in problems)


def test_import_search_is_idempotent_and_never_rewrites_a_decision(tmp_path):
    data = make_records(tmp_path)
    export = tmp_path / "pubmed.txt"
    export.write_text(MEDLINE, encoding="utf-8")
    screening = data / "records" / "screening.yaml"
    before = screening.read_text()
    search = {"id": "pubmed-2026-02-01", "version": "0.1.0", "date": "2026-02-01", "method": "database",
              "source": "PubMed", "queries": ["donor AND CAR-T"]}
    msgs = sc.import_search(data, export, search)
    assert "2 hits, 0 duplicates of known records, 2 new records to screen" in msgs[0]
    after = screening.read_text()
    assert after.startswith(before)  # existing decisions untouched
    stored = (data / "records" / "pubmed-2026-02-01.ris").read_text()
    assert "must not be kept" not in stored  # no abstract copied into the project
    assert sc.import_search(data, export, search) == ["search 'pubmed-2026-02-01' is already in searches.yaml: nothing imported"]
    assert screening.read_text() == after
    s, problems = sc.load(data, FIXTURE_STUDIES)
    assert problems == []
    f = sc.flow(s, "0.1.0", ["0.1.0"])
    assert f["databases"]["identified"] == 2 and f["databases"]["pending"] == 2
    # a second export with one known record: a duplicate, not a new entry
    again = tmp_path / "again.txt"
    again.write_text(MEDLINE.split("\n\n")[0] + "\n", encoding="utf-8")
    msgs = sc.import_search(data, again, {**search, "id": "pubmed-2026-03-01", "date": "2026-03-01"})
    assert "1 hits, 1 duplicates of known records, 0 new records" in msgs[0]


def test_import_search_command_line(tmp_path):
    data = make_records(tmp_path)
    export = tmp_path / "pubmed.txt"
    export.write_text(MEDLINE, encoding="utf-8")
    cmd = [sys.executable, "-m", "analysis", "import-search", str(export), "--source", "PubMed", "--date", "2026-02-01",
           "--version", "0.1.0", "--query", "donor AND CAR-T", "--data", str(data)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "2 new records to screen" in out.stdout
    bad = subprocess.run(cmd[:4] + [str(tmp_path / "missing.txt")] + cmd[5:], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "not imported" in bad.stderr and "Traceback" not in bad.stderr


def test_validate_command_reports_record_problems_as_lines(tmp_path):
    data = make_records(tmp_path)
    (data / "records" / "screening.yaml").write_text("- record: [unclosed\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "analysis", "validate", str(data)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "screening.yaml: -: line 2, column 1: YAML syntax error" in out.stdout or "YAML syntax error" in out.stdout


def test_a_failing_study_file_is_not_reported_missing_by_the_records(tmp_path):
    """One invalid study file is one problem: the screening decisions naming it (and the other
    studies) are not blamed with "no study file" because its file did not validate."""
    data = make_records(tmp_path)
    path = data / "studies" / "hua2020.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("id: hua2020", "id: hua2020\nnot_a_field: 1", 1),
                    encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "analysis", "validate", str(data)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines and all("hua2020.yaml" in line for line in lines), lines
    assert "no study file" not in out.stdout
    path.unlink()  # a study that has no file at all is still reported
    out = subprocess.run([sys.executable, "-m", "analysis", "validate", str(data)], capture_output=True, text=True, cwd=ROOT)
    assert "no study file data/studies/hua2020.yaml" in out.stdout

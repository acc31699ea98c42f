"""The reader of digitised-curve files in data/curves (analysis.review.curves)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis.review.curves import load_curve, load_curves

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "curves"
FIXTURE = FIXTURES / "example2020__os__all.csv"
REPO = Path(__file__).resolve().parents[2]


# =========================================================================== curve files


def copy_fixture(tmp_path: Path, stem: str = "example2020__os__all") -> Path:
    for p in FIXTURES.glob("example2020__os__all*"):
        shutil.copy(p, tmp_path / p.name.replace("example2020__os__all", stem))
    return tmp_path / f"{stem}.csv"


def test_load_curve_fixture_and_reconstruct():
    c = load_curve(FIXTURE)
    assert (c.study, c.outcome, c.arm) == ("example2020", "os", "all")
    assert c.time_unit == "months" and c.total_events == 31
    assert c.points.columns == ["time", "survival"] and c.risk["n_at_risk"].to_list() == [40, 23, 8, 6, 2, 1]
    r = c.reconstruct()
    assert r.data.height == 40 and r.data["event"].sum() == 31
    assert (r.intervals["n_at_risk_hat"] == r.intervals["n_at_risk"]).all()


def test_load_curves_directory(tmp_path):
    assert load_curves(REPO / "data" / "curves") == []  # none digitised yet
    assert load_curves(tmp_path / "missing") == []
    copy_fixture(tmp_path)
    curves = load_curves(tmp_path)
    assert [c.path.name for c in curves] == ["example2020__os__all.csv"]
    (tmp_path / "orphan2020__os__all__risk.csv").write_text("time,n_at_risk\n0,3\n")
    with pytest.raises(ValueError, match="without its curve"):
        load_curves(tmp_path)


def _edit(path: Path, line_no: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[line_no - 1] = new
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("which,line,new,match", [
    ("curve", 3, "0.321,abc", r"line 3, column survival: 'abc' is not a number"),
    ("curve", 4, "-1,0.97", r"line 4, column time: negative time"),
    ("curve", 5, "1.2,1.5", r"line 5, column survival: 1.5 is outside \[0, 1\]"),
    ("curve", 1, "t,s", "header must be exactly time,survival"),
    ("curve", 6, "1.5", "line 6: expected 2 fields"),
    ("risk", 3, "6,45", r"line 3, column n_at_risk: numbers at risk increase \(40 -> 45\)"),
    ("risk", 2, "1,40", "must start at time 0"),
    ("risk", 4, "6,7", "strictly increasing"),
    ("risk", 3, "6,22.5", "not a non-negative integer"),
])
def test_load_curve_errors_name_file_and_row(tmp_path, which, line, new, match):
    csv_path = copy_fixture(tmp_path)
    target = csv_path if which == "curve" else tmp_path / "example2020__os__all__risk.csv"
    _edit(target, line, new)
    with pytest.raises(ValueError, match=match) as exc:
        load_curve(csv_path)
    assert target.name in str(exc.value)


def test_load_curve_metadata_errors(tmp_path):
    csv_path = copy_fixture(tmp_path)
    meta = tmp_path / "example2020__os__all.yaml"
    text = meta.read_text()
    meta.write_text(text.replace("arm: all", "arm: other"))
    with pytest.raises(ValueError, match="field arm is 'other' but the file name says 'all'"):
        load_curve(csv_path)
    meta.write_text(text.replace("time_unit: months", "time_unit: fortnights"))
    with pytest.raises(ValueError, match="time_unit"):
        load_curve(csv_path)
    meta.write_text(text.replace("figure:", "figgure:"))
    with pytest.raises(ValueError, match="unknown field"):
        load_curve(csv_path)
    meta.write_text(text.replace("total_events: 31", "total_events: 99"))
    with pytest.raises(ValueError, match="total_events"):
        load_curve(csv_path)
    meta.unlink()
    with pytest.raises(ValueError, match="missing metadata sidecar"):
        load_curve(csv_path)


@pytest.mark.parametrize("name,match", [
    ("Example2020__os__all.csv", "file name"),
    ("example2020_os_all.csv", "file name"),
    ("example__os__all.csv", "publication year"),
    ("example2020__overall__all.csv", "unknown outcome"),
])
def test_load_curve_bad_names(tmp_path, name, match):
    p = copy_fixture(tmp_path, stem=name[:-4])
    with pytest.raises(ValueError, match=match):
        load_curve(p)


def test_load_curve_unknown_study(tmp_path):
    p = copy_fixture(tmp_path)
    with pytest.raises(ValueError, match="unknown study id 'example2020'"):
        load_curve(p, known_studies=["roddie2025"])

"""The test run's ordering of files (tests/pytest_startup.py): longest recorded first, nothing lost."""
from __future__ import annotations

import json

from pytest_startup import longest_first, recorded


def test_files_go_longest_first_and_keep_their_tests_in_order():
    ids = ["a.py::t1", "a.py::t2", "b.ipynb::Cell 0", "b.ipynb::Cell 1", "c.py::t", "d.py::t"]
    order = longest_first(ids, {"a.py": 1.0, "b.ipynb": 9.0, "c.py": 3.0})
    # d.py is not recorded: it weighs the mean of the others (13/3), between b and c
    assert [ids[i] for i in order] == ["b.ipynb::Cell 0", "b.ipynb::Cell 1", "d.py::t", "c.py::t", "a.py::t1", "a.py::t2"]
    assert sorted(order) == list(range(len(ids)))


def test_without_a_record_files_keep_their_collected_order():
    ids = ["z.py::t", "a.py::t", "z.py::u"]
    assert longest_first(ids, {}) == [0, 2, 1]


def test_an_unreadable_record_is_no_record(tmp_path):
    assert recorded(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert recorded(tmp_path / "bad.json") == {}
    (tmp_path / "list.json").write_text(json.dumps([1, 2]), encoding="utf-8")
    assert recorded(tmp_path / "list.json") == {}
    (tmp_path / "ok.json").write_text(json.dumps({"a.py": 2, "b.py": "x"}), encoding="utf-8")
    assert recorded(tmp_path / "ok.json") == {"a.py": 2.0}

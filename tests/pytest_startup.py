"""Loaded by every pytest process before its plugins (``-p pytest_startup`` in pyproject.toml).

* nbval's plugin imports nbformat, and with it jsonschema, before any conftest could run: without
  this, each pytest process (the controller and every xdist worker) compiled jsonschema's IRI
  grammar first, 1.2-1.4 s of CPU each (``analysis/_startup.py``).
* Longest files first: ``make test`` hands whole files to its workers (``--dist loadfile``), in
  the order collected (``--no-loadscope-reorder``; xdist's default orders them by their number
  of tests, which put the executor's 6 tests of 30 s among the last).  Collected files are
  ordered by the seconds :data:`DURATIONS` records for them, longest first, so that the run does
  not end with one worker still on a long file while the other waits; a file it does not list
  counts as the mean of those it lists.  The order changes nothing else.  Refresh the record
  with ``make test PYTEST_ARGS=--record-durations`` after adding or changing heavy tests.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from analysis._startup import import_without_iri_grammar

import_without_iri_grammar("jsonschema")

#: seconds per test file (setup, call and teardown of all its tests) of a recorded ``make test``
DURATIONS = Path(__file__).with_name("durations.json")
_SPENT: dict[str, float] = defaultdict(float)


def pytest_addoption(parser) -> None:
    parser.addoption("--record-durations", action="store_true",
                     help=f"write the seconds each test file took to {DURATIONS.name} (orders later runs)")


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def recorded(path: Path = DURATIONS) -> dict[str, float]:
    """The recorded seconds per file ({} when there is no record or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}


def longest_first(nodeids: list[str], seconds: dict[str, float]) -> list[int]:
    """Indices of ``nodeids`` reordered file by file, longest recorded file first; the tests of a
    file keep their order, files of equal weight their collected order."""
    default = sum(seconds.values()) / len(seconds) if seconds else 0.0
    first: dict[str, int] = {}
    for i, nodeid in enumerate(nodeids):
        first.setdefault(_file(nodeid), i)
    return sorted(range(len(nodeids)), key=lambda i: (-seconds.get(_file(nodeids[i]), default),
                                                       first[_file(nodeids[i])], i))


def pytest_collection_modifyitems(session, config, items) -> None:
    seconds = recorded()
    if seconds:
        order = longest_first([item.nodeid for item in items], seconds)
        items[:] = [items[i] for i in order]


def pytest_runtest_logreport(report) -> None:
    _SPENT[_file(report.nodeid)] += report.duration


def pytest_sessionfinish(session) -> None:
    config = session.config
    if config.getoption("record_durations") and not hasattr(config, "workerinput"):  # the controller only
        DURATIONS.write_text(json.dumps({k: round(v, 1) for k, v in sorted(_SPENT.items())}, indent=1) + "\n",
                             encoding="utf-8")

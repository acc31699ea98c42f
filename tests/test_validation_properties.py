"""Properties of validation: the O(1) count interval equals enumeration; the validator never raises.

The validator is tested without its last line of defence (the per-file ``internal error``
wrapper): :func:`analysis.review.validation.check_raw` and ``parse_study`` must return problems,
not raise, for any YAML-like tree.
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis.stats.proportions import counts_from_percent
from analysis.review import validation
from analysis.stats.proportions import count_interval
from analysis.review.schema import Problem
from factory import ROOT, copy

BASE = yaml.safe_load((ROOT / "tests" / "data" / "valid" / "base2024.yaml").read_text(encoding="utf-8"))


def printed(big_p: int, d: int) -> str:
    """``big_p / 10**d`` printed with ``d`` decimals: ``printed(2307, 2) == "23.07"``."""
    return f"{big_p // 10 ** d}.{big_p % 10 ** d:0{d}d}" if d else str(big_p)


def accepted(k: int, n: int, big_p: int, d: int) -> bool:
    """The convention of counts_from_percent, exactly: |100k/n - P/10^d| <= 1/2 10^-d."""
    return abs(200 * k * 10 ** d - 2 * big_p * n) <= n


# ------------------------------------------------------------------ the count interval


@pytest.mark.parametrize("d", [0, 1, 2])
def test_count_interval_equals_enumeration_for_every_small_n_and_printed_percentage(d):
    """For n <= 200 and every percentage 0.00-100.00 printed at d decimals, the interval holds
    exactly the counts that enumeration over k = 0..n accepts."""
    texts = [printed(big_p, d) for big_p in range(100 * 10 ** d + 1)]
    for n in range(1, 201):
        by_percent: dict[int, list[int]] = {}
        for k in range(n + 1):  # enumerate every count; each is accepted by at most a few printed values
            centre = 100 * k * 10 ** d // n
            for big_p in range(max(centre - 1, 0), min(centre + 2, 100 * 10 ** d) + 1):
                if accepted(k, n, big_p, d):
                    by_percent.setdefault(big_p, []).append(k)
        for big_p, text in enumerate(texts):
            lo, hi = count_interval(text, n, d)
            if lo <= hi or big_p in by_percent:
                assert list(range(lo, hi + 1)) == by_percent.get(big_p, []), (text, n)


def test_count_interval_agrees_with_counts_from_percent():
    """Same results as the enumerating kernel function on a grid of small cases."""
    for n in (1, 3, 7, 13, 43, 97, 200):
        for d in (0, 1, 2):
            for big_p in range(0, 100 * 10 ** d + 1, 7):
                lo, hi = count_interval(printed(big_p, d), n, d)
                assert list(range(lo, hi + 1)) == counts_from_percent(printed(big_p, d), n, d)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 10 ** 30), d=st.integers(0, 6), frac=st.fractions(0, 1))
def test_count_interval_boundaries_for_any_n(n, d, frac):
    """For any n (up to 10^30) the interval's ends are accepted and their neighbours are not
    (the accepted set is contiguous, so this is enumeration without enumerating)."""
    big_p = math.floor(frac * 100 * 10 ** d)
    lo, hi = count_interval(printed(big_p, d), n, d)
    assert 0 <= lo and hi <= n
    if lo <= hi:
        assert accepted(lo, n, big_p, d) and accepted(hi, n, big_p, d)
    if lo > 0:
        assert not accepted(lo - 1, n, big_p, d)
    if hi < n:
        assert not accepted(hi + 1, n, big_p, d)
    if lo > hi:  # nothing accepted: the percentage falls strictly between two counts
        k = math.floor(Fraction(big_p * n, 100 * 10 ** d))
        assert not accepted(k, n, big_p, d) and (k + 1 > n or not accepted(k + 1, n, big_p, d))


def test_count_interval_is_instant_for_huge_denominators():
    import time

    start = time.perf_counter()
    assert count_interval("79", 43_000_000_000) == (33_755_000_000, 34_185_000_000)  # 78.5%-79.5% of 43e9
    lo, hi = count_interval("23.07", 10 ** 29, 2)
    assert hi - lo == 10 ** 29 // 10 ** 4 and time.perf_counter() - start < 0.01


# ------------------------------------------------------------------ the validator never raises

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10 ** 40, 10 ** 40),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from(["NaN", "sNaN", "Infinity", "-0", "1e999", "0x10", " 12 ", "12%", "79", "23.07",
                                     "all", "cr", "os", "km_landmark", "proportion", "infused", "months", ""]))
keys = st.one_of(st.sampled_from(sorted({*BASE, "value", "source", "events", "denominator", "percent", "ci", "low",
                                         "high", "level", "time", "median", "arm", "outcome", "grades"})),
                 st.text(max_size=8), st.integers(), st.booleans(), st.none())
trees = st.recursive(scalars, lambda children: st.one_of(st.lists(children, max_size=4),
                                                        st.dictionaries(keys, children, max_size=5)), max_leaves=30)


def assert_only_problems(result):
    study, problems = result
    assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems)
    assert study is not None or problems
    for p in problems:
        assert "\n" not in str(p)  # one problem, one line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees)
def test_any_tree_gives_problems_not_exceptions(tree):
    assert_only_problems(validation.check_raw(tree, "x.yaml", "x"))


def _get(obj, path):
    for part in path:
        obj = obj[part]
    return obj


def _paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, path + (i,))


PATHS = [p for p in _paths(BASE) if p]
#: numbers are where the meaning checks live: half the mutations write a number into a numeric field
NUMERIC = [p for p in PATHS if isinstance(_get(BASE, p), (int, float)) and not isinstance(_get(BASE, p), bool)]
_LEAVES = sorted({repr(v): v for p in PATHS if not isinstance(v := _get(BASE, p), (dict, list))}.values(), key=repr)
numbers = st.one_of(st.integers(-2, 25), st.sampled_from([v for v in _LEAVES if type(v) in (int, float)]),
                    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 30, 10 ** 30))
#: numeric fields of one record (events and denominator, low and high): copying one into the other hits
#: the boundaries of the meaning checks
SIBLINGS = [(p, q) for p in NUMERIC for q in NUMERIC if p != q and p[:-1] == q[:-1]]
#: one change: write a number into a numeric field, copy a numeric field into a sibling, write any tree
#: anywhere, or delete a field
changes = st.one_of(st.tuples(st.sampled_from(NUMERIC), st.just("set"), numbers),
                    st.sampled_from(SIBLINGS).map(lambda pq: (pq[0], "copy", pq[1])),
                    st.tuples(st.sampled_from(PATHS), st.just("set"), st.one_of(trees, st.sampled_from(_LEAVES))),
                    st.tuples(st.sampled_from(PATHS), st.just("delete"), st.none()))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(changes, min_size=1, max_size=2))
def test_any_mutation_of_a_valid_study_gives_problems_not_exceptions(edits):
    study = copy(BASE)
    for path, op, arg in edits:
        try:
            parent = _get(study, path[:-1])
            if op == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = _get(study, arg) if op == "copy" else arg
        except (KeyError, IndexError, TypeError):
            assume(False)  # an earlier change removed this path
    assert_only_problems(validation.check_raw(study, "base2024.yaml", "base2024"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(tree=trees)
def test_any_tree_written_as_a_yaml_file_gives_problems_not_exceptions(tmp_path, tree):
    path: Path = tmp_path / "x.yaml"
    try:
        text = yaml.safe_dump(tree, allow_unicode=True)
    except yaml.YAMLError:
        assume(False)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_only_problems(validation.parse_study(path))

"""Tests of analysis.stats.proportions (single-proportion CIs, GRIM-style count reconstruction)."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.stats.proportions import CI_METHODS, ci, counts_from_percent, identify_ci_method

from refdata import DATA as META
from refdata import SEED


# ---- published reference values -----------------------------------------------------------


def test_clopper_pearson_matches_r_binom_test():
    """binom.test(246, 326) printed in metadat's dat.pritz1997 reference page (7 decimals)."""
    case = META["cases"]["pritz1997_binom_test"]
    lo, hi = ci(case["x"], case["n"], "clopper-pearson")
    assert lo == pytest.approx(case["ci_lb"], abs=5e-8)
    assert hi == pytest.approx(case["ci_ub"], abs=5e-8)
    assert ci(case["x"], case["n"], "exact") == (lo, hi)


# ---- the seed reports ----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["complete_remission", "icans", "crs"])
def test_zhang2021_interval_methods(outcome):
    rep = SEED["zhang2021"]
    o = rep[outcome]
    low, high = o["ci_percent"]
    assert identify_ci_method(o["x"], rep["n"], low, high, decimals=o["decimals"]) == o["expected_methods"]
    assert counts_from_percent(o["percent"], rep["n"]) == [o["x"]]


def test_zhang2021_wald_cc_bounds():
    lo, hi = ci(34, 43, "wald-cc")
    half = stats.norm.ppf(0.975) * math.sqrt(34 / 43 * 9 / 43 / 43) + 1 / 86
    assert lo == pytest.approx(34 / 43 - half, abs=1e-12)
    assert hi == pytest.approx(34 / 43 + half, abs=1e-12)
    assert (round(100 * lo), round(100 * hi)) == (66, 92)


def test_count_reconstruction():
    assert counts_from_percent(79, 43) == [34]
    hua = SEED["hua2020"]
    assert counts_from_percent(hua["percent_printed"], hua["n"], hua["decimals"]) == hua["expected_counts"]
    assert counts_from_percent(23.08, 13, 2) == [3]
    assert counts_from_percent(0, 7) == [0]
    assert counts_from_percent(100, 7) == [7]
    # boundary inclusive: 1/8 = 12.5 % prints as 12 (half-even) or 13 (half-up)
    assert counts_from_percent(12, 8) == [1]
    assert counts_from_percent(13, 8) == [1]
    # several counts can match for large n
    assert counts_from_percent(50, 300) == [149, 150, 151]


# ---- method definitions --------------------------------------------------------------------


def test_wald_and_wilson_formulas():
    x, n = 7, 20
    p = x / n
    z = stats.norm.ppf(0.975)
    lo, hi = ci(x, n, "wald")
    assert lo == pytest.approx(p - z * math.sqrt(p * (1 - p) / n))
    assert hi == pytest.approx(p + z * math.sqrt(p * (1 - p) / n))
    # Wilson = inversion of the score test (R prop.test(correct=FALSE) interval)
    wlo, whi = ci(x, n, "wilson")
    for b in (wlo, whi):
        assert abs(p - b) / math.sqrt(b * (1 - b) / n) == pytest.approx(z, rel=1e-10)


def test_agresti_coull_and_jeffreys():
    x, n = 3, 17
    z = stats.norm.ppf(0.975)
    nt = n + z * z
    pt = (x + z * z / 2) / nt
    lo, hi = ci(x, n, "agresti-coull")
    assert lo == pytest.approx(pt - z * math.sqrt(pt * (1 - pt) / nt))
    assert hi == pytest.approx(pt + z * math.sqrt(pt * (1 - pt) / nt))
    jlo, jhi = ci(x, n, "jeffreys")
    assert jlo == pytest.approx(stats.beta.ppf(0.025, 3.5, 14.5))
    assert jhi == pytest.approx(stats.beta.ppf(0.975, 3.5, 14.5))


def test_clopper_pearson_covers_binomial_tail():
    x, n = 5, 23
    lo, hi = ci(x, n, "clopper-pearson")
    assert stats.binom.sf(x - 1, n, lo) == pytest.approx(0.025, rel=1e-8)
    assert stats.binom.cdf(x, n, hi) == pytest.approx(0.025, rel=1e-8)


@pytest.mark.parametrize("method", CI_METHODS)
def test_extremes_and_clipping(method):
    lo0, hi0 = ci(0, 10, method)
    lo1, hi1 = ci(10, 10, method)
    assert lo0 == 0.0 and 0.0 <= hi0 <= 1.0
    assert hi1 == 1.0 and 0.0 <= lo1 <= 1.0
    lo, hi = ci(1, 3, method)
    assert 0.0 <= lo < 1 / 3 < hi <= 1.0


def test_clip_wald_cc_at_zero_one():
    lo, hi = ci(1, 4, "wald-cc")
    assert lo == 0.0  # p - half < 0 is clipped
    lo, hi = ci(3, 4, "wald-cc")
    assert hi == 1.0


def test_vectorised_and_scalar_types():
    lo, hi = ci(np.array([1, 2, 3]), np.array([5, 5, 5]), "wilson")
    assert isinstance(lo, np.ndarray) and lo.shape == (3,)
    for i, x in enumerate([1, 2, 3]):
        slo, shi = ci(x, 5, "wilson")
        assert isinstance(slo, float)
        assert lo[i] == pytest.approx(slo) and hi[i] == pytest.approx(shi)
    # broadcasting a scalar n
    lo2, _ = ci([1, 2, 3], 5, "wilson")
    np.testing.assert_allclose(lo2, lo)


def test_level():
    lo90, hi90 = ci(10, 40, "wilson", level=0.90)
    lo95, hi95 = ci(10, 40, "wilson", level=95)
    assert lo95 < lo90 < hi90 < hi95


# ---- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x,n,msg",
    [(-1, 10, "must be >= 0"), (11, 10, "cannot exceed"), (0, 0, "must be > 0"), ([1, 2], [3, 4, 5], "mismatched")],
)
def test_invalid_counts(x, n, msg):
    with pytest.raises(ValueError, match=msg):
        ci(x, n)


def test_invalid_method_and_level():
    with pytest.raises(ValueError, match="unknown CI method"):
        ci(1, 10, "bogus")
    with pytest.raises(ValueError, match="level"):
        ci(1, 10, level=100)
    with pytest.raises(ValueError, match="n must be > 0"):
        counts_from_percent(50, 0)
    with pytest.raises(ValueError, match="percent"):
        counts_from_percent(120, 10)
    with pytest.raises(ValueError, match="must not exceed"):
        identify_ci_method(5, 10, 60, 40)


def test_identify_with_decimals():
    lo, hi = ci(12, 30, "jeffreys")
    found = identify_ci_method(12, 30, round(100 * lo, 1), round(100 * hi, 1), decimals=1)
    assert "jeffreys" in found
    assert identify_ci_method(12, 30, 1, 2) == []


def test_ci_table():
    from analysis.stats.proportions import ci_table

    t = ci_table(34, 43, decimals=0)
    assert t["method"].to_list() == list(CI_METHODS)
    row = t.filter(t["method"] == "wald-cc").row(0, named=True)
    assert (row["ci_low_printed"], row["ci_high_printed"]) == (66.0, 92.0)
    lo, hi = ci(34, 43, "wilson")
    w = t.filter(t["method"] == "wilson").row(0, named=True)
    assert w["ci_low"] == pytest.approx(100 * lo) and w["ci_high"] == pytest.approx(100 * hi)


# ---- the printed, rounded percentage (issue 15) --------------------------------------------


@pytest.mark.parametrize("outcome", ["complete_remission", "icans", "crs"])
def test_identification_also_on_the_printed_percentage(outcome):
    """Zhang 2021 prints "CRS occurred in 38 (88% [78, 98%])" with n = 43: (78, 98) is the plain
    Wald interval of p = 0.88, not of 38/43 (79-98). Issue 15; the other two are found on the count."""
    rep = SEED["zhang2021"]
    o = rep[outcome]
    low, high = o["ci_percent"]
    found = identify_ci_method(o["x"], rep["n"], low, high, decimals=o["decimals"], percent=o["percent"])
    expected = {"complete_remission": ["wald-cc"], "icans": ["wald-cc"], "crs": ["wald (on the printed 88%)"]}
    assert found == expected[outcome]
    assert found[: len(o["expected_methods"])] == o["expected_methods"]


def test_wald_on_the_rounded_88_percent():
    z = stats.norm.ppf(0.975)
    half = z * math.sqrt(0.88 * 0.12 / 43)
    assert (round(100 * (0.88 - half)), round(100 * (0.88 + half))) == (78, 98)
    lo, hi = ci(0.88 * 43, 43, "wald")
    assert lo == pytest.approx(0.88 - half) and hi == pytest.approx(0.88 + half)
    # on the count the Wald interval prints 79-98, not the reported 78-98
    lo, hi = ci(38, 43, "wald")
    assert (round(100 * lo), round(100 * hi)) == (79, 98)


def test_fractional_counts_use_the_closed_forms():
    x, n = 37.84, 43
    lo, hi = ci(x, n, "clopper-pearson")
    assert lo == pytest.approx(stats.beta.ppf(0.025, x, n - x + 1)) and hi == pytest.approx(stats.beta.ppf(0.975, x + 1, n - x))
    wlo, whi = ci(x, n, "wilson")
    p, z = x / n, stats.norm.ppf(0.975)
    for b in (wlo, whi):  # score-test inversion, as for whole counts
        assert abs(p - b) / math.sqrt(b * (1 - b) / n) == pytest.approx(z, rel=1e-10)
    # whole counts still go through scipy and agree with the closed forms
    assert ci(38, 43, "wilson") == pytest.approx(ci(38.0 + 1e-13, 43, "wilson"), abs=1e-9)

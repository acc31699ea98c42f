"""One 2x2 table: effect measures, Fisher's exact and chi-square tests (R fisher.test, chisq.test)."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.stats.contingency import chisq_test, fisher_exact, two_by_two
from refdata import SEED


def test_hua2020_mrd_negative_cr():
    h = SEED["hua2020"]["mrd_negative_cr"]
    res = two_by_two(h["events1"], h["n1"], h["events2"], h["n2"])
    a, b, c, d = 8, 5, 2, 13
    # hypergeometric two-sided p computed directly
    pm = stats.hypergeom(28, 10, 13)
    probs = pm.pmf(np.arange(0, 11))
    assert res.fisher.pval == pytest.approx(probs[probs <= pm.pmf(8) * (1 + 1e-7)].sum(), rel=1e-10)
    assert res.fisher.pval == pytest.approx(0.016323, abs=1e-6)
    # chi-square statistics from the formula sum (|O - E| - Y)^2 / E, Y = 1/2 with Yates
    O = np.array([[a, b], [c, d]], float)
    E = O.sum(1, keepdims=True) * O.sum(0, keepdims=True) / O.sum()
    for r, y in ((res.chisq, 0.0), (res.chisq_yates, 0.5)):
        x2 = np.sum((np.abs(O - E) - y) ** 2 / E)
        assert r.statistic == pytest.approx(x2, rel=1e-12)
        assert r.pval == pytest.approx(stats.chi2.sf(x2, 1), rel=1e-12)
    # which tests reproduce the reported p = 0.02?
    assert res.tests_reproducing(h["reported_p"], h["reported_p_decimals"]) == ["fisher", "chisq_yates"]
    assert round(res.chisq.pval, 2) == 0.01
    # effect measures
    assert res.rr[0] == pytest.approx((8 / 13) / (2 / 15))
    assert res.or_[0] == pytest.approx(8 * 13 / (5 * 2))
    assert res.rd[0] == pytest.approx(8 / 13 - 2 / 15)
    se = math.sqrt(1 / 8 - 1 / 13 + 1 / 2 - 1 / 15)
    assert res.rr[1] == pytest.approx(math.exp(math.log(res.rr[0]) - stats.norm.isf(0.025) * se))
    assert res.summary.height == 7 and "Fisher" in str(res)


def test_fisher_conditional_mle_and_ci():
    f = fisher_exact(8, 5, 2, 13)
    # conditional MLE solves E[X; psi] = a under Fisher's noncentral hypergeometric distribution
    assert stats.nchypergeom_fisher(28, 10, 13, f.odds_ratio).mean() == pytest.approx(8, abs=1e-8)
    assert stats.nchypergeom_fisher(28, 10, 13, f.ci_low).sf(7) == pytest.approx(0.025, abs=1e-8)
    assert stats.nchypergeom_fisher(28, 10, 13, f.ci_high).cdf(8) == pytest.approx(0.025, abs=1e-8)
    assert f.sample_odds_ratio == pytest.approx(10.4)


def test_zero_cells_roddie_style_arms():
    # arms of 7 and 7 with zero events in one arm (Roddie 2025-type tables)
    res = two_by_two(0, 7, 3, 7)
    pm = stats.hypergeom(14, 3, 7)
    probs = pm.pmf(np.arange(0, 4))
    assert res.fisher.pval == pytest.approx(probs[probs <= pm.pmf(0) * (1 + 1e-7)].sum(), rel=1e-10)
    assert res.fisher.odds_ratio == 0.0 and res.fisher.ci_low == 0.0
    assert res.or_[0] == pytest.approx((0.5 * 4.5) / (7.5 * 3.5))
    assert np.isfinite(res.rr[1]) and np.isfinite(res.rd[2])
    res = two_by_two(7, 7, 7, 7)
    assert res.fisher.pval == pytest.approx(1.0)
    assert math.isnan(res.chisq.pval)


def test_chisq_yates_formula():
    r = chisq_test(12, 5, 3, 9, correct=True)
    O = np.array([[12, 5], [3, 9]], float)
    E = O.sum(1, keepdims=True) * O.sum(0, keepdims=True) / O.sum()
    assert r.statistic == pytest.approx(np.sum((np.abs(O - E) - 0.5) ** 2 / E))
    with pytest.raises(ValueError, match="non-negative whole"):
        chisq_test(-1, 2, 3, 4)

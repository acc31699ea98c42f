"""The crude pooled count with its exact (Clopper-Pearson) interval, for k < 3."""

import numpy as np
import polars as pl
import pytest
from scipy import stats

from analysis.stats.meta import crude_proportion


def test_crude_count_and_exact_interval():
    r = crude_proportion([2, 0], [43, 13], labels=["zhang2021", "hua2020"])
    assert (r.events_total, r.n_total, r.k) == (2, 56, 2)
    assert r.estimate == pytest.approx(2 / 56)
    # Clopper-Pearson: the bounds are where the binomial tails equal alpha/2
    assert stats.binom.sf(1, 56, r.ci_low) == pytest.approx(0.025, rel=1e-8)
    assert stats.binom.cdf(2, 56, r.ci_high) == pytest.approx(0.025, rel=1e-8)
    assert "Clopper-Pearson" in r.method and "crude" in r.method and "Clopper-Pearson" in str(r)
    assert r.tau2 is None and r.pi_low is None and r.hk_low is None and r.pval is None


def test_weights_are_shares_of_patients_and_reproduce_the_estimate():
    x, n = np.array([3, 10, 0]), np.array([10, 20, 7])
    r = crude_proportion(x, n)
    assert r.weights.sum() == pytest.approx(100)
    assert np.sum(r.weights / 100 * x / n) == pytest.approx(r.estimate)
    st = r.summary_frame().filter(pl.col("kind") == "study")
    assert st["ci_low"][2] == 0.0 and stats.binom.cdf(0, 7, st["ci_high"][2]) == pytest.approx(0.025, rel=1e-8)


def test_zero_and_all_events():
    assert crude_proportion([0, 0], [5, 9]).ci_low == 0.0
    r = crude_proportion([5, 9], [5, 9])
    assert r.ci_high == 1.0 and stats.binom.sf(13, 14, r.ci_low) == pytest.approx(0.025, rel=1e-8)
    with pytest.raises(ValueError, match="whole"):
        crude_proportion([1.5], [4])

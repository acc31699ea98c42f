"""The one result protocol: every fitted model has the same attributes and frames."""

import math

import numpy as np
import polars as pl
import pytest
from scipy import special, stats

from analysis.stats.meta import (PROTOCOL, crude_proportion, glmm_proportion, mantel_haenszel, peto, pool_proportions,
                                 rma, subgroup, two_group)
from refdata import bcg_tables

X, N = [3, 10, 7, 0, 5], [10, 20, 12, 9, 30]


def fits():
    a, n1, c, n2 = bcg_tables()
    yield "rma", rma(np.log([0.5, 0.8, 1.2, 0.6]), [0.1, 0.2, 0.15, 0.3])
    yield "rma FE", rma(np.log([0.5, 0.8, 1.2, 0.6]), [0.1, 0.2, 0.15, 0.3], method="FE")
    for t in ("logit", "raw", "ft", "arcsine", "glmm"):
        yield f"proportions {t}", pool_proportions(X, N, transform=t)
    yield "glmm", glmm_proportion(X, N)
    yield "crude", crude_proportion(X, N)
    yield "MH", mantel_haenszel(a, n1, c, n2, "RR")
    yield "Peto", peto(a, n1, c, n2)
    yield "two_group", two_group(a, n1, c, n2, "OR")
    yield "subgroup", subgroup(rma(np.log([0.5, 0.8, 1.2, 0.6]), [0.1, 0.2, 0.15, 0.3]), ["a", "a", "b", "b"])


@pytest.mark.parametrize("name,res", list(fits()))
def test_every_result_has_every_protocol_attribute(name, res):
    for a in PROTOCOL:
        getattr(res, a)  # never AttributeError
    assert isinstance(res.k, int) and res.k >= 1
    assert res.ci_low <= res.estimate <= res.ci_high
    assert 0 < res.level < 1 and isinstance(res.method, str) and res.method
    assert len(res.labels) == res.k
    if name in ("glmm", "proportions glmm"):
        assert res.weights is None  # metafor defines no weights for rma.glmm
    else:
        assert res.weights.sum() == pytest.approx(100.0) and len(res.weights) == res.k
    for lo, hi in (("pi_low", "pi_high"), ("hk_low", "hk_high"), ("tau2_low", "tau2_high"), ("i2_low", "i2_high")):
        assert (getattr(res, lo) is None) == (getattr(res, hi) is None)
        if getattr(res, lo) is not None:
            assert getattr(res, lo) <= getattr(res, hi)
    s = res.summary
    assert s.height == 1 and set(PROTOCOL) - {"weights", "labels"} <= set(s.columns)
    assert str(res) and isinstance(str(res), str)


@pytest.mark.parametrize("name,res", list(fits()))
def test_frames(name, res):
    sf = res.summary_frame()
    assert {"label", "kind", "estimate", "ci_low", "ci_high", "weight"} <= set(sf.columns)
    studies = sf.filter(pl.col("kind") == "study")
    assert studies.height == (res.k if name != "subgroup" else 4)
    assert sf.filter(pl.col("kind") == "pooled").height >= 1
    ff = res.forest_frame()
    assert set(ff["kind"]) <= {"study", "pooled", "prediction"}
    assert (ff.filter(pl.col("kind") == "prediction").height >= 1) == (res.pi_low is not None)


def test_rma_summary_frame_rows_are_wald_intervals_and_weights():
    yi, vi = np.log([0.5, 0.8, 1.2, 0.6]), np.array([0.1, 0.2, 0.15, 0.3])
    r = rma(yi, vi, labels=["A", "B", "C", "D"])
    sf = r.summary_frame()
    st = sf.filter(pl.col("kind") == "study")
    z = stats.norm.isf(0.025)
    assert st["label"].to_list() == ["A", "B", "C", "D"]
    np.testing.assert_allclose(st["estimate"].to_numpy(), yi)
    np.testing.assert_allclose(st["ci_low"].to_numpy(), yi - z * np.sqrt(vi))
    w = 1 / (vi + r.tau2)
    np.testing.assert_allclose(st["weight"].to_numpy(), 100 * w / w.sum())
    pooled = sf.filter(pl.col("kind") == "pooled").row(0, named=True)
    assert (pooled["estimate"], pooled["ci_low"], pooled["ci_high"]) == (r.estimate, r.ci_low, r.ci_high)
    pi = r.forest_frame().filter(pl.col("kind") == "prediction").row(0, named=True)
    assert (pi["ci_low"], pi["ci_high"]) == (r.pi_low, r.pi_high)


def test_proportion_frames_are_back_transformed():
    r = pool_proportions(X, N, transform="logit")
    st = r.summary_frame().filter(pl.col("kind") == "study")
    # metafor forest(res, transf=transf.ilogit): escalc PLO values (1/2 added to both cells of 0/9: 0.5/10) back-transformed
    assert st["estimate"].to_list() == pytest.approx([3 / 10, 10 / 20, 7 / 12, 0.5 / 10, 5 / 30])
    assert (st["ci_low"] >= 0).all() and (st["ci_high"] <= 1).all()
    assert r.summary_frame().filter(pl.col("kind") == "pooled")["estimate"][0] == pytest.approx(special.expit(r.model.estimate))


def test_default_labels():
    assert rma([0.1, 0.2, 0.3], [1, 1, 1]).labels == ["1", "2", "3"]
    assert pool_proportions(X, N).labels == ["1", "2", "3", "4", "5"]
    with pytest.raises(ValueError, match="one entry per study"):
        rma([0.1, 0.2], [1, 1], labels=["a"])


def test_hk_back_transformed_for_proportions():
    r = pool_proportions(X, N, transform="logit")
    lo, hi = r.model.hartung_knapp()
    assert (r.hk_low, r.hk_high) == pytest.approx((special.expit(lo), special.expit(hi)))
    assert math.isfinite(r.hk_low)

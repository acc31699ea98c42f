"""leave_one_out (metafor leave1out) and subgroup analyses."""

import numpy as np
import pytest
from scipy import stats

from analysis.stats.meta import leave_one_out, mantel_haenszel, pool_proportions, rma, subgroup
from refdata import C, D, NEW_NAMES, bcg_tables, printed


def test_leave_one_out_bcg(bcg):
    yi, vi = bcg
    out = leave_one_out(rma(yi, vi, labels=D["dat.bcg"]["trial"]))
    c = C["bcg_leave1out"]
    assert out.height == 13 and out["omitted"].to_list() == [str(i) for i in range(1, 14)]
    for i, row in enumerate(c["rows"]):
        for col, ref in zip(c["columns"], row):
            printed(out[NEW_NAMES.get(col, col)][i], ref)


def test_leave_cluster_out_bcg(bcg):
    yi, vi = bcg
    alloc = np.array(D["dat.bcg"]["alloc"])
    c = C["bcg_leave1out_cluster_alloc"]
    for group, row in c["rows"].items():
        r = rma(yi[alloc != group], vi[alloc != group])
        got = [r.estimate, r.se, r.zval, r.pval, r.ci_low, r.ci_high, r.q, r.q_pval, r.tau2, r.i2, r.h2]
        for g, ref in zip(got, row):
            printed(g, ref)


def test_leave_one_out_of_pooled_proportions_refits_the_same_model():
    x, n = [3, 10, 7, 0], [10, 20, 12, 9]
    for transform in ("logit", "ft", "glmm"):
        res = pool_proportions(x, n, transform=transform, labels=["a", "b", "c", "d"])
        out = leave_one_out(res)
        assert out["omitted"].to_list() == ["a", "b", "c", "d"]
        direct = pool_proportions(x[1:], n[1:], transform=transform)
        assert out["estimate"][0] == pytest.approx(direct.estimate, rel=1e-12)
        assert out["ci_low"][0] == pytest.approx(direct.ci_low, rel=1e-12)


def test_leave_one_out_of_mantel_haenszel():
    a, n1, c, n2 = bcg_tables()
    out = leave_one_out(mantel_haenszel(a, n1, c, n2, "OR"))
    direct = mantel_haenszel(a[1:], n1[1:], c[1:], n2[1:], "OR")
    assert out["estimate"][0] == pytest.approx(direct.estimate) and out["tau2"][0] is None


def test_subgroup_bcg(bcg):
    yi, vi = bcg
    alloc = D["dat.bcg"]["alloc"]
    res = subgroup(rma(yi, vi, method="REML"), alloc, by="alloc")
    assert set(res.groups) == {"random", "alternate", "systematic"}
    assert res.q_between_df == 2
    est = np.array([res.groups[g].estimate for g in res.groups])
    w = np.array([1 / res.groups[g].se ** 2 for g in res.groups])
    q = np.sum(w * (est - np.sum(w * est) / w.sum()) ** 2)
    assert res.q_between == pytest.approx(q)
    assert res.q_between_pval == pytest.approx(stats.chi2.sf(q, 2))
    r_random = rma(yi[np.array(alloc) == "random"], vi[np.array(alloc) == "random"])
    assert res.groups["random"].estimate == r_random.estimate
    assert "Test for Subgroup Differences" in str(res)
    with pytest.raises(ValueError, match="one group per study"):
        subgroup(rma(yi, vi), alloc[:-1])

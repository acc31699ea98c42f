"""leave_one_out (metafor leave1out) and subgroup analyses."""

import math

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


def test_subgroup_common_tau2_is_metafor_mods_alloc(bcg):
    """Test for subgroup differences with one tau^2: metafor rma(yi, vi, mods = ~ alloc) QM (pairmat.html)."""
    c = C["bcg_RR_REML_mods_alloc"]
    yi, vi = bcg
    res = subgroup(rma(yi, vi), D["dat.bcg"]["alloc"], by="alloc", tau2="common")
    gm = res.common
    printed(gm.tau2, c["tau2"])
    printed(gm.se_tau2, c["se_tau2"])
    printed(math.sqrt(gm.tau2), c["tau"])
    printed(gm.i2, c["I2"], 2)
    printed(gm.h2, c["H2"], 2)
    printed(gm.qe, c["QE"])
    assert gm.qe_df == c["QE_df"]
    printed(res.q_between, c["QM_alloc"])
    assert res.q_between_df == c["QM_alloc_df"]
    printed(res.q_between_pval, c["QM_alloc_pval"])
    rows = {r["group"]: r for r in res.table.iter_rows(named=True)}
    for group, ref in c["groups"].items():
        row = rows[group]
        for key, want in (("estimate", ref[0]), ("se", ref[1]), ("ci_low", ref[4]), ("ci_high", ref[5])):
            printed(row[key], want)
    assert res.tau2_between == "common" and "Test for Subgroup Differences" in str(res)


def test_subgroup_common_tau2_on_pooled_proportions_is_back_transformed():
    x, n = [3, 10, 7, 0, 5, 9], [10, 20, 12, 9, 30, 14]
    groups = ["a", "a", "a", "b", "b", "b"]
    res = pool_proportions(x, n, transform="logit")
    sg = subgroup(res, groups, tau2="common")
    direct = subgroup(rma(res.yi, res.vi), groups, tau2="common")
    assert sg.q_between == pytest.approx(direct.q_between)
    expit = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    for a, b in zip(sg.table.iter_rows(named=True), direct.table.iter_rows(named=True)):
        assert a["estimate"] == pytest.approx(expit(b["estimate"]))
        assert a["ci_low"] == pytest.approx(expit(b["ci_low"]))
    with pytest.raises(ValueError, match="inverse-variance"):
        subgroup(pool_proportions(x, n, transform="glmm", nAGQ=7), groups, tau2="common")

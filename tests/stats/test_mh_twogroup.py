"""Mantel-Haenszel, Peto and two-group pooling against metafor (rma.mh, rma.peto, escalc + rma)."""

import numpy as np
import pytest

from analysis.stats.meta import mantel_haenszel, peto, two_group
from refdata import C, D, attr, bcg_tables, printed


@pytest.mark.parametrize("case", ["bcg_RR_EE", "bcg_RR_DL", "bcg_OR_EE", "bcg_OR_DL", "bcg_RD_EE", "bcg_RD_DL"])
def test_bcg_measures_vs_metan(case):
    c = C[case]
    a, n1, cc, n2 = bcg_tables()
    res = two_group(a, n1, cc, n2, measure=c["measure"], method=c["method"])
    r = res.model
    for key in ("estimate", "ci_lb", "ci_ub"):
        printed(attr(r, key), c[key])
    printed(r.zval, c["zval"])
    if "Q" in c:
        printed(r.q, c["Q"])
    if "tau2" in c:
        printed(r.tau2, c["tau2"])
    if "I2" in c:
        printed(r.i2, c["I2"])
    if "exp_pred" in c:
        printed(res.estimate, c["exp_pred"])
        printed(res.ci_low, c["exp_ci_lb"])
        printed(res.ci_high, c["exp_ci_ub"])


@pytest.mark.parametrize("case,measure", [("bcg_MH_OR", "OR"), ("bcg_MH_RR", "RR")])
def test_mantel_haenszel_bcg(case, measure):
    c = C[case]
    a, n1, cc, n2 = bcg_tables()
    r = mantel_haenszel(a, n1, cc, n2, measure)
    assert r.k == c["k"] and r.q_df == c["Q_df"]
    printed(r.i2, c["I2"], 2)
    printed(r.h2, c["H2"], 2)
    for key in ("Q", "estimate", "se", "ci_lb", "ci_ub", "exp_estimate", "exp_ci_lb", "exp_ci_ub"):
        printed(attr(r, key), c[key])
    printed(r.zval, c["zval"])
    if measure == "OR":
        printed(r.cmh, c["cmh"])
        printed(r.tarone, c["tarone"])
        assert r.tarone_df == c["tarone_df"]
        assert "Cochran-Mantel-Haenszel Test:    CMH = 135.6889" in str(r)


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mh_weights_reproduce_the_estimate(measure):
    """metafor weights.rma.mh: the MH estimate is the weighted mean of the study OR/RR/RD."""
    a, n1, c, n2 = bcg_tables()
    r = mantel_haenszel(a, n1, c, n2, measure)
    assert r.weights.sum() == pytest.approx(100.0)
    b, d = n1 - a, n2 - c
    study = {"OR": a * d / (b * c), "RR": (a / n1) / (c / n2), "RD": a / n1 - c / n2}[measure]
    pooled = np.sum(r.weights * study) / 100.0
    assert pooled == pytest.approx(r.estimate if measure == "RD" else np.exp(r.estimate), rel=1e-12)


def test_mh_via_two_group_and_zero_tables():
    a, n1, cc, n2 = bcg_tables()
    res = two_group(a, n1, cc, n2, "RR", method="MH")
    printed(res.estimate, C["bcg_MH_RR"]["exp_estimate"])
    # a double-zero table: counted in k, not in the Q degrees of freedom, no effect on the estimate
    r0 = mantel_haenszel([4, 6, 0], [123, 306, 50], [11, 29, 0], [139, 303, 50], "OR")
    r1 = mantel_haenszel([4, 6], [123, 306], [11, 29], [139, 303], "OR")
    assert r0.k == 3 and r0.q_df == 1
    assert r0.estimate == pytest.approx(r1.estimate)


def test_peto_bcg():
    c = C["bcg_peto_confint"]
    a, n1, cc, n2 = bcg_tables()
    r = peto(a, n1, cc, n2)
    printed(r.exp_estimate, c["exp_estimate"])
    printed(r.exp_ci_low, c["exp_ci_lb"])
    printed(r.exp_ci_high, c["exp_ci_ub"])
    assert two_group(a, n1, cc, n2, "OR", method="PETO").estimate == pytest.approx(r.exp_estimate)
    # weights.rma.peto: V_i in percent, and log OR = sum(O - E) / sum V
    assert r.weights.sum() == pytest.approx(100.0) and r.method == "Peto"


def test_peto_collins1985a_double_zero_in_k_not_df():
    d = D["dat.collins1985a"]
    c = C["collins1985a_peto_digits2"]
    keep = [i for i, (x1, x2) in enumerate(zip(d["b_xti"], d["b_xci"])) if x1 is not None and x2 is not None]
    r = peto([d["b_xti"][i] for i in keep], [d["nti"][i] for i in keep], [d["b_xci"][i] for i in keep],
             [d["nci"][i] for i in keep])
    assert r.k == c["k"] and r.q_df == c["Q_df"]  # Colecchia (0/14 vs 0/14) is in k, not in df
    printed(r.i2, c["I2"], 2)
    printed(r.h2, c["H2"], 2)
    for key in ("Q", "Q_pval", "estimate", "se", "pval", "ci_lb", "ci_ub", "exp_estimate", "exp_ci_lb", "exp_ci_ub"):
        printed(attr(r, key), c[key], 2)
    printed(r.zval, c["zval"], 2)


def test_nielweise_or_drop00():
    c = C["nielweise2007_OR_drop00_digits3"]
    d = D["dat.nielweise2007"]
    res = two_group(d["ai"], d["n1i"], d["ci"], d["n2i"], "OR", drop00=True)
    r = res.model
    assert r.k == c["k"] and r.q_df == c["Q_df"]
    for key in ("tau2", "se_tau2", "tau", "Q", "estimate", "se", "ci_lb", "ci_ub"):
        printed(attr(r, key), c[key], 3)
    printed(r.zval, c["zval"], 3)
    printed(r.i2, c["I2"], 2)
    printed(r.h2, c["H2"], 2)
    for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        printed(attr(res, key), c[f"exp_{key}"], 2)


def test_two_group_zero_cells_rd():
    g = two_group([0, 2], [7, 7], [3, 2], [7, 7], "RD", method="DL")
    assert g.model.k == 2


def test_tarone_is_nan_when_a_fitted_cell_is_empty():
    """Found by the property tests: a fitted table with an empty cell makes Tarone's statistic NaN
    (R's max(0, NaN)), not a crash; the MH OR itself is unaffected."""
    r = mantel_haenszel([3, 2], [10, 4], [1, 4], [10, 4], "OR")
    assert np.isnan(r.tarone) and np.isfinite(r.exp_estimate)
    a, b, c, d = np.array([3, 2]), np.array([7, 2]), np.array([1, 4]), np.array([9, 0])
    N = a + b + c + d
    assert r.exp_estimate == pytest.approx(np.sum(a * d / N) / np.sum(b * c / N), rel=1e-12)

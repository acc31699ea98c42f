"""Tests of analysis.meta against metafor's published output (tests/reference/metafor_reference.json).

Tolerance policy: a value printed with d decimals must round to the printed number, i.e. agree
within 0.5 * 10^-d (``printed`` below). Bounds that metafor finds by root-finding (Q-profile CIs,
Paule-Mandel) carry R uniroot's tolerance (eps^0.25 ~ 1.2e-4 on tau^2): these are compared to
1e-3 (``ROOT_TOL``), although the kernel ports R's root finder and usually agrees to every digit.
"""

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import special, stats

from analysis import meta
from analysis.meta import (
    chisq_test,
    escalc_2x2,
    escalc_proportion,
    fisher_exact,
    glmm_proportion,
    leave_one_out,
    mantel_haenszel,
    proportions,
    rma,
    subgroup,
    two_by_two,
    two_group,
)

REF = Path(__file__).parent / "reference"
DATA = json.loads((REF / "metafor_reference.json").read_text())
D = DATA["datasets"]
C = DATA["cases"]
SEED = json.loads((REF / "seed_reports.json").read_text())
ROOT_TOL = 1e-3


def printed(value, ref, digits=4):
    """value rounds to the printed reference at `digits` decimals."""
    assert abs(value - ref) <= 0.5 * 10.0 ** (-digits) + 1e-12, f"{value!r} does not print as {ref!r} at {digits} decimals"


def bcg_tables():
    b = D["dat.bcg"]
    a, bb, c, d = (np.array(b[k], float) for k in ("tpos", "tneg", "cpos", "cneg"))
    return a, a + bb, c, c + d


@pytest.fixture(scope="module")
def bcg():
    a, n1, c, n2 = bcg_tables()
    return escalc_2x2(a, n1, c, n2, "RR")


# ---- escalc ------------------------------------------------------------------------------


def test_escalc_bcg_rr(bcg):
    yi, vi = bcg
    for got, ref in zip(yi, D["dat.bcg"]["escalc_RR_yi"]):
        printed(got, ref)
    for got, ref in zip(vi, D["dat.bcg"]["escalc_RR_vi"]):
        printed(got, ref)


def test_escalc_zero_cell_correction():
    # a zero cell: 1/2 added to every cell of that table only (metafor to="only0")
    y, v = escalc_2x2([0, 5], [10, 10], [3, 5], [10, 10], "OR")
    assert y[0] == pytest.approx(math.log(0.5 * 7.5 / (10.5 * 3.5)))
    assert v[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
    assert y[1] == 0.0 and v[1] == pytest.approx(4 * 1 / 5)
    # double zero: kept by default (escalc drop00=FALSE), NaN with drop00=True
    y, _ = escalc_2x2([0], [10], [0], [12], "RR")
    assert np.isfinite(y[0])
    y, _ = escalc_2x2([0], [10], [0], [12], "RR", drop00=True)
    assert np.isnan(y[0])


def test_escalc_proportions_conventions():
    # logit / raw: 1/2 only for 0 % or 100 % studies; a 10/10 study enters as 10.5/11
    y, v = escalc_proportion([10, 3], [10, 10], "raw")
    assert y[0] == pytest.approx(10.5 / 11) and v[0] == pytest.approx((10.5 / 11) * (0.5 / 11) / 11)
    assert y[1] == pytest.approx(0.3) and v[1] == pytest.approx(0.3 * 0.7 / 10)
    y, v = escalc_proportion([0, 3], [10, 10], "logit")
    assert y[0] == pytest.approx(math.log(0.5 / 10.5)) and v[0] == pytest.approx(1 / 0.5 + 1 / 10.5)
    # arcsine: no correction
    y, v = escalc_proportion([0, 10], [10, 10], "arcsine")
    assert y[0] == 0 and y[1] == pytest.approx(math.pi / 2) and v[0] == pytest.approx(1 / 40)


def test_escalc_pft_miller1978():
    m = D["miller1978"]
    case = C["miller1978_PFT"]
    y, v = escalc_proportion(m["xi"], m["ni"], "ft")
    for got, ref in zip(2 * y, case["yi_times_2"]):
        printed(got, ref)
    for got, ref in zip(4 * v, case["vi_times_4"]):
        printed(got, ref)


# ---- rma: BCG ----------------------------------------------------------------------------


def test_bcg_reml_print(bcg):
    c = C["bcg_RR_REML_print"]
    r = rma(*bcg)
    printed(r.tau2, c["tau2"])
    printed(r.se_tau2, c["se_tau2"])
    printed(r.tau, c["tau"])
    printed(r.I2, c["I2"], 2)
    printed(r.H2, c["H2"], 2)
    printed(r.Q, c["Q"])
    assert r.Q_df == c["Q_df"]
    for key in ("estimate", "se", "ci_lb", "ci_ub"):
        printed(getattr(r, key), c[key])
    printed(r.zval, c["zval"])
    assert r.pval < 1e-4


def test_bcg_reml_text_output(bcg):
    text = str(rma(*bcg))
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)" in text
    assert "I^2 (total heterogeneity / total variability):   92.22%" in text
    assert "H^2 (total variability / sampling variability):  12.86" in text
    assert "Q(df = 12) = 152.2330, p-val < .0001" in text
    assert "-0.7145" in text and "-1.0669" in text and "<.0001" in text


def test_bcg_reml_summary_frame(bcg):
    s = rma(*bcg).summary
    assert isinstance(s, pl.DataFrame) and s.height == 1
    assert {"estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "se_tau2", "I2", "H2", "Q", "Q_df", "Q_pval"} <= set(s.columns)


def test_bcg_reml_confint(bcg):
    c = C["bcg_RR_REML_confint"]
    ci = rma(*bcg).confint()
    # the estimates are printed quantities; the bounds come from uniroot (tolerance ROOT_TOL)
    printed(ci.tau2[0], c["tau2"][0])
    printed(ci.I2[0], c["I2"][0])
    printed(ci.H2[0], c["H2"][0])
    for name in ("tau2", "tau", "I2", "H2"):
        got = getattr(ci, name)
        for j in (1, 2):
            assert got[j] == pytest.approx(c[name][j], abs=ROOT_TOL)
    assert "tau^2" in str(ci) and ci.summary.height == 4


def test_bcg_reml_confint_every_digit(bcg):
    """With R's zeroin ported, the Q-profile bounds in fact agree to every printed digit."""
    c = C["bcg_RR_REML_confint"]
    ci = rma(*bcg).confint()
    for name in ("tau2", "tau", "I2", "H2"):
        for j in (1, 2):
            printed(getattr(ci, name)[j], c[name][j])


def test_bcg_predict(bcg):
    r = rma(*bcg)
    c = C["bcg_RR_REML_predict_exp"]
    p = r.predict(np.exp)
    for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        printed(p[key], c[key])
    c2 = C["bcg_RR_REML_predict_digits2"]
    printed(r.pi_lb, c2["pi_lb"], 2)
    printed(r.pi_ub, c2["pi_ub"], 2)
    # PI = estimate +- z * sqrt(se^2 + tau^2) (metafor predict.rma default)
    z = stats.norm.isf(0.025)
    assert r.pi_lb == pytest.approx(r.estimate - z * math.sqrt(r.se**2 + r.tau2))


@pytest.mark.parametrize("case", ["bcg_RR_EE", "bcg_RR_DL", "bcg_OR_EE", "bcg_OR_DL", "bcg_RD_EE", "bcg_RD_DL"])
def test_bcg_measures_vs_metan(case):
    c = C[case]
    a, n1, cc, n2 = bcg_tables()
    res = two_group(a, n1, cc, n2, measure=c["measure"], method=c["method"])
    r = res.model
    for key in ("estimate", "ci_lb", "ci_ub"):
        printed(getattr(r, key), c[key])
    printed(r.zval, c["zval"])
    if "Q" in c:
        printed(r.Q, c["Q"])
    if "tau2" in c:
        printed(r.tau2, c["tau2"])
    if "I2" in c:
        printed(r.I2, c["I2"])
    if "exp_pred" in c:
        printed(res.estimate, c["exp_pred"])
        printed(res.ci_lb, c["exp_ci_lb"])
        printed(res.ci_ub, c["exp_ci_ub"])


def test_bcg_dl_confint(bcg):
    c = C["bcg_RR_DL_confint"]
    r = rma(*bcg, method="DL")
    ci = r.confint()
    printed(ci.tau2[0], c["tau2"][0])
    printed(ci.I2[0], c["I2"][0])
    printed(ci.H2[0], c["H2"][0])
    for name in ("tau2", "I2", "H2"):
        for j in (1, 2):
            assert getattr(ci, name)[j] == pytest.approx(c[name][j], abs=ROOT_TOL)


def test_bcg_or_ml(bcg):
    c = C["bcg_OR_ML_print"]
    a, n1, cc, n2 = bcg_tables()
    r = two_group(a, n1, cc, n2, "OR", method="ML").model
    for key in ("tau2", "se_tau2", "tau", "Q", "estimate", "se", "ci_lb", "ci_ub"):
        printed(getattr(r, key), c[key])
    printed(r.I2, c["I2"], 2)
    printed(r.H2, c["H2"], 2)
    printed(r.zval, c["zval"])


def test_i2_h2_definition(bcg):
    """I^2/H^2 from tau^2 and s^2 = (k-1) sum w / ((sum w)^2 - sum w^2); (Q-df)/Q only under DL."""
    yi, vi = bcg
    w = 1 / vi
    s2 = (len(w) - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    for m in ("REML", "ML", "PM", "HE", "SJ", "DL"):
        r = rma(yi, vi, method=m)
        assert r.I2 == pytest.approx(100 * r.tau2 / (r.tau2 + s2))
        assert r.H2 == pytest.approx((r.tau2 + s2) / s2)
    r = rma(yi, vi, method="DL")
    assert r.I2 == pytest.approx(100 * (r.Q - 12) / r.Q)
    assert rma(yi, vi, method="REML").I2 != pytest.approx(100 * (r.Q - 12) / r.Q, abs=1e-4)


# ---- rma: estimators, knha, PI -----------------------------------------------------------


@pytest.mark.parametrize("method", ["PM", "HE", "DL", "ML", "REML", "SJ"])
def test_clasp_estimators(method):
    d = D["clasp"]
    y, v = escalc_2x2(d["ai"], d["n1i"], d["ci"], d["n2i"], "OR")
    r = rma(y, v, method=method)
    tau, mu, se = C["clasp_estimators"][method]
    tol = ROOT_TOL if method == "PM" else None  # PM is a uniroot solution
    if tol:
        assert r.tau == pytest.approx(tau, abs=tol)
    else:
        printed(r.tau, tau)
    printed(r.estimate, mu)
    printed(r.se, se)


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("method", ["FE", "ML", "REML", "DL", "HE"])
def test_raudenbush_z_and_knha(method, test):
    d = D["dat.raudenbush1985"]
    ref = C["raudenbush_z" if test == "z" else "raudenbush_knha"][method]
    if method == "FE" and test == "knha":
        with pytest.warns(UserWarning, match="Knapp and Hartung"):
            r = rma(d["yi"], d["vi"], method=method, test=test)
    else:
        r = rma(d["yi"], d["vi"], method=method, test=test)
    for got, want in zip((r.tau2, r.estimate, r.se, r.stat, r.ci_lb, r.ci_ub), ref):
        printed(got, want)
    if test == "knha":
        assert r.ddf == 18
        assert r.pval == pytest.approx(2 * stats.t.sf(abs(r.stat), 18))


def test_knha_not_truncated_and_adhoc():
    d = D["dat.raudenbush1985"]
    r = rma(d["yi"], d["vi"], method="HE", test="knha")
    assert r.s2w < 1  # knha keeps a scaling factor below 1 ...
    base = rma(d["yi"], d["vi"], method="HE")
    assert r.se == pytest.approx(base.se * math.sqrt(r.s2w))
    a = rma(d["yi"], d["vi"], method="HE", test="adhoc")
    assert a.s2w == 1.0 and a.se == pytest.approx(base.se)  # ... adhoc truncates it at 1


def test_raudenbush_pi():
    d = D["dat.raudenbush1985"]
    r = rma(d["yi"], d["vi"])
    printed(r.pi_lb, C["raudenbush_REML_predict"]["pi_lb"])
    printed(r.pi_ub, C["raudenbush_REML_predict"]["pi_ub"])


def test_pi_variants(bcg):
    yi, vi = bcg
    k = len(yi)
    hts = rma(yi, vi, pi="hts")
    crit = stats.t.isf(0.025, k - 2)
    assert hts.pi_lb == pytest.approx(hts.estimate - crit * math.sqrt(hts.se**2 + hts.tau2))
    kh = rma(yi, vi, test="knha")
    crit = stats.t.isf(0.025, k - 1)
    assert kh.pi_ub == pytest.approx(kh.estimate + crit * math.sqrt(kh.se**2 + kh.tau2))
    assert kh.ci_ub == pytest.approx(kh.estimate + crit * kh.se)


@pytest.mark.parametrize("method", ["DL", "ML", "REML", "SJ"])
def test_collins1985b_estimators(method):
    d = D["dat.collins1985b"]
    y, v = escalc_2x2(d["pre_xti"], d["pre_nti"], d["pre_xci"], d["pre_nci"], "OR")
    printed(rma(y, v, method=method).tau2, C["collins1985b_estimators"]["tau2"][method])


def test_collins1985b_qprofile():
    d = D["dat.collins1985b"]
    y, v = escalc_2x2(d["pre_xti"], d["pre_nti"], d["pre_xci"], d["pre_nci"], "OR")
    ci = rma(y, v, method="DL").confint()
    lo, hi = C["collins1985b_estimators"]["DL_qprofile_tau2_ci"]
    assert ci.tau2[1] == pytest.approx(lo, abs=ROOT_TOL)
    assert ci.tau2[2] == pytest.approx(hi, abs=ROOT_TOL)


def test_reml_fisher_scoring_properties(bcg):
    yi, vi = bcg
    r = rma(yi, vi)
    assert 1 <= r.iterations <= 100
    # REML score equation holds at the solution (to the 1e-5 convergence threshold)
    w = 1 / (vi + r.tau2)
    mu = np.sum(w * yi) / w.sum()
    score = np.sum(w**2 * (yi - mu) ** 2) - (w.sum() - np.sum(w**2) / w.sum())
    assert abs(score) / np.sum(w**2) < 1e-4


def test_tau2_zero_and_fe_print():
    y = [0.1, 0.12, 0.09, 0.11]
    v = [0.04, 0.05, 0.03, 0.06]
    for m in ("REML", "ML", "DL", "PM", "HE"):
        r = rma(y, v, method=m)
        assert r.tau2 == 0.0 and r.I2 == 0.0 and r.H2 == 1.0
    fe = rma(y, v, method="FE")
    assert "Fixed-Effects Model (k = 4)" in str(fe)
    assert rma(y, v, method="EE").estimate == fe.estimate


def test_rma_validation():
    with pytest.raises(ValueError, match="mismatched"):
        rma([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="> 0"):
        rma([1, 2], [0.1, 0])
    with pytest.raises(ValueError, match="unknown method"):
        rma([1, 2], [1, 1], method="XYZ")
    with pytest.raises(ValueError, match="unknown test"):
        rma([1, 2], [1, 1], test="wald")
    with pytest.raises(ValueError, match="finite"):
        rma([1, np.nan], [1, 1])
    with pytest.raises(ValueError, match="FE"):
        rma([1, 2, 3], [1, 1, 1], method="FE").confint()


# ---- Mantel-Haenszel -----------------------------------------------------------------------


@pytest.mark.parametrize("case,measure", [("bcg_MH_OR", "OR"), ("bcg_MH_RR", "RR")])
def test_mantel_haenszel_bcg(case, measure):
    c = C[case]
    a, n1, cc, n2 = bcg_tables()
    r = mantel_haenszel(a, n1, cc, n2, measure)
    assert r.k == c["k"] and r.Q_df == c["Q_df"]
    printed(r.I2, c["I2"], 2)
    printed(r.H2, c["H2"], 2)
    for key in ("Q", "estimate", "se", "ci_lb", "ci_ub", "exp_estimate", "exp_ci_lb", "exp_ci_ub"):
        printed(getattr(r, key), c[key])
    printed(r.stat, c["zval"])
    if measure == "OR":
        printed(r.cmh, c["cmh"])
        printed(r.tarone, c["tarone"])
        assert r.tarone_df == c["tarone_df"]
        assert "Cochran-Mantel-Haenszel Test:    CMH = 135.6889" in str(r)


def test_mh_via_two_group_and_zero_tables():
    a, n1, cc, n2 = bcg_tables()
    res = two_group(a, n1, cc, n2, "RR", method="MH")
    printed(res.estimate, C["bcg_MH_RR"]["exp_estimate"])
    # a double-zero table: counted in k, not in the Q degrees of freedom, no effect on the estimate
    r0 = mantel_haenszel([4, 6, 0], [123, 306, 50], [11, 29, 0], [139, 303, 50], "OR")
    r1 = mantel_haenszel([4, 6], [123, 306], [11, 29], [139, 303], "OR")
    assert r0.k == 3 and r0.Q_df == 1
    assert r0.estimate == pytest.approx(r1.estimate)


# ---- proportions ---------------------------------------------------------------------------


def pritz():
    return D["dat.pritz1997"]["xi"], D["dat.pritz1997"]["ni"]


def test_pritz_raw():
    c = C["pritz1997_PR_REML"]
    r = proportions(*pritz(), transform="raw")
    for key in ("ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        printed(getattr(r, key), c[key])
    printed(r.estimate, c["pred"])
    printed(r.model.se, c["se"])


def test_pritz_logit():
    c = C["pritz1997_PLO_REML"]
    r = proportions(*pritz(), transform="logit")
    printed(r.estimate, c["pred"])
    for key in ("ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        printed(getattr(r, key), c[key])
    assert r.model.estimate == pytest.approx(special.logit(r.estimate))


def test_pritz_glmm():
    c = C["pritz1997_GLMM"]
    r = proportions(*pritz(), transform="glmm")
    printed(r.estimate, c["pred"])
    for key in ("ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        printed(getattr(r, key), c[key])
    assert "pred" in str(r) and r.summary.height == 1


def test_pritz_glmm_common_effect():
    c = C["pritz1997_GLMM_EE"]
    r = glmm_proportion(*pritz(), method="FE")
    for key in ("estimate", "se", "ci_lb", "ci_ub"):
        printed(getattr(r, key), c[key])
    printed(r.stat, c["zval"])
    printed(r.Q_wald, c["Q_wald"])
    printed(r.Q_lrt, c["Q_lrt"])
    assert r.Q_df == c["Q_df"]
    printed(special.expit(r.estimate), c["pred"])
    printed(special.expit(r.ci_lb), c["pred_ci_lb"])
    printed(special.expit(r.ci_ub), c["pred_ci_ub"])


def test_debruin_glmm():
    c = C["debruin2009_GLMM"]
    d = D["dat.debruin2009"]
    r = proportions(d["xi"], d["ni"], transform="glmm")
    for key, ref in (("estimate", c["pred"]), ("ci_lb", c["ci_lb"]), ("ci_ub", c["ci_ub"]), ("pi_lb", c["pi_lb"]), ("pi_ub", c["pi_ub"])):
        printed(getattr(r, key), ref)


def test_debruin_raw_digits2():
    c = C["debruin2009_PR_REML_digits2"]
    d = D["dat.debruin2009"]
    r = proportions(d["xi"], d["ni"], transform="raw").model
    for key in ("tau2", "se_tau2", "tau", "Q", "estimate", "se", "ci_lb", "ci_ub"):
        printed(getattr(r, key), c[key], 2)
    printed(r.zval, c["zval"], 2)
    printed(r.I2, c["I2"], 2)
    printed(r.H2, c["H2"], 2)


@pytest.mark.parametrize("arm", ["control", "treated"])
def test_nielweise_plo_and_glmm(arm):
    d = D["dat.nielweise2007"]
    x, n = (d["ci"], d["n2i"]) if arm == "control" else (d["ai"], d["n1i"])
    cases = C["nielweise2007_PLO_and_GLMM"]
    for transform, key in (("logit", f"{arm}_PLO"), ("glmm", f"{arm}_GLMM")):
        c = cases[key]
        r = proportions(x, n, transform=transform)
        printed(r.model.estimate, c["estimate"])
        printed(r.model.se, c["se"])
        printed(r.model.tau2, c["tau2"])
        printed(r.estimate, c["pred"])
        printed(r.ci_lb, c["ci_lb"])
        printed(r.ci_ub, c["ci_ub"])


def test_nielweise_or_drop00():
    c = C["nielweise2007_OR_drop00_digits3"]
    d = D["dat.nielweise2007"]
    res = two_group(d["ai"], d["n1i"], d["ci"], d["n2i"], "OR", drop00=True)
    r = res.model
    assert r.k == c["k"] and r.Q_df == c["Q_df"]
    for key in ("tau2", "se_tau2", "tau", "Q", "estimate", "se", "ci_lb", "ci_ub"):
        printed(getattr(r, key), c[key], 3)
    printed(r.zval, c["zval"], 3)
    printed(r.I2, c["I2"], 2)
    printed(r.H2, c["H2"], 2)
    for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        ref = c[f"exp_{key}"]
        got = res.estimate if key == "pred" else getattr(res, key)
        printed(got, ref, 2)


def test_miller_ft_backtransform():
    m = D["miller1978"]
    c = C["miller1978_PFT"]
    r = proportions(m["xi"], m["ni"], transform="ft", method="FE")
    printed(2 * r.model.estimate, c["EE_pred_times_2"])
    printed(r.estimate, c["EE_pred_ipft_hm"])
    e = D["miller1978_extremes"]
    c = C["miller1978_PFT_extremes"]
    r = proportions(e["xi"], e["ni"], transform="ft", method="FE")
    for key, ref in (("estimate", c["pred"]), ("ci_lb", c["ci_lb"]), ("ci_ub", c["ci_ub"])):
        printed(getattr(r, key), ref)


def test_arcsine_backtransform_regression():
    """Regression (self-computed, not a published reference): sin^2 of the pooled arcsine value."""
    x, n = [3, 10, 7], [10, 20, 12]
    r = proportions(x, n, transform="arcsine", method="FE")
    y = np.arcsin(np.sqrt(np.array(x) / np.array(n)))
    w = 4 * np.array(n, float)
    assert r.estimate == pytest.approx(math.sin(np.sum(w * y) / w.sum()) ** 2)


def test_glmm_handles_all_zero_and_full_studies_and_is_fast():
    import time

    rng = np.random.default_rng(1)
    n = rng.integers(10, 60, 20)
    x = rng.binomial(n, 0.3)
    x[0], x[1] = 0, n[1]
    t0 = time.perf_counter()
    r = glmm_proportion(x, n)
    assert time.perf_counter() - t0 < 2.0  # generous bound; the benchmark tracks the 0.5 s target
    assert 0 < special.expit(r.estimate) < 1 and r.tau2 >= 0 and np.isfinite(r.se)


def test_glmm_no_heterogeneity_equals_logistic():
    x, n = [10, 20, 30], [100, 200, 300]
    r = glmm_proportion(x, n)
    assert r.tau2 == pytest.approx(0.0, abs=1e-6)
    assert r.estimate == pytest.approx(special.logit(0.1), abs=1e-5)


def test_proportions_validation():
    with pytest.raises(ValueError, match="cannot exceed"):
        proportions([5, 11], [10, 10])
    with pytest.raises(ValueError, match=">= 0"):
        proportions([-1, 3], [10, 10])
    with pytest.raises(ValueError, match="mismatched"):
        proportions([1, 2, 3], [10, 10])
    with pytest.raises(ValueError, match="unknown transform"):
        proportions([1, 2], [10, 10], transform="probit")


# ---- single 2x2 tables: seed studies ---------------------------------------------------------


def test_hua2020_mrd_negative_cr():
    h = SEED["hua2020"]["mrd_negative_cr"]
    res = two_by_two(h["events1"], h["n1"], h["events2"], h["n2"])
    a, b, c, d = 8, 5, 2, 13
    assert res.fisher.p_value == pytest.approx(stats.fisher_exact([[a, b], [c, d]]).pvalue, rel=1e-12)
    # hypergeometric two-sided p computed directly
    pm = stats.hypergeom(28, 10, 13)
    probs = pm.pmf(np.arange(0, 11))
    assert res.fisher.p_value == pytest.approx(probs[probs <= pm.pmf(8) * (1 + 1e-7)].sum(), rel=1e-10)
    assert res.fisher.p_value == pytest.approx(0.016323, abs=1e-6)
    assert res.chisq.p_value == pytest.approx(stats.chi2_contingency([[a, b], [c, d]], correction=False)[1], rel=1e-12)
    assert res.chisq_yates.p_value == pytest.approx(stats.chi2_contingency([[a, b], [c, d]], correction=True)[1], rel=1e-12)
    # which tests reproduce the reported p = 0.02?
    assert res.tests_reproducing(h["reported_p"], h["reported_p_decimals"]) == ["fisher", "chisq_yates"]
    assert round(res.chisq.p_value, 2) == 0.01
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
    assert stats.nchypergeom_fisher(28, 10, 13, f.ci_lb).sf(7) == pytest.approx(0.025, abs=1e-8)
    assert stats.nchypergeom_fisher(28, 10, 13, f.ci_ub).cdf(8) == pytest.approx(0.025, abs=1e-8)
    assert f.sample_odds_ratio == pytest.approx(10.4)


def test_zero_cells_roddie_style_arms():
    # arms of 7 and 7 with zero events in one arm (Roddie 2025-type tables)
    res = two_by_two(0, 7, 3, 7)
    assert res.fisher.p_value == pytest.approx(stats.fisher_exact([[0, 7], [3, 4]]).pvalue)
    assert res.fisher.odds_ratio == 0.0 and res.fisher.ci_lb == 0.0
    assert res.or_[0] == pytest.approx((0.5 * 4.5) / (7.5 * 3.5))
    assert np.isfinite(res.rr[1]) and np.isfinite(res.rd[2])
    res = two_by_two(7, 7, 7, 7)
    assert res.fisher.p_value == pytest.approx(1.0)
    assert math.isnan(res.chisq.p_value)
    g = two_group([0, 2], [7, 7], [3, 2], [7, 7], "RD", method="DL")
    assert g.model.k == 2


def test_chisq_yates_formula():
    r = chisq_test(12, 5, 3, 9, correct=True)
    assert r.p_value == pytest.approx(stats.chi2_contingency([[12, 5], [3, 9]], correction=True)[1])
    with pytest.raises(ValueError, match="non-negative whole"):
        chisq_test(-1, 2, 3, 4)


# ---- leave-one-out and subgroups ------------------------------------------------------------


def test_leave_one_out_bcg(bcg):
    yi, vi = bcg
    df = pl.DataFrame({"study": D["dat.bcg"]["trial"], "yi": yi, "vi": vi})
    out = leave_one_out(df)
    c = C["bcg_leave1out"]
    assert out.height == 13 and out["study"].to_list() == list(range(1, 14))
    for i, row in enumerate(c["rows"]):
        for col, ref in zip(c["columns"], row):
            printed(out[col][i], ref)


def test_leave_cluster_out_bcg(bcg):
    yi, vi = bcg
    alloc = np.array(D["dat.bcg"]["alloc"])
    c = C["bcg_leave1out_cluster_alloc"]
    for group, row in c["rows"].items():
        r = rma(yi[alloc != group], vi[alloc != group])
        got = [r.estimate, r.se, r.zval, r.pval, r.ci_lb, r.ci_ub, r.Q, r.Q_pval, r.tau2, r.I2, r.H2]
        for g, ref in zip(got, row):
            printed(g, ref)


def test_subgroup_bcg(bcg):
    yi, vi = bcg
    df = pl.DataFrame({"alloc": D["dat.bcg"]["alloc"], "yi": yi, "vi": vi})
    res = subgroup(df, by="alloc", method="REML")
    assert set(res.groups) == {"random", "alternate", "systematic"}
    assert res.Q_between_df == 2
    est = np.array([res.groups[g].estimate for g in res.groups])
    w = np.array([1 / res.groups[g].se ** 2 for g in res.groups])
    q = np.sum(w * (est - np.sum(w * est) / w.sum()) ** 2)
    assert res.Q_between == pytest.approx(q)
    assert res.Q_between_pval == pytest.approx(stats.chi2.sf(q, 2))
    r_random = rma(yi[np.array(D["dat.bcg"]["alloc"]) == "random"], vi[np.array(D["dat.bcg"]["alloc"]) == "random"])
    assert res.groups["random"].estimate == r_random.estimate
    assert "Test for Subgroup Differences" in str(res)
    with pytest.raises(ValueError, match="not found"):
        subgroup(df, by="nope")


def test_public_api_exports():
    for name in meta.__all__:
        assert hasattr(meta, name), name


# ---- Peto ------------------------------------------------------------------------------------


def test_peto_bcg():
    from analysis.meta import peto

    c = C["bcg_peto_confint"]
    a, n1, cc, n2 = bcg_tables()
    r = peto(a, n1, cc, n2)
    printed(r.exp_estimate, c["exp_estimate"])
    printed(r.exp_ci_lb, c["exp_ci_lb"])
    printed(r.exp_ci_ub, c["exp_ci_ub"])
    assert two_group(a, n1, cc, n2, "OR", method="PETO").estimate == pytest.approx(r.exp_estimate)


def test_peto_collins1985a_double_zero_in_k_not_df():
    from analysis.meta import peto

    d = D["dat.collins1985a"]
    c = C["collins1985a_peto_digits2"]
    keep = [i for i, (x1, x2) in enumerate(zip(d["b_xti"], d["b_xci"])) if x1 is not None and x2 is not None]
    r = peto([d["b_xti"][i] for i in keep], [d["nti"][i] for i in keep], [d["b_xci"][i] for i in keep], [d["nci"][i] for i in keep])
    assert r.k == c["k"] and r.Q_df == c["Q_df"]  # Colecchia (0/14 vs 0/14) is in k, not in df
    printed(r.I2, c["I2"], 2)
    printed(r.H2, c["H2"], 2)
    for key in ("Q", "Q_pval", "estimate", "se", "pval", "ci_lb", "ci_ub", "exp_estimate", "exp_ci_lb", "exp_ci_ub"):
        printed(getattr(r, key), c[key], 2)
    printed(r.stat, c["zval"], 2)


# ---- cross-checks against other Python implementations (not published references) -----------


def _sim(k, seed):
    rng = np.random.default_rng(seed)
    vi = 4.0 / rng.integers(20, 200, k)
    return rng.normal(0.3, np.sqrt(vi + 0.05)), vi


@pytest.mark.parametrize("k,seed", [(5, 1), (30, 2), (400, 3)])
def test_dl_and_pm_agree_with_statsmodels(k, seed):
    import warnings

    from statsmodels.stats.meta_analysis import combine_effects

    y, v = _sim(k, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = combine_effects(y, v, method_re="dl")
        sm_pm = combine_effects(y, v, method_re="iterated")  # Paule-Mandel
    r = rma(y, v, method="DL")
    assert r.estimate == pytest.approx(float(sm.mean_effect_re), abs=1e-10)
    assert r.tau2 == pytest.approx(float(sm.tau2), abs=1e-10)
    assert r.se == pytest.approx(float(sm.sd_eff_w_re), abs=1e-10)
    assert r.Q == pytest.approx(float(sm.q), abs=1e-8)
    pm = rma(y, v, method="PM")
    assert pm.tau2 == pytest.approx(float(sm_pm.tau2), abs=ROOT_TOL)


def test_qprofile_bounds_solve_the_q_equations(bcg):
    yi, vi = bcg
    ci = rma(yi, vi).confint(level=0.90)
    for tau2, target in ((ci.tau2[1], stats.chi2.isf(0.05, 12)), (ci.tau2[2], stats.chi2.ppf(0.05, 12))):
        w = 1 / (vi + tau2)
        mu = np.sum(w * yi) / w.sum()
        assert np.sum(w * (yi - mu) ** 2) == pytest.approx(target, rel=1e-3)


def test_hackshaw_dl_se_tau2():
    """DL with metafor's own se(tau^2) formula (published print of rma(method='DL'))."""
    d = D["dat.hackshaw1998"]
    c = C["hackshaw1998_DL_print"]
    yi = np.log(d["or"])
    vi = ((np.log(d["ci_ub"]) - np.log(d["ci_lb"])) / (2 * stats.norm.ppf(0.975))) ** 2
    r = rma(yi, vi, method="DL")
    for key in ("tau2", "se_tau2", "tau", "Q", "Q_pval", "estimate", "se", "ci_lb", "ci_ub"):
        printed(getattr(r, key), c[key])
    printed(r.zval, c["zval"])
    printed(r.I2, c["I2"], 2)
    printed(r.H2, c["H2"], 2)
    p = r.predict(np.exp)
    for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        printed(p[key], c[f"exp_{key}"], 2)


@pytest.mark.parametrize("example", ["viechtbauer2005_ex1", "viechtbauer2005_ex2"])
@pytest.mark.parametrize("method", ["HE", "DL", "ML", "REML", "SJ"])
def test_viechtbauer2005_estimators_and_se_tau2(example, method):
    """tau^2, I^2, H^2 and metafor's se(tau^2) for the moment (HE, DL, SJ) and likelihood estimators."""
    d = D[example]
    ref = C[example][method]
    r = rma(d["yi"], d["vi"], method=method)
    for got, want in zip((r.tau2, r.I2, r.H2, r.se_tau2), ref):
        printed(got, want)


def test_q_numerically_stable_for_tiny_variances():
    c = C["planck_G_Qtest"]
    p3 = c["planck3"]
    r = rma(p3["h"], np.array(p3["uh"]) ** 2, method="DL")
    printed(r.Q, p3["Q"], 6)
    printed(r.Q_pval, p3["Q_pval"], 7)
    g = c["G16"]
    for perm in (np.arange(16), np.random.default_rng(1).permutation(16)):
        r = rma(np.array(g["G"])[perm], (np.array(g["uG"]) ** 2)[perm], method="DL")
        printed(r.Q, g["Q"])


def test_glmm_finds_global_optimum_when_some_studies_are_near_100_percent():
    """Regression (self-check, not a published value): multi-start search finds no better optimum."""
    from scipy import optimize

    from analysis.meta import _agq_loglik, _binom_loglik_const, _gh_rule

    x = np.array([14, 70, 53, 134, 23, 47.0])
    n = np.array([220, 132, 77, 136, 60, 50.0])
    r = glmm_proportion(x, n)
    z, w = _gh_rule(7)
    lc = _binom_loglik_const(x, n)

    def f(q):
        return -_agq_loglik(q[0], q[1], x, n, lc, z, w)

    best = min(
        (optimize.minimize(f, [b, t], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 2000}) for b in (-3, 0, 2) for t in (0.3, 1, 3)),
        key=lambda o: o.fun,
    )
    assert r.loglik >= -best.fun - 1e-8
    assert r.estimate == pytest.approx(best.x[0], abs=1e-5)
    assert r.tau == pytest.approx(abs(best.x[1]), abs=1e-5)


def test_colditz_or_ml_qprofile_and_knha():
    c = C["colditz1994_OR_ML"]
    a, n1, cc, n2 = bcg_tables()
    res = two_group(a, n1, cc, n2, "OR", method="ML")
    printed(res.estimate, c["exp_pred"])
    printed(res.ci_lb, c["exp_ci_lb"])
    printed(res.ci_ub, c["exp_ci_ub"])
    printed(res.model.tau2, c["tau2"])
    ci = res.model.confint()
    assert ci.tau2[1] == pytest.approx(c["qprofile_tau2_ci"][0], abs=ROOT_TOL)
    assert ci.tau2[2] == pytest.approx(c["qprofile_tau2_ci"][1], abs=ROOT_TOL)
    kh = two_group(a, n1, cc, n2, "OR", method="ML", test="knha")
    printed(kh.ci_lb, c["knha_exp_ci_lb"])
    printed(kh.ci_ub, c["knha_exp_ci_ub"])


def test_ci_properties_are_lazy_and_cached(bcg):
    r = rma(*bcg)
    assert r._cache == {}  # nothing computed on the fast path
    lo, hi = r.I2_ci
    assert (lo, hi) == r.confint().I2[1:]
    assert r.tau2_ci == r.confint().tau2[1:] and len(r._cache) == 1
    assert r.confint() is r.confint()

"""rma (metafor rma.uni) and the tau^2 estimators against metafor's published output.

Tolerance policy: a value printed with d decimals must round to the printed number, i.e. agree
within 0.5 * 10^-d (``printed``). Bounds that metafor finds by root-finding (Q-profile CIs,
Paule-Mandel) carry R uniroot's tolerance (eps^0.25 ~ 1.2e-4 on tau^2): these are compared to
1e-3 (``ROOT_TOL``), although the kernel ports R's root finder and usually agrees to every digit.
"""

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from analysis.stats.meta import escalc_2x2, rma, two_group
from refdata import C, D, ROOT_TOL, attr, bcg_tables, printed


def test_bcg_reml_print(bcg):
    c = C["bcg_RR_REML_print"]
    r = rma(*bcg)
    printed(r.tau2, c["tau2"])
    printed(r.se_tau2, c["se_tau2"])
    printed(r.tau, c["tau"])
    printed(r.i2, c["I2"], 2)
    printed(r.h2, c["H2"], 2)
    printed(r.q, c["Q"])
    assert r.q_df == c["Q_df"]
    for key in ("estimate", "se", "ci_lb", "ci_ub"):
        printed(attr(r, key), c[key])
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
    assert {"estimate", "se", "zval", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "se_tau2", "i2", "h2", "q",
            "q_df", "q_pval"} <= set(s.columns)


def test_bcg_reml_confint(bcg):
    c = C["bcg_RR_REML_confint"]
    ci = rma(*bcg).confint()
    # the estimates are printed quantities; the bounds come from uniroot (tolerance ROOT_TOL)
    printed(ci.tau2[0], c["tau2"][0])
    printed(ci.i2[0], c["I2"][0])
    printed(ci.h2[0], c["H2"][0])
    for name in ("tau2", "tau", "I2", "H2"):
        got = getattr(ci, name.lower())
        for j in (1, 2):
            assert got[j] == pytest.approx(c[name][j], abs=ROOT_TOL)
    assert "tau^2" in str(ci) and ci.summary.height == 4


def test_bcg_reml_confint_every_digit(bcg):
    """With R's zeroin ported, the Q-profile bounds in fact agree to every printed digit."""
    c = C["bcg_RR_REML_confint"]
    ci = rma(*bcg).confint()
    for name in ("tau2", "tau", "I2", "H2"):
        for j in (1, 2):
            printed(getattr(ci, name.lower())[j], c[name][j])


def test_bcg_predict(bcg):
    r = rma(*bcg)
    c = C["bcg_RR_REML_predict_exp"]
    p = r.predict(np.exp)
    for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        from refdata import NEW_NAMES

        printed(p[NEW_NAMES[key]], c[key])
    c2 = C["bcg_RR_REML_predict_digits2"]
    printed(r.pi_low, c2["pi_lb"], 2)
    printed(r.pi_high, c2["pi_ub"], 2)
    # PI = estimate +- z * sqrt(se^2 + tau^2) (metafor predict.rma default)
    z = stats.norm.isf(0.025)
    assert r.pi_low == pytest.approx(r.estimate - z * math.sqrt(r.se**2 + r.tau2))


def test_bcg_dl_confint(bcg):
    c = C["bcg_RR_DL_confint"]
    r = rma(*bcg, method="DL")
    ci = r.confint()
    printed(ci.tau2[0], c["tau2"][0])
    printed(ci.i2[0], c["I2"][0])
    printed(ci.h2[0], c["H2"][0])
    for name in ("tau2", "I2", "H2"):
        for j in (1, 2):
            assert getattr(ci, name.lower())[j] == pytest.approx(c[name][j], abs=ROOT_TOL)


def test_bcg_or_ml(bcg):
    c = C["bcg_OR_ML_print"]
    a, n1, cc, n2 = bcg_tables()
    r = two_group(a, n1, cc, n2, "OR", method="ML").model
    for key in ("tau2", "se_tau2", "tau", "Q", "estimate", "se", "ci_lb", "ci_ub"):
        printed(attr(r, key), c[key])
    printed(r.i2, c["I2"], 2)
    printed(r.h2, c["H2"], 2)
    printed(r.zval, c["zval"])


def test_i2_h2_definition(bcg):
    """I^2/H^2 from tau^2 and s^2 = (k-1) sum w / ((sum w)^2 - sum w^2); (Q-df)/Q only under DL."""
    yi, vi = bcg
    w = 1 / vi
    s2 = (len(w) - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    for m in ("REML", "ML", "PM", "HE", "SJ", "DL"):
        r = rma(yi, vi, method=m)
        assert r.i2 == pytest.approx(100 * r.tau2 / (r.tau2 + s2))
        assert r.h2 == pytest.approx((r.tau2 + s2) / s2)
    r = rma(yi, vi, method="DL")
    assert r.i2 == pytest.approx(100 * (r.q - 12) / r.q)
    assert rma(yi, vi, method="REML").i2 != pytest.approx(100 * (r.q - 12) / r.q, abs=1e-4)


# ---- estimators, knha, PI -----------------------------------------------------------------


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
    for got, want in zip((r.tau2, r.estimate, r.se, r.zval, r.ci_low, r.ci_high), ref):
        printed(got, want)
    if test == "knha":
        assert r.ddf == 18
        assert r.pval == pytest.approx(2 * stats.t.sf(abs(r.zval), 18))


@pytest.mark.parametrize("method", ["ML", "REML", "DL", "HE"])
def test_raudenbush_hk_interval_beside_z_is_metafor_knha(method):
    """Every random-effects fit carries metafor's test="knha" interval (raudenbush_knha reference)."""
    d = D["dat.raudenbush1985"]
    ref = C["raudenbush_knha"][method]
    r = rma(d["yi"], d["vi"], method=method)
    assert r.test == "z"
    printed(r.hk_low, ref[4])
    printed(r.hk_high, ref[5])
    kh = rma(d["yi"], d["vi"], method=method, test="knha")
    assert (r.hk_low, r.hk_high) == pytest.approx((kh.ci_low, kh.ci_high), abs=1e-12)
    assert rma(d["yi"], d["vi"], method="FE").hk_low is None


def test_knha_not_truncated_and_adhoc():
    d = D["dat.raudenbush1985"]
    r = rma(d["yi"], d["vi"], method="HE", test="knha")
    assert r.s2w < 1  # knha keeps a scaling factor below 1 ...
    base = rma(d["yi"], d["vi"], method="HE")
    assert r.se == pytest.approx(base.se * math.sqrt(r.s2w))
    a = rma(d["yi"], d["vi"], method="HE", test="adhoc")
    assert a.s2w == 1.0 and a.se == pytest.approx(base.se)  # ... adhoc truncates it at 1
    assert base.hartung_knapp(adhoc=True) == pytest.approx((a.ci_low, a.ci_high))


def test_raudenbush_pi():
    d = D["dat.raudenbush1985"]
    r = rma(d["yi"], d["vi"])
    printed(r.pi_low, C["raudenbush_REML_predict"]["pi_lb"])
    printed(r.pi_high, C["raudenbush_REML_predict"]["pi_ub"])


def test_pi_variants(bcg):
    yi, vi = bcg
    k = len(yi)
    hts = rma(yi, vi, pi="hts")
    crit = stats.t.isf(0.025, k - 2)
    assert hts.pi_low == pytest.approx(hts.estimate - crit * math.sqrt(hts.se**2 + hts.tau2))
    kh = rma(yi, vi, test="knha")
    crit = stats.t.isf(0.025, k - 1)
    assert kh.pi_high == pytest.approx(kh.estimate + crit * math.sqrt(kh.se**2 + kh.tau2))
    assert kh.ci_high == pytest.approx(kh.estimate + crit * kh.se)


@pytest.mark.parametrize("method", ["DL", "ML", "REML", "SJ"])
def test_collins1985b_estimators(method):
    d = D["dat.collins1985b"]
    y, v = escalc_2x2(d["pre_xti"], d["pre_nti"], d["pre_xci"], d["pre_nci"], "OR")
    printed(rma(y, v, method=method).tau2, C["collins1985b_estimators"]["tau2"][method])


def test_collins1985b_qprofile():
    d = D["dat.collins1985b"]
    y, v = escalc_2x2(d["pre_xti"], d["pre_nti"], d["pre_xci"], d["pre_nci"], "OR")
    r = rma(y, v, method="DL")
    lo, hi = C["collins1985b_estimators"]["DL_qprofile_tau2_ci"]
    assert r.confint().tau2[1] == pytest.approx(lo, abs=ROOT_TOL)
    assert r.confint().tau2[2] == pytest.approx(hi, abs=ROOT_TOL)
    assert (r.tau2_low, r.tau2_high) == r.confint().tau2[1:]


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
        assert r.tau2 == 0.0 and r.i2 == 0.0 and r.h2 == 1.0
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
    with pytest.raises(ValueError, match="level"):
        rma([1, 2], [1, 1], level=1.5 * 100)


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
    assert r.q == pytest.approx(float(sm.q), abs=1e-8)
    pm = rma(y, v, method="PM")
    assert pm.tau2 == pytest.approx(float(sm_pm.tau2), abs=ROOT_TOL)
    # the HKSJ interval statsmodels computes with use_t and the "wls" scale equals ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = combine_effects(y, v, method_re="dl", use_t=True).summary_frame()
    assert (r.hk_low, r.hk_high) == pytest.approx(tuple(sf.loc["random effect wls", ["ci_low", "ci_upp"]]), abs=1e-8)


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
        printed(attr(r, key), c[key])
    printed(r.zval, c["zval"])
    printed(r.i2, c["I2"], 2)
    printed(r.h2, c["H2"], 2)
    p = r.predict(np.exp)
    for key, new in (("pred", "estimate"), ("ci_lb", "ci_low"), ("ci_ub", "ci_high"), ("pi_lb", "pi_low"),
                     ("pi_ub", "pi_high")):
        printed(p[new], c[f"exp_{key}"], 2)


@pytest.mark.parametrize("example", ["viechtbauer2005_ex1", "viechtbauer2005_ex2"])
@pytest.mark.parametrize("method", ["HE", "DL", "ML", "REML", "SJ"])
def test_viechtbauer2005_estimators_and_se_tau2(example, method):
    """tau^2, I^2, H^2 and metafor's se(tau^2) for the moment (HE, DL, SJ) and likelihood estimators."""
    d = D[example]
    ref = C[example][method]
    r = rma(d["yi"], d["vi"], method=method)
    for got, want in zip((r.tau2, r.i2, r.h2, r.se_tau2), ref):
        printed(got, want)


def test_q_numerically_stable_for_tiny_variances():
    c = C["planck_G_Qtest"]
    p3 = c["planck3"]
    r = rma(p3["h"], np.array(p3["uh"]) ** 2, method="DL")
    printed(r.q, p3["Q"], 6)
    printed(r.q_pval, p3["Q_pval"], 7)
    g = c["G16"]
    for perm in (np.arange(16), np.random.default_rng(1).permutation(16)):
        r = rma(np.array(g["G"])[perm], (np.array(g["uG"]) ** 2)[perm], method="DL")
        printed(r.q, g["Q"])


def test_colditz_or_ml_qprofile_and_knha():
    c = C["colditz1994_OR_ML"]
    a, n1, cc, n2 = bcg_tables()
    res = two_group(a, n1, cc, n2, "OR", method="ML")
    printed(res.estimate, c["exp_pred"])
    printed(res.ci_low, c["exp_ci_lb"])
    printed(res.ci_high, c["exp_ci_ub"])
    printed(res.model.tau2, c["tau2"])
    ci = res.model.confint()
    assert ci.tau2[1] == pytest.approx(c["qprofile_tau2_ci"][0], abs=ROOT_TOL)
    assert ci.tau2[2] == pytest.approx(c["qprofile_tau2_ci"][1], abs=ROOT_TOL)
    kh = two_group(a, n1, cc, n2, "OR", method="ML", test="knha")
    printed(kh.ci_low, c["knha_exp_ci_lb"])
    printed(kh.ci_high, c["knha_exp_ci_ub"])
    # the Hartung-Knapp interval beside the z-based primary one is metafor's knha interval
    printed(res.hk_low, c["knha_exp_ci_lb"])
    printed(res.hk_high, c["knha_exp_ci_ub"])


def test_ci_properties_are_lazy_and_cached(bcg):
    r = rma(*bcg)
    assert r._cache == {}  # nothing computed on the fast path
    lo, hi = r.i2_low, r.i2_high
    assert (lo, hi) == r.confint().i2[1:]
    assert (r.tau2_low, r.tau2_high) == r.confint().tau2[1:] and len(r._cache) == 1
    assert r.confint() is r.confint()


def test_oscillating_fisher_scoring_falls_back_to_direct_maximisation():
    """Found by the property tests: REML Fisher scoring oscillates here (metafor stops with an error);
    the fallback lands on the maximum of the REML likelihood, checked on a fine grid."""
    from analysis.stats.meta.tau2 import loglik

    y, v = np.array([0.0, 0, 1, 1, 1, 1]), np.array([1, 0.125, 1, 1, 1, 1])
    with pytest.warns(UserWarning, match="did not converge"):
        r = rma(y, v)
    grid = np.linspace(0, 0.05, 50001)
    best = grid[int(np.argmax([loglik(y, v, t, "REML") for t in grid]))]
    assert r.tau2 == pytest.approx(best, abs=2e-6)

r"""Common-effect pooling of 2x2 tables: Mantel-Haenszel (metafor ``rma.mh``) and Peto (``rma.peto``).

Both are right for sparse two-arm comparisons across studies: nothing is added to zero cells
for the pooled estimate. Hand-written: statsmodels' ``StratifiedTable`` gives the MH odds
ratio and the CMH test but neither MH risk ratios/differences with metafor's variances nor
Peto's method, and it would be a second runtime dependency for one estimator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._util import check_level, chi2_sf, norm_isf, norm_sf
from .effects import check_2x2, escalc_2x2, measure_name
from .results import Fit

__all__ = ["MHResult", "mantel_haenszel", "peto"]


@dataclass(eq=False)
class MHResult(Fit):
    r"""Mantel-Haenszel or Peto common-effect model (metafor rma.mh / rma.peto).

    Protocol attributes: ``k`` (tables), ``estimate`` (log OR/log RR, or RD), ``se``, ``zval``,
    ``pval``, ``ci_low``, ``ci_high``, ``level``, ``method`` ("MH" or "Peto"), ``measure``
    ("OR", "RR", "RD"), ``weights`` (metafor weights.rma.mh / weights.rma.peto, percent),
    ``i2``, ``h2``, ``q``, ``q_df``, ``q_pval`` (inverse-variance Q on the escalc values,
    double-zero tables dropped); no between-study variance, prediction or Hartung-Knapp
    interval (``tau2``, ``pi_low``, ``hk_low``, ... are None).

    Other attributes: ``exp_estimate``, ``exp_ci_low``, ``exp_ci_high`` (OR/RR scale; NaN for
    RD), ``cmh``, ``cmh_pval`` (MH OR only, with continuity correction), ``tarone``,
    ``tarone_df``, ``tarone_pval`` (MH OR only), and the cells ``a``, ``b``, ``c``, ``d``.
    """

    measure: str
    exp_estimate: float
    exp_ci_low: float
    exp_ci_high: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    weights: np.ndarray = field(repr=False)
    cells: tuple = field(repr=False)
    cmh: float = float("nan")
    cmh_pval: float = float("nan")
    tarone: float = float("nan")
    tarone_df: int = 0
    tarone_pval: float = float("nan")
    correct: bool = True
    _labels: list[str] | None = field(repr=False, default=None)
    tau2 = tau2_low = tau2_high = i2_low = i2_high = pi_low = pi_high = hk_low = hk_high = None

    @property
    def _pooled_label(self) -> str:
        return f"{self.method} Model"

    def _study_rows(self):
        a, b, c, d = self.cells
        yi, vi = escalc_2x2(a, a + b, c, c + d, self.measure, drop00=True)
        z = norm_isf((1.0 - self.level) / 2)
        return yi, yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)

    def _refit(self, keep: np.ndarray) -> MHResult:
        a, b, c, d = (q[keep] for q in self.cells)
        labs = [lab for lab, k in zip(self.labels, keep) if k]
        if self.method == "Peto":
            return peto(a, a + b, c, c + d, level=self.level, labels=labs)
        return mantel_haenszel(a, a + b, c, c + d, self.measure, level=self.level, correct=self.correct, labels=labs)

    def __str__(self) -> str:
        from .text import mh_text

        return mh_text(self)


def _percent(w: np.ndarray) -> np.ndarray:
    return 100.0 * w / w.sum()


def _mh_or(a, b, c, d, correct: bool) -> dict:
    n1i, n2i = a + b, c + d
    N = n1i + n2i
    P = a / N + d / N
    Qi = b / N + c / N
    R = a / N * d
    S = b / N * c
    Rs, Ss = R.sum(), S.sum()
    if Rs == 0 or Ss == 0:
        raise ValueError("Mantel-Haenszel OR is undefined (no informative tables)")
    psi = Rs / Ss
    se = math.sqrt(0.5 * (np.sum(P * R) / Rs**2 + np.sum(P * S + Qi * R) / (Rs * Ss) + np.sum(Qi * S) / Ss**2))
    xt, yt = a + c, b + d
    cc = 0.5 if correct else 0.0
    cmh = (abs(float(np.sum(a - n1i / N * xt))) - cc) ** 2 / float(np.sum(n1i / N * (n2i / N) * (xt * (yt / (N - 1)))))
    # Tarone's test (Tarone 1985), as metafor rma.mh
    if psi == 1:
        N11 = n1i / N * xt
    else:
        A = psi * (n1i + xt) + (n2i - xt)
        B = np.sqrt(A * A - 4 * n1i * xt * psi * (psi - 1))
        N11 = (A - B) / (2 * (psi - 1))
    pos = (N11 > 0) & (xt > 0) & (yt > 0)
    N11p = N11[pos]
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty cell of the fitted table: NaN, as in R
        var11 = 1.0 / (1 / N11p + 1 / (n1i[pos] - N11p) + 1 / (xt[pos] - N11p) + 1 / (N11p - n1i[pos] - xt[pos] + N[pos]))
        bd = np.sum((a[pos] - N11p) ** 2 / var11)
        ta = float(bd - np.sum(a[pos] - N11p) ** 2 / np.sum(var11))
    ta = max(0.0, ta) if math.isfinite(ta) else float("nan")  # R: max(0, NaN) is NaN
    ta_df = int(pos.sum()) - 1
    return {"beta": math.log(psi), "se": se, "cmh": cmh, "cmh_pval": chi2_sf(cmh, 1), "tarone": ta, "tarone_df": ta_df,
            "tarone_pval": chi2_sf(ta, ta_df) if ta_df > 0 else float("nan"), "w": b / N * c}


def _mh_rr(a, b, c, d) -> dict:
    n1i, n2i = a + b, c + d
    N = n1i + n2i
    Rs = float(np.sum(a * (n2i / N)))
    Ss = float(np.sum(c * (n1i / N)))
    if a.sum() == 0 or c.sum() == 0:
        raise ValueError("Mantel-Haenszel RR is undefined (no events in one group)")
    se = math.sqrt(float(np.sum(n1i / N * (n2i / N) * (a + c) - a / N * c)) / (Rs * Ss))
    return {"beta": math.log(Rs / Ss), "se": se, "w": c / N * n1i}


def _mh_rd(a, b, c, d) -> dict:
    n1i, n2i = a + b, c + d
    N = n1i + n2i
    den = float(np.sum(n1i * (n2i / N)))
    beta = float(np.sum(a * (n2i / N) - c * (n1i / N))) / den
    se = math.sqrt(
        (beta * float(np.sum(c * (n1i / N) ** 2 - a * (n2i / N) ** 2 + n1i / N * (n2i / N) * (n2i - n1i) / 2))
         + float(np.sum(a * (n2i - c) / N + c * (n1i - a) / N)) / 2)
        / den**2
    )
    return {"beta": beta, "se": se, "w": n1i / N * n2i}


def _iv_heterogeneity(a, b, c, d, measure: str, beta: float) -> tuple[float, int, float, float, float]:
    """Inverse-variance Q of escalc values around the pooled estimate (double-zero tables dropped)."""
    yi, vi = escalc_2x2(a, a + b, c, c + d, measure, drop00=True)
    ok = np.isfinite(yi) & np.isfinite(vi)
    kyi = int(ok.sum())
    if kyi <= 1:
        return 0.0, 0, 1.0, 0.0, 1.0
    Q = max(0.0, float(np.sum((yi[ok] - beta) ** 2 / vi[ok])))
    Q_df = kyi - 1
    I2 = max(0.0, 100 * (Q - Q_df) / Q) if Q > 0 else 0.0
    return Q, Q_df, chi2_sf(Q, Q_df), I2, Q / Q_df


def mantel_haenszel(events1, n1, events2, n2, measure: str = "OR", level: float = 0.95, correct: bool = True,
                    labels=None) -> MHResult:
    r"""Mantel-Haenszel pooled effect as metafor ``rma.mh`` (R/rma.mh.r).

    The MH estimate uses the uncorrected tables (nothing added; tables with no events in both
    groups contribute nothing to OR/RR). The heterogeneity Q (and I^2 = max(0,(Q-df)/Q),
    H^2 = Q/df) is the inverse-variance Q of the escalc values around the MH estimate, where
    escalc adds 1/2 to tables with a zero cell and drops double-zero tables (rma.mh defaults
    add=c(1/2,0), to=c("only0","none"), drop00=c(TRUE,FALSE)).

    * OR: :math:`\hat\psi=\sum(a_id_i/N_i)/\sum(b_ic_i/N_i)`, variance of Robins, Breslow &
      Greenland (1986); CMH test with continuity correction; Tarone's (1985) heterogeneity test.
    * RR: :math:`\sum(a_in_{2i}/N_i)/\sum(c_in_{1i}/N_i)`, variance of Greenland & Robins (1985).
    * RD: :math:`\sum(a_in_{2i}-c_in_{1i})/N_i / \sum n_{1i}n_{2i}/N_i`, variance of Sato,
      Greenland & Robins (1989).
    * Weights (metafor weights.rma.mh): OR :math:`b_ic_i/N_i`, RR :math:`c_in_{1i}/N_i`,
      RD :math:`n_{1i}n_{2i}/N_i`, in percent; the MH estimate is the weighted mean of the
      study OR / RR / RD with these weights.

    Parameters
    ----------
    events1, n1, events2, n2 : array_like
        Events and patients per study in group 1 and group 2.
    measure : {"OR", "RR", "RD"}
    level : float
    correct : bool
        Continuity correction of the CMH test (metafor default TRUE).
    labels : sequence, optional

    Returns
    -------
    MHResult
    """
    meas = measure_name(measure)
    lvl = check_level(level)
    a, b, c, d = check_2x2(events1, n1, events2, n2)
    fit = _mh_or(a, b, c, d, correct) if meas == "OR" else _mh_rr(a, b, c, d) if meas == "RR" else _mh_rd(a, b, c, d)
    beta, se = fit["beta"], fit["se"]
    zc = norm_isf((1 - lvl) / 2)
    lo, hi = beta - zc * se, beta + zc * se
    Q, Q_df, Q_p, I2, H2 = _iv_heterogeneity(a, b, c, d, meas, beta)
    ex = (math.exp(beta), math.exp(lo), math.exp(hi)) if meas != "RD" else (float("nan"),) * 3
    extra = {key: fit[key] for key in ("cmh", "cmh_pval", "tarone", "tarone_df", "tarone_pval") if key in fit}
    return MHResult(
        method="MH", measure=meas, k=int(a.size), level=lvl, estimate=beta, se=se, zval=beta / se,
        pval=2 * norm_sf(abs(beta / se)), ci_low=lo, ci_high=hi, exp_estimate=ex[0], exp_ci_low=ex[1],
        exp_ci_high=ex[2], q=Q, q_df=Q_df, q_pval=Q_p, i2=I2, h2=H2, weights=_percent(fit["w"]),
        cells=(a, b, c, d), correct=correct, _labels=None if labels is None else [str(s) for s in labels], **extra,
    )


def peto(events1, n1, events2, n2, level: float = 0.95, labels=None) -> MHResult:
    r"""Peto's one-step odds ratio as metafor ``rma.peto`` (R/rma.peto.r); returns :class:`MHResult`.

    With :math:`E_i = (a_i+c_i)n_{1i}/N_i` and :math:`V_i=(a_i+c_i)(b_i+d_i)n_{1i}n_{2i}/\{N_i^2(N_i-1)\}`:
    :math:`\log\hat{OR} = \sum(a_i-E_i)/\sum V_i`, :math:`SE = 1/\sqrt{\sum V_i}`;
    :math:`Q=\sum (a_i-E_i)^2/V_i - \{\sum(a_i-E_i)\}^2/\sum V_i` over tables with V_i > 0.
    Double-zero tables count in k but not in the Q degrees of freedom (k_yi - 1, where k_yi
    excludes them, as escalc(measure="PETO", drop00=TRUE) does); I^2 = max(0,(Q-df)/Q), H^2 = Q/df.
    Weights are :math:`V_i` in percent (metafor weights.rma.peto).

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after
    myocardial infarction: an overview of the randomized trials. Prog Cardiovasc Dis 27:335-371.
    """
    lvl = check_level(level)
    a, b, c, d = check_2x2(events1, n1, events2, n2)
    n1i, n2i = a + b, c + d
    N = n1i + n2i
    xt, yt = a + c, b + d
    E = xt * n1i / N
    with np.errstate(divide="ignore", invalid="ignore"):
        V = np.where(N > 1, xt * yt * (n1i / N) * (n2i / N) / (N - 1), 0.0)
    sV = float(V.sum())
    if sV == 0:
        raise ValueError("Peto's method is undefined: no table has events and non-events")
    beta = float(np.sum(a - E)) / sV
    se = 1.0 / math.sqrt(sV)
    zc = norm_isf((1 - lvl) / 2)
    pos = V > 0
    Q = max(0.0, float(np.sum((a[pos] - E[pos]) ** 2 / V[pos])) - float(np.sum(a - E)) ** 2 / float(V[pos].sum()))
    both00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    k_yi = int((~both00).sum())
    if int(pos.sum()) > 1:
        Q_df = k_yi - 1
        Q_p = chi2_sf(Q, Q_df)
        I2 = max(0.0, 100 * (Q - Q_df) / Q) if Q > 0 else 0.0
        H2 = Q / Q_df
    else:
        Q_df, Q_p, I2, H2 = max(k_yi - 1, 0), 1.0, 0.0, 1.0
    lo, hi = beta - zc * se, beta + zc * se
    return MHResult(
        method="Peto", measure="OR", k=int(a.size), level=lvl, estimate=beta, se=se, zval=beta / se,
        pval=2 * norm_sf(abs(beta / se)), ci_low=lo, ci_high=hi, exp_estimate=math.exp(beta),
        exp_ci_low=math.exp(lo), exp_ci_high=math.exp(hi), q=Q, q_df=Q_df, q_pval=Q_p, i2=I2, h2=H2,
        weights=_percent(V), cells=(a, b, c, d), _labels=None if labels is None else [str(s) for s in labels],
    )

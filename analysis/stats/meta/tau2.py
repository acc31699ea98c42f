r"""Between-study variance tau^2: estimators, standard errors and Q-profile confidence intervals.

Every formula follows metafor 5.1-12 (R/rma.uni.r, heterogeneity block, and
R/confint.rma.uni.r) for an intercept-only model; w_i = 1/v_i unless stated.

* DL (DerSimonian & Laird 1986): :math:`\max\{0, (Q-(k-1))/(\sum w_i - \sum w_i^2/\sum w_i)\}`.
* HE (Hedges 1983): :math:`(\sum (y_i-\bar y)^2 - (1-1/k)\sum v_i)/(k-1)`, truncated at 0.
* SJ (Sidik & Jonkman 2005): :math:`\tau_0^2\,Q(\tau_0^2)/(k-1)`, :math:`\tau_0^2 = \sum(y_i-\bar y)^2/k`.
* PM (Paule & Mandel 1982): root of :math:`Q(\tau^2) = k-1` (R uniroot, tol eps^0.25), 0 if Q(0) < k-1.
* ML/REML: Fisher scoring from the HE estimate truncated at 0, step halving to stay >= 0,
  stop when the change is < 1e-5 (maxiter 100); ML step :math:`(\sum w^2 r^2-\sum w)/\sum w^2`,
  REML step :math:`(y'PPy - tr P)/tr(PP)`. Where the steps oscillate and metafor stops ("Fisher
  scoring algorithm did not converge"), the likelihood is maximised directly on
  [0, max(100, 10 tau^2_HE)] instead, with a warning.
* se(tau^2): REML :math:`\sqrt{2/tr(PP)}`, ML :math:`\sqrt{2/\sum w_i^2}`, PM
  :math:`\sqrt{2k^2/(k-1)}/\sum w_i`, DL/HE/SJ the moment formulas of metafor.
* Q-profile CI (Viechtbauer 2007): bounds solve :math:`Q(\tau^2)=\chi^2_{k-1;1-\alpha/2}` and
  :math:`\chi^2_{k-1;\alpha/2}`, with R's uniroot on [0, max(100, 10 tau^2)].

Hand-written because no Python library reproduces metafor's printed values: statsmodels'
``combine_effects`` has DL and PM (and agrees, see tests/stats/test_rma.py) but not REML, ML,
HE, SJ, metafor's se(tau^2) or the Q-profile interval.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

from .._roots import UNIROOT_TOL, uniroot
from .._util import dot

__all__ = ["METHODS", "HeterogeneityCI", "tau2_and_se", "fe_stats", "q_at", "loglik", "q_profile", "from_tau2_bounds"]

#: tau^2 estimators understood by :func:`~analysis.stats.meta.rma`.
METHODS: tuple[str, ...] = ("REML", "ML", "DL", "PM", "HE", "SJ", "FE")
_THRESHOLD = 1e-5  # metafor control: threshold for Fisher scoring (ML/REML)
_MAXITER = 100  # metafor control: maxiter


def _sum_p2(w: np.ndarray, W: float, a, b) -> float:
    r"""sum_ij P_ij^2 a_i b_j for P = diag(w) - w w'/W (metafor's P for an intercept-only model).

    Used for tr(PP) (a=b=1), tr(PVP) (a=1, b=v) and tr(PVPV) (a=b=v) in O(k).
    """
    w2 = w * w
    return float(np.sum(w2 * a * b) - 2.0 * np.sum(w2 * w * a * b) / W + np.sum(w2 * a) * np.sum(w2 * b) / (W * W))


def q_at(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """Generalised Q statistic sum w_i (y_i - mu_w)^2 with w_i = 1/(v_i + tau2) (metafor .QE.func)."""
    w = 1.0 / (v + tau2)
    W = w.sum()
    mu = dot(w, y) / W
    r = y - mu
    return float(dot(w, r * r))


def fe_stats(y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, float, float, float, float]:
    """Inverse-variance quantities with w = 1/v: (w, sum w, sum w^2, sum w^3, Q)."""
    w = 1.0 / v
    W = float(w.sum())
    s2 = dot(w, w)
    w2 = w * w
    s3 = dot(w2, w)
    mu = dot(w, y) / W
    r = np.subtract(y, mu, out=w2)  # reuse the buffer; in-place ops keep large-k runs allocation-light
    np.multiply(r, r, out=r)
    Q = dot(w, r)
    return w, W, s2, s3, Q


def _mad(y: np.ndarray) -> float:
    """R mad(): 1.4826 * median(|y - median(y)|)."""
    med = np.median(y)
    return 1.4826 * float(np.median(np.abs(y - med)))


def loglik(y: np.ndarray, v: np.ndarray, tau2: float, method: str) -> float:
    """ML or REML log-likelihood of the random-effects model (metafor rma.uni, p = 1)."""
    k = y.size
    w = 1.0 / (v + tau2)
    W = w.sum()
    mu = dot(w, y) / W
    rss = float(dot(w, (y - mu) ** 2))
    if method == "REML":
        return -0.5 * (k - 1) * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * math.log(W) - 0.5 * rss
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss


def _dl(pre, df: int) -> tuple[float, float, int]:
    W, s2, s3, Q = pre[1], pre[2], pre[3], pre[4]
    trP = W - s2 / W
    tau2 = max(0.0, (Q - df) / trP)
    sPP = s2 - 2.0 * s3 / W + s2 * s2 / (W * W)
    se = math.sqrt((2 * df + 4 * tau2 * trP + 2 * tau2 * tau2 * sPP) / (trP * trP))
    return tau2, se, 0


def _he(v: np.ndarray, rss_u: float, tau2_he: float, k: int, df: int) -> tuple[float, float, int]:
    tau2 = max(0.0, tau2_he)
    sv = float(v.sum())
    trPV = sv * (1.0 - 1.0 / k)
    sPVPV = (1.0 - 2.0 / k) * float(dot(v, v)) + sv * sv / (k * k)
    se = math.sqrt((2 * sPVPV + 4 * tau2 * trPV + 2 * tau2 * tau2 * df) / (df * df))
    return tau2, se, 0


def _sj(y: np.ndarray, v: np.ndarray, rss_u: float, k: int, df: int) -> tuple[float, float, int]:
    tau2_0 = rss_u / k  # var(yi) * (k-1)/k
    if tau2_0 <= 0:
        return 0.0, float("nan"), 0
    w = 1.0 / (v + tau2_0)
    W = w.sum()
    mu = dot(w, y) / W
    r = y - mu
    tau2 = max(0.0, tau2_0 * float(dot(w, r * r)) / df)
    se = math.sqrt(tau2_0**2 / df**2 * (2 * _sum_p2(w, W, v, v) + 4 * tau2 * _sum_p2(w, W, 1.0, v)
                                        + 2 * tau2 * tau2 * _sum_p2(w, W, 1.0, 1.0)))
    return tau2, se, 0


def _pm(y: np.ndarray, v: np.ndarray, k: int, df: int) -> tuple[float, float, int]:
    target = float(df)
    tau2_max = max(100.0, 10.0 * _mad(y) ** 2)
    if q_at(y, v, 0.0) < target:
        tau2 = 0.0
    else:
        if q_at(y, v, tau2_max) > target:
            raise RuntimeError("Paule-Mandel: value of tau2.max too low")
        tau2 = max(0.0, uniroot(lambda t: q_at(y, v, t) - target, 0.0, tau2_max, maxiter=_MAXITER))
    w = 1.0 / (v + tau2)
    return tau2, math.sqrt(2.0 * k * k / df / float(w.sum()) ** 2), 0


def _fisher_scoring(y: np.ndarray, v: np.ndarray, tau2_he: float, method: str) -> tuple[float, float, int]:
    tau2 = max(0.0, tau2_he)
    change = _THRESHOLD + 1.0
    it = 0
    while change > _THRESHOLD:
        it += 1
        old = tau2
        w = 1.0 / (v + tau2)
        W = w.sum()
        mu = dot(w, y) / W
        Py = w * (y - mu)
        yPPy = float(dot(Py, Py))
        if method == "ML":
            adj = (yPPy - W) / float(dot(w, w))
        else:
            trP = W - float(dot(w, w)) / W
            adj = (yPPy - trP) / _sum_p2(w, W, 1.0, 1.0)
        while tau2 + adj < 0.0:  # step halving
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > _MAXITER:  # metafor stops here; maximise the likelihood directly instead
            tau2 = _maximise(y, v, method, max(100.0, 10.0 * max(tau2_he, 0.0)))
            warnings.warn(f"Fisher scoring did not converge in {_MAXITER} iterations (metafor stops with an error); "
                          f"tau^2 = {tau2:.6g} maximises the {method} likelihood directly (scipy minimize_scalar)",
                          stacklevel=4)
            break
    # metafor's ll0check: is the log-likelihood larger at tau^2 = 0?
    if tau2 > _THRESHOLD and loglik(y, v, 0.0, method) - loglik(y, v, tau2, method) > UNIROOT_TOL:
        warnings.warn("Fisher scoring may have got stuck at a local maximum; setting tau^2 = 0", stacklevel=4)
        tau2 = 0.0
    tau2 = float(max(0.0, tau2))
    w = 1.0 / (v + tau2)
    W = w.sum()
    se = math.sqrt(2.0 / float(dot(w, w))) if method == "ML" else math.sqrt(2.0 / _sum_p2(w, W, 1.0, 1.0))
    return tau2, se, it


def _maximise(y: np.ndarray, v: np.ndarray, method: str, upper: float) -> float:
    """tau^2 in [0, upper] maximising the ML/REML log-likelihood (bounded Brent, xatol 1e-10)."""
    from scipy.optimize import minimize_scalar

    opt = minimize_scalar(lambda t: -loglik(y, v, t, method), bounds=(0.0, upper), method="bounded",
                          options={"xatol": 1e-10})
    return float(opt.x) if -opt.fun > loglik(y, v, 0.0, method) else 0.0


def tau2_and_se(y: np.ndarray, v: np.ndarray, method: str, pre=None) -> tuple[float, float, int]:
    """(tau2, se_tau2, iterations) exactly as metafor rma.uni computes them (p = 1).

    ``pre`` is the output of :func:`fe_stats` (reused by the DL estimator).
    """
    k = y.size
    if method == "FE" or k == 1:
        return 0.0, float("nan"), 0
    df = k - 1
    if method == "DL":
        return _dl(pre if pre is not None else fe_stats(y, v), df)
    # Hedges (HE) estimator, also the starting value of ML/REML
    yc = y - y.mean()
    rss_u = float(dot(yc, yc))
    tau2_he = (rss_u - float(v.sum()) * (1.0 - 1.0 / k)) / df
    if method == "HE":
        return _he(v, rss_u, tau2_he, k, df)
    if method == "SJ":
        return _sj(y, v, rss_u, k, df)
    if method == "PM":
        return _pm(y, v, k, df)
    if method in ("ML", "REML"):
        return _fisher_scoring(y, v, tau2_he, method)
    raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


@dataclass
class HeterogeneityCI:
    """Confidence intervals for tau^2, tau, I^2 and H^2 (metafor confint.rma.uni).

    Attributes are (estimate, ci_low, ci_high) triples: ``tau2``, ``tau``, ``i2`` (percent), ``h2``;
    ``level``; ``method`` ("Q-profile"); ``low_sign``/``high_sign`` are "<" / ">" when a bound
    lies outside the search interval; ``ci_null`` is True when the interval is the empty set
    (metafor prints "null set").
    """

    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    i2: tuple[float, float, float]
    h2: tuple[float, float, float]
    level: float
    method: str = "Q-profile"
    low_sign: str = ""
    high_sign: str = ""
    ci_null: bool = False

    @property
    def summary(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "parameter": ["tau^2", "tau", "I^2(%)", "H^2"],
                "estimate": [self.tau2[0], self.tau[0], self.i2[0], self.h2[0]],
                "ci_low": [self.tau2[1], self.tau[1], self.i2[1], self.h2[1]],
                "ci_high": [self.tau2[2], self.tau[2], self.i2[2], self.h2[2]],
            }
        )

    def __str__(self) -> str:
        from .text import heterogeneity_ci_text

        return heterogeneity_ci_text(self)


def from_tau2_bounds(tau2: float, i2: float, h2: float, vt: float, lb: float, ub: float, level: float,
                     method: str, low_sign: str = "", high_sign: str = "", ci_null: bool = False) -> HeterogeneityCI:
    """I^2, H^2 and tau bounds implied by bounds of tau^2 and the typical within-study variance vt."""
    return HeterogeneityCI(
        tau2=(tau2, lb, ub),
        tau=(math.sqrt(tau2), math.sqrt(max(lb, 0.0)), math.sqrt(max(ub, 0.0))),
        i2=(i2, 100 * lb / (vt + lb), 100 * ub / (vt + ub)),
        h2=(h2, lb / vt + 1, ub / vt + 1),
        level=level, method=method, low_sign=low_sign, high_sign=high_sign, ci_null=ci_null,
    )


def q_profile(y: np.ndarray, v: np.ndarray, tau2: float, level: float) -> tuple[float, float, str, str, bool]:
    r"""Q-profile bounds of tau^2 (Viechtbauer 2007; metafor confint.rma.uni, type="qp").

    The bounds solve :math:`Q(\tau^2) = \chi^2_{k-1;1-\alpha/2}` (lower) and
    :math:`Q(\tau^2) = \chi^2_{k-1;\alpha/2}` (upper), where
    :math:`Q(\tau^2)=\sum w_i(\tau^2)(y_i-\hat\mu(\tau^2))^2`, searched on
    [0, max(100, 10·tau^2)] with R's uniroot (tol = eps^0.25) as metafor does.

    Returns
    -------
    (lower, upper, low_sign, high_sign, ci_null)
    """
    df = y.size - 1
    alpha = 1.0 - level
    crit_u = float(special.chdtri(df, alpha / 2))
    crit_l = float(special.chdtri(df, 1 - alpha / 2))
    tmin = min(0.0, tau2)
    tmax = max(100.0, tau2 * 10.0, tmin * 10.0)
    q_min, q_max = q_at(y, v, tmin), q_at(y, v, tmax)
    lb_sign = ub_sign = ""
    ci_null = False
    if q_min < crit_l:
        lb = ub = tmin
        lb_sign = ub_sign = "<"
        ci_null = tmin <= 0
    elif q_max > crit_l:
        ub, ub_sign = tmax, ">"
    else:
        ub = uniroot(lambda t: q_at(y, v, t) - crit_l, tmin, tmax)
    if q_max > crit_u:
        lb = ub = tmax
        lb_sign = ub_sign = ">"
    elif q_min < crit_u:
        lb = tmin
    else:
        lb = uniroot(lambda t: q_at(y, v, t) - crit_u, tmin, tmax)
    return lb, ub, lb_sign, ub_sign, ci_null


"""Meta-analysis kernel reproducing R metafor (rma.uni, confint, predict, escalc, rma.mh, rma.glmm).

Public API
----------
rma(yi, vi, method="REML", test="z", level=0.95, pi="metafor")
    Random-effects (or common-effect) model, intercept only; returns :class:`MetaResult`.
proportions(events, n, transform="logit", method="REML", ...)
    Pooled single proportion (logit, raw, ft, arcsine, glmm); returns :class:`ProportionResult`.
glmm_proportion(events, n, level=0.95, nAGQ=7)
    Random-intercept logistic model fitted by ML with adaptive Gauss-Hermite quadrature.
escalc_proportion(events, n, transform)
    Per-study transformed proportions and sampling variances (metafor escalc PLO/PR/PFT/PAS).
escalc_2x2(events1, n1, events2, n2, measure)
    Per-study log RR / log OR / RD and variances (metafor escalc conventions).
two_group(events1, n1, events2, n2, measure="RR", method="REML", ...)
    Per-study effect sizes plus pooling (inverse variance or Mantel-Haenszel).
mantel_haenszel(events1, n1, events2, n2, measure="OR")
    Mantel-Haenszel pooled OR / RR / RD as metafor rma.mh.
peto(events1, n1, events2, n2)
    Peto's one-step odds ratio as metafor rma.peto.
fisher_exact(a, b, c, d), chisq_test(a, b, c, d, correct=True), two_by_two(events1, n1, events2, n2)
    Tests and effect measures for a single 2x2 table.
leave_one_out(df, yi="yi", vi="vi", label="study", **rma_kwargs)
subgroup(df, by, yi="yi", vi="vi", **rma_kwargs)

All formulas follow metafor 5.1-12 (Viechtbauer W, 2010, J Stat Softw 36(3)); the source file each
one mirrors is named in its docstring.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import polars as pl
from scipy import optimize, special, stats

__all__ = [
    "METHODS",
    "MetaResult",
    "HeterogeneityCI",
    "ProportionResult",
    "GLMMResult",
    "MHResult",
    "TwoGroupResult",
    "FisherResult",
    "ChiSquareResult",
    "TwoByTwoResult",
    "SubgroupResult",
    "rma",
    "escalc_proportion",
    "escalc_2x2",
    "proportions",
    "glmm_proportion",
    "two_group",
    "mantel_haenszel",
    "peto",
    "fisher_exact",
    "chisq_test",
    "two_by_two",
    "leave_one_out",
    "subgroup",
]

#: tau^2 estimators understood by :func:`rma`.
METHODS: tuple[str, ...] = ("REML", "ML", "DL", "PM", "HE", "SJ", "FE")
_TESTS = ("z", "knha", "adhoc")
_PIS = ("metafor", "hts")

_EPS = np.finfo(float).eps
_UNIROOT_TOL = _EPS**0.25  # R: .Machine$double.eps^0.25, metafor's uniroot tolerance
_THRESHOLD = 1e-5  # metafor control: threshold for Fisher scoring (ML/REML)
_MAXITER = 100  # metafor control: maxiter


# --------------------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------------------


def _level(level: float) -> float:
    level = float(level)
    if 1.0 < level < 100.0:
        level /= 100.0
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must lie in (0, 1), e.g. 0.95; got {level}")
    return level


def _zeroin(f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float, tol: float, maxit: int) -> float:
    """Brent's root finder exactly as R's ``uniroot`` (R_zeroin2 in src/library/stats/src/zeroin.c).

    Ported so that bounds metafor finds by root-finding (Paule-Mandel, Q-profile CIs) carry the
    same tolerance error as metafor's, which makes their printed digits reproducible.
    """
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    it = maxit + 1
    while it > 0:
        it -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise RuntimeError("root finder did not converge")


def _uniroot(f: Callable[[float], float], lower: float, upper: float, tol: float = _UNIROOT_TOL, maxiter: int = 1000) -> float:
    """R ``uniroot(f, c(lower, upper), tol=tol, maxiter=maxiter)$root``."""
    fl, fu = f(lower), f(upper)
    if fl * fu > 0:
        raise RuntimeError("f() values at end points not of opposite sign")
    return _zeroin(f, lower, upper, fl, fu, tol, maxiter)


def _norm_sf(x: float) -> float:
    return float(special.ndtr(-x))


def _norm_isf(a: float) -> float:
    return float(-special.ndtri(a))


def _chi2_sf(q: float, df: float) -> float:
    return float(special.chdtrc(df, q))


def _t_sf(x: float, df: float) -> float:
    return float(special.stdtr(df, -x))


def _t_isf(a: float, df: float) -> float:
    return float(-special.stdtrit(df, a))


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if isinstance(x, float) and math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def _fmtp(p: float, digits: int = 4, equal: bool = False) -> str:
    """metafor fmtp(): '<.0001' below 10^-digits, else the value; with equal=True '= 0.0016' / '< .0001'."""
    if p is None or math.isnan(p):
        return "NA"
    if p < 10.0 ** (-digits):
        return "< ." + "0" * (digits - 1) + "1" if equal else "<." + "0" * (digits - 1) + "1"
    return ("= " if equal else "") + f"{p:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    cols = list(zip(header, *rows))
    widths = [max(len(s) for s in col) for col in cols]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for r in rows:
        lines.append("  ".join(s.rjust(w) for s, w in zip(r, widths)))
    return "\n".join(lines)


def _heterogeneity_lines(res, with_tau: bool) -> list[str]:
    """tau^2 / tau / I^2 / H^2 block of metafor's print.rma (``se_tau2`` printed when the fit has it)."""
    out = []
    if with_tau:
        se_tau2 = getattr(res, "se_tau2", math.nan)
        se_part = "" if math.isnan(se_tau2) else f" (SE = {_fmt(se_tau2)})"
        out.append(f"tau^2 (estimated amount of total heterogeneity): {_fmt(res.tau2)}{se_part}")
        out.append(f"tau (square root of estimated tau^2 value):      {_fmt(res.tau)}")
    out.append(f"I^2 (total heterogeneity / total variability):   {_fmt(res.I2, 2)}%")
    out.append(f"H^2 (total variability / sampling variability):  {_fmt(res.H2, 2)}")
    return out


def _model_results_lines(res, ddf: int | None = None) -> list[str]:
    """"Model Results" table of metafor's print.rma (t with df under knha/adhoc, else z)."""
    stat = ["tval", "df"] if ddf else ["zval"]
    row = [_fmt(res.estimate), _fmt(res.se), _fmt(res.stat)] + ([str(ddf)] if ddf else [])
    row += [_fmtp(res.pval), _fmt(res.ci_lb), _fmt(res.ci_ub)]
    return ["Model Results:", "", _table(["estimate", "se", *stat, "pval", "ci.lb", "ci.ub"], [row]), ""]


def _as_1d(name: str, x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {a.shape}")
    return a


def _check_yv(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    y = _as_1d("yi", yi)
    v = _as_1d("vi", vi)
    if y.shape != v.shape:
        raise ValueError(f"yi and vi have mismatched lengths ({y.size} and {v.size})")
    if y.size < 1:
        raise ValueError("need at least one study (k >= 1)")
    # reductions instead of element-wise masks keep the fast path lean (sum is NaN/inf iff an element is)
    if not (math.isfinite(float(y.sum())) and math.isfinite(float(v.sum()))):
        raise ValueError("yi and vi must be finite (remove or impute missing studies first)")
    if float(v.min()) <= 0:
        raise ValueError("sampling variances vi must be > 0")
    return y, v


def _dot(a, b) -> float:
    """sum(a*b) for 1-D float arrays, without multithreaded BLAS for long vectors.

    np.vdot (BLAS ddot) is fastest for short vectors, but OpenBLAS runs ddot multithreaded for
    long ones (n > 10000), which was measured up to 1000x slower on a loaded 2-core machine;
    einsum's own loop is used there instead.
    """
    if np.size(a) <= 8192:
        return float(np.vdot(a, b))
    return float(np.einsum("i,i->", a, b))


def _sum_p2(w: np.ndarray, W: float, a, b) -> float:
    r"""sum_ij P_ij^2 a_i b_j for P = diag(w) - w w'/W (metafor's P for an intercept-only model).

    Used for tr(PP) (a=b=1), tr(PVP) (a=1, b=v) and tr(PVPV) (a=b=v) in O(k).
    """
    w2 = w * w
    return float(np.sum(w2 * a * b) - 2.0 * np.sum(w2 * w * a * b) / W + np.sum(w2 * a) * np.sum(w2 * b) / (W * W))


def _q_at(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """Generalised Q statistic sum w_i (y_i - mu_w)^2 with w_i = 1/(v_i + tau2) (metafor .QE.func)."""
    w = 1.0 / (v + tau2)
    W = w.sum()
    mu = _dot(w, y) / W
    r = y - mu
    return float(_dot(w, r * r))


# --------------------------------------------------------------------------------------
# tau^2 estimators (metafor R/rma.uni.r, "heterogeneity estimation" block)
# --------------------------------------------------------------------------------------


def _fe_stats(y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, float, float, float, float]:
    """Inverse-variance quantities with w = 1/v: (w, sum w, sum w^2, sum w^3, Q)."""
    w = 1.0 / v
    W = float(w.sum())
    s2 = _dot(w, w)
    w2 = w * w
    s3 = _dot(w2, w)
    mu = _dot(w, y) / W
    r = np.subtract(y, mu, out=w2)  # reuse the buffer; in-place ops keep large-k runs allocation-light
    np.multiply(r, r, out=r)
    Q = _dot(w, r)
    return w, W, s2, s3, Q


def _tau2_and_se(y: np.ndarray, v: np.ndarray, method: str, pre=None) -> tuple[float, float, int]:
    """Return (tau2, se_tau2, iterations) exactly as metafor rma.uni computes them (p = 1).

    ``pre`` is the output of :func:`_fe_stats` (reused by the DL estimator).
    """
    k = y.size
    if method == "FE" or k == 1:
        return 0.0, float("nan"), 0
    df = k - 1
    it = 0

    if method == "DL":
        if pre is None:
            pre = _fe_stats(y, v)
        W, s2, s3, Q = pre[1], pre[2], pre[3], pre[4]
        trP = W - s2 / W
        tau2 = max(0.0, (Q - df) / trP)
        sPP = s2 - 2.0 * s3 / W + s2 * s2 / (W * W)
        se = math.sqrt((2 * df + 4 * tau2 * trP + 2 * tau2 * tau2 * sPP) / (trP * trP))
        return tau2, se, 0

    # Hedges (HE) estimator, also the starting value of ML/REML
    yc = y - y.mean()
    rss_u = float(_dot(yc, yc))
    sv = float(v.sum())
    trPV = sv * (1.0 - 1.0 / k)
    tau2_he = (rss_u - trPV) / df

    if method == "HE":
        tau2 = max(0.0, tau2_he)
        sPVPV = (1.0 - 2.0 / k) * float(_dot(v, v)) + sv * sv / (k * k)
        se = math.sqrt((2 * sPVPV + 4 * tau2 * trPV + 2 * tau2 * tau2 * df) / (df * df))
        return tau2, se, 0

    if method == "SJ":
        tau2_0 = rss_u / k  # var(yi) * (k-1)/k
        if tau2_0 <= 0:
            return 0.0, float("nan"), 0
        w = 1.0 / (v + tau2_0)
        W = w.sum()
        mu = _dot(w, y) / W
        r = y - mu
        rss = float(_dot(w, r * r))
        tau2 = max(0.0, tau2_0 * rss / df)
        se = math.sqrt(
            tau2_0**2
            / df**2
            * (2 * _sum_p2(w, W, v, v) + 4 * tau2 * _sum_p2(w, W, 1.0, v) + 2 * tau2 * tau2 * _sum_p2(w, W, 1.0, 1.0))
        )
        return tau2, se, 0

    if method == "PM":
        target = float(df)
        tau2_max = max(100.0, 10.0 * _mad(y) ** 2)
        if _q_at(y, v, 0.0) < target:
            tau2 = 0.0
        else:
            if _q_at(y, v, tau2_max) > target:
                raise RuntimeError("Paule-Mandel: value of tau2.max too low")
            tau2 = _uniroot(lambda t: _q_at(y, v, t) - target, 0.0, tau2_max, maxiter=_MAXITER)
            tau2 = max(0.0, tau2)
        w = 1.0 / (v + tau2)
        se = math.sqrt(2.0 * k * k / df / float(w.sum()) ** 2)
        return tau2, se, 0

    if method in ("ML", "REML"):
        tau2 = max(0.0, tau2_he)
        change = _THRESHOLD + 1.0
        while change > _THRESHOLD:
            it += 1
            old = tau2
            w = 1.0 / (v + tau2)
            W = w.sum()
            mu = _dot(w, y) / W
            Py = w * (y - mu)
            yPPy = float(_dot(Py, Py))
            if method == "ML":
                w2 = float(_dot(w, w))
                adj = (yPPy - W) / w2
            else:
                trP = W - float(_dot(w, w)) / W
                adj = (yPPy - trP) / _sum_p2(w, W, 1.0, 1.0)
            while tau2 + adj < 0.0:  # step halving
                adj /= 2.0
            tau2 = tau2 + adj
            change = abs(old - tau2)
            if it > _MAXITER:
                raise RuntimeError("Fisher scoring algorithm did not converge (maxiter = 100)")
        # metafor's ll0check: is the log-likelihood larger at tau^2 = 0?
        if tau2 > _THRESHOLD and _loglik(y, v, 0.0, method) - _loglik(y, v, tau2, method) > _UNIROOT_TOL:
            warnings.warn("Fisher scoring may have got stuck at a local maximum; setting tau^2 = 0", stacklevel=3)
            tau2 = 0.0
        tau2 = float(max(0.0, tau2))
        w = 1.0 / (v + tau2)
        W = w.sum()
        if method == "ML":
            se = math.sqrt(2.0 / float(_dot(w, w)))
        else:
            se = math.sqrt(2.0 / _sum_p2(w, W, 1.0, 1.0))
        return tau2, se, it

    raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


def _mad(y: np.ndarray) -> float:
    """R mad(): 1.4826 * median(|y - median(y)|)."""
    med = np.median(y)
    return 1.4826 * float(np.median(np.abs(y - med)))


def _loglik(y: np.ndarray, v: np.ndarray, tau2: float, method: str) -> float:
    """ML or REML log-likelihood of the random-effects model (metafor rma.uni, p = 1)."""
    k = y.size
    w = 1.0 / (v + tau2)
    W = w.sum()
    mu = _dot(w, y) / W
    rss = float(_dot(w, (y - mu) ** 2))
    if method == "REML":
        return -0.5 * (k - 1) * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * math.log(W) - 0.5 * rss
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss


# --------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------


@dataclass
class HeterogeneityCI:
    """Q-profile confidence intervals for tau^2, tau, I^2 and H^2 (metafor confint.rma.uni).

    Attributes are (estimate, ci_lb, ci_ub) triples: ``tau2``, ``tau``, ``I2`` (percent), ``H2``;
    ``level``; ``lb_sign``/``ub_sign`` are "<" / ">" when a bound lies outside the search interval;
    ``ci_null`` is True when the interval is the empty set (metafor prints "null set").
    """

    tau2: tuple[float, float, float]
    tau: tuple[float, float, float]
    I2: tuple[float, float, float]
    H2: tuple[float, float, float]
    level: float
    lb_sign: str = ""
    ub_sign: str = ""
    ci_null: bool = False

    @property
    def summary(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "parameter": ["tau^2", "tau", "I^2(%)", "H^2"],
                "estimate": [self.tau2[0], self.tau[0], self.I2[0], self.H2[0]],
                "ci_lb": [self.tau2[1], self.tau[1], self.I2[1], self.H2[1]],
                "ci_ub": [self.tau2[2], self.tau[2], self.I2[2], self.H2[2]],
            }
        )

    def __str__(self) -> str:
        rows = [
            ["tau^2", *(_fmt(x) for x in self.tau2)],
            ["tau", *(_fmt(x) for x in self.tau)],
            ["I^2(%)", *(_fmt(x) for x in self.I2)],
            ["H^2", *(_fmt(x) for x in self.H2)],
        ]
        return "\n" + _table(["", "estimate", "ci.lb", "ci.ub"], rows) + "\n"


@dataclass(eq=False)
class MetaResult:
    r"""Fitted intercept-only meta-analytic model, laid out like metafor's ``rma.uni`` object.

    Attributes
    ----------
    method, test, level, pi_method : str, str, float, str
    k : int
        Number of studies.
    estimate, se, stat, pval, ci_lb, ci_ub : float
        Pooled estimate, standard error, z (or t for knha/adhoc) statistic, p-value and CI.
    pi_lb, pi_ub, pi_se : float
        Prediction interval (metafor predict.rma) and its standard error sqrt(se^2 + tau^2).
    tau2, se_tau2, tau : float
        Between-study variance, its standard error as metafor prints it, and its square root.
    I2, H2 : float
        I^2 (percent) and H^2 from tau^2 and the typical within-study variance (see Notes).
    Q, Q_df, Q_pval : float, int, float
        Cochran's Q with k - 1 degrees of freedom.
    ddf : int or None
        Degrees of freedom of the t distribution (knha/adhoc), else None.
    s2w : float
        Knapp-Hartung scaling factor (1 for test="z").
    iterations : int
        Fisher scoring iterations (ML/REML).
    yi, vi : numpy.ndarray
        The data (the caller's float64 arrays are kept, not copied: do not modify them in place
        before calling :meth:`confint`).

    Notes
    -----
    * :math:`I^2 = 100\,\hat\tau^2/(\hat\tau^2 + s^2)`, :math:`H^2 = (\hat\tau^2+s^2)/s^2` with
      :math:`s^2 = (k-1)\sum w_i / ((\sum w_i)^2 - \sum w_i^2)`, :math:`w_i = 1/v_i` (metafor
      rma.uni, i2def="1"); for the FE model :math:`I^2 = \max(0, 100(Q-df)/Q)`, :math:`H^2 = Q/df`.
    * Q-profile intervals are computed on demand by :meth:`confint` (cached); the properties
      ``tau2_ci``, ``tau_ci``, ``I2_ci`` and ``H2_ci`` return its (lower, upper) bounds.
    """

    method: str
    test: str
    level: float
    pi_method: str
    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    pi_se: float
    tau2: float
    se_tau2: float
    tau: float
    I2: float
    H2: float
    Q: float
    Q_df: int
    Q_pval: float
    ddf: int | None
    s2w: float
    iterations: int
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    vt: float = field(repr=False, default=float("nan"))
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # -- derived ------------------------------------------------------------------------
    @property
    def zval(self) -> float:
        """Alias of ``stat`` (metafor's name, also used for the t statistic)."""
        return self.stat

    @property
    def weights(self) -> np.ndarray:
        """Percentage weights 100 w_i / sum w_i with w_i = 1/(v_i + tau^2) (metafor weights.rma.uni)."""
        w = 1.0 / (self.vi + self.tau2)
        return 100.0 * w / w.sum()

    def confint(self, level: float | None = None) -> HeterogeneityCI:
        r"""Q-profile CIs for tau^2, tau, I^2, H^2 (Viechtbauer 2007; metafor confint.rma.uni, type="qp").

        The bounds solve :math:`Q(\tau^2) = \chi^2_{k-1;1-\alpha/2}` (lower) and
        :math:`Q(\tau^2) = \chi^2_{k-1;\alpha/2}` (upper), where
        :math:`Q(\tau^2)=\sum w_i(\tau^2)(y_i-\hat\mu(\tau^2))^2`, searched on
        [0, max(100, 10·tau^2)] with R's uniroot (tol = eps^0.25) as metafor does.
        """
        lvl = self.level if level is None else _level(level)
        if lvl in self._cache:
            return self._cache[lvl]
        if self.method == "FE":
            raise ValueError("model does not contain a random-effects component (method='FE')")
        if self.k < 2:
            raise ValueError("confint needs k >= 2 studies")
        y, v, df = self.yi, self.vi, self.k - 1
        alpha = 1.0 - lvl
        crit_u = float(special.chdtri(df, alpha / 2))
        crit_l = float(special.chdtri(df, 1 - alpha / 2))
        tmin = min(0.0, self.tau2)
        tmax = max(100.0, self.tau2 * 10.0, tmin * 10.0)
        q_min, q_max = _q_at(y, v, tmin), _q_at(y, v, tmax)
        lb_sign = ub_sign = ""
        ci_null = False
        if q_min < crit_l:
            lb = ub = tmin
            lb_sign = ub_sign = "<"
            ci_null = tmin <= 0
        else:
            if q_max > crit_l:
                ub, ub_sign = tmax, ">"
            else:
                ub = _uniroot(lambda t: _q_at(y, v, t) - crit_l, tmin, tmax)
        if q_max > crit_u:
            lb = ub = tmax
            lb_sign = ub_sign = ">"
        elif q_min < crit_u:
            lb = tmin
        else:
            lb = _uniroot(lambda t: _q_at(y, v, t) - crit_u, tmin, tmax)
        vt = self.vt
        res = HeterogeneityCI(
            tau2=(self.tau2, lb, ub),
            tau=(math.sqrt(self.tau2), math.sqrt(max(lb, 0.0)), math.sqrt(max(ub, 0.0))),
            I2=(self.I2, 100 * lb / (vt + lb), 100 * ub / (vt + ub)),
            H2=(self.H2, lb / vt + 1, ub / vt + 1),
            level=lvl,
            lb_sign=lb_sign,
            ub_sign=ub_sign,
            ci_null=ci_null,
        )
        self._cache[lvl] = res
        return res

    @property
    def tau2_ci(self) -> tuple[float, float]:
        """Q-profile CI of tau^2 at the model's level (computed on first access, then cached)."""
        return self.confint().tau2[1:]

    @property
    def tau_ci(self) -> tuple[float, float]:
        return self.confint().tau[1:]

    @property
    def I2_ci(self) -> tuple[float, float]:
        """Q-profile CI of I^2 (percent)."""
        return self.confint().I2[1:]

    @property
    def H2_ci(self) -> tuple[float, float]:
        return self.confint().H2[1:]

    def predict(self, transf: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, float]:
        """Pooled estimate with CI and PI, optionally back-transformed (metafor predict.rma(transf=...))."""
        vals = {"pred": self.estimate, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub, "pi_lb": self.pi_lb, "pi_ub": self.pi_ub}
        if transf is None:
            return {"pred": self.estimate, "se": self.se, **{k: v for k, v in vals.items() if k != "pred"}}
        out = {k: float(np.asarray(transf(np.asarray([v])))[0]) for k, v in vals.items()}
        lo, hi = sorted((out["ci_lb"], out["ci_ub"]))
        plo, phi = sorted((out["pi_lb"], out["pi_ub"]))
        out.update(ci_lb=lo, ci_ub=hi, pi_lb=plo, pi_ub=phi)
        return out

    @property
    def summary(self) -> pl.DataFrame:
        """One-row polars DataFrame with every printed quantity."""
        return pl.DataFrame(
            {
                "method": [self.method],
                "test": [self.test],
                "k": [self.k],
                "estimate": [self.estimate],
                "se": [self.se],
                ("tval" if self.ddf else "zval"): [self.stat],
                "pval": [self.pval],
                "ci_lb": [self.ci_lb],
                "ci_ub": [self.ci_ub],
                "pi_lb": [self.pi_lb],
                "pi_ub": [self.pi_ub],
                "tau2": [self.tau2],
                "se_tau2": [self.se_tau2],
                "tau": [self.tau],
                "I2": [self.I2],
                "H2": [self.H2],
                "Q": [self.Q],
                "Q_df": [self.Q_df],
                "Q_pval": [self.Q_pval],
            }
        )

    def __str__(self) -> str:
        lines = [""]
        if self.method == "FE":
            lines.append(f"Fixed-Effects Model (k = {self.k})")
        else:
            lines.append(f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method})")
        lines.append("")
        lines += _heterogeneity_lines(self, with_tau=self.method != "FE")
        lines.append("")
        lines.append("Test for Heterogeneity:")
        lines.append(f"Q(df = {self.Q_df}) = {_fmt(self.Q)}, p-val {_fmtp(self.Q_pval, equal=True)}")
        lines.append("")
        lines += _model_results_lines(self, self.ddf)
        lines.append(f"Prediction interval ({self.pi_method}): {_fmt(self.pi_lb)} to {_fmt(self.pi_ub)}")
        lines.append("")
        return "\n".join(lines)

    def print_summary(self) -> None:
        print(self)


# --------------------------------------------------------------------------------------
# rma
# --------------------------------------------------------------------------------------


def rma(yi, vi, method: str = "REML", test: str = "z", level: float = 0.95, pi: str = "metafor") -> MetaResult:
    r"""Random-effects (or common-effect) meta-analysis as metafor ``rma(yi, vi, method=, test=)``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0).
    method : {"REML", "ML", "DL", "PM", "HE", "SJ", "FE"}
        tau^2 estimator ("FE" = common/equal-effect model, tau^2 = 0). "EE"/"CE" are aliases of "FE".
    test : {"z", "knha", "adhoc"}
        "knha" = Hartung-Knapp(-Sidik-Jonkman): the variance of the estimate is multiplied by
        :math:`s^2_w = \sum w_i (y_i-\hat\mu)^2/(k-1)` without truncation and t_{k-1} is used;
        "adhoc" truncates :math:`s^2_w` at 1 (metafor test="adhoc").
    level : float
        Confidence level for CI and PI.
    pi : {"metafor", "hts"}
        "metafor" (default): :math:`\hat\mu \pm c\sqrt{SE^2+\hat\tau^2}` with c from N(0,1), or from
        t_{k-1} when test is knha/adhoc (metafor predict.rma). "hts": Higgins, Thompson &
        Spiegelhalter (2009) / Riley et al. (2011) with c from t_{k-2} (R meta's default;
        metafor predict(predtype="Riley")).

    Returns
    -------
    MetaResult

    Notes
    -----
    Estimators (metafor R/rma.uni.r; w_i = 1/v_i unless stated):

    * DL: :math:`\hat\tau^2 = \max\{0, (Q-(k-1))/(\sum w_i - \sum w_i^2/\sum w_i)\}`.
    * HE: :math:`(\sum (y_i-\bar y)^2 - (1-1/k)\sum v_i)/(k-1)`, truncated at 0.
    * SJ: :math:`\hat\tau^2 = \tau_0^2\,Q(\tau_0^2)/(k-1)` with :math:`\tau_0^2 = \sum(y_i-\bar y)^2/k`.
    * PM: root of :math:`Q(\tau^2) = k-1` (R uniroot, tol eps^0.25), 0 if Q(0) < k-1.
    * ML/REML: Fisher scoring from the HE estimate truncated at 0, step halving to stay >= 0,
      stop when the change is < 1e-5 (maxiter 100); ML step :math:`(\sum w^2 r^2-\sum w)/\sum w^2`,
      REML step :math:`(y'PPy - tr P)/tr(PP)`.
    * se(tau^2): REML :math:`\sqrt{2/tr(PP)}`, ML :math:`\sqrt{2/\sum w_i^2}`, PM
      :math:`\sqrt{2k^2/(k-1)}/\sum w_i`, DL/HE/SJ the moment formulas of metafor
      (Biggerstaff & Tweedie 1997 type variances of the quadratic form).

    Examples
    --------
    >>> res = rma([-0.89, -1.59, -1.35], [0.33, 0.19, 0.42])
    >>> print(res)  # doctest: +SKIP
    """
    m = str(method).upper()
    if m in ("EE", "CE"):
        m = "FE"
    if m not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    t = str(test).lower()
    if t == "hksj":
        t = "knha"
    if t not in _TESTS:
        raise ValueError(f"unknown test {test!r}; choose one of {_TESTS}")
    pim = str(pi).lower()
    if pim == "riley":
        pim = "hts"
    if pim not in _PIS:
        raise ValueError(f"unknown pi {pi!r}; choose one of {_PIS}")
    lvl = _level(level)
    y, v = _check_yv(yi, vi)
    k = y.size

    pre = _fe_stats(y, v) if k > 1 else None
    tau2, se_tau2, iters = _tau2_and_se(y, v, m, pre)

    # model fitting (weights 1/(v + tau2))
    if tau2 == 0.0 and pre is not None:
        w, W = pre[0], pre[1]
    else:
        w = v + tau2
        np.reciprocal(w, out=w)
        W = float(w.sum())
    mu = _dot(w, y) / W
    vb = 1.0 / W
    s2w = 1.0
    ddf = None
    if t in ("knha", "adhoc"):
        if k < 2:
            raise ValueError("test='knha' needs k >= 2 studies")
        if m == "FE":
            warnings.warn("the Knapp and Hartung method is not meant for common-effect (FE) models (metafor warns too)", stacklevel=2)
        r = y - mu
        rss = _dot(w, r * r)
        s2w = 0.0 if rss <= _EPS else rss / (k - 1)
        if t == "adhoc" and s2w < 1.0:
            s2w = 1.0
        vb *= s2w
        ddf = k - 1
    se = math.sqrt(vb)
    stat = mu / se if se > 0 else float("nan")
    alpha = 1.0 - lvl
    if ddf:
        pval = 2.0 * _t_sf(abs(stat), ddf)
        crit = _t_isf(alpha / 2, ddf)
    else:
        pval = 2.0 * _norm_sf(abs(stat))
        crit = _norm_isf(alpha / 2)
    ci_lb, ci_ub = mu - crit * se, mu + crit * se

    # heterogeneity test and I2/H2 (inverse-variance weights 1/vi)
    if k > 1:
        W0, s2_0, Q = pre[1], pre[2], max(0.0, pre[4])
        Q_df = k - 1
        Q_pval = _chi2_sf(Q, Q_df)
        trP = W0 - s2_0 / W0
        vt = Q_df / trP
        if m == "FE":
            I2 = max(0.0, 100.0 * (Q - Q_df) / Q) if Q > 0 else 0.0
            H2 = Q / Q_df
        else:
            I2 = 100.0 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1.0
    else:
        Q, Q_df, Q_pval, I2, H2, vt = 0.0, 0, 1.0, 0.0, 1.0, 0.0

    # prediction interval (metafor predict.rma)
    pi_se = math.sqrt(vb + tau2)
    if pim == "hts":
        pdf = max(k - 2, 1)
        pcrit = _t_isf(alpha / 2, pdf)
    else:
        pcrit = crit
    pi_lb, pi_ub = mu - pcrit * pi_se, mu + pcrit * pi_se

    return MetaResult(
        method=m,
        test=t,
        level=lvl,
        pi_method=pim,
        k=k,
        estimate=mu,
        se=se,
        stat=stat,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        pi_se=pi_se,
        tau2=tau2,
        se_tau2=se_tau2,
        tau=math.sqrt(tau2),
        I2=I2,
        H2=H2,
        Q=Q,
        Q_df=Q_df,
        Q_pval=Q_pval,
        ddf=ddf,
        s2w=s2w,
        iterations=iters,
        yi=y,
        vi=v,
        vt=vt,
    )


# --------------------------------------------------------------------------------------
# single proportions: escalc transforms, back-transformations, GLMM
# --------------------------------------------------------------------------------------

_TRANSFORMS = ("logit", "raw", "ft", "arcsine", "glmm")
_TRANSFORM_ALIASES = {"plo": "logit", "pr": "raw", "pft": "ft", "freeman-tukey": "ft", "pas": "arcsine", "asin": "arcsine"}


def _check_events(events, n, name_x: str = "events", name_n: str = "n") -> tuple[np.ndarray, np.ndarray]:
    x = _as_1d(name_x, events)
    nn = _as_1d(name_n, n)
    if x.shape != nn.shape:
        raise ValueError(f"{name_x} and {name_n} have mismatched lengths ({x.size} and {nn.size})")
    if x.size < 1:
        raise ValueError("need at least one study")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(nn))):
        raise ValueError(f"{name_x} and {name_n} must be finite numbers")
    if np.any(x < 0):
        raise ValueError(f"{name_x} must be >= 0 (negative count found)")
    if np.any(nn <= 0):
        raise ValueError(f"{name_n} must be > 0")
    if np.any(x > nn):
        raise ValueError(f"{name_x} cannot exceed {name_n}")
    return x, nn


def _transform_name(transform: str) -> str:
    t = str(transform).lower()
    t = _TRANSFORM_ALIASES.get(t, t)
    if t not in _TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; choose one of {_TRANSFORMS}")
    return t


def escalc_proportion(events, n, transform: str = "logit", add: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-study transformed proportions and sampling variances (metafor escalc, R/escalc.r).

    * "logit" (PLO): :math:`y=\log\{x/(n-x)\}`, :math:`v = 1/x + 1/(n-x)`; ``add`` (default 1/2)
      is added to x and n-x only in studies with x = 0 or x = n (escalc add=1/2, to="only0").
    * "raw" (PR): :math:`y = x/n`, :math:`v = y(1-y)/n`, same correction (a 10/10 study enters as 10.5/11).
    * "ft" (PFT): :math:`y = \tfrac12\{\arcsin\sqrt{x/(n+1)} + \arcsin\sqrt{(x+1)/(n+1)}\}`,
      :math:`v = 1/(4n+2)`; no correction (half of the classical Freeman-Tukey double arcsine).
    * "arcsine" (PAS): :math:`y=\arcsin\sqrt{x/n}`, :math:`v=1/(4n)`; no correction.

    Parameters
    ----------
    events, n : array_like
        Events and patients per study (0 <= events <= n, n > 0).
    transform : {"logit", "raw", "ft", "arcsine"}
        "glmm" is accepted and gives the logit values.
    add : float, optional
        Continuity correction; default 1/2 for logit/raw and 0 for ft/arcsine (escalc defaults).

    Returns
    -------
    (yi, vi) : tuple of numpy.ndarray
    """
    t = _transform_name(transform)
    x, nn = _check_events(events, n)
    if t in ("logit", "raw", "glmm"):
        a = 0.5 if add is None else float(add)
        m = nn - x
        zero = (x == 0) | (m == 0)
        xa = np.where(zero, x + a, x)
        ma = np.where(zero, m + a, m)
        na = xa + ma
        p = xa / na
        if t == "raw":
            return p, p * (1 - p) / na
        with np.errstate(divide="ignore"):
            return np.log(xa / ma), 1.0 / xa + 1.0 / ma
    a = 0.0 if add is None else float(add)
    if a:
        x, nn = x + a, nn + 2 * a
    if t == "ft":
        y = 0.5 * (np.arcsin(np.sqrt(x / (nn + 1))) + np.arcsin(np.sqrt((x + 1) / (nn + 1))))
        return y, 1.0 / (4 * nn + 2)
    return np.arcsin(np.sqrt(x / nn)), 1.0 / (4 * nn)


def _ipft_hm(z, n_harm: float) -> np.ndarray:
    r"""Inverse Freeman-Tukey with the harmonic mean of n (Miller 1978; metafor transf.ipft.hm).

    :math:`p = \tfrac12\{1 - \mathrm{sgn}(\cos 2z)\sqrt{1-(\sin 2z + (\sin 2z - 1/\sin 2z)/\bar n)^2}\}`,
    set to 0 below the transform of p=0 and to 1 above the transform of p=1.
    """
    z = np.asarray(z, dtype=float)
    s = np.sin(2 * z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 0.5 * (1 - np.sign(np.cos(2 * z)) * np.sqrt(1 - (s + (s - 1 / s) / n_harm) ** 2))
    lo = 0.5 * (np.arcsin(0.0) + np.arcsin(np.sqrt(1 / (n_harm + 1))))
    hi = 0.5 * (np.arcsin(np.sqrt(n_harm / (n_harm + 1))) + np.arcsin(1.0))
    p = np.where(z > hi, 1.0, np.where(z < lo, 0.0, p))
    return p


def _iarcsin(z) -> np.ndarray:
    """metafor transf.iarcsin: sin(z)^2, 0 below 0 and 1 above pi/2."""
    z = np.asarray(z, dtype=float)
    return np.where(z < 0, 0.0, np.where(z > np.pi / 2, 1.0, np.sin(z) ** 2))


@dataclass
class GLMMResult:
    r"""Random-intercept logistic model for proportions (metafor rma.glmm(measure="PLO"), lme4 glmer).

    Attributes: ``k``, ``estimate`` (logit), ``se``, ``stat`` (z), ``pval``, ``ci_lb``, ``ci_ub``,
    ``pi_lb``, ``pi_ub`` (logit scale; PI = estimate ± z sqrt(se^2 + tau^2)), ``tau2``, ``tau``,
    ``I2``, ``H2`` (from tau^2 and the typical variance of the escalc PLO variances),
    ``Q_wald``, ``Q_lrt``, ``Q_df``, ``Q_wald_pval``, ``Q_lrt_pval`` (metafor Wld / LRT tests),
    ``loglik``, ``method`` ("ML" or "FE"), ``nAGQ``, ``level``.
    """

    method: str
    k: int
    level: float
    nAGQ: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    tau: float
    I2: float
    H2: float
    Q_wald: float
    Q_lrt: float
    Q_df: int
    Q_wald_pval: float
    Q_lrt_pval: float
    loglik: float

    @property
    def summary(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "method": [self.method],
                "k": [self.k],
                "estimate": [self.estimate],
                "se": [self.se],
                "zval": [self.stat],
                "pval": [self.pval],
                "ci_lb": [self.ci_lb],
                "ci_ub": [self.ci_ub],
                "pi_lb": [self.pi_lb],
                "pi_ub": [self.pi_ub],
                "tau2": [self.tau2],
                "tau": [self.tau],
                "I2": [self.I2],
                "H2": [self.H2],
                "Q_wald": [self.Q_wald],
                "Q_lrt": [self.Q_lrt],
                "Q_df": [self.Q_df],
            }
        )

    def __str__(self) -> str:
        lines = [""]
        if self.method == "FE":
            lines.append(f"Fixed-Effects Model (k = {self.k})")
        else:
            lines.append(f"Random-Effects Model (k = {self.k}; tau^2 estimator: ML)")
            lines.append(f"Model Type: random-intercept logistic model (adaptive Gauss-Hermite, nAGQ = {self.nAGQ})")
            lines.append("")
            lines += _heterogeneity_lines(self, with_tau=True)
        lines.append("")
        lines.append("Tests for Heterogeneity:")
        lines.append(f"Wld(df = {self.Q_df}) = {_fmt(self.Q_wald)}, p-val {_fmtp(self.Q_wald_pval, equal=True)}")
        lines.append(f"LRT(df = {self.Q_df}) = {_fmt(self.Q_lrt)}, p-val {_fmtp(self.Q_lrt_pval, equal=True)}")
        lines.append("")
        lines += _model_results_lines(self)
        return "\n".join(lines)

    def print_summary(self) -> None:
        print(self)


def _gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes/weights for the N(0,1) density (lme4 GHrule): sum w_k h(z_k) ~ E h(Z)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / math.sqrt(2 * math.pi)


def _binom_loglik_const(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)


def _agq_loglik(beta: float, theta: float, x, n, lconst, z, wz, cache: dict | None = None) -> float:
    r"""Marginal log-likelihood of the random-intercept logistic model by adaptive GH quadrature.

    For study i with u ~ N(0,1) and logit p = beta + theta u, g(u) = log f(x_i|u) - u^2/2; at the
    conditional mode û (Newton, vectorised) with scale s = (-g''(û))^{-1/2}:
    :math:`L_i \approx s\sum_k w_k \exp\{z_k^2/2 + g(\hat u + s z_k)\}` (Liu & Pierce 1994;
    lme4 glmer nAGQ > 1). ``cache`` (optional dict) warm-starts the modes from the previous call.
    """
    # conditional modes: g'(u) = theta (x - n p(u)) - u is strictly decreasing, with its root in
    # [theta (x - n), theta x]; safeguarded Newton (bisection whenever Newton leaves the bracket)
    lo = theta * (x - n) - 1e-12
    hi = theta * x + 1e-12
    if theta < 0:
        lo, hi = theta * x - 1e-12, theta * (x - n) + 1e-12
    u0 = cache.get("u") if cache is not None else None
    u = np.clip(u0 if u0 is not None else np.zeros_like(x), lo, hi)
    for _ in range(200):
        p = special.expit(beta + theta * u)
        g1 = theta * (x - n * p) - u
        g2 = -(theta * theta) * n * p * (1 - p) - 1.0
        pos = g1 > 0
        lo = np.where(pos, u, lo)
        hi = np.where(pos, hi, u)
        un = u - g1 / g2
        bad = (un <= lo) | (un >= hi)
        un = np.where(bad, 0.5 * (lo + hi), un)
        done = np.max(np.abs(un - u)) < 1e-11
        u = un
        if done:
            break
    if cache is not None:
        cache["u"] = u
    eta = beta + theta * u
    p = special.expit(eta)
    s = 1.0 / np.sqrt(theta * theta * n * p * (1 - p) + 1.0)
    uu = u[:, None] + s[:, None] * z[None, :]
    et = beta + theta * uu
    # log f = x*eta - n*log(1+exp(eta)) = x*log p + m*log(1-p)
    lf = x[:, None] * et - n[:, None] * np.logaddexp(0.0, et)
    g = lf - 0.5 * uu * uu + 0.5 * z[None, :] ** 2
    li = np.log(s) + special.logsumexp(g, axis=1, b=wz[None, :])
    return float(np.sum(li + lconst))


def glmm_proportion(events, n, level: float = 0.95, nAGQ: int = 7, method: str = "ML") -> GLMMResult:
    r"""Random-intercept logistic model for single proportions, as metafor ``rma.glmm(measure="PLO")``.

    Model: :math:`x_i \sim \mathrm{Bin}(n_i, p_i)`, :math:`\mathrm{logit}\,p_i = \mu + \theta u_i`,
    :math:`u_i\sim N(0,1)`, :math:`\tau^2=\theta^2`, fitted by maximum likelihood with adaptive
    Gauss-Hermite quadrature (nAGQ = 7 as metafor's default for lme4::glmer). Studies with 0 % or
    100 % events enter without correction. The standard error of mu comes from the inverse of the
    numerical Hessian of the deviance in (theta, mu) as lme4's vcov.merMod (use.hessian=TRUE).
    ``method="FE"`` fits the common-effect logistic model (metafor method="EE").

    The heterogeneity tests are metafor's: Wald test of the study effects of the saturated logistic
    model (computed from the studies with 0 < x < n, where the saturated fit is finite) and the
    likelihood ratio test of the common-effect vs the saturated model, both on k - 1 df.
    I^2/H^2 use the escalc PLO variances (1/2 added to 0 %/100 % studies) as metafor does.

    Parameters
    ----------
    events, n : array_like
        Events and patients per study.
    level : float
        Confidence level.
    nAGQ : int
        Number of adaptive Gauss-Hermite quadrature points (7 = metafor/lme4 default here).
    method : {"ML", "FE"}

    Returns
    -------
    GLMMResult
        Estimates on the logit scale; back-transform with scipy.special.expit (or use
        :func:`proportions` with transform="glmm").

    References
    ----------
    Stijnen T, Hamza TH, Ozdemir P (2010). Random effects meta-analysis of event outcome in the
    framework of the generalized linear mixed model. Stat Med 29:3046-3067.
    Bates D, et al. (2015). lme4, J Stat Softw 67(1) (glmer with nAGQ > 1; vcov.merMod).
    """
    x, nn = _check_events(events, n)
    lvl = _level(level)
    meth = str(method).upper()
    if meth in ("EE", "CE"):
        meth = "FE"
    if meth not in ("ML", "FE"):
        raise ValueError("method must be 'ML' (random effects) or 'FE'")
    k = x.size
    m = nn - x
    lconst = _binom_loglik_const(x, nn)
    # common-effect (FE) logistic model and saturated model
    pbar = x.sum() / nn.sum()
    ll_fe = float(np.sum(lconst + special.xlogy(x, pbar) + special.xlogy(m, 1 - pbar)))
    ps = x / nn
    ll_sat = float(np.sum(lconst + special.xlogy(x, ps) + special.xlogy(m, 1 - ps)))
    inner = (x > 0) & (m > 0)
    if inner.sum() > 1:
        li = np.log(x[inner] / m[inner])
        wi = 1.0 / (1.0 / x[inner] + 1.0 / m[inner])
        q_w = float(np.sum(wi * (li - _dot(wi, li) / wi.sum()) ** 2))
    else:
        q_w = 0.0
    q_lrt = max(0.0, -2.0 * (ll_fe - ll_sat))
    q_df = k - 1
    q_wp = float(stats.chi2.sf(q_w, q_df)) if q_df > 0 else 1.0
    q_lp = float(stats.chi2.sf(q_lrt, q_df)) if q_df > 0 else 1.0

    if pbar <= 0 or pbar >= 1:
        raise ValueError("all studies have 0 % (or all 100 %) events: the logistic model has no finite estimate")
    alpha = 1.0 - lvl
    zcrit = _norm_isf(alpha / 2)

    if meth == "FE":
        beta = math.log(pbar / (1 - pbar))
        se = math.sqrt(1.0 / x.sum() + 1.0 / m.sum())
        tau2 = 0.0
        ll = ll_fe
    else:
        z, wz = _gh_rule(int(nAGQ))

        cache: dict = {}

        def nll(par):
            return -_agq_loglik(par[0], par[1], x, nn, lconst, z, wz, cache)

        yi0, vi0 = escalc_proportion(x, nn, "logit")
        start_fit = rma(yi0, vi0, method="DL") if k > 1 else None
        b0 = start_fit.estimate if start_fit else math.log(pbar / (1 - pbar))
        t0 = max(math.sqrt(start_fit.tau2), 0.1) if start_fit else 0.1
        best = None
        for start in ((b0, t0),):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                opt = optimize.minimize(nll, np.array(start), method="BFGS", options={"gtol": 1e-8, "maxiter": 500})
            if best is None or opt.fun < best.fun:
                best = opt
        par, _ = _newton_polish(nll, np.asarray(best.x, dtype=float))
        beta, theta = float(par[0]), abs(float(par[1]))
        ll = -nll([beta, theta])
        # boundary: at theta = 0 the model is the common-effect logistic model (lme4 reports a
        # singular fit with theta = 0); keep the boundary when it is at least as likely
        if theta < 1e-3 and ll_fe >= ll - 1e-9:
            beta, theta, ll = math.log(pbar / (1 - pbar)), 0.0, ll_fe
        tau2 = theta * theta
        # vcov from the finite-difference Hessian of the deviance in (theta, beta) (lme4 deriv12 step 1e-4)
        if theta > 0:
            H = _num_hessian(lambda p: 2.0 * nll([p[1], p[0]]), np.array([theta, beta]), 1e-4)
            try:
                V = np.linalg.inv(H / 2.0)
                se = math.sqrt(V[1, 1]) if V[1, 1] > 0 else float("nan")
            except np.linalg.LinAlgError:
                se = float("nan")
        else:
            p0 = special.expit(beta)
            se = 1.0 / math.sqrt(float(np.sum(nn * p0 * (1 - p0))))
    stat = beta / se
    pval = float(2 * stats.norm.sf(abs(stat)))
    ci_lb, ci_ub = beta - zcrit * se, beta + zcrit * se
    pi_se = math.sqrt(se * se + tau2)
    yi0, vi0 = escalc_proportion(x, nn, "logit")
    w0 = 1.0 / vi0
    W0 = w0.sum()
    vt = (k - 1) / (W0 - _dot(w0, w0) / W0) if k > 1 else float("nan")
    I2 = 100 * tau2 / (vt + tau2) if k > 1 else 0.0
    H2 = tau2 / vt + 1 if k > 1 else 1.0
    return GLMMResult(
        method=meth,
        k=k,
        level=lvl,
        nAGQ=int(nAGQ),
        estimate=beta,
        se=se,
        stat=stat,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        pi_lb=beta - zcrit * pi_se,
        pi_ub=beta + zcrit * pi_se,
        tau2=tau2,
        tau=math.sqrt(tau2),
        I2=float(I2),
        H2=float(H2),
        Q_wald=q_w,
        Q_lrt=q_lrt,
        Q_df=q_df,
        Q_wald_pval=q_wp,
        Q_lrt_pval=q_lp,
        loglik=ll,
    )


def _newton_polish(f: Callable[[np.ndarray], float], x0: np.ndarray, maxit: int = 50) -> tuple[np.ndarray, float]:
    """Newton iterations with finite-difference derivatives and step halving (minimises f)."""
    x = np.array(x0, dtype=float)
    fx = f(x)
    d = x.size
    for _ in range(maxit):
        g = np.empty(d)
        for i in range(d):
            h = 1e-6 * max(1.0, abs(x[i]))
            e = np.zeros(d)
            e[i] = h
            g[i] = (f(x + e) - f(x - e)) / (2 * h)
        H = _num_hessian(f, x, 1e-4)
        try:
            step = np.linalg.solve(H, g)
            if not np.all(np.isfinite(step)) or float(g @ step) <= 0:  # not a descent direction
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = g / max(1.0, float(np.max(np.abs(np.diag(H)))))
        t = 1.0
        while t > 1e-10:
            xn = x - t * step
            fn = f(xn)
            if fn <= fx:
                break
            t /= 2
        else:
            break
        done = float(np.max(np.abs(xn - x))) < 1e-10
        x, fx = xn, fn
        if done:
            break
    return x, fx


def _num_hessian(f: Callable[[np.ndarray], float], x0: np.ndarray, h: float) -> np.ndarray:
    """Central finite-difference Hessian (as lme4's deriv12 with delta=1e-4)."""
    d = x0.size
    H = np.empty((d, d))
    f0 = f(x0)
    for i in range(d):
        ei = np.zeros(d)
        ei[i] = h
        H[i, i] = (f(x0 + ei) - 2 * f0 + f(x0 - ei)) / (h * h)
        for j in range(i + 1, d):
            ej = np.zeros(d)
            ej[j] = h
            H[i, j] = H[j, i] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (4 * h * h)
    return H


@dataclass(eq=False)
class ProportionResult:
    """Pooled single proportion.

    Attributes
    ----------
    transform : str
        "logit", "raw", "ft", "arcsine" or "glmm".
    events, n : numpy.ndarray
    yi, vi : numpy.ndarray
        Per-study transformed values (escalc; for "glmm" the logit escalc values used for I^2).
    model : MetaResult or GLMMResult
        The fit on the transformed scale (estimate, ci_lb, ... on that scale).
    estimate, ci_lb, ci_ub, pi_lb, pi_ub : float
        Back-transformed to the proportion scale (metafor predict(transf=...)); for "raw" the
        values are not clipped to [0, 1], as in metafor.
    """

    transform: str
    events: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    model: Any = field(repr=False)
    estimate: float = float("nan")
    ci_lb: float = float("nan")
    ci_ub: float = float("nan")
    pi_lb: float = float("nan")
    pi_ub: float = float("nan")

    @property
    def k(self) -> int:
        return int(self.events.size)

    @property
    def summary(self) -> pl.DataFrame:
        mdl = self.model
        return pl.DataFrame(
            {
                "transform": [self.transform],
                "k": [self.k],
                "proportion": [self.estimate],
                "ci_lb": [self.ci_lb],
                "ci_ub": [self.ci_ub],
                "pi_lb": [self.pi_lb],
                "pi_ub": [self.pi_ub],
                "estimate_transformed": [mdl.estimate],
                "se_transformed": [mdl.se],
                "ci_lb_transformed": [mdl.ci_lb],
                "ci_ub_transformed": [mdl.ci_ub],
                "pi_lb_transformed": [mdl.pi_lb],
                "pi_ub_transformed": [mdl.pi_ub],
                "tau2": [mdl.tau2],
                "I2": [mdl.I2],
            }
        )

    def __str__(self) -> str:
        body = str(self.model)
        tail = _table(
            ["pred", "ci.lb", "ci.ub", "pi.lb", "pi.ub"],
            [[_fmt(self.estimate), _fmt(self.ci_lb), _fmt(self.ci_ub), _fmt(self.pi_lb), _fmt(self.pi_ub)]],
        )
        return f"{body}\nPooled proportion (transform: {self.transform}):\n\n{tail}\n"

    def print_summary(self) -> None:
        print(self)


def proportions(
    events,
    n,
    transform: str = "logit",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    pi: str = "metafor",
    nAGQ: int = 7,
    add: float | None = None,
) -> ProportionResult:
    r"""Pooled single proportion (metafor escalc + rma, or rma.glmm for transform="glmm").

    Parameters
    ----------
    events, n : array_like
        Events and patients per study.
    transform : {"logit", "raw", "ft", "arcsine", "glmm"}
        See :func:`escalc_proportion`; "glmm" fits :func:`glmm_proportion` (method is then "ML",
        or "FE" for a common-effect logistic model).
    method, test, level, pi :
        Passed to :func:`rma`.
    nAGQ : int
        Quadrature points for transform="glmm".
    add : float, optional
        Continuity correction passed to :func:`escalc_proportion` (default: metafor's, i.e. 1/2
        for logit/raw studies with 0 or n events, none for ft/arcsine).

    Back-transformations (metafor transf.*): logit -> inverse logit; raw -> identity; ft ->
    transf.ipft.hm with the harmonic mean of n (Miller 1978); arcsine -> sin^2.

    Returns
    -------
    ProportionResult
        ``estimate``, ``ci_lb``, ``ci_ub``, ``pi_lb``, ``pi_ub`` on the proportion scale and
        ``model`` with the same quantities on the transformed scale.
    """
    t = _transform_name(transform)
    x, nn = _check_events(events, n)
    if t == "glmm":
        gm = "FE" if str(method).upper() in ("FE", "EE", "CE") else "ML"
        model = glmm_proportion(x, nn, level=level, nAGQ=nAGQ, method=gm)
        yi, vi = escalc_proportion(x, nn, "logit")
        back: Callable = special.expit
    else:
        yi, vi = escalc_proportion(x, nn, t, add=add)
        model = rma(yi, vi, method=method, test=test, level=level, pi=pi)
        if t == "logit":
            back = special.expit
        elif t == "raw":
            back = lambda z: np.asarray(z, dtype=float)  # noqa: E731
        elif t == "ft":
            nh = 1.0 / float(np.mean(1.0 / nn))
            back = lambda z: _ipft_hm(z, nh)  # noqa: E731
        else:
            back = _iarcsin
    vals = [float(np.asarray(back(np.asarray([val])))[0]) for val in (model.estimate, model.ci_lb, model.ci_ub, model.pi_lb, model.pi_ub)]
    return ProportionResult(
        transform=t,
        events=x,
        n=nn,
        yi=np.asarray(yi),
        vi=np.asarray(vi),
        model=model,
        estimate=vals[0],
        ci_lb=min(vals[1], vals[2]),
        ci_ub=max(vals[1], vals[2]),
        pi_lb=min(vals[3], vals[4]),
        pi_ub=max(vals[3], vals[4]),
    )


# --------------------------------------------------------------------------------------
# two-group comparisons (2x2 tables)
# --------------------------------------------------------------------------------------

_MEASURES = ("RR", "OR", "RD")


def _check_2x2(events1, n1, events2, n2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a, nn1 = _check_events(events1, n1, "events1", "n1")
    c, nn2 = _check_events(events2, n2, "events2", "n2")
    if a.shape != c.shape:
        raise ValueError(f"group 1 and group 2 have mismatched lengths ({a.size} and {c.size})")
    return a, nn1 - a, c, nn2 - c


def escalc_2x2(
    events1, n1, events2, n2, measure: str = "RR", add: float = 0.5, to: str = "only0", drop00: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-study effect sizes for 2x2 tables as metafor ``escalc(measure, ai, n1i, ci, n2i)``.

    Cells a (events, group 1), b, c (events, group 2), d. With ``to="only0"`` (default) ``add``
    (1/2) is added to every cell of a table having a zero cell; ``to="all"`` adds to all tables,
    ``to="none"`` never. ``drop00=True`` sets tables with no events (or only events) in both
    groups to NaN (escalc's default is drop00=FALSE).

    * RR: :math:`\log\{(a/n_1)/(c/n_2)\}`, :math:`v=1/a-1/n_1+1/c-1/n_2`
    * OR: :math:`\log\{ad/(bc)\}`, :math:`v=1/a+1/b+1/c+1/d`
    * RD: :math:`a/n_1-c/n_2`, :math:`v=p_1(1-p_1)/n_1+p_2(1-p_2)/n_2` (vtype="LS")

    Parameters
    ----------
    events1, n1, events2, n2 : array_like
        Events and patients in group 1 (treated) and group 2 (control) per study.
    measure : {"RR", "OR", "RD"}
    add, to, drop00 :
        metafor's escalc arguments (defaults 1/2, "only0", False).

    Returns
    -------
    (yi, vi) : tuple of numpy.ndarray
        NaN for tables dropped by ``drop00``.
    """
    meas = str(measure).upper()
    if meas not in _MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {_MEASURES}")
    a, b, c, d = _check_2x2(events1, n1, events2, n2)
    if to not in ("only0", "all", "none"):
        raise ValueError("to must be 'only0', 'all' or 'none'")
    if to == "all":
        sel = np.ones(a.shape, bool)
    elif to == "only0":
        sel = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    else:
        sel = np.zeros(a.shape, bool)
    a2, b2, c2, d2 = (np.where(sel, q + add, q) for q in (a, b, c, d))
    m1, m2 = a2 + b2, c2 + d2
    p1, p2 = a2 / m1, c2 / m2
    with np.errstate(divide="ignore", invalid="ignore"):
        if meas == "RR":
            y = np.log(p1) - np.log(p2)
            v = 1 / a2 - 1 / m1 + 1 / c2 - 1 / m2
        elif meas == "OR":
            y = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            v = 1 / a2 + 1 / b2 + 1 / c2 + 1 / d2
        else:
            y = p1 - p2
            v = p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2
    if drop00:
        both = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
        y = np.where(both, np.nan, y)
        v = np.where(both, np.nan, v)
    return y, v


@dataclass
class MHResult:
    r"""Mantel-Haenszel common-effect model (metafor rma.mh).

    Attributes: ``measure``, ``k`` (tables used), ``estimate`` (log OR/log RR or RD), ``se``,
    ``stat``, ``pval``, ``ci_lb``, ``ci_ub``, ``exp_estimate``, ``exp_ci_lb``, ``exp_ci_ub``
    (OR/RR scale; NaN for RD), ``Q``, ``Q_df``, ``Q_pval``, ``I2``, ``H2`` (inverse-variance Q
    on the escalc values, double-zero tables dropped), ``cmh``, ``cmh_pval`` (OR only, with
    continuity correction), ``tarone``, ``tarone_df``, ``tarone_pval`` (OR only), ``level``.
    """

    measure: str
    k: int
    level: float
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lb: float
    ci_ub: float
    exp_estimate: float
    exp_ci_lb: float
    exp_ci_ub: float
    Q: float
    Q_df: int
    Q_pval: float
    I2: float
    H2: float
    cmh: float = float("nan")
    cmh_pval: float = float("nan")
    tarone: float = float("nan")
    tarone_df: int = 0
    tarone_pval: float = float("nan")
    tau2: float = 0.0

    @property
    def summary(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "measure": [self.measure],
                "k": [self.k],
                "estimate": [self.estimate],
                "se": [self.se],
                "zval": [self.stat],
                "pval": [self.pval],
                "ci_lb": [self.ci_lb],
                "ci_ub": [self.ci_ub],
                "exp_estimate": [self.exp_estimate],
                "exp_ci_lb": [self.exp_ci_lb],
                "exp_ci_ub": [self.exp_ci_ub],
                "Q": [self.Q],
                "Q_df": [self.Q_df],
                "Q_pval": [self.Q_pval],
                "I2": [self.I2],
                "H2": [self.H2],
                "cmh": [self.cmh],
                "cmh_pval": [self.cmh_pval],
                "tarone": [self.tarone],
                "tarone_pval": [self.tarone_pval],
            }
        )

    def __str__(self) -> str:
        lines = ["", f"Equal-Effects Model (k = {self.k})", ""]
        lines.append(f"I^2 (total heterogeneity / total variability):  {_fmt(self.I2, 2)}%")
        lines.append(f"H^2 (total variability / sampling variability): {_fmt(self.H2, 2)}")
        lines += ["", "Test for Heterogeneity: ", f"Q(df = {self.Q_df}) = {_fmt(self.Q)}, p-val {_fmtp(self.Q_pval, equal=True)}", ""]
        scale = "" if self.measure == "RD" else " (log scale)"
        lines += [f"Model Results{scale}:", ""]
        lines.append(
            _table(
                ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"],
                [[_fmt(self.estimate), _fmt(self.se), _fmt(self.stat), _fmtp(self.pval), _fmt(self.ci_lb), _fmt(self.ci_ub)]],
            )
        )
        if self.measure != "RD":
            lines += ["", f"Model Results ({'OR' if self.measure == 'PETO' else self.measure} scale):", ""]
            lines.append(_table(["estimate", "ci.lb", "ci.ub"], [[_fmt(self.exp_estimate), _fmt(self.exp_ci_lb), _fmt(self.exp_ci_ub)]]))
        if self.measure == "OR":
            lines += ["", f"Cochran-Mantel-Haenszel Test:    CMH = {_fmt(self.cmh)}, df = 1, p-val {_fmtp(self.cmh_pval, equal=True)}"]
            lines.append(f"Tarone's Test for Heterogeneity: X^2 = {_fmt(self.tarone)}, df = {self.tarone_df}, p-val {_fmtp(self.tarone_pval, equal=True)}")
        lines.append("")
        return "\n".join(lines)

    def print_summary(self) -> None:
        print(self)


def mantel_haenszel(events1, n1, events2, n2, measure: str = "OR", level: float = 0.95, correct: bool = True) -> MHResult:
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

    Parameters
    ----------
    events1, n1, events2, n2 : array_like
        Events and patients per study in group 1 and group 2.
    measure : {"OR", "RR", "RD"}
    level : float
    correct : bool
        Continuity correction of the CMH test (metafor default TRUE).

    Returns
    -------
    MHResult
    """
    meas = str(measure).upper()
    if meas not in _MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {_MEASURES}")
    lvl = _level(level)
    a, b, c, d = _check_2x2(events1, n1, events2, n2)
    n1i, n2i = a + b, c + d
    N = n1i + n2i
    k = a.size
    zc = float(stats.norm.isf((1 - lvl) / 2))
    cmh = cmh_p = ta = ta_p = float("nan")
    ta_df = 0
    if meas == "OR":
        P = a / N + d / N
        Qi = b / N + c / N
        R = a / N * d
        S = b / N * c
        Rs, Ss = R.sum(), S.sum()
        if Rs == 0 or Ss == 0:
            raise ValueError("Mantel-Haenszel OR is undefined (no informative tables)")
        psi = Rs / Ss
        beta = math.log(psi)
        se = math.sqrt(0.5 * (np.sum(P * R) / Rs**2 + np.sum(P * S + Qi * R) / (Rs * Ss) + np.sum(Qi * S) / Ss**2))
        xt, yt = a + c, b + d
        cc = 0.5 if correct else 0.0
        cmh = (abs(float(np.sum(a - n1i / N * xt))) - cc) ** 2 / float(np.sum(n1i / N * (n2i / N) * (xt * (yt / (N - 1)))))
        cmh_p = float(stats.chi2.sf(cmh, 1))
        if psi == 1:
            N11 = n1i / N * xt
        else:
            A = psi * (n1i + xt) + (n2i - xt)
            B = np.sqrt(A * A - 4 * n1i * xt * psi * (psi - 1))
            N11 = (A - B) / (2 * (psi - 1))
        pos = (N11 > 0) & (xt > 0) & (yt > 0)
        N11p = N11[pos]
        N12 = n1i[pos] - N11p
        N21 = xt[pos] - N11p
        N22 = N11p - n1i[pos] - xt[pos] + N[pos]
        var11 = 1.0 / (1 / N11p + 1 / N12 + 1 / N21 + 1 / N22)
        bd = max(0.0, float(np.sum((a[pos] - N11p) ** 2 / var11)))
        ta = max(0.0, bd - float(np.sum(a[pos] - N11p)) ** 2 / float(np.sum(var11)))
        ta_df = int(pos.sum()) - 1
        ta_p = float(stats.chi2.sf(ta, ta_df)) if ta_df > 0 else float("nan")
    elif meas == "RR":
        Rs = float(np.sum(a * (n2i / N)))
        Ss = float(np.sum(c * (n1i / N)))
        if a.sum() == 0 or c.sum() == 0:
            raise ValueError("Mantel-Haenszel RR is undefined (no events in one group)")
        beta = math.log(Rs / Ss)
        se = math.sqrt(float(np.sum(n1i / N * (n2i / N) * (a + c) - a / N * c)) / (Rs * Ss))
    else:
        den = float(np.sum(n1i * (n2i / N)))
        beta = float(np.sum(a * (n2i / N) - c * (n1i / N))) / den
        se = math.sqrt(
            (beta * float(np.sum(c * (n1i / N) ** 2 - a * (n2i / N) ** 2 + n1i / N * (n2i / N) * (n2i - n1i) / 2))
             + float(np.sum(a * (n2i - c) / N + c * (n1i - a) / N)) / 2)
            / den**2
        )
    stat = beta / se
    pval = float(2 * stats.norm.sf(abs(stat)))
    lo, hi = beta - zc * se, beta + zc * se
    yi, vi = escalc_2x2(a, n1i, c, n2i, meas, drop00=True)
    ok = np.isfinite(yi) & np.isfinite(vi)
    kyi = int(ok.sum())
    if kyi > 1:
        Q = max(0.0, float(np.sum((yi[ok] - beta) ** 2 / vi[ok])))
        Q_df = kyi - 1
        Q_p = _chi2_sf(Q, Q_df)
        I2 = max(0.0, 100 * (Q - Q_df) / Q) if Q > 0 else 0.0
        H2 = Q / Q_df
    else:
        Q, Q_df, Q_p, I2, H2 = 0.0, 0, 1.0, 0.0, 1.0
    ex = (math.exp(beta), math.exp(lo), math.exp(hi)) if meas != "RD" else (float("nan"),) * 3
    return MHResult(
        measure=meas, k=k, level=lvl, estimate=beta, se=se, stat=stat, pval=pval, ci_lb=lo, ci_ub=hi,
        exp_estimate=ex[0], exp_ci_lb=ex[1], exp_ci_ub=ex[2], Q=Q, Q_df=Q_df, Q_pval=Q_p, I2=I2, H2=H2,
        cmh=cmh, cmh_pval=cmh_p, tarone=ta, tarone_df=ta_df, tarone_pval=ta_p,
    )


def peto(events1, n1, events2, n2, level: float = 0.95) -> MHResult:
    r"""Peto's one-step odds ratio as metafor ``rma.peto`` (R/rma.peto.r); returns :class:`MHResult`.

    With :math:`E_i = (a_i+c_i)n_{1i}/N_i` and :math:`V_i=(a_i+c_i)(b_i+d_i)n_{1i}n_{2i}/\{N_i^2(N_i-1)\}`:
    :math:`\log\hat{OR} = \sum(a_i-E_i)/\sum V_i`, :math:`SE = 1/\sqrt{\sum V_i}`;
    :math:`Q=\sum (a_i-E_i)^2/V_i - \{\sum(a_i-E_i)\}^2/\sum V_i` over tables with V_i > 0.
    Double-zero tables count in k but not in the Q degrees of freedom (k_yi - 1, where k_yi
    excludes them, as escalc(measure="PETO", drop00=TRUE) does); I^2 = max(0,(Q-df)/Q), H^2 = Q/df.
    """
    lvl = _level(level)
    a, b, c, d = _check_2x2(events1, n1, events2, n2)
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
    zc = _norm_isf((1 - lvl) / 2)
    stat = beta / se
    pos = V > 0
    Q = max(0.0, float(np.sum((a[pos] - E[pos]) ** 2 / V[pos])) - float(np.sum(a - E)) ** 2 / float(V[pos].sum()))
    both00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    k_yi = int((~both00).sum())
    if int(pos.sum()) > 1:
        Q_df = k_yi - 1
        Q_p = _chi2_sf(Q, Q_df)
        I2 = max(0.0, 100 * (Q - Q_df) / Q) if Q > 0 else 0.0
        H2 = Q / Q_df
    else:
        Q_df, Q_p, I2, H2 = max(k_yi - 1, 0), 1.0, 0.0, 1.0
    lo, hi = beta - zc * se, beta + zc * se
    return MHResult(
        measure="PETO", k=int(a.size), level=lvl, estimate=beta, se=se, stat=stat, pval=2 * _norm_sf(abs(stat)),
        ci_lb=lo, ci_ub=hi, exp_estimate=math.exp(beta), exp_ci_lb=math.exp(lo), exp_ci_ub=math.exp(hi),
        Q=Q, Q_df=Q_df, Q_pval=Q_p, I2=I2, H2=H2,
    )


@dataclass(eq=False)
class TwoGroupResult:
    """Per-study comparison and pooled result.

    Attributes
    ----------
    measure : str
    studies : polars.DataFrame
        One row per study: events1, n1, events2, n2, yi, vi, ci_lb, ci_ub (escalc, Wald CI), and
        for RR/OR the exponentiated exp_yi, exp_ci_lb, exp_ci_ub.
    model : MetaResult or MHResult
        The pooled fit (on the log scale for RR/OR).
    estimate, ci_lb, ci_ub, pi_lb, pi_ub : float
        Pooled values on the natural scale (exp for RR/OR; PI NaN for Mantel-Haenszel).
    """

    measure: str
    studies: pl.DataFrame
    model: Any
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float

    @property
    def summary(self) -> pl.DataFrame:
        return self.model.summary.with_columns(
            pl.lit(self.estimate).alias("natural_estimate"),
            pl.lit(self.ci_lb).alias("natural_ci_lb"),
            pl.lit(self.ci_ub).alias("natural_ci_ub"),
        )

    def __str__(self) -> str:
        return str(self.model) + f"\nPooled {self.measure}: {_fmt(self.estimate)} ({_fmt(self.ci_lb)} to {_fmt(self.ci_ub)})\n"

    def print_summary(self) -> None:
        print(self)


def two_group(
    events1,
    n1,
    events2,
    n2,
    measure: str = "RR",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    pi: str = "metafor",
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    labels=None,
) -> TwoGroupResult:
    """Per-study RR/OR/RD (metafor escalc) and their pooling.

    ``method`` is any :func:`rma` estimator, "MH" for :func:`mantel_haenszel` or "PETO" for
    :func:`peto`. For the inverse
    variance fit metafor's escalc defaults apply (1/2 added to every cell of tables with a zero
    cell; double-zero tables kept unless ``drop00=True``); tables whose yi is undefined are left
    out of the fit.

    Parameters
    ----------
    events1, n1, events2, n2 : array_like
        Events and patients per study in group 1 (e.g. treated) and group 2 (control).
    measure : {"RR", "OR", "RD"}
    method : str
        "REML" (default), "ML", "DL", "PM", "HE", "SJ", "FE", "MH" or "PETO" (OR only).
    test, level, pi :
        Passed to :func:`rma`.
    add, to, drop00 :
        Passed to :func:`escalc_2x2`.
    labels : sequence, optional
        Study labels for the per-study table.

    Returns
    -------
    TwoGroupResult
    """
    meas = str(measure).upper()
    lvl = _level(level)
    a, b, c, d = _check_2x2(events1, n1, events2, n2)
    yi, vi = escalc_2x2(a, a + b, c, c + d, meas, add=add, to=to, drop00=drop00)
    zc = float(stats.norm.isf((1 - lvl) / 2))
    se_i = np.sqrt(vi)
    lab = list(range(1, a.size + 1)) if labels is None else list(labels)
    if len(lab) != a.size:
        raise ValueError("labels must have one entry per study")
    cols = {
        "study": lab,
        **{name: (col.astype(np.int64) if np.all(col == np.round(col)) else col)
           for name, col in (("events1", a), ("n1", a + b), ("events2", c), ("n2", c + d))},
        "yi": yi, "vi": vi, "ci_lb": yi - zc * se_i, "ci_ub": yi + zc * se_i,
    }
    if meas != "RD":
        cols.update(exp_yi=np.exp(yi), exp_ci_lb=np.exp(yi - zc * se_i), exp_ci_ub=np.exp(yi + zc * se_i))
    studies = pl.DataFrame(cols)
    if str(method).upper() in ("MH", "PETO"):
        if str(method).upper() == "PETO" and meas != "OR":
            raise ValueError("Peto's method pools odds ratios: use measure='OR'")
        fit = mantel_haenszel if str(method).upper() == "MH" else (lambda *args, level: peto(*args[:4], level=level))
        model = fit(a, a + b, c, c + d, meas, level=lvl)
        pi_lb = pi_ub = float("nan")
        est, lo, hi = model.estimate, model.ci_lb, model.ci_ub
    else:
        ok = np.isfinite(yi) & np.isfinite(vi)
        model = rma(yi[ok], vi[ok], method=method, test=test, level=lvl, pi=pi)
        est, lo, hi, pi_lb, pi_ub = model.estimate, model.ci_lb, model.ci_ub, model.pi_lb, model.pi_ub
    f = (lambda z: z) if meas == "RD" else math.exp
    return TwoGroupResult(
        measure=meas, studies=studies, model=model, estimate=f(est), ci_lb=f(lo), ci_ub=f(hi),
        pi_lb=f(pi_lb) if not math.isnan(pi_lb) else pi_lb, pi_ub=f(pi_ub) if not math.isnan(pi_ub) else pi_ub,
    )


# --------------------------------------------------------------------------------------
# a single 2x2 table
# --------------------------------------------------------------------------------------


@dataclass
class FisherResult:
    """Fisher's exact test for a 2x2 table [[a, b], [c, d]] (R fisher.test).

    Attributes: ``p_value`` (two-sided: sum of table probabilities <= that of the observed table,
    relative tolerance 1e-7 as R), ``sample_odds_ratio`` (ad/bc), ``odds_ratio`` (conditional MLE,
    R's estimate), ``ci_lb``, ``ci_ub`` (conditional exact CI, R's conf.int), ``alternative``.
    """

    p_value: float
    sample_odds_ratio: float
    odds_ratio: float
    ci_lb: float
    ci_ub: float
    alternative: str
    level: float


def _table_ints(a, b, c, d) -> tuple[int, int, int, int]:
    vals = []
    for name, q in zip("abcd", (a, b, c, d)):
        qf = float(q)
        if not np.isfinite(qf) or qf < 0 or not qf.is_integer():
            raise ValueError(f"cell {name} must be a non-negative whole number; got {q}")
        vals.append(int(qf))
    if sum(vals) == 0:
        raise ValueError("the table is empty")
    return tuple(vals)  # type: ignore[return-value]


def fisher_exact(a, b, c, d, alternative: str = "two-sided", level: float = 0.95) -> FisherResult:
    """Fisher's exact test and conditional MLE odds ratio for [[a, b], [c, d]] (R stats::fisher.test).

    The p-value is scipy.stats.fisher_exact's, which uses R's rule. The conditional MLE solves
    E[X; psi] = a under Fisher's noncentral hypergeometric distribution; the CI bounds solve
    P(X >= a; psi) = alpha/2 and P(X <= a; psi) = alpha/2 (R fisher.test, two-sided).

    Parameters
    ----------
    a, b, c, d : int
        Table [[a, b], [c, d]]: a = events and b = non-events in group 1, c and d in group 2.
    alternative : {"two-sided", "less", "greater"}
    level : float
        Level of the odds-ratio CI.

    Returns
    -------
    FisherResult
    """
    a, b, c, d = _table_ints(a, b, c, d)
    lvl = _level(level)
    alt = {"two.sided": "two-sided", "greater": "greater", "less": "less"}.get(alternative, alternative)
    p = float(stats.fisher_exact([[a, b], [c, d]], alternative=alt).pvalue)
    m, n_, k_ = a + c, b + d, a + b  # column totals and first-row total (R: m, n, k)
    lo_s, hi_s = max(0, k_ - n_), min(k_, m)
    support = np.arange(lo_s, hi_s + 1)
    logdc = stats.hypergeom.logpmf(support, m + n_, m, k_)

    def dnhyper(ncp: float) -> np.ndarray:
        dd = logdc + np.log(ncp) * support
        dd = np.exp(dd - dd.max())
        return dd / dd.sum()

    def mnhyper(ncp: float) -> float:
        if ncp == 0:
            return float(lo_s)
        if np.isinf(ncp):
            return float(hi_s)
        return float(np.sum(support * dnhyper(ncp)))

    def pnhyper(q: int, ncp: float, upper: bool) -> float:
        if ncp == 1:
            return float(stats.hypergeom.sf(q - 1, m + n_, m, k_) if upper else stats.hypergeom.cdf(q, m + n_, m, k_))
        if ncp == 0:
            return float(q <= lo_s) if upper else float(q >= lo_s)
        if np.isinf(ncp):
            return float(q <= hi_s) if upper else float(q >= hi_s)
        dd = dnhyper(ncp)
        return float(dd[support >= q].sum() if upper else dd[support <= q].sum())

    def solve(fun, target):
        # root in log(ncp); fun increasing in ncp
        g = lambda t: fun(math.exp(t)) - target  # noqa: E731
        return math.exp(optimize.brentq(g, -50, 50, xtol=1e-12))

    if a == lo_s:
        mle = 0.0
    elif a == hi_s:
        mle = float("inf")
    else:
        mle = solve(mnhyper, a)
    alpha = 1 - lvl
    if alt == "two-sided":
        ci_lb = 0.0 if a == lo_s else solve(lambda t: pnhyper(a, t, True), alpha / 2)
        ci_ub = float("inf") if a == hi_s else 1.0 / solve(lambda t: pnhyper(a, 1.0 / t, False), alpha / 2)
    elif alt == "less":
        ci_lb = 0.0
        ci_ub = float("inf") if a == hi_s else 1.0 / solve(lambda t: pnhyper(a, 1.0 / t, False), alpha)
    else:
        ci_lb = 0.0 if a == lo_s else solve(lambda t: pnhyper(a, t, True), alpha)
        ci_ub = float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        sor = (a * d) / (b * c) if b * c > 0 else (float("inf") if a * d > 0 else float("nan"))
    return FisherResult(p_value=p, sample_odds_ratio=float(sor), odds_ratio=mle, ci_lb=ci_lb, ci_ub=ci_ub, alternative=alt, level=lvl)


@dataclass
class ChiSquareResult:
    """Pearson chi-square test of a 2x2 table (R chisq.test): ``statistic``, ``df`` (1), ``p_value``, ``correct``."""

    statistic: float
    df: int
    p_value: float
    correct: bool


def chisq_test(a, b, c, d, correct: bool = True) -> ChiSquareResult:
    r"""Pearson's chi-square test for [[a, b], [c, d]], with Yates' correction by default (R chisq.test).

    :math:`X^2=\sum (|O-E| - Y)^2/E` with :math:`Y=\min(0.5, \min|O-E|)` when ``correct`` else 0.

    Parameters
    ----------
    a, b, c, d : int
        Table [[a, b], [c, d]].
    correct : bool
        Yates' continuity correction (R default TRUE).

    Returns
    -------
    ChiSquareResult
        NaN statistic and p-value when an expected count is 0.
    """
    a, b, c, d = _table_ints(a, b, c, d)
    O = np.array([[a, b], [c, d]], dtype=float)
    E = O.sum(1, keepdims=True) * O.sum(0, keepdims=True) / O.sum()
    if np.any(E == 0):
        return ChiSquareResult(statistic=float("nan"), df=1, p_value=float("nan"), correct=correct)
    dev = np.abs(O - E)
    y = min(0.5, float(dev.min())) if correct else 0.0
    x2 = float(np.sum((dev - y) ** 2 / E))
    return ChiSquareResult(statistic=x2, df=1, p_value=float(stats.chi2.sf(x2, 1)), correct=correct)


@dataclass
class TwoByTwoResult:
    """Effect measures and tests for one 2x2 table (group 1 vs group 2).

    Attributes: ``events1``, ``n1``, ``events2``, ``n2``, ``level``; ``rr``, ``or_``, ``rd`` as
    (estimate, ci_lb, ci_ub) triples (Wald intervals on the log scale for RR/OR, escalc variances,
    1/2 added to all cells when a cell is zero); ``fisher`` (:class:`FisherResult`), ``chisq``
    and ``chisq_yates`` (:class:`ChiSquareResult`).
    """

    events1: int
    n1: int
    events2: int
    n2: int
    level: float
    rr: tuple[float, float, float]
    or_: tuple[float, float, float]
    rd: tuple[float, float, float]
    fisher: FisherResult
    chisq: ChiSquareResult
    chisq_yates: ChiSquareResult

    @property
    def p_values(self) -> dict[str, float]:
        return {
            "fisher": self.fisher.p_value,
            "chisq": self.chisq.p_value,
            "chisq_yates": self.chisq_yates.p_value,
        }

    def tests_reproducing(self, reported_p: float, decimals: int = 2) -> list[str]:
        """Tests whose p-value rounds (half either way, boundary included) to the reported p."""
        tol = 0.5 * 10.0 ** (-decimals) + 1e-12
        return [name for name, p in self.p_values.items() if abs(p - reported_p) <= tol]

    @property
    def summary(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "quantity": ["RR", "OR", "RD", "Fisher exact p", "chi-square p", "chi-square (Yates) p", "conditional MLE OR"],
                "estimate": [self.rr[0], self.or_[0], self.rd[0], self.fisher.p_value, self.chisq.p_value, self.chisq_yates.p_value, self.fisher.odds_ratio],
                "ci_lb": [self.rr[1], self.or_[1], self.rd[1], None, None, None, self.fisher.ci_lb],
                "ci_ub": [self.rr[2], self.or_[2], self.rd[2], None, None, None, self.fisher.ci_ub],
            }
        )

    def __str__(self) -> str:
        rows = [
            ["RR", _fmt(self.rr[0]), _fmt(self.rr[1]), _fmt(self.rr[2])],
            ["OR", _fmt(self.or_[0]), _fmt(self.or_[1]), _fmt(self.or_[2])],
            ["RD", _fmt(self.rd[0]), _fmt(self.rd[1]), _fmt(self.rd[2])],
        ]
        s = f"\n{self.events1}/{self.n1} vs {self.events2}/{self.n2}\n\n" + _table(["", "estimate", "ci.lb", "ci.ub"], rows)
        s += (
            f"\n\nFisher's exact test (two-sided): p = {_fmt(self.fisher.p_value)}"
            f"\nChi-square test: X^2 = {_fmt(self.chisq.statistic)}, p = {_fmt(self.chisq.p_value)}"
            f"\nChi-square test with Yates' correction: X^2 = {_fmt(self.chisq_yates.statistic)}, p = {_fmt(self.chisq_yates.p_value)}\n"
        )
        return s

    def print_summary(self) -> None:
        print(self)


def two_by_two(events1, n1, events2, n2, level: float = 0.95) -> TwoByTwoResult:
    """RR, OR and RD with Wald CIs plus Fisher's exact and chi-square tests for one 2x2 table.

    Parameters
    ----------
    events1, n1, events2, n2 : int
        Events and patients in group 1 and group 2 (zero cells allowed).
    level : float

    Returns
    -------
    TwoByTwoResult
        Use ``tests_reproducing(p, decimals)`` to see which test gives a reported p-value.

    Examples
    --------
    >>> two_by_two(8, 13, 2, 15).tests_reproducing(0.02, 2)
    ['fisher', 'chisq_yates']
    """
    lvl = _level(level)
    a, b, c, d = _table_ints(events1, float(n1) - float(events1), events2, float(n2) - float(events2))
    zc = float(stats.norm.isf((1 - lvl) / 2))
    out = {}
    for meas in _MEASURES:
        y, v = escalc_2x2([a], [a + b], [c], [c + d], meas)
        y0, s0 = float(y[0]), math.sqrt(float(v[0]))
        lo, hi = y0 - zc * s0, y0 + zc * s0
        out[meas] = (y0, lo, hi) if meas == "RD" else (math.exp(y0), math.exp(lo), math.exp(hi))
    return TwoByTwoResult(
        events1=a, n1=a + b, events2=c, n2=c + d, level=lvl, rr=out["RR"], or_=out["OR"], rd=out["RD"],
        fisher=fisher_exact(a, b, c, d, level=lvl), chisq=chisq_test(a, b, c, d, correct=False), chisq_yates=chisq_test(a, b, c, d, correct=True),
    )


# --------------------------------------------------------------------------------------
# leave-one-out and subgroups
# --------------------------------------------------------------------------------------


def _frame(df) -> pl.DataFrame:
    if isinstance(df, pl.DataFrame):
        return df
    try:
        return pl.from_pandas(df)
    except Exception:  # noqa: BLE001
        raise ValueError("df must be a polars (or pandas) DataFrame") from None


def leave_one_out(df, yi: str = "yi", vi: str = "vi", label: str = "study", **rma_kwargs) -> pl.DataFrame:
    """Refit :func:`rma` leaving out each study in turn (metafor leave1out.rma.uni).

    Parameters
    ----------
    df : polars.DataFrame (or pandas)
        One row per study.
    yi, vi, label : str
        Column names of effect sizes, sampling variances and study labels.
    **rma_kwargs
        Passed to :func:`rma` (method, test, level, pi).

    Returns
    -------
    polars.DataFrame
        Columns ``label``, estimate, se, zval (tval for knha), pval, ci_lb, ci_ub, Q, Qp, tau2,
        I2, H2 — one row per omitted study.
    """
    d = _frame(df)
    for col in (yi, vi):
        if col not in d.columns:
            raise ValueError(f"column {col!r} not found in df")
    y = d[yi].to_numpy().astype(float)
    v = d[vi].to_numpy().astype(float)
    k = y.size
    if k < 2:
        raise ValueError("leave-one-out needs k >= 2 studies")
    labs = d[label].to_list() if label in d.columns else list(range(1, k + 1))
    rows = []
    idx = np.arange(k)
    for i in range(k):
        keep = idx != i
        r = rma(y[keep], v[keep], **rma_kwargs)
        rows.append((r.estimate, r.se, r.stat, r.pval, r.ci_lb, r.ci_ub, r.Q, r.Q_pval, r.tau2, r.I2, r.H2))
    arr = np.array(rows)
    stat_name = "tval" if rma_kwargs.get("test", "z") in ("knha", "adhoc", "hksj") else "zval"
    names = ["estimate", "se", stat_name, "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2"]
    out = {label: labs}
    out.update({n_: arr[:, j] for j, n_ in enumerate(names)})
    return pl.DataFrame(out)


@dataclass(eq=False)
class SubgroupResult:
    """Per-subgroup fits and the test for subgroup differences.

    Attributes
    ----------
    groups : dict
        Group value -> :class:`MetaResult`.
    table : polars.DataFrame
        One row per group: group, k, estimate, se, ci_lb, ci_ub, pi_lb, pi_ub, tau2, I2, Q, Q_pval.
    Q_between, Q_between_df, Q_between_pval : float, int, float
        Wald-type test of equal group estimates: an FE model fitted to the group estimates with
        their squared standard errors, Q on groups - 1 df (metafor: rma(estimates, se^2, method="FE")).
    """

    by: str
    groups: dict
    table: pl.DataFrame
    Q_between: float
    Q_between_df: int
    Q_between_pval: float

    @property
    def summary(self) -> pl.DataFrame:
        return self.table

    def __str__(self) -> str:
        rows = [
            [str(r["group"]), str(r["k"]), _fmt(r["estimate"]), _fmt(r["se"]), _fmt(r["ci_lb"]), _fmt(r["ci_ub"]), _fmt(r["tau2"]), _fmt(r["I2"], 2)]
            for r in self.table.iter_rows(named=True)
        ]
        s = "\n" + _table([self.by, "k", "estimate", "se", "ci.lb", "ci.ub", "tau^2", "I^2"], rows)
        s += f"\n\nTest for Subgroup Differences: Q(df = {self.Q_between_df}) = {_fmt(self.Q_between)}, p-val {_fmtp(self.Q_between_pval, equal=True)}\n"
        return s

    def print_summary(self) -> None:
        print(self)


def subgroup(df, by: str, yi: str = "yi", vi: str = "vi", **rma_kwargs) -> SubgroupResult:
    """Separate :func:`rma` fits per subgroup plus the between-subgroup Q test (df = groups - 1).

    Parameters
    ----------
    df : polars.DataFrame (or pandas)
    by : str
        Column defining the subgroups.
    yi, vi : str
        Column names of effect sizes and sampling variances.
    **rma_kwargs
        Passed to :func:`rma` for every subgroup.

    Returns
    -------
    SubgroupResult
    """
    d = _frame(df)
    for col in (by, yi, vi):
        if col not in d.columns:
            raise ValueError(f"column {col!r} not found in df")
    groups = {}
    rows = []
    for g in d[by].unique(maintain_order=True).to_list():
        sub = d.filter(pl.col(by) == g) if g is not None else d.filter(pl.col(by).is_null())
        r = rma(sub[yi].to_numpy().astype(float), sub[vi].to_numpy().astype(float), **rma_kwargs)
        groups[g] = r
        rows.append({"group": g, "k": r.k, "estimate": r.estimate, "se": r.se, "ci_lb": r.ci_lb, "ci_ub": r.ci_ub,
                     "pi_lb": r.pi_lb, "pi_ub": r.pi_ub, "tau2": r.tau2, "I2": r.I2, "Q": r.Q, "Q_pval": r.Q_pval})
    if len(groups) < 2:
        raise ValueError("subgroup analysis needs at least two groups")
    est = np.array([r["estimate"] for r in rows])
    se = np.array([r["se"] for r in rows])
    fe = rma(est, se**2, method="FE")
    return SubgroupResult(by=by, groups=groups, table=pl.DataFrame(rows), Q_between=fe.Q, Q_between_df=fe.Q_df, Q_between_pval=fe.Q_pval)

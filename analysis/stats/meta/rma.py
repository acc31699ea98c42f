r"""Random-effects and common-effect meta-analysis of effect sizes (metafor ``rma.uni``, intercept only).

Public API
----------
rma(yi, vi, method="REML", test="z", level=0.95, pi="metafor", labels=None, measure="GEN")
    Returns :class:`MetaResult` (the result protocol of :mod:`.results`).
subgroup(yi, vi, groups, ...)
    Separate fits per subgroup and the test for subgroup differences (:mod:`.subgroup`).

Every random-effects fit carries, beside its primary interval, the Hartung-Knapp-Sidik-Jonkman
interval (``hk_low``/``hk_high``): metafor ``test="knha"`` -- :math:`\hat\mu \pm t_{k-1}
\sqrt{s^2_w/\sum w_i}` with :math:`s^2_w=\sum w_i(y_i-\hat\mu)^2/(k-1)` *not* truncated at 1
(Hartung & Knapp 2001; Sidik & Jonkman 2002; IntHout, Ioannidis & Borm 2014). The ad hoc
variant that truncates :math:`s^2_w` at 1 (metafor ``test="adhoc"``, Röver, Knapp & Friede
2015) is :meth:`MetaResult.hartung_knapp` with ``adhoc=True`` or ``rma(test="adhoc")``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._roots import EPS
from .._util import check_level, check_yv, chi2_sf, default_labels, dot, norm_isf, norm_sf, t_isf, t_sf
from .results import Fit, mapped
from .tau2 import METHODS, HeterogeneityCI, fe_stats, from_tau2_bounds, q_profile, tau2_and_se

__all__ = ["METHODS", "MetaResult", "rma"]

_TESTS = ("z", "knha", "adhoc")
_PIS = ("metafor", "hts")


@dataclass(eq=False)
class MetaResult(Fit):
    r"""Fitted intercept-only meta-analytic model, laid out like metafor's ``rma.uni`` object.

    Protocol attributes (see :mod:`analysis.stats.meta.results`): ``k``, ``estimate``, ``se``,
    ``zval`` (a t statistic under test="knha"/"adhoc"), ``pval``, ``ci_low``, ``ci_high``,
    ``level``, ``method`` (tau^2 estimator, "FE" for the common-effect model), ``measure``,
    ``weights``, ``tau2`` (0 for FE, as metafor), ``tau2_low``/``tau2_high`` (Q-profile; None for
    FE), ``i2``/``i2_low``/``i2_high`` (percent), ``h2``, ``q``, ``q_df``, ``q_pval``,
    ``pi_low``/``pi_high``, ``hk_low``/``hk_high`` (Hartung-Knapp, metafor test="knha"; None for
    FE), ``labels``.

    Other attributes: ``test``, ``pi_method``, ``pi_se`` (sqrt(se^2 + tau^2)), ``se_tau2``,
    ``ddf`` (t degrees of freedom, None for z), ``s2w`` (Knapp-Hartung scaling factor, 1 for z),
    ``iterations`` (Fisher scoring), ``vt`` (typical within-study variance), ``yi``, ``vi``.

    Notes
    -----
    * :math:`I^2 = 100\,\hat\tau^2/(\hat\tau^2 + s^2)`, :math:`H^2 = (\hat\tau^2+s^2)/s^2` with
      :math:`s^2 = (k-1)\sum w_i / ((\sum w_i)^2 - \sum w_i^2)`, :math:`w_i = 1/v_i` (metafor
      rma.uni, i2def="1"); for the FE model :math:`I^2 = \max(0, 100(Q-df)/Q)`, :math:`H^2 = Q/df`.
    * Q-profile intervals are computed on first access (:meth:`confint`, cached), so a fit that
      never asks for them costs nothing.
    """

    test: str
    pi_method: str
    pi_low: float
    pi_high: float
    pi_se: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pval: float
    ddf: int | None
    s2w: float
    iterations: int
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    vt: float = field(repr=False, default=float("nan"))
    _labels: list[str] | None = field(repr=False, default=None)
    measure: str = "GEN"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    _extra_summary = ("test", "pi_method", "se_tau2", "tau", "ddf")

    # ---- derived ----------------------------------------------------------------------
    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def _pooled_label(self) -> str:
        return "FE Model" if self.method == "FE" else "RE Model"

    @property
    def weights(self) -> np.ndarray:
        """Percentage weights 100 w_i / sum w_i with w_i = 1/(v_i + tau^2) (metafor weights.rma.uni)."""
        w = 1.0 / (self.vi + self.tau2)
        return 100.0 * w / w.sum()

    def confint(self, level: float | None = None) -> HeterogeneityCI:
        """Q-profile CIs for tau^2, tau, I^2, H^2 (metafor confint.rma.uni, type="qp"); cached.

        See :func:`analysis.stats.meta.tau2.q_profile`.
        """
        lvl = self.level if level is None else check_level(level)
        if lvl in self._cache:
            return self._cache[lvl]
        if self.method == "FE":
            raise ValueError("model does not contain a random-effects component (method='FE')")
        if self.k < 2:
            raise ValueError("confint needs k >= 2 studies")
        lb, ub, ls, us, null = q_profile(self.yi, self.vi, self.tau2, lvl)
        res = from_tau2_bounds(self.tau2, self.i2, self.h2, self.vt, lb, ub, lvl, "Q-profile", ls, us, null)
        self._cache[lvl] = res
        return res

    def _het_ci(self, name: str, j: int) -> float | None:
        if self.method == "FE" or self.k < 2:
            return None
        return getattr(self.confint(), name)[j]

    @property
    def tau2_low(self) -> float | None:
        """Lower Q-profile bound of tau^2 (None for the FE model or k = 1)."""
        return self._het_ci("tau2", 1)

    @property
    def tau2_high(self) -> float | None:
        return self._het_ci("tau2", 2)

    @property
    def i2_low(self) -> float | None:
        """Lower bound of I^2 (percent) implied by the Q-profile bound of tau^2."""
        return self._het_ci("i2", 1)

    @property
    def i2_high(self) -> float | None:
        return self._het_ci("i2", 2)

    def hartung_knapp(self, adhoc: bool = False) -> tuple[float, float] | None:
        r"""Hartung-Knapp(-Sidik-Jonkman) interval at the model's level (None for FE or k < 2).

        :math:`\hat\mu \pm t_{k-1;1-\alpha/2}\sqrt{s^2_w/\sum w_i}`, :math:`w_i=1/(v_i+\hat\tau^2)`,
        :math:`s^2_w = \sum w_i(y_i-\hat\mu)^2/(k-1)` -- metafor ``test="knha"``; with
        ``adhoc=True`` :math:`s^2_w` is truncated at 1 (metafor ``test="adhoc"``).
        """
        if self.method == "FE" or self.k < 2:
            return None
        key = ("hk", adhoc)
        if key not in self._cache:
            w = 1.0 / (self.vi + self.tau2)
            W = float(w.sum())
            r = self.yi - self.estimate
            rss = dot(w, r * r)
            s2w = 0.0 if rss <= EPS else rss / (self.k - 1)
            if adhoc:
                s2w = max(1.0, s2w)
            half = t_isf((1.0 - self.level) / 2, self.k - 1) * math.sqrt(s2w / W)
            self._cache[key] = (self.estimate - half, self.estimate + half)
        return self._cache[key]

    @property
    def hk_low(self) -> float | None:
        """Lower bound of the Hartung-Knapp interval (metafor test="knha"; None for FE)."""
        hk = self.hartung_knapp()
        return None if hk is None else hk[0]

    @property
    def hk_high(self) -> float | None:
        hk = self.hartung_knapp()
        return None if hk is None else hk[1]

    def predict(self, transf: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, float]:
        """Pooled estimate with CI and PI, optionally back-transformed (metafor predict.rma(transf=...)).

        Returns a dict with ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high`` (and
        ``se`` when not transformed); a decreasing ``transf`` swaps the bounds into order.
        """
        vals = {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "pi_low": self.pi_low, "pi_high": self.pi_high}
        if transf is None:
            return {**vals, "se": self.se}
        return mapped(transf, vals)

    # ---- protocol hooks -------------------------------------------------------------------
    def _study_rows(self):
        z = norm_isf((1.0 - self.level) / 2)
        s = np.sqrt(self.vi)
        return self.yi, self.yi - z * s, self.yi + z * s

    def _refit(self, keep: np.ndarray) -> MetaResult:
        return rma(self.yi[keep], self.vi[keep], method=self.method, test=self.test, level=self.level,
                   pi=self.pi_method, labels=[lab for lab, k in zip(self.labels, keep) if k], measure=self.measure)

    def __str__(self) -> str:
        from .text import rma_text

        return rma_text(self)


def _names(method: str, test: str, pi: str) -> tuple[str, str, str]:
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
    return m, t, pim


def rma(yi, vi, method: str = "REML", test: str = "z", level: float = 0.95, pi: str = "metafor",
        labels=None, measure: str = "GEN") -> MetaResult:
    r"""Random-effects (or common-effect) meta-analysis as metafor ``rma(yi, vi, method=, test=)``.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and their sampling variances (> 0).
    method : {"REML", "ML", "DL", "PM", "HE", "SJ", "FE"}
        tau^2 estimator (:mod:`analysis.stats.meta.tau2`); "FE" = common/equal-effect model,
        tau^2 = 0. "EE"/"CE" are aliases of "FE".
    test : {"z", "knha", "adhoc"}
        "knha" = Hartung-Knapp(-Sidik-Jonkman): the variance of the estimate is multiplied by
        :math:`s^2_w = \sum w_i (y_i-\hat\mu)^2/(k-1)` without truncation and t_{k-1} is used;
        "adhoc" truncates :math:`s^2_w` at 1 (metafor test="adhoc"). "hksj" = "knha".
    level : float
        Confidence level for CI and PI (0.95 or 95).
    pi : {"metafor", "hts"}
        "metafor" (default): :math:`\hat\mu \pm c\sqrt{SE^2+\hat\tau^2}` with c from N(0,1), or from
        t_{k-1} when test is knha/adhoc (metafor predict.rma). "hts": Higgins, Thompson &
        Spiegelhalter (2009) / Riley et al. (2011) with c from t_{k-2} (R meta's default;
        metafor predict(predtype="Riley")).
    labels : sequence, optional
        Study labels (default "1".."k").
    measure : str
        Name of the effect size, carried into the result (metafor's "GEN" by default).

    Returns
    -------
    MetaResult

    Examples
    --------
    >>> res = rma([-0.89, -1.59, -1.35], [0.33, 0.19, 0.42])
    >>> print(res)  # doctest: +SKIP
    """
    m, t, pim = _names(method, test, pi)
    lvl = check_level(level)
    y, v = check_yv(yi, vi)
    k = y.size
    labs = None if labels is None else default_labels(k, labels)

    pre = fe_stats(y, v) if k > 1 else None
    tau2, se_tau2, iters = tau2_and_se(y, v, m, pre)

    # model fitting (weights 1/(v + tau2))
    if tau2 == 0.0 and pre is not None:
        w, W = pre[0], pre[1]
    else:
        w = v + tau2
        np.reciprocal(w, out=w)
        W = float(w.sum())
    mu = dot(w, y) / W
    vb = 1.0 / W
    s2w = 1.0
    ddf = None
    if t in ("knha", "adhoc"):
        if k < 2:
            raise ValueError("test='knha' needs k >= 2 studies")
        if m == "FE":
            warnings.warn("the Knapp and Hartung method is not meant for common-effect (FE) models (metafor warns too)",
                          stacklevel=2)
        r = y - mu
        rss = dot(w, r * r)
        s2w = 0.0 if rss <= EPS else rss / (k - 1)
        if t == "adhoc" and s2w < 1.0:
            s2w = 1.0
        vb *= s2w
        ddf = k - 1
    se = math.sqrt(vb)
    stat = mu / se if se > 0 else float("nan")
    alpha = 1.0 - lvl
    if ddf:
        pval = 2.0 * t_sf(abs(stat), ddf)
        crit = t_isf(alpha / 2, ddf)
    else:
        pval = 2.0 * norm_sf(abs(stat))
        crit = norm_isf(alpha / 2)

    # heterogeneity test and I2/H2 (inverse-variance weights 1/vi)
    if k > 1:
        W0, s2_0, Q = pre[1], pre[2], max(0.0, pre[4])
        Q_df = k - 1
        trP = W0 - s2_0 / W0
        vt = Q_df / trP
        if m == "FE":
            I2 = max(0.0, 100.0 * (Q - Q_df) / Q) if Q > 0 else 0.0
            H2 = Q / Q_df
        else:
            I2 = 100.0 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1.0
        Q_pval = chi2_sf(Q, Q_df)
    else:
        Q, Q_df, Q_pval, I2, H2, vt = 0.0, 0, 1.0, 0.0, 1.0, 0.0

    # prediction interval (metafor predict.rma)
    pi_se = math.sqrt(vb + tau2)
    pcrit = t_isf(alpha / 2, max(k - 2, 1)) if pim == "hts" else crit
    return MetaResult(
        method=m, test=t, level=lvl, pi_method=pim, k=k, estimate=mu, se=se, zval=stat, pval=pval,
        ci_low=mu - crit * se, ci_high=mu + crit * se, pi_low=mu - pcrit * pi_se, pi_high=mu + pcrit * pi_se,
        pi_se=pi_se, tau2=tau2, se_tau2=se_tau2, i2=I2, h2=H2, q=Q, q_df=Q_df, q_pval=Q_pval, ddf=ddf,
        s2w=s2w, iterations=iters, yi=y, vi=v, vt=vt, _labels=labs, measure=measure,
    )

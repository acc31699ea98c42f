r"""Pooled single proportions: escalc transformation + :func:`rma`, or the binomial-normal GLMM.

``pool_proportions(events, n, transform="logit", method="REML")`` reproduces metafor's
``rma(measure="PLO"|"PR"|"PFT"|"PAS", xi, ni)`` followed by ``predict(res, transf=...)``, and
``transform="glmm"`` its ``rma.glmm(measure="PLO")``. The result follows the protocol of
:mod:`.results` with the estimate and every interval back-transformed to the proportion scale.
``crude_proportion`` sums the counts and gives the exact interval, for k < 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .._util import check_counts, check_level, norm_isf
from .effects import back_transform, escalc_proportion, transform_name
from .glmm import GLMMResult, glmm_proportion
from .results import ModelView, ResultMixin, mapped
from .rma import MetaResult, rma

__all__ = ["ProportionResult", "pool_proportions", "CrudeProportion", "crude_proportion"]

_MEASURE = {"logit": "PLO", "raw": "PR", "ft": "PFT", "arcsine": "PAS", "glmm": "PLO"}


@dataclass(eq=False)
class ProportionResult(ModelView):
    """Pooled single proportion.

    Protocol attributes: ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``,
    ``hk_low``, ``hk_high`` are on the proportion scale (metafor predict(transf=...); for "raw"
    not clipped to [0, 1], as in metafor); ``se``, ``zval``, ``pval``, ``level``, ``method``,
    ``weights`` and the heterogeneity quantities (``tau2``, ``i2``, ``q``, ...) are the model's,
    on the transformed scale.

    Attributes
    ----------
    transform : str
        "logit", "raw", "ft", "arcsine" or "glmm".
    measure : str
        metafor's name of the transformation ("PLO", "PR", "PFT", "PAS").
    events, n : numpy.ndarray
    yi, vi : numpy.ndarray
        Per-study transformed values (escalc; for "glmm" the logit escalc values used for I^2).
    model : MetaResult or GLMMResult
        The fit on the transformed scale.
    """

    transform: str
    events: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    model: MetaResult | GLMMResult = field(repr=False)
    estimate: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    pi_low: float | None = None
    pi_high: float | None = None
    hk_low: float | None = None
    hk_high: float | None = None
    _labels: list[str] | None = field(repr=False, default=None)
    _options: dict[str, Any] = field(repr=False, default_factory=dict)

    k = property(lambda self: int(self.events.size))
    measure = property(lambda self: _MEASURE[self.transform])

    def _back(self, value: float) -> float:
        """A value of the transformed scale back on the proportion scale."""
        return float(back_transform(self.transform, self.n)(np.asarray([value]))[0])

    def _study_rows(self):
        """Study rows as metafor's forest(res, transf=...): escalc values and Wald CIs, back-transformed."""
        back = back_transform(self.transform, self.n)
        z = norm_isf((1.0 - self.level) / 2)
        s = np.sqrt(self.vi)
        lo, hi = back(self.yi - z * s), back(self.yi + z * s)
        return back(self.yi), np.minimum(lo, hi), np.maximum(lo, hi)

    def with_test(self, test: str) -> ProportionResult:
        """This pooled GLMM proportion under another test ("z" or "t") without refitting
        (:meth:`GLMMResult.with_test`): equal to ``pool_proportions(..., transform="glmm",
        test=test)`` on the same data and options to the last bit."""
        if self.transform != "glmm":
            raise ValueError("with_test applies to transform='glmm' (other models: pool_proportions(test=...))")
        return _view(self.transform, self.events, self.n, self.yi, self.vi, self.model.with_test(test),
                     self._labels, {**self._options, "test": test})

    def _refit(self, keep: np.ndarray) -> ProportionResult:
        return pool_proportions(self.events[keep], self.n[keep], transform=self.transform,
                                labels=[lab for lab, k in zip(self.labels, keep) if k], **self._options)

    def __str__(self) -> str:
        from .text import proportion_text

        return proportion_text(self)


def pool_proportions(
    events,
    n,
    transform: str = "logit",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    pi: str = "metafor",
    nAGQ: int | str = "auto",
    add: float | None = None,
    labels=None,
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
        Passed to :func:`rma` (for "glmm", test "z" or "t" goes to :func:`glmm_proportion`).
    nAGQ : int or "auto"
        Quadrature points for transform="glmm" ("auto": raised until the log-likelihood settles;
        7 reproduces metafor's default), see :func:`glmm_proportion`.
    add : float, optional
        Continuity correction passed to :func:`escalc_proportion` (default: metafor's, i.e. 1/2
        for logit/raw studies with 0 or n events, none for ft/arcsine).
    labels : sequence, optional
        Study labels (default "1".."k").

    Back-transformations (metafor transf.*): logit -> inverse logit; raw -> identity; ft ->
    transf.ipft.hm with the harmonic mean of n (Miller 1978); arcsine -> sin^2.

    Returns
    -------
    ProportionResult
        ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``, ``hk_low``, ``hk_high``
        on the proportion scale and ``model`` with the same quantities on the transformed scale.
    """
    t = transform_name(transform)
    x, nn = check_counts(events, n)
    level = check_level(level)
    labs = None if labels is None else [str(s) for s in labels]
    options: dict[str, Any] = {"method": method, "test": test, "level": level, "pi": pi, "nAGQ": nAGQ, "add": add}
    if t == "glmm":
        gm = "FE" if str(method).upper() in ("FE", "EE", "CE") else "ML"
        model = glmm_proportion(x, nn, level=level, nAGQ=nAGQ, method=gm, test="t" if test == "t" else "z",
                                labels=labs)
        yi, vi = escalc_proportion(x, nn, "logit")
    else:
        yi, vi = escalc_proportion(x, nn, t, add=add)
        model = rma(yi, vi, method=method, test=test, level=level, pi=pi, labels=labs, measure=_MEASURE[t])
    return _view(t, x, nn, yi, vi, model, labs, options)


def _view(t: str, x, nn, yi, vi, model, labs, options) -> ProportionResult:
    """The model's estimate and intervals back-transformed to the proportion scale."""
    vals = mapped(back_transform(t, nn), {"estimate": model.estimate, "ci_low": model.ci_low, "ci_high": model.ci_high,
                                          "pi_low": model.pi_low, "pi_high": model.pi_high,
                                          "hk_low": model.hk_low, "hk_high": model.hk_high})
    return ProportionResult(transform=t, events=x, n=nn, yi=np.asarray(yi), vi=np.asarray(vi), model=model,
                            _labels=labs, _options=options, **vals)


@dataclass(eq=False)
class CrudeProportion(ResultMixin):
    """Events and patients summed over studies, with the exact (Clopper-Pearson) interval.

    For when k < 3 and no random-effects estimate should be the headline. Protocol attributes:
    ``k``, ``estimate`` (sum of events / sum of patients), ``se`` (binomial sqrt(p(1-p)/N),
    proportion scale), ``ci_low``, ``ci_high`` (Clopper-Pearson, scipy
    ``binomtest(...).proportion_ci(method="exact")``), ``level``, ``method`` ("crude pooled
    count, Clopper-Pearson exact CI"), ``measure`` ("PR"), ``weights`` (each study's share of
    the patients, which is how the crude proportion weights the study proportions); no test
    (``zval``, ``pval`` None), no heterogeneity, prediction or Hartung-Knapp interval (None).

    Attributes: ``events``, ``n`` (per study), ``events_total``, ``n_total``.
    """

    events: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    level: float = 0.95
    _labels: list[str] | None = field(repr=False, default=None)
    method = "crude pooled count, Clopper-Pearson exact CI"
    measure = "PR"
    zval = pval = None
    tau2 = tau2_low = tau2_high = i2 = i2_low = i2_high = h2 = q = q_df = q_pval = None
    pi_low = pi_high = hk_low = hk_high = None
    _pooled_label = "Crude pooled count"

    k = property(lambda self: int(self.events.size))
    events_total = property(lambda self: int(self.events.sum()))
    n_total = property(lambda self: int(self.n.sum()))
    estimate = property(lambda self: self.events_total / self.n_total)
    weights = property(lambda self: 100.0 * self.n / self.n.sum())

    @property
    def se(self) -> float:
        p = self.estimate
        return math.sqrt(p * (1 - p) / self.n_total)

    @property
    def ci_low(self) -> float:
        return exact_ci(self.events_total, self.n_total, self.level)[0]

    @property
    def ci_high(self) -> float:
        return exact_ci(self.events_total, self.n_total, self.level)[1]

    def _study_rows(self):
        bounds = np.array([exact_ci(x, m, self.level) for x, m in zip(self.events, self.n)])
        return self.events / self.n, bounds[:, 0], bounds[:, 1]

    def _refit(self, keep: np.ndarray) -> CrudeProportion:
        return crude_proportion(self.events[keep], self.n[keep], level=self.level,
                                labels=[lab for lab, k in zip(self.labels, keep) if k])

    def __str__(self) -> str:
        return (f"\nCrude pooled count (k = {self.k}): {self.events_total}/{self.n_total} = {self.estimate:.4f}\n"
                f"{100 * self.level:g}% Clopper-Pearson (exact) CI: {self.ci_low:.4f} to {self.ci_high:.4f}\n")


def exact_ci(x: int, n: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson interval of x/n: ``scipy.stats.binomtest(x, n).proportion_ci(level, "exact")``."""
    r = stats.binomtest(int(x), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(r.low), float(r.high)


def crude_proportion(events, n, level: float = 0.95, labels=None) -> CrudeProportion:
    """Sum events and patients over studies; the exact (Clopper-Pearson) CI of the total.

    Ignores between-study variation by construction: it is the honest summary when there are too
    few studies (k < 3) for a random-effects model, labelled as a crude count, not a pooled estimate.

    Parameters
    ----------
    events, n : array_like
        Whole numbers of events and patients per study.
    level : float
    labels : sequence, optional

    Returns
    -------
    CrudeProportion
    """
    x, nn = check_counts(events, n)
    if np.any(x != np.round(x)) or np.any(nn != np.round(nn)):
        raise ValueError("the crude count needs whole numbers of events and patients")
    return CrudeProportion(events=x, n=nn, level=check_level(level),
                           _labels=None if labels is None else [str(s) for s in labels])

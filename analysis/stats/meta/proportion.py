r"""Pooled single proportions: escalc transformation + :func:`rma`, or the binomial-normal GLMM.

``pool_proportions(events, n, transform="logit", method="REML")`` reproduces metafor's
``rma(measure="PLO"|"PR"|"PFT"|"PAS", xi, ni)`` followed by ``predict(res, transf=...)``, and
``transform="glmm"`` its ``rma.glmm(measure="PLO")``. The result follows the protocol of
:mod:`.results` with the estimate and every interval back-transformed to the proportion scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._util import check_counts, check_level, norm_isf
from .effects import back_transform, escalc_proportion, transform_name
from .glmm import GLMMResult, glmm_proportion
from .results import ModelView, mapped
from .rma import MetaResult, rma

__all__ = ["ProportionResult", "pool_proportions"]

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

    def _study_rows(self):
        """Study rows as metafor's forest(res, transf=...): escalc values and Wald CIs, back-transformed."""
        back = back_transform(self.transform, self.n)
        z = norm_isf((1.0 - self.level) / 2)
        s = np.sqrt(self.vi)
        lo, hi = back(self.yi - z * s), back(self.yi + z * s)
        return back(self.yi), np.minimum(lo, hi), np.maximum(lo, hi)

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
    vals = mapped(back_transform(t, nn), {"estimate": model.estimate, "ci_low": model.ci_low, "ci_high": model.ci_high,
                                          "pi_low": model.pi_low, "pi_high": model.pi_high,
                                          "hk_low": model.hk_low, "hk_high": model.hk_high})
    return ProportionResult(transform=t, events=x, n=nn, yi=np.asarray(yi), vi=np.asarray(vi), model=model,
                            _labels=labs, _options=options, **vals)

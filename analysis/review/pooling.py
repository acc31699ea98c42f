"""Pool the studies an analysis selected, with the model the plan names, into one result row.

:class:`Pooled` is the review's result of one outcome under one analysis: the fields of the
results table (``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``, ``tau2`` and
its interval, ``i2`` and its interval, ``hk_low``, ``hk_high``; None where a value does not
apply) plus which studies, patients and events it rests on, the per-study weights, and the
name and description of the model that actually ran, so a caption never names another.

Models (keys of :data:`MODELS`):

* ``glmm`` -- binomial-normal random-intercept model (:func:`analysis.stats.meta.pool_proportions`
  with ``transform="glmm"``, quadrature nodes raised until the likelihood settles); ``tau2_low``,
  ``tau2_high`` are its profile-likelihood interval; ``hk_low``/``hk_high`` hold its interval
  from the t distribution with k - 1 degrees of freedom (metafor ``rma.glmm(test="t")``, which R
  meta uses as the Hartung-Knapp option for GLMMs);
* ``logit_reml`` -- inverse-variance model on logit proportions with REML tau^2; ``hk_*`` is
  the Hartung-Knapp-Sidik-Jonkman interval;
* ``crude_exact`` -- fewer studies than the plan's ``min_k``: summed events over summed patients
  with the exact (Clopper-Pearson) interval (:func:`analysis.stats.meta.crude_proportion`); no
  heterogeneity, no prediction interval;
* ``cloglog_reml`` -- landmark survival on the complementary log-log scale, REML, back-transformed;
* ``none`` -- nothing to pool (no study, or too few for a landmark outcome).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import polars as pl

from ..stats import meta
from ..stats import survival as sv
from . import fit_store
from .plan import MODELS  # noqa: F401 - the model keys and names, part of this module's API

#: the columns of the results table (one row per outcome and analysis), in order
RESULT_COLUMNS = {
    "outcome": pl.String, "analysis": pl.String, "model": pl.String, "k": pl.Int64, "studies": pl.String,
    "patients": pl.Int64, "events": pl.Int64, "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
    "pi_low": pl.Float64, "pi_high": pl.Float64, "tau2": pl.Float64, "tau2_low": pl.Float64,
    "tau2_high": pl.Float64, "i2": pl.Float64, "i2_low": pl.Float64, "i2_high": pl.Float64,
    "hk_low": pl.Float64, "hk_high": pl.Float64,
}
_OPTIONAL = ("pi_low", "pi_high", "tau2", "tau2_low", "tau2_high", "i2", "i2_low", "i2_high", "hk_low", "hk_high")


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


@dataclass(frozen=True)
class Pooled:
    """One outcome under one analysis: what was pooled, how, and the result (see module docstring)."""

    outcome: str
    analysis: str
    model: str
    studies: tuple[str, ...] = ()
    patients: int = 0
    events: int | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    pi_low: float | None = None
    pi_high: float | None = None
    tau2: float | None = None
    tau2_low: float | None = None
    tau2_high: float | None = None
    i2: float | None = None
    i2_low: float | None = None
    i2_high: float | None = None
    hk_low: float | None = None
    hk_high: float | None = None
    weights: tuple[float, ...] | None = None
    level: float = 0.95
    detail: str = ""
    fit: object = field(default=None, repr=False, compare=False)

    @property
    def k(self) -> int:
        return len(self.studies)

    @property
    def description(self) -> str:
        """The model that ran, in words (with its detail, e.g. quadrature nodes)."""
        return MODELS[self.model] + (f"; {self.detail}" if self.detail else "")

    def row(self) -> dict:
        """The results-table row (:data:`RESULT_COLUMNS`)."""
        out = {"outcome": self.outcome, "analysis": self.analysis, "model": self.model, "k": self.k,
               "studies": ", ".join(self.studies), "patients": self.patients, "events": self.events,
               "estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high}
        out.update({name: getattr(self, name) for name in _OPTIONAL})
        return out


def _protocol(fit, names=("estimate", "ci_low", "ci_high") + _OPTIONAL) -> dict:
    return {name: _num(getattr(fit, name, None)) for name in names}


def pool_counts(rows: pl.DataFrame, outcome: str, analysis: str, model: str, min_k: int, level: float) -> Pooled:
    """Pool the ``included`` rows of :func:`analysis.review.selection.select` (crude proportions).

    With fewer than ``min_k`` studies -- or when no study has an event (or every patient has
    it), so that no random-effects model has a finite estimate -- the crude pooled count with
    its exact interval is returned whatever ``model`` says: no random-effects estimate is a
    headline when k is small.
    """
    df = rows.filter(pl.col("included")) if "included" in rows.columns else rows
    base = {"outcome": outcome, "analysis": analysis, "studies": tuple(df["study"]), "level": level,
            "patients": int(df["denominator"].sum()) if df.height else 0,
            "events": int(df["events"].sum()) if df.height else None}
    if df.height == 0:
        return Pooled(model="none", **base)
    events, n = df["events"].to_numpy(), df["denominator"].to_numpy()
    labels = df["study"].to_list()
    e, total = base["events"], base["patients"]
    if df.height < min_k or e in (0, total):
        fit = meta.crude_proportion(events, n, level=level, labels=labels)
        why = (f"{df.height} {'study' if df.height == 1 else 'studies'} (fewer than {min_k})" if df.height < min_k
               else f"no study has {'any events' if e == 0 else 'any patient without the event'}: "
                    "a random-effects model has no finite estimate")
        return Pooled(model="crude_exact", detail=why, fit=fit, **_protocol(fit, ("estimate", "ci_low", "ci_high")), **base)
    if model == "glmm":
        fit, values, detail = _glmm(tuple(int(x) for x in events), tuple(int(x) for x in n), level, tuple(labels))
        values = dict(values)
        weights = None
    elif model == "logit_reml":
        fit = meta.pool_proportions(events, n, transform="logit", method="REML", level=level, labels=labels)
        values, detail = _protocol(fit), ""
        weights = tuple(float(w) for w in fit.weights)
    else:
        raise ValueError(f"unknown model for proportions: {model!r}")
    return Pooled(model=model, weights=weights, detail=detail, fit=fit, **values, **base)


@lru_cache(maxsize=512)
def _glmm(events: tuple[int, ...], n: tuple[int, ...], level: float, labels: tuple[str, ...]):
    """The GLMM fit of these studies, its result-table values and detail, computed once per process.

    Analysis sets often select the same studies (and a leave-one-out or subgroup refit can equal
    another set), and the fit, with its profile-likelihood CI of tau^2, is the same for the same
    input; so it is kept (the fit object is shared: results are frozen).

    When the environment names a folder in ``REVIEW_FIT_STORE``, fits are also kept there, one
    pickle per input, and read back by any process (:mod:`analysis.review.fit_store`): the book
    build sets it so that the pages and the download tables computed in other processes fit each
    model once per change of its input, not once per process.  An entry that cannot be read is
    fitted again.  Tests and nbval leave it unset.
    """
    return fit_store.kept("glmm", lambda: (events, n, float(level), labels),
                          lambda: _fit_glmm(events, n, level, labels))


def _fit_glmm(events: tuple[int, ...], n: tuple[int, ...], level: float, labels: tuple[str, ...]):
    fit = meta.pool_proportions(np.asarray(events), np.asarray(n), transform="glmm", level=level, labels=list(labels))
    t_based = fit.with_test("t")  # the same fit, t-based interval (no second fit)
    values = {**_protocol(fit), "hk_low": _num(t_based.ci_low), "hk_high": _num(t_based.ci_high)}
    detail = fit.model.method.split("(", 1)[-1].rstrip(")").replace("GLMM, ", "")  # e.g. "nAGQ=9, adaptive"
    return fit, values, detail


def pool_landmarks(rows: pl.DataFrame, outcome: str, analysis: str, min_k: int, level: float) -> Pooled:
    """Pool landmark survival rows (``yi``, ``vi`` on the cloglog scale) with REML; back-transformed.

    S = exp(-exp(y)) decreases in y, so every interval's bounds swap on the way back.
    """
    df = rows.filter(pl.col("included")) if "included" in rows.columns else rows
    base = {"outcome": outcome, "analysis": analysis, "studies": tuple(df["study"]), "level": level,
            "patients": int(df["n"].sum()) if df.height else 0}
    if df.height < max(min_k, 2):
        return Pooled(model="none", detail=f"{df.height} {'study' if df.height == 1 else 'studies'} (fewer than {min_k})"
                      if df.height else "", **base)
    fit = meta.rma(df["yi"].to_numpy(), df["vi"].to_numpy(), method="REML", level=level, labels=df["study"].to_list())
    back = lambda y: _num(sv.inv_cloglog(y)) if y is not None else None  # noqa: E731
    swapped = {}
    for lo, hi in (("ci_low", "ci_high"), ("pi_low", "pi_high"), ("hk_low", "hk_high")):
        swapped[lo], swapped[hi] = back(getattr(fit, hi, None)), back(getattr(fit, lo, None))
    het = _protocol(fit, ("tau2", "tau2_low", "tau2_high", "i2", "i2_low", "i2_high"))
    return Pooled(model="cloglog_reml", estimate=back(fit.estimate), weights=tuple(float(w) for w in fit.weights),
                  fit=fit, **swapped, **het, **base)

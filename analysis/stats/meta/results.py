"""The one result protocol of every fitted model, and the frames built from it.

Every fitted model (:func:`~analysis.stats.meta.rma`, pooled proportions including the GLMM,
Mantel-Haenszel, Peto, two-group pooling, subgroup analyses) carries the attributes named in
:data:`PROTOCOL` -- ``None`` where the model does not define a quantity -- so that a caller
never needs ``hasattr``:

``k``, ``estimate``, ``se``, ``zval``, ``pval``, ``ci_low``, ``ci_high``, ``level``, ``method``,
``measure``, ``weights`` (percent, summing to 100; ``None`` for the GLMM), ``tau2``,
``tau2_low``, ``tau2_high``, ``i2``, ``i2_low``, ``i2_high``, ``h2``, ``q``, ``q_df``,
``q_pval``, ``pi_low``, ``pi_high``, ``hk_low``, ``hk_high``, and ``labels``.

The mixin :class:`ResultMixin` derives from them what statsmodels' ``combine_effects``
results give: :meth:`~ResultMixin.summary_frame` (one row per study and the pooled rows),
:meth:`~ResultMixin.forest_frame` (the rows of a forest plot), ``summary`` (one row of every
protocol scalar), the metafor-style ``__str__`` and :meth:`~ResultMixin.print_summary`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["PROTOCOL", "ResultMixin", "Fit", "ModelView", "leave_one_out"]

#: Attributes every result carries (``None`` where the model does not define them).
PROTOCOL: tuple[str, ...] = (
    "k", "estimate", "se", "zval", "pval", "ci_low", "ci_high", "level", "method", "measure",
    "tau2", "tau2_low", "tau2_high", "i2", "i2_low", "i2_high", "h2", "q", "q_df", "q_pval",
    "pi_low", "pi_high", "hk_low", "hk_high", "weights", "labels",
)
_SCALARS = tuple(a for a in PROTOCOL if a not in ("weights", "labels"))
_FRAME_SCHEMA = {"label": pl.String, "kind": pl.String, "estimate": pl.Float64, "ci_low": pl.Float64,
                 "ci_high": pl.Float64, "weight": pl.Float64}


def _float(x) -> float | None:
    return None if x is None else float(x)


class ResultMixin:
    """Frames, text and leave-one-out shared by every result class.

    Subclasses define the protocol attributes and three hooks:

    * ``_study_rows()`` -> (estimates, ci_low, ci_high) arrays per study, on the reporting scale;
    * ``_pooled_label`` -> e.g. "RE Model" (class attribute or property);
    * ``_refit(keep)`` -> the same model fitted to the studies where ``keep`` is True.
    """

    _pooled_label = "Pooled"
    _extra_summary: tuple[str, ...] = ()
    _labels: list[str] | None = None

    @property
    def labels(self) -> list[str]:
        """Study labels as strings (default "1".."k", built on first use)."""
        if self._labels is None:
            self._labels = [str(i) for i in range(1, int(self.k) + 1)]
        return self._labels

    # ---- hooks ----------------------------------------------------------------------------
    def _study_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _refit(self, keep: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def _model_scale(self) -> tuple[float, float]:
        """(estimate, se) on the model scale (overridden where ``estimate`` is back-transformed)."""
        return self.estimate, self.se

    # ---- protocol views -------------------------------------------------------------------
    @property
    def summary(self) -> pl.DataFrame:
        """One row with every scalar of :data:`PROTOCOL` (the review's results-table columns)."""
        names = _SCALARS + tuple(self._extra_summary)
        row = {a: getattr(self, a) for a in names}
        schema = {a: (pl.String if isinstance(row[a], str) else pl.Int64 if a in ("k", "q_df", "ddf") else pl.Float64)
                  for a in names}
        return pl.DataFrame([row], schema=schema)

    def _pooled(self) -> list[dict]:
        rows = [{"label": self._pooled_label, "kind": "pooled", "estimate": self.estimate,
                 "ci_low": self.ci_low, "ci_high": self.ci_high, "weight": 100.0 if self.weights is not None else None}]
        if self.hk_low is not None and getattr(self, "test", "z") == "z":
            rows.append({"label": f"{self._pooled_label} (Hartung-Knapp)", "kind": "pooled", "estimate": self.estimate,
                         "ci_low": self.hk_low, "ci_high": self.hk_high, "weight": None})
        return rows

    def summary_frame(self) -> pl.DataFrame:
        """One row per study (label, estimate, ci_low, ci_high, weight) and the pooled row(s).

        Columns ``label``, ``kind`` ("study" or "pooled"), ``estimate``, ``ci_low``, ``ci_high``
        and ``weight`` (percent). Study intervals are Wald intervals of the study's effect size
        at the model's level, on the scale of ``estimate``. The pooled rows are the primary
        interval and, for random-effects models fitted with a z test, the Hartung-Knapp one.
        """
        est, lo, hi = self._study_rows()
        w = self.weights if self.weights is not None else [None] * len(est)
        rows = [{"label": lab, "kind": "study", "estimate": _float(e), "ci_low": _float(a), "ci_high": _float(b),
                 "weight": _float(x)} for lab, e, a, b, x in zip(self.labels, est, lo, hi, w)]
        return pl.DataFrame(rows + self._pooled(), schema=_FRAME_SCHEMA)

    def forest_frame(self) -> pl.DataFrame:
        """The rows a forest plot needs: studies, pooled row(s) and the prediction interval.

        Columns ``label``, ``kind`` ("study", "pooled" or "prediction"), ``estimate``,
        ``ci_low``, ``ci_high``, ``weight``. The prediction row has the pooled estimate with the
        prediction interval as its bounds (absent when the model has none).
        """
        df = self.summary_frame()
        if self.pi_low is None:
            return df
        pi = pl.DataFrame([{"label": "Prediction interval", "kind": "prediction", "estimate": self.estimate,
                            "ci_low": self.pi_low, "ci_high": self.pi_high, "weight": None}], schema=_FRAME_SCHEMA)
        return pl.concat([df, pi])

    def print_summary(self) -> None:
        """Print the metafor-style text view."""
        print(self)


@dataclass(eq=False)
class Fit(ResultMixin):
    """The fields every directly fitted model stores (rma, GLMM, Mantel-Haenszel, Peto)."""

    method: str
    k: int
    level: float
    estimate: float
    se: float
    zval: float
    pval: float
    ci_low: float
    ci_high: float


def _from_model(name: str) -> property:
    return property(lambda self: getattr(self.model, name), doc=f"``{name}`` of the model (transformed scale).")


class ModelView(ResultMixin):
    """A result reported on a natural scale over a ``model`` fitted on a transformed one.

    ``estimate`` and the intervals are the subclass's (back-transformed); the standard error,
    test, weights and heterogeneity quantities are the model's.
    """

    model: Fit
    se, zval, pval = _from_model("se"), _from_model("zval"), _from_model("pval")
    level, method, weights = _from_model("level"), _from_model("method"), _from_model("weights")
    tau2, tau2_low, tau2_high = _from_model("tau2"), _from_model("tau2_low"), _from_model("tau2_high")
    i2, i2_low, i2_high, h2 = _from_model("i2"), _from_model("i2_low"), _from_model("i2_high"), _from_model("h2")
    q, q_df, q_pval = _from_model("q"), _from_model("q_df"), _from_model("q_pval")

    @property
    def test(self) -> str:
        return getattr(self.model, "test", "z")

    @property
    def _pooled_label(self) -> str:
        return self.model._pooled_label

    def _model_scale(self) -> tuple[float, float]:
        return self.model.estimate, self.model.se


def leave_one_out(result) -> pl.DataFrame:
    """Refit a model leaving out each study in turn (metafor leave1out).

    Works for every result of this package: the model is refitted with the same estimator,
    test, level and options on the k - 1 remaining studies.

    Parameters
    ----------
    result
        A fitted result (e.g. from :func:`rma`, :func:`pool_proportions`, :func:`mantel_haenszel`).

    Returns
    -------
    polars.DataFrame
        One row per omitted study: ``omitted`` (its label), ``k``, ``estimate``, ``se``,
        ``zval``, ``pval``, ``ci_low``, ``ci_high``, ``q``, ``q_pval``, ``tau2``, ``i2``,
        ``h2``, ``pi_low``, ``pi_high`` (on the scale of ``result.estimate``).
    """
    k = int(result.k)
    if k < 2:
        raise ValueError("leave-one-out needs k >= 2 studies")
    cols = ("k", "estimate", "se", "zval", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2",
            "pi_low", "pi_high")
    rows = []
    idx = np.arange(k)
    for i in range(k):
        fit = result._refit(idx != i)
        rows.append({"omitted": result.labels[i], **{c: getattr(fit, c) for c in cols}})
    schema = {"omitted": pl.String, **{c: (pl.Int64 if c == "k" else pl.Float64) for c in cols}}
    return pl.DataFrame(rows, schema=schema)


def mapped(transf: Callable, values: dict[str, float | None]) -> dict[str, float | None]:
    """Apply a monotone back-transformation to estimate and (low, high) pairs, re-ordering pairs."""
    out = {k: (None if v is None else float(np.asarray(transf(np.asarray([v])))[0])) for k, v in values.items()}
    for a, b in (("ci_low", "ci_high"), ("pi_low", "pi_high"), ("hk_low", "hk_high")):
        if out.get(a) is not None and out.get(b) is not None and out[a] > out[b]:
            out[a], out[b] = out[b], out[a]
    return out


def nan_to_none(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x

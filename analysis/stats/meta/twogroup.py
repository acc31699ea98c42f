"""Two-group comparisons across studies: per-study RR/OR/RD (metafor escalc) and their pooling.

``two_group(events1, n1, events2, n2, measure="RR", method="REML")`` pools by inverse variance
(:func:`rma`), Mantel-Haenszel or Peto, and reports the pooled value on the natural scale
(exp for RR/OR).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .._util import check_level, default_labels, norm_isf
from .effects import check_2x2, escalc_2x2, measure_name
from .mh import MHResult, mantel_haenszel, peto
from .results import ModelView, mapped
from .rma import MetaResult, rma

__all__ = ["TwoGroupResult", "two_group"]


def _exp(z):
    return np.exp(np.asarray(z, dtype=float))


@dataclass(eq=False)
class TwoGroupResult(ModelView):
    """Per-study comparison and pooled result.

    Protocol attributes: ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``,
    ``hk_low``, ``hk_high`` on the natural scale (exp for RR/OR; prediction and Hartung-Knapp
    intervals None for MH/Peto); ``k`` and the rest from ``model`` (log scale for RR/OR).

    Attributes
    ----------
    measure : str
    studies : polars.DataFrame
        One row per study: label, events1, n1, events2, n2, yi, vi, ci_low, ci_high (escalc, Wald
        CI), and for RR/OR the exponentiated exp_yi, exp_ci_low, exp_ci_high; tables not in the
        fit (undefined yi) have NaN.
    model : MetaResult or MHResult
        The pooled fit (on the log scale for RR/OR).
    """

    measure: str
    studies: pl.DataFrame = field(repr=False)
    model: MetaResult | MHResult = field(repr=False)
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float | None
    pi_high: float | None
    hk_low: float | None
    hk_high: float | None
    _options: dict = field(repr=False, default_factory=dict)
    _rows: np.ndarray | None = field(repr=False, default=None)

    k = property(lambda self: self.model.k)
    labels = property(lambda self: self.model.labels)

    def _back(self, value: float) -> float:
        """A value of the model scale on the natural scale (exp for RR/OR)."""
        return float(value) if self.measure == "RD" else float(np.exp(value))

    def _study_rows(self):
        est, lo, hi = self.model._study_rows()
        if self.measure == "RD":
            return est, lo, hi
        return _exp(est), _exp(lo), _exp(hi)

    def _refit(self, keep: np.ndarray) -> TwoGroupResult:
        s = self.studies[self._rows[keep]]
        return two_group(s["events1"], s["n1"], s["events2"], s["n2"], self.measure, labels=s["label"], **self._options)

    def __str__(self) -> str:
        from .text import two_group_text

        return two_group_text(self)


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
    :func:`peto`. For the inverse variance fit metafor's escalc defaults apply (1/2 added to
    every cell of tables with a zero cell; double-zero tables kept unless ``drop00=True``);
    tables whose yi is undefined are left out of the fit.

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
        Study labels (default "1".."k").

    Returns
    -------
    TwoGroupResult
    """
    meas = measure_name(measure)
    lvl = check_level(level)
    a, b, c, d = check_2x2(events1, n1, events2, n2)
    yi, vi = escalc_2x2(a, a + b, c, c + d, meas, add=add, to=to, drop00=drop00)
    zc = norm_isf((1 - lvl) / 2)
    se_i = np.sqrt(vi)
    lab = default_labels(a.size, labels)
    cols = {
        "label": lab,
        **{name: (col.astype(np.int64) if np.all(col == np.round(col)) else col)
           for name, col in (("events1", a), ("n1", a + b), ("events2", c), ("n2", c + d))},
        "yi": yi, "vi": vi, "ci_low": yi - zc * se_i, "ci_high": yi + zc * se_i,
    }
    if meas != "RD":
        cols.update(exp_yi=np.exp(yi), exp_ci_low=np.exp(yi - zc * se_i), exp_ci_high=np.exp(yi + zc * se_i))
    studies = pl.DataFrame(cols)
    how = str(method).upper()
    options = {"method": method, "test": test, "level": lvl, "pi": pi, "add": add, "to": to, "drop00": drop00}
    if how in ("MH", "PETO"):
        if how == "PETO" and meas != "OR":
            raise ValueError("Peto's method pools odds ratios: use measure='OR'")
        model = (mantel_haenszel(a, a + b, c, c + d, meas, level=lvl, labels=lab) if how == "MH"
                 else peto(a, a + b, c, c + d, level=lvl, labels=lab))
    else:
        ok = np.isfinite(yi) & np.isfinite(vi)
        model = rma(yi[ok], vi[ok], method=method, test=test, level=lvl, pi=pi,
                    labels=[s for s, o in zip(lab, ok) if o], measure=meas)
    vals = {"estimate": model.estimate, "ci_low": model.ci_low, "ci_high": model.ci_high, "pi_low": model.pi_low,
            "pi_high": model.pi_high, "hk_low": model.hk_low, "hk_high": model.hk_high}
    if meas != "RD":
        vals = mapped(_exp, vals)
    rows = np.arange(a.size) if how in ("MH", "PETO") else np.flatnonzero(ok)
    return TwoGroupResult(measure=meas, studies=studies, model=model, _options=options, _rows=rows, **vals)

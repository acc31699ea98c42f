r"""Kaplan-Meier helpers on lifelines: landmark values, Greenwood sums, log(-log) intervals, plot tables.

The Kaplan-Meier estimate is lifelines' :class:`~lifelines.KaplanMeierFitter` throughout (one
implementation for the package); this module adds what lifelines does not expose directly:
the Greenwood sum at a landmark (from the fitter's ``event_table``), the inversion of a
reported log(-log) interval, the complementary log-log transform for pooling, and plot-ready
step tables.

Conventions
-----------
* Kaplan-Meier estimate :math:`\hat S(t)=\prod_{t_j\le t}(1-d_j/n_j)` (Kaplan & Meier 1958);
  censored observations tied with a death are at risk at that death (lifelines, R ``survival``).
* Greenwood (1926) variance :math:`\widehat{Var}\,\hat S(t)=\hat S(t)^2\sum_{t_j\le t}
  d_j/\{n_j(n_j-d_j)\}`.
* The "log(-log)" (exponential Greenwood) interval of Kalbfleisch & Prentice (1980, §1.3),
  which is lifelines' ``KaplanMeierFitter.confidence_interval_`` and R's ``conf.type="log-log"``:
  with :math:`y=\log(-\log\hat S)` and
  :math:`\widehat{se}(y)=\sqrt{\sum d_j/\{n_j(n_j-d_j)\}}/|\log\hat S|`, the interval is
  :math:`\exp\{-\exp(y\pm z_{1-\alpha/2}\,\widehat{se}(y))\}`.

References
----------
Greenwood M (1926). The natural duration of cancer. Reports on Public Health and Medical
Subjects 33. London: HMSO.
Kalbfleisch JD, Prentice RL (1980). The Statistical Analysis of Failure Time Data. Wiley.
Davidson-Pilon C (2019). lifelines: survival analysis in Python. JOSS 4(40):1317.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .._util import alpha_to_z, number

if TYPE_CHECKING:
    from lifelines import KaplanMeierFitter

__all__ = [
    "loglog_ci",
    "as_arrays",
    "fit_km",
    "km_at",
    "km_at_arrays",
    "km_steps",
    "cloglog",
    "inv_cloglog",
    "var_from_loglog_ci",
    "KMTable",
    "km_table",
]


def loglog_ci(S: float, gw: float, alpha: float = 0.05) -> tuple[float, float]:
    r"""Log(-log) ("exponential Greenwood") confidence interval of a Kaplan-Meier estimate.

    Parameters
    ----------
    S : float
        Kaplan-Meier estimate :math:`\hat S(t)`.
    gw : float
        Greenwood sum :math:`\sum_{t_j\le t} d_j/\{n_j(n_j-d_j)\}` (so that
        :math:`Var(\hat S)=\hat S^2\,gw`).
    alpha : float
        1 - confidence level.

    Returns
    -------
    (ci_low, ci_high) : tuple of float
        :math:`\exp\{-\exp(\log(-\log S) \pm z\sqrt{gw}/|\log S|)\}` (Kalbfleisch & Prentice
        1980), identical to lifelines' ``KaplanMeierFitter.confidence_interval_``.  ``(1, 1)``
        when ``S == 1`` (no event yet, as lifelines reports) and ``(nan, nan)`` when ``S == 0``.
    """
    z = alpha_to_z(alpha)
    if S >= 1.0:
        return 1.0, 1.0
    if S <= 0.0 or not math.isfinite(gw):
        return math.nan, math.nan
    v = math.log(S)
    y = math.log(-v)
    h = z * math.sqrt(gw) / abs(v)
    return math.exp(-math.exp(y + h)), math.exp(-math.exp(y - h))


def as_arrays(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) numpy arrays from a frame with ``time``/``event``, a pair, or a result with ``.data``."""
    inner = getattr(data, "data", None)
    if isinstance(inner, pl.DataFrame) and not isinstance(data, pl.DataFrame):
        data = inner  # a reconstruction result
    if isinstance(data, pl.DataFrame):
        missing = {"time", "event"} - set(data.columns)
        if missing:
            raise ValueError(f"data must have columns time and event; missing {sorted(missing)}")
        t = data["time"].to_numpy().astype(float)
        e = data["event"].to_numpy()
    elif hasattr(data, "columns") and hasattr(data, "__getitem__") and not isinstance(data, tuple):  # pandas
        if not {"time", "event"} <= set(data.columns):
            raise ValueError("data must have columns time and event")
        t = np.asarray(data["time"], dtype=float)
        e = np.asarray(data["event"])
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        t = np.asarray(data[0], dtype=float)
        e = np.asarray(data[1])
    else:
        raise ValueError(f"data: expected a DataFrame with time and event columns or a (time, event) pair; "
                         f"got {type(data).__name__}")
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError("time and event must be 1-d arrays of the same length")
    if len(t) == 0:
        raise ValueError("data has no rows")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError("times must be finite and >= 0")
    e = e.astype(float)
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise ValueError("event must be 0 (censored) or 1 (event)")
    return t, e.astype(np.int64)


def fit_km(data: Any, *, alpha: float = 0.05, label: str | None = None) -> KaplanMeierFitter:
    """Fit a lifelines ``KaplanMeierFitter`` (log(-log) CI) on ``data`` (time, event)."""
    t, e = as_arrays(data)
    kw = {"label": label} if label else {}
    return kaplan_meier(alpha=alpha).fit(t, e, **kw)


def kaplan_meier(**kwargs) -> KaplanMeierFitter:
    """An unfitted lifelines ``KaplanMeierFitter(**kwargs)``; lifelines is imported on first use
    (0.5 s of every fresh interpreter, and most pages reconstruct no curve)."""
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter(**kwargs)


def km_steps(kmf: KaplanMeierFitter, times) -> np.ndarray:
    """S(t) of a fitted ``KaplanMeierFitter`` at each of ``times`` (right-continuous step function)."""
    sf = kmf.survival_function_
    idx = np.searchsorted(sf.index.values, np.asarray(times, dtype=float), side="right") - 1
    vals = sf.iloc[:, 0].values
    return np.where(idx < 0, 1.0, vals[np.clip(idx, 0, None)])


def km_at(kmf: KaplanMeierFitter, t: float) -> tuple[float, float, float]:
    """(S, lower, upper) of a fitted lifelines ``KaplanMeierFitter`` at time ``t`` (right-continuous step)."""
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_
    idx = np.searchsorted(sf.index.values, t, side="right") - 1
    if idx < 0:
        return 1.0, 1.0, 1.0
    return float(sf.iloc[idx, 0]), float(ci.iloc[idx, 0]), float(ci.iloc[idx, 1])


def km_at_arrays(t: np.ndarray, e: np.ndarray, at: float) -> tuple[float, float, int]:
    """Kaplan-Meier estimate (lifelines), Greenwood sum and number at risk at time ``at``."""
    kmf = kaplan_meier().fit(t, e)
    et = kmf.event_table
    rows = et[(et.index.values <= at) & (et["observed"].values > 0)]
    d = rows["observed"].values.astype(float)
    r = rows["at_risk"].values.astype(float)
    gw = float(np.sum(d / (r * (r - d)))) if np.all(r > d) else math.inf
    return float(km_steps(kmf, [at])[0]), gw, int(np.sum(t >= at))


def cloglog(S: float, var_S: float) -> tuple[float, float, str]:
    r"""Complementary log-log transform of a survival probability with the delta-method variance.

    :math:`y=\log(-\log S)`, :math:`Var(y)=Var(S)/(S\log S)^2` (e.g. Kalbfleisch & Prentice 1980;
    Collett, Modelling Survival Data, §2.2).  Returns ``(y, var_y, reason)``: NaNs and a reason
    when S = 1 (no event: -log S = 0), S = 0 (log S undefined) or Var(S) is not a finite
    non-negative number; ``reason`` is ``""`` otherwise.
    """
    S = float(S)
    var_S = float(var_S)
    if not 0.0 <= S <= 1.0 or math.isnan(S):
        raise ValueError(f"S must lie in [0, 1]; got {S}")
    if S >= 1.0:
        return math.nan, math.nan, "S = 1 (no event by t): log(-log S) is undefined"
    if S <= 0.0:
        return math.nan, math.nan, "S = 0 (all had the event by t): log(-log S) is undefined"
    y = math.log(-math.log(S))
    if not math.isfinite(var_S) or var_S < 0:
        return y, math.nan, "variance of S unknown"
    return y, var_S / (S * math.log(S)) ** 2, ""


def inv_cloglog(y: float | np.ndarray) -> float | np.ndarray:
    r"""Back-transform :math:`S=\exp(-\exp(y))` (vectorised)."""
    out = np.exp(-np.exp(np.asarray(y, dtype=float)))
    return float(out) if np.ndim(out) == 0 else out


def var_from_loglog_ci(S: float, ci_low: float, ci_high: float, alpha: float = 0.05) -> float:
    r"""Var(S) implied by a reported log(-log) confidence interval (inverts :func:`loglog_ci`).

    With :math:`y=\log(-\log S)` and the interval :math:`\exp\{-\exp(y\pm z\,se_y)\}`,
    :math:`se_y=\{\log(-\log L)-\log(-\log U)\}/(2z)`, and
    :math:`Var(S)=se_y^2\,(S\log S)^2` (delta method).  When one limit is 0 or 1 (cannot be
    transformed) the other gives :math:`se_y=|\log(-\log B)-y|/z`.  All values are proportions.
    """
    for name, v in (("S", S), ("ci_low", ci_low), ("ci_high", ci_high)):
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1] (proportions); got {v}")
    lower, upper = ci_low, ci_high
    if not lower <= S <= upper:
        raise ValueError(f"the CI {lower}-{upper} does not bracket S = {S}")
    if S <= 0.0 or S >= 1.0:
        return math.nan
    z = alpha_to_z(alpha)
    y = math.log(-math.log(S))
    ok_lo = 0.0 < lower < 1.0
    ok_hi = 0.0 < upper < 1.0
    if ok_lo and ok_hi:
        se = (math.log(-math.log(lower)) - math.log(-math.log(upper))) / (2 * z)
    elif ok_lo:
        se = abs(math.log(-math.log(lower)) - y) / z
    elif ok_hi:
        se = abs(math.log(-math.log(upper)) - y) / z
    else:
        return math.nan
    return se**2 * (S * math.log(S)) ** 2


@dataclass
class KMTable:
    """Plot-ready Kaplan-Meier tables (see :func:`km_table`).

    Attributes
    ----------
    steps : polars.DataFrame
        ``time``, ``survival``, ``ci_low``, ``ci_high``: the right-continuous step function,
        one row at time 0, at every event time and at the last observed time (draw with
        ``interpolate="step-after"``).
    censored : polars.DataFrame
        ``time``, ``survival``: censoring times and the curve height there (tick marks).
    at_risk : polars.DataFrame
        ``time``, ``n_at_risk``: numbers at risk (time >= t) at the chosen times.
    """

    steps: pl.DataFrame
    censored: pl.DataFrame
    at_risk: pl.DataFrame

    def with_label(self, **columns: str) -> KMTable:
        """The same tables with constant columns added (e.g. ``study=..., arm=...``)."""
        add = [pl.lit(v).alias(k) for k, v in columns.items()]
        return KMTable(self.steps.with_columns(add), self.censored.with_columns(add), self.at_risk.with_columns(add))


def km_table(data: Any, at_risk_times: Sequence[float] | None = None, *, alpha: float = 0.05,
             n_ticks: int = 6, **labels: str) -> KMTable:
    """Step function with log(-log) CI band, censor ticks and numbers at risk, for plotting.

    Parameters
    ----------
    data : frame with ``time``/``event``, (time, event) pair, or a reconstruction result
    at_risk_times : sequence of float, optional
        Times of the numbers-at-risk row (default ``n_ticks`` evenly spaced from 0 to the last
        observed time).
    alpha : float
        1 - level of the CI band (lifelines' log(-log) interval).
    **labels : str
        Constant columns to add to the three tables (``study=..., arm=...``).
    """
    tt, ee = as_arrays(data)
    kmf = kaplan_meier(alpha=alpha).fit(tt, ee)
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_
    times_all = sf.index.values.astype(float)
    s_all = sf.iloc[:, 0].values
    ev_times = np.unique(tt[ee == 1])
    keep = np.isin(times_all, ev_times) | (times_all == 0.0) | (times_all == times_all.max())
    steps = pl.DataFrame({"time": times_all[keep], "survival": s_all[keep], "ci_low": ci.iloc[:, 0].values[keep],
                          "ci_high": ci.iloc[:, 1].values[keep]})
    ct = np.sort(tt[ee == 0])
    idx = np.searchsorted(times_all, ct, side="right") - 1
    censored = pl.DataFrame({"time": ct, "survival": s_all[idx]}, schema={"time": pl.Float64, "survival": pl.Float64})
    if at_risk_times is None:
        at_risk_times = np.linspace(0.0, float(tt.max()), max(int(n_ticks), 2))
    art = np.asarray([number(x, "at_risk_times") for x in at_risk_times], dtype=float)
    at_risk = pl.DataFrame({"time": art, "n_at_risk": np.array([int(np.sum(tt >= a)) for a in art], dtype=np.int64)})
    out = KMTable(steps, censored, at_risk)
    return out.with_label(**labels) if labels else out

r"""Landmark survival for pooling: Kaplan-Meier at a time, or a reported estimate, on the cloglog scale.

A landmark :math:`\hat S(t)` with its variance enters :func:`~analysis.stats.meta.rma` as
:math:`y=\log(-\log \hat S)`, :math:`v = Var(\hat S)/(\hat S\log\hat S)^2`; the pooled value
back-transforms with :func:`~analysis.stats.survival.inv_cloglog`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from .._util import number
from .guyot import CurveReconstruction
from .km import as_arrays, cloglog, km_at_arrays, var_from_loglog_ci
from .summary import SummaryReconstruction

__all__ = ["SOURCES", "LandmarkEstimate", "landmark", "landmark_from_reported", "landmark_table"]

#: Provenance labels of a landmark estimate (``source`` of :func:`landmark_table`).
SOURCES = {
    "summary": "reconstructed from reported summaries",
    "curve": "reconstructed from published curve",
    "reported": "reported",
    "data": "individual patient data",
}


@dataclass(frozen=True)
class LandmarkEstimate:
    """Landmark survival and its log(-log) transform for pooling.

    ``yi = log(-log S)``, ``vi = Var(S) / (S log S)^2`` (delta method); ``yi``/``vi`` are NaN
    (with ``note`` saying why) when S is 0 or 1 or the variance is unknown.
    """

    time: float
    S: float
    var_S: float
    se_S: float
    yi: float
    vi: float
    n_at_risk: int | None = None
    source: str = ""
    note: str = ""


def landmark(data: Any, t: float, *, source: str = SOURCES["data"]) -> LandmarkEstimate:
    r"""Kaplan-Meier survival at ``t`` with Greenwood variance, and its log(-log) transform.

    :math:`\hat S(t)=\prod_{t_j\le t}(1-d_j/n_j)`, :math:`Var=\hat S^2\sum d_j/\{n_j(n_j-d_j)\}`
    (Greenwood 1926), :math:`y=\log(-\log\hat S)`, :math:`Var(y)=\sum d_j/\{n_j(n_j-d_j)\}/
    (\log\hat S)^2` -- the same quantities as lifelines' log(-log) CI.  ``data`` is a frame with
    ``time``/``event`` or a reconstruction result.  Times after the last observation give NaN.
    """
    if isinstance(data, SummaryReconstruction) and source == SOURCES["data"]:
        source = SOURCES["summary"]
    if isinstance(data, CurveReconstruction) and source == SOURCES["data"]:
        source = SOURCES["curve"]
    tt, ee = as_arrays(data)
    t = number(t, "t")
    if t > tt.max():
        return LandmarkEstimate(t, math.nan, math.nan, math.nan, math.nan, math.nan, 0, source,
                                f"t = {t:g} is after the last observed time {tt.max():g}")
    S, gw, nrisk = km_at_arrays(tt, ee, t)
    var_S = S * S * gw if math.isfinite(gw) else 0.0
    y, vy, reason = cloglog(S, var_S)
    if reason == "" and S < 1.0:
        vy = gw / math.log(S) ** 2  # exact form, avoids cancellation
    return LandmarkEstimate(t, S, var_S, math.sqrt(var_S), y, vy, nrisk, source, reason)


def landmark_from_reported(S: float | str, ci_low: float | str | None = None, ci_high: float | str | None = None, *,
                           time: float = math.nan, percent: bool | None = None,
                           alpha: float = 0.05) -> LandmarkEstimate:
    """A reported landmark estimate (optionally with its log(-log) CI) as a :class:`LandmarkEstimate`.

    Values may be printed percentages (``"85.7"``) or proportions; Var(S) comes from
    :func:`var_from_loglog_ci`, so ``vi`` = :math:`se_y^2` directly.  Without a CI, ``vi`` is NaN.
    """
    s = number(S, "S")
    lo = None if ci_low is None else number(ci_low, "ci_low")
    hi = None if ci_high is None else number(ci_high, "ci_high")
    if percent is None:
        percent = any(v is not None and v > 1.0 for v in (s, lo, hi))
    k = 100.0 if percent else 1.0
    s = s / k
    if lo is None or hi is None:
        y, vy, reason = cloglog(s, math.nan)
        if s not in (0.0, 1.0):
            reason = "no CI reported: variance unknown"
        return LandmarkEstimate(float(time), s, math.nan, math.nan, y, vy, None, SOURCES["reported"], reason)
    lo, hi = lo / k, hi / k
    var_S = var_from_loglog_ci(s, lo, hi, alpha)
    y, vy, reason = cloglog(s, var_S)
    return LandmarkEstimate(float(time), s, var_S, math.sqrt(var_S) if math.isfinite(var_S) else math.nan, y, vy, None,
                            SOURCES["reported"], reason)


def landmark_table(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Landmark estimates ready for :func:`analysis.stats.meta.rma` (yi, vi), one row per record.

    Each record is a mapping with ``study``, ``arm``, ``outcome``, ``time`` and one of

    * ``result``: a :class:`SummaryReconstruction` (source "reconstructed from reported
      summaries") or :class:`CurveReconstruction` ("reconstructed from published curve");
    * ``data``: a frame with ``time``/``event`` (source "individual patient data" unless a
      ``source`` key says otherwise);
    * ``estimate`` (and optionally ``ci_low``, ``ci_high``, ``percent``, ``alpha``): a reported
      estimate (source "reported"; vi from its log(-log) CI).

    Optional keys: ``time_unit``, ``source`` (overrides), ``note``.

    Returns
    -------
    polars.DataFrame
        ``study``, ``arm``, ``outcome``, ``time``, ``time_unit``, ``S``, ``se_S``, ``yi``
        (log(-log S)), ``vi`` (its variance), ``n_at_risk``, ``source``, ``poolable`` (finite
        ``yi`` and positive finite ``vi``: filter on it before ``rma``) and ``note`` (why not).
        Pooled values back-transform with :func:`inv_cloglog`.
    """
    rows = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise ValueError(f"records[{i}]: expected a mapping; got {type(rec).__name__}")
        missing = [k for k in ("study", "arm", "outcome", "time") if k not in rec]
        if missing:
            raise ValueError(f"records[{i}]: missing key(s) {', '.join(missing)}")
        kinds = [k for k in ("result", "data", "estimate") if k in rec]
        if len(kinds) != 1:
            raise ValueError(f"records[{i}]: give exactly one of result, data or estimate; got {kinds or 'none'}")
        t = number(rec["time"], f"records[{i}].time")
        unit = rec.get("time_unit")
        if "estimate" in rec:
            le = landmark_from_reported(rec["estimate"], rec.get("ci_low"), rec.get("ci_high"), time=t,
                                        percent=rec.get("percent"), alpha=rec.get("alpha", 0.05))
        else:
            obj = rec.get("result", rec.get("data"))
            if "result" in rec and not isinstance(obj, (SummaryReconstruction, CurveReconstruction)):
                raise ValueError(f"records[{i}].result must be a SummaryReconstruction or CurveReconstruction")
            le = landmark(obj, t)
            if unit is None and isinstance(obj, SummaryReconstruction):
                unit = obj.time_unit
        note = "; ".join(x for x in (le.note, rec.get("note", "")) if x)
        poolable = bool(math.isfinite(le.yi) and math.isfinite(le.vi) and le.vi > 0)
        rows.append({"study": str(rec["study"]), "arm": str(rec["arm"]), "outcome": str(rec["outcome"]), "time": t,
                     "time_unit": unit, "S": le.S, "se_S": le.se_S, "yi": le.yi, "vi": le.vi,
                     "n_at_risk": le.n_at_risk, "source": rec.get("source", le.source), "poolable": poolable,
                     "note": note})
    schema = {"study": pl.Utf8, "arm": pl.Utf8, "outcome": pl.Utf8, "time": pl.Float64, "time_unit": pl.Utf8,
              "S": pl.Float64, "se_S": pl.Float64, "yi": pl.Float64, "vi": pl.Float64, "n_at_risk": pl.Int64,
              "source": pl.Utf8, "poolable": pl.Boolean, "note": pl.Utf8}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)

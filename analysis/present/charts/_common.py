"""Helpers shared by the chart builders: input frames, number formats, titles."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ._altair import alt

#: decimals kept in chart data: charts print at most 3 significant digits, and rounding keeps the
#: stored notebook outputs (compared by nbval) independent of last-bit floating-point differences
CHART_DECIMALS = 6


def _frame(df: Any) -> pl.DataFrame:
    """The chart's input as a polars DataFrame with floats rounded to :data:`CHART_DECIMALS`.

    Charts are drawn from polars frames (altair reads them directly): pandas is neither needed nor
    imported (0.3 s of every fresh interpreter).  A pandas DataFrame is still accepted, converted.
    NaN and infinite floats become missing values.
    """
    if not isinstance(df, pl.DataFrame):
        if not _is_pandas(df):
            raise TypeError(f"expected a polars DataFrame, got {type(df).__name__}")
        df = pl.from_pandas(df)
    floats = pl.col(pl.Float32, pl.Float64)
    # NaN and infinities as missing values, as altair writes them from a pandas frame (JSON has neither)
    return df.with_columns(pl.when(floats.is_finite()).then(floats).otherwise(None).round(CHART_DECIMALS))


def _values(rows: Sequence[Mapping[str, Any]]) -> alt.InlineData:
    """Rows built by a chart (lists of dicts of plain values) as inline chart data."""
    return alt.InlineData(values=[dict(r) for r in rows])


def _is_pandas(obj: Any) -> bool:
    """A pandas object, recognised without importing pandas."""
    return type(obj).__module__.split(".")[0] == "pandas"


def _require(df: pl.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; has {list(df.columns)}")


def _fmt(x: float | None, percent: bool, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if percent:
        return f"{100 * x:.{digits}f}%"
    return f"{x:.{digits}f}"


def _est_text(est: float | None, lo: float | None, hi: float | None, percent: bool, digits: int) -> str:
    if lo is None or hi is None or any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
        return _fmt(est, percent, digits)
    return f"{_fmt(est, percent, digits)} [{_fmt(lo, percent, digits)}, {_fmt(hi, percent, digits)}]"


def _title(title: str | None, subtitle: str | None) -> alt.TitleParams | str | None:
    if title is None and subtitle is None:
        return None
    if subtitle is None:
        return title
    return alt.TitleParams(text=title or "", subtitle=subtitle)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else round(f, CHART_DECIMALS)


def _pooled_rows(pooled: Any, estimate: str, lower: str, upper: str) -> list[dict[str, Any]]:
    """Normalise ``pooled`` (dict, list of dicts, or DataFrame) into a list of dicts."""
    if pooled is None:
        return []
    if isinstance(pooled, pl.DataFrame) or _is_pandas(pooled):
        rows = _frame(pooled).to_dicts()
    elif isinstance(pooled, Mapping):
        rows = [dict(pooled)]
    else:
        rows = [dict(r) for r in pooled]
    out = []
    for r in rows:

        def pick(*keys: str, r: Mapping[str, Any] = r) -> Any:
            for k in keys:
                if k in r and r[k] is not None:
                    return r[k]
            return None

        est = _num(pick(estimate, "estimate"))
        if est is None:
            raise ValueError(f"pooled row without an estimate: {r}")
        out.append(
            {
                "estimate": est,
                "ci_lower": _num(pick(lower, "ci_lower")),
                "ci_upper": _num(pick(upper, "ci_upper")),
                "pi_lower": _num(pick("pi_lower")),
                "pi_upper": _num(pick("pi_upper")),
                "label": pick("label"),
                "group": pick("group"),
                "note": pick("note"),
            }
        )
    return out

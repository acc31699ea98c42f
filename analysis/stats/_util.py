"""Helpers shared by the statistics modules: argument checks, critical values, small numerics.

Everything that parses a confidence level lives in :func:`check_level` (one rule for the
whole package: 0.95 or 95, strictly inside (0, 1) after scaling).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = [
    "check_level",
    "alpha_to_z",
    "as_1d",
    "check_yv",
    "check_counts",
    "dot",
    "norm_sf",
    "norm_isf",
    "chi2_sf",
    "t_sf",
    "t_isf",
    "number",
    "decimals_of",
    "default_labels",
]


def check_level(level: float) -> float:
    """A confidence level as a proportion: 0.95 and 95 both give 0.95.

    Raises
    ------
    ValueError
        When the level is not inside (0, 1) after values in (1, 100) are divided by 100.
    """
    try:
        lvl = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a number such as 0.95 (or 95); got {level!r}") from None
    if 1.0 < lvl < 100.0:
        lvl /= 100.0
    if not (0.0 < lvl < 1.0):
        raise ValueError(f"level must lie in (0, 1) (e.g. 0.95) or (0, 100) (e.g. 95); got {level!r}")
    return lvl


def alpha_to_z(alpha: float) -> float:
    """Two-sided normal critical value :math:`z_{1-\\alpha/2}` (lifelines-style ``alpha``)."""
    a = float(alpha)
    if not (0.0 < a < 1.0):
        raise ValueError(f"alpha must lie in (0, 1), e.g. 0.05; got {alpha!r}")
    return norm_isf(a / 2.0)


def norm_sf(x: float) -> float:
    return float(special.ndtr(-x))


def norm_isf(a: float) -> float:
    return float(-special.ndtri(a))


def chi2_sf(q: float, df: float) -> float:
    return float(special.chdtrc(df, q))


def t_sf(x: float, df: float) -> float:
    return float(special.stdtr(df, -x))


def t_isf(a: float, df: float) -> float:
    return float(-special.stdtrit(df, a))


def as_1d(name: str, x) -> np.ndarray:
    """``x`` as a one-dimensional float array (a scalar becomes length 1)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {a.shape}")
    return a


def check_yv(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and sampling variances: same length, k >= 1, finite, variances > 0."""
    y = as_1d("yi", yi)
    v = as_1d("vi", vi)
    if y.shape != v.shape:
        raise ValueError(f"yi and vi have mismatched lengths ({y.size} and {v.size})")
    if y.size < 1:
        raise ValueError("need at least one study (k >= 1)")
    # reductions instead of element-wise masks keep the fast path lean (a sum is NaN/inf iff an element is)
    if not (math.isfinite(float(y.sum())) and math.isfinite(float(v.sum()))):
        raise ValueError("yi and vi must be finite (remove or impute missing studies first)")
    if float(v.min()) <= 0:
        raise ValueError("sampling variances vi must be > 0")
    return y, v


def check_counts(events, n, name_x: str = "events", name_n: str = "n") -> tuple[np.ndarray, np.ndarray]:
    """Events and totals per study: same length, k >= 1, finite, 0 <= events <= n, n > 0."""
    x = as_1d(name_x, events)
    nn = as_1d(name_n, n)
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


def default_labels(k: int, labels=None) -> list[str]:
    """Study labels as strings: the given ones (one per study) or "1".."k"."""
    if labels is None:
        return [str(i) for i in range(1, k + 1)]
    out = [str(x) for x in labels]
    if len(out) != k:
        raise ValueError(f"labels must have one entry per study ({k}); got {len(out)}")
    return out


def dot(a, b) -> float:
    """sum(a*b) for 1-D float arrays, without multithreaded BLAS for long vectors.

    np.vdot (BLAS ddot) is fastest for short vectors, but OpenBLAS runs ddot multithreaded for
    long ones (n > 10000), which was measured up to 1000x slower on a loaded 2-core machine;
    einsum's own loop is used there instead.
    """
    if np.size(a) <= 8192:
        return float(np.vdot(a, b))
    return float(np.einsum("i,i->", a, b))


def number(value: object, what: str) -> float:
    """A finite float from a number or numeric string; ValueError naming ``what`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, got a boolean")
    try:
        x = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what}: {value!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{what}: {value!r} is not finite")
    return x


def decimals_of(value: object) -> int:
    """Decimals of a number as printed: ``"85.7"`` -> 1, ``83`` -> 0, ``0.857`` -> 3 (shortest repr)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, (int, np.integer)):
        return 0
    text = value.strip() if isinstance(value, str) else repr(float(value))
    if "e" in text.lower():
        raise ValueError(f"cannot infer printed decimals of {value!r}; pass decimals= explicitly")
    return len(text.split(".")[1]) if "." in text else 0

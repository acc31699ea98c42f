"""The one vocabulary of time units and their conversions.

A month is 365.25/12 days and a year 365.25 days (the Julian year, the convention of
survival reports that convert between days and months). Every layer of the package takes
its unit names and conversions from here.
"""

from __future__ import annotations

__all__ = ["DAYS", "TIME_UNITS", "convert", "check_unit"]

#: Days per unit.
DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
#: Accepted unit names, shortest first.
TIME_UNITS: tuple[str, ...] = tuple(DAYS)


def check_unit(unit: str) -> str:
    """Return ``unit`` if it is one of :data:`TIME_UNITS`, else raise ValueError naming them."""
    if unit not in DAYS:
        raise ValueError(f"unknown time unit {unit!r}; choose one of {', '.join(TIME_UNITS)}")
    return unit


def convert(x: float | None, unit: str, to: str) -> float | None:
    """``x`` expressed in ``unit`` converted to ``to`` (``None`` stays ``None``).

    Examples
    --------
    >>> convert(12, "months", "days")
    365.25
    """
    if x is None:
        return None
    return x * DAYS[check_unit(unit)] / DAYS[check_unit(to)]

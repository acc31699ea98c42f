"""Which counts a printed percentage allows (the GRIM test), in exact integer arithmetic.

Functions
---------
count_interval(percent, n, decimals=0)
    The counts k of n whose percentage 100·k/n prints as ``percent``, as an interval, in O(1).
counts_from_percent(percent, n, decimals=0)
    The same counts as a list (also re-exported by :mod:`analysis.stats.proportions`).

Standard library only: the data layer checks every printed percentage with
:func:`count_interval` when it loads a study file, and loading the data (as the site build does
to write the bibliography) should not import numpy and scipy for it.

References
----------
Brown NJL, Heathers JAJ (2017). The GRIM test. Social Psychological and Personality Science 8:363-369.
"""

from __future__ import annotations

import numbers
from decimal import Decimal
from fractions import Fraction

__all__ = ["count_interval", "counts_from_percent"]


def _exact_decimal(value) -> Fraction:
    """The number as printed (``23.07`` -> 2307/100), avoiding binary floating point error."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    return Fraction(Decimal(str(value)))


def count_interval(percent: str | Decimal | int, n: int, decimals: int = 0) -> tuple[int, int]:
    r"""The counts ``k`` (0 ≤ k ≤ n) whose percentage 100·k/n prints as ``percent``, as an interval.

    A count is accepted when :math:`|100k/n - p| \le h` with :math:`h = \tfrac12 10^{-d}`,
    boundary included (so both round-half-up and round-half-to-even reporting are covered) --
    the convention of :func:`counts_from_percent` (which lists the same counts).  The accepted
    counts are the integers of
    :math:`[\lceil n(p-h)/100 \rceil, \lfloor n(p+h)/100 \rfloor] \cap [0, n]`, computed with
    exact integer arithmetic in O(1) whatever the size of ``n``.

    Parameters
    ----------
    percent : str, Decimal or int
        The printed percentage, a finite decimal (``"23.07"``).
    n : int
        Denominator, > 0.
    decimals : int
        Number of decimals the percentage was printed with (>= 0).

    Returns
    -------
    (int, int)
        ``(lo, hi)``; the interval is empty when ``lo > hi``.

    Examples
    --------
    >>> count_interval("79", 43)
    (34, 34)
    >>> count_interval("23.07", 13, 2)   # no count of 13 gives 23.07% (3/13 = 23.08%)
    (3, 2)
    """
    if n <= 0 or decimals < 0:
        raise ValueError(f"need n > 0 and decimals >= 0; got n={n}, decimals={decimals}")
    whole, dot, frac = percent.partition(".") if isinstance(percent, str) else ("", "", "")
    if whole.isascii() and whole.isdigit() and (not dot or (frac.isascii() and frac.isdigit())):
        big_p, e = int(whole + frac), len(frac)  # plain notation: p = P / 10**e exactly
    else:
        sign, digits, exponent = Decimal(percent).as_tuple()
        if not isinstance(exponent, int):
            raise ValueError(f"{percent!r} is not a finite number")
        mantissa = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        big_p, e = (mantissa * 10 ** exponent, 0) if exponent >= 0 else (mantissa, -exponent)
    # p -+ h = (2 P 10^d -+ 10^e) / (2 10^(e+d));  k = n (p -+ h) / 100
    scale = 200 * 10 ** (e + decimals)
    centre = 2 * big_p * 10 ** decimals
    lo = -(-(n * (centre - 10 ** e)) // scale)
    hi = (n * (centre + 10 ** e)) // scale
    return max(lo, 0), min(hi, n)


def counts_from_percent(percent, n: int, decimals: int = 0) -> list[int]:
    r"""Every integer count k (0 ≤ k ≤ n) whose percentage 100·k/n prints as ``percent``.

    A count k is accepted when :math:`|100k/n - \text{percent}| \le 0.5\cdot 10^{-d}`, boundary
    included, so that both round-half-up and round-half-to-even reporting are covered
    (GRIM-style consistency check; Brown & Heathers 2017). Arithmetic is exact (fractions).

    Parameters
    ----------
    percent : float, int or str
        Printed percentage, e.g. ``79`` or ``23.07``.
    n : int
        Denominator (number of patients), > 0.
    decimals : int
        Number of decimals the percentage was printed with.

    Returns
    -------
    list of int
        Matching counts in increasing order; empty when none exists.

    Examples
    --------
    >>> counts_from_percent(79, 43)
    [34]
    >>> counts_from_percent(23.07, 13, decimals=2)
    []
    """
    if isinstance(n, float) and not n.is_integer():
        raise ValueError(f"n must be a whole number; got {n}")
    n = int(n)
    if n <= 0:
        raise ValueError(f"n must be > 0; got {n}")
    decimals = int(decimals)
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0; got {decimals}")
    pct = _exact_decimal(percent)
    if pct < 0 or pct > 100:
        raise ValueError(f"percent must lie in [0, 100]; got {percent}")
    lo, hi = count_interval(percent if isinstance(percent, str) else Decimal(str(percent)), n, decimals)
    return list(range(lo, hi + 1))

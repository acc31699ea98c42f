r"""Depth-first enumeration of Kaplan-Meier configurations consistent with a report.

With distinct event times and :math:`n_1>n_2>\dots>n_d` patients at risk at them, the
Kaplan-Meier estimate is :math:`S=\prod_j (n_j-1)/n_j` and the Greenwood sum
:math:`\sum_j 1/\{n_j(n_j-1)\}`: both depend only on the *order* of deaths and censorings,
not on their times. Enumerating orders (pruned: S only decreases) therefore finds every dataset
that reproduces printed landmark estimates and intervals.

* :func:`km_configurations`: at-risk sequences whose estimate prints as a given percentage;
* :class:`ConfigurationSearch`: full configurations (outcome and landmark interval of every
  patient) consistent with landmarks, known deaths, total events and follow-up.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import polars as pl

from .inputs import Landmark, Summary, parse_target
from .km import loglog_ci
from .windows import TimeWindows

__all__ = ["Configuration", "ConfigurationSearch", "km_configurations"]

#: (letters, landmark interval of each position, S at each landmark)
Configuration = tuple[tuple[str, ...], tuple[int, ...], tuple[float, ...]]


def km_configurations(n: int, estimate: float | str, decimals: int | None = None, *,
                      percent: bool | None = None, max_events: int | None = None,
                      max_rows: int = 100_000) -> pl.DataFrame:
    """Kaplan-Meier configurations of ``n`` patients whose estimate prints as ``estimate``.

    Approach.  A tie of :math:`d` deaths among :math:`r` at risk gives
    :math:`1-d/r=\\prod_{i=0}^{d-1}(r-i-1)/(r-i)`, the same product over consecutive sizes
    (and the same Greenwood sum), so every value a Kaplan-Meier curve of ``n`` patients can
    take is a product :math:`\\prod (m-1)/m` over a subset of :math:`\\{1,\\dots,n\\}`, and the
    gaps between consecutive sizes are the censorings it implies (:math:`n-n_1` before the first
    death, :math:`n_j-1-n_{j+1}` between deaths).  The subsets are enumerated depth first with
    pruning (the product only decreases), so this is meant for small ``n`` (up to ~40).
    A value is "k/n" when it equals :math:`k/n` for an integer :math:`k` -- the value of a
    curve without censoring before the landmark.

    Parameters
    ----------
    n : int
        Patients at risk at time 0.
    estimate : str or float
        The printed estimate, e.g. ``"83"`` (percent) or ``"0.857"``.
    decimals : int, optional
        Printed decimals (read from a string ``estimate`` when omitted).
    percent : bool, optional
        Whether ``estimate`` is a percentage (inferred: value > 1).
    max_events : int, optional
        Only configurations with at most this many deaths.
    max_rows : int
        Stop after this many configurations (a ValueError says so).

    Returns
    -------
    polars.DataFrame
        One row per configuration: ``events`` (deaths before the landmark), ``at_risk``
        (list of at-risk sizes at the deaths), ``S`` (exact), ``fraction`` (e.g. ``"5/6"``),
        ``percent`` (100·S), ``censored_before_last_event`` (censorings the configuration
        implies before its last death), ``remaining`` (patients still at risk just after the
        last death, some of whom may be censored before the landmark) and ``k_over_n``
        (S is k/n). Sorted by number of implied censorings, then events.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if n > 60:
        raise ValueError(f"km_configurations enumerates subsets and is meant for small n (<= 60); got n={n}")
    tg = parse_target(Landmark(1.0, estimate, decimals=decimals, percent=percent), 0)
    lo, hi = tg.S - tg.tol, tg.S + tg.tol
    rows: list[tuple[int, list[int], Fraction]] = []
    eps = 1e-12

    def rec(start: int, sizes: list[int], S: float) -> None:
        if lo - eps <= S <= hi + eps:
            exact = Fraction(1)
            for m in sizes:
                exact *= Fraction(m - 1, m)
            if lo <= exact <= hi:
                rows.append((len(sizes), list(sizes), exact))
                if len(rows) > max_rows:
                    raise ValueError(f"more than {max_rows} configurations; narrow with max_events")
        if max_events is not None and len(sizes) >= max_events:
            return
        for m in range(start, 0, -1):
            S2 = S * (m - 1) / m
            if S2 < lo - eps:  # later (smaller) m only decrease S further
                break
            sizes.append(m)
            rec(m - 1, sizes, S2)
            sizes.pop()

    rec(n, [], 1.0)
    out = []
    for d, sizes, S in rows:
        nd = sizes[-1] if sizes else n + 1
        out.append({
            "events": d,
            "at_risk": sizes,
            "S": float(S),
            "fraction": f"{S.numerator}/{S.denominator}",
            "percent": 100.0 * float(S),
            "censored_before_last_event": (n - nd - (d - 1)) if d else 0,
            "remaining": (nd - 1) if d else n,
            "k_over_n": (S * n).denominator == 1,
        })
    schema = {"events": pl.Int64, "at_risk": pl.List(pl.Int64), "S": pl.Float64, "fraction": pl.Utf8,
              "percent": pl.Float64, "censored_before_last_event": pl.Int64, "remaining": pl.Int64,
              "k_over_n": pl.Boolean}
    df = pl.DataFrame(out, schema=schema) if out else pl.DataFrame(schema=schema)
    return df.sort(["censored_before_last_event", "events"])


class ConfigurationSearch:
    """Every configuration consistent with a :class:`Summary` (depth first, pruned).

    A configuration is *consistent* when every reported landmark estimate is reproduced at its
    printed precision and, when ``require_ci`` and a CI is reported, so is the log(-log) CI
    (lifelines' interval); the known death times and the total number of deaths are respected;
    and :class:`TimeWindows` admits an ordered assignment of times.
    """

    def __init__(self, summary: Summary, windows: TimeWindows, *, require_ci: bool = True, alpha: float = 0.05,
                 max_configurations: int = 20_000, max_nodes: int = 2_000_000):
        self.s = summary
        self.w = windows
        self.require_ci = require_ci
        self.alpha = alpha
        self.max_configurations = max_configurations
        self.max_nodes = max_nodes
        self.found: list[Configuration] = []
        self.truncated = False
        self._nodes = 0
        self._letters: list[str] = []
        self._ints: list[int] = []

    def landmark_ok(self, j: int, S: float, gw: float) -> bool:
        """Does (S, Greenwood sum) reproduce landmark j (and its CI when required)?"""
        tg = self.s.targets[j]
        if abs(S - tg.S) > tg.tol:
            return False
        if self.require_ci and tg.ci_low is not None:
            lo, hi = loglog_ci(S, gw, self.alpha)
            if not (abs(lo - tg.ci_low) <= tg.ci_tol and abs(hi - tg.ci_high) <= tg.ci_tol):
                return False
        return True

    def followup_ok_at(self, j: int, pos: int) -> bool:
        """Can landmark j fall after ``pos`` patients, given the follow-up of all patients?"""
        w, n = self.w, self.s.n
        if w.fof != "all" or self.s.followup is None:
            return True
        T = w.T[j]
        if w.fmin is not None and w.fmin > T and pos > 0:
            return False
        if w.fmax is not None and w.fmax <= T and pos < n:
            return False
        if w.fmed is not None:
            if n % 2:
                mid = (n + 1) // 2
                return pos >= mid if w.fmed <= T else pos <= mid - 1
            a = n // 2
            return pos >= a if w.fmed <= T else pos <= a
        return True

    def run(self) -> ConfigurationSearch:
        """Enumerate (resetting any previous run); results in ``found`` and ``truncated``."""
        self.found, self.truncated, self._nodes = [], False, 0
        self._rec(0, self.s.n, 1.0, 0.0, 0, 0, ())
        return self

    def _complete(self, j: int, S: float, gw: float, ne: int, nk: int, lmv: tuple[float, ...]) -> None:
        if nk < len(self.s.known) or (self.s.n_events is not None and ne != self.s.n_events):
            return
        for jj in range(j, self.w.K):
            if not self.landmark_ok(jj, S, gw):
                return
            lmv = lmv + (S,)
        if self.w.windows(self._letters, self._ints) is None:
            return
        self.found.append((tuple(self._letters), tuple(self._ints), lmv))
        if len(self.found) >= self.max_configurations:
            self.truncated = True

    def _push(self, letter: str, j: int, *args) -> None:
        self._letters.append(letter)
        self._ints.append(j)
        self._rec(j, *args)
        self._letters.pop()
        self._ints.pop()

    def _rec(self, j: int, r: int, S: float, gw: float, ne: int, nk: int, lmv: tuple[float, ...]) -> None:
        if self.truncated:
            return
        self._nodes += 1
        if self._nodes > self.max_nodes:
            self.truncated = True
            return
        s, K, m, n_events = self.s, self.w.K, len(self.s.known), self.s.n_events
        pos = len(self._letters)
        if pos == s.n:
            self._complete(j, S, gw, ne, nk, lmv)
            return
        if j < K and S < s.targets[j].S - s.targets[j].tol:
            return
        remaining = s.n - pos
        if (m - nk) > remaining or (n_events is not None and ne + remaining < n_events):
            return
        death = (r - 1, S * (r - 1) / r, gw + (1.0 / (r * (r - 1)) if r > 1 else math.inf), ne + 1)
        if nk < m and self.w.kint[nk] == j:  # a death of known time
            self._push("K", j, *death, nk + 1, lmv)
        if n_events is None or ne + (m - nk) + 1 <= n_events:  # a death of unknown time
            self._push("E", j, *death, nk, lmv)
        if n_events is None or remaining - 1 >= n_events - ne:  # a censoring
            self._push("C", j, r - 1, S, gw, ne, nk, lmv)
        # close landmark interval j
        if j < K and (nk == m or self.w.kint[nk] > j) and self.landmark_ok(j, S, gw) and self.followup_ok_at(j, pos):
            self._rec(j + 1, r, S, gw, ne, nk, lmv + (S,))

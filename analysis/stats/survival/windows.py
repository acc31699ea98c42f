"""Feasible times of the patients of one configuration (the ordering of deaths and censorings).

A configuration lists, in order of observed time, each patient's outcome -- ``K`` (death of
known time), ``E`` (death of unknown time), ``C`` (censoring) -- and the landmark interval it
falls in. :class:`TimeWindows` gives each position its earliest and latest feasible time from
the landmark intervals, the known death times and the follow-up anchors, and places times in
those windows.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

import numpy as np

from .inputs import Summary

__all__ = ["TimeWindows"]


def _gap(a: str, b: str, eps: float) -> float:
    """Minimal gap between consecutive positions with outcomes a then b.

    A patient censored at t is at risk at a death at t, so a censoring may tie with a preceding
    death but a death must come strictly after a preceding censoring.
    """
    if b == "C" or (a == "K" and b == "K"):
        return 0.0
    return eps


class TimeWindows:
    """Time windows of the positions of a configuration, for one checked :class:`Summary`."""

    def __init__(self, summary: Summary):
        self.s = summary
        self.T = [tg.time for tg in summary.targets]
        self.K = len(self.T)
        self.known = list(summary.known)
        self.kint = [bisect_left(self.T, e) for e in self.known]  # landmark interval of each known death
        self.fmin, self.fmed, self.fmax, self.fof = summary.fmin, summary.fmed, summary.fmax, summary.of
        self.H = summary.horizon
        self.eps = 1e-6 * summary.horizon

    def _subset(self, letters: Sequence[str]) -> list[int]:
        """Positions the follow-up statistics describe (all patients, or the censored ones)."""
        return list(range(len(letters))) if self.fof == "all" else [i for i, c in enumerate(letters) if c == "C"]

    def _own_bounds(self, letters, ints) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
        """Landmark interval of each position, and the pinned times of known deaths."""
        n, T, H, eps = len(letters), self.T, self.H, self.eps
        lo, hi = np.empty(n), np.empty(n)
        pins: dict[int, float] = {}
        q = 0
        for i, (c, j) in enumerate(zip(letters, ints)):
            lo[i] = (T[j - 1] + eps) if j > 0 else eps
            hi[i] = min(T[j], H) if j < self.K else H
            if c == "K":
                pins[i] = self.known[q]
                q += 1
        return lo, hi, pins

    def _apply_followup(self, letters, lo: np.ndarray, hi: np.ndarray) -> bool:
        """Pin first / median / last observed time of the described subset; False if it is empty."""
        if self.s.followup is None or (self.fmin is None and self.fmed is None and self.fmax is None):
            return True
        sub = self._subset(letters)
        if not sub:
            return False
        if self.fmin is not None:
            for i in sub:
                lo[i] = max(lo[i], self.fmin)
            hi[sub[0]] = min(hi[sub[0]], self.fmin)
        if self.fmax is not None:
            if self.fof == "all":
                hi[:] = np.minimum(hi, self.fmax)
            else:  # deaths may follow the last censoring
                hi[sub] = np.minimum(hi[sub], self.fmax)
            lo[sub[-1]] = max(lo[sub[-1]], self.fmax)
        if self.fmed is not None:
            ns = len(sub)
            if ns % 2:
                m = sub[(ns - 1) // 2]
                lo[m] = max(lo[m], self.fmed)
                hi[m] = min(hi[m], self.fmed)
            else:
                a, b = sub[ns // 2 - 1], sub[ns // 2]
                hi[a] = min(hi[a], self.fmed)
                lo[b] = max(lo[b], self.fmed)
        return True

    def windows(self, letters: Sequence[str], ints: Sequence[int], extra_pins: Mapping[int, float] | None = None):
        """Earliest/latest feasible time of each position; ``None`` when infeasible.

        Own bounds of position i: its landmark interval (T[j-1], T[j]] (the last interval is
        (T[K-1], horizon]); a known death is pinned at its time; follow-up anchors pin the
        first / median / last observed time of the described subset and bound the others.
        Running maxima (minima) propagate the order, with a strict gap before a death that
        follows a censoring.
        """
        n = len(letters)
        lo, hi, pins = self._own_bounds(letters, ints)
        if not self._apply_followup(letters, lo, hi):
            return None
        for i, v in {**pins, **(extra_pins or {})}.items():
            if not (lo[i] - 1e-9 <= v <= hi[i] + 1e-9):
                return None
            lo[i] = hi[i] = v
        for i in range(1, n):
            lo[i] = max(lo[i], lo[i - 1] + _gap(letters[i - 1], letters[i], self.eps))
        for i in range(n - 2, -1, -1):
            hi[i] = min(hi[i], hi[i + 1] - _gap(letters[i], letters[i + 1], self.eps))
        if np.any(lo > hi + 1e-9):
            return None
        if self.even_median(letters) is not None and not extra_pins:
            if self.delta_range(letters, lo, hi) is None:
                return None
        return lo, hi

    def even_median(self, letters) -> tuple[int, int] | None:
        """The two middle positions when the median describes an even number of patients."""
        if self.fmed is None:
            return None
        sub = self._subset(letters)
        if not sub or len(sub) % 2:
            return None
        return sub[len(sub) // 2 - 1], sub[len(sub) // 2]

    def delta_range(self, letters, lo, hi) -> tuple[float, float] | None:
        """Half-gaps d >= 0 with (median - d, median + d) inside the two middle windows (even count)."""
        a, b = self.even_median(letters)  # type: ignore[misc]
        med = self.fmed
        d_lo = max(0.0, med - hi[a], lo[b] - med)
        d_hi = min(med - lo[a], hi[b] - med)
        return (d_lo, d_hi) if d_lo <= d_hi + 1e-9 else None

    def _even_anchors(self, ints, lo, hi) -> dict[float, float]:
        """Pinned positions, and each landmark crossed between two consecutive positions (at i + 0.5)."""
        n = len(ints)
        anchors: dict[float, float] = {float(i): float(lo[i]) for i in range(n) if hi[i] - lo[i] <= 1e-12}
        for i in range(n - 1):
            if ints[i + 1] > ints[i] and (i + 0.5) not in anchors:
                crossed = [self.T[j] for j in range(ints[i], ints[i + 1]) if self.T[j] <= self.H]
                if crossed:
                    anchors[i + 0.5] = 0.5 * (crossed[0] + crossed[-1])
        if 0.0 not in anchors:
            anchors[-1.0] = 0.0
        if float(n - 1) not in anchors:
            anchors[float(n)] = self.H
        return anchors

    def assign_times(self, letters, ints, mode: str, rng: np.random.Generator) -> np.ndarray:
        """Times for every position: interpolated between anchors ("even") or uniform in the windows ("random")."""
        w = self.windows(letters, ints)
        assert w is not None
        lo, hi = w
        n = len(letters)
        ab = self.even_median(letters)
        if ab is not None:  # even count: the two middle times straddle the median symmetrically
            d_lo, d_hi = self.delta_range(letters, lo, hi)  # type: ignore[misc]
            delta = min(max(d_lo, self.H / (2.0 * (n + 1))), d_hi)
            w2 = self.windows(letters, ints, {ab[0]: self.fmed - delta, ab[1]: self.fmed + delta})
            if w2 is not None:
                lo, hi = w2
        if mode == "random":
            t = np.sort(rng.uniform(lo, hi))
        else:
            anchors = self._even_anchors(ints, lo, hi)
            xs = sorted(anchors)
            t = np.interp(np.arange(n), xs, [anchors[x] for x in xs])
        t = np.clip(t, lo, hi)
        for i in range(1, n):
            t[i] = min(max(t[i], t[i - 1] + _gap(letters[i - 1], letters[i], self.eps)), hi[i])
        return t

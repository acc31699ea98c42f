"""Individual patient data from a digitised Kaplan-Meier curve (Guyot et al. 2012).

:func:`guyot` runs the iterative algorithm of the paper's R code and ``IPDfromKM::getIPD`` in
named steps: :func:`clean_digitised` (monotone cleaning), :func:`check_risk_table`,
:func:`split_intervals` (points by risk-table interval), :class:`GuyotFit` (censoring and deaths
per interval, then the last interval and the total events), :func:`to_ipd` (one row per patient).

Hand-written: lifelines and scipy have no reconstruction from published curves; the R
package IPDfromKM (Liu, Zhou & Lee 2021) is the reference implementation followed here.

References
----------
Guyot P, Ades AE, Ouwens MJ, Welton NJ (2012). Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol 12:9.
Liu N, Zhou Y, Lee JJ (2021). IPDfromKM: reconstruct individual patient data from published
Kaplan-Meier survival curves. BMC Med Res Methodol 21:111.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from .._util import number
from .km import fit_km, km_steps

if TYPE_CHECKING:
    from lifelines import KaplanMeierFitter

__all__ = ["CurveReconstruction", "guyot", "clean_digitised", "check_risk_table", "split_intervals", "GuyotFit", "to_ipd"]


def clean_digitised(times: Sequence[float], survival: Sequence[float], *, percent: bool | None = None,
                    tolerance: float = 0.02) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Monotone cleaning of digitised Kaplan-Meier coordinates (as ``IPDfromKM::preprocess``).

    Steps: drop rows with a missing value; rescale percentages (``percent=None`` infers it from a
    maximum above 1.5); sort by time (ties: higher survival first); clip survival
    to [0, 1] and times to >= 0 (values beyond ``tolerance`` raise a ValueError); make survival
    non-increasing (each value replaced by the running minimum -- digitisers produce small
    upward steps); keep at most two readings per time (the top and the bottom of a vertical
    drop); drop exact duplicates; prepend (0, 1) when the curve does not start there.

    Returns
    -------
    (time, survival, notes)
    """
    t = np.asarray(times, dtype=float)
    s = np.asarray(survival, dtype=float)
    if t.shape != s.shape or t.ndim != 1:
        raise ValueError(f"times and survival must be 1-d of equal length; got {t.shape} and {s.shape}")
    notes: list[str] = []
    ok = np.isfinite(t) & np.isfinite(s)
    if not ok.all():
        notes.append(f"dropped {int((~ok).sum())} row(s) with a missing value")
        t, s = t[ok], s[ok]
    if len(t) < 2:
        raise ValueError("a digitised curve needs at least 2 points")
    if percent is None:
        percent = bool(s.max() > 1.5)
    if percent:
        s = s / 100.0
        notes.append("survival given in percent; divided by 100")
    if s.min() < -tolerance or s.max() > 1.0 + tolerance:
        bad = int(np.flatnonzero((s < -tolerance) | (s > 1 + tolerance))[0])
        raise ValueError(f"survival {s[bad]:g} (point {bad}) is outside [0, 1] beyond the tolerance {tolerance:g}")
    scale_t = max(float(np.max(np.abs(t))), 1e-12)
    if t.min() < -tolerance * scale_t:
        raise ValueError(f"negative time {t.min():g} beyond the tolerance")
    t = np.clip(t, 0.0, None)
    s = np.clip(s, 0.0, 1.0)
    order = np.lexsort((-s, t))
    t, s = t[order], s[order]
    s_mono = np.minimum.accumulate(s)
    n_up = int(np.sum(s_mono < s - 1e-12))
    if n_up:
        notes.append(f"{n_up} upward step(s) removed (survival made non-increasing)")
    s = s_mono
    # at most two readings per time (first = top, last = bottom), and no exact duplicates
    same_prev = np.r_[False, t[1:] == t[:-1]]
    same_next = np.r_[t[1:] == t[:-1], False]
    dup = np.r_[False, (t[1:] == t[:-1]) & (s[1:] == s[:-1])]
    keep = ~(same_prev & same_next) & ~dup
    t, s = t[keep], s[keep]
    if not (t[0] == 0.0 and s[0] == 1.0):
        t, s = np.r_[0.0, t], np.r_[1.0, s]
        notes.append("added the point (0, 1)")
    return t, s, notes


@dataclass
class CurveReconstruction:
    """Result of :func:`guyot`.

    Attributes
    ----------
    data : polars.DataFrame
        Reconstructed IPD: ``time``, ``event`` (0/1).
    kmf : lifelines.KaplanMeierFitter
        Fitted on ``data``.
    points : polars.DataFrame
        The cleaned digitised points: ``time``, ``survival`` (digitised), ``reconstructed``
        (KM of ``data``), ``events``, ``censored``, ``n_at_risk`` (estimated at each point).
    intervals : polars.DataFrame
        Per risk-table interval: ``time`` (risk time), ``n_at_risk`` (published),
        ``n_at_risk_hat`` (reconstructed), ``censored``, ``events``.
    notes : list of str
        Cleaning and reconstruction remarks.
    """

    data: pl.DataFrame
    kmf: KaplanMeierFitter
    points: pl.DataFrame
    intervals: pl.DataFrame
    notes: list[str]
    total_events: int | None = None
    label: str | None = None

    @property
    def precision(self) -> dict[str, float]:
        """RMSE, mean and max absolute difference between digitised and reconstructed survival."""
        d = (self.points["reconstructed"] - self.points["survival"]).to_numpy()
        return {"rmse": float(np.sqrt(np.mean(d**2))), "mean_abs": float(np.mean(np.abs(d))),
                "max_abs": float(np.max(np.abs(d)))}

    @property
    def summary(self) -> pl.DataFrame:
        """The interval table (published vs reconstructed numbers at risk, events, censorings)."""
        return self.intervals

    def __str__(self) -> str:
        p = self.precision
        e = int(self.data["event"].sum())
        lines = [f"CurveReconstruction{f' [{self.label}]' if self.label else ''}: n={self.data.height}, events={e}"
                 f"{f' (reported {self.total_events})' if self.total_events is not None else ''}, "
                 f"max |S_digitised - S_reconstructed| = {p['max_abs']:.4f}, RMSE = {p['rmse']:.4f}",
                 str(self.intervals)]
        lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover
        return self.__str__()

    def print_summary(self) -> None:
        print(self)


def check_risk_table(risk_times, n_at_risk, n_start, total_events) -> tuple[np.ndarray, np.ndarray, int | None]:
    """The published risk table as arrays (validated), trailing zeros trimmed to one."""
    if risk_times is None and n_at_risk is None:
        if n_start is None:
            raise ValueError("give the risk table (risk_times, n_at_risk) or at least n_start")
        risk_times, n_at_risk = [0.0], [n_start]
    elif risk_times is None or n_at_risk is None:
        raise ValueError("give both risk_times and n_at_risk")
    rt = np.asarray([number(x, "risk_times") for x in risk_times], dtype=float)
    nr_in = list(n_at_risk)
    for i, x in enumerate(nr_in):
        if isinstance(x, bool) or float(x) != int(float(x)) or float(x) < 0:
            raise ValueError(f"n_at_risk[{i}] must be a non-negative integer; got {x!r}")
    nr = np.asarray([int(float(x)) for x in nr_in], dtype=np.int64)
    if len(rt) != len(nr) or len(rt) == 0:
        raise ValueError(f"risk_times and n_at_risk must have the same non-zero length; got {len(rt)} and {len(nr)}")
    if rt[0] != 0.0:
        raise ValueError(f"the risk table must start at time 0 (got {rt[0]:g})")
    if np.any(np.diff(rt) <= 0):
        raise ValueError("risk_times must be strictly increasing")
    if np.any(np.diff(nr) > 0):
        i = int(np.flatnonzero(np.diff(nr) > 0)[0]) + 1
        raise ValueError(f"numbers at risk increase at risk_times[{i}] = {rt[i]:g} ({nr[i - 1]} -> {nr[i]})")
    if nr[0] < 1:
        raise ValueError("no patient at risk at time 0")
    if n_start is not None and int(n_start) != nr[0]:
        raise ValueError(f"n_start {n_start} differs from the number at risk at time 0 ({nr[0]})")
    if total_events is not None:
        if isinstance(total_events, bool) or int(total_events) != total_events or not 0 <= total_events <= nr[0]:
            raise ValueError(f"total_events must be an integer in [0, {nr[0]}]; got {total_events!r}")
        total_events = int(total_events)
    nint = len(nr)  # trim trailing zeros of the risk table to a single zero (IPDfromKM)
    while nint > 1 and nr[nint - 1] == 0 and nr[nint - 2] == 0:
        nint -= 1
    return rt[:nint], nr[:nint], total_events


def split_intervals(t: np.ndarray, S: np.ndarray, rt: np.ndarray, nr: np.ndarray, notes: list[str]):
    """Points by risk-table interval: returns (t, S, lower, upper, t_risk, n_risk) for the used intervals.

    A point is added at each risk time inside the curve (the step value carried forward), so that
    no published number at risk is lost to an interval without digitised points; intervals that
    still hold no point are dropped (IPDfromKM::preprocess).
    """
    add = [x for x in rt if 0.0 < x <= t[-1] and not np.any(t == x)]
    if add:
        vals = [S[np.searchsorted(t, x, side="right") - 1] for x in add]
        tt_, ss_ = np.r_[t, add], np.r_[S, vals]
        o = np.lexsort((-ss_, tt_))
        t, S = tt_[o], ss_[o]
        notes.append(f"added {len(add)} point(s) at risk-table times (survival carried forward)")
    pint = np.searchsorted(rt, t, side="right") - 1
    used = np.unique(pint)
    if len(used) < len(rt):
        dropped = [f"{rt[i]:g}" for i in range(len(rt)) if i not in set(used.tolist())]
        notes.append(f"risk-table time(s) {', '.join(dropped)} have no digitised point in their interval and were not used")
    lower = np.array([int(np.flatnonzero(pint == i)[0]) for i in used])
    upper = np.array([int(np.flatnonzero(pint == i)[-1]) for i in used])
    return t, S, lower, upper, rt[used], nr[used].astype(np.int64).copy()


class GuyotFit:
    """Censorings and deaths at the digitised points, interval by interval (Guyot 2012, steps 2-3)."""

    def __init__(self, t, S, lower, upper, n_risk, notes: list[str]):
        self.t, self.S, self.lower, self.upper = t, S, lower, upper
        self.n_risk = n_risk
        self.notes = notes
        self.n_int = len(lower)
        n_t = len(t)
        self.n_censor = np.zeros(self.n_int, dtype=np.int64)
        self.n_hat = np.full(n_t + 1, n_risk[0] + 1, dtype=np.int64)
        self.cen = np.zeros(n_t, dtype=np.int64)
        self.d = np.zeros(n_t, dtype=np.int64)
        self.KM = np.ones(n_t)
        self.last_i = np.zeros(self.n_int, dtype=np.int64)

    def spread(self, nc: int, a: int, b_time_idx: int, seg_lo: int, seg_hi: int) -> None:
        """Censor nc patients evenly over [t[a], t[b_time_idx]] and count them per point segment."""
        t, cen = self.t, self.cen
        cen[seg_lo:seg_hi + 1] = 0
        if nc <= 0:
            return
        ct = t[a] + np.arange(1, nc + 1) * (t[b_time_idx] - t[a]) / (nc + 1)
        # segment k holds t[k] <= c < t[k+1] (IPDfromKM); the last point takes the rest
        k = np.searchsorted(t[seg_lo:seg_hi + 1], ct, side="right") - 1
        np.add.at(cen, seg_lo + np.clip(k, 0, seg_hi - seg_lo), 1)

    def events(self, i: int) -> int:
        """Deaths and numbers at risk for the points of interval i; returns the last-event index."""
        S, d, KM, n_hat, cen = self.S, self.d, self.KM, self.n_hat, self.cen
        n_hat[self.lower[i]] = self.n_risk[i]
        last = int(self.last_i[i])
        for k in range(self.lower[i], self.upper[i] + 1):
            if k == 0:
                d[k] = 0
                KM[k] = 1.0
            else:
                nk = n_hat[k]
                dk = 0
                if KM[last] > 0 and nk > 0:
                    dk = min(max(int(round(nk * (1.0 - S[k] / KM[last]))), 0), int(nk))
                d[k] = dk
                KM[k] = KM[last] * (1.0 - dk / nk) if nk > 0 else KM[last]
            n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
            if n_hat[k + 1] < 0:
                n_hat[k + 1] = 0
                cen[k] = max(n_hat[k] - d[k], 0)
            if d[k] != 0:
                last = k
        return last

    def fit_interval(self, i: int, t_risk) -> None:
        """Adjust the censoring of interval i until the next published number at risk is met."""
        lower, upper, n_risk, n_hat, nc = self.lower, self.upper, self.n_risk, self.n_hat, self.n_censor
        s0 = self.S[lower[i]]
        nc[i] = int(round(n_risk[i] * self.S[lower[i + 1]] / s0 - n_risk[i + 1])) if s0 > 0 else 0
        it = 0
        last = int(self.last_i[i])
        while ((n_hat[lower[i + 1]] > n_risk[i + 1] and nc[i] < n_risk[i] - n_risk[i + 1] + 1)
               or (n_hat[lower[i + 1]] < n_risk[i + 1] and nc[i] > 0)):
            if nc[i] <= 0:
                nc[i] = 0
            self.spread(int(nc[i]), lower[i], lower[i + 1], lower[i], upper[i])
            last = self.events(i)
            nc[i] += n_hat[lower[i + 1]] - n_risk[i + 1]
            it += 1
            if it > 10_000:  # pragma: no cover - safety net
                self.notes.append(f"interval {i}: censoring adjustment did not converge")
                break
        if n_hat[lower[i + 1]] != n_risk[i + 1]:
            if n_hat[lower[i + 1]] < n_risk[i + 1]:
                self.notes.append(f"interval starting {t_risk[i]:g}: reconstructed {int(n_hat[lower[i + 1]])} at risk at "
                                  f"{t_risk[i + 1]:g} instead of {int(n_risk[i + 1])} (published); continued from the "
                                  "reconstruction")
            n_risk[i + 1] = n_hat[lower[i + 1]]
        self.last_i[i + 1] = last

    def _last_interval(self) -> None:
        li, lower, upper = self.n_int - 1, self.lower, self.upper
        if self.n_censor[li] <= 0:
            self.n_censor[li] = 0
        self.spread(int(self.n_censor[li]), lower[li], upper[li], lower[li], max(upper[li] - 1, lower[li]))
        if upper[li] > lower[li]:
            self.cen[upper[li]] = 0
        self.events(li)

    def fit_last_interval(self, total_events: int | None) -> None:
        """Average censoring rate of the earlier intervals; then match the reported total events."""
        li, t, lower, upper, d = self.n_int - 1, self.t, self.lower, self.upper, self.d
        if self.n_int > 1:
            denom = t[upper[li - 1]] - t[lower[0]]
            rate_c = int(self.n_censor[:li].sum())
            self.n_censor[li] = min(int(round(rate_c * (t[upper[li]] - t[lower[li]]) / denom)) if denom > 0 else 0,
                                    int(self.n_risk[li]))
        else:
            self.n_censor[li] = 0
        self._last_interval()
        if total_events is None:
            return
        sumdL = int(d[: upper[li - 1] + 1].sum()) if self.n_int > 1 else 0
        if self.n_int > 1 and sumdL >= total_events:
            d[lower[li]: upper[li] + 1] = 0
            self.cen[lower[li]: upper[li]] = 0
            self.n_hat[lower[li] + 1: upper[li] + 2] = self.n_risk[li]
            if sumdL > total_events:
                self.notes.append(f"{sumdL} events reconstructed before the last risk time exceed the reported total "
                                  f"({total_events}); no events or censoring placed in the last interval")
            return
        sumd = int(d[: upper[li] + 1].sum())
        it = 0
        while sumd > total_events or (sumd < total_events and self.n_censor[li] > 0):
            self.n_censor[li] += sumd - total_events
            self._last_interval()
            sumd = int(d[: upper[li] + 1].sum())
            it += 1
            if it > 10_000:  # pragma: no cover
                self.notes.append("total-events adjustment did not converge")
                break
        if sumd != total_events:
            self.notes.append(f"reconstructed {sumd} events; reported total {total_events} could not be matched exactly")


def to_ipd(fit: GuyotFit, n0: int) -> pl.DataFrame:
    """Deaths at the digitised times; censorings midway between the bracketing points; the rest at the end."""
    t = fit.t
    ev_t = np.repeat(t, fit.d)
    c_t = np.repeat(np.r_[(t[:-1] + t[1:]) / 2.0, t[-1]], fit.cen)
    rest = max(int(fit.n_hat[len(t)]), 0)
    tt = np.r_[ev_t, c_t, np.full(rest, t[-1])]
    ee = np.r_[np.ones(len(ev_t), dtype=np.int64), np.zeros(len(c_t) + rest, dtype=np.int64)]
    if len(tt) != n0:
        fit.notes.append(f"reconstruction holds {len(tt)} patients, not the {n0} at risk at time 0")
    order = np.lexsort((-ee, tt))
    return pl.DataFrame({"time": tt[order], "event": ee[order]}, schema={"time": pl.Float64, "event": pl.Int64})


def guyot(times: Sequence[float], survival: Sequence[float], risk_times: Sequence[float] | None = None,
          n_at_risk: Sequence[int] | None = None, total_events: int | None = None, *,
          n_start: int | None = None, percent: bool | None = None, label: str | None = None,
          alpha: float = 0.05) -> CurveReconstruction:
    """Individual patient data from a digitised Kaplan-Meier curve (Guyot et al. 2012).

    The iterative algorithm of Guyot, Ades, Ouwens & Welton (BMC Med Res Methodol 2012;12:9),
    as in the paper's R code and ``IPDfromKM::getIPD`` (Liu, Zhou & Lee 2021):

    1. The digitised points are cleaned (:func:`clean_digitised`) and split into risk-table
       intervals: point k belongs to interval i when ``risk_times[i] <= t_k < risk_times[i+1]``
       (intervals without points are dropped, as in ``IPDfromKM::preprocess``).
    2. For each interval i but the last, the number censored is first approximated by
       :math:`c_i = \\mathrm{round}(n_i S(t_{i+1})/S(t_i) - n_{i+1})`, spread evenly in time over
       the interval; deaths at each point are :math:`d_k = \\mathrm{round}(\\hat n_k(1 - S_k /
       \\hat S_{last}))` and :math:`\\hat n_{k+1} = \\hat n_k - d_k - c_k`; :math:`c_i` is corrected by
       :math:`\\hat n_{i+1} - n_{i+1}` until the reconstructed number at risk at the start of the
       next interval equals the published one.
    3. The last interval gets the average censoring rate of the earlier ones
       (:math:`\\sum c_i \\times` its length / the length of the earlier intervals), and, when the
       total number of events is reported, its censoring is adjusted until the total matches.
    4. Deaths are placed at the digitised times; censorings at the midpoint between the
       digitised points that bracket them; patients left at the end are censored at the last
       digitised time.

    Parameters
    ----------
    times, survival : sequence of float
        Digitised coordinates (survival as proportion, or percent -- inferred or ``percent``).
    risk_times, n_at_risk : sequence, optional
        The published risk table; ``risk_times[0]`` must be 0.  Without it give ``n_start``
        (then no censoring is assumed unless ``total_events`` is given, as in Guyot's paper).
    total_events : int, optional
        Total number of events reported.
    n_start : int, optional
        Patients at time 0 when no risk table is published.
    label : str, optional
        Label of the fitted ``KaplanMeierFitter``.

    Returns
    -------
    CurveReconstruction
    """
    t, S, notes = clean_digitised(times, survival, percent=percent)
    rt, nr, total_events = check_risk_table(risk_times, n_at_risk, n_start, total_events)
    t, S, lower, upper, t_risk, n_risk = split_intervals(t, S, rt, nr, notes)
    n_risk_pub = n_risk.copy()
    fit = GuyotFit(t, S, lower, upper, n_risk, notes)
    for i in range(fit.n_int - 1):
        fit.fit_interval(i, t_risk)
    fit.fit_last_interval(total_events)
    data = to_ipd(fit, int(n_risk_pub[0]))
    kmf = fit_km(data, alpha=alpha, label=label)
    points = pl.DataFrame({"time": t, "survival": S, "reconstructed": km_steps(kmf, t), "events": fit.d,
                           "censored": fit.cen, "n_at_risk": fit.n_hat[: len(t)]})
    intervals = pl.DataFrame({
        "time": t_risk,
        "n_at_risk": n_risk_pub,
        "n_at_risk_hat": np.array([fit.n_hat[lower[i]] for i in range(fit.n_int)], dtype=np.int64),
        "censored": np.array([int(fit.cen[lower[i]: upper[i] + 1].sum()) for i in range(fit.n_int)], dtype=np.int64),
        "events": np.array([int(fit.d[lower[i]: upper[i] + 1].sum()) for i in range(fit.n_int)], dtype=np.int64),
    })
    return CurveReconstruction(data=data, kmf=kmf, points=points, intervals=intervals, notes=notes,
                               total_events=total_events, label=label)

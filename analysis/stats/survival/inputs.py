"""What a report says about survival, as typed inputs of :func:`~analysis.stats.survival.from_summary`.

:class:`Landmark` (a printed Kaplan-Meier estimate with its interval) and :class:`FollowUp`
(median and range of observed times), their parsing into exact targets with the tolerance
their printed precision implies, and the checks of a whole summary (:func:`parse_summary`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._util import decimals_of, number

__all__ = ["Landmark", "FollowUp", "Target", "Summary", "parse_target", "parse_followup", "parse_summary"]


@dataclass(frozen=True)
class Landmark:
    """A reported Kaplan-Meier landmark estimate, e.g. "2-year OS 85.7 % (95 % CI 33.4-97.9)".

    Parameters
    ----------
    time : float
        Landmark time (in the unit of the reconstruction, e.g. 730 days or 12 months).
    estimate : str or float
        The estimate *as printed*: ``"85.7"`` (percent) or ``"0.857"`` (proportion).  Strings
        are preferred because their decimals give the precision; a float is read through its
        shortest ``repr`` (``83.0`` would mean one decimal, so pass ``"83"`` or ``decimals=0``).
    ci_low, ci_high : str or float, optional
        Reported confidence limits, same scale as ``estimate``.
    decimals : int, optional
        Printed decimals of the estimate (and CI) when they cannot be read from strings.
    percent : bool, optional
        Whether the printed numbers are percentages; inferred (any value > 1) when ``None``.
    label : str, optional
        Free text, e.g. ``"2-year OS"``.
    """

    time: float
    estimate: float | str
    ci_low: float | str | None = None
    ci_high: float | str | None = None
    decimals: int | None = None
    percent: bool | None = None
    label: str | None = None


@dataclass(frozen=True)
class FollowUp:
    """Reported follow-up: median and range of observed times.

    Parameters
    ----------
    median, minimum, maximum : float, optional
        Median and range of the observed times, in the unit of the reconstruction.  A
        "median OS of 169 days (range ...)" that is a descriptive median of observed times
        (not a Kaplan-Meier median) is entered here too.
    of : {"all", "censored"}
        ``"all"``: the statistics describe every patient's observed time (death or last
        contact) -- the usual "median follow-up 540 days (range 70-1290)" where the minimum is
        an early death.  ``"censored"``: they describe survivors (censored patients) only.
    """

    median: float | str | None = None
    minimum: float | str | None = None
    maximum: float | str | None = None
    of: Literal["all", "censored"] = "all"


@dataclass(frozen=True)
class Target:
    """A landmark as an exact target: S (proportion) within ``tol``, CI within ``ci_tol``."""

    time: float
    S: float
    tol: float
    text: str
    ci_low: float | None
    ci_high: float | None
    ci_tol: float
    scale: float
    label: str


def parse_target(lm: Landmark | Mapping | Sequence, i: int) -> Target:
    """A :class:`Target` from a Landmark, a mapping of its fields or a tuple (time, estimate[, ci_low, ci_high])."""
    if isinstance(lm, Mapping):
        lm = Landmark(**lm)
    elif not isinstance(lm, Landmark):
        if not isinstance(lm, Sequence) or not 2 <= len(lm) <= 4:
            raise ValueError(f"landmarks[{i}]: expected a Landmark, a mapping or a tuple "
                             f"(time, estimate[, ci_low, ci_high]); got {lm!r}")
        lm = Landmark(*lm)
    what = f"landmarks[{i}]"
    t = number(lm.time, f"{what}.time")
    if t <= 0:
        raise ValueError(f"{what}.time must be > 0; got {lm.time!r}")
    est = number(lm.estimate, f"{what}.estimate")
    lo = None if lm.ci_low is None else number(lm.ci_low, f"{what}.ci_low")
    hi = None if lm.ci_high is None else number(lm.ci_high, f"{what}.ci_high")
    if (lo is None) != (hi is None):
        raise ValueError(f"{what}: give both CI limits or neither")
    percent = lm.percent
    if percent is None:
        percent = any(v is not None and v > 1.0 for v in (est, lo, hi))
    scale = 100.0 if percent else 1.0
    dec = lm.decimals if lm.decimals is not None else decimals_of(lm.estimate)
    tol = 0.5 * 10.0 ** (-dec) / scale + 1e-9
    ci_tol = tol
    if lo is not None:
        cdec = lm.decimals if lm.decimals is not None else max(decimals_of(lm.ci_low), decimals_of(lm.ci_high))
        ci_tol = 0.5 * 10.0 ** (-cdec) / scale + 1e-9
    S = est / scale
    if not 0.0 <= S <= 1.0:
        raise ValueError(f"{what}.estimate {lm.estimate!r} is outside [0, {scale:g}]")
    if lo is not None:
        lo, hi = lo / scale, hi / scale
        if not (0.0 <= lo <= S + tol and S - tol <= hi <= 1.0):
            raise ValueError(f"{what}: CI {lm.ci_low!r}-{lm.ci_high!r} does not bracket the estimate {lm.estimate!r}")
    return Target(t, S, tol, str(lm.estimate), lo, hi, ci_tol, scale, lm.label or f"S({t:g})")


def parse_followup(fu: FollowUp | Mapping | Sequence | None) -> FollowUp | None:
    """A :class:`FollowUp` from itself, a mapping of its fields or (median, minimum, maximum)."""
    if fu is None or isinstance(fu, FollowUp):
        return fu
    if isinstance(fu, Mapping):
        return FollowUp(**fu)
    if isinstance(fu, Sequence) and len(fu) == 3:
        return FollowUp(*fu)
    raise ValueError(f"followup: expected FollowUp, a mapping or (median, minimum, maximum); got {fu!r}")


@dataclass(frozen=True)
class Summary:
    """A checked summary: n, sorted targets, known death times, total events, follow-up, horizon."""

    n: int
    targets: tuple[Target, ...]
    known: tuple[float, ...]
    n_events: int | None
    followup: FollowUp | None
    horizon: float

    @property
    def fmin(self) -> float | None:
        return None if self.followup is None or self.followup.minimum is None else number(self.followup.minimum, "followup.minimum")

    @property
    def fmed(self) -> float | None:
        return None if self.followup is None or self.followup.median is None else number(self.followup.median, "followup.median")

    @property
    def fmax(self) -> float | None:
        return None if self.followup is None or self.followup.maximum is None else number(self.followup.maximum, "followup.maximum")

    @property
    def of(self) -> str:
        return "all" if self.followup is None else self.followup.of

    @property
    def horizon_is_reported(self) -> bool:
        return self.followup is not None and self.followup.maximum is not None and self.followup.of == "all"


def _check_n(n, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{what} must be a positive integer; got {n!r}")
    return int(n)


def _check_followup(fu: FollowUp, known: list[float]) -> None:
    if fu.of not in ("all", "censored"):
        raise ValueError(f"followup.of must be 'all' or 'censored'; got {fu.of!r}")
    vals = {k: number(getattr(fu, k), f"followup.{k}") for k in ("minimum", "median", "maximum")
            if getattr(fu, k) is not None}
    if any(v < 0 for v in vals.values()):
        raise ValueError(f"follow-up times must be >= 0; got {vals}")
    order = [vals[k] for k in ("minimum", "median", "maximum") if k in vals]
    if order != sorted(order):
        raise ValueError(f"follow-up must satisfy minimum <= median <= maximum; got {vals}")
    if "maximum" in vals and fu.of == "all" and known and known[-1] > vals["maximum"]:
        raise ValueError(f"known event time {known[-1]:g} is after the maximum follow-up {vals['maximum']:g}")


def _horizon(targets, known, fu: FollowUp | None, horizon) -> float:
    """Latest possible time: the maximum follow-up of all patients, or the given/assumed horizon."""
    latest = max([tg.time for tg in targets] + list(known) + [1.0])
    if fu is not None and fu.maximum is not None and fu.of == "all":
        if horizon is not None:
            raise ValueError("give horizon only when followup.maximum (of all patients) is not reported")
        H = number(fu.maximum, "followup.maximum")
    elif fu is not None and fu.maximum is not None:  # maximum of the censored: deaths may come later
        fmax = number(fu.maximum, "followup.maximum")
        H = max(fmax, number(horizon, "horizon") if horizon is not None else 1.5 * max(latest, fmax))
    elif horizon is not None:
        H = number(horizon, "horizon")
        if H < latest:
            raise ValueError(f"horizon {H:g} is before the latest landmark / event time {latest:g}")
    else:
        H = 1.5 * latest
    if fu is not None and fu.median is not None and number(fu.median, "followup.median") > H:
        raise ValueError("followup.median is after the horizon")
    return H


def parse_summary(n, landmarks: Iterable, event_times: Iterable[float], n_events, followup, horizon,
                  max_n: int = 60) -> Summary:
    """Check every input of a reconstruction from summaries and return it as a :class:`Summary`."""
    n = _check_n(n)
    if n > max_n:
        raise ValueError(f"from_summary enumerates configurations and is meant for small series (n <= {max_n}); "
                         f"got n={n}. Use guyot() on a digitised curve for larger studies.")
    targets = sorted((parse_target(lm, i) for i, lm in enumerate(landmarks)), key=lambda t: t.time)
    for a, b in zip(targets, targets[1:]):
        if a.time == b.time:
            raise ValueError(f"two landmarks at the same time {a.time:g}")
        if b.S > a.S + a.tol + b.tol:
            raise ValueError(f"landmark estimates increase with time ({a.text} at {a.time:g}, {b.text} at {b.time:g})")
    known = sorted(number(e, f"event_times[{i}]") for i, e in enumerate(event_times))
    if any(e <= 0 for e in known):
        raise ValueError(f"event_times must be > 0; got {known}")
    if len(known) > n:
        raise ValueError(f"{len(known)} known event times for n={n} patients")
    if n_events is not None:
        if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or not len(known) <= n_events <= n:
            raise ValueError(f"n_events must be an integer between the number of known event times ({len(known)}) "
                             f"and n ({n}); got {n_events!r}")
        n_events = int(n_events)
    fu = parse_followup(followup)
    if fu is not None:
        _check_followup(fu, known)
    H = _horizon(targets, known, fu, horizon)
    return Summary(n, tuple(targets), tuple(known), n_events, fu, H)

"""Survival reconstruction: from reported summaries and published curves to pseudo-patient data.

The reports of donor-derived CD19 CAR-T after allo-HSCT give survival only as summaries
(a Kaplan-Meier landmark estimate with its CI, medians with ranges, event counts, follow-up)
or, sometimes, as a published Kaplan-Meier curve with numbers at risk.  This module turns
them into pseudo individual-patient data (IPD: one row per patient, ``time`` and ``event``),
fits them with :class:`lifelines.KaplanMeierFitter`, and derives landmark estimates on the
complementary log-log scale for pooling (``analysis.meta.rma``).

Functions
---------
from_summary(n, landmarks, *, event_times, n_events, followup, ...)
    Exact reconstruction from reported summaries for small series; enumerates every
    ordering of deaths and censorings consistent with the report and returns the envelope.
km_configurations(n, estimate, decimals=None)
    Every Kaplan-Meier configuration (at-risk sizes at the event times) of ``n`` patients
    whose estimate prints as the reported percentage.
guyot(times, survival, risk_times, n_at_risk, total_events=None)
    The iterative algorithm of Guyot et al. (2012) on a digitised curve.
clean_digitised(times, survival)
    Monotone cleaning of digitised coordinates (sort, clip, add (0, 1), non-increasing).
load_curve(path) / load_curves(directory)
    Validated reader of the digitised-curve format documented in ``data/curves/README.md``.
landmark(data, t), landmark_from_reported(S, lower, upper), landmark_table(records)
    Landmark survival with Greenwood variance and its log(-log) transform for pooling.
cloglog(S, var_S), inv_cloglog(y), var_from_loglog_ci(S, lower, upper)
    The transform, its inverse and the inversion of a reported log(-log) interval.
km_table(data, at_risk_times=None)
    Step function, CI band, censor ticks and numbers at risk for plotting.

Conventions
-----------
* Kaplan-Meier estimate :math:`\\hat S(t)=\\prod_{t_j\\le t}(1-d_j/n_j)` (Kaplan & Meier 1958);
  censored observations tied with a death are at risk at that death (lifelines, R ``survival``).
* Greenwood (1926) variance :math:`\\widehat{Var}\\,\\hat S(t)=\\hat S(t)^2\\sum_{t_j\\le t}
  d_j/\\{n_j(n_j-d_j)\\}`.
* The "log(-log)" (exponential Greenwood) interval of Kalbfleisch & Prentice (1980, §1.3),
  which is lifelines' ``KaplanMeierFitter.confidence_interval_`` and R's ``conf.type="log-log"``:
  with :math:`y=\\log(-\\log\\hat S)` and
  :math:`\\widehat{se}(y)=\\sqrt{\\sum d_j/\\{n_j(n_j-d_j)\\}}/|\\log\\hat S|`, the interval is
  :math:`\\exp\\{-\\exp(y\\pm z_{1-\\alpha/2}\\,\\widehat{se}(y))\\}`.

References
----------
Guyot P, Ades AE, Ouwens MJ, Welton NJ (2012). Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol 12:9.
Liu N, Zhou Y, Lee JJ (2021). IPDfromKM: reconstruct individual patient data from published
Kaplan-Meier survival curves. BMC Med Res Methodol 21:111 (R package ``IPDfromKM``).
Greenwood M (1926). The natural duration of cancer. Reports on Public Health and Medical
Subjects 33. London: HMSO.
Kalbfleisch JD, Prentice RL (1980). The Statistical Analysis of Failure Time Data. Wiley.
Davidson-Pilon C (2019). lifelines: survival analysis in Python. JOSS 4(40):1317.
"""

from __future__ import annotations

import csv
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from lifelines import KaplanMeierFitter
from scipy.stats import norm

__all__ = [
    "Landmark",
    "FollowUp",
    "SummaryReconstruction",
    "CurveReconstruction",
    "DigitisedCurve",
    "LandmarkEstimate",
    "KMTable",
    "SOURCES",
    "from_summary",
    "km_configurations",
    "guyot",
    "clean_digitised",
    "load_curve",
    "load_curves",
    "landmark",
    "landmark_from_reported",
    "landmark_table",
    "cloglog",
    "inv_cloglog",
    "var_from_loglog_ci",
    "loglog_ci",
    "km_table",
    "fit_km",
    "km_at",
]

#: ``source`` labels of :func:`landmark_table`.
SOURCES = {
    "summary": "reconstructed from reported summaries",
    "curve": "reconstructed from published curve",
    "reported": "reported",
    "data": "individual patient data",
}

TIME_UNITS = ("days", "weeks", "months", "years")


# =========================================================================== small helpers


def _z(alpha: float) -> float:
    if not (0.0 < float(alpha) < 1.0):
        raise ValueError(f"alpha must lie in (0, 1), e.g. 0.05; got {alpha!r}")
    return float(norm.ppf(1.0 - float(alpha) / 2.0))


def _decimals_of(value: object) -> int:
    """Decimals of a number as printed: ``"85.7"`` -> 1, ``83`` -> 0, ``0.857`` -> 3 (shortest repr)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, (int, np.integer)):
        return 0
    text = value.strip() if isinstance(value, str) else repr(float(value))
    if "e" in text.lower():
        raise ValueError(f"cannot infer printed decimals of {value!r}; pass decimals= explicitly")
    return len(text.split(".")[1]) if "." in text else 0


def _number(value: object, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, got a boolean")
    try:
        x = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what}: {value!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{what}: {value!r} is not finite")
    return x


def loglog_ci(S: float, gw: float, alpha: float = 0.05) -> tuple[float, float]:
    """Log(-log) ("exponential Greenwood") confidence interval of a Kaplan-Meier estimate.

    Parameters
    ----------
    S : float
        Kaplan-Meier estimate :math:`\\hat S(t)`.
    gw : float
        Greenwood sum :math:`\\sum_{t_j\\le t} d_j/\\{n_j(n_j-d_j)\\}` (so that
        :math:`Var(\\hat S)=\\hat S^2\\,gw`).
    alpha : float
        1 - confidence level.

    Returns
    -------
    (lower, upper) : tuple of float
        :math:`\\exp\\{-\\exp(\\log(-\\log S) \\pm z\\sqrt{gw}/|\\log S|)\\}` (Kalbfleisch & Prentice
        1980), identical to lifelines' ``KaplanMeierFitter.confidence_interval_``.  ``(1, 1)``
        when ``S == 1`` (no event yet, as lifelines reports) and ``(nan, nan)`` when ``S == 0``.
    """
    z = _z(alpha)
    if S >= 1.0:
        return 1.0, 1.0
    if S <= 0.0 or not math.isfinite(gw):
        return math.nan, math.nan
    v = math.log(S)
    y = math.log(-v)
    h = z * math.sqrt(gw) / abs(v)
    return math.exp(-math.exp(y + h)), math.exp(-math.exp(y - h))


# =========================================================================== reported points


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
    lower, upper : str or float, optional
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
    lower: float | str | None = None
    upper: float | str | None = None
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
class _Target:
    time: float
    S: float
    tol: float
    text: str
    lower: float | None
    upper: float | None
    ci_tol: float
    scale: float
    label: str


def _target(lm: Landmark | Mapping | Sequence, i: int) -> _Target:
    if isinstance(lm, Mapping):
        lm = Landmark(**lm)
    elif not isinstance(lm, Landmark):
        if not isinstance(lm, Sequence) or not 2 <= len(lm) <= 4:
            raise ValueError(f"landmarks[{i}]: expected a Landmark, a mapping or a tuple "
                             f"(time, estimate[, lower, upper]); got {lm!r}")
        lm = Landmark(*lm)
    what = f"landmarks[{i}]"
    t = _number(lm.time, f"{what}.time")
    if t <= 0:
        raise ValueError(f"{what}.time must be > 0; got {lm.time!r}")
    est = _number(lm.estimate, f"{what}.estimate")
    lo = None if lm.lower is None else _number(lm.lower, f"{what}.lower")
    hi = None if lm.upper is None else _number(lm.upper, f"{what}.upper")
    if (lo is None) != (hi is None):
        raise ValueError(f"{what}: give both CI limits or neither")
    percent = lm.percent
    if percent is None:
        percent = any(v is not None and v > 1.0 for v in (est, lo, hi))
    scale = 100.0 if percent else 1.0
    dec = lm.decimals if lm.decimals is not None else _decimals_of(lm.estimate)
    tol = 0.5 * 10.0 ** (-dec) / scale + 1e-9
    ci_tol = tol
    if lo is not None:
        cdec = lm.decimals if lm.decimals is not None else max(_decimals_of(lm.lower), _decimals_of(lm.upper))
        ci_tol = 0.5 * 10.0 ** (-cdec) / scale + 1e-9
    S = est / scale
    if not 0.0 <= S <= 1.0:
        raise ValueError(f"{what}.estimate {lm.estimate!r} is outside [0, {scale:g}]")
    if lo is not None:
        lo, hi = lo / scale, hi / scale
        if not (0.0 <= lo <= S + tol and S - tol <= hi <= 1.0):
            raise ValueError(f"{what}: CI {lm.lower!r}-{lm.upper!r} does not bracket the estimate {lm.estimate!r}")
    label = lm.label or f"S({t:g})"
    return _Target(t, S, tol, str(lm.estimate), lo, hi, ci_tol, scale, label)


# =========================================================================== km_configurations


def km_configurations(n: int, estimate: float | str, decimals: int | None = None, *,
                      percent: bool | None = None, max_events: int | None = None,
                      max_rows: int = 100_000) -> pl.DataFrame:
    """Kaplan-Meier configurations of ``n`` patients whose estimate prints as ``estimate``.

    Approach.  With distinct event times and :math:`n_1>n_2>\\dots>n_d` patients at risk at
    them, the Kaplan-Meier estimate after the last of them is
    :math:`S=\\prod_j (n_j-1)/n_j`.  A tie of :math:`d` deaths among :math:`r` at risk gives
    :math:`1-d/r=\\prod_{i=0}^{d-1}(r-i-1)/(r-i)`, the same product over consecutive sizes
    (and the same Greenwood sum), so every value a Kaplan-Meier curve of ``n`` patients can
    take is such a product over a subset of :math:`\\{1,\\dots,n\\}`, and the gaps between
    consecutive sizes are the censorings it implies (:math:`n-n_1` before the first death,
    :math:`n_j-1-n_{j+1}` between deaths).  The subsets are enumerated depth first with
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
    tg = _target(Landmark(1.0, estimate, decimals=decimals, percent=percent), 0)
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
        cens = (n - nd - (d - 1)) if d else 0
        out.append({
            "events": d,
            "at_risk": sizes,
            "S": float(S),
            "fraction": f"{S.numerator}/{S.denominator}",
            "percent": 100.0 * float(S),
            "censored_before_last_event": cens,
            "remaining": (nd - 1) if d else n,
            "k_over_n": (S * n).denominator == 1,
        })
    schema = {"events": pl.Int64, "at_risk": pl.List(pl.Int64), "S": pl.Float64, "fraction": pl.Utf8,
              "percent": pl.Float64, "censored_before_last_event": pl.Int64, "remaining": pl.Int64,
              "k_over_n": pl.Boolean}
    df = pl.DataFrame(out, schema=schema) if out else pl.DataFrame(schema=schema)
    return df.sort(["censored_before_last_event", "events"])


# =========================================================================== from_summary


@dataclass
class SummaryReconstruction:
    """Result of :func:`from_summary` (lifelines-style: fitted model plus tidy tables).

    Attributes
    ----------
    data : polars.DataFrame
        Pseudo IPD, columns ``time`` (float) and ``event`` (int 0/1), sorted by time.
    kmf : lifelines.KaplanMeierFitter
        Fitted on ``data`` (log(-log) CI at ``alpha``).
    checks : polars.DataFrame
        Every reported figure against the reconstruction: ``item``, ``time``, ``reported``,
        ``reconstructed``, ``reported_lower``, ``reported_upper``, ``reconstructed_lower``,
        ``reconstructed_upper``, ``tolerance``, ``match``.  Survival values are proportions.
    envelope : polars.DataFrame
        ``time``, ``lower``, ``upper`` (range of S(t) over every dataset consistent with the
        summary: all consistent configurations, each with its deaths as early / as late as the
        reported constraints allow) and ``reconstructed`` (the chosen dataset's S(t)).
    n_consistent : int
        Number of consistent configurations (orderings of deaths and censorings relative to
        the landmarks, known deaths and follow-up anchors); a lower bound when ``truncated``.
    notes : list of str
        The choices made (implied censoring, placement of unknown times, seed, ...).
    configurations : polars.DataFrame
        One row per consistent configuration (``config``, ``pattern``, ``events``,
        ``censored_before_last_landmark``, ``S_at_landmarks``, ``chosen``).
    """

    data: pl.DataFrame
    kmf: KaplanMeierFitter
    checks: pl.DataFrame
    envelope: pl.DataFrame
    n_consistent: int
    notes: list[str]
    configurations: pl.DataFrame
    time_unit: str = "days"
    label: str | None = None
    truncated: bool = False
    alpha: float = 0.05

    def fit_kmf(self, alpha: float | None = None) -> KaplanMeierFitter:
        """A fresh lifelines ``KaplanMeierFitter`` fitted on ``data``."""
        return fit_km(self.data, alpha=self.alpha if alpha is None else alpha, label=self.label)

    @property
    def all_match(self) -> bool:
        """Whether every reported figure is reproduced at its printed precision."""
        return bool(self.checks["match"].all()) if self.checks.height else True

    @property
    def summary(self) -> pl.DataFrame:
        """One-row overview: n, events, censored, consistency count, check status, follow-up."""
        t = self.data["time"].to_numpy()
        e = self.data["event"].to_numpy()
        n_distinct = (self.configurations["prefix"].n_unique() if self.configurations.height else 0)
        return pl.DataFrame({
            "label": [self.label or ""],
            "n": [int(len(t))],
            "events": [int(e.sum())],
            "censored": [int(len(t) - e.sum())],
            "n_consistent": [int(self.n_consistent)],
            "n_distinct_up_to_last_landmark": [int(n_distinct)],
            "truncated": [bool(self.truncated)],
            "all_checks_match": [self.all_match],
            "max_time": [float(t.max()) if len(t) else math.nan],
            "time_unit": [self.time_unit],
        })

    def __str__(self) -> str:
        head = f"SummaryReconstruction{f' [{self.label}]' if self.label else ''}: " \
               f"n={self.data.height}, events={int(self.data['event'].sum())}, " \
               f"{self.n_consistent}{'+' if self.truncated else ''} consistent configuration(s), " \
               f"all checks match: {self.all_match} (time unit: {self.time_unit})"
        lines = [head]
        for r in self.checks.iter_rows(named=True):
            ci = ""
            if r["reported_lower"] is not None:
                ci = (f"; CI {r['reported_lower']:.4g}-{r['reported_upper']:.4g} vs "
                      f"{r['reconstructed_lower']:.4g}-{r['reconstructed_upper']:.4g}")
            lines.append(f"  {r['item']}: reported {r['reported']:.4g}, reconstructed "
                         f"{r['reconstructed']:.4g}{ci} -> {'match' if r['match'] else 'MISMATCH'}")
        lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return self.__str__()


def _followup(fu: FollowUp | Mapping | Sequence | None) -> FollowUp | None:
    if fu is None:
        return None
    if isinstance(fu, FollowUp):
        return fu
    if isinstance(fu, Mapping):
        return FollowUp(**fu)
    if isinstance(fu, Sequence) and len(fu) == 3:
        return FollowUp(*fu)
    raise ValueError(f"followup: expected FollowUp, a mapping or (median, minimum, maximum); got {fu!r}")


class _Problem:
    """Normalised inputs of :func:`from_summary` and the per-configuration time windows."""

    def __init__(self, n, targets, known, n_events, fu, horizon):
        self.n = n
        self.targets: list[_Target] = targets
        self.T = [tg.time for tg in targets]
        self.K = len(targets)
        self.known = known  # sorted known event times
        self.kint = [bisect_left(self.T, e) for e in known]
        self.n_events = n_events
        self.fu = fu
        self.fmed = None if fu is None or fu.median is None else _number(fu.median, "followup.median")
        self.fmin = None if fu is None or fu.minimum is None else _number(fu.minimum, "followup.minimum")
        self.fmax = None if fu is None or fu.maximum is None else _number(fu.maximum, "followup.maximum")
        self.fof = "all" if fu is None else fu.of
        self.H = horizon
        self.eps = 1e-6 * horizon

    # ---- time windows of one configuration ------------------------------------------
    @staticmethod
    def _gap(a: str, b: str, eps: float) -> float:
        # a patient censored at t is at risk at a death at t, so a censoring may tie with a
        # preceding death but a death must come strictly after a preceding censoring.
        if b == "C" or (a == "K" and b == "K"):
            return 0.0
        return eps

    def windows(self, letters: Sequence[str], ints: Sequence[int], extra_pins: Mapping[int, float] | None = None):
        """Earliest/latest feasible time of each position; ``None`` when infeasible.

        Own bounds of position i: its landmark interval (T[j-1], T[j]] (the last interval is
        (T[K-1], horizon]); a known death is pinned at its time; follow-up anchors pin the
        first / median / last observed time of the described subset and bound the others.
        Running maxima (minima) propagate the order, with a strict gap before a death that
        follows a censoring.
        """
        n, T, H, eps = len(letters), self.T, self.H, self.eps
        lo = np.empty(n)
        hi = np.empty(n)
        pins: dict[int, float] = {}
        q = 0
        for i, (c, j) in enumerate(zip(letters, ints)):
            lo[i] = (T[j - 1] + eps) if j > 0 else eps
            hi[i] = min(T[j], H) if j < self.K else H
            if c == "K":
                pins[i] = self.known[q]
                q += 1
        sub = list(range(n)) if self.fof == "all" else [i for i, c in enumerate(letters) if c == "C"]
        if self.fu is not None and (self.fmin is not None or self.fmed is not None or self.fmax is not None):
            if not sub:
                return None
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
        for i, v in {**pins, **(extra_pins or {})}.items():
            if not (lo[i] - 1e-9 <= v <= hi[i] + 1e-9):
                return None
            lo[i] = hi[i] = v
        for i in range(1, n):
            lo[i] = max(lo[i], lo[i - 1] + self._gap(letters[i - 1], letters[i], eps))
        for i in range(n - 2, -1, -1):
            hi[i] = min(hi[i], hi[i + 1] - self._gap(letters[i], letters[i + 1], eps))
        if np.any(lo > hi + 1e-9):
            return None
        if self._even_median(letters) is not None and not extra_pins:
            if self.delta_range(letters, lo, hi) is None:
                return None
        return lo, hi

    def _even_median(self, letters) -> tuple[int, int] | None:
        if self.fmed is None:
            return None
        sub = list(range(len(letters))) if self.fof == "all" else [i for i, c in enumerate(letters) if c == "C"]
        if not sub or len(sub) % 2:
            return None
        return sub[len(sub) // 2 - 1], sub[len(sub) // 2]

    def delta_range(self, letters, lo, hi) -> tuple[float, float] | None:
        """Half-gaps d >= 0 with (median - d, median + d) inside the two middle windows (even count)."""
        a, b = self._even_median(letters)  # type: ignore[misc]
        med = self.fmed
        d_lo = max(0.0, med - hi[a], lo[b] - med)
        d_hi = min(med - lo[a], hi[b] - med)
        return (d_lo, d_hi) if d_lo <= d_hi + 1e-9 else None

    def assign_times(self, letters, ints, mode: str, rng: np.random.Generator) -> np.ndarray:
        w = self.windows(letters, ints)
        assert w is not None
        lo, hi = w
        n = len(letters)
        ab = self._even_median(letters)
        if ab is not None:  # even count: the two middle times straddle the median symmetrically
            d_lo, d_hi = self.delta_range(letters, lo, hi)  # type: ignore[misc]
            delta = min(max(d_lo, self.H / (2.0 * (n + 1))), d_hi)
            w2 = self.windows(letters, ints, {ab[0]: self.fmed - delta, ab[1]: self.fmed + delta})
            if w2 is not None:
                lo, hi = w2
        if mode == "random":
            t = np.sort(rng.uniform(lo, hi))
        else:
            # anchors: pinned positions, and each landmark crossed between two consecutive
            # positions (at the half position), so unknown times spread evenly inside intervals
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
            xs = sorted(anchors)
            t = np.interp(np.arange(n), xs, [anchors[x] for x in xs])
        t = np.clip(t, lo, hi)
        for i in range(1, n):
            t[i] = min(max(t[i], t[i - 1] + self._gap(letters[i - 1], letters[i], self.eps)), hi[i])
        return t


def from_summary(
    n: int,
    landmarks: Iterable[Landmark | Mapping | Sequence] = (),
    *,
    event_times: Iterable[float] = (),
    n_events: int | None = None,
    followup: FollowUp | Mapping | Sequence | None = None,
    horizon: float | None = None,
    time_unit: str = "days",
    require_ci: bool = True,
    choose: Literal["parsimonious", "random"] = "parsimonious",
    times: Literal["even", "random"] = "even",
    seed: int = 0,
    grid: Sequence[float] | None = None,
    max_configurations: int = 20_000,
    max_nodes: int = 2_000_000,
    alpha: float = 0.05,
    label: str | None = None,
) -> SummaryReconstruction:
    """Pseudo individual-patient data whose Kaplan-Meier curve reproduces reported summaries.

    Method.  Patients are ordered by observed time; a *configuration* is the sequence of their
    outcomes (death of known time ``K``, death of unknown time ``E``, censoring ``C``) with the
    landmark interval each falls in ((0, t1], (t1, t2], ..., (tK, horizon]).  The Kaplan-Meier
    estimate and Greenwood sum at every landmark depend only on the configuration
    (:math:`S=\\prod (r_i-1)/r_i` over the deaths, :math:`r_i` = patients at risk), so all
    configurations are enumerated depth first (pruned: S only decreases, event counts), and a
    configuration is *consistent* when

    * every reported landmark estimate is reproduced at its printed precision and, when
      ``require_ci`` and a CI is reported, so is the log(-log) CI (lifelines' interval);
    * the known death times and the total number of deaths (``n_events``) are respected;
    * times can be assigned: each position has a window (its landmark interval, pinned known
      deaths, follow-up minimum / median / maximum pinned to the first / middle / last observed
      time of the described patients) and the windows must admit an ordered assignment.

    One consistent configuration is chosen (``choose="parsimonious"``: fewest censorings
    before the last landmark, the least implied censoring; ties -- and ``choose="random"`` --
    broken by ``numpy.random.default_rng(seed)``), and its times are placed by linear
    interpolation between the pinned anchors, clipped to the windows (``times="even"``), or
    drawn uniformly in the windows (``times="random"``, seeded).  The envelope is the range of
    S(t) over all consistent configurations with every death as early, then as late, as its
    window allows.  The chosen dataset is re-fitted with lifelines and every reported figure is
    checked against it.

    Parameters
    ----------
    n : int
        Patients at risk at time 0.
    landmarks : iterable of Landmark (or mapping / tuple ``(time, estimate[, lower, upper])``)
        Reported Kaplan-Meier landmark estimates (see :class:`Landmark` for precision).
    event_times : iterable of float
        Known death (event) times, repeated for ties.
    n_events : int, optional
        Total number of events observed by the end of follow-up (known events included).
    followup : FollowUp, mapping or (median, minimum, maximum), optional
        Reported follow-up (or descriptive median and range of observed times).
    horizon : float, optional
        Latest possible time when the maximum follow-up of all patients is not reported;
        default 1.5 × the latest landmark / known time (or, with ``followup.of="censored"``,
        1.5 × the larger of that and the maximum censored time, since deaths may follow it).
    time_unit : str
        Unit of all times (documentation only).
    require_ci : bool
        Treat reported CIs as constraints (else they are only checked).
    choose, times, seed
        The explicit, seeded choices described above.
    grid : sequence of float, optional
        Times of the envelope (default 201 points on [0, horizon] plus landmarks).
    max_configurations : int
        Stop enumerating after this many consistent configurations (``truncated``; then
        ``n_consistent`` is a lower bound and the envelope covers the enumerated ones only).
    max_nodes : int
        Stop the depth-first search after visiting this many partial configurations
        (``truncated``); guards against very large unconstrained series.
    alpha : float
        1 - confidence level of the checked CIs.
    label : str, optional
        Name carried into the fitted ``KaplanMeierFitter`` and the printout.

    Returns
    -------
    SummaryReconstruction

    Examples
    --------
    The ddCAR-T2 abstract (7 patients, one death on day 70, follow-up 540 (70-1290) days,
    2-year OS 85.7 %, 95 % CI 33.4-97.9):

    >>> r = from_summary(7, [Landmark(730, "85.7", "33.4", "97.9")], event_times=[70], n_events=1,
    ...                  followup=FollowUp(540, 70, 1290))
    >>> r.all_match
    True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    n = int(n)
    if n > 60:
        raise ValueError(f"from_summary enumerates configurations and is meant for small series (n <= 60); got n={n}. "
                         "Use guyot() on a digitised curve for larger studies.")
    if choose not in ("parsimonious", "random"):
        raise ValueError(f"choose must be 'parsimonious' or 'random'; got {choose!r}")
    if times not in ("even", "random"):
        raise ValueError(f"times must be 'even' or 'random'; got {times!r}")
    targets = sorted((_target(lm, i) for i, lm in enumerate(landmarks)), key=lambda t: t.time)
    for a, b in zip(targets, targets[1:]):
        if a.time == b.time:
            raise ValueError(f"two landmarks at the same time {a.time:g}")
        if b.S > a.S + a.tol + b.tol:
            raise ValueError(f"landmark estimates increase with time ({a.text} at {a.time:g}, {b.text} at {b.time:g})")
    known = sorted(_number(e, f"event_times[{i}]") for i, e in enumerate(event_times))
    if any(e <= 0 for e in known):
        raise ValueError(f"event_times must be > 0; got {known}")
    if len(known) > n:
        raise ValueError(f"{len(known)} known event times for n={n} patients")
    if n_events is not None:
        if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or not len(known) <= n_events <= n:
            raise ValueError(f"n_events must be an integer between the number of known event times ({len(known)}) "
                             f"and n ({n}); got {n_events!r}")
        n_events = int(n_events)
    fu = _followup(followup)
    if fu is not None:
        if fu.of not in ("all", "censored"):
            raise ValueError(f"followup.of must be 'all' or 'censored'; got {fu.of!r}")
        vals = {k: _number(getattr(fu, k), f"followup.{k}") for k in ("minimum", "median", "maximum")
                if getattr(fu, k) is not None}
        if any(v < 0 for v in vals.values()):
            raise ValueError(f"follow-up times must be >= 0; got {vals}")
        order = [vals[k] for k in ("minimum", "median", "maximum") if k in vals]
        if order != sorted(order):
            raise ValueError(f"follow-up must satisfy minimum <= median <= maximum; got {vals}")
        if "maximum" in vals and fu.of == "all" and known and known[-1] > vals["maximum"]:
            raise ValueError(f"known event time {known[-1]:g} is after the maximum follow-up {vals['maximum']:g}")
    latest = max([tg.time for tg in targets] + known + [1.0])
    if fu is not None and fu.maximum is not None and fu.of == "all":
        H = _number(fu.maximum, "followup.maximum")
        if horizon is not None:
            raise ValueError("give horizon only when followup.maximum (of all patients) is not reported")
    elif fu is not None and fu.maximum is not None:  # maximum of the censored: deaths may come later
        fmax = _number(fu.maximum, "followup.maximum")
        H = max(fmax, _number(horizon, "horizon") if horizon is not None else 1.5 * max(latest, fmax))
    elif horizon is not None:
        H = _number(horizon, "horizon")
        if H < latest:
            raise ValueError(f"horizon {H:g} is before the latest landmark / event time {latest:g}")
    else:
        H = 1.5 * latest
    if fu is not None and fu.median is not None and _number(fu.median, "followup.median") > H:
        raise ValueError("followup.median is after the horizon")
    P = _Problem(n, targets, known, n_events, fu, H)
    z_alpha = alpha
    K, m = P.K, len(known)

    def lm_ok(j: int, S: float, gw: float) -> bool:
        tg = targets[j]
        if abs(S - tg.S) > tg.tol:
            return False
        if require_ci and tg.lower is not None:
            lo, hi = loglog_ci(S, gw, z_alpha)
            if not (abs(lo - tg.lower) <= tg.ci_tol and abs(hi - tg.upper) <= tg.ci_tol):
                return False
        return True

    found: list[tuple[tuple[str, ...], tuple[int, ...], tuple[float, ...]]] = []
    truncated = False
    letters: list[str] = []
    ints: list[int] = []
    ci_relaxed = False

    def fu_ok_at_advance(j: int, pos: int) -> bool:
        if P.fof != "all" or fu is None:
            return True
        T = P.T[j]
        if P.fmin is not None and P.fmin > T and pos > 0:
            return False
        if P.fmax is not None and P.fmax <= T and pos < n:
            return False
        if P.fmed is not None:
            if n % 2:
                mid = (n + 1) // 2
                return pos >= mid if P.fmed <= T else pos <= mid - 1
            a = n // 2
            return pos >= a if P.fmed <= T else pos <= a
        return True

    nodes = 0

    def rec(j: int, r: int, S: float, gw: float, ne: int, nk: int, lmv: tuple[float, ...]) -> None:
        nonlocal truncated, nodes
        if truncated:
            return
        nodes += 1
        if nodes > max_nodes:
            truncated = True
            return
        pos = len(letters)
        if pos == n:
            if nk < m or (n_events is not None and ne != n_events):
                return
            vals = lmv
            for jj in range(j, K):
                if not lm_ok(jj, S, gw):
                    return
                vals = vals + (S,)
            if P.windows(letters, ints) is None:
                return
            found.append((tuple(letters), tuple(ints), vals))
            if len(found) >= max_configurations:
                truncated = True
            return
        if j < K and S < targets[j].S - targets[j].tol:
            return
        remaining = n - pos
        if (m - nk) > remaining:
            return
        if n_events is not None and ne + remaining < n_events:
            return
        # a death of known time
        if nk < m and P.kint[nk] == j:
            letters.append("K"), ints.append(j)
            rec(j, r - 1, S * (r - 1) / r, gw + (1.0 / (r * (r - 1)) if r > 1 else math.inf), ne + 1, nk + 1, lmv)
            letters.pop(), ints.pop()
        # a death of unknown time
        if n_events is None or ne + (m - nk) + 1 <= n_events:
            letters.append("E"), ints.append(j)
            rec(j, r - 1, S * (r - 1) / r, gw + (1.0 / (r * (r - 1)) if r > 1 else math.inf), ne + 1, nk, lmv)
            letters.pop(), ints.pop()
        # a censoring
        if n_events is None or remaining - 1 >= n_events - ne:
            letters.append("C"), ints.append(j)
            rec(j, r - 1, S, gw, ne, nk, lmv)
            letters.pop(), ints.pop()
        # close landmark interval j
        if j < K and (nk == m or P.kint[nk] > j) and lm_ok(j, S, gw) and fu_ok_at_advance(j, pos):
            rec(j + 1, r, S, gw, ne, nk, lmv + (S,))

    rec(0, n, 1.0, 0.0, 0, 0, ())
    notes: list[str] = []
    if not found and require_ci and any(tg.lower is not None for tg in targets):
        ci_relaxed = True
        require_ci = False
        nodes = 0
        truncated = False
        rec(0, n, 1.0, 0.0, 0, 0, ())
        if found:
            notes.append("No configuration reproduces the reported CI(s) as a log(-log) Greenwood interval; "
                         "the CI constraint was dropped (the report may use another interval, e.g. plain or "
                         "log Greenwood, or another software).")
    if not found:
        raise ValueError(
            "no dataset of n={} patients is consistent with the reported summary ({}); check the inputs "
            "(landmark precision, event counts, follow-up, units)".format(
                n, ", ".join(f"{tg.label}={tg.text}" for tg in targets) or "no landmarks"))

    # ---- choose one configuration (explicit, seeded) --------------------------------
    rng = np.random.default_rng(seed)
    lastK = K  # interval index after the last landmark

    def cens_before(cfg) -> int:
        return sum(1 for c, j in zip(cfg[0], cfg[1]) if c == "C" and j < lastK)

    cb = np.array([cens_before(c) for c in found])
    if choose == "parsimonious":
        cand = np.flatnonzero(cb == cb.min())
    else:
        cand = np.arange(len(found))
    pick = int(cand[rng.integers(len(cand))]) if len(cand) > 1 else int(cand[0])
    letters_c, ints_c, _ = found[pick]
    tt = P.assign_times(letters_c, ints_c, times, rng)
    ev = np.array([0 if c == "C" else 1 for c in letters_c], dtype=np.int64)
    data = pl.DataFrame({"time": tt.astype(float), "event": ev}, schema={"time": pl.Float64, "event": pl.Int64})
    kmf = fit_km(data, alpha=alpha, label=label)

    # ---- configurations table -------------------------------------------------------
    def pattern(cfg) -> str:
        out, j = [], 0
        for c, jj in zip(cfg[0], cfg[1]):
            while j < jj:
                out.append("|")
                j += 1
            out.append(c)
        while j < K:
            out.append("|")
            j += 1
        return " ".join(out)

    def prefix(cfg) -> str:
        p = pattern(cfg)
        return p.rsplit("|", 1)[0] if K else ""

    configs = pl.DataFrame({
        "config": np.arange(len(found), dtype=np.int64),
        "pattern": [pattern(c) for c in found],
        "prefix": [prefix(c) for c in found],
        "events": [sum(1 for x in c[0] if x != "C") for c in found],
        "censored_before_last_landmark": cb.astype(np.int64),
        "S_at_landmarks": [list(c[2]) for c in found],
        "chosen": np.arange(len(found)) == pick,
    }, schema={"config": pl.Int64, "pattern": pl.Utf8, "prefix": pl.Utf8, "events": pl.Int64,
               "censored_before_last_landmark": pl.Int64, "S_at_landmarks": pl.List(pl.Float64),
               "chosen": pl.Boolean})

    # ---- envelope ------------------------------------------------------------------------
    if grid is None:
        g = np.unique(np.concatenate([np.linspace(0.0, H, 201), [tg.time for tg in targets], known]))
    else:
        g = np.unique(np.asarray([_number(x, "grid") for x in grid], dtype=float))
    env_lo = np.ones_like(g)
    env_hi = np.zeros_like(g)
    for cfg in found:
        L, I = cfg[0], cfg[1]
        w = P.windows(L, I)
        lo, hi = w  # type: ignore[misc]
        idx = [i for i, c in enumerate(L) if c != "C"]
        f = np.array([(n - i - 1) / (n - i) for i in idx])
        logf = np.log(np.where(f > 0, f, 1e-300))
        cum = np.concatenate([[0.0], np.cumsum(logf)])
        e_lo = lo[idx] if idx else np.array([])
        e_hi = hi[idx] if idx else np.array([])
        s_low = np.exp(cum[np.searchsorted(e_lo, g, side="right")])
        s_up = np.exp(cum[np.searchsorted(e_hi, g, side="right")])
        s_low[s_low < 1e-250] = 0.0
        s_up[s_up < 1e-250] = 0.0
        env_lo = np.minimum(env_lo, s_low)
        env_hi = np.maximum(env_hi, s_up)
    recon = np.array([_km_at_arrays(tt, ev, x)[0] for x in g])
    envelope = pl.DataFrame({"time": g, "lower": env_lo, "upper": env_hi, "reconstructed": recon})

    # ---- checks against the lifelines fit ----------------------------------------------
    rows = []
    for tg in targets:
        S, lo, hi = km_at(kmf, tg.time)
        ok = abs(S - tg.S) <= tg.tol
        if tg.lower is not None:
            ok = ok and abs(lo - tg.lower) <= tg.ci_tol and abs(hi - tg.upper) <= tg.ci_tol
        rows.append({"item": tg.label, "time": tg.time, "reported": tg.S, "reconstructed": S,
                     "reported_lower": tg.lower, "reported_upper": tg.upper,
                     "reconstructed_lower": lo if tg.lower is not None else None,
                     "reconstructed_upper": hi if tg.lower is not None else None,
                     "tolerance": tg.tol, "match": bool(ok)})
    if n_events is not None:
        rows.append({"item": "events", "time": None, "reported": float(n_events), "reconstructed": float(ev.sum()),
                     "reported_lower": None, "reported_upper": None, "reconstructed_lower": None,
                     "reconstructed_upper": None, "tolerance": 0.0, "match": int(ev.sum()) == n_events})
    if fu is not None:
        subset = tt if P.fof == "all" else tt[ev == 0]
        for name, rep, fn in (("follow-up minimum", fu.minimum, np.min), ("follow-up median", fu.median, np.median),
                              ("follow-up maximum", fu.maximum, np.max)):
            if rep is None:
                continue
            tol = 0.5 * 10.0 ** (-_decimals_of(rep)) + 1e-9
            val = float(fn(subset)) if len(subset) else math.nan
            rows.append({"item": name + ("" if P.fof == "all" else " (censored)"), "time": None,
                         "reported": _number(rep, name), "reconstructed": val, "reported_lower": None,
                         "reported_upper": None, "reconstructed_lower": None, "reconstructed_upper": None,
                         "tolerance": tol, "match": bool(abs(val - _number(rep, name)) <= tol)})
    schema = {"item": pl.Utf8, "time": pl.Float64, "reported": pl.Float64, "reconstructed": pl.Float64,
              "reported_lower": pl.Float64, "reported_upper": pl.Float64, "reconstructed_lower": pl.Float64,
              "reconstructed_upper": pl.Float64, "tolerance": pl.Float64, "match": pl.Boolean}
    checks = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)

    # ---- notes -------------------------------------------------------------------------
    nc = f"{len(found)}{'+ (enumeration truncated)' if truncated else ''}"
    if truncated:
        notes.append(f"Enumeration stopped (max_configurations={max_configurations}, max_nodes={max_nodes}): "
                     "n_consistent is a lower bound and the envelope and the choice cover the depth-first "
                     "enumerated configurations only; add constraints (events, follow-up) or use guyot().")
    notes.insert(0, f"{nc} configuration(s) (orderings of deaths and censorings relative to the landmarks, known "
                    f"deaths and follow-up anchors) are consistent with the summary"
                    + (f"; {configs['prefix'].n_unique()} distinct up to the last landmark." if K else "."))
    for tg in targets:
        kk = [k for k in range(n + 1) if abs(k / n - tg.S) <= tg.tol]
        if kk:
            notes.append(f"{tg.label} = {tg.text}{'%' if tg.scale == 100 else ''} is k/n for k = "
                         f"{', '.join(map(str, kk))} (n = {n}): a curve without censoring before t = {tg.time:g} "
                         "could give it.")
        else:
            try:
                cf = km_configurations(n, tg.text, percent=tg.scale == 100, decimals=_decimals_of(tg.text),
                                       max_events=6, max_rows=1000)
            except ValueError:
                cf = None
            ex = "" if cf is None or not cf.height else "; e.g. " + ", ".join(
                f"{r['fraction']} (at risk {r['at_risk']}, >= {r['censored_before_last_event']} censored)"
                for r in cf.head(3).iter_rows(named=True))
            notes.append(f"{tg.label} = {tg.text}{'%' if tg.scale == 100 else ''} is not k/{n} for any k: only a "
                         f"Kaplan-Meier curve with censoring before t = {tg.time:g} gives it{ex}.")
    chosen_cb = int(cb[pick])
    if K:
        notes.append(f"Chosen configuration #{pick} ({pattern(found[pick])}; '|' marks the landmarks) by rule "
                     f"'{choose}' with seed {seed}: {int(ev.sum())} death(s), {chosen_cb} implied censoring(s) before "
                     f"the last landmark{' (minimum over consistent configurations)' if choose == 'parsimonious' else ''}.")
    else:
        notes.append(f"No landmark estimate reported: the {len(found)} configurations are equally consistent and "
                     f"configuration #{pick} ({pattern(found[pick])}) was drawn with seed {seed}; only the envelope "
                     "is informative.")
    unknown = sum(1 for c in letters_c if c == "E")
    placement = ("interpolated linearly between the pinned anchors (known deaths, follow-up minimum/median/"
                 "maximum) and clipped to their windows" if times == "even"
                 else f"drawn uniformly within their windows (seed {seed})")
    notes.append(f"Times not reported ({unknown} death(s) of unknown time, {int((ev == 0).sum())} censoring(s)) were "
                 f"{placement}; horizon {H:g} {time_unit}"
                 f"{' (reported maximum follow-up)' if fu is not None and fu.maximum is not None and fu.of == 'all' else ' (assumed: no maximum follow-up of all patients reported)'}.")
    if n_events is None:
        notes.append("The total number of events is not reported: events after the last landmark are unconstrained "
                     "(the envelope after it spans every possibility).")
    return SummaryReconstruction(data=data, kmf=kmf, checks=checks, envelope=envelope, n_consistent=len(found),
                                 notes=notes, configurations=configs, time_unit=time_unit, label=label,
                                 truncated=truncated, alpha=alpha)


# =========================================================================== KM on arrays


def _as_arrays(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) numpy arrays from a polars/pandas frame with ``time``/``event`` or a pair."""
    if isinstance(data, (SummaryReconstruction, CurveReconstruction)):
        data = data.data
    if isinstance(data, pl.DataFrame):
        missing = {"time", "event"} - set(data.columns)
        if missing:
            raise ValueError(f"data must have columns time and event; missing {sorted(missing)}")
        t = data["time"].to_numpy().astype(float)
        e = data["event"].to_numpy()
    elif hasattr(data, "columns") and hasattr(data, "__getitem__") and not isinstance(data, tuple):
        if not {"time", "event"} <= set(data.columns):
            raise ValueError("data must have columns time and event")
        t = np.asarray(data["time"], dtype=float)
        e = np.asarray(data["event"])
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        t = np.asarray(data[0], dtype=float)
        e = np.asarray(data[1])
    else:
        raise ValueError(f"data: expected a DataFrame with time and event columns or a (time, event) pair; got {type(data).__name__}")
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


def _km_at_arrays(t: np.ndarray, e: np.ndarray, at: float) -> tuple[float, float, int]:
    """Kaplan-Meier estimate, Greenwood sum and number at risk at time ``at``."""
    et = np.unique(t[(e == 1) & (t <= at)])
    S, gw = 1.0, 0.0
    for x in et:
        r = int(np.sum(t >= x))
        d = int(np.sum((t == x) & (e == 1)))
        S *= 1.0 - d / r
        gw = gw + (d / (r * (r - d)) if r > d else math.inf)
    return S, gw, int(np.sum(t >= at))


def fit_km(data: Any, *, alpha: float = 0.05, label: str | None = None) -> KaplanMeierFitter:
    """Fit a lifelines ``KaplanMeierFitter`` (log(-log) CI) on ``data`` (time, event)."""
    t, e = _as_arrays(data)
    kw = {"label": label} if label else {}
    return KaplanMeierFitter(alpha=alpha).fit(t, e, **kw)


def km_at(kmf: KaplanMeierFitter, t: float) -> tuple[float, float, float]:
    """(S, lower, upper) of a fitted lifelines ``KaplanMeierFitter`` at time ``t`` (right-continuous step)."""
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_
    idx = np.searchsorted(sf.index.values, t, side="right") - 1
    if idx < 0:
        return 1.0, 1.0, 1.0
    return float(sf.iloc[idx, 0]), float(ci.iloc[idx, 0]), float(ci.iloc[idx, 1])


# =========================================================================== Guyot 2012


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
    # at most two readings per time: first (top) and last (bottom)
    keep = np.ones(len(t), dtype=bool)
    same_prev = np.r_[False, t[1:] == t[:-1]]
    same_next = np.r_[t[1:] == t[:-1], False]
    keep &= ~(same_prev & same_next)
    # exact duplicates
    dup = np.r_[False, (t[1:] == t[:-1]) & (s[1:] == s[:-1])]
    keep &= ~dup
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
        return {"rmse": float(np.sqrt(np.mean(d ** 2))), "mean_abs": float(np.mean(np.abs(d))),
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
    if risk_times is None and n_at_risk is None:
        if n_start is None:
            raise ValueError("give the risk table (risk_times, n_at_risk) or at least n_start")
        risk_times, n_at_risk = [0.0], [n_start]
    elif risk_times is None or n_at_risk is None:
        raise ValueError("give both risk_times and n_at_risk")
    rt = np.asarray([_number(x, "risk_times") for x in risk_times], dtype=float)
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
    # trim trailing zeros of the risk table to a single zero (IPDfromKM)
    nint = len(nr)
    while nint > 1 and nr[nint - 1] == 0 and nr[nint - 2] == 0:
        nint -= 1
    rt, nr = rt[:nint], nr[:nint]
    # a point at each risk time inside the curve (the step value carried forward), so that no
    # published number at risk is lost to an interval without digitised points
    add = [x for x in rt if 0.0 < x <= t[-1] and not np.any(t == x)]
    if add:
        vals = [S[np.searchsorted(t, x, side="right") - 1] for x in add]
        tt_, ss_ = np.r_[t, add], np.r_[S, vals]
        o = np.lexsort((-ss_, tt_))
        t, S = tt_[o], ss_[o]
        notes.append(f"added {len(add)} point(s) at risk-table times (survival carried forward)")
    # interval of each point; keep intervals that hold points
    pint = np.searchsorted(rt, t, side="right") - 1
    used = np.unique(pint)
    if len(used) < len(rt):
        dropped = [f"{rt[i]:g}" for i in range(len(rt)) if i not in set(used.tolist())]
        notes.append(f"risk-table time(s) {', '.join(dropped)} have no digitised point in their interval and were not used")
    lower = np.array([int(np.flatnonzero(pint == i)[0]) for i in used])
    upper = np.array([int(np.flatnonzero(pint == i)[-1]) for i in used])
    t_risk = rt[used]
    n_risk = nr[used].astype(np.int64).copy()
    n_risk_pub = n_risk.copy()
    n_int = len(used)
    n_t = len(t)

    n_censor = np.zeros(n_int, dtype=np.int64)
    n_hat = np.full(n_t + 1, n_risk[0] + 1, dtype=np.int64)
    cen = np.zeros(n_t, dtype=np.int64)
    d = np.zeros(n_t, dtype=np.int64)
    KM = np.ones(n_t)
    last_i = np.zeros(n_int, dtype=np.int64)

    def spread(nc: int, a: int, b_time_idx: int, seg_lo: int, seg_hi: int) -> None:
        """Censor nc patients evenly over [t[a], t[b_time_idx]] and count them per point segment."""
        cen[seg_lo:seg_hi + 1] = 0
        if nc <= 0:
            return
        ct = t[a] + np.arange(1, nc + 1) * (t[b_time_idx] - t[a]) / (nc + 1)
        # segment k holds t[k] <= c < t[k+1] (IPDfromKM); the last point takes the rest
        edges = t[seg_lo:seg_hi + 1]
        k = np.searchsorted(edges, ct, side="right") - 1
        k = np.clip(k, 0, seg_hi - seg_lo)
        np.add.at(cen, seg_lo + k, 1)

    def events(i: int) -> int:
        """Deaths and numbers at risk for the points of interval i; returns the last-event index."""
        n_hat[lower[i]] = n_risk[i]
        last = int(last_i[i])
        for k in range(lower[i], upper[i] + 1):
            if k == 0:
                d[k] = 0
                KM[k] = 1.0
            else:
                nk = n_hat[k]
                if KM[last] > 0 and nk > 0:
                    dk = int(round(nk * (1.0 - S[k] / KM[last])))
                    dk = min(max(dk, 0), int(nk))
                else:
                    dk = 0
                d[k] = dk
                KM[k] = KM[last] * (1.0 - dk / nk) if nk > 0 else KM[last]
            n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
            if n_hat[k + 1] < 0:
                n_hat[k + 1] = 0
                cen[k] = max(n_hat[k] - d[k], 0)
            if d[k] != 0:
                last = k
        return last

    for i in range(n_int - 1):
        s0 = S[lower[i]]
        n_censor[i] = int(round(n_risk[i] * S[lower[i + 1]] / s0 - n_risk[i + 1])) if s0 > 0 else 0
        it = 0
        last = int(last_i[i])
        while ((n_hat[lower[i + 1]] > n_risk[i + 1] and n_censor[i] < n_risk[i] - n_risk[i + 1] + 1)
               or (n_hat[lower[i + 1]] < n_risk[i + 1] and n_censor[i] > 0)):
            if n_censor[i] <= 0:
                n_censor[i] = 0
            spread(int(n_censor[i]), lower[i], lower[i + 1], lower[i], upper[i])
            last = events(i)
            n_censor[i] += n_hat[lower[i + 1]] - n_risk[i + 1]
            it += 1
            if it > 10_000:  # pragma: no cover - safety net
                notes.append(f"interval {i}: censoring adjustment did not converge")
                break
        if n_hat[lower[i + 1]] != n_risk[i + 1]:
            if n_hat[lower[i + 1]] < n_risk[i + 1]:
                notes.append(f"interval starting {t_risk[i]:g}: reconstructed {int(n_hat[lower[i + 1]])} at risk at "
                             f"{t_risk[i + 1]:g} instead of {int(n_risk[i + 1])} (published); continued from the reconstruction")
            n_risk[i + 1] = n_hat[lower[i + 1]]
        last_i[i + 1] = last

    # last interval: average censoring rate of the previous ones (Guyot 2012)
    li = n_int - 1
    if n_int > 1:
        denom = t[upper[li - 1]] - t[lower[0]]
        rate_c = int(n_censor[:li].sum())
        n_censor[li] = min(int(round(rate_c * (t[upper[li]] - t[lower[li]]) / denom)) if denom > 0 else 0,
                           int(n_risk[li]))
    else:
        n_censor[li] = 0

    def last_interval() -> None:
        if n_censor[li] <= 0:
            n_censor[li] = 0
        spread(int(n_censor[li]), lower[li], upper[li], lower[li], max(upper[li] - 1, lower[li]))
        if upper[li] > lower[li]:
            cen[upper[li]] = 0
        events(li)

    last_interval()
    if total_events is not None:
        sumdL = int(d[: upper[li - 1] + 1].sum()) if n_int > 1 else 0
        if n_int > 1 and sumdL >= total_events:
            d[lower[li]: upper[li] + 1] = 0
            cen[lower[li]: upper[li]] = 0
            n_hat[lower[li] + 1: upper[li] + 2] = n_risk[li]
            if sumdL > total_events:
                notes.append(f"{sumdL} events reconstructed before the last risk time exceed the reported total "
                             f"({total_events}); no events or censoring placed in the last interval")
        else:
            sumd = int(d[: upper[li] + 1].sum())
            it = 0
            while sumd > total_events or (sumd < total_events and n_censor[li] > 0):
                n_censor[li] += sumd - total_events
                last_interval()
                sumd = int(d[: upper[li] + 1].sum())
                it += 1
                if it > 10_000:  # pragma: no cover
                    notes.append("total-events adjustment did not converge")
                    break
            if sumd != total_events:
                notes.append(f"reconstructed {sumd} events; reported total {total_events} could not be matched exactly")

    # individual data
    n0 = int(n_risk_pub[0])
    ev_t = np.repeat(t, d)
    cen_mid = np.r_[(t[:-1] + t[1:]) / 2.0, t[-1]]
    c_t = np.repeat(cen_mid, cen)
    rest = int(n_hat[n_t])
    tt = np.r_[ev_t, c_t, np.full(max(rest, 0), t[-1])]
    ee = np.r_[np.ones(len(ev_t), dtype=np.int64), np.zeros(len(c_t) + max(rest, 0), dtype=np.int64)]
    if len(tt) != n0:
        notes.append(f"reconstruction holds {len(tt)} patients, not the {n0} at risk at time 0")
    order = np.lexsort((-ee, tt))
    data = pl.DataFrame({"time": tt[order], "event": ee[order]}, schema={"time": pl.Float64, "event": pl.Int64})
    kmf = fit_km(data, alpha=alpha, label=label)
    sf_idx = kmf.survival_function_.index.values
    sf_val = kmf.survival_function_.iloc[:, 0].values
    rec = sf_val[np.clip(np.searchsorted(sf_idx, t, side="right") - 1, 0, None)]
    points = pl.DataFrame({"time": t, "survival": S, "reconstructed": rec, "events": d, "censored": cen,
                           "n_at_risk": n_hat[:n_t]})
    intervals = pl.DataFrame({
        "time": t_risk,
        "n_at_risk": n_risk_pub,
        "n_at_risk_hat": np.array([n_hat[lower[i]] for i in range(n_int)], dtype=np.int64),
        "censored": np.array([int(cen[lower[i]: upper[i] + 1].sum()) for i in range(n_int)], dtype=np.int64),
        "events": np.array([int(d[lower[i]: upper[i] + 1].sum()) for i in range(n_int)], dtype=np.int64),
    })
    return CurveReconstruction(data=data, kmf=kmf, points=points, intervals=intervals, notes=notes,
                               total_events=total_events, label=label)


# =========================================================================== digitised curves on disk

#: ``<study_id>__<outcome>__<arm>.csv``; each part is a lowercase identifier (``[a-z][a-z0-9_]*``
#: without a double underscore), as ``analysis.schema.ID_PATTERN``.
_PART = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
CURVE_FILE_PATTERN = re.compile(rf"^(?P<study>{_PART})__(?P<outcome>{_PART})__(?P<arm>{_PART})\.csv$")
_META_REQUIRED = ("study_id", "outcome", "arm", "figure", "page", "digitiser", "time_unit")
_META_OPTIONAL = ("survival_scale", "total_events", "n_start", "digitised_by", "digitised_on", "source", "notes")
#: tolerance on survival values outside [0, 1] (proportion scale) that cleaning clips silently.
SURVIVAL_TOLERANCE = 0.02


@dataclass
class DigitisedCurve:
    """A digitised published Kaplan-Meier curve read by :func:`load_curve`.

    Attributes
    ----------
    study, outcome, arm : str
        From the file name (and checked against the YAML sidecar).
    points : polars.DataFrame
        ``time``, ``survival`` as digitised (survival rescaled to proportions).
    risk : polars.DataFrame or None
        ``time``, ``n_at_risk`` (the published risk table), when present.
    meta : dict
        The YAML sidecar (figure, page, digitiser, time_unit, total_events, ...).
    path : pathlib.Path
        The curve CSV.
    """

    study: str
    outcome: str
    arm: str
    points: pl.DataFrame
    risk: pl.DataFrame | None
    meta: dict
    path: Path

    @property
    def time_unit(self) -> str:
        return str(self.meta["time_unit"])

    @property
    def total_events(self) -> int | None:
        v = self.meta.get("total_events")
        return None if v is None else int(v)

    def reconstruct(self, **kwargs: Any) -> CurveReconstruction:
        """Run :func:`guyot` on this curve (risk table, or ``n_start`` when there is none)."""
        if self.risk is not None:
            rt, nr = self.risk["time"].to_list(), self.risk["n_at_risk"].to_list()
            return guyot(self.points["time"].to_list(), self.points["survival"].to_list(), rt, nr,
                         self.total_events, percent=False, label=f"{self.study} {self.arm}", **kwargs)
        return guyot(self.points["time"].to_list(), self.points["survival"].to_list(), None, None,
                     self.total_events, n_start=int(self.meta["n_start"]), percent=False,
                     label=f"{self.study} {self.arm}", **kwargs)


def _read_numeric_csv(path: Path, columns: tuple[str, ...]) -> dict[str, list[float]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    rows = list(csv.reader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")))
    if not rows:
        raise ValueError(f"{path}: empty file (expected a header {','.join(columns)})")
    header = [h.strip() for h in rows[0]]
    if header != list(columns):
        raise ValueError(f"{path}: header must be exactly {','.join(columns)}; got {','.join(header)}")
    out: dict[str, list[float]] = {c: [] for c in columns}
    # line numbers: count physical lines to name the row as the user sees it
    phys = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() and not line.lstrip().startswith("#")]
    for r, row in enumerate(rows[1:], start=1):
        line = phys[r]
        if len(row) != len(columns):
            raise ValueError(f"{path}: line {line}: expected {len(columns)} fields ({','.join(columns)}); got {len(row)}")
        for c, v in zip(columns, row):
            try:
                x = float(v.strip())
            except ValueError:
                raise ValueError(f"{path}: line {line}, column {c}: {v.strip()!r} is not a number") from None
            if not math.isfinite(x):
                raise ValueError(f"{path}: line {line}, column {c}: {v.strip()!r} is not finite")
            out[c].append(x)
    if not out[columns[0]]:
        raise ValueError(f"{path}: no data rows")
    return out


def load_curve(path: str | Path, *, known_studies: Iterable[str] | None = None) -> DigitisedCurve:
    """Read and validate one digitised curve (format of ``data/curves/README.md``).

    Files: ``<study_id>__<outcome>__<arm>.csv`` (columns ``time,survival``), the YAML sidecar
    ``<study_id>__<outcome>__<arm>.yaml`` (required) and the optional risk table
    ``<study_id>__<outcome>__<arm>__risk.csv`` (columns ``time,n_at_risk``).

    Raises
    ------
    ValueError
        Naming the file and the field or line: bad file name or study id, header, non-numeric
        or non-finite value, negative time, survival outside [0, 1] (or [0, 100] for
        ``survival_scale: percent``) beyond a tolerance of 0.02 (2 points), fewer than 2 points;
        risk table not starting at 0, times not strictly increasing, counts not non-negative
        integers or increasing; sidecar missing, not a mapping, unknown / missing keys,
        identifiers differing from the file name, unknown time unit, bad ``total_events`` /
        ``n_start``; study id not in ``known_studies`` (when given).
    """
    import yaml

    path = Path(path)
    m = CURVE_FILE_PATTERN.match(path.name)
    if not m:
        raise ValueError(f"{path}: file name must be <study_id>__<outcome>__<arm>.csv with lowercase identifiers "
                         f"([a-z][a-z0-9_]*, parts separated by a double underscore), e.g. roddie2025__os__car_dli_ld.csv")
    study, outcome, arm = m.group("study", "outcome", "arm")
    if not re.search(r"\d{4}[a-z]?$", study):
        raise ValueError(f"{path}: study id {study!r} must end with the publication year (e.g. roddie2025, zhang2021b)")
    if known_studies is not None and study not in set(known_studies):
        raise ValueError(f"{path}: unknown study id {study!r} (no data/studies/{study}.yaml)")
    try:
        from analysis.review.schema import OUTCOMES  # the review's outcome vocabulary
    except Exception:  # pragma: no cover - schema is optional for this module
        OUTCOMES = None
    if OUTCOMES is not None and outcome not in OUTCOMES:
        raise ValueError(f"{path}: unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    meta_path = path.with_suffix(".yaml")
    if not meta_path.is_file():
        raise ValueError(f"{meta_path}: missing metadata sidecar for {path.name}")
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{meta_path}: invalid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path}: expected a mapping of metadata fields")
    unknown = sorted(set(meta) - set(_META_REQUIRED) - set(_META_OPTIONAL))
    if unknown:
        raise ValueError(f"{meta_path}: unknown field(s) {', '.join(unknown)} (allowed: "
                         f"{', '.join(_META_REQUIRED + _META_OPTIONAL)})")
    for k in _META_REQUIRED:
        if meta.get(k) in (None, ""):
            raise ValueError(f"{meta_path}: missing required field {k}")
    for k, v in (("study_id", study), ("outcome", outcome), ("arm", arm)):
        if str(meta[k]) != v:
            raise ValueError(f"{meta_path}: field {k} is {meta[k]!r} but the file name says {v!r}")
    if meta["time_unit"] not in TIME_UNITS:
        raise ValueError(f"{meta_path}: field time_unit must be one of {', '.join(TIME_UNITS)}; got {meta['time_unit']!r}")
    scale_name = meta.get("survival_scale", "proportion")
    if scale_name not in ("proportion", "percent"):
        raise ValueError(f"{meta_path}: field survival_scale must be 'proportion' or 'percent'; got {scale_name!r}")
    for k in ("total_events", "n_start"):
        v = meta.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError(f"{meta_path}: field {k} must be a non-negative integer; got {v!r}")

    cols = _read_numeric_csv(path, ("time", "survival"))
    scale = 100.0 if scale_name == "percent" else 1.0
    tol = SURVIVAL_TOLERANCE * scale
    phys = [i + 1 for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines())
            if line.strip() and not line.lstrip().startswith("#")][1:]
    for r, (t, s) in enumerate(zip(cols["time"], cols["survival"])):
        if t < 0:
            raise ValueError(f"{path}: line {phys[r]}, column time: negative time {t:g}")
        if s < -tol or s > scale + tol:
            raise ValueError(f"{path}: line {phys[r]}, column survival: {s:g} is outside [0, {scale:g}] beyond "
                             f"the tolerance {tol:g}")
    if len(cols["time"]) < 2:
        raise ValueError(f"{path}: at least 2 digitised points are needed")
    points = pl.DataFrame({"time": cols["time"], "survival": [s / scale for s in cols["survival"]]},
                          schema={"time": pl.Float64, "survival": pl.Float64})

    risk_path = path.with_name(path.stem + "__risk.csv")
    risk = None
    if risk_path.is_file():
        rc = _read_numeric_csv(risk_path, ("time", "n_at_risk"))
        rphys = [i + 1 for i, line in enumerate(risk_path.read_text(encoding="utf-8-sig").splitlines())
                 if line.strip() and not line.lstrip().startswith("#")][1:]
        for r, (t, k) in enumerate(zip(rc["time"], rc["n_at_risk"])):
            if t < 0:
                raise ValueError(f"{risk_path}: line {rphys[r]}, column time: negative time {t:g}")
            if k < 0 or k != int(k):
                raise ValueError(f"{risk_path}: line {rphys[r]}, column n_at_risk: {k:g} is not a non-negative integer")
            if r == 0 and t != 0:
                raise ValueError(f"{risk_path}: line {rphys[r]}, column time: the risk table must start at time 0")
            if r > 0 and t <= rc["time"][r - 1]:
                raise ValueError(f"{risk_path}: line {rphys[r]}, column time: times must be strictly increasing")
            if r > 0 and k > rc["n_at_risk"][r - 1]:
                raise ValueError(f"{risk_path}: line {rphys[r]}, column n_at_risk: numbers at risk increase "
                                 f"({int(rc['n_at_risk'][r - 1])} -> {int(k)})")
        risk = pl.DataFrame({"time": rc["time"], "n_at_risk": [int(k) for k in rc["n_at_risk"]]},
                            schema={"time": pl.Float64, "n_at_risk": pl.Int64})
        if meta.get("n_start") is not None and int(meta["n_start"]) != risk["n_at_risk"][0]:
            raise ValueError(f"{meta_path}: field n_start ({meta['n_start']}) differs from the number at risk at "
                             f"time 0 in {risk_path.name} ({risk['n_at_risk'][0]})")
        if meta.get("total_events") is not None and int(meta["total_events"]) > risk["n_at_risk"][0]:
            raise ValueError(f"{meta_path}: field total_events ({meta['total_events']}) exceeds the number at risk at "
                             f"time 0 ({risk['n_at_risk'][0]})")
    elif meta.get("n_start") is None:
        raise ValueError(f"{path}: no risk table ({risk_path.name}) and no n_start in {meta_path.name}; "
                         "the reconstruction needs at least the number of patients at time 0")
    return DigitisedCurve(study=study, outcome=outcome, arm=arm, points=points, risk=risk, meta=dict(meta), path=path)


def load_curves(directory: str | Path = "data/curves", *, known_studies: Iterable[str] | None = None) -> list[DigitisedCurve]:
    """All digitised curves of ``directory`` (sorted by file name); ``[]`` when there are none.

    Every ``*.csv`` other than ``*__risk.csv`` is a curve and is validated by :func:`load_curve`;
    a risk table or YAML sidecar without its curve is an error too.
    """
    d = Path(directory)
    if not d.exists():
        return []
    if not d.is_dir():
        raise ValueError(f"{d}: not a directory")
    curves = []
    stems = set()
    for p in sorted(d.glob("*.csv")):
        if p.name.endswith("__risk.csv"):
            continue
        curves.append(load_curve(p, known_studies=known_studies))
        stems.add(p.stem)
    for p in sorted(d.glob("*__risk.csv")):
        if p.name[: -len("__risk.csv")] not in stems:
            raise ValueError(f"{p}: risk table without its curve {p.name[: -len('__risk.csv')]}.csv")
    for p in sorted(list(d.glob("*.yaml")) + list(d.glob("*.yml"))):
        if p.stem not in stems:
            raise ValueError(f"{p}: metadata sidecar without its curve {p.stem}.csv")
    return curves


# =========================================================================== landmarks for pooling


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


def cloglog(S: float, var_S: float) -> tuple[float, float, str]:
    """Complementary log-log transform of a survival probability with the delta-method variance.

    :math:`y=\\log(-\\log S)`, :math:`Var(y)=Var(S)/(S\\log S)^2` (e.g. Kalbfleisch & Prentice 1980;
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
    """Back-transform :math:`S=\\exp(-\\exp(y))` (vectorised)."""
    out = np.exp(-np.exp(np.asarray(y, dtype=float)))
    return float(out) if np.ndim(out) == 0 else out


def var_from_loglog_ci(S: float, lower: float, upper: float, alpha: float = 0.05) -> float:
    """Var(S) implied by a reported log(-log) confidence interval (inverts :func:`loglog_ci`).

    With :math:`y=\\log(-\\log S)` and the interval :math:`\\exp\\{-\\exp(y\\pm z\\,se_y)\\}`,
    :math:`se_y=\\{\\log(-\\log L)-\\log(-\\log U)\\}/(2z)`, and
    :math:`Var(S)=se_y^2\\,(S\\log S)^2` (delta method).  When one limit is 0 or 1 (cannot be
    transformed) the other gives :math:`se_y=|\\log(-\\log B)-y|/z`.  All values are proportions.
    """
    for name, v in (("S", S), ("lower", lower), ("upper", upper)):
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1] (proportions); got {v}")
    if not lower <= S <= upper:
        raise ValueError(f"the CI {lower}-{upper} does not bracket S = {S}")
    if S <= 0.0 or S >= 1.0:
        return math.nan
    z = _z(alpha)
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
    return se ** 2 * (S * math.log(S)) ** 2


def landmark(data: Any, t: float, *, source: str = SOURCES["data"]) -> LandmarkEstimate:
    """Kaplan-Meier survival at ``t`` with Greenwood variance, and its log(-log) transform.

    :math:`\\hat S(t)=\\prod_{t_j\\le t}(1-d_j/n_j)`, :math:`Var=\\hat S^2\\sum d_j/\\{n_j(n_j-d_j)\\}`
    (Greenwood 1926), :math:`y=\\log(-\\log\\hat S)`, :math:`Var(y)=\\sum d_j/\\{n_j(n_j-d_j)\\}/
    (\\log\\hat S)^2` -- the same quantities as lifelines' log(-log) CI.  ``data`` is a frame with
    ``time``/``event`` or a reconstruction result.  Times after the last observation give NaN.
    """
    if isinstance(data, SummaryReconstruction) and source == SOURCES["data"]:
        source = SOURCES["summary"]
    if isinstance(data, CurveReconstruction) and source == SOURCES["data"]:
        source = SOURCES["curve"]
    tt, ee = _as_arrays(data)
    t = _number(t, "t")
    if t > tt.max():
        return LandmarkEstimate(t, math.nan, math.nan, math.nan, math.nan, math.nan, 0, source,
                                f"t = {t:g} is after the last observed time {tt.max():g}")
    S, gw, nrisk = _km_at_arrays(tt, ee, t)
    var_S = S * S * gw if math.isfinite(gw) else 0.0
    y, vy, reason = cloglog(S, var_S)
    if reason == "" and S < 1.0:
        vy = gw / math.log(S) ** 2  # exact form, avoids cancellation
    return LandmarkEstimate(t, S, var_S, math.sqrt(var_S), y, vy, nrisk, source, reason)


def landmark_from_reported(S: float | str, lower: float | str | None = None, upper: float | str | None = None, *,
                           time: float = math.nan, percent: bool | None = None,
                           alpha: float = 0.05) -> LandmarkEstimate:
    """A reported landmark estimate (optionally with its log(-log) CI) as a :class:`LandmarkEstimate`.

    Values may be printed percentages (``"85.7"``) or proportions; Var(S) comes from
    :func:`var_from_loglog_ci`, so ``vi`` = :math:`se_y^2` directly.  Without a CI, ``vi`` is NaN.
    """
    s = _number(S, "S")
    lo = None if lower is None else _number(lower, "lower")
    hi = None if upper is None else _number(upper, "upper")
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
    """Landmark estimates ready for ``analysis.meta.rma(yi, vi)``, one row per record.

    Each record is a mapping with ``study``, ``arm``, ``outcome``, ``time`` and one of

    * ``result``: a :class:`SummaryReconstruction` (source "reconstructed from reported
      summaries") or :class:`CurveReconstruction` ("reconstructed from published curve");
    * ``data``: a frame with ``time``/``event`` (source "individual patient data" unless a
      ``source`` key says otherwise);
    * ``estimate`` (and optionally ``lower``, ``upper``, ``percent``, ``alpha``): a reported
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
        t = _number(rec["time"], f"records[{i}].time")
        unit = rec.get("time_unit")
        if "estimate" in rec:
            le = landmark_from_reported(rec["estimate"], rec.get("lower"), rec.get("upper"), time=t,
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


# =========================================================================== plotting table


@dataclass
class KMTable:
    """Plot-ready Kaplan-Meier tables (see :func:`km_table`).

    Attributes
    ----------
    steps : polars.DataFrame
        ``time``, ``survival``, ``ci_lower``, ``ci_upper``: the right-continuous step function,
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
    tt, ee = _as_arrays(data)
    kmf = KaplanMeierFitter(alpha=alpha).fit(tt, ee)
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_
    times_all = sf.index.values.astype(float)
    s_all = sf.iloc[:, 0].values
    lo_all = ci.iloc[:, 0].values
    hi_all = ci.iloc[:, 1].values
    ev_times = np.unique(tt[ee == 1])
    keep = np.isin(times_all, ev_times) | (times_all == 0.0) | (times_all == times_all.max())
    steps = pl.DataFrame({"time": times_all[keep], "survival": s_all[keep], "ci_lower": lo_all[keep],
                          "ci_upper": hi_all[keep]})
    ct = np.sort(tt[ee == 0])
    idx = np.searchsorted(times_all, ct, side="right") - 1
    censored = pl.DataFrame({"time": ct, "survival": s_all[idx]}, schema={"time": pl.Float64, "survival": pl.Float64})
    if at_risk_times is None:
        at_risk_times = np.linspace(0.0, float(tt.max()), max(int(n_ticks), 2))
    art = np.asarray([_number(x, "at_risk_times") for x in at_risk_times], dtype=float)
    at_risk = pl.DataFrame({"time": art, "n_at_risk": np.array([int(np.sum(tt >= a)) for a in art], dtype=np.int64)})
    out = KMTable(steps, censored, at_risk)
    return out.with_label(**labels) if labels else out

"""Pseudo individual-patient data reproducing reported survival summaries (small series).

:func:`from_summary` runs five named steps:

1. :func:`~.inputs.parse_summary` checks the report (landmarks, known deaths, events, follow-up);
2. :class:`~.search.ConfigurationSearch` enumerates every consistent configuration (retrying
   without the CI constraint when no configuration reproduces a printed CI);
3. :func:`choose_configuration` picks one (explicit rule, seeded);
4. :meth:`~.windows.TimeWindows.assign_times` places its times;
5. the tables of the result: :func:`configurations_table`, :func:`envelope_table`,
   :func:`checks_table` and :func:`explain` (notes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from .._util import decimals_of, number
from .inputs import FollowUp, Landmark, Summary, parse_summary
from .km import fit_km, km_at, km_steps
from .search import Configuration, ConfigurationSearch, km_configurations
from .windows import TimeWindows

if TYPE_CHECKING:
    from lifelines import KaplanMeierFitter

__all__ = ["SummaryReconstruction", "from_summary", "choose_configuration", "configurations_table",
           "envelope_table", "checks_table"]


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
        ``reconstructed``, ``reported_low``, ``reported_high``, ``reconstructed_low``,
        ``reconstructed_high``, ``tolerance``, ``match``.  Survival values are proportions.
    envelope : polars.DataFrame
        ``time``, ``s_min``, ``s_max`` (range of S(t) over every dataset consistent with the
        summary: all consistent configurations, each with its deaths as early / as late as the
        reported constraints allow) and ``reconstructed`` (the chosen dataset's S(t)).
    n_consistent : int
        Number of consistent configurations (orderings of deaths and censorings relative to
        the landmarks, known deaths and follow-up anchors); a lower bound when ``truncated``.
    notes : list of str
        The choices made (implied censoring, placement of unknown times, seed, ...).
    configurations : polars.DataFrame
        One row per consistent configuration (``config``, ``pattern``, ``prefix``, ``events``,
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
        n_distinct = self.configurations["prefix"].n_unique() if self.configurations.height else 0
        return pl.DataFrame({
            "label": [self.label or ""], "n": [int(len(t))], "events": [int(e.sum())],
            "censored": [int(len(t) - e.sum())], "n_consistent": [int(self.n_consistent)],
            "n_distinct_up_to_last_landmark": [int(n_distinct)], "truncated": [bool(self.truncated)],
            "all_checks_match": [self.all_match], "max_time": [float(t.max()) if len(t) else math.nan],
            "time_unit": [self.time_unit],
        })

    def __str__(self) -> str:
        head = (f"SummaryReconstruction{f' [{self.label}]' if self.label else ''}: "
                f"n={self.data.height}, events={int(self.data['event'].sum())}, "
                f"{self.n_consistent}{'+' if self.truncated else ''} consistent configuration(s), "
                f"all checks match: {self.all_match} (time unit: {self.time_unit})")
        lines = [head]
        for r in self.checks.iter_rows(named=True):
            ci = ""
            if r["reported_low"] is not None:
                ci = (f"; CI {r['reported_low']:.4g}-{r['reported_high']:.4g} vs "
                      f"{r['reconstructed_low']:.4g}-{r['reconstructed_high']:.4g}")
            lines.append(f"  {r['item']}: reported {r['reported']:.4g}, reconstructed "
                         f"{r['reconstructed']:.4g}{ci} -> {'match' if r['match'] else 'MISMATCH'}")
        lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return self.__str__()

    def print_summary(self) -> None:
        print(self)


# ----------------------------------------------------------------------------- step 3: choose


def censored_before_last_landmark(cfg: Configuration, K: int) -> int:
    return sum(1 for c, j in zip(cfg[0], cfg[1]) if c == "C" and j < K)


def choose_configuration(found: list[Configuration], K: int, choose: str, rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Index of the chosen configuration and the censorings-before-last-landmark of each.

    ``"parsimonious"``: fewest censorings before the last landmark (the least implied
    censoring), ties broken by ``rng``; ``"random"``: any consistent configuration, by ``rng``.
    """
    cb = np.array([censored_before_last_landmark(c, K) for c in found])
    cand = np.flatnonzero(cb == cb.min()) if choose == "parsimonious" else np.arange(len(found))
    pick = int(cand[rng.integers(len(cand))]) if len(cand) > 1 else int(cand[0])
    return pick, cb


# ----------------------------------------------------------------------------- step 5: tables


def pattern(cfg: Configuration, K: int) -> str:
    """The configuration as letters with '|' at each landmark, e.g. "K C C | C C C C"."""
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


def configurations_table(found: list[Configuration], K: int, cb: np.ndarray, pick: int) -> pl.DataFrame:
    """One row per consistent configuration (see :class:`SummaryReconstruction`)."""
    pats = [pattern(c, K) for c in found]
    return pl.DataFrame({
        "config": np.arange(len(found), dtype=np.int64),
        "pattern": pats,
        "prefix": [p.rsplit("|", 1)[0] if K else "" for p in pats],
        "events": [sum(1 for x in c[0] if x != "C") for c in found],
        "censored_before_last_landmark": cb.astype(np.int64),
        "S_at_landmarks": [list(c[2]) for c in found],
        "chosen": np.arange(len(found)) == pick,
    }, schema={"config": pl.Int64, "pattern": pl.Utf8, "prefix": pl.Utf8, "events": pl.Int64,
               "censored_before_last_landmark": pl.Int64, "S_at_landmarks": pl.List(pl.Float64), "chosen": pl.Boolean})


def envelope_bounds(found: list[Configuration], windows: TimeWindows, n: int, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise min and max of S(t) over the configurations, deaths as early / as late as allowed."""
    env_lo = np.ones_like(grid)
    env_hi = np.zeros_like(grid)
    for letters, ints, _ in found:
        lo, hi = windows.windows(letters, ints)  # type: ignore[misc]
        idx = [i for i, c in enumerate(letters) if c != "C"]
        f = np.array([(n - i - 1) / (n - i) for i in idx])
        cum = np.concatenate([[0.0], np.cumsum(np.log(np.where(f > 0, f, 1e-300)))])
        e_lo = lo[idx] if idx else np.array([])
        e_hi = hi[idx] if idx else np.array([])
        s_low = np.exp(cum[np.searchsorted(e_lo, grid, side="right")])
        s_up = np.exp(cum[np.searchsorted(e_hi, grid, side="right")])
        s_low[s_low < 1e-250] = 0.0
        s_up[s_up < 1e-250] = 0.0
        env_lo = np.minimum(env_lo, s_low)
        env_hi = np.maximum(env_hi, s_up)
    return env_lo, env_hi


def default_grid(summary: Summary, grid: Sequence[float] | None = None) -> np.ndarray:
    """201 points on [0, horizon] plus landmarks and known deaths, or the given times."""
    if grid is None:
        return np.unique(np.concatenate([np.linspace(0.0, summary.horizon, 201),
                                         [tg.time for tg in summary.targets], list(summary.known)]))
    return np.unique(np.asarray([number(x, "grid") for x in grid], dtype=float))


def envelope_table(found, windows: TimeWindows, summary: Summary, kmf: KaplanMeierFitter, grid=None) -> pl.DataFrame:
    """``time``, ``s_min``, ``s_max`` (envelope over the configurations) and ``reconstructed``."""
    g = default_grid(summary, grid)
    lo, hi = envelope_bounds(found, windows, summary.n, g)
    return pl.DataFrame({"time": g, "s_min": lo, "s_max": hi, "reconstructed": km_steps(kmf, g)})


def checks_table(summary: Summary, kmf: KaplanMeierFitter, tt: np.ndarray, ev: np.ndarray) -> pl.DataFrame:
    """Every reported figure against the lifelines fit of the chosen dataset."""
    rows = []
    none = {"reported_low": None, "reported_high": None, "reconstructed_low": None, "reconstructed_high": None}
    for tg in summary.targets:
        S, lo, hi = km_at(kmf, tg.time)
        ok = abs(S - tg.S) <= tg.tol
        if tg.ci_low is not None:
            ok = ok and abs(lo - tg.ci_low) <= tg.ci_tol and abs(hi - tg.ci_high) <= tg.ci_tol
        rows.append({"item": tg.label, "time": tg.time, "reported": tg.S, "reconstructed": S,
                     "reported_low": tg.ci_low, "reported_high": tg.ci_high,
                     "reconstructed_low": lo if tg.ci_low is not None else None,
                     "reconstructed_high": hi if tg.ci_low is not None else None,
                     "tolerance": tg.tol, "match": bool(ok)})
    if summary.n_events is not None:
        rows.append({"item": "events", "time": None, "reported": float(summary.n_events),
                     "reconstructed": float(ev.sum()), **none, "tolerance": 0.0, "match": int(ev.sum()) == summary.n_events})
    fu = summary.followup
    if fu is not None:
        subset = tt if summary.of == "all" else tt[ev == 0]
        for name, rep, fn in (("follow-up minimum", fu.minimum, np.min), ("follow-up median", fu.median, np.median),
                              ("follow-up maximum", fu.maximum, np.max)):
            if rep is None:
                continue
            tol = 0.5 * 10.0 ** (-decimals_of(rep)) + 1e-9
            val = float(fn(subset)) if len(subset) else math.nan
            rows.append({"item": name + ("" if summary.of == "all" else " (censored)"), "time": None,
                         "reported": number(rep, name), "reconstructed": val, **none,
                         "tolerance": tol, "match": bool(abs(val - number(rep, name)) <= tol)})
    schema = {"item": pl.Utf8, "time": pl.Float64, "reported": pl.Float64, "reconstructed": pl.Float64,
              "reported_low": pl.Float64, "reported_high": pl.Float64, "reconstructed_low": pl.Float64,
              "reconstructed_high": pl.Float64, "tolerance": pl.Float64, "match": pl.Boolean}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def _landmark_note(tg, n: int) -> str:
    pct = "%" if tg.scale == 100 else ""
    kk = [k for k in range(n + 1) if abs(k / n - tg.S) <= tg.tol]
    if kk:
        return (f"{tg.label} = {tg.text}{pct} is k/n for k = {', '.join(map(str, kk))} (n = {n}): a curve without "
                f"censoring before t = {tg.time:g} could give it.")
    try:
        cf = km_configurations(n, tg.text, percent=tg.scale == 100, decimals=decimals_of(tg.text), max_events=6,
                               max_rows=1000)
    except ValueError:
        cf = None
    ex = "" if cf is None or not cf.height else "; e.g. " + ", ".join(
        f"{r['fraction']} (at risk {r['at_risk']}, >= {r['censored_before_last_event']} censored)"
        for r in cf.head(3).iter_rows(named=True))
    return (f"{tg.label} = {tg.text}{pct} is not k/{n} for any k: only a Kaplan-Meier curve with censoring before "
            f"t = {tg.time:g} gives it{ex}.")


def explain(search: ConfigurationSearch, summary: Summary, configs: pl.DataFrame, pick: int, cb: np.ndarray,
            chosen: Configuration, ev: np.ndarray, *, relaxed: bool, choose: str, times: str, seed: int,
            time_unit: str) -> list[str]:
    """The notes of a reconstruction: consistency count, landmark readings, the choices made."""
    K, found, n = len(summary.targets), search.found, summary.n
    notes = [f"{len(found)}{'+ (enumeration truncated)' if search.truncated else ''} configuration(s) (orderings of "
             "deaths and censorings relative to the landmarks, known deaths and follow-up anchors) are consistent with "
             "the summary" + (f"; {configs['prefix'].n_unique()} distinct up to the last landmark." if K else ".")]
    if relaxed:
        notes.append("No configuration reproduces the reported CI(s) as a log(-log) Greenwood interval; "
                     "the CI constraint was dropped (the report may use another interval, e.g. plain or "
                     "log Greenwood, or another software).")
    if search.truncated:
        notes.append(f"Enumeration stopped (max_configurations={search.max_configurations}, max_nodes="
                     f"{search.max_nodes}): n_consistent is a lower bound and the envelope and the choice cover the "
                     "depth-first enumerated configurations only; add constraints (events, follow-up) or use guyot().")
    notes += [_landmark_note(tg, n) for tg in summary.targets]
    if K:
        notes.append(f"Chosen configuration #{pick} ({pattern(chosen, K)}; '|' marks the landmarks) by rule "
                     f"'{choose}' with seed {seed}: {int(ev.sum())} death(s), {int(cb[pick])} implied censoring(s) before "
                     f"the last landmark{' (minimum over consistent configurations)' if choose == 'parsimonious' else ''}.")
    else:
        notes.append(f"No landmark estimate reported: the {len(found)} configurations are equally consistent and "
                     f"configuration #{pick} ({pattern(chosen, K)}) was drawn with seed {seed}; only the envelope "
                     "is informative.")
    unknown = sum(1 for c in chosen[0] if c == "E")
    placement = ("interpolated linearly between the pinned anchors (known deaths, follow-up minimum/median/"
                 "maximum) and clipped to their windows" if times == "even"
                 else f"drawn uniformly within their windows (seed {seed})")
    horizon = (" (reported maximum follow-up)" if summary.horizon_is_reported
               else " (assumed: no maximum follow-up of all patients reported)")
    notes.append(f"Times not reported ({unknown} death(s) of unknown time, {int((ev == 0).sum())} censoring(s)) were "
                 f"{placement}; horizon {summary.horizon:g} {time_unit}{horizon}.")
    if summary.n_events is None:
        notes.append("The total number of events is not reported: events after the last landmark are unconstrained "
                     "(the envelope after it spans every possibility).")
    return notes


# ----------------------------------------------------------------------------- from_summary


def consistent_configurations(summary: Summary, windows: TimeWindows, *, require_ci: bool, alpha: float,
                              max_configurations: int, max_nodes: int) -> tuple[ConfigurationSearch, bool]:
    """Step 2: enumerate; without the CI constraint when no configuration reproduces a printed CI.

    Returns the finished search and whether the CI constraint was dropped.
    """
    search = ConfigurationSearch(summary, windows, require_ci=require_ci, alpha=alpha,
                                 max_configurations=max_configurations, max_nodes=max_nodes).run()
    relaxed = False
    if not search.found and require_ci and any(tg.ci_low is not None for tg in summary.targets):
        search.require_ci = False
        search.run()
        relaxed = bool(search.found)
    if not search.found:
        raise ValueError(
            "no dataset of n={} patients is consistent with the reported summary ({}); check the inputs "
            "(landmark precision, event counts, follow-up, units)".format(
                summary.n, ", ".join(f"{tg.label}={tg.text}" for tg in summary.targets) or "no landmarks"))
    return search, relaxed


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
    configurations are enumerated depth first (:class:`~.search.ConfigurationSearch`), and a
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
    window allows.  The chosen dataset is fitted with lifelines and every reported figure is
    checked against it.

    Parameters
    ----------
    n : int
        Patients at risk at time 0.
    landmarks : iterable of Landmark (or mapping / tuple ``(time, estimate[, ci_low, ci_high])``)
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
    if choose not in ("parsimonious", "random"):
        raise ValueError(f"choose must be 'parsimonious' or 'random'; got {choose!r}")
    if times not in ("even", "random"):
        raise ValueError(f"times must be 'even' or 'random'; got {times!r}")
    summary = parse_summary(n, landmarks, event_times, n_events, followup, horizon)
    windows = TimeWindows(summary)
    search, relaxed = consistent_configurations(summary, windows, require_ci=require_ci, alpha=alpha,
                                                max_configurations=max_configurations, max_nodes=max_nodes)
    rng = np.random.default_rng(seed)
    K = len(summary.targets)
    pick, cb = choose_configuration(search.found, K, choose, rng)
    chosen = search.found[pick]
    tt = windows.assign_times(chosen[0], chosen[1], times, rng)
    ev = np.array([0 if c == "C" else 1 for c in chosen[0]], dtype=np.int64)
    data = pl.DataFrame({"time": tt.astype(float), "event": ev}, schema={"time": pl.Float64, "event": pl.Int64})
    kmf = fit_km(data, alpha=alpha, label=label)
    configs = configurations_table(search.found, K, cb, pick)
    notes = explain(search, summary, configs, pick, cb, chosen, ev, relaxed=relaxed, choose=choose, times=times,
                    seed=seed, time_unit=time_unit)
    return SummaryReconstruction(
        data=data, kmf=kmf, checks=checks_table(summary, kmf, tt, ev),
        envelope=envelope_table(search.found, windows, summary, kmf, grid), n_consistent=len(search.found),
        notes=notes, configurations=configs, time_unit=time_unit, label=label, truncated=search.truncated, alpha=alpha)

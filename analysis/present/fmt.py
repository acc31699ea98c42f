"""Numbers, summaries and reported figures as a reader reads them (plain text, not yet escaped)."""
from __future__ import annotations

from ..review.schema import Summary

PUBLICATION = {"full_paper": "Full paper", "conference_abstract": "Conference abstract",
               "secondary_report": "Secondary report (authors' summary of a paper)"}
DESIGN = {"prospective_trial": "Prospective trial", "retrospective_series": "Retrospective series",
          "comparative_cohort": "Comparative cohort (non-randomised)"}
#: what part of a report the review's extraction read (the study file's extracted_from.part)
PART = {"abstract": "abstract only", "full_text": "full text", "conference_abstract": "conference abstract",
        "secondary_report": "authors' secondary report"}
FIT = {"direct": "B-ALL relapsed after allo-HSCT (review population)",
       "partial": "Partly the review population", "outside": "Outside the review population"}


def num(x: float | None) -> str:
    """A number as briefly as it can be printed (``12``, ``3.5``); empty for None."""
    return "" if x is None else f"{x:g}"


def pct(x: float | None, digits: int = 1) -> str:
    """A proportion in [0, 1] as a percentage: ``pct(0.4286) == "42.9%"``; empty for None."""
    return "" if x is None else f"{100 * x:.{digits}f}%"


def summary_text(x: Summary | None) -> str:
    """As a reader reads it: ``median 19 (range 3–61) years, all 37 patients``."""
    if x is None:
        return "not reported"
    s = f"median {x.median:g}" if x.median is not None else ""
    if x.low is not None or x.high is not None:
        s += f" (range {'?' if x.low is None else f'{x.low:g}'}–{'?' if x.high is None else f'{x.high:g}'})"
    s = f"{s} {x.unit}".strip()
    return s + (f", {x.of}" if x.of else "")


def measure_text(m) -> str:
    """A :class:`analysis.review.schema.Measure` as ``median 11 (range 7–20) days``."""
    rng = ""
    if m.low is not None or m.high is not None:
        rng = f" (range {num(m.low) if m.low is not None else '?'}–{num(m.high) if m.high is not None else '?'})"
    return f"{m.statistic} {num(m.value)}{rng} {m.unit}".replace("value ", "")


def reported_text(r: dict) -> str:
    """A record's figure (a row of ``Review.outcomes``) as the report printed it."""
    est = r["estimator"]
    ci = f"; 95% CI {r['ci_low']}–{r['ci_high']}" if r["ci_low"] is not None else ""
    if est == "proportion":
        count = f"{r['events']}/{r['denominator']}" if r["events"] is not None else f"n = {r['denominator']}"
        pc = f" ({r['percent']}%{ci})" if r["percent"] is not None else (f" ({ci[2:]})" if ci else "")
        return count + pc
    if est in ("km_landmark", "cumulative_incidence"):
        return f"{r['percent']}% at {num(r['time'])} {r['time_unit']}" + (f" ({ci[2:]})" if ci else "")
    if r["median"] is None:
        return r["flag_notes"] or "not reported"
    rng = f" (range {num(r['range_low'])}–{num(r['range_high'])})" if r["range_low"] is not None else ""
    return f"median {num(r['median'])}{rng} {r['time_unit']}" + (f" ({ci[2:]})" if ci else "")


def period_text(start: str | None, end: str | None) -> str | None:
    """An enrolment period as ``2017-04 to 2020-05`` (None when neither end is known)."""
    return None if start is None and end is None else f"{start or '?'} to {end or '?'}"

"""Semantic checks of one study file (the second layer of validation, after the schema).

:func:`check_study` returns ``(field path, message)`` pairs; the loader turns them into
:class:`analysis.review.schema.Problem` records naming the file and the study.  Every check
runs in time independent of the numbers in the file: the counts consistent with a printed
percentage are an interval computed in O(1) (:func:`count_interval`), never an enumeration.
"""
from __future__ import annotations

import re
from decimal import Decimal

from ..stats.grim import count_interval
from ..stats.units import DAYS
from .schema import (CHARACTERISTICS, MAX_COUNT, OUTCOME_GRADES, OUTCOMES, SCALE_DOMAIN, SCALE_MAX_GRADE, SCALES,
                     Outcome, Study, Summary, decimals, short, texts)

#: estimators whose printed percentage cannot rise (survival) or fall (cumulative incidence) with later landmarks
MONOTONE = {"km_landmark": "fall", "cumulative_incidence": "rise"}


def _pr(printed: str) -> str:
    """A printed number for a message, cut short when it is absurdly long."""
    return printed if len(printed) <= 24 else printed[:24] + "..."


def _num(x: str | float) -> str:
    d = Decimal(str(x))
    return str(int(d)) if d == d.to_integral_value() else str(d)


def _count_problems(study: Study) -> tuple[list[tuple[str, str]], set[int]]:
    """Counts outside 0..MAX_COUNT (and an implausible year); returns the problems and the outcome
    records whose numbers must not be checked further."""
    out: list[tuple[str, str]] = []
    skip: set[int] = set()

    def bound(path: str, v: int | None) -> bool:
        if v is None or 0 <= v <= MAX_COUNT:
            return True
        out.append((path, f"{short(v)} is negative" if v < 0 else f"{short(v)} is larger than {MAX_COUNT:,}: not a plausible count"))
        return False

    pop = study.population
    for name in ("n_enrolled", "n_leukapheresed", "n_infused", "n_evaluable"):
        c = getattr(pop, name)
        bound(f"population.{name}.value", c.value if c else None)
    bound("centres.value", study.centres.value if study.centres else None)
    for i, d in enumerate(pop.diagnoses):
        bound(f"population.diagnoses[{i}].count", d.count)
    for i, a in enumerate(study.arms):
        if not bound(f"arms[{i}].n.value", a.n.value):
            skip.update(j for j, o in enumerate(study.outcomes) if o.arm == a.id)
    for i, d in enumerate(study.donor_types):
        bound(f"donor_types[{i}].count", d.count)
    for i, rc in enumerate(study.reconstruction):
        bound(f"reconstruction[{i}].n_events", rc.n_events)
    for i, o in enumerate(study.outcomes):
        ok = [bound(f"outcomes[{i}].{name}", getattr(o, name)) for name in ("events", "denominator")]
        if not all(ok):
            skip.add(i)
    if not 1900 <= study.citation.year <= 2100:
        out.append(("citation.year", f"{short(study.citation.year)} is not a publication year (1900-2100)"))
    return out, skip


def _placeholder_problems(study: Study) -> list[tuple[str, str]]:
    """A ``TODO`` left from the skeleton of ``python -m analysis new-study``."""
    return [(path, "placeholder TODO left from the study skeleton") for path, _, text in texts(study)
            if re.search(r"\bTODO\b", text)]


def _citation_problems(study: Study) -> list[tuple[str, str]]:
    """Citation text goes into the generated BibTeX, which cannot hold braces literally."""
    c = study.citation
    texts = [(f"citation.authors[{i}]", a) for i, a in enumerate(c.authors)]
    texts += [(f"citation.{k}", getattr(c, k)) for k in ("title", "journal", "volume", "issue", "pages")]
    texts += [(f"citation.registry[{i}]", r) for i, r in enumerate(c.registry)]
    return [(path, "braces { } cannot be written in a bibliography field") for path, text in texts
            if text is not None and ("{" in text or "}" in text)]


def _range_problems(path: str, median: float | None, low: float | None, high: float | None,
                    nonnegative: bool) -> list[tuple[str, str]]:
    """A median (or value) with its range: non-negative when it is a time, age or dose; low <= median <= high."""
    out = []
    names = {"median": median, "low": low, "high": high}
    if nonnegative:
        out += [(f"{path}{k}", f"{_num(v)} is negative") for k, v in names.items() if v is not None and v < 0]
    if low is not None and high is not None and low > high:
        out.append((f"{path}low", f"range {_num(low)}-{_num(high)}: low is above high"))
    elif median is not None and ((low is not None and median < low) or (high is not None and median > high)):
        out.append((f"{path}median", f"{_num(median)} is outside its range {_num(low) if low is not None else '?'}-"
                    f"{_num(high) if high is not None else '?'}"))
    return out


def _summary_problems(study: Study) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    summaries: list[tuple[str, Summary | None]] = [("population.age", study.population.age),
                                                   ("dose", study.dose), ("follow_up", study.follow_up)]
    for path, s in summaries:
        if s is not None:
            out += _range_problems(f"{path}.", s.median, s.low, s.high, nonnegative=True)
    measures = [(f"measures[{i}]", m) for i, m in enumerate(study.measures)]
    measures += [(f"population.disease_burden[{i}]", m) for i, m in enumerate(study.population.disease_burden)]
    for path, m in measures:
        out += _range_problems(f"{path}.", m.value if m.statistic == "median" else None, m.low, m.high,
                               nonnegative=False)
    for i, rc in enumerate(study.reconstruction):
        if any(t < 0 for t in rc.event_times):
            out.append((f"reconstruction[{i}].event_times", "negative time"))
    return out


def _grade_problems(study: Study, i: int, o: Outcome) -> list[tuple[str, str]]:
    """Grades a record names must lie on its scale and within the grades its outcome name fixes."""
    if o.grades is None:
        return []
    p = f"outcomes[{i}].grades"
    domain = SCALE_DOMAIN.get(o.outcome.split("_")[0])
    if domain is None:
        return [(p, f"{o.outcome!r} is not a graded toxicity")]
    scale = o.scale or getattr(study.grading, domain)
    top = SCALE_MAX_GRADE.get(scale, max(SCALE_MAX_GRADE.get(s, 0) for s in SCALES[domain]))
    g = o.grades
    if g.low < 1 or g.low > top:
        return [(f"{p}.low", f"grade {g.low} is outside the {scale} scale (grades 1-{top})")]
    if g.high is not None and (g.high < g.low or g.high > top):
        return [(f"{p}.high", f"grade {g.high} is outside {g.low}-{top} (the {scale} scale has grades 1-{top})")]
    lo, hi = OUTCOME_GRADES.get(o.outcome, (1, None))
    if g.low < lo or (hi is not None and (g.high is None or g.high > hi)):
        want = f"{lo}" if lo == hi else f"{lo} or higher" if hi is None else f"{lo}-{hi}"
        return [(p, f"{o.outcome!r} counts grade {want}; the record names {g.low}-{g.high or 'higher'}")]
    return []


#: estimators whose printed interval is of a median time (in the record's time unit), not a percentage
MEDIAN_ESTIMATORS = ("km_median", "descriptive_median")


def _percent_problems(p: str, o: Outcome) -> list[tuple[str, str]]:
    """A printed percentage against its count and denominator (GRIM-style, O(1))."""
    out: list[tuple[str, str]] = []
    ev, den = o.events, o.denominator
    pct = Decimal(o.percent) if o.percent is not None else None
    if pct is not None and pct > 100:
        out.append((f"{p}.percent", f"{_pr(o.percent)} is outside 0-100"))
        pct = None
    flagged = {f.kind for f in o.flags}
    if pct is not None and o.estimator == "proportion" and den is not None and den > 0 and (ev is None or ev <= den):
        d = decimals(o.percent)
        lo, hi = count_interval(o.percent, den, d)
        explained = "percent_not_reproducible" in flagged
        if ev is not None and not lo <= ev <= hi and not explained:
            out.append((f"{p}.percent", f"{_pr(o.percent)}% is not {ev}/{den} (= {100 * ev / den:.{min(d, 8) + 2}f}%) "
                        "at the printed precision"))
        elif ev is None and lo > hi and not explained:
            out.append((f"{p}.percent", f"no integer count of {den} gives {_pr(o.percent)}% at {d} decimals"))
        elif explained and lo <= hi and (ev is None or lo <= ev <= hi):
            out.append((f"{p}.flags", "flagged percent_not_reproducible, but the percentage is reproducible"))
    if o.ci is not None:
        lo_ci, hi_ci = Decimal(o.ci.low), Decimal(o.ci.high)
        if o.estimator in MEDIAN_ESTIMATORS:  # the interval of a median time, in its time unit
            if lo_ci > hi_ci:
                out.append((f"{p}.ci", f"lower limit {_pr(o.ci.low)} is above upper limit {_pr(o.ci.high)}"))
            elif o.median is not None and not lo_ci <= Decimal(repr(o.median)) <= hi_ci:
                out.append((f"{p}.ci", f"({_pr(o.ci.low)}, {_pr(o.ci.high)}) does not contain the median {o.median:g}"))
        elif hi_ci > 100:
            out.append((f"{p}.ci.high", f"{_pr(o.ci.high)} is above 100"))
        elif lo_ci > hi_ci:
            out.append((f"{p}.ci", f"lower limit {_pr(o.ci.low)} is above upper limit {_pr(o.ci.high)}"))
        elif pct is not None and not (lo_ci <= pct <= hi_ci):
            out.append((f"{p}.ci", f"({_pr(o.ci.low)}, {_pr(o.ci.high)}) does not contain the estimate {_pr(o.percent)}"))
    return out


def _outcome_problems(study: Study, i: int, o: Outcome) -> list[tuple[str, str]]:
    """Checks of one outcome record whose counts are within bounds and whose arm is declared."""
    p = f"outcomes[{i}]"
    out: list[tuple[str, str]] = []
    add = lambda path, msg: out.append((path, msg))  # noqa: E731
    allowed = OUTCOMES[o.outcome][2]
    if o.estimator not in allowed:
        add(f"{p}.estimator", f"{o.estimator!r} is not an estimator for {o.outcome!r} (allowed: {', '.join(allowed)})")
    domain = SCALE_DOMAIN.get(o.outcome.split("_")[0])
    if o.scale is not None and (domain is None or o.scale not in SCALES[domain]):
        add(f"{p}.scale", f"unknown grading scale {o.scale!r} for {o.outcome!r}")
    else:
        out += _grade_problems(study, i, o)
    flagged = {f.kind for f in o.flags}
    ev, den = o.events, o.denominator
    n_arm = next(a.n.value for a in study.arms if a.id == o.arm)
    if den is not None and den == 0:
        add(f"{p}.denominator", "is zero")
        return out
    if den is not None and den > n_arm:
        # checked before any arithmetic on the percentage: a huge denominator is refused here
        add(f"{p}.denominator", f"{den} is larger than the arm's n {n_arm} ({o.arm})")
        return out
    if ev is not None and den is not None and ev > den:
        add(f"{p}.events", f"{ev} is larger than denominator {den}")
    if o.estimator == "proportion" and ev is not None and den is None:
        add(f"{p}.denominator", "a proportion needs a denominator")
    if den is not None and o.denominator_kind is None:
        add(f"{p}.denominator_kind", "missing: say whether the denominator is enrolled, infused, evaluable, in CR ...")
    out += _percent_problems(p, o)
    if o.estimator in MONOTONE:
        if o.time is None or o.time_unit is None:
            add(f"{p}.time", f"a {o.estimator} estimate needs the landmark time and time_unit")
        if o.percent is None:
            add(f"{p}.percent", f"a {o.estimator} estimate needs the printed percentage")
    if o.estimator in ("descriptive_median", "km_median") and o.median is None and "not_reported" not in flagged:
        add(f"{p}.median", f"a {o.estimator} needs the median (or a not_reported flag, e.g. 'not reached')")
    if o.median is not None and o.time_unit is None:
        add(f"{p}.time_unit", "a median needs its time_unit")
    if o.time is not None and o.time < 0:
        add(f"{p}.time", f"{_num(o.time)} is negative")
    timed = o.time_unit is not None or OUTCOMES[o.outcome][1] == "survival"
    out += [(path.replace(".range_median", ".median"), msg) for path, msg in
            _range_problems(f"{p}.range_", o.median, o.range_low, o.range_high, nonnegative=timed)]
    return out


def _monotone_problems(study: Study, valid: set[int]) -> list[tuple[str, str]]:
    """Within one outcome, arm and denominator, survival must not rise and cumulative incidence must not
    fall with later landmarks."""
    groups: dict[tuple, list[tuple[float, int, Outcome]]] = {}
    for i in sorted(valid):
        o = study.outcomes[i]
        if o.estimator in MONOTONE and o.time is not None and o.time_unit is not None and o.percent is not None:
            key = (o.outcome, o.arm, o.estimator, o.denominator_kind, o.denominator)
            groups.setdefault(key, []).append((o.time * DAYS[o.time_unit], i, o))
    out = []
    for (outcome, arm, estimator, _, _), recs in groups.items():
        recs.sort(key=lambda r: r[0])
        for (t0, i0, o0), (t1, i1, o1) in zip(recs, recs[1:]):
            before, after = Decimal(o0.percent), Decimal(o1.percent)
            if t1 > t0 and (after > before if MONOTONE[estimator] == "fall" else after < before):
                what = "survival cannot rise" if MONOTONE[estimator] == "fall" else "a cumulative incidence cannot fall"
                out.append((f"outcomes[{i1}].percent",
                            f"{o1.percent}% at {_num(o1.time)} {o1.time_unit} vs {o0.percent}% at {_num(o0.time)} "
                            f"{o0.time_unit} (outcomes[{i0}]): {what} over time ({outcome}, {arm})"))
    return out


def check_study(study: Study) -> list[tuple[str, str]]:
    """Semantic checks of one study; returns ``(field path, message)`` pairs.

    Rules
    -----
    * arm ids unique; every ``arm`` reference (outcomes, donor types, measures, comparison
      groups, ``parts``) names a declared arm;
    * outcome names, estimators and grading scales come from the vocabularies; grades a record
      names lie on its scale (:data:`analysis.review.schema.SCALE_MAX_GRADE`) and within those
      its outcome name fixes;
    * counts lie in 0..:data:`~analysis.review.schema.MAX_COUNT`; events <= denominator <= the
      arm's n (the denominator is compared with n before any other arithmetic);
    * a printed percentage must be produced by ``events/denominator`` at the printed
      precision, or (without events) by *some* integer count of the denominator
      (:func:`count_interval`, O(1)) -- unless the record carries a
      ``percent_not_reproducible`` flag explaining why (Hua 2020's "23.07 %" of 13);
    * printed confidence limits lie in 0-100 and bracket the estimate; p-values lie in 0-1;
    * times, ages, doses and follow-up are non-negative, ranges have low <= median <= high;
    * landmark estimators need a time and unit; descriptive medians need a median; within one
      outcome, arm and denominator, Kaplan-Meier survival does not rise and cumulative
      incidence does not fall with later landmarks.
    """
    problems, skip = _count_problems(study)
    add = lambda path, msg: problems.append((path, msg))  # noqa: E731

    arm_ids = [a.id for a in study.arms]
    arms = {a.id: a for a in study.arms}
    for i, arm in enumerate(study.arms):
        if arm_ids.count(arm.id) > 1 and arm_ids.index(arm.id) != i:
            add(f"arms[{i}].id", f"duplicate arm id {arm.id!r}")
        for name, coded in arm.characteristics.items():
            if name not in CHARACTERISTICS:
                add(f"arms[{i}].characteristics.{name}", f"unknown characteristic (known: {', '.join(CHARACTERISTICS)})")
            elif coded.value not in CHARACTERISTICS[name]:
                add(f"arms[{i}].characteristics.{name}.value",
                    f"{coded.value!r} is not one of {', '.join(CHARACTERISTICS[name])}")
            elif coded.source is None and coded.note is None:
                add(f"arms[{i}].characteristics.{name}", "give the quote it rests on (source) or how it follows (note)")
        for j, part in enumerate(arm.parts):
            if part not in arms:
                add(f"arms[{i}].parts[{j}]", f"unknown arm {part!r} (declared: {', '.join(arm_ids)})")

    def known_arm(path: str, arm: str | None) -> bool:
        if arm is not None and arm not in arms:
            add(path, f"unknown arm {arm!r} (declared: {', '.join(arm_ids)})")
            return False
        return True

    for i, d in enumerate(study.donor_types):
        known_arm(f"donor_types[{i}].arm", d.arm)
    for i, m in enumerate(study.measures):
        known_arm(f"measures[{i}].arm", m.arm)
    for i, c in enumerate(study.comparisons):
        if c.outcome not in OUTCOMES and not any(m.name == c.outcome for m in study.measures):
            add(f"comparisons[{i}].outcome", f"unknown outcome or measure {c.outcome!r}")
        for j, g in enumerate(c.groups):
            known_arm(f"comparisons[{i}].groups[{j}]", g)
        if Decimal(c.p_value) > 1:
            add(f"comparisons[{i}].p_value", f"{c.p_value} is not a p-value (above 1)")
    for domain in ("crs", "icans", "gvhd"):
        value = getattr(study.grading, domain)
        if value not in SCALES[domain]:
            add(f"grading.{domain}", f"unknown {domain.upper()} grading scale {value!r} "
                f"(known: {', '.join(SCALES[domain])})")
    for i, rc in enumerate(study.reconstruction):
        if rc.outcome not in OUTCOMES or OUTCOMES[rc.outcome][1] != "survival":
            add(f"reconstruction[{i}].outcome", f"{rc.outcome!r} is not a time-to-event outcome")
        known_arm(f"reconstruction[{i}].arm", rc.arm)
        if rc.n_events is not None and rc.n_events < len(rc.event_times):
            add(f"reconstruction[{i}].n_events", f"{rc.n_events} is fewer than the {len(rc.event_times)} event times given")
    for i, ov in enumerate(study.overlap):
        if ov.study == study.id:
            add(f"overlap[{i}].study", "a study cannot overlap with itself")
    problems += _summary_problems(study) + _citation_problems(study) + _placeholder_problems(study)

    valid: set[int] = set()
    for i, o in enumerate(study.outcomes):
        if o.outcome not in OUTCOMES:
            add(f"outcomes[{i}].outcome", f"unknown outcome {o.outcome!r} (known: {', '.join(OUTCOMES)})")
            continue
        if not known_arm(f"outcomes[{i}].arm", o.arm) or i in skip:
            continue
        found = _outcome_problems(study, i, o)
        problems += found
        if not found:
            valid.add(i)
    problems += _monotone_problems(study, valid)
    return problems

"""Semantic checks of one study file (the second layer of validation, after the schema).

:func:`check_study` returns ``(field path, message)`` pairs; the loader turns them into
:class:`analysis.review.schema.Problem` records naming the file and the study.
"""
from __future__ import annotations

from decimal import Decimal

from ..stats.proportions import counts_from_percent
from .schema import CHARACTERISTICS, OUTCOMES, SCALE_DOMAIN, SCALES, Study, decimals


def _num(x: str | float) -> str:
    d = Decimal(str(x))
    return str(int(d)) if d == d.to_integral_value() else str(d)


def check_study(study: Study) -> list[tuple[str, str]]:
    """Semantic checks of one study; returns ``(field path, message)`` pairs.

    Rules
    -----
    * arm ids unique; every ``arm`` reference (outcomes, donor types, measures, comparison
      groups, ``parts``) names a declared arm;
    * outcome names, estimators and grading scales come from the vocabularies above;
    * counts are non-negative, events <= denominator <= the arm's n;
    * a printed percentage must be produced by ``events/denominator`` at the printed
      precision, or (without events) by *some* integer count of the denominator
      (:func:`analysis.stats.proportions.counts_from_percent`) -- unless the record carries a
      ``percent_not_reproducible`` flag explaining why (Hua 2020's "23.07 %" of 13);
    * printed confidence limits bracket the estimate; landmark estimators need a time and
      unit; descriptive medians need a median.
    """
    problems: list[tuple[str, str]] = []
    add = lambda path, msg: problems.append((path, msg))  # noqa: E731

    arm_ids = [a.id for a in study.arms]
    arms = {a.id: a for a in study.arms}
    for i, arm in enumerate(study.arms):
        if arm_ids.count(arm.id) > 1 and arm_ids.index(arm.id) != i:
            add(f"arms[{i}].id", f"duplicate arm id {arm.id!r}")
        if arm.n.value < 0:
            add(f"arms[{i}].n.value", f"{arm.n.value} is negative")
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
        if d.count < 0:
            add(f"donor_types[{i}].count", f"{d.count} is negative")
    for i, m in enumerate(study.measures):
        known_arm(f"measures[{i}].arm", m.arm)
    for i, c in enumerate(study.comparisons):
        if c.outcome not in OUTCOMES and not any(m.name == c.outcome for m in study.measures):
            add(f"comparisons[{i}].outcome", f"unknown outcome or measure {c.outcome!r}")
        for j, g in enumerate(c.groups):
            known_arm(f"comparisons[{i}].groups[{j}]", g)
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
        if any(t < 0 for t in rc.event_times):
            add(f"reconstruction[{i}].event_times", "negative time")
    for i, ov in enumerate(study.overlap):
        if ov.study == study.id:
            add(f"overlap[{i}].study", "a study cannot overlap with itself")
    pop = study.population
    for name in ("n_enrolled", "n_leukapheresed", "n_infused", "n_evaluable"):
        c = getattr(pop, name)
        if c is not None and c.value < 0:
            add(f"population.{name}.value", f"{c.value} is negative")

    for i, o in enumerate(study.outcomes):
        p = f"outcomes[{i}]"
        if o.outcome not in OUTCOMES:
            add(f"{p}.outcome", f"unknown outcome {o.outcome!r} (known: {', '.join(OUTCOMES)})")
            continue
        allowed = OUTCOMES[o.outcome][2]
        if o.estimator not in allowed:
            add(f"{p}.estimator", f"{o.estimator!r} is not an estimator for {o.outcome!r} "
                f"(allowed: {', '.join(allowed)})")
        if not known_arm(f"{p}.arm", o.arm):
            continue
        if o.scale is not None:
            domain = SCALE_DOMAIN.get(o.outcome.split("_")[0])
            if domain is None or o.scale not in SCALES[domain]:
                add(f"{p}.scale", f"unknown grading scale {o.scale!r} for {o.outcome!r}")
        flagged = {f.kind for f in o.flags}
        for name in ("events", "denominator"):
            v = getattr(o, name)
            if v is not None and v < 0:
                add(f"{p}.{name}", f"{v} is negative")
        ev, den = o.events, o.denominator
        if den is not None and den == 0:
            add(f"{p}.denominator", "is zero")
            continue
        if ev is not None and den is not None and ev > den >= 0:
            add(f"{p}.events", f"{ev} is larger than denominator {den}")
        if den is not None and den > arms[o.arm].n.value >= 0:
            add(f"{p}.denominator", f"{den} is larger than the arm's n {arms[o.arm].n.value} ({o.arm})")
        if o.estimator == "proportion" and ev is not None and den is None:
            add(f"{p}.denominator", "a proportion needs a denominator")
        if den is not None and o.denominator_kind is None:
            add(f"{p}.denominator_kind", "missing: say whether the denominator is enrolled, infused, evaluable, in CR ...")
        pct = Decimal(o.percent) if o.percent is not None else None
        if pct is not None and not (0 <= pct <= 100):
            add(f"{p}.percent", f"{o.percent} is outside 0-100")
            pct = None
        if (pct is not None and o.estimator == "proportion" and den is not None and den > 0
                and (ev is None or 0 <= ev <= den)):
            ks = counts_from_percent(o.percent, den, decimals(o.percent))
            explained = "percent_not_reproducible" in flagged
            if ev is not None and ev not in ks and not explained:
                add(f"{p}.percent", f"{o.percent}% is not {ev}/{den} "
                    f"(= {100 * ev / den:.{decimals(o.percent) + 2}f}%) at the printed precision")
            elif ev is None and not ks and not explained:
                add(f"{p}.percent", f"no integer count of {den} gives {o.percent}% at "
                    f"{decimals(o.percent)} decimals")
            elif explained and ks and (ev is None or ev in ks):
                add(f"{p}.flags", "flagged percent_not_reproducible, but the percentage is reproducible")
        if o.ci is not None:
            lo, hi = Decimal(o.ci.low), Decimal(o.ci.high)
            if lo > hi:
                add(f"{p}.ci", f"lower limit {o.ci.low} is above upper limit {o.ci.high}")
            elif pct is not None and not (lo <= pct <= hi):
                add(f"{p}.ci", f"({o.ci.low}, {o.ci.high}) does not contain the estimate {o.percent}")
        if o.estimator in ("km_landmark", "cumulative_incidence"):
            if o.time is None or o.time_unit is None:
                add(f"{p}.time", f"a {o.estimator} estimate needs the landmark time and time_unit")
            if o.percent is None:
                add(f"{p}.percent", f"a {o.estimator} estimate needs the printed percentage")
        if o.estimator in ("descriptive_median", "km_median") and o.median is None and "not_reported" not in flagged:
            add(f"{p}.median", f"a {o.estimator} needs the median (or a not_reported flag, e.g. 'not reached')")
        if o.median is not None and o.time_unit is None:
            add(f"{p}.time_unit", "a median needs its time_unit")
        if (o.range_low is not None and o.range_high is not None and o.median is not None
                and not (o.range_low <= o.median <= o.range_high)):
            add(f"{p}.median", f"{_num(o.median)} is outside its range {_num(o.range_low)}-{_num(o.range_high)}")
    return problems

"""GRADE certainty per main outcome, computed by explicit rules over the review's data.

The rules and their parameters are data (``data/appraisal/grade_rules.yaml``: where certainty
starts, the threshold bands per outcome, the cut-offs); reviewer overrides are data too
(``data/appraisal/grade_overrides.yaml``: outcome, domain, levels, justification).  For each
main outcome of the analysis plan, :func:`assess` reads the primary analysis (the studies it
pools and the results row), the risk-of-bias appraisals, the study files and the screening
records, and rates down per domain -- risk of bias, inconsistency, indirectness, imprecision,
publication bias -- each with the reason generated from the data.  GRADE's floor is *very low*.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from .datafile import read_list, read_model
from .schema import Problem

RULES_FILE = "appraisal/grade_rules.yaml"
OVERRIDES_FILE = "appraisal/grade_overrides.yaml"
LEVELS = {4: "High", 3: "Moderate", 2: "Low", 1: "Very low"}
START = {"high": 4, "moderate": 3, "low": 2, "very_low": 1}
DOMAINS = {"risk_of_bias": "Risk of bias", "inconsistency": "Inconsistency", "indirectness": "Indirectness",
           "imprecision": "Imprecision", "publication_bias": "Publication bias"}
Domain = Literal["risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Start(_Model):
    """Where certainty starts for this body of evidence, and why."""

    level: Literal["high", "moderate", "low", "very_low"]
    rationale: str


class Rules(_Model):
    """The review's GRADE rules (``grade_rules.yaml``); every cut-off is the review's stated choice."""

    start: Start
    thresholds: dict[str, list[float]] = Field(description="outcome -> band cut-points (proportions)")
    thresholds_status: str
    high_risk_share: float = Field(0.5, gt=0, le=1)
    some_risk_share: float = Field(0.25, gt=0, le=1)
    indirect_share: float = Field(0.5, gt=0, le=1)
    ois_half_width: float = Field(0.10, gt=0, lt=1)
    sparse_events: int = Field(10, ge=1)
    wide_ci: float = Field(0.60, gt=0, le=1)
    abstract_share: float = Field(0.5, gt=0, le=1)
    publication_criteria: int = Field(2, ge=1)
    preferred_scales: dict[str, list[str]]
    rationale: dict[str, str]


class Override(_Model):
    """A reviewer's rating of one domain of one outcome, replacing the computed one (both are shown)."""

    outcome: str
    domain: Domain
    levels: int = Field(ge=-3, le=0, description="the reviewer's rating of the domain: 0, -1, -2 or -3")
    justification: str = Field(min_length=20)
    by: str | None = None
    date: Date | None = None


def load_rules(directory: Path) -> tuple[Rules | None, list[Problem]]:
    """The rules and the overrides' problems (no rules file: ``(None, [])``)."""
    path = Path(directory) / RULES_FILE
    if not path.is_file():
        return None, []
    rules, problems = read_model(path, Rules)
    _, more = load_overrides(directory)
    return rules, problems + more


def load_overrides(directory: Path) -> tuple[list[Override], list[Problem]]:
    """The reviewer overrides of ``grade_overrides.yaml`` (none when the file is absent)."""
    path = Path(directory) / OVERRIDES_FILE
    return read_list(path, Override, "overrides") if path.is_file() else ([], [])


@dataclass(frozen=True)
class Rating:
    """One domain of one outcome: levels rated down (0 to -3) and why."""

    domain: str
    levels: int
    reason: str
    computed: int
    override: str | None = None


@dataclass(frozen=True)
class Certainty:
    """The GRADE assessment of one main outcome: its primary result, where it starts and each domain's rating."""

    outcome: str
    label: str
    k: int
    patients: int | None
    events: int | None
    result: dict
    start: int
    ratings: list[Rating] = field(default_factory=list)

    @property
    def level(self) -> int | None:
        """The final level (1 very low .. 4 high), or None without a pooled estimate."""
        if not self.k or self.result.get("estimate") is None:
            return None
        return max(1, self.start + sum(r.levels for r in self.ratings))

    @property
    def label_level(self) -> str:
        """The final level in words."""
        return "no pooled estimate" if self.level is None else LEVELS[self.level]


def bands(x: float, cuts: list[float]) -> int:
    """The band (0 .. len(cuts)) a proportion falls in."""
    return sum(x >= c for c in cuts)


def spanned(lo: float, hi: float, cuts: list[float]) -> int:
    """How many bands an interval touches."""
    return bands(hi, cuts) - bands(lo, cuts) + 1


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _share(included: pl.DataFrame, n: str, mask: list[bool]) -> float:
    total = float(included[n].sum() or 0)
    return sum(v for v, m in zip(included[n].to_list(), mask) if m) / total if total else 0.0


def risk_of_bias(inc: pl.DataFrame, n: str, overall: dict, q45: dict, rules: Rules) -> tuple[int, str]:
    """Risk of bias: the share of participants from high-risk studies; returns (levels, reason)."""
    high = [overall.get(s) == "High" for s in inc["study"]]
    w = _share(inc, n, high)
    w_n = _share(inc, n, [q45.get(s, False) for s in inc["study"]])
    named = ", ".join(s for s, h in zip(inc["study"], high) if h) or "none"
    text = f"{_pct(w)} of participants from studies at high risk of bias ({named})"
    if w >= rules.high_risk_share and w_n >= rules.high_risk_share:
        return -2, text + f"; {_pct(w_n)} from series with known non-consecutive or incomplete inclusion"
    if w >= rules.high_risk_share:
        return -1, text
    if w >= rules.some_risk_share:
        return -1, text + " (between the review's cut-offs: rated down once)"
    return 0, text


def inconsistency(inc: pl.DataFrame, res: dict, cuts: list[float], estimate: str = "estimate") -> tuple[int, str]:
    """Inconsistency against the threshold bands (study CIs, prediction interval); returns (levels, reason).

    ``estimate`` names the column of the study estimates: ``estimate`` for proportions, ``S`` for
    survival landmarks (the rows of :func:`analysis.review.synthesis.analyse`).
    """
    k = inc.height
    if k <= 1:
        return 0, "not assessable with a single study"
    if "ci_low" not in inc.columns or inc["ci_low"].null_count():
        return 0, "study intervals not available"
    lows, highs, ests = inc["ci_low"].to_list(), inc["ci_high"].to_list(), inc[estimate].to_list()
    if k == 2:
        apart = lows[0] > highs[1] or lows[1] > highs[0]
        diff = bands(ests[0], cuts) != bands(ests[1], cuts)
        if apart and diff:
            return -1, "the two studies' 95% CIs do not overlap and their estimates lie in different bands"
        return 0, "two studies whose 95% CIs overlap or whose estimates lie in the same band"
    est, pi_lo, pi_hi = res.get("estimate"), res.get("pi_low"), res.get("pi_high")
    if est is None or pi_lo is None:
        return 0, "no prediction interval"
    n_pi = spanned(pi_lo, pi_hi, cuts)
    excl = sum(not lo <= est <= hi for lo, hi in zip(lows, highs))
    n_est = len({bands(e, cuts) for e in ests})
    text = (f"95% prediction interval {_pct(pi_lo)}–{_pct(pi_hi)} spans {n_pi} band(s); "
            f"{excl} of {k} study CIs exclude the pooled estimate")
    apart = max(lows) > min(highs)  # at least two study CIs do not overlap
    if n_pi >= 3 and n_est >= 3 and apart:
        return -2, text + f"; study estimates in {n_est} bands, and some study CIs do not overlap"
    if n_pi >= 2 and excl >= 1:
        return -1, text
    return 0, text


def imprecision(res: dict, sens: dict | None, cuts: list[float], rules: Rules) -> tuple[int, str]:
    """Imprecision: the largest of the CI-band, information-size, sparse-data and method rules; returns (levels, reason)."""
    lo, hi, est = res["ci_low"], res["ci_high"], res["estimate"]
    n_ci = spanned(lo, hi, cuts)
    steps = [(0, f"95% CI {_pct(lo)}–{_pct(hi)} spans {n_ci} band(s)")]
    step1 = -3 if (n_ci >= 4 or hi - lo > rules.wide_ci) else -(n_ci - 1)
    steps[0] = (step1, steps[0][1] + (f" (width {_pct(hi - lo)})" if hi - lo > rules.wide_ci else ""))
    n, ev = res.get("patients"), res.get("events")
    if step1 == 0 and n is not None:
        ois = math.ceil(1.96 ** 2 * est * (1 - est) / rules.ois_half_width ** 2)
        if n < ois:
            steps.append((-1, f"{n} participants, fewer than the {ois} needed for a ±{_pct(rules.ois_half_width)} CI"))
    if ev is not None and n is not None and min(ev, n - ev) < rules.sparse_events:
        steps.append((-1, f"{ev} event{'s' * (ev != 1)} and {n - ev} non-event{'s' * (n - ev != 1)} "
                          f"(fewer than {rules.sparse_events})"))
    if sens and sens.get("ci_low") is not None and (bands(sens["ci_low"], cuts), bands(sens["ci_high"], cuts)) != \
            (bands(lo, cuts), bands(hi, cuts)):
        steps.append((-1, f"the logit-REML sensitivity analysis (95% CI {_pct(sens['ci_low'])}–{_pct(sens['ci_high'])}) "
                          "places the CI in other bands"))
    worst = min(s for s, _ in steps)
    return worst, "; ".join(t for _, t in steps)


def indirectness(inc: pl.DataFrame, n: str, facets: dict[str, dict[str, bool]], rules: Rules) -> tuple[int, str]:
    """Indirectness: facets reaching the share of participants in the rules; returns (levels, reason)."""
    hit, texts = 0, []
    for facet, by_study in facets.items():
        w = _share(inc, n, [by_study.get(s, False) for s in inc["study"]])
        if w >= rules.indirect_share:
            hit += 1
        if w:
            texts.append(f"{facet}: {_pct(w)} of participants")
    return -min(hit, 2), ("; ".join(texts) or "no indirect facet") + \
        (f" (a facet counts at {_pct(rules.indirect_share)} or more)" if texts else "")


def publication_bias(inc: pl.DataFrame, n: str, criteria: dict[str, list[bool] | bool], rules: Rules) -> tuple[int, str]:
    """Publication bias: rated down when enough criteria hold (a list is a per-study share); returns (levels, reason)."""
    met = []
    for name, value in criteria.items():
        ok = value if isinstance(value, bool) else _share(inc, n, value) >= rules.abstract_share
        met.append((name, ok))
    count = sum(ok for _, ok in met)
    text = "; ".join(f"{name}: {'met' if ok else 'not met'}" for name, ok in met)
    return (-1 if count >= rules.publication_criteria else 0), text + \
        f" ({count} of {len(met)} criteria; rated down at {rules.publication_criteria})"


def apply_overrides(outcome: str, ratings: list[Rating], overrides: list[Override]) -> list[Rating]:
    """The ratings with any reviewer override of the outcome applied (the computed levels are kept)."""
    out = []
    for r in ratings:
        o = next((x for x in overrides if x.outcome == outcome and x.domain == r.domain), None)
        out.append(r if o is None else Rating(r.domain, o.levels, r.reason, r.computed, o.justification))
    return out


def _facets(review, rules: Rules, outcome: str, records: list[str]) -> dict[str, dict[str, bool]]:
    """Indirectness facets per study: population, intervention, outcome definition."""
    out = {"population": {}, "intervention": {}, "outcome definition": {}}
    domain = next((d for d in rules.preferred_scales if outcome.startswith(d)), None)
    for s in review.studies:
        out["population"][s.id] = any(f.kind == "indirect_population" for f in s.flags)
        target = s.car_construct.target if s.car_construct else []
        out["intervention"][s.id] = target != ["CD19"]
        rec = [o for o in s.outcomes if o.outcome in records]
        if domain is not None:
            scale = getattr(s.grading, "gvhd" if domain == "agvhd" else domain)
            out["outcome definition"][s.id] = scale not in rules.preferred_scales[domain]
        else:
            out["outcome definition"][s.id] = any(f.kind == "lower_bound" for o in rec for f in o.flags)
    return out


def assess(review, plan, appraisals, screening, rules: Rules, overrides: list[Override] | None = None) -> list[Certainty]:
    """GRADE certainty of every main outcome of the plan (see the module docstring).

    Each main outcome's primary analysis (and its logit-REML sensitivity analysis, for the
    imprecision rule) is computed here by :func:`analysis.review.synthesis.analyse` -- the same
    rows the results table holds; ``appraisals`` are the risk-of-bias appraisals
    (:mod:`analysis.review.appraisal`); ``screening`` the records with their decisions.
    """
    from .synthesis import analyse

    overall = dict(zip(appraisals.overall["study"], appraisals.overall["final"]))
    q45 = {r["study"]: "N" in (r["q4"], r["q5"]) for r in appraisals.overall.iter_rows(named=True)}
    registered = 0
    if screening is not None:
        t = screening.table
        registered = t.filter((pl.col("full_text_reason") == "ongoing")
                              & pl.col("registry_status").is_in(["completed", "terminated"])).height
    out = []
    for oid, o in plan.outcomes.items():
        if not o.main:
            continue
        syn = analyse(review, oid, plan, sets=("logit_reml",))
        prim = syn.pooled["primary"].row()
        sens = syn.pooled["logit_reml"].row() if "logit_reml" in syn.pooled else None
        inc = syn.rows["primary"].filter(pl.col("included"))
        n, est = ("n", "S") if o.kind == "landmark" else ("denominator", "estimate")
        cert = Certainty(oid, o.label, prim["k"], prim["patients"], prim["events"], prim, START[rules.start.level])
        if prim["estimate"] is None or oid not in rules.thresholds:
            out.append(cert)
            continue
        cuts = rules.thresholds[oid]
        studies = {s.id: s for s in review.studies}
        facets = _facets(review, rules, oid, o.records)
        if "population_fit" in inc.columns:  # the pooled arm itself, not the study's other arms
            facets["population"].update({s: facets["population"][s] or fit != "direct"
                                         for s, fit in zip(inc["study"], inc["population_fit"])})
        overlap = any(ov.study in set(inc["study"]) or ov.likelihood != "possible"
                      for sid in inc["study"] for ov in studies[sid].overlap)
        ratings = [
            Rating("risk_of_bias", *risk_of_bias(inc, n, overall, q45, rules), 0),
            Rating("inconsistency", *inconsistency(inc, prim, cuts, est), 0),
            Rating("indirectness", *indirectness(inc, n, facets, rules), 0),
            Rating("imprecision", *imprecision(prim, sens, cuts, rules), 0),
            Rating("publication_bias", *publication_bias(inc, n, {
                "participants mostly from conference abstracts": [studies[s].publication_type == "conference_abstract"
                                                                 for s in inc["study"]],
                f"registered trials completed or terminated without results ({registered})": registered > 0,
                "possibly overlapping series among the pooled studies": overlap}, rules), 0),
        ]
        ratings = [Rating(r.domain, r.levels, r.reason, r.levels) for r in ratings]
        out.append(Certainty(oid, o.label, prim["k"], prim["patients"], prim["events"], prim, cert.start,
                             apply_overrides(oid, ratings, overrides or [])))
    return out


def table(certainties: list[Certainty]) -> pl.DataFrame:
    """One row per main outcome and domain: levels, computed levels, reason, override (for export)."""
    rows = [{"outcome": c.outcome, "domain": r.domain, "levels": r.levels, "computed_levels": r.computed,
             "reason": r.reason, "override": r.override, "certainty": c.label_level}
            for c in certainties for r in c.ratings]
    rows += [{"outcome": c.outcome, "domain": "overall", "levels": None, "computed_levels": None,
              "reason": f"start {LEVELS[c.start].lower()}", "override": None, "certainty": c.label_level}
             for c in certainties]
    return pl.DataFrame(rows, schema={"outcome": pl.String, "domain": pl.String, "levels": pl.Int64,
                                      "computed_levels": pl.Int64, "reason": pl.String, "override": pl.String,
                                      "certainty": pl.String})


#: ROBINS-I overall judgement -> levels rated down for risk of bias (the review's rule)
ROBINS_DOWN = {"Low": 0, "Moderate": 0, "Serious": -1, "Critical": -2, "No information": -1}


def comparisons(review, appraisals, rules: Rules) -> list[dict]:
    """GRADE for each comparative result appraised with ROBINS-I, one row per outcome compared.

    Certainty starts where the rules say (non-randomised evidence); risk of bias is rated down by
    the ROBINS-I overall judgement (:data:`ROBINS_DOWN`); imprecision from the risk difference
    recomputed from the two arms' counts (twice when its 95% CI includes no difference and is wider
    than 50 points, once when it includes no difference or the arms hold fewer than
    ``2 / ois_half_width**2`` patients), twice when no interval for the difference can be computed
    from what the report prints.  Inconsistency and publication bias are not assessable for a
    single study.  Returns plain rows (the page formats them).
    """
    from .comparisons import arm_comparisons

    out = []
    robins = appraisals.robins
    for a in appraisals.items:
        if not a.robins_i:
            continue
        study = review.study(a.study)
        binary = arm_comparisons(review, a.study)
        labels = {x.id: x.label for x in study.arms}
        for r in a.robins_i:
            overall = robins.filter((robins["study"] == a.study) & (robins["result"] == r.result)
                                    & (robins["domain"] == "overall"))["judgement"][0]
            rob = ROBINS_DOWN[overall]
            for outcome in r.outcomes:
                recs = [o for o in study.outcomes if o.outcome == outcome and o.arm in r.arms]
                if len(recs) != 2:
                    continue
                b = binary.filter(binary["outcome"] == outcome)
                n = sum((o.denominator or next(x.n.value for x in study.arms if x.id == o.arm)) for o in recs)
                if b.height:
                    row = b.row(0, named=True)
                    lo, hi = row["rd_low"], row["rd_high"]
                    effect = f"risk difference {row['rd']:+.2f} (95% CI {lo:+.2f} to {hi:+.2f})"
                    crosses, small = lo <= 0 <= hi, 2 / rules.ois_half_width ** 2
                    imp = -2 if crosses and hi - lo > 0.5 else (-1 if crosses or n < small else 0)
                    why = (f"the 95% CI of the risk difference {'includes' if crosses else 'excludes'} zero "
                           f"(width {hi - lo:.2f}); {n} patients" + (f", fewer than {small:.0f}" if n < small else ""))
                else:
                    effect, imp = "not recomputed: no counts in both arms (survival is not compared on pseudo-data)", -2
                    why = f"no interval for the difference can be computed from what the report prints; {n} patients"
                level = max(1, START[rules.start.level] + rob + imp)
                out.append({"study": a.study, "result": r.result, "outcome": outcome,
                            "arms": " vs ".join(labels[x] for x in r.arms), "effect": effect,
                            "robins_overall": overall, "risk_of_bias": rob, "imprecision": imp, "imprecision_reason": why,
                            "certainty": LEVELS[level], "records": recs})
    return out

"""Risk of bias as data: the JBI checklist for case series and ROBINS-I, one file per study.

``data/appraisal/<study>.yaml`` holds the appraisal of one study:

* ``jbi`` -- the ten items of the JBI critical appraisal checklist for case series
  (:data:`JBI_ITEMS`, wording of Munn et al. 2020), each answered ``Y``, ``N``, ``U`` (unclear)
  or ``NA`` with a one-sentence justification and, for ``Y`` and ``N``, the supporting quote
  from the document the study's figures were read from;
* ``override`` -- optional: a reviewer's overall judgement that differs from the derived one,
  with its justification (shown beside the derived judgement, never silently);
* ``robins_i`` -- for a study whose comparative result the review uses: one assessment per
  result with the seven ROBINS-I domains (:data:`ROBINS_DOMAINS`), each ``Low``, ``Moderate``,
  ``Serious``, ``Critical`` or ``No information`` with justification and quote.

The overall JBI judgement is derived by the review's rule (:func:`jbi_overall`; JBI itself
prescribes none): with the critical items Q4, Q5, Q8 and Q10, *High* if a critical item is
``N`` or two or more are ``U``; *Low* if every critical item is ``Y`` and at most one other
item is ``N`` or ``U``; *Some concerns* otherwise.  ROBINS-I's overall judgement is the tool's
(:func:`robins_overall`): the most severe domain, with *No information* when no domain is
Serious or Critical but a domain lacks information.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from .datafile import read_model
from .schema import Problem
from .validation import display

APPRAISAL_DIR = "appraisal"
#: JBI critical appraisal checklist for case series (Munn et al. 2020), item -> wording
JBI_ITEMS = {
    "q1": "Were there clear criteria for inclusion in the case series?",
    "q2": "Was the condition measured in a standard, reliable way for all participants included in the case series?",
    "q3": "Were valid methods used for identification of the condition for all participants included in the case series?",
    "q4": "Did the case series have consecutive inclusion of participants?",
    "q5": "Did the case series have complete inclusion of participants?",
    "q6": "Was there clear reporting of the demographics of the participants in the study?",
    "q7": "Was there clear reporting of clinical information of the participants?",
    "q8": "Were the outcomes or follow up results of cases clearly reported?",
    "q9": "Was there clear reporting of the presenting site(s)/clinic(s) demographic information?",
    "q10": "Was statistical analysis appropriate?",
}
#: the review's critical items (selection of who is reported, outcome reporting, analysis)
JBI_CRITICAL = ("q4", "q5", "q8", "q10")
ANSWERS = {"Y": "Yes", "N": "No", "U": "Unclear", "NA": "Not applicable"}
JBI_LEVELS = ("Low", "Some concerns", "High")
#: ROBINS-I (Sterne et al. 2016) domains, as robvis captions them
ROBINS_DOMAINS = {
    "d1": "Bias due to confounding",
    "d2": "Bias due to selection of participants",
    "d3": "Bias in classification of interventions",
    "d4": "Bias due to deviations from intended interventions",
    "d5": "Bias due to missing data",
    "d6": "Bias in measurement of outcomes",
    "d7": "Bias in selection of the reported result",
}
ROBINS_LEVELS = ("Low", "Moderate", "Serious", "Critical", "No information")
JBI_RULE = ("Critical items Q4, Q5, Q8 and Q10. High: any critical item answered No, or two or more critical "
            "items Unclear. Low: every critical item Yes and at most one other item No or Unclear. "
            "Some concerns: otherwise. Not-applicable items are ignored.")
ROBINS_RULE = ("The tool's rule: Low if every domain is Low; Moderate if every domain is Low or Moderate; "
               "Serious if a domain is Serious and none Critical; Critical if a domain is Critical; No information "
               "if no domain is Serious or Critical but a domain lacks information.")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Model):
    """One JBI item: the answer, its justification and (for Y and N) the supporting quote."""

    answer: Literal["Y", "N", "U", "NA"]
    justification: str = Field(min_length=10)
    quote: str | None = Field(None, min_length=3)


class Domain(_Model):
    """One ROBINS-I domain: the judgement, its justification and the supporting quote."""

    judgement: Literal["Low", "Moderate", "Serious", "Critical", "No information"]
    justification: str = Field(min_length=10)
    quote: str | None = Field(None, min_length=3)


class Override(_Model):
    """A reviewer's overall judgement that differs from the derived one, with its justification."""

    judgement: str
    justification: str = Field(min_length=20)
    by: str | None = None
    date: Date | None = None


class Robins(_Model):
    """The ROBINS-I assessment of one comparative result of a study."""

    result: str = Field(min_length=5, description="the comparative result assessed, e.g. 'MRD-negative CR, CAR-T vs DLI'")
    outcomes: list[str] = Field(min_length=1)
    arms: list[str] = Field(min_length=2, max_length=2)
    confounders: list[str] = Field([], description="the confounding domains considered")
    domains: dict[Literal["d1", "d2", "d3", "d4", "d5", "d6", "d7"], Domain]
    override: Override | None = None


class Appraisal(_Model):
    """The appraisal file of one study (see the module docstring)."""

    study: str
    date: Date
    assessed_on: Literal["abstract", "full_text", "conference_abstract", "secondary_report"]
    jbi: dict[Literal["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10"], Item]
    override: Override | None = None
    robins_i: list[Robins] = []


def jbi_overall(answers: dict[str, str]) -> str:
    """The review's overall JBI judgement from the ten answers (see the module docstring)."""
    crit = [answers[q] for q in JBI_CRITICAL if answers.get(q, "NA") != "NA"]
    other = [a for q, a in answers.items() if q not in JBI_CRITICAL and a != "NA"]
    if "N" in crit or crit.count("U") >= 2:
        return "High"
    if all(a == "Y" for a in crit) and sum(a in ("N", "U") for a in other) <= 1:
        return "Low"
    return "Some concerns"


def robins_overall(judgements: list[str]) -> str:
    """ROBINS-I's overall judgement: the most severe domain (No information as the tool says)."""
    if "Critical" in judgements:
        return "Critical"
    if "Serious" in judgements:
        return "Serious"
    if "No information" in judgements:
        return "No information"
    return "Moderate" if "Moderate" in judgements else "Low"


def appraisal_problems(a: Appraisal, study_ids: list[str] | None, arms: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Rules across the fields of one appraisal file: (field, message)."""
    out = []
    missing = [q for q in JBI_ITEMS if q not in a.jbi]
    if missing:
        out.append(("jbi", f"missing item(s) {', '.join(missing)}: all ten are answered (NA where not applicable)"))
    for q, item in a.jbi.items():
        if item.answer in ("Y", "N") and item.quote is None:
            out.append((f"jbi.{q}.quote", f"a {ANSWERS[item.answer]} answer needs the supporting quote"))
    if a.override is not None and a.override.judgement not in JBI_LEVELS:
        out.append(("override.judgement", f"{a.override.judgement!r} is not one of {', '.join(JBI_LEVELS)}"))
    if a.override is not None and a.override.judgement == jbi_overall({q: i.answer for q, i in a.jbi.items()}):
        out.append(("override", "the override equals the derived judgement: remove it"))
    if study_ids is not None and a.study not in study_ids:
        out.append(("study", f"no study file data/studies/{a.study}.yaml"))
    for i, r in enumerate(a.robins_i):
        gone = [d for d in ROBINS_DOMAINS if d not in r.domains]
        if gone:
            out.append((f"robins_i[{i}].domains", f"missing domain(s) {', '.join(gone)}"))
        for d, dom in r.domains.items():
            if dom.judgement in ("Serious", "Critical") and dom.quote is None:
                out.append((f"robins_i[{i}].domains.{d}.quote", f"a {dom.judgement} judgement needs the supporting quote"))
        if r.override is not None and r.override.judgement not in ROBINS_LEVELS:
            out.append((f"robins_i[{i}].override.judgement", f"{r.override.judgement!r} is not one of {', '.join(ROBINS_LEVELS)}"))
        unknown = [x for x in r.arms if a.study in arms and x not in arms[a.study]]
        if unknown:
            out.append((f"robins_i[{i}].arms", f"unknown arm(s) {', '.join(unknown)} of {a.study}"))
    return out


@dataclass(frozen=True)
class Appraisals:
    """Every appraisal file, with the derived and final judgements as tables."""

    items: list[Appraisal]

    def of(self, study: str) -> Appraisal | None:
        """The appraisal of ``study``, or None."""
        return next((a for a in self.items if a.study == study), None)

    @property
    def jbi(self) -> pl.DataFrame:
        """One row per study and item: answer, justification, quote (items in checklist order)."""
        rows = [{"study": a.study, "item": q, "question": JBI_ITEMS[q], "critical": q in JBI_CRITICAL,
                 "answer": a.jbi[q].answer, "justification": a.jbi[q].justification, "quote": a.jbi[q].quote}
                for a in self.items for q in JBI_ITEMS if q in a.jbi]
        return pl.DataFrame(rows, schema={"study": pl.String, "item": pl.String, "question": pl.String,
                                          "critical": pl.Boolean, "answer": pl.String, "justification": pl.String,
                                          "quote": pl.String})

    @property
    def overall(self) -> pl.DataFrame:
        """One row per study: derived JBI judgement, the override (if any) and the final judgement."""
        rows = []
        for a in self.items:
            derived = jbi_overall({q: i.answer for q, i in a.jbi.items()})
            o = a.override
            rows.append({"study": a.study, "assessed_on": a.assessed_on, "derived": derived,
                         "override": o.judgement if o else None, "override_justification": o.justification if o else None,
                         "final": o.judgement if o else derived,
                         "q4": a.jbi["q4"].answer if "q4" in a.jbi else None,
                         "q5": a.jbi["q5"].answer if "q5" in a.jbi else None})
        return pl.DataFrame(rows, schema={"study": pl.String, "assessed_on": pl.String, "derived": pl.String,
                                          "override": pl.String, "override_justification": pl.String,
                                          "final": pl.String, "q4": pl.String, "q5": pl.String})

    @property
    def robins(self) -> pl.DataFrame:
        """One row per ROBINS-I result and domain (plus an ``overall`` row per result)."""
        rows = []
        for a in self.items:
            for r in a.robins_i:
                js = [r.domains[d].judgement for d in ROBINS_DOMAINS if d in r.domains]
                derived = robins_overall(js)
                for d in ROBINS_DOMAINS:
                    if d in r.domains:
                        dom = r.domains[d]
                        rows.append({"study": a.study, "result": r.result, "domain": d, "label": ROBINS_DOMAINS[d],
                                     "judgement": dom.judgement, "justification": dom.justification, "quote": dom.quote})
                rows.append({"study": a.study, "result": r.result, "domain": "overall", "label": "Overall",
                             "judgement": r.override.judgement if r.override else derived,
                             "justification": (f"reviewer override of the derived {derived}: {r.override.justification}"
                                               if r.override else f"derived by the tool's rule: {derived}"),
                             "quote": None})
        return pl.DataFrame(rows, schema={"study": pl.String, "result": pl.String, "domain": pl.String,
                                          "label": pl.String, "judgement": pl.String, "justification": pl.String,
                                          "quote": pl.String})


def load(directory: Path, study_ids: list[str] | None = None,
         arms: dict[str, list[str]] | None = None) -> tuple[Appraisals, list[Problem]]:
    """Read every ``<directory>/appraisal/*.yaml`` (except the GRADE files); never raises."""
    folder = Path(directory) / APPRAISAL_DIR
    items, problems = [], []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        if path.name.startswith("grade_"):
            continue
        a, more = read_model(path, Appraisal, path.stem)
        problems += more
        if a is None:
            continue
        if a.study != path.stem:
            problems.append(Problem(display(path), a.study, "study", f"the file of study {a.study!r} must be named {a.study}.yaml"))
        problems += [Problem(display(path), a.study, f, m) for f, m in appraisal_problems(a, study_ids, arms or {})]
        items.append(a)
    if study_ids is not None and folder.is_dir():
        done = {a.study for a in items}
        problems += [Problem(display(folder), sid, "(study)", "included study without a risk-of-bias appraisal")
                     for sid in study_ids if sid not in done]
    return Appraisals(items), problems

"""Across-study synthesis, driven by the analysis plan (``data/analysis_plan.yaml``).

For every outcome of the plan and every analysis set, :func:`analyse` selects the studies
(:mod:`analysis.review.selection` for proportions, :func:`analysis.review.survival.select_landmarks`
for landmark survival) and pools them with the model the plan names
(:mod:`analysis.review.pooling`); it adds leave-one-out refits of the primary analysis and the
plan's subgroup analyses.  :func:`results` collects every pooled row into the review's results
table -- the table the book shows and ``python -m analysis export`` writes.

Studies are selected by what they report, never by name: a new study file that reports an
outcome enters every analysis of that outcome on the next build.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ..stats import meta
from . import fit_store
from .loading import Review
from .plan import AnalysisSet, Plan, load_plan
from .pooling import RESULT_COLUMNS, Pooled, pool_counts, pool_landmarks
from .selection import select
from .survival import select_landmarks

#: the analysis name of a leave-one-out refit and of a subgroup in the results table
LEAVE_OUT = "leave out {study}"
#: leave-one-out refits only up to this many studies: an influence analysis for a few studies, where
#: one study can move the estimate; above it each study weighs little, a table of k refits is not
#: read, and k refits of a k-study GLMM cost O(k^2) (1000 studies: a million study-fits per outcome)
LEAVE_ONE_OUT_MAX_K = 30
SUBGROUP = "subgroup {variable} = {value}"
NOT_REPORTED = "not reported"


@dataclass(frozen=True)
class SubgroupAnalysis:
    """One subgroup variable of the plan applied to the primary analysis of one outcome.

    ``pooled`` holds one :class:`Pooled` per subgroup value; ``test`` is the test for subgroup
    differences (Q between subgroups of logit-REML fits, with df and p) or None when a subgroup
    has fewer than the plan's ``min_studies`` studies (then the study estimates are only listed).
    """

    variable: str
    label: str
    rows: pl.DataFrame
    pooled: dict[str, Pooled]
    test: dict | None
    why_no_test: str | None = None


@dataclass(frozen=True)
class OutcomeSynthesis:
    """Everything the plan asks for one outcome: per analysis set the rows and the pooled result."""

    outcome: str
    label: str
    kind: str
    rows: dict[str, pl.DataFrame]
    pooled: dict[str, Pooled]
    leave_one_out: list[Pooled] = field(default_factory=list)
    subgroups: list[SubgroupAnalysis] = field(default_factory=list)

    @property
    def primary(self) -> Pooled:
        return self.pooled["primary"]

    def result_rows(self) -> list[dict]:
        """Rows of the results table: every analysis set, leave-one-out refits, subgroups."""
        out = [p.row() for p in self.pooled.values()]
        out += [p.row() for p in self.leave_one_out]
        out += [p.row() for s in self.subgroups for p in s.pooled.values()]
        return out


def _model(plan: Plan, aset: AnalysisSet) -> str:
    return aset.model or plan.models.proportion.primary


def _pool(plan: Plan, kind: str, rows: pl.DataFrame, outcome: str, analysis: str, model: str) -> Pooled:
    if kind == "landmark":
        m = plan.models.landmark
        return pool_landmarks(rows, outcome, analysis, m.min_k, m.level)
    m = plan.models.proportion
    return pool_counts(rows, outcome, analysis, model, m.min_k, m.level)


def _leave_one_out(plan: Plan, kind: str, outcome: str, rows: pl.DataFrame, model: str) -> list[Pooled]:
    """Refit the primary analysis without each included study in turn (metafor ``leave1out``).

    Only when the primary analysis pools at least three studies (with two, leaving one out
    leaves one study) and at most :data:`LEAVE_ONE_OUT_MAX_K`; a refit below the plan's
    ``min_k`` is the crude count, as everywhere.
    """
    inc = rows.filter(pl.col("included"))
    if inc.height < 3 or inc.height > LEAVE_ONE_OUT_MAX_K:
        return []
    return [_pool(plan, kind, inc.filter(pl.col("study") != sid), outcome, LEAVE_OUT.format(study=sid), model)
            for sid in inc["study"]]


def _subgroups(plan: Plan, outcome: str, rows: pl.DataFrame, model: str) -> list[SubgroupAnalysis]:
    inc = rows.filter(pl.col("included"))
    out = []
    for var, sg in plan.subgroup_defs.items():
        if var not in inc.columns:
            continue
        values = inc[var].fill_null(NOT_REPORTED)
        if values.n_unique() < 2:
            continue
        grouped = inc.with_columns(pl.Series(var, values))
        pooled = {v: _pool(plan, "proportion", grouped.filter(pl.col(var) == v), outcome,
                           SUBGROUP.format(variable=var, value=v), model)
                  for v in sorted(set(values.to_list()))}
        sizes = grouped[var].value_counts().sort(var)
        small = sizes.filter(pl.col("count") < plan.subgroup_min_studies)
        test, why = None, None
        if small.height:
            why = (f"a subgroup has fewer than {plan.subgroup_min_studies} studies "
                   f"({', '.join(f'{v}: {c}' for v, c in small.iter_rows())})")
        else:
            fit = meta.pool_proportions(grouped["events"].to_numpy(), grouped["denominator"].to_numpy(),
                                        transform="logit", method="REML", labels=grouped["study"].to_list())
            sub = meta.subgroup(fit, grouped[var].to_list())
            test = {"q": float(sub.q_between), "df": int(sub.q_between_df), "pval": float(sub.q_between_pval),
                    "method": "Q between subgroups of logit-REML fits (separate tau^2 per subgroup)"}
        out.append(SubgroupAnalysis(var, sg.label, grouped, pooled, test, why))
    return out


def analyse(review: Review, outcome: str, plan: Plan | None = None, sets: tuple[str, ...] | None = None) -> OutcomeSynthesis:
    """The plan's analyses of one outcome: every analysis set, leave-one-out, subgroups.

    ``sets`` restricts the work to those analysis sets (``primary`` is always included) and then
    skips leave-one-out and subgroups: what the certainty ratings need, at a fraction of the cost.

    In the book build the result is kept in the build's fit store (:mod:`analysis.review.fit_store`),
    keyed by every file of the data folder, the validated studies, the plan, the outcome and
    ``sets``: the chapters' kernels analyse the outcomes they show, and the process computing the
    download tables reads those analyses instead of repeating them.
    """
    plan = plan or load_plan(review.directory)
    return fit_store.kept("analyse", lambda: (fit_store.digest(review.directory),
                                              [s.model_dump_json() for s in review.studies],
                                              plan.model_dump_json(), outcome, sets),
                          lambda: _analyse(review, outcome, plan, sets))


def _analyse(review: Review, outcome: str, plan: Plan, sets: tuple[str, ...] | None) -> OutcomeSynthesis:
    o = plan.outcomes[outcome]
    rows, pooled = {}, {}
    wanted = None if sets is None else {"primary", *sets}
    for aset in plan.analysis_sets:
        if wanted is not None and aset.id not in wanted:
            continue
        if o.kind == "landmark":
            if aset.model is not None:  # a proportion-model sensitivity analysis does not apply
                continue
            df = select_landmarks(review, plan, outcome, aset)
        else:
            df = select(review, plan, outcome, aset)
        rows[aset.id] = df
        pooled[aset.id] = _pool(plan, o.kind, df, outcome, aset.id, _model(plan, aset))
    model = _model(plan, plan.primary)
    if wanted is not None:
        return OutcomeSynthesis(outcome, o.label, o.kind, rows, pooled)
    loo = _leave_one_out(plan, o.kind, outcome, rows["primary"], model)
    subgroups = _subgroups(plan, outcome, rows["primary"], model) if o.kind == "proportion" else []
    return OutcomeSynthesis(outcome, o.label, o.kind, rows, pooled, loo, subgroups)


def results(review: Review, plan: Plan | None = None, outcomes: list[str] | None = None) -> pl.DataFrame:
    """The results table: one row per outcome and analysis (:data:`analysis.review.pooling.RESULT_COLUMNS`).

    ``analysis`` is an analysis set's id (``primary`` first), ``leave out <study>`` or
    ``subgroup <variable> = <value>``.  Values that do not apply (tau^2 of a crude pooled count,
    the prediction interval of a single study) are empty.
    """
    plan = plan or load_plan(review.directory)
    rows = [r for o in (outcomes or list(plan.outcomes)) for r in analyse(review, o, plan).result_rows()]
    return pl.DataFrame(rows, schema=RESULT_COLUMNS)


def weights(p: Pooled) -> dict[str, float]:
    """Percentage weight per study of a pooled result (empty when the model defines none)."""
    return {} if p.weights is None else dict(zip(p.studies, np.asarray(p.weights, dtype=float)))

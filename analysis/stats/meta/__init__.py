"""Meta-analysis reproducing R metafor 5.1-12 (rma.uni, confint, predict, escalc, rma.mh, rma.peto, rma.glmm).

Public API
----------
rma(yi, vi, method="REML", test="z", level=0.95, pi="metafor", labels=None)
    Random-effects (or common-effect) model, intercept only -> :class:`MetaResult`.
pool_proportions(events, n, transform="logit", method="REML", ...)
    Pooled single proportion (logit, raw, ft, arcsine, glmm) -> :class:`ProportionResult`.
glmm_proportion(events, n, level=0.95, nAGQ="auto", test="z")
    Binomial-normal (random-intercept logistic) model -> :class:`GLMMResult`.
crude_proportion(events, n)
    Summed counts with the Clopper-Pearson interval, for k < 3 -> :class:`CrudeProportion`.
escalc_proportion / escalc_2x2
    Per-study effect sizes and sampling variances (metafor escalc).
two_group(events1, n1, events2, n2, measure="RR", method="REML")
    Per-study RR/OR/RD and their pooling (inverse variance, MH or Peto) -> :class:`TwoGroupResult`.
mantel_haenszel / peto
    Common-effect pooling of 2x2 tables -> :class:`MHResult`.
leave_one_out(result), subgroup(result, groups, tau2="separate")
    Refits of any result without each study / within each subgroup, with the test for
    subgroup differences (a tau^2 per subgroup, or one common tau^2 as metafor's mods model).

Every result follows one protocol (:data:`PROTOCOL`, :mod:`.results`).

Modules: effects (escalc, back-transformations), tau2 (estimators, Q-profile), rma, glmm
(binomial-normal model) with quadrature (adaptive Gauss-Hermite), proportion (pooled and crude
proportions), mh (Mantel-Haenszel, Peto), twogroup, subgroup with regression (common-tau^2
subgroup model), results (the protocol and its frames), text (metafor-style printing).
"""

from .effects import MEASURES, TRANSFORMS, back_transform, escalc_2x2, escalc_proportion
from .glmm import GLMMResult, glmm_proportion
from .mh import MHResult, mantel_haenszel, peto
from .proportion import CrudeProportion, ProportionResult, crude_proportion, pool_proportions
from .results import PROTOCOL, leave_one_out
from .rma import METHODS, MetaResult, rma
from .subgroup import SubgroupResult, subgroup
from .tau2 import HeterogeneityCI
from .twogroup import TwoGroupResult, two_group

__all__ = [
    "METHODS",
    "MEASURES",
    "TRANSFORMS",
    "PROTOCOL",
    "MetaResult",
    "HeterogeneityCI",
    "ProportionResult",
    "CrudeProportion",
    "GLMMResult",
    "MHResult",
    "TwoGroupResult",
    "SubgroupResult",
    "rma",
    "escalc_proportion",
    "escalc_2x2",
    "back_transform",
    "pool_proportions",
    "crude_proportion",
    "glmm_proportion",
    "two_group",
    "mantel_haenszel",
    "peto",
    "leave_one_out",
    "subgroup",
]

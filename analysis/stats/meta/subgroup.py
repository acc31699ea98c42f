r"""Subgroup analysis: separate fits per subgroup and the test for subgroup differences.

``subgroup(result, groups)`` refits any fitted model of this package (rma, pooled proportions
including the GLMM, Mantel-Haenszel, Peto, two-group pooling) within each subgroup, with the same
estimator and options, and tests whether the subgroup estimates differ:

.. math:: Q_{between} = \sum_g w_g(\hat\theta_g - \bar\theta)^2,\quad w_g = 1/SE_g^2,
   \quad \bar\theta = \sum w_g\hat\theta_g / \sum w_g,

on G - 1 degrees of freedom, where :math:`\hat\theta_g` and :math:`SE_g` are each subgroup's
pooled estimate and standard error on the model scale (separate tau^2 per subgroup; Borenstein
et al. 2009, ch. 19; Cochrane Handbook 10.11.3; R meta ``update(m, subgroup=)`` with
tau.common=FALSE). This equals metafor's ``rma(theta_g, SE_g^2, method="FE")`` Q test.

With ``tau2="common"`` (for inverse-variance models: rma and the transformed pooled
proportions) the test is metafor's ``rma(yi, vi, mods = ~ group)`` "Test of Moderators" Q_M, from
a mixed-effects model with one tau^2 shared by the subgroups (:mod:`.regression`); the table
then holds that model's subgroup means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .._util import norm_isf
from .regression import GroupModel, common_tau2_model
from .results import ResultMixin

__all__ = ["SubgroupResult", "subgroup"]


@dataclass(eq=False)
class SubgroupResult(ResultMixin):
    """Per-subgroup fits and the test for subgroup differences.

    The protocol attributes (``k``, ``estimate``, ``ci_low``, ..., ``weights``) are those of
    ``overall``, the fit of all studies together; the subgroup test is ``q_between``,
    ``q_between_df``, ``q_between_pval``.

    Attributes
    ----------
    overall
        The fit of all studies (the result passed to :func:`subgroup`).
    groups : dict
        Subgroup value -> fit of its studies (same model and options).
    table : polars.DataFrame
        One row per subgroup: group, k, estimate, se, ci_low, ci_high, pi_low, pi_high, tau2,
        i2, q, q_pval (estimate and intervals on the scale of ``overall.estimate``).
    q_between, q_between_df, q_between_pval : float, int, float
        Test for subgroup differences (see module docstring).
    by : str
        Name of the grouping (for printing).
    tau2_between : str
        "separate" (a tau^2 per subgroup) or "common" (one tau^2, metafor's mods model).
    common : GroupModel or None
        The mixed-effects model with a common tau^2 (``tau2="common"``).
    """

    overall: object = field(repr=False)
    groups: dict = field(repr=False)
    table: pl.DataFrame
    q_between: float
    q_between_df: int
    q_between_pval: float
    by: str = "subgroup"
    tau2_between: str = "separate"
    common: GroupModel | None = None

    def __getattr__(self, name):  # protocol attributes of the overall fit
        if name.startswith("__") or name in ("overall",):
            raise AttributeError(name)
        return getattr(self.overall, name)

    @property
    def _labels(self):
        return self.overall.labels

    def summary_frame(self) -> pl.DataFrame:
        """Each subgroup's studies and pooled row(s), then the overall pooled row(s); column ``group``."""
        return self._frames("summary_frame")

    def forest_frame(self) -> pl.DataFrame:
        return self._frames("forest_frame")

    def _frames(self, which: str) -> pl.DataFrame:
        parts = [getattr(fit, which)().with_columns(pl.lit(str(g)).alias("group")) for g, fit in self.groups.items()]
        overall = getattr(self.overall, which)().filter(pl.col("kind") != "study")
        parts.append(overall.with_columns(pl.lit("overall").alias("group")))
        return pl.concat(parts)

    def __str__(self) -> str:
        from .text import subgroup_text

        return subgroup_text(self)


def _common(result, arr: np.ndarray, levels: list, fits: dict) -> tuple[GroupModel, list[dict]]:
    from .rma import MetaResult

    model = getattr(result, "model", result)
    if not isinstance(model, MetaResult):
        raise ValueError("tau2='common' needs an inverse-variance model (rma, or pooled proportions other than glmm)")
    gm = common_tau2_model(model.yi, model.vi, arr, method=model.method)
    z = norm_isf((1.0 - model.level) / 2)
    back = (lambda v: v) if model is result else (lambda v: result._back(v))
    rows = []
    for i, lev in enumerate(levels):
        b, s = float(gm.estimates[i]), float(gm.se[i])
        lo, hi = sorted((back(b - z * s), back(b + z * s)))
        plo, phi = sorted((back(b - z * (s * s + gm.tau2) ** 0.5), back(b + z * (s * s + gm.tau2) ** 0.5)))
        rows.append({"group": str(lev), "k": fits[lev].k, "estimate": back(b), "se": s, "ci_low": lo, "ci_high": hi,
                     "pi_low": plo, "pi_high": phi, "tau2": gm.tau2, "i2": None, "q": None, "q_pval": None})
    return gm, rows


def subgroup(result, groups, by: str = "subgroup", tau2: str = "separate") -> SubgroupResult:
    """Refit ``result`` within each subgroup and test for subgroup differences.

    Parameters
    ----------
    result
        A fitted result of this package (its studies in order).
    groups : sequence
        The subgroup of each study (same order as the studies of ``result``); None is a group.
    by : str
        Name of the grouping, for printing.
    tau2 : {"separate", "common"}
        A tau^2 per subgroup (default; the separate fits are also what a forest plot shows), or
        one common tau^2 (metafor ``rma(yi, vi, mods = ~ group)``; inverse-variance models only).

    Returns
    -------
    SubgroupResult

    Raises
    ------
    ValueError
        When ``groups`` does not have one entry per study or there are fewer than two subgroups.
    """
    from .rma import rma

    g = list(groups)
    if len(g) != result.k:
        raise ValueError(f"groups must give one group per study ({result.k}); got {len(g)}")
    if tau2 not in ("separate", "common"):
        raise ValueError(f"tau2 must be 'separate' or 'common'; got {tau2!r}")
    levels = list(dict.fromkeys(g))
    if len(levels) < 2:
        raise ValueError("subgroup analysis needs at least two groups")
    arr = np.array([levels.index(x) for x in g])
    fits = {lev: result._refit(arr == i) for i, lev in enumerate(levels)}
    schema = {"group": pl.String, "k": pl.Int64, **{c: pl.Float64 for c in ("estimate", "se", "ci_low", "ci_high",
                                                                              "pi_low", "pi_high", "tau2", "i2", "q",
                                                                              "q_pval")}}
    if tau2 == "common":
        gm, rows = _common(result, arr, levels, fits)
        return SubgroupResult(overall=result, groups=fits, table=pl.DataFrame(rows, schema=schema), q_between=gm.qm,
                              q_between_df=gm.qm_df, q_between_pval=gm.qm_pval, by=by, tau2_between="common", common=gm)
    rows = [{"group": str(lev), "k": f.k, "estimate": f.estimate, "se": f.se, "ci_low": f.ci_low, "ci_high": f.ci_high,
             "pi_low": f.pi_low, "pi_high": f.pi_high, "tau2": f.tau2, "i2": f.i2, "q": f.q, "q_pval": f.q_pval}
            for lev, f in fits.items()]
    est = np.array([f._model_scale()[0] for f in fits.values()])
    se = np.array([f._model_scale()[1] for f in fits.values()])
    fe = rma(est, se**2, method="FE")
    return SubgroupResult(overall=result, groups=fits, table=pl.DataFrame(rows, schema=schema), q_between=fe.q,
                          q_between_df=fe.q_df, q_between_pval=fe.q_pval, by=by)

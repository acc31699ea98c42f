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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

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
        "separate" (a tau^2 per subgroup).
    """

    overall: object = field(repr=False)
    groups: dict = field(repr=False)
    table: pl.DataFrame
    q_between: float
    q_between_df: int
    q_between_pval: float
    by: str = "subgroup"
    tau2_between: str = "separate"

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


def subgroup(result, groups, by: str = "subgroup") -> SubgroupResult:
    """Refit ``result`` within each subgroup and test for subgroup differences.

    Parameters
    ----------
    result
        A fitted result of this package (its studies in order).
    groups : sequence
        The subgroup of each study (same order as the studies of ``result``); None is a group.
    by : str
        Name of the grouping, for printing.

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
    levels = list(dict.fromkeys(g))
    if len(levels) < 2:
        raise ValueError("subgroup analysis needs at least two groups")
    arr = np.array([levels.index(x) for x in g])
    fits = {lev: result._refit(arr == i) for i, lev in enumerate(levels)}
    rows = [{"group": str(lev), "k": f.k, "estimate": f.estimate, "se": f.se, "ci_low": f.ci_low, "ci_high": f.ci_high,
             "pi_low": f.pi_low, "pi_high": f.pi_high, "tau2": f.tau2, "i2": f.i2, "q": f.q, "q_pval": f.q_pval}
            for lev, f in fits.items()]
    est = np.array([f._model_scale()[0] for f in fits.values()])
    se = np.array([f._model_scale()[1] for f in fits.values()])
    fe = rma(est, se**2, method="FE")
    schema = {"group": pl.String, "k": pl.Int64, **{c: pl.Float64 for c in rows[0] if c not in ("group", "k")}}
    return SubgroupResult(overall=result, groups=fits, table=pl.DataFrame(rows, schema=schema), q_between=fe.q,
                          q_between_df=fe.q_df, q_between_pval=fe.q_pval, by=by)

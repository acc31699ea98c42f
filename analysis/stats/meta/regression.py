r"""Mixed-effects model with a categorical moderator: subgroup means under one common tau^2.

metafor ``rma(yi, vi, mods = ~ 0 + group)`` (R/rma.uni.r, p > 1): with X the group indicators,
:math:`W=\mathrm{diag}\{1/(v_i+\tau^2)\}` and :math:`P = W - WX(X'WX)^{-1}X'W`,

* tau^2: HE :math:`(y'(I-H)y - \mathrm{tr}((I-H)V))/(k-p)`; DL :math:`(Q_E-(k-p))/\mathrm{tr}P_0`;
  ML / REML by Fisher scoring from the HE value (steps :math:`(y'PPy-\sum w_i)/\sum w_i^2` and
  :math:`(y'PPy-\mathrm{tr}P)/\mathrm{tr}(PP)`, change < 1e-5, step halving), se(tau^2)
  :math:`\sqrt{2/\sum w_i^2}` (ML) or :math:`\sqrt{2/\mathrm{tr}(PP)}` (REML);
* group means :math:`\hat\beta=(X'WX)^{-1}X'Wy` with variances :math:`(X'WX)^{-1}` (here the
  weighted mean and 1/sum of weights within each group);
* :math:`Q_E = y'P_0y` with :math:`P_0` at tau^2 = 0 (test for residual heterogeneity, k - p df);
  :math:`I^2 = 100\tau^2/(\tau^2+v_t)`, :math:`v_t=(k-p)/\mathrm{tr}P_0`, :math:`H^2=\tau^2/v_t+1`;
* :math:`Q_M`: Wald test that all group means are equal, :math:`(L\hat\beta)'(L\,\mathrm{Var}\,\hat\beta\,L')^{-1}L\hat\beta`
  with L the contrasts against the first group, G - 1 df -- metafor's "Test of Moderators" of
  ``rma(yi, vi, mods = ~ group)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._util import chi2_sf

__all__ = ["GroupModel", "common_tau2_model"]

_THRESHOLD, _MAXITER = 1e-5, 100


@dataclass
class GroupModel:
    """Fit of :func:`common_tau2_model`: one common tau^2, a mean per group, Q_E and Q_M."""

    method: str
    tau2: float
    se_tau2: float
    estimates: np.ndarray
    se: np.ndarray
    qe: float
    qe_df: int
    qe_pval: float
    qm: float
    qm_df: int
    qm_pval: float
    i2: float
    h2: float


def _p_matrix(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


def _tau2(y, v, X, method: str) -> tuple[float, float]:
    k, p = X.shape
    if method == "FE":
        return 0.0, float("nan")
    P0 = _p_matrix(X, 1.0 / v)
    if method == "DL":
        return max(0.0, (float(y @ P0 @ y) - (k - p)) / float(np.trace(P0))), float("nan")
    H = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
    tau2 = (float(y @ H @ y) - float(np.trace(H * v[None, :]))) / (k - p)  # HE; tr(P V) with V diagonal
    if method == "HE":
        return max(0.0, tau2), float("nan")
    tau2, change, it = max(0.0, tau2), 1.0, 0
    while change > _THRESHOLD:
        it += 1
        w = 1.0 / (v + tau2)
        P = _p_matrix(X, w)
        Py = P @ y
        adj = ((Py @ Py - w.sum()) / (w @ w)) if method == "ML" else ((Py @ Py - np.trace(P)) / np.trace(P @ P))
        while tau2 + adj < 0:
            adj /= 2.0
        old, tau2 = tau2, tau2 + float(adj)
        change = abs(old - tau2)
        if it > _MAXITER:
            raise RuntimeError("Fisher scoring algorithm did not converge (maxiter = 100)")
    w = 1.0 / (v + tau2)
    P = _p_matrix(X, w)
    se = math.sqrt(2.0 / float(w @ w)) if method == "ML" else math.sqrt(2.0 / float(np.trace(P @ P)))
    return tau2, se


def common_tau2_model(yi, vi, group_index, method: str = "REML") -> GroupModel:
    """Group means with a common tau^2 and the tests Q_E and Q_M (see the module docstring).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    group_index : array_like of int
        Group of each study as 0..G-1.
    method : {"REML", "ML", "DL", "HE", "FE"}
    """
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    g = np.asarray(group_index)
    G = int(g.max()) + 1
    X = (g[:, None] == np.arange(G)[None, :]).astype(float)
    k, p = X.shape
    if k <= p:
        raise ValueError("a common tau^2 needs more studies than subgroups")
    if method not in ("REML", "ML", "DL", "HE", "FE"):
        raise ValueError(f"a common tau^2 is estimated by REML, ML, DL, HE or FE; got {method!r}")
    tau2, se_tau2 = _tau2(y, v, X, method)
    w = 1.0 / (v + tau2)
    sw = X.T @ w
    beta = (X.T @ (w * y)) / sw
    vb = np.diag(1.0 / sw)
    L = np.hstack([-np.ones((G - 1, 1)), np.eye(G - 1)])
    Lb = L @ beta
    qm = float(Lb @ np.linalg.solve(L @ vb @ L.T, Lb))
    P0 = _p_matrix(X, 1.0 / v)
    qe = max(0.0, float(y @ P0 @ y))
    vt = (k - p) / float(np.trace(P0))
    return GroupModel(method=method, tau2=tau2, se_tau2=se_tau2, estimates=beta, se=np.sqrt(np.diag(vb)), qe=qe,
                      qe_df=k - p, qe_pval=chi2_sf(qe, k - p), qm=qm, qm_df=G - 1, qm_pval=chi2_sf(qm, G - 1),
                      i2=100.0 * tau2 / (vt + tau2), h2=tau2 / vt + 1.0)

r"""The binomial-normal model for single proportions (metafor ``rma.glmm(measure="PLO")``).

Model (Stijnen, Hamza & Ozdemir 2010): :math:`x_i \sim \mathrm{Bin}(n_i, p_i)`,
:math:`\mathrm{logit}\,p_i = \mu + \theta u_i`, :math:`u_i\sim N(0,1)`, :math:`\tau^2=\theta^2`,
fitted by maximum likelihood with adaptive Gauss-Hermite quadrature (lme4 ``glmer``, which
metafor calls with nAGQ = 7). Hand-written: statsmodels' ``BinomialBayesMixedGLM`` is a
variational Bayes fit, not the ML fit metafor reports, and no Python library integrates the
random intercept by adaptive quadrature.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from .._util import check_counts, check_level, dot, norm_isf
from .effects import escalc_proportion
from .results import Fit

__all__ = ["GLMMResult", "glmm_proportion", "agq_loglik", "gh_rule", "binom_loglik_const"]


@dataclass(eq=False)
class GLMMResult(Fit):
    r"""Random-intercept logistic model for proportions (metafor rma.glmm(measure="PLO"), lme4 glmer).

    Protocol attributes on the logit scale: ``k``, ``estimate``, ``se``, ``zval``, ``pval``,
    ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high`` (estimate ± z sqrt(se^2 + tau^2)),
    ``level``, ``method`` (e.g. "ML (GLMM, nAGQ=7)"), ``measure`` ("PLO"), ``tau2`` (0 for the
    common-effect model, as metafor), ``i2``, ``h2`` (from tau^2 and the typical variance of
    the escalc PLO variances, as metafor), ``q``/``q_df``/``q_pval`` (metafor's Wald test for
    heterogeneity, "Wld"); ``weights`` is None (metafor defines no weights for rma.glmm);
    ``tau2_low``/``tau2_high``/``i2_low``/``i2_high``/``hk_low``/``hk_high`` are None.

    Other attributes: ``q_lrt``, ``q_lrt_pval`` (likelihood-ratio test for heterogeneity),
    ``loglik``, ``nAGQ``, ``random`` (False for the common-effect model), ``events``, ``n``.
    """

    random: bool
    nAGQ: int
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_lrt: float
    q_df: int
    q_pval: float
    q_lrt_pval: float
    loglik: float
    events: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    _labels: list[str] | None = field(repr=False, default=None)
    measure: str = "PLO"
    weights = None
    tau2_low = tau2_high = i2_low = i2_high = hk_low = hk_high = None
    ddf = None
    _pooled_label = "GLMM"

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    def _study_rows(self):
        yi, vi = escalc_proportion(self.events, self.n, "logit")
        z = norm_isf((1.0 - self.level) / 2)
        return yi, yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)

    def _refit(self, keep: np.ndarray) -> GLMMResult:
        return glmm_proportion(self.events[keep], self.n[keep], level=self.level, nAGQ=self.nAGQ,
                               method="ML" if self.random else "FE",
                               labels=[lab for lab, k in zip(self.labels, keep) if k])

    def __str__(self) -> str:
        from .text import glmm_text

        return glmm_text(self)


def gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes/weights for the N(0,1) density (lme4 GHrule): sum w_k h(z_k) ~ E h(Z)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / math.sqrt(2 * math.pi)


def binom_loglik_const(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """log binomial coefficients log C(n, x)."""
    return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)


def _modes(beta: float, theta: float, x, n, cache: dict | None) -> np.ndarray:
    """Conditional modes of u_i: roots of g'(u) = theta (x - n p(u)) - u (safeguarded Newton)."""
    # g' is strictly decreasing with its root in [theta (x - n), theta x]; bisection whenever
    # Newton leaves the bracket
    lo = theta * (x - n) - 1e-12
    hi = theta * x + 1e-12
    if theta < 0:
        lo, hi = theta * x - 1e-12, theta * (x - n) + 1e-12
    u0 = cache.get("u") if cache is not None else None
    u = np.clip(u0 if u0 is not None else np.zeros_like(x), lo, hi)
    for _ in range(200):
        p = special.expit(beta + theta * u)
        g1 = theta * (x - n * p) - u
        g2 = -(theta * theta) * n * p * (1 - p) - 1.0
        pos = g1 > 0
        lo = np.where(pos, u, lo)
        hi = np.where(pos, hi, u)
        un = u - g1 / g2
        bad = (un <= lo) | (un >= hi)
        un = np.where(bad, 0.5 * (lo + hi), un)
        done = np.max(np.abs(un - u)) < 1e-11
        u = un
        if done:
            break
    if cache is not None:
        cache["u"] = u
    return u


def agq_loglik(beta: float, theta: float, x, n, lconst, z, wz, cache: dict | None = None, per_study: bool = False):
    r"""Marginal log-likelihood of the random-intercept logistic model by adaptive GH quadrature.

    For study i with u ~ N(0,1) and logit p = beta + theta u, g(u) = log f(x_i|u) - u^2/2; at the
    conditional mode û with scale s = (-g''(û))^{-1/2}:
    :math:`L_i \approx s\sum_k w_k \exp\{z_k^2/2 + g(\hat u + s z_k)\}` (Liu & Pierce 1994;
    lme4 glmer nAGQ > 1). ``cache`` (optional dict) warm-starts the modes from the previous call;
    ``per_study=True`` returns the vector of per-study log-likelihoods.
    """
    u = _modes(beta, theta, x, n, cache)
    p = special.expit(beta + theta * u)
    s = 1.0 / np.sqrt(theta * theta * n * p * (1 - p) + 1.0)
    uu = u[:, None] + s[:, None] * z[None, :]
    et = beta + theta * uu
    # log f = x*eta - n*log(1+exp(eta)) = x*log p + m*log(1-p)
    lf = x[:, None] * et - n[:, None] * np.logaddexp(0.0, et)
    g = lf - 0.5 * uu * uu + 0.5 * z[None, :] ** 2
    li = np.log(s) + special.logsumexp(g, axis=1, b=wz[None, :]) + lconst
    return li if per_study else float(np.sum(li))


def num_hessian(f: Callable[[np.ndarray], float], x0: np.ndarray, h: float) -> np.ndarray:
    """Central finite-difference Hessian (as lme4's deriv12 with delta=1e-4)."""
    d = x0.size
    H = np.empty((d, d))
    f0 = f(x0)
    for i in range(d):
        ei = np.zeros(d)
        ei[i] = h
        H[i, i] = (f(x0 + ei) - 2 * f0 + f(x0 - ei)) / (h * h)
        for j in range(i + 1, d):
            ej = np.zeros(d)
            ej[j] = h
            H[i, j] = H[j, i] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (4 * h * h)
    return H


def newton_polish(f: Callable[[np.ndarray], float], x0: np.ndarray, maxit: int = 50) -> tuple[np.ndarray, float]:
    """Newton iterations with finite-difference derivatives and step halving (minimises f)."""
    x = np.array(x0, dtype=float)
    fx = f(x)
    d = x.size
    for _ in range(maxit):
        g = np.empty(d)
        for i in range(d):
            h = 1e-6 * max(1.0, abs(x[i]))
            e = np.zeros(d)
            e[i] = h
            g[i] = (f(x + e) - f(x - e)) / (2 * h)
        H = num_hessian(f, x, 1e-4)
        try:
            step = np.linalg.solve(H, g)
            if not np.all(np.isfinite(step)) or float(g @ step) <= 0:  # not a descent direction
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = g / max(1.0, float(np.max(np.abs(np.diag(H)))))
        t = 1.0
        while t > 1e-10:
            xn = x - t * step
            fn = f(xn)
            if fn <= fx:
                break
            t /= 2
        else:
            break
        done = float(np.max(np.abs(xn - x))) < 1e-10
        x, fx = xn, fn
        if done:
            break
    return x, fx


def _heterogeneity_tests(x, nn, lconst) -> tuple[float, float, float, float, float]:
    """(ll_fe, ll_sat, Q_Wald, Q_LRT, pbar): metafor's tests of the saturated vs common-effect model."""
    m = nn - x
    pbar = x.sum() / nn.sum()
    ll_fe = float(np.sum(lconst + special.xlogy(x, pbar) + special.xlogy(m, 1 - pbar)))
    ps = x / nn
    ll_sat = float(np.sum(lconst + special.xlogy(x, ps) + special.xlogy(m, 1 - ps)))
    inner = (x > 0) & (m > 0)
    if inner.sum() > 1:
        li = np.log(x[inner] / m[inner])
        wi = 1.0 / (1.0 / x[inner] + 1.0 / m[inner])
        q_w = float(np.sum(wi * (li - dot(wi, li) / wi.sum()) ** 2))
    else:
        q_w = 0.0
    return ll_fe, ll_sat, q_w, max(0.0, -2.0 * (ll_fe - ll_sat)), float(pbar)


def _fit_ml(x, nn, lconst, nagq: int, pbar: float, ll_fe: float) -> tuple[float, float, float, float]:
    """ML fit by adaptive quadrature: (beta, theta, loglik, se of beta)."""
    k = x.size
    z, wz = gh_rule(int(nagq))
    cache: dict = {}

    def nll(par):
        return -agq_loglik(par[0], par[1], x, nn, lconst, z, wz, cache)

    from .rma import rma  # DL fit on the logit scale gives the starting values

    yi0, vi0 = escalc_proportion(x, nn, "logit")
    start_fit = rma(yi0, vi0, method="DL") if k > 1 else None
    b0 = start_fit.estimate if start_fit else math.log(pbar / (1 - pbar))
    t0 = max(math.sqrt(start_fit.tau2), 0.1) if start_fit else 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = optimize.minimize(nll, np.array((b0, t0)), method="BFGS", options={"gtol": 1e-8, "maxiter": 500})
    par, _ = newton_polish(nll, np.asarray(opt.x, dtype=float))
    beta, theta = float(par[0]), abs(float(par[1]))
    ll = -nll([beta, theta])
    # boundary: at theta = 0 the model is the common-effect logistic model (lme4 reports a
    # singular fit with theta = 0); keep the boundary when it is at least as likely
    if theta < 1e-3 and ll_fe >= ll - 1e-9:
        beta, theta, ll = math.log(pbar / (1 - pbar)), 0.0, ll_fe
    # vcov from the finite-difference Hessian of the deviance in (theta, beta) (lme4 deriv12 step 1e-4)
    if theta > 0:
        H = num_hessian(lambda p: 2.0 * nll([p[1], p[0]]), np.array([theta, beta]), 1e-4)
        try:
            V = np.linalg.inv(H / 2.0)
            se = math.sqrt(V[1, 1]) if V[1, 1] > 0 else float("nan")
        except np.linalg.LinAlgError:
            se = float("nan")
    else:
        p0 = special.expit(beta)
        se = 1.0 / math.sqrt(float(np.sum(nn * p0 * (1 - p0))))
    return beta, theta, ll, se


def glmm_proportion(events, n, level: float = 0.95, nAGQ: int = 7, method: str = "ML", labels=None) -> GLMMResult:
    r"""Random-intercept logistic model for single proportions, as metafor ``rma.glmm(measure="PLO")``.

    Model: :math:`x_i \sim \mathrm{Bin}(n_i, p_i)`, :math:`\mathrm{logit}\,p_i = \mu + \theta u_i`,
    :math:`u_i\sim N(0,1)`, :math:`\tau^2=\theta^2`, fitted by maximum likelihood with adaptive
    Gauss-Hermite quadrature (nAGQ = 7 as metafor's default for lme4::glmer). Studies with 0 % or
    100 % events enter without correction. The standard error of mu comes from the inverse of the
    numerical Hessian of the deviance in (theta, mu) as lme4's vcov.merMod (use.hessian=TRUE).
    ``method="FE"`` fits the common-effect logistic model (metafor method="EE").

    The heterogeneity tests are metafor's: Wald test of the study effects of the saturated logistic
    model (computed from the studies with 0 < x < n, where the saturated fit is finite) and the
    likelihood ratio test of the common-effect vs the saturated model, both on k - 1 df.
    I^2/H^2 use tau^2 and the typical within-study variance
    :math:`v_t = (k-1)/(\sum w_i - \sum w_i^2/\sum w_i)`, :math:`w_i = 1/v_i`, of the escalc PLO
    variances with 1/2 added to 0 %/100 % studies (metafor R/rma.glmm.r, "calculation of I^2 and
    H^2", i2def="1", with vi from escalc(measure="PLO", add=1/2, to="only0")).

    Parameters
    ----------
    events, n : array_like
        Events and patients per study.
    level : float
        Confidence level.
    nAGQ : int
        Number of adaptive Gauss-Hermite quadrature points (7 = metafor/lme4 default here).
    method : {"ML", "FE"}
    labels : sequence, optional
        Study labels.

    Returns
    -------
    GLMMResult
        Estimates on the logit scale; back-transform with scipy.special.expit (or use
        :func:`pool_proportions` with transform="glmm").

    References
    ----------
    Stijnen T, Hamza TH, Ozdemir P (2010). Random effects meta-analysis of event outcome in the
    framework of the generalized linear mixed model. Stat Med 29:3046-3067.
    Bates D, et al. (2015). lme4, J Stat Softw 67(1) (glmer with nAGQ > 1; vcov.merMod).
    """
    x, nn = check_counts(events, n)
    lvl = check_level(level)
    meth = str(method).upper()
    if meth in ("EE", "CE"):
        meth = "FE"
    if meth not in ("ML", "FE"):
        raise ValueError("method must be 'ML' (random effects) or 'FE'")
    k = x.size
    labs = None if labels is None else [str(s) for s in labels]
    lconst = binom_loglik_const(x, nn)
    ll_fe, _, q_w, q_lrt, pbar = _heterogeneity_tests(x, nn, lconst)
    q_df = k - 1
    if pbar <= 0 or pbar >= 1:
        raise ValueError("all studies have 0 % (or all 100 %) events: the logistic model has no finite estimate")
    if meth == "FE":
        beta = math.log(pbar / (1 - pbar))
        se = math.sqrt(1.0 / x.sum() + 1.0 / (nn - x).sum())
        tau2, ll = 0.0, ll_fe
    else:
        beta, theta, ll, se = _fit_ml(x, nn, lconst, nAGQ, pbar, ll_fe)
        tau2 = theta * theta
    zcrit = norm_isf((1.0 - lvl) / 2)
    stat = beta / se
    pi_se = math.sqrt(se * se + tau2)
    _, vi0 = escalc_proportion(x, nn, "logit")
    w0 = 1.0 / vi0
    W0 = w0.sum()
    vt = (k - 1) / (W0 - dot(w0, w0) / W0) if k > 1 else float("nan")
    return GLMMResult(
        method=f"ML (GLMM, nAGQ={int(nAGQ)})" if meth == "ML" else "FE (logistic)", random=meth == "ML",
        k=k, level=lvl, nAGQ=int(nAGQ), estimate=beta, se=se, zval=stat,
        pval=float(2 * stats.norm.sf(abs(stat))), ci_low=beta - zcrit * se, ci_high=beta + zcrit * se,
        pi_low=beta - zcrit * pi_se, pi_high=beta + zcrit * pi_se, tau2=tau2,
        i2=float(100 * tau2 / (vt + tau2)) if k > 1 else 0.0, h2=float(tau2 / vt + 1) if k > 1 else 1.0,
        q=q_w, q_lrt=q_lrt, q_df=q_df, q_pval=float(stats.chi2.sf(q_w, q_df)) if q_df > 0 else 1.0,
        q_lrt_pval=float(stats.chi2.sf(q_lrt, q_df)) if q_df > 0 else 1.0, loglik=ll, events=x, n=nn, _labels=labs,
    )

r"""The binomial-normal model for single proportions (metafor ``rma.glmm(measure="PLO")``).

Model (Stijnen, Hamza & Ozdemir 2010): :math:`x_i \sim \mathrm{Bin}(n_i, p_i)`,
:math:`\mathrm{logit}\,p_i = \mu + \theta u_i`, :math:`u_i\sim N(0,1)`, :math:`\tau^2=\theta^2`,
fitted by maximum likelihood with adaptive Gauss-Hermite quadrature (:mod:`.quadrature`; lme4
``glmer``, which metafor calls with nAGQ = 7). Hand-written: statsmodels'
``BinomialBayesMixedGLM`` is a variational Bayes fit, not the ML fit metafor reports, and no
Python library integrates the random intercept by adaptive quadrature.

Small-k additions (issue 15): ``nAGQ="auto"`` raises the number of nodes until the maximised
log-likelihood settles (7 nodes can be off by several percentage points on sparse data);
``test="t"`` gives metafor's t-based interval; the profile-likelihood CI of tau^2 (and the I^2
interval it implies) inverts the likelihood-ratio statistic against chi^2_1.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from .._util import check_counts, check_level, dot, norm_isf, t_isf, t_sf
from .effects import escalc_proportion
from .quadrature import (agq_loglik, agq_logliks, binom_loglik_const, gh_rule, gradient, maximise_1d, newton_polish,
                         num_hessian, quad_loglik, quad_logliks)
from .results import Fit
from .tau2 import HeterogeneityCI, from_tau2_bounds

__all__ = ["GLMMResult", "glmm_proportion", "NAGQ_SEQUENCE", "profile_loglik"]

_NO_FIT = ("the binomial-normal model has no maximum-likelihood fit for these data: the information matrix is "
           "singular (tau^2 is not identified or diverges, e.g. 0/n studies beside n/n ones); use a crude pooled "
           "count or another model")

#: The smallest eigenvalue of the information matrix in (theta, mu) below which the fit is taken
#: as not identified: a standard error of 100 logits along that direction.  Where the likelihood
#: is flat in tau (0/1 beside 1/1), what the finite differences see there is the quadrature's
#: error, of the order of 1e-6, of either sign.
_FLAT = 1e-4

#: Node counts tried by ``nAGQ="auto"``, in order.
NAGQ_SEQUENCE: tuple[int, ...] = (7, 9, 11, 15, 21, 31, 41, 51, 71, 101)


@dataclass(eq=False)
class GLMMResult(Fit):
    r"""Random-intercept logistic model for proportions (metafor rma.glmm(measure="PLO"), lme4 glmer).

    Protocol attributes on the logit scale: ``k``, ``estimate``, ``se``, ``zval`` (a t statistic
    under test="t"), ``pval``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high`` (estimate ± c
    sqrt(se^2 + tau^2), c from N(0,1) or t_{k-1}), ``level``, ``method`` (e.g. "ML (GLMM,
    nAGQ=21)"), ``measure`` ("PLO"), ``tau2`` (0 for the common-effect model, as metafor),
    ``tau2_low``/``tau2_high`` (profile likelihood; None for the common-effect model), ``i2``,
    ``i2_low``, ``i2_high``, ``h2`` (from tau^2 and the typical within-study variance ``vt`` of
    the escalc PLO variances, as metafor), ``q``/``q_df``/``q_pval`` (metafor's Wald test for
    heterogeneity, "Wld"); ``weights`` is None (metafor defines no weights for rma.glmm);
    ``hk_low``/``hk_high`` are None (Hartung-Knapp is for rma).

    Other attributes: ``test`` ("z" or "t"), ``ddf``, ``q_lrt``, ``q_lrt_pval`` (likelihood-ratio
    test for heterogeneity), ``loglik``, ``nAGQ`` (nodes used), ``nagq_path`` ((nodes, loglik)
    of every fit tried by nAGQ="auto"), ``random`` (False for the common-effect model),
    ``events``, ``n``, ``vt``.
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
    vt: float = float("nan")
    test: str = "z"
    ddf: int | None = None
    nagq_path: tuple = ()
    _labels: list[str] | None = field(repr=False, default=None)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    measure: str = "PLO"
    weights = None
    hk_low = hk_high = None
    _pooled_label = "GLMM"

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    def confint(self, level: float | None = None) -> HeterogeneityCI:
        """Profile-likelihood CI of tau^2 (and tau, I^2, H^2) at ``level`` (default: the model's); cached.

        See :func:`profile_tau2_ci`.
        """
        if not self.random:
            raise ValueError("the common-effect model has no tau^2 (method='FE')")
        lvl = self.level if level is None else check_level(level)
        if lvl not in self._cache:
            lb, ub, high_sign = profile_tau2_ci(self, lvl)
            self._cache[lvl] = from_tau2_bounds(self.tau2, self.i2, self.h2, self.vt, lb, ub, lvl,
                                                "profile likelihood", high_sign=high_sign)
        return self._cache[lvl]

    def _het_ci(self, name: str, j: int) -> float | None:
        if not self.random or self.k < 2:
            return None
        return getattr(self.confint(), name)[j]

    tau2_low = property(lambda self: self._het_ci("tau2", 1), doc="Lower profile-likelihood bound of tau^2.")
    tau2_high = property(lambda self: self._het_ci("tau2", 2), doc="Upper profile-likelihood bound of tau^2.")
    i2_low = property(lambda self: self._het_ci("i2", 1), doc="I^2 (percent) at the lower bound of tau^2.")
    i2_high = property(lambda self: self._het_ci("i2", 2), doc="I^2 (percent) at the upper bound of tau^2.")

    def _study_rows(self):
        yi, vi = escalc_proportion(self.events, self.n, "logit")
        z = norm_isf((1.0 - self.level) / 2)
        return yi, yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)

    def with_test(self, test: str) -> GLMMResult:
        """The same fit under another test ("z" or "t"): the statistic, p-value and intervals change.

        No refit: the model does not depend on the test, so this equals
        ``glmm_proportion(..., test=test)`` on the same data to the last bit, at no cost.
        """
        tst = str(test).lower()
        if tst not in ("z", "t"):
            raise ValueError("test must be 'z' or 't'")
        return dataclasses.replace(self, **_test_fields(self.estimate, self.se, self.tau2, self.level, tst, self.k),
                                   _cache={})

    def _refit(self, keep: np.ndarray) -> GLMMResult:
        return glmm_proportion(self.events[keep], self.n[keep], level=self.level, nAGQ=self._nagq_option,
                               method="ML" if self.random else "FE", test=self.test,
                               labels=[lab for lab, k in zip(self.labels, keep) if k])

    @property
    def _nagq_option(self):
        return "auto" if len(self.nagq_path) > 1 or self.method.endswith("adaptive)") else self.nAGQ

    def __str__(self) -> str:
        from .text import glmm_text

        return glmm_text(self)


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


def _start(x, nn, pbar: float) -> tuple[float, float]:
    """Starting values: the DL fit on the logit scale (theta at least 0.1)."""
    from .rma import rma

    if x.size < 2:
        return math.log(pbar / (1 - pbar)), 0.1
    yi0, vi0 = escalc_proportion(x, nn, "logit")
    fit = rma(yi0, vi0, method="DL")
    return fit.estimate, max(math.sqrt(fit.tau2), 0.1)


def _fit_ml(x, nn, lconst, nagq: int, pbar: float, ll_fe: float, start,
            warm: bool = False) -> tuple[float, float, float, float]:
    """ML fit by adaptive quadrature with ``nagq`` nodes: (beta, theta, loglik, se of beta).

    BFGS from ``start``, then Newton polishing; ``warm=True`` (``start`` is the optimum of a fit
    with fewer nodes) goes straight to the Newton steps.
    """
    z, wz = gh_rule(int(nagq))
    cache: dict = {}

    def nll(par):  # par: rows of (beta, theta)
        par = np.asarray(par, dtype=float)
        return -agq_logliks(par[:, 0], par[:, 1], x, nn, lconst, z, wz, cache)

    x0 = np.array(start, dtype=float)
    if not warm:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x0 = optimize.minimize(lambda p: gradient(nll, p), x0, jac=True, method="BFGS",
                                   options={"gtol": 1e-8, "maxiter": 500}).x
    par, _ = newton_polish(nll, np.asarray(x0, dtype=float))
    beta, theta = float(par[0]), abs(float(par[1]))
    ll = -float(nll([[beta, theta]])[0])
    # boundary: at theta = 0 the model is the common-effect logistic model (lme4 reports a
    # singular fit with theta = 0); keep the boundary when it is at least as likely
    if theta < 1e-3 and ll_fe >= ll - 1e-9:
        beta, theta, ll = math.log(pbar / (1 - pbar)), 0.0, ll_fe
    if theta > 10.0:  # tau above 10 logits: is the likelihood still rising (separated data)? Checked
        # with adaptive Gauss-Legendre quadrature (quad_logliks): Gauss-Hermite rules are unreliable that far out
        near = _profile_at(theta, x, nn, lconst, None, beta)[0]
        if _profile_at(2.0 * theta, x, nn, lconst, None, beta)[0] >= near - 1e-6:
            raise ValueError(_NO_FIT)
    # vcov from the finite-difference Hessian of the deviance in (theta, beta) (lme4 deriv12 step 1e-4)
    if theta > 0:
        info = num_hessian(lambda p: 2.0 * nll(p[:, ::-1]), np.array([theta, beta]), 1e-4) / 2.0
        eig = np.linalg.eigvalsh(info)
        if not np.all(np.isfinite(eig)) or eig[0] <= max(_FLAT, 1e-8 * max(1.0, eig[-1])):
            # metafor stops here too ("Cannot invert the Hessian for the ML model"): tau^2 is not
            # identified (e.g. only 0/n and n/n studies) or runs off to infinity
            raise ValueError(_NO_FIT)
        se = math.sqrt(np.linalg.inv(info)[1, 1])
    else:
        p0 = special.expit(beta)
        se = 1.0 / math.sqrt(float(np.sum(nn * p0 * (1 - p0))))
    return beta, theta, ll, se


def _fit_adaptive(x, nn, lconst, pbar, ll_fe, tol: float, max_nagq: int):
    """Raise the node count along :data:`NAGQ_SEQUENCE` until |delta max loglik| < tol.

    Returns (nodes, (beta, theta, loglik, se), path) where path lists (nodes, loglik) of each fit.
    """
    seq = [q for q in NAGQ_SEQUENCE if q <= max_nagq] or [int(max_nagq)]
    start = _start(x, nn, pbar)
    path, prev = [], None
    for q in seq:
        fit = _fit_ml(x, nn, lconst, q, pbar, ll_fe, start, warm=prev is not None)
        path.append((q, fit[2]))
        if prev is not None and abs(fit[2] - prev[2]) < tol:
            return q, fit, tuple(path)
        prev, start = fit, (fit[0], max(fit[1], 0.1))
    warnings.warn(f"GLMM log-likelihood did not settle to {tol:g} by nAGQ = {seq[-1]}; using nAGQ = {seq[-1]}",
                  stacklevel=3)
    return seq[-1], prev, tuple(path)


def _profile_at(theta: float, x, nn, lconst, nagq: int | None, beta0: float,
                cache: dict | None = None) -> tuple[float, float]:
    """(max over mu of the log-likelihood at tau = theta, the maximising mu); ``nagq=None`` uses quad.

    The maximum over mu is found by Newton's method from ``beta0`` (:func:`~.quadrature.maximise_1d`; Brent's
    method if the curvature is not negative there, or, for quad, if it leaves Brent's bounds); ``cache`` carries the conditional modes of
    the quadrature from call to call (they depend on mu and tau, not on the node count).
    """
    if nagq is None:
        # the adaptive quadrature's error (1e-11, relative) makes the difference quotients noisy: a wider step
        found = maximise_1d(lambda bs: quad_logliks(bs, theta, x, nn, lconst), beta0, h=1e-3, xtol=1e-8, ftol=1e-11)
        if found is not None and abs(found[1] - beta0) < 5.0 + 3.0 * theta:
            return found
        f = lambda b: -quad_loglik(b, theta, x, nn, lconst)  # noqa: E731
        width = 5.0 + 3.0 * theta
        opt = optimize.minimize_scalar(f, bounds=(beta0 - width, beta0 + width), method="bounded",
                                       options={"xatol": 1e-8})
        return -float(opt.fun), float(opt.x)
    z, wz = gh_rule(nagq)
    cache = {} if cache is None else cache
    found = maximise_1d(lambda bs: agq_logliks(bs, theta, x, nn, lconst, z, wz, cache), beta0)
    if found is not None:
        return found
    opt = optimize.minimize_scalar(lambda b: -agq_loglik(b, theta, x, nn, lconst, z, wz, cache),
                                   bracket=(beta0 - 1.0, beta0 + 1.0), tol=1e-10)
    return -float(opt.fun), float(opt.x)


def profile_loglik(res: GLMMResult, theta: float, tol: float = 1e-8, state: dict | None = None) -> float:
    """max over mu of the log-likelihood at tau = theta; exact (binomial) at theta = 0.

    The nodes are raised from the fit's along :data:`NAGQ_SEQUENCE` until the profiled value
    settles (|change| < ``tol``): a tau far from the estimate can need more nodes than the fit
    did. Where 101 nodes do not settle (very large tau with sparse studies), the integral is
    taken by adaptive Gauss-Legendre quadrature instead (:func:`~.quadrature.quad_logliks`).  Each
    node count starts from the previous one's maximising mu (and conditional modes).

    ``state`` (a dict kept by the caller between calls, as :func:`profile_tau2_ci` does) starts
    the search at a new tau from the maximising mu and the studies' linear predictors
    mu + tau u_i found at the previous tau: the conditional modes then need a few Newton steps
    instead of a bisection from zero.  It changes where the iterations start, not what they
    converge to.
    """
    x, nn = res.events, res.n
    lconst = binom_loglik_const(x, nn)
    if theta <= 0:
        return _heterogeneity_tests(x, nn, lconst)[0]
    prev, beta, cache = None, res.estimate, {}
    if state and "eta" in state:
        beta = state["beta"]
        cache["u"] = (state["eta"] - beta) / theta
    for q in [res.nAGQ] + [q for q in NAGQ_SEQUENCE if q > res.nAGQ]:
        val, beta = _profile_at(theta, x, nn, lconst, q, beta, cache)
        if prev is not None and abs(val - prev) < tol:
            break
        prev = val
    else:
        val, beta = _profile_at(theta, x, nn, lconst, None, beta)
    if state is not None and "u" in cache:
        state["beta"], state["eta"] = beta, beta + theta * cache["u"]
    return val


def profile_tau2_ci(res: GLMMResult, level: float) -> tuple[float, float, str]:
    r"""Profile-likelihood bounds of tau^2: :math:`2\{\ell(\hat\mu,\hat\tau)-\max_\mu\ell(\mu,\tau)\} = \chi^2_{1;level}`.

    The lower bound is 0 when the statistic at tau = 0 does not reach the critical value (in
    particular when tau^2-hat = 0). The upper bound is searched by doubling tau up to 1000 (then
    reported as that bound with ``high_sign=">"``) and refined by Brent's method (tol 1e-10 on tau).
    Returns (lower, upper, high_sign).
    """
    crit = float(stats.chi2.ppf(level, 1))
    theta_hat = math.sqrt(res.tau2)

    state: dict = {}

    def excess(theta: float) -> float:
        return 2.0 * (res.loglik - profile_loglik(res, theta, state=state)) - crit

    lower = 0.0
    if theta_hat > 0 and excess(0.0) > 0:
        lower = optimize.brentq(excess, 0.0, theta_hat, xtol=1e-10)
    hi = max(2.0 * theta_hat, 0.5)
    while excess(hi) < 0:
        if hi >= 1000.0:
            return lower**2, hi**2, ">"
        hi *= 2.0
    upper = optimize.brentq(excess, theta_hat, hi, xtol=1e-10)
    return lower**2, upper**2, ""


def glmm_proportion(events, n, level: float = 0.95, nAGQ: int | str = "auto", method: str = "ML", test: str = "z",
                    labels=None, tol: float = 1e-8, max_nagq: int = 101) -> GLMMResult:
    r"""Random-intercept logistic model for single proportions, as metafor ``rma.glmm(measure="PLO")``.

    Model: :math:`x_i \sim \mathrm{Bin}(n_i, p_i)`, :math:`\mathrm{logit}\,p_i = \mu + \theta u_i`,
    :math:`u_i\sim N(0,1)`, :math:`\tau^2=\theta^2`, fitted by maximum likelihood with adaptive
    Gauss-Hermite quadrature. Studies with 0 % or 100 % events enter without correction. The
    standard error of mu comes from the inverse of the numerical Hessian of the deviance in
    (theta, mu) as lme4's vcov.merMod (use.hessian=TRUE). ``method="FE"`` fits the
    common-effect logistic model (metafor method="EE").

    Quadrature nodes: ``nAGQ="auto"`` (default) fits with 7, 9, 11, 15, 21, ... nodes
    (:data:`NAGQ_SEQUENCE`, up to ``max_nagq``), each fit started from the previous optimum,
    and stops at the first node count whose maximised log-likelihood differs from the previous
    one by less than ``tol``; the count used is in ``method`` ("ML (GLMM, nAGQ=21, adaptive)")
    and ``nAGQ``. An integer gives that many nodes, as lme4 (metafor's default is 7, which
    reproduces metafor's printed values; on sparse series it can be off by several points).

    Tests: ``test="z"`` (default) or ``test="t"`` (metafor rma.glmm test="t": t distribution
    with k - 1 degrees of freedom for the p-value, CI and prediction interval).

    The heterogeneity tests are metafor's: Wald test of the study effects of the saturated logistic
    model (computed from the studies with 0 < x < n, where the saturated fit is finite) and the
    likelihood ratio test of the common-effect vs the saturated model, both on k - 1 df.
    I^2/H^2 use tau^2 and the typical within-study variance
    :math:`v_t = (k-1)/(\sum w_i - \sum w_i^2/\sum w_i)`, :math:`w_i = 1/v_i`, of the escalc PLO
    variances with 1/2 added to 0 %/100 % studies (metafor 5.1-12, R/rma.glmm.r, "calculation of
    I^2 and H^2": ``vt <- (k.yi-p) / .tr(P)`` with ``vi`` from ``escalc(measure="PLO", add=1/2,
    to="only0")``, i2def="1"). The profile-likelihood CI of tau^2 (:meth:`GLMMResult.confint`,
    ``tau2_low``/``tau2_high``) is this package's addition: metafor has no confint for rma.glmm.

    Parameters
    ----------
    events, n : array_like
        Events and patients per study.
    level : float
        Confidence level.
    nAGQ : int or "auto"
        Number of adaptive Gauss-Hermite quadrature points, or "auto" (see above).
    method : {"ML", "FE"}
    test : {"z", "t"}
    labels : sequence, optional
        Study labels.
    tol, max_nagq :
        Convergence tolerance on the maximised log-likelihood and largest node count for "auto".

    Returns
    -------
    GLMMResult
        Estimates on the logit scale; back-transform with scipy.special.expit (or use
        :func:`pool_proportions` with transform="glmm").

    Raises
    ------
    ValueError
        When every study has 0 % (or every study 100 %) events, or there is no finite optimum: the
        information matrix is singular (tau^2 not identified) or the likelihood still rises when
        tau (above 10 logits) is doubled (tau^2 diverges, e.g. 0/n beside n/n studies).

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
    tst = str(test).lower()
    if tst not in ("z", "t"):
        raise ValueError("test must be 'z' or 't'")
    auto = isinstance(nAGQ, str)
    if auto and nAGQ != "auto" or (not auto and int(nAGQ) < 1):
        raise ValueError(f"nAGQ must be a positive integer or 'auto'; got {nAGQ!r}")
    k = x.size
    labs = None if labels is None else [str(s) for s in labels]
    lconst = binom_loglik_const(x, nn)
    ll_fe, _, q_w, q_lrt, pbar = _heterogeneity_tests(x, nn, lconst)
    q_df = k - 1
    if pbar <= 0 or pbar >= 1:
        raise ValueError("all studies have 0 % (or all 100 %) events: the logistic model has no finite estimate")
    path: tuple = ()
    if meth == "FE":
        nodes = 7 if auto else int(nAGQ)
        beta = math.log(pbar / (1 - pbar))
        se = math.sqrt(1.0 / x.sum() + 1.0 / (nn - x).sum())
        tau2, ll = 0.0, ll_fe
        label = "FE (logistic)"
    else:
        if auto:
            nodes, (beta, theta, ll, se), path = _fit_adaptive(x, nn, lconst, pbar, ll_fe, tol, max_nagq)
        else:
            nodes = int(nAGQ)
            beta, theta, ll, se = _fit_ml(x, nn, lconst, nodes, pbar, ll_fe, _start(x, nn, pbar))
        tau2 = theta * theta
        label = f"ML (GLMM, nAGQ={nodes}{', adaptive' if auto else ''})"
    tested = _test_fields(beta, se, tau2, lvl, tst, k)
    _, vi0 = escalc_proportion(x, nn, "logit")
    w0 = 1.0 / vi0
    W0 = w0.sum()
    vt = (k - 1) / (W0 - dot(w0, w0) / W0) if k > 1 else float("nan")
    return GLMMResult(
        method=label, random=meth == "ML", k=k, level=lvl, nAGQ=nodes, estimate=beta, se=se, **tested,
        tau2=tau2, i2=float(100 * tau2 / (vt + tau2)) if k > 1 else 0.0, h2=float(tau2 / vt + 1) if k > 1 else 1.0,
        q=q_w, q_lrt=q_lrt, q_df=q_df, q_pval=float(stats.chi2.sf(q_w, q_df)) if q_df > 0 else 1.0,
        q_lrt_pval=float(stats.chi2.sf(q_lrt, q_df)) if q_df > 0 else 1.0, loglik=ll, events=x, n=nn, vt=float(vt),
        nagq_path=path, _labels=labs,
    )


def _test_fields(beta: float, se: float, tau2: float, lvl: float, tst: str, k: int) -> dict:
    """The fields of a GLMM result that depend on the test ("z" or "t", k - 1 df): statistic,
    p-value, confidence and prediction intervals."""
    ddf = k - 1 if tst == "t" else None
    if ddf is not None and ddf < 1:
        raise ValueError("test='t' needs k >= 2 studies")
    crit = t_isf((1.0 - lvl) / 2, ddf) if ddf else norm_isf((1.0 - lvl) / 2)
    stat = beta / se
    pval = 2 * t_sf(abs(stat), ddf) if ddf else float(2 * stats.norm.sf(abs(stat)))
    pi_se = math.sqrt(se * se + tau2)
    return {"zval": stat, "pval": pval, "ci_low": beta - crit * se, "ci_high": beta + crit * se,
            "pi_low": beta - crit * pi_se, "pi_high": beta + crit * pi_se, "test": tst, "ddf": ddf}

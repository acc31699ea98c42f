"""The faster profile-likelihood CI of tau^2 gives the values of the implementation it replaced.

``glmm_profile_reference.py`` is the implementation before issue 18, verbatim (Brent's method for
the profiled mu at every node count and every tau, scipy's logsumexp, the modes' bisection
restarts).  The fast one (Newton's method from the previous optimum, shared conditional modes)
must agree within the tolerances the computation itself works to: 1e-10 on tau (brentq's xtol),
1e-8 on the profiled log-likelihood (the node-count tolerance); observed: about 1e-14.
The model fit itself is unchanged to the last bit (the GLMM tests and the with_test test below).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import glmm_profile_reference as ref  # noqa: E402
from analysis.stats.meta import glmm_proportion, pool_proportions  # noqa: E402
from analysis.stats.meta.glmm import profile_loglik, profile_tau2_ci  # noqa: E402
from analysis.stats.meta.quadrature import _logsumexp_rows, gh_rule  # noqa: E402

#: sparse series (zero cells, 101 nodes, the quad fallback at large tau), a dense one, and two
#: drawn at random (fixed seed)
_rng = np.random.default_rng(2024)
CASES = [([0, 0, 1], [43, 28, 7]), ([2, 0, 1], [43, 13, 7]), ([1, 0, 2], [43, 7, 7]),
         ([8, 5, 12, 3], [13, 10, 20, 9]), ([1, 2, 0, 5, 3], [10, 12, 9, 30, 11])]
for _k in (6, 9):
    _n = _rng.integers(5, 60, size=_k)
    CASES.append((_rng.binomial(_n, _rng.uniform(0.05, 0.6, size=_k)).tolist(), _n.tolist()))


@pytest.mark.parametrize("x,n", CASES)
def test_profile_ci_equals_the_reference_implementation(x, n):
    fit = glmm_proportion(x, n)
    lo, hi, sign = profile_tau2_ci(fit, 0.95)
    rlo, rhi, rsign = ref.profile_tau2_ci(fit, 0.95)
    assert sign == rsign
    # tau within brentq's xtol (1e-10) of the reference, as tau^2 at these magnitudes
    assert math.sqrt(lo) == pytest.approx(math.sqrt(rlo), rel=1e-9, abs=1e-10)
    assert math.sqrt(hi) == pytest.approx(math.sqrt(rhi), rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("x,n", CASES[:4])
def test_profiled_loglik_equals_the_reference(x, n):
    fit = glmm_proportion(x, n)
    for theta in (0.05, 0.5, 2.0, 8.0):
        assert profile_loglik(fit, theta) == pytest.approx(ref.profile_loglik(fit, theta), abs=1e-8)


def test_logsumexp_rows_is_scipys_to_the_last_bit():
    from scipy import special

    rng = np.random.default_rng(7)
    for q in (7, 21, 101):
        _, w = gh_rule(q)
        for scale in (1e-3, 1.0, 50.0):
            a = rng.normal(scale=scale, size=(12, q)) - 40.0
            a[3, :] = a[3, 0]  # ties at the maximum
            assert np.array_equal(_logsumexp_rows(a, w), special.logsumexp(a, axis=1, b=w[None, :]))


def test_gh_rule_is_cached_and_read_only():
    z, w = gh_rule(9)
    assert gh_rule(9)[0] is z
    with pytest.raises(ValueError):
        w[0] = 1.0


@pytest.mark.parametrize("x,n", CASES[3:])
def test_with_test_equals_a_t_refit_to_the_last_bit(x, n):
    z = pool_proportions(x, n, transform="glmm")
    refit = pool_proportions(x, n, transform="glmm", test="t")
    derived = z.with_test("t")
    for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "se", "zval", "pval", "tau2"):
        assert getattr(derived, name) == getattr(refit, name), name
    assert derived.model.test == "t" and derived.model.ddf == len(x) - 1

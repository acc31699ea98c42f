"""The faster profile-likelihood CI of tau^2 gives the values of the implementation it replaced.

``glmm_profile_reference.py`` is the implementation before issue 18, verbatim (Brent's method for
the profiled mu at every node count and every tau, scipy's logsumexp, the modes' bisection
restarts).  The fast one (Newton's method from the previous optimum, shared conditional modes)
must agree within the tolerances the computation itself works to: 1e-10 on tau (brentq's xtol),
1e-8 on the profiled log-likelihood (the node-count tolerance); observed: about 1e-14.
The model fit itself is unchanged to the last bit (the GLMM tests and the with_test test below).
The reference's values are pinned (``REFERENCE``); one case is recomputed live with the reference.
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


#: what the reference implementation gives for each case, pinned (it takes 9 s to recompute;
#: ``python tests/stats/glmm_profile_reference.py`` prints this table): the profile CI of tau^2
#: (lower, upper, sign) and the profiled log-likelihood at tau = 0.05, 0.5, 2, 8.  One case is
#: also recomputed live below, so the pins and the reference cannot drift apart unseen.
THETAS = (0.05, 0.5, 2.0, 8.0)
REFERENCE = {
    ((0, 0, 1), (43, 28, 7)): {'ci': (0.0, 1106.1419893730028, ''), 'loglik': (-3.404017966412113, -3.368967510642953, -3.1878719856885045, -3.8382188809826676)},
    ((2, 0, 1), (43, 13, 7)): {'ci': (0.0, 8.121347520977544, ''), 'loglik': (-3.3118727390704104, -3.518516571391653, -4.68783996729012, -7.1079303696129355)},
    ((1, 0, 2), (43, 7, 7)): {'ci': (0.0, 39.88984549874104, ''), 'loglik': (-4.945285610684856, -4.775714464172406, -4.825423533987019, -6.943594420065274)},
    ((8, 5, 12, 3), (13, 10, 20, 9)): {'ci': (0.0, 0.9807297296835334, ''), 'loglik': (-7.03408303513787, -7.7239754867248775, -11.05294443547825, -16.316029902195346)},
    ((1, 2, 0, 5, 3), (10, 12, 9, 30, 11)): {'ci': (0.0, 1.5692589980796923, ''), 'loglik': (-7.320972348935725, -7.833079951998597, -10.463252454430325, -15.345954159281753)},
    ((7, 24, 1, 0, 3, 1), (18, 42, 10, 16, 22, 22)): {'ci': (0.4185149601944671, 12.298392569173991, ''), 'loglik': (-26.77771859556138, -18.461848696461864, -15.426628766398043, -20.478316360602726)},
    ((1, 9, 1, 26, 5, 12, 16, 7, 8), (16, 30, 8, 58, 40, 48, 33, 37, 23)): {'ci': (0.05493940431137731, 1.5747009610174172, ''), 'loglik': (-28.826533191219994, -24.732984856080122, -29.31707350052639, -40.566001134415046)},
}
LIVE = CASES[4]


def test_every_case_is_pinned():
    assert set(REFERENCE) == {(tuple(x), tuple(n)) for x, n in CASES}


def test_the_pins_are_what_the_reference_implementation_gives():
    fit = glmm_proportion(*LIVE)
    pins = REFERENCE[(tuple(LIVE[0]), tuple(LIVE[1]))]
    assert ref.profile_tau2_ci(fit, 0.95) == pins["ci"]
    assert tuple(ref.profile_loglik(fit, t) for t in THETAS) == pins["loglik"]


@pytest.mark.parametrize("x,n", CASES)
def test_profile_ci_equals_the_reference_implementation(x, n):
    fit = glmm_proportion(x, n)
    lo, hi, sign = profile_tau2_ci(fit, 0.95)
    rlo, rhi, rsign = REFERENCE[(tuple(x), tuple(n))]["ci"]
    assert sign == rsign
    # tau within brentq's xtol (1e-10) of the reference, as tau^2 at these magnitudes
    assert math.sqrt(lo) == pytest.approx(math.sqrt(rlo), rel=1e-9, abs=1e-10)
    assert math.sqrt(hi) == pytest.approx(math.sqrt(rhi), rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("x,n", CASES)
def test_profiled_loglik_equals_the_reference(x, n):
    fit = glmm_proportion(x, n)
    for theta, expected in zip(THETAS, REFERENCE[(tuple(x), tuple(n))]["loglik"]):
        assert profile_loglik(fit, theta) == pytest.approx(expected, abs=1e-8)


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

"""escalc conventions of metafor (tests/reference/metafor_reference.json)."""

import math

import numpy as np
import pytest

from analysis.stats.meta import escalc_2x2, escalc_proportion
from refdata import C, D, printed


def test_escalc_bcg_rr(bcg):
    yi, vi = bcg
    for got, ref in zip(yi, D["dat.bcg"]["escalc_RR_yi"]):
        printed(got, ref)
    for got, ref in zip(vi, D["dat.bcg"]["escalc_RR_vi"]):
        printed(got, ref)


def test_escalc_zero_cell_correction():
    # a zero cell: 1/2 added to every cell of that table only (metafor to="only0")
    y, v = escalc_2x2([0, 5], [10, 10], [3, 5], [10, 10], "OR")
    assert y[0] == pytest.approx(math.log(0.5 * 7.5 / (10.5 * 3.5)))
    assert v[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
    assert y[1] == 0.0 and v[1] == pytest.approx(4 * 1 / 5)
    # double zero: kept by default (escalc drop00=FALSE), NaN with drop00=True
    y, _ = escalc_2x2([0], [10], [0], [12], "RR")
    assert np.isfinite(y[0])
    y, _ = escalc_2x2([0], [10], [0], [12], "RR", drop00=True)
    assert np.isnan(y[0])


def test_escalc_proportions_conventions():
    # logit / raw: 1/2 only for 0 % or 100 % studies; a 10/10 study enters as 10.5/11
    y, v = escalc_proportion([10, 3], [10, 10], "raw")
    assert y[0] == pytest.approx(10.5 / 11) and v[0] == pytest.approx((10.5 / 11) * (0.5 / 11) / 11)
    assert y[1] == pytest.approx(0.3) and v[1] == pytest.approx(0.3 * 0.7 / 10)
    y, v = escalc_proportion([0, 3], [10, 10], "logit")
    assert y[0] == pytest.approx(math.log(0.5 / 10.5)) and v[0] == pytest.approx(1 / 0.5 + 1 / 10.5)
    # arcsine: no correction
    y, v = escalc_proportion([0, 10], [10, 10], "arcsine")
    assert y[0] == 0 and y[1] == pytest.approx(math.pi / 2) and v[0] == pytest.approx(1 / 40)


def test_escalc_pft_miller1978():
    m = D["miller1978"]
    case = C["miller1978_PFT"]
    y, v = escalc_proportion(m["xi"], m["ni"], "ft")
    for got, ref in zip(2 * y, case["yi_times_2"]):
        printed(got, ref)
    for got, ref in zip(4 * v, case["vi_times_4"]):
        printed(got, ref)

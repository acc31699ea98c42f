"""Fixtures of the statistics tests."""

import pytest

from refdata import bcg_tables


@pytest.fixture(scope="module")
def bcg():
    from analysis.stats.meta import escalc_2x2

    a, n1, c, n2 = bcg_tables()
    return escalc_2x2(a, n1, c, n2, "RR")

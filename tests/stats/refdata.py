"""Reference values of the statistics tests and the helper that compares printed digits.

metafor 5.1-12 output with its R calls (tests/reference/metafor_reference.json) and the seed
reports' own numbers (tests/reference/seed_reports.json). Fixtures only; nothing from data/.
"""

import json
from pathlib import Path

import numpy as np

REF = Path(__file__).resolve().parents[1] / "reference"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = json.loads((REF / "metafor_reference.json").read_text())
D = DATA["datasets"]
C = DATA["cases"]
SEED = json.loads((REF / "seed_reports.json").read_text())
ROOT_TOL = 1e-3


def printed(value, ref, digits=4):
    """value rounds to the printed reference at `digits` decimals."""
    assert abs(value - ref) <= 0.5 * 10.0 ** (-digits) + 1e-12, f"{value!r} does not print as {ref!r} at {digits} decimals"


def bcg_tables():
    b = D["dat.bcg"]
    a, bb, c, d = (np.array(b[k], float) for k in ("tpos", "tneg", "cpos", "cneg"))
    return a, a + bb, c, c + d


#: reference keys (metafor's names, as stored in the JSON) -> attribute names of this package
NEW_NAMES = {"ci_lb": "ci_low", "ci_ub": "ci_high", "pi_lb": "pi_low", "pi_ub": "pi_high", "I2": "i2", "H2": "h2",
             "Q": "q", "Q_df": "q_df", "Q_pval": "q_pval", "Qp": "q_pval", "exp_ci_lb": "exp_ci_low",
             "exp_ci_ub": "exp_ci_high", "pred": "estimate"}


def attr(obj, ref_key: str):
    """The attribute of ``obj`` that a reference value stored under metafor's name ``ref_key`` describes."""
    return getattr(obj, NEW_NAMES.get(ref_key, ref_key))

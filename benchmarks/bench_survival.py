"""Benchmark of analysis.stats.survival: Guyot reconstruction and reconstruction from summaries.

Times (best of several batches, each repeating the call until it ran >= 0.05 s):

* ``guyot`` on a simulated 500-patient curve digitised at step corners (~200 points) with a
  6-monthly risk table (target < 0.2 s), and on 100- and 2000-patient curves;
* ``from_summary`` on the ddCAR-T2 abstract (7 patients, exact CI) and a Roddie 2025 arm;
* ``km_configurations`` for a printed percentage with n = 20.

This is a benchmark, not a test: it only reports (``main()`` returns the rows; runnable
standalone: ``python benchmarks/bench_survival.py``; also run by ``benchmarks/run.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis.stats.survival import FollowUp, Landmark, from_summary, guyot, km_configurations  # noqa: E402

TARGET_GUYOT_500_S = 0.2


def best_time(fn, min_batch_s: float = 0.05, batches: int = 5) -> float:
    """Seconds per call: best of ``batches`` batches, each repeating fn until it ran >= min_batch_s."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(batches):
        n, t = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t
            if el >= min_batch_s:
                break
        best = min(best, el / n)
    return best


def simulated_curve(n: int, seed: int = 2012, max_points: int = 200):
    """Weibull(1.2, 15 months) survival, uniform + administrative (30 months) censoring, digitised
    at the corners of the visible steps (<= max_points points) with small vertical noise."""
    rng = np.random.default_rng(seed)
    t = 15.0 * (-np.log(rng.uniform(size=n))) ** (1 / 1.2)
    c = np.minimum(rng.uniform(0, 60, n), 30.0)
    time_, ev = np.minimum(t, c), (t <= c).astype(int)
    order = np.argsort(time_)
    ts, es = time_[order], ev[order]
    at_risk = n - np.arange(n)
    S = np.cumprod(np.where(es == 1, 1 - 1 / at_risk, 1.0))
    steps = np.flatnonzero(es == 1)
    prev = np.r_[1.0, S][steps]
    k = max(1, int(np.ceil(2 * len(steps) / (max_points - 1))))
    sel = steps[::k]
    px = np.r_[0.0, ts[sel], ts[sel], ts[-1]]
    py = np.r_[1.0, prev[::k], S[sel], S[-1]] + rng.normal(0, 0.002, 2 * len(sel) + 2)
    rt = np.arange(0, ts[-1] + 1e-9, 6.0)
    nr = [int(np.sum(time_ >= r)) for r in rt]
    return px, np.clip(py, 0, 1), rt, nr, int(ev.sum())


def main() -> list[dict]:
    rows: list[dict] = []
    for n in (100, 500, 2000):
        px, py, rt, nr, d = simulated_curve(n)
        sec = best_time(lambda: guyot(px, py, rt, nr, total_events=d))
        row = {"section": "survival", "benchmark": f"guyot, {n} patients", "seconds": sec, "n": n,
               "points": len(px), "risk_times": len(rt)}
        if n == 500:
            row["target_s"] = TARGET_GUYOT_500_S
            row["met"] = sec < TARGET_GUYOT_500_S
        rows.append(row)

    ddcart2 = dict(n=7, landmarks=[Landmark(730, "85.7", "33.4", "97.9")], event_times=[70], n_events=1,
                   followup=FollowUp(540, 70, 1290))
    rows.append({"section": "survival", "benchmark": "from_summary, ddCAR-T2 (n=7, exact CI)",
                 "seconds": best_time(lambda: from_summary(**ddcart2)), "n": 7})
    rows.append({"section": "survival", "benchmark": "from_summary, Roddie 2025 CAR-DLI+LD OS 83% (n=7)",
                 "seconds": best_time(lambda: from_summary(7, [Landmark(12, "83")], time_unit="months")), "n": 7})
    rows.append({"section": "survival", "benchmark": "km_configurations(20, '50')",
                 "seconds": best_time(lambda: km_configurations(20, "50")), "n": 20})
    return rows


if __name__ == "__main__":
    for r in main():
        print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))

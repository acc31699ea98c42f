"""Run the benchmarks and write benchmarks/results/results.md and results.csv.

Usage: ``python benchmarks/run.py`` (``make bench``). Runs benchmarks/bench_meta.py and, when it
exists, benchmarks/bench_survival.py (whose ``main()`` returns a list of row dicts).
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
import importlib.util
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _load(name: str):
    path = HERE / f"{name}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def _loadavg() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _fmt(v) -> str:
    if isinstance(v, float):
        if v != v:
            return ""
        if abs(v) >= 1e4 or (0 < abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:.4f}" if abs(v) < 10 else f"{v:.2f}"
    return "" if v is None else str(v)


def _markdown(rows: list[dict]) -> str:
    keys: list[str] = []
    for r in rows:
        for key in r:
            if key not in keys:
                keys.append(key)
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        out.append("| " + " | ".join(_fmt(r.get(key)) for key in keys) + " |")
    return "\n".join(out)


def main() -> int:
    import numpy
    import scipy

    sections: dict[str, list[dict]] = {}
    meta = _load("bench_meta")
    sections["meta"] = meta.main()
    surv = _load("bench_survival")
    if surv is not None and hasattr(surv, "main"):
        sections["survival"] = list(surv.main() or [])

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Run {stamp} on {platform.platform()} (Python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}); "
        f"{os.cpu_count()} CPUs, load average before the run {_loadavg()}.",
        "`speedup_peer_over_kernel` = peer time / kernel time (> 1: the kernel is faster).",
        "",
    ]
    for name, rows in sections.items():
        lines += [f"## {name}", "", _markdown(rows), ""]
        if name == "meta":
            lines += _targets(rows)
    (RESULTS / "results.md").write_text("\n".join(lines))
    all_rows = [dict(r, section=r.get("section", name)) for name, rows in sections.items() for r in rows]
    keys: list[str] = []
    for r in all_rows:
        for key in r:
            if key not in keys:
                keys.append(key)
    with open(RESULTS / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in all_rows:
            w.writerow(r)
    print("\n".join(lines))
    return 0


def _targets(rows: list[dict]) -> list[str]:
    def get(k, method, peer_start):
        for r in rows:
            if r["k"] == k and r["method"] == method and str(r["peer"]).startswith(peer_start):
                return r
        return None

    out = ["### Targets", ""]
    checks = [
        ("DL >= 4x faster than statsmodels at k=10^4", get(10_000, "DL", "statsmodels"), lambda r: r["speedup_peer_over_kernel"] >= 4),
        ("DL within 2x of bare numpy at k=10^4", get(10_000, "DL", "bare"), lambda r: r["speedup_peer_over_kernel"] >= 0.5),
        ("REML >= 10x faster than PyMARE REML at k=10^4", get(10_000, "REML", "PyMARE"), lambda r: r["speedup_peer_over_kernel"] >= 10),
        ("GLMM on 20 studies < 0.5 s", next((r for r in rows if r["method"].startswith("GLMM")), None), lambda r: r["kernel_ms"] < 500),
    ]
    for label, r, ok in checks:
        if r is None:
            out.append(f"- {label}: not run")
        else:
            out.append(f"- {label}: {'met' if ok(r) else 'NOT met'} (ratio {r['speedup_peer_over_kernel']:.2f}, kernel {r['kernel_ms']:.3f} ms)")
    out.append("")
    return out


if __name__ == "__main__":
    sys.exit(main())

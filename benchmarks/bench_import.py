"""Import time of the package in a fresh interpreter, against its floors and peers (issue 18).

Each statement runs in a new ``python -c`` process (this checkout's interpreter, no bytecode
written, as the build's kernels run), ``--repeat`` times, interleaved so that a slow moment of the
machine is shared by every row; the table gives the median and the fastest wall time of the whole
process, interpreter start included.  The goal is the row "import analysis + data layer + chart
package": under 1 s.  Floors and peers in the same run: a bare interpreter, numpy, polars, and
Altair imported as it imports by default (jsonschema compiling its RFC 3987 grammar,
``analysis/present/charts/_altair.py``).

Run: ``.venv/bin/python benchmarks/bench_import.py [--repeat 9] [--json out.json]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import ROOT, run  # noqa: E402

STATEMENTS: dict[str, str] = {
    "bare interpreter (floor)": "pass",
    "import numpy (peer)": "import numpy",
    "import polars (peer)": "import polars",
    "import altair, default (peer)": "import altair",
    "import analysis": "import analysis",
    "import analysis + data layer + chart package (goal)":
        "import analysis; import analysis.review.loading; import analysis.present.charts",
    "... + loading the review": "from analysis.review.loading import load; load()",
    "... + the forest-plot module (Altair)": "import analysis.review.loading, analysis.present.charts.forestplot",
    "a synthesis chapter's imports": "from analysis.present import synthesis; from analysis.review.loading import load; "
                                     "from analysis.review.plan import load_plan",
}


def once(code: str) -> float:
    """Wall seconds of one fresh interpreter running ``code`` (:func:`bench_build.run`'s environment)."""
    return run(ROOT, sys.executable, "-c", code)[0]


def measure(repeat: int) -> dict[str, dict[str, float]]:
    """Median and fastest seconds per statement; rounds interleave the statements."""
    times: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for name, code in STATEMENTS.items():  # warm the file cache once
        once(code)
    for _ in range(repeat):
        for name, code in STATEMENTS.items():
            times[name].append(once(code))
    return {name: {"median s": statistics.median(t), "min s": min(t)} for name, t in times.items()}


def table(rows: dict[str, dict[str, float]]) -> str:
    floor = rows["bare interpreter (floor)"]["median s"]
    lines = ["| statement | median | fastest | above the bare interpreter |", "|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['median s']:.3f} s | {r['min s']:.3f} s | {r['median s'] - floor:+.3f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M") + ", load " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = measure(args.repeat)
    print(f"started {started}; {os.cpu_count()} cores; Python {sys.version.split()[0]}; {args.repeat} runs each\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"started": started, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

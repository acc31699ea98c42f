"""Per-notebook time breakdown of executing the book: kernel start, imports, data load, compute, render.

``python benchmarks/breakdown.py fresh|warm [--repeat N] [--json FILE]`` executes every notebook
of ``book/`` with the timers of :mod:`probe` installed and prints one row per notebook (medians
over the repeats):

* ``fresh``: the way the build executed before the warm executor (one fresh kernel per
  notebook, one after the other); the notebooks are not written;
* ``warm``: :func:`analysis.build.execute_book` (warm kernels, one per core), on a copy of
  ``book/``; "kernel start" is then the kernel's start divided among the notebooks it ran.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import probe  # noqa: E402

PHASES = ("kernel start", "imports", "data load", "compute", "render")


def notebooks(book: Path = ROOT / "book") -> list[Path]:
    """The notebooks the build executes (not under ``_*`` or ``.*`` folders), sorted."""
    return sorted(p for p in book.rglob("*.ipynb")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(book).parts))


def _run_silent(kc, code: str, timeout: float = 120) -> str:
    """Execute ``code`` without history; return what it printed."""
    msg_id = kc.execute(code, silent=False, store_history=False)
    out = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t = msg["msg_type"]
        if t == "stream":
            out.append(msg["content"]["text"])
        elif t == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        elif t == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)


def fresh_one(path: Path) -> dict:
    """Execute one notebook in a fresh kernel with the probe; the phases in seconds."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(path.parent))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    started = time.perf_counter()
    try:
        _run_silent(kc, probe.SETUP)
        client = NotebookClient(nb, km=km, timeout=600, kernel_name="python3", record_timing=False)
        client.kc = kc
        client.execute()
        totals = json.loads(_run_silent(kc, probe.REPORT).strip().splitlines()[-1])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    end = time.perf_counter()
    return {"kernel start": started - t0, "imports": totals["imports"], "data load": totals["data load"],
            "compute": totals["other"], "render": totals["render"], "total": end - t0}


def warm(book: Path, jobs: int | None = None) -> dict[str, dict]:
    """Execute a copy of ``book`` with the warm executor and the probe; the phases per notebook."""
    import shutil
    import tempfile

    from analysis import build
    from analysis.review.loading import load

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "book"
        shutil.copytree(book, copy)
        t0 = time.perf_counter()
        result = build.execute_book(load(), copy, force=True, jobs=jobs, cache_file=Path(tmp) / "cache.json",
                                    before=probe.SETUP, after=probe.REPORT, log=lambda line: None)
        wall = time.perf_counter() - t0
    if result.failed:
        raise RuntimeError(f"{result.failed[0].path}: {result.failed[0].error}")
    rows = {}
    for o in result.executed:
        totals = json.loads(o.report.strip().splitlines()[-1])
        rows[str(o.path.relative_to(copy))] = {"kernel start": 0.0, "imports": totals["imports"],
                                               "data load": totals["data load"], "compute": totals["other"],
                                               "render": totals["render"], "total": o.seconds}
    print(f"warm executor: {len(rows)} notebooks, wall {wall:.2f} s")
    return rows


def table(rows: dict[str, list[dict]]) -> str:
    """Markdown table of the median of each phase per notebook, and the sum."""
    cols = PHASES + ("total",)
    lines = ["| notebook | " + " | ".join(f"{c} (s)" for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    sums = dict.fromkeys(cols, 0.0)
    for name, runs in rows.items():
        med = {c: statistics.median(r[c] for r in runs) for c in cols}
        for c in cols:
            sums[c] += med[c]
        lines.append(f"| {name} | " + " | ".join(f"{med[c]:.2f}" for c in cols) + " |")
    lines.append("| **sum** | " + " | ".join(f"**{sums[c]:.2f}**" for c in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["fresh", "warm"])
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--book", default=str(ROOT / "book"))
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows: dict[str, list[dict]] = {}
    for _ in range(args.repeat):
        if args.mode == "warm":
            for name, row in warm(Path(args.book), args.jobs).items():
                rows.setdefault(name, []).append(row)
            continue
        for path in notebooks(Path(args.book)):
            rows.setdefault(str(path.relative_to(args.book)), []).append(fresh_one(path))
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs")
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scale benchmark: fresh builds of synthetic reviews of 10, 100 and 1000 studies (issue 18).

``python benchmarks/bench_scale.py [--sizes 10 100 1000] [--json FILE]``: for each size, writes
a synthetic review (:mod:`synthetic`) into a temporary copy of the repository and builds it
fresh as ``make book`` does -- ``python -m analysis execute book`` (no cache: every notebook
runs), ``tools/build_site.py`` (no parsed pages), ``tools/check_site.py`` -- timing each step
and sampling the memory of the whole process tree (the step, its kernels and their children)
every 0.2 s with psutil: the peak of the summed resident set sizes, the largest single
process, and the peak of the summed proportional set sizes (PSS, ``/proc/PID/smaps_rollup``: a
page shared by n processes counts 1/n in each -- the render forks its writing processes from a
parent holding every parsed page, so the summed RSS counts those pages once per process).  ``tools/page_weight.py`` is run and reported, not required: pages over 1000 studies
are heavier than the budget meant for the published review (see benchmarks/README.md).
Statistical warnings are silenced (``PYTHONWARNINGS``; see :func:`measured`).  Timing is
reported, never asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(HERE))

from synthetic import validate, write_review  # noqa: E402


def measured(repo: Path, *cmd: str, check: bool = True, timeout: int = 7200) -> dict:
    """Run a step in the copy; seconds, peak summed RSS, peak single RSS and peak summed PSS (MB) of its process tree."""
    # the statistics warn on some synthetic subsets (REML Fisher scoring not converging on a subgroup of
    # replicated templates, a GLMM not settling on sparse counts); shown as stderr in a notebook, a
    # warning fails the build (-W), which is right for the review and beside the point here
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "ignore::UserWarning"}
    for name in ("REVIEW_DATA_DIR", "REVIEW_SEEDS_DIR", "GITHUB_SHA"):
        env.pop(name, None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = {"sum": 0, "single": 0, "pss": 0}
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                rss, pss = [], []
                for p in procs:
                    try:
                        full = p.memory_full_info()  # rss and pss, from smaps_rollup
                        rss.append(full.rss)
                        pss.append(getattr(full, "pss", 0))
                    except psutil.Error:
                        pass
                peak["sum"] = max(peak["sum"], sum(rss))
                peak["pss"] = max(peak["pss"], sum(pss))
                peak["single"] = max(peak["single"], max(rss, default=0))
            except psutil.Error:
                pass
            done.wait(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = proc.communicate(timeout=timeout)
    done.set()
    thread.join()
    seconds = time.perf_counter() - t0
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-5000:]}")
    return {"seconds": seconds, "peak_mb": peak["sum"] / 2**20, "peak_single_mb": peak["single"] / 2**20,
            "peak_pss_mb": peak["pss"] / 2**20,
            "ok": proc.returncode == 0, "tail": out[-600:]}


def build(n: int, work: Path) -> dict:
    repo = write_review(n, work)
    validate(repo)
    py = str(BIN / "python")
    steps = {
        "execute": measured(repo, py, "-m", "analysis", "execute", "book"),
        "render": measured(repo, py, "tools/build_site.py"),
        "check-site": measured(repo, py, "tools/check_site.py", "_build/html"),
        "page-weight": measured(repo, py, "tools/page_weight.py", "_build/html", check=False),
    }
    pages = sum(1 for _ in (repo / "_build" / "html").rglob("*.html"))
    row = {"studies": n, "notebooks": sum(1 for _ in (repo / "book").rglob("*.ipynb")) - 1, "html pages": pages}
    for name, m in steps.items():
        row[f"{name} s"] = round(m["seconds"], 1)
        row[f"{name} peak MB"] = round(m["peak_mb"])
    row["build s"] = round(sum(steps[k]["seconds"] for k in ("execute", "render", "check-site")), 1)
    row["peak MB (process tree)"] = round(max(steps[k]["peak_mb"] for k in ("execute", "render", "check-site")))
    row["peak MB (tree, PSS)"] = round(max(steps[k]["peak_pss_mb"] for k in ("execute", "render", "check-site")))
    row["peak MB (one process)"] = round(max(steps[k]["peak_single_mb"] for k in ("execute", "render", "check-site")))
    row["page-weight"] = "ok" if steps["page-weight"]["ok"] else "over budget: " + steps["page-weight"]["tail"].strip().splitlines()[-1][:120]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--json")
    ap.add_argument("--keep", help="build in this folder and keep it")
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        start = f"{time.strftime('%Y-%m-%d %H:%M')}, load {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
        if args.keep:
            work = Path(args.keep) / f"n{n}"
            row = build(n, work)
        else:
            with tempfile.TemporaryDirectory(prefix=f"bench-scale-{n}-") as tmp:
                row = build(n, Path(tmp))
        row["started"] = start
        row["cores"] = len(os.sched_getaffinity(0))
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

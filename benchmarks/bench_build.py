"""Benchmark of the book build: fresh build against its floor, incremental rebuilds (issue 18).

Everything runs on temporary copies of the repository (this working tree's tracked files, or a
commit), with this checkout's virtualenv and the copy first on ``PYTHONPATH``, and ``shared/``
linked beside each copy for the seeds texts.  In one run, ``--repeat`` times, alternating:

* **floor**: a Sphinx build of the same pages with execution off, from empty
  (``tools/build_site.py --fresh`` on outputs already stored), plus one bare kernel start
  (median of several) per notebook divided by the cores;
* **fresh build** (after): ``make book`` without its site checks, ``tools/build_site.py --execute``
  (no execution cache: every notebook runs; no parsed pages: every page is read), split into
  "execute" (until the notebooks are current, as the command prints it) and "render" (the rest);
* **fresh build** (before, with ``--before COMMIT``): that commit's ``make book`` without its
  site checks (``python -m analysis validate data`` + ``jupyter-book build --all -W -n --keep-going``).

Then, on the fresh copy: a rebuild (``tools/build_site.py --execute``) with nothing changed, and
a rebuild after one count of one study file changed, against executing the notebooks that rebuild executed, alone (the same
stale set executed by ``python -m analysis execute``, without the render), and against executing
them the old way (a fresh kernel each, one after the other).

``python benchmarks/bench_build.py [--repeat 3] [--before e58feea] [--json FILE]``; prints
Markdown tables (medians) with the machine's cores and load average.  Timing is reported, never
asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tools"))

from repo_copy import copy_tracked, link_shared  # noqa: E402


def cores() -> int:
    return len(os.sched_getaffinity(0))


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def copy_worktree(dest: Path) -> Path:
    """This checkout's tracked files, as they are in the working tree, under ``dest/repo``."""
    return copy_tracked(ROOT, dest)


def copy_commit(commit: str, dest: Path) -> Path:
    """The tree of ``commit`` under ``dest/repo``."""
    repo = dest / "repo"
    repo.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    link_shared(ROOT, dest)
    return repo


def run(repo: Path, *cmd: str, timeout: int = 3600) -> tuple[float, str]:
    """Run a step in the copy; (seconds, output); raise with the output on failure."""
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("REVIEW_DATA_DIR", "REVIEW_SEEDS_DIR", "GITHUB_SHA"):
        env.pop(name, None)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {repo}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return seconds, res.stdout + res.stderr


def kernel_start(n: int = 5) -> float:
    """Median seconds to start a bare python3 kernel and see it ready (then shut down)."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        times.append(time.perf_counter() - t0)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return statistics.median(times)


def notebooks(repo: Path) -> list[Path]:
    book = repo / "book"
    return sorted(p for p in book.rglob("*.ipynb") if not any(s.startswith(("_", ".")) for s in p.relative_to(book).parts))


def executed(output: str) -> list[str]:
    return re.findall(r"^executed (\S+)", output, re.M)


def book(repo: Path) -> tuple[float, float, str]:
    """``make book`` without its site checks: (seconds until the notebooks were current, seconds in
    all, output)."""
    total, out = run(repo, str(BIN / "python"), "tools/build_site.py", "--execute")
    return float(re.search(r"notebooks current after ([0-9.]+) s", out).group(1)), total, out


def fresh_after(repo: Path) -> dict:
    shutil.rmtree(repo / "_build", ignore_errors=True)
    t_exec, total, out = book(repo)
    return {"execute": t_exec, "render": total - t_exec, "total": total, "executed": len(executed(out))}


def fresh_before(repo: Path) -> dict:
    shutil.rmtree(repo / "_build", ignore_errors=True)
    t_val, _ = run(repo, str(BIN / "python"), "-m", "analysis", "validate", "data")
    t_jb, _ = run(repo, str(BIN / "jupyter-book"), "build", "--all", "-W", "-n", "--keep-going", ".")
    return {"validate": t_val, "jupyter-book (executes)": t_jb, "total": t_val + t_jb}


def floor(repo: Path, kstart: float, n: int) -> dict:
    """Sphinx from empty on the stored outputs + one kernel start per notebook / cores."""
    t_render, _ = run(repo, str(BIN / "python"), "tools/build_site.py", "--fresh")
    kernels = kstart * n / cores()
    return {"render (fresh, execution off)": t_render, "kernel starts / cores": kernels, "total": t_render + kernels}


def change_a_count(repo: Path, study: str = "hua2020", outcome: str = "agvhd_any", delta: int = 1) -> tuple[Path, str]:
    """Add ``delta`` events to one outcome record of one study file; returns (path, original text).

    Each measured rebuild changes the count to a value no earlier build of the copy has seen, so
    that no kept result (the execution cache, the build's store of model fits) is for it.
    """
    path = repo / "data" / "studies" / f"{study}.yaml"
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"  - outcome: {outcome}\n(?:    .*\n)*?    events: (\d+)\n", text)
    new = text[:m.start(1)] + str(int(m.group(1)) + delta) + text[m.end(1):]
    path.write_text(new, encoding="utf-8")
    return path, text


def incremental(repo: Path, i: int = 0) -> dict:
    """On a built copy: rebuild with nothing changed; rebuild after one count changed; baselines
    (the ``i``-th repeat: each changed count is one no earlier repeat used)."""
    py = str(BIN / "python")
    t0, all0, out0 = book(repo)
    path, original = change_a_count(repo, delta=2 * i + 1)
    t1, all1, out1 = book(repo)
    stale = executed(out1)
    # the same stale set, executed alone (no render): put the file back, bring the cache up to date, change it again
    path.write_text(original, encoding="utf-8")
    run(repo, py, "-m", "analysis", "execute", "book")
    change_a_count(repo, delta=2 * i + 2)  # a count not seen before either
    alone, out2 = run(repo, py, "-m", "analysis", "execute", "book")
    assert sorted(executed(out2)) == sorted(stale), (stale, executed(out2))
    # and the old way: each of those notebooks in a fresh kernel, one after the other
    old = 0.0
    for name in stale:
        old += run(repo, py, "-c", "import sys; from pathlib import Path; from analysis.__main__ import execute_notebook;"
                   " execute_notebook(Path(sys.argv[1]))", name)[0]
    path.write_text(original, encoding="utf-8")
    run(repo, py, "-m", "analysis", "execute", "book")  # the copy is current again for the next repeat
    run(repo, py, "tools/build_site.py")
    return {"nothing changed: execute": t0, "nothing changed: render": all0 - t0, "nothing changed: total": all0,
            "nothing changed: executed": len(executed(out0)),
            "one count: execute": t1, "one count: render": all1 - t1, "one count: total": all1,
            "one count: executed": len(stale), "executed notebooks": " ".join(sorted(Path(s).stem for s in stale)),
            "those notebooks executed alone (warm executor)": alone,
            "those notebooks executed alone (fresh kernel each)": old}


def med(rows: list[dict]) -> dict:
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float))]
    out = {k: statistics.median(r[k] for r in rows) for k in keys}
    out.update({k: rows[0][k] for k in rows[0] if k not in keys})
    return out


def table(title: str, row: dict) -> str:
    lines = [f"**{title}**", "", "| item | value |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" if "ratio" in k and isinstance(v, float) else f"| {k} | {v:.2f} s |" if isinstance(v, float) else f"| {k} | {v} |"
              for k, v in row.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", help="also build this commit the way it built (e.g. e58feea)")
    ap.add_argument("--no-incremental", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    report: dict = {"cores": cores(), "load average at start": load(), "date": time.strftime("%Y-%m-%d %H:%M")}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        after = copy_worktree(Path(tmp) / "after")
        before = copy_commit(args.before, Path(tmp) / "before") if args.before else None
        n = len(notebooks(after))
        rows: dict[str, list[dict]] = {"floor": [], "after": [], "before": []}
        for _ in range(args.repeat):
            kstart = kernel_start()
            rows["floor"].append(floor(after, kstart, n))
            rows["after"].append(fresh_after(after))
            if before:
                rows["before"].append(fresh_before(before))
        report["notebooks"] = n
        report["floor"] = med(rows["floor"])
        report["fresh build (after)"] = med(rows["after"])
        report["ratio after / floor"] = report["fresh build (after)"]["total"] / report["floor"]["total"]
        if before:
            report["fresh build (before)"] = med(rows["before"])
            report["ratio before / floor"] = report["fresh build (before)"]["total"] / report["floor"]["total"]
        if not args.no_incremental:
            reps = [incremental(after, i) for i in range(args.repeat)]
            inc = med(reps)
            inc["ratio one-count rebuild / executing those alone (warm)"] = (
                inc["one count: total"] / inc["those notebooks executed alone (warm executor)"])
            # each repeat's own ratio: its rebuild and its baseline ran minutes apart, not runs apart
            ratios = [r["one count: total"] / r["those notebooks executed alone (warm executor)"] for r in reps]
            inc["ratio per repeat"] = " ".join(f"{x:.2f}" for x in ratios)
            inc["median of the per-repeat ratios"] = statistics.median(ratios)
            inc["per repeat: execute / render / alone (s)"] = "; ".join(
                f"{r['one count: execute']:.2f} / {r['one count: render']:.2f} / "
                f"{r['those notebooks executed alone (warm executor)']:.2f}" for r in reps)
            report["incremental"] = inc
    report["load average at end"] = load()
    print(f"{report['date']}, {report['cores']} cores, load average {report['load average at start']} -> "
          f"{report['load average at end']}, {report['notebooks']} notebooks, medians of {args.repeat}")
    for key in ("floor", "fresh build (after)", "fresh build (before)", "incremental"):
        if key in report:
            print(table(key, report[key]), end="\n\n")
    for key in ("ratio after / floor", "ratio before / floor"):
        if key in report:
            print(f"{key}: {report[key]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

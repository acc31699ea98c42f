#!/usr/bin/env python3
"""Deterministic build: two clean builds of the same commit give the same files.

Usage::

    python tools/deterministic_build.py [--keep DIR] [--compare A B]

Clones the repository's HEAD twice into a temporary directory (two different paths, so a
path that leaks into the output shows up), builds each clone from scratch (``python -m
analysis execute book``: every notebook re-executed, a fresh clone having no execution cache;
then ``tools/build_site.py``, i.e. Jupyter Book with ``-W -n --keep-going``), with this
checkout's virtualenv and the clone's own ``analysis`` package first on ``PYTHONPATH``, and
compares the two ``_build/html`` trees file by file.  The first is built as ``make book`` does
(``tools/build_site.py --execute``: the render's modules imported while the notebooks execute)
and renders with one Sphinx process per core; the second runs the two steps one after the other
and renders with one process (``SPHINX_JOBS=1``), so the comparison also shows that neither
parallel rendering nor importing beforehand changes a byte.  Uncommitted
changes are not built (a warning says so).

A difference is allowed only if :data:`ALLOWED` names the file, with the reason; every
other difference (a file in one tree only, or different bytes) fails.  ``--compare A B``
compares two existing builds without building.  Exit status 1 on an unexpected
difference, 2 on a failed build.  ``make check-deterministic`` runs this through
``tests/site/test_deterministic_build.py``.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Files that may differ between two clean builds of one commit, and why.  Keep it short:
#: every entry hides a source of non-reproducibility.
ALLOWED: dict[str, str] = {
    ".buildinfo": "Sphinx's incremental-build stamp (a hash of the configuration), not read by the site. "
                  "Identical between two fresh clones, but it differed between two existing checkouts of "
                  "one commit (/work/main and the site worktree) whose environments differ.",
}
# Measured at commit c048605: two fresh clones built 96 s and 99 s apart gave 165 files, all
# identical (chart ids are a hash of the spec and a per-kernel counter, so they repeat).


@dataclass
class Comparison:
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    same: int = 0

    @property
    def unexpected(self) -> list[str]:
        return self.only_a + self.only_b + self.differ

    @property
    def ok(self) -> bool:
        return not self.unexpected


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_allowed(rel: str, allowed: dict[str, str] = ALLOWED) -> bool:
    return any(fnmatch.fnmatchcase(rel, pattern) for pattern in allowed)


def compare(a: Path, b: Path, allowed: dict[str, str] = ALLOWED) -> Comparison:
    fa, fb = _files(a), _files(b)
    out = Comparison()
    for rel in sorted(set(fa) | set(fb)):
        if rel not in fb or rel not in fa:
            (out.allowed if is_allowed(rel, allowed) else out.only_a if rel not in fb else out.only_b).append(rel)
        elif fa[rel].stat().st_size == fb[rel].stat().st_size and _digest(fa[rel]) == _digest(fb[rel]):
            out.same += 1
        else:
            (out.allowed if is_allowed(rel, allowed) else out.differ).append(rel)
    return out


def first_difference(a: Path, b: Path, context: int = 160) -> str:
    """A short excerpt around the first differing byte of two files."""
    da, db = a.read_bytes(), b.read_bytes()
    i = next((k for k, (x, y) in enumerate(zip(da, db)) if x != y), min(len(da), len(db)))
    lo = max(0, i - context // 2)
    ta = da[lo:i + context // 2].decode("utf-8", "replace")
    tb = db[lo:i + context // 2].decode("utf-8", "replace")
    return f"byte {i}:\n  A: {ta!r}\n  B: {tb!r}"


def report(cmp: Comparison, a: Path, b: Path) -> str:
    lines = [f"{cmp.same} identical files; {len(cmp.allowed)} allowed difference(s); "
             f"{len(cmp.unexpected)} unexpected"]
    for rel in cmp.allowed:
        reason = next(r for p, r in ALLOWED.items() if fnmatch.fnmatchcase(rel, p)) if is_allowed(rel) else ""
        lines.append(f"  allowed  {rel}: {reason}")
    lines += [f"  only in A  {rel}" for rel in cmp.only_a] + [f"  only in B  {rel}" for rel in cmp.only_b]
    for rel in cmp.differ:
        lines.append(f"  DIFFERS  {rel}: {first_difference(a / rel, b / rel)}")
    unused = [p for p in ALLOWED if not any(fnmatch.fnmatchcase(r, p) for r in cmp.allowed)]
    if unused:
        lines.append(f"  (allowed but identical this time: {', '.join(unused)})")
    return "\n".join(lines)


def build_clone(dest: Path, log: Path, sphinx_jobs: str | None = None, one_command: bool = True) -> float:
    """Clone HEAD into ``dest`` and build it; returns the build seconds.

    ``sphinx_jobs`` sets ``SPHINX_JOBS`` (the processes Sphinx reads and writes pages with);
    ``one_command``: as ``make book`` (``tools/build_site.py --execute``), else the execution and
    the render one after the other.
    """
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    env = dict(os.environ, PYTHONPATH=str(dest) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("GITHUB_SHA", None)
    env.pop("SPHINX_JOBS", None)
    if sphinx_jobs is not None:
        env["SPHINX_JOBS"] = sphinx_jobs
    python = ROOT / ".venv" / "bin" / "python"
    t0 = time.monotonic()
    steps = [["tools/build_site.py", "--execute"]] if one_command else [["-m", "analysis", "execute", "book"],
                                                                        ["tools/build_site.py"]]
    with log.open("w") as fh:
        for step in steps:
            proc = subprocess.run([str(python), *step], cwd=dest, env=env, stdout=fh, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                raise RuntimeError(f"build of {dest} failed (exit {proc.returncode}); log: {log}")
    return time.monotonic() - t0


def build_twice(work: Path) -> tuple[Path, Path, list[float]]:
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        print("deterministic-build: uncommitted changes are not part of this check (it builds HEAD)",
              file=sys.stderr)
    # the first as make book (one command, one Sphinx process per core), the second in two steps with one process
    times = [build_clone(work / name, work / f"build-{name}.log", jobs, one_command)
             for name, jobs, one_command in (("a", None, True), ("b", "1", False))]
    return work / "a" / "_build" / "html", work / "b" / "_build" / "html", times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", metavar="DIR", help="build in DIR and keep it (default: a temporary directory)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="only compare two built sites")
    args = ap.parse_args(argv)
    if args.compare:
        a, b = map(Path, args.compare)
        cmp = compare(a, b)
        print(report(cmp, a, b))
        return 0 if cmp.ok else 1
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lsr-determinism-"))
    if args.keep and work.exists() and any(work.iterdir()):
        print(f"{work} is not empty", file=sys.stderr)
        return 2
    work.mkdir(parents=True, exist_ok=True)
    try:
        try:
            a, b, times = build_twice(work)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"deterministic-build: {exc}", file=sys.stderr)
            return 2
        cmp = compare(a, b)
        print(f"two clean builds of HEAD: {times[0]:.0f} s and {times[1]:.0f} s")
        print(report(cmp, a, b))
        return 0 if cmp.ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Execute the book: every notebook whose stored outputs are not current, in parallel warm kernels.

``python -m analysis execute`` (``make execute``, and the first step of ``make book``) calls
:func:`execute_book`:

1. For every notebook of ``book/`` (:func:`analysis.notebooks.discover`) compute its cache key
   (:func:`analysis.notebooks.key`: its code, the package and lock file, the environment, the
   data files it reads).  A notebook is *current* when ``_build/.exec-cache.json`` records that
   the outputs stored in it were written for that key; every other notebook is executed, and
   ``force=True`` executes all of them.  So a page is never rendered from outputs computed for
   other code or other data, and with nothing changed nothing is executed.
2. Execute those notebooks on ``jobs`` warm kernels (:class:`analysis.kernels.WarmKernel`, one
   per core by default), longest first (durations of the previous run, from the cache); each
   kernel imports the stack and loads the data once and resets itself between notebooks so
   that the outputs are the bytes a fresh kernel would give.
3. Write each executed notebook in place -- only if its bytes changed, so that Sphinx, which
   re-reads files by modification time, re-reads only pages that changed -- and record its key,
   unless an input changed while it ran (then it stays stale and runs again next time).

A failing notebook is reported with its error and not written; the others still run, and the
result says which failed (the command then exits 1).
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

# kernels first: it imports nbformat's jsonschema without the IRI grammar (0.9 s; see kernels.py)
from .kernels import Outcome, WarmKernel  # isort: skip
import nbformat  # noqa: E402  isort: skip

from . import notebooks as nbs
from .review.loading import Review

CACHE_FILE = nbs.ROOT / "_build" / ".exec-cache.json"


@dataclass
class Result:
    """What :func:`execute_book` did: executed, written (bytes changed), current (skipped), failed."""

    executed: list[Outcome] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    current: list[Path] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def default_jobs() -> int:
    """One kernel per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _name(path: Path) -> str:
    path = path.resolve()
    return path.relative_to(nbs.ROOT).as_posix() if path.is_relative_to(nbs.ROOT) else str(path)


def text_of(nb: nbformat.NotebookNode) -> str:
    """The notebook as ``nbformat.write`` writes it."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def keys(paths: list[Path], review: Review, book: Path) -> dict[Path, str]:
    """The cache key of every notebook (each data file hashed once)."""
    hasher = nbs.Hasher()
    package = hasher.package()
    return {p: nbs.key(json.loads(p.read_text(encoding="utf-8")), nbs.inputs(p, review, book), package, hasher)
            for p in paths}


class Pool:
    """Warm kernels and the event loop that drives them.

    :meth:`launch` starts the kernel processes and returns at once: they import the stack and
    load the data while the caller validates the data and computes keys (a fresh build launches
    them first thing; an incremental one only once it knows something is stale).
    """

    def __init__(self, jobs: int | None = None, preload: bool = True):
        self.jobs = jobs or default_jobs()
        self.preload = preload  # see WarmKernel.launch
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # jupyter_client and nbclient look the loop up
        self.kernels: list[WarmKernel] = []

    def launch(self, n: int | None = None) -> None:
        """Start ``n`` (default: ``jobs``) more kernel processes, up to ``jobs`` in all."""
        new = [WarmKernel(cwd=nbs.ROOT, preload=self.preload) for _ in range(max(0, min(n or self.jobs, self.jobs) - len(self.kernels)))]
        self.kernels += new
        self.loop.run_until_complete(asyncio.gather(*(k.launch() for k in new)))

    def execute(self, todo: list[Path], before: str | None, after: str | None, log) -> list[Outcome]:
        """Execute the notebooks of ``todo`` in order of the list, one per free kernel."""
        self.launch(len(todo))
        return self.loop.run_until_complete(self._execute(todo, before, after, log))

    async def _execute(self, todo: list[Path], before, after, log) -> list[Outcome]:
        queue: asyncio.Queue[Path] = asyncio.Queue()
        for p in todo:
            queue.put_nowait(p)
        outcomes: list[Outcome] = []

        async def worker(kernel: WarmKernel) -> None:
            while not queue.empty():
                path = queue.get_nowait()
                outcome = await kernel.execute(path, before, after)
                outcomes.append(outcome)
                log(f"{'FAILED' if outcome.error else 'executed'} {_name(path)} ({outcome.seconds:.1f} s)")

        await asyncio.gather(*(worker(k) for k in self.kernels))
        return outcomes

    def close(self) -> None:
        try:
            self.loop.run_until_complete(asyncio.gather(*(k.stop() for k in self.kernels), return_exceptions=True))
        finally:
            self.kernels = []
            self.loop.close()
            asyncio.set_event_loop(None)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def execute_book(review: Review, book: Path = nbs.BOOK, *, force: bool = False, jobs: int | None = None,
                 cache_file: Path = CACHE_FILE, before: str | None = None, after: str | None = None,
                 log=print, pool: Pool | None = None) -> Result:
    """Execute every notebook of ``book`` that is not current (module docstring); outputs written in place.

    Parameters
    ----------
    review : Review
        The loaded (validated) review: what the notebooks read is declared from it.
    book : Path
        The book folder.
    force : bool
        Execute every notebook, current or not.
    jobs : int, optional
        Number of warm kernels (default: one per core).
    cache_file : Path
        Where the keys of the stored outputs are recorded.
    before, after : str, optional
        Code run silently in the kernel before and after each notebook (benchmark timers); what
        ``after`` prints is each outcome's ``report``.
    log : callable
        Receives one line per executed notebook.
    pool : Pool, optional
        Kernels to use (perhaps launched earlier); by default a pool of ``jobs`` kernels is
        started when something is stale, and closed at the end.
    """
    t0 = time.perf_counter()
    book = Path(book).resolve()
    cache = nbs.Cache.load(cache_file)
    paths = nbs.discover(book)
    before_keys = keys(paths, review, book)
    result = Result()
    todo = []
    for p in paths:
        if not force and cache.current(_name(p), before_keys[p], json.loads(p.read_text(encoding="utf-8"))):
            result.current.append(p)
        else:
            todo.append(p)
    # longest first, so that the last to finish is short (the previous run's time; for a notebook
    # never timed, a guess from the size of its stored outputs: ~30 kB per second)
    todo.sort(key=lambda p: -(cache.seconds(_name(p)) or p.stat().st_size / 30_000))
    own = pool is None and bool(todo)
    if own:
        pool = Pool(jobs)
    try:
        outcomes = pool.execute(todo, before, after, log) if todo else []
    finally:
        if own:
            pool.close()
    after_keys = keys([o.path for o in outcomes if o.nb is not None], review, book)
    for o in sorted(outcomes, key=lambda o: o.path):
        if o.nb is None:
            result.failed.append(o)
            continue
        result.executed.append(o)
        text = text_of(o.nb)
        if o.path.read_text(encoding="utf-8") != text:
            o.path.write_text(text, encoding="utf-8")
            result.written.append(o.path)
        if after_keys[o.path] == before_keys[o.path]:
            cache.record(_name(o.path), before_keys[o.path], json.loads(text), o.seconds)
    known = {_name(p) for p in paths}
    cache.entries = {k: v for k, v in cache.entries.items() if k in known or not k.startswith(_name(book))}
    cache.save()
    result.seconds = time.perf_counter() - t0
    return result

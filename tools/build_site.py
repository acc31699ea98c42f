#!/usr/bin/env python3
"""Render the book's stored notebook outputs into ``_build/html`` with Sphinx (Jupyter Book 1).

Usage: ``python tools/build_site.py [--execute] [--fresh]``.  ``make book`` runs it with
``--execute``: ``python -m analysis execute book`` first makes every notebook's stored outputs
current, in a child process, while this process imports what the render will use
(:func:`preload`); the render starts when the execution succeeded.  Without ``--execute`` it
renders the outputs as they are stored.

Two guarantees of the old ``rm -rf _build/html && jupyter-book build --all`` are kept while
the parsed pages are reused between builds:

* **No file of an earlier build is published.**  Sphinx writes into an empty folder
  (``_build/html.new``) that replaces ``_build/html`` only when the build succeeded; a failed
  build leaves no ``_build/html``.  What persists is the parsed documents
  (``_build/.doctrees``) and, while they are reused, the pages written from them: the pages
  whose document did not change, and did not change what it shows of other pages, are carried
  into the new folder instead of being written again, and every carried file this build would
  not write is removed at the end (``book/_ext/carry_pages.py``).
* **Every warning fails the build, every time** (``-W -n --keep-going``).  Sphinx re-reads only
  the sources that changed, so a warning of an unchanged page would not be repeated: the parsed
  documents are therefore kept only after a build without warnings, and thrown away after any
  failure.  They are also thrown away -- the next build reads every page -- when anything they
  depend on besides the pages themselves changes (:func:`doctree_key`: the configuration, the
  table of contents and the set of pages it finds, the book's Sphinx extensions, the static
  files, the lock file); then every page is read and written.  A warning raised while a page
  is written (a reference that does not resolve) is repeated whenever what it refers to changes:
  every page is then written again.

When nothing the site is made from changed since the last successful build (:func:`site_key`:
every file of the repository outside ``_build/``, tests and benchmarks, the commit the footer
names and the environment), ``_build/html`` is kept as it is: writing it again would give the same
bytes (``make check-deterministic``).

``--fresh`` reads and writes every page (what ``jupyter-book build --all`` did): the benchmarks' floor.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

from analysis._startup import import_without_iri_grammar

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
DOCTREES = BUILD / ".doctrees"
KEY_FILE = DOCTREES / "review-doctree-key"
#: what the parsed documents depend on besides their own sources
#: (``_static/``: every page links its style sheets and scripts with a checksum of their content)
DEPENDS = ("_config.yml", "_toc.yml", "requirements.txt", "book/_ext/*.py", "_static/**/*")
SITE_KEY_FILE = BUILD / ".html-key"
#: folders whose files the site is not made from (site_key): at the top of the repository, and anywhere
NOT_SITE_TOP = {"_build", ".git", ".venv", "tests", "benchmarks", ".pytest_cache", ".jupyter_cache"}
NOT_SITE = {"__pycache__", ".ipynb_checkpoints"}
#: the cyclic garbage collector's thresholds while the command runs (CPython's default is
#: (700, 10, 10): a pass every 700 net allocations).  A render allocates millions of docutils
#: nodes that live to its end, so most passes find nothing to free; after one count changed, 826
#: passes took 0.45 s of a 4 s render, and 11 passes 0.12 s with these (benchmarks/README.md).
#: Cycles are still collected.
GC_THRESHOLD = (50_000, 50, 100)
#: with those thresholds a full collection almost never runs, and a render of 1000 pages kept
#: about 1 GB of cyclic garbage (its discarded document trees): :class:`Collector` runs one
#: whenever the resident size grew by this much since the last (a render of a few pages never does)
GC_GROWTH_BYTES = 256 * 2**20


def resident_bytes() -> int | None:
    """This process's resident size (Linux ``/proc/self/statm``), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Collector:
    """A daemon thread running a full garbage collection whenever the resident size grew by
    ``growth`` bytes since the last one (checked every ``every`` seconds; ``rss`` reads it).

    Freed memory is reused by the allocator, so the resident size then grows with what the
    render keeps, not with its garbage.  Does nothing where the size cannot be read.
    """

    def __init__(self, growth: int = GC_GROWTH_BYTES, every: float = 0.5, rss=resident_bytes):
        self.growth, self.every, self.rss = growth, every, rss
        self.collections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gc-on-growth", daemon=True)

    def _run(self) -> None:
        base = self.rss()
        if base is None:
            return
        while not self._stop.wait(self.every):
            now = self.rss()
            if now is not None and now - base >= self.growth:
                gc.collect()
                self.collections += 1
                base = self.rss() or now

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def doctree_key(root: Path = ROOT) -> str:
    """SHA-256 of the files in :data:`DEPENDS` and of the list of the book's page files."""
    h = hashlib.sha256()
    for pattern in DEPENDS:
        for p in sorted(q for q in root.glob(pattern) if q.is_file()):
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    pages = sorted(p.relative_to(root).as_posix() for p in (root / "book").rglob("*")
                   if p.suffix in (".md", ".ipynb") and not any(part.startswith(("_", "."))
                                                                 for part in p.relative_to(root / "book").parts))
    h.update("\n".join(pages).encode())
    return h.hexdigest()


def extension(name: str):
    """The book's Sphinx extension module ``book/_ext/<name>.py`` -- the module object Sphinx then uses."""
    path = str(ROOT / "book" / "_ext")
    if path not in sys.path:
        sys.path.insert(0, path)  # as Jupyter Book's local_extensions does
    return importlib.import_module(name)


def site_key(root: Path = ROOT) -> str:
    """SHA-256 of everything a build of the site can read: every file of the repository outside
    :data:`NOT_SITE_TOP` and :data:`NOT_SITE` (pages, data, package, configuration, static files,
    lock files; by content)
    and of the source texts (``analysis.review.seeds.SEEDS``), the commit and state the page
    footers name, and the ``REVIEW_*``/``GITHUB_SHA`` environment."""
    build_commit = extension("review_version").build_commit
    from analysis.review.fit_store import ENV as FIT_STORE_ENV
    from analysis.review.seeds import SEEDS  # the source texts quotes are checked against

    h = hashlib.sha256()
    for top in (root, Path(SEEDS)):
        for dirpath, dirnames, filenames in os.walk(top):
            skip = NOT_SITE | (NOT_SITE_TOP if Path(dirpath) == top else set())
            dirnames[:] = sorted(d for d in dirnames if d not in skip)
            for name in sorted(filenames):
                p = Path(dirpath) / name
                h.update(p.relative_to(top).as_posix().encode() + b"\0")
                try:
                    h.update(hashlib.sha256(p.read_bytes()).digest())
                except OSError:
                    h.update(b"unreadable")
    h.update(build_commit(root).encode())
    env = {k: v for k, v in os.environ.items() if k.startswith("REVIEW_") or k == "GITHUB_SHA"}
    env.pop(FIT_STORE_ENV, None)  # where fits are kept changes no page
    h.update(repr(sorted(env.items())).encode())
    return h.hexdigest()


def jobs() -> int:
    """Processes Sphinx reads and writes pages with: one per core (``SPHINX_JOBS`` overrides).

    Every extension of the site is parallel-safe (``book/_ext/fast_nav.py`` declares the one
    that does not say so; the LaTeX helper is off in ``_config.yml``); the pages are the same
    bytes with one process or several (tests/site/test_deterministic_build.py builds with both).
    """
    return int(os.environ.get("SPHINX_JOBS") or len(os.sched_getaffinity(0)))


#: myst-nb's notebook executors: (module, class) -- each module imports jupyter-cache, and with it SQLAlchemy
EXECUTORS = (("myst_nb.core.execute.cache", "NotebookClientCache"), ("myst_nb.core.execute.direct", "NotebookClientDirect"))


def without_notebook_execution() -> None:
    """Stand-ins for myst-nb's two notebook executors, which refuse to run.

    Jupyter Book never executes here (``execute_notebooks: "off"`` in ``_config.yml``, checked by
    tests/site/test_build_site_skip.py): the stored outputs are current when the render starts.
    myst-nb imports both executors whatever the execution mode, and with them jupyter-cache and
    SQLAlchemy: 0.2 s of every render.  Were execution switched on, the build would fail naming
    this function, never execute silently or not at all.
    """
    for module, cls in EXECUTORS:
        if module in sys.modules:
            continue

        def refuse(*args, _where=f"{module}.{cls}", **kwargs):
            raise RuntimeError(f"{_where}: tools/build_site.py renders stored outputs and never executes a notebook "
                               "(see without_notebook_execution); run `python -m analysis execute` first")

        stand_in = types.ModuleType(module)
        setattr(stand_in, cls, type(cls, (), {"__init__": refuse}))
        sys.modules[module] = stand_in


def render_imports() -> None:
    """What the render's imports need first, in :func:`sphinx` and :func:`preload` alike: the
    stand-ins of :func:`without_notebook_execution`, and jsonschema (imported by Jupyter Book to
    check ``_config.yml``, without format checks) imported without the IRI grammar it would
    compile for 0.9 s (:mod:`analysis._startup`)."""
    import_without_iri_grammar("jsonschema")
    without_notebook_execution()


def sphinx(out: Path, doctrees: Path, fresh: bool, carry_from: Path | None = None) -> int:
    """One Jupyter Book (Sphinx) HTML build of the repository into ``out``; its exit status.

    ``carry_from``: the previous site, whose unchanged pages are carried into ``out``
    (``book/_ext/carry_pages.py``) instead of being written again.
    """
    render_imports()
    from jupyter_book.sphinx import build_sphinx

    result = build_sphinx(ROOT, out, noconfig=True, path_config=str(ROOT / "_config.yml"),
                          confoverrides={"external_toc_path": (ROOT / "_toc.yml").as_posix(), "nitpicky": True,
                                         "latex_individualpages": False,
                                         "review_carry_from": str(carry_from or "")},
                          doctreedir=doctrees, freshenv=fresh, warningiserror=True, keep_going=True,
                          jobs=jobs())
    return result if isinstance(result, int) else 1


def preload(config: Path = ROOT / "_config.yml") -> list[str]:
    """Import the modules the render will load -- Sphinx with its built-in extensions, Jupyter
    Book, and every extension ``_config.yml`` names (the theme among them) -- and return the names
    of those that failed to import.

    ``--execute`` calls it while the notebooks execute in another process: importing them takes
    0.6 s of one core, which the executor leaves idle while it starts (validating the data and
    hashing the inputs, one process), so the render after one count changed starts 0.5 s sooner
    (benchmarks/README.md).  Importing has no effect on the pages: whatever is imported here
    Sphinx imports anyway, and a module that fails here is imported again by Sphinx, which
    reports the error.  Nothing of the build is done before the execution has finished.
    """
    render_imports()
    import yaml

    import sphinx.application

    sphinx_config = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("sphinx") or {}
    local = {name: ROOT / folder for name, folder in (sphinx_config.get("local_extensions") or {}).items()}
    names = [*sphinx.application.builtin_extensions, "jupyter_book.sphinx",
             *((sphinx_config.get("config") or {}).get("extensions") or []), *local]
    failed = []
    for name in dict.fromkeys(names):
        if name in local and str(local[name]) not in sys.path:
            sys.path.insert(0, str(local[name]))  # as Jupyter Book's local_extensions does
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 -- Sphinx imports it again and reports the error
            failed.append(name)
    return failed


def execute_then_build(fresh: bool = False) -> int:
    """``python -m analysis execute book`` in a child process, :func:`preload` meanwhile, then
    :func:`build` if the execution succeeded; the exit status of the first step that failed."""
    t0 = time.perf_counter()
    executor = subprocess.Popen([sys.executable, "-m", "analysis", "execute", str(ROOT / "book")], cwd=ROOT)
    try:
        preload()
        imported = time.perf_counter() - t0
    finally:
        status = executor.wait()
    executed = time.perf_counter() - t0
    if status != 0:
        print(f"build-site: the execution failed (exit status {status}); nothing rendered", file=sys.stderr)
        return status if 0 < status < 256 else 1  # a child killed by a signal has a negative status
    print(f"build-site: notebooks current after {executed:.1f} s (the render's modules imported meanwhile,"
          f" in {imported:.1f} s)")
    return build(fresh)


def build(fresh: bool = False) -> int:
    """Build ``_build/html`` (module docstring); 0 on success."""
    site = site_key()
    if not fresh and HTML.is_dir() and SITE_KEY_FILE.is_file() and SITE_KEY_FILE.read_text() == site:
        print(f"build-site: nothing the site is made from changed since the last build; {HTML.relative_to(ROOT)} kept")
        return 0
    SITE_KEY_FILE.unlink(missing_ok=True)
    from analysis.notebooks import use_fit_store

    use_fit_store()  # the download tables (book/_ext/downloads.py) read the fits the notebooks made
    downloads = extension("downloads")
    downloads.start(BUILD / downloads.CACHE)  # computed in the background while Sphinx works
    key = doctree_key()
    if fresh or not KEY_FILE.is_file() or KEY_FILE.read_text() != key:
        shutil.rmtree(DOCTREES, ignore_errors=True)
        fresh = True
    new = BUILD / "html.new"
    shutil.rmtree(new, ignore_errors=True)
    t0 = time.perf_counter()
    # the pages written by the last build are current for the parsed documents kept with them
    carry = None if fresh or not HTML.is_dir() else HTML
    try:
        status = sphinx(new, DOCTREES, fresh, carry)
    finally:
        downloads.stop()  # waited for by the build-finished hook; still running only after a failure
    if status != 0:
        shutil.rmtree(DOCTREES, ignore_errors=True)  # the next build reads every page and repeats every warning
        shutil.rmtree(new, ignore_errors=True)
        shutil.rmtree(HTML, ignore_errors=True)
        print("build-site: Sphinx failed (see above); _build/html removed", file=sys.stderr)
        return 1
    old = BUILD / "html.old"
    shutil.rmtree(old, ignore_errors=True)
    if HTML.exists():
        HTML.rename(old)
    new.rename(HTML)
    shutil.rmtree(old, ignore_errors=True)
    KEY_FILE.write_text(key)
    SITE_KEY_FILE.write_text(site)  # computed before the build: a file changed during it is seen next time
    print(f"build-site: {'every page read and written' if carry is None else 'changed pages read and written, the others carried'}"
          f" into {HTML.relative_to(ROOT)} in {time.perf_counter() - t0:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fresh", action="store_true", help="read every page (ignore the parsed documents of earlier builds)")
    ap.add_argument("--execute", action="store_true",
                    help="first execute every notebook whose outputs are not current (python -m analysis execute book)")
    args = ap.parse_args(argv)
    return execute_then_build(args.fresh) if args.execute else build(args.fresh)


if __name__ == "__main__":
    gc.set_threshold(*GC_THRESHOLD)
    with Collector():
        status = main()
    # Every file is written and closed by now.  Tearing the interpreter down would free the
    # parsed documents and Sphinx's environment object by object, with more collector passes:
    # 0.6-0.85 s after a render of three pages, for nothing (benchmarks/README.md).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

"""Sphinx extension: the review's data tables for download, written into the built site.

After a successful build, every table of :func:`analysis.review.downloads.tables` is written as
CSV and Parquet into ``<outdir>/downloads/``, where the data-download page links to them
(``book/downloads.ipynb``).  Nothing is written into the source tree.

Computing the tables (every synthesis, the certainty ratings) takes 2-3 s even with the build's
store of model fits, as long as the rest of a rebuild after one study changed.  So:

* they are kept in ``_build/.downloads-cache/<key>/`` and copied from there while the key holds
  -- a hash of every file under ``data/``, the package and lock files
  (:meth:`analysis.notebooks.Hasher.package`) and the environment variables the package reads,
  the same recipe that decides when a notebook's outputs are stale;
* ``tools/build_site.py`` calls :func:`start` before Sphinx starts: when the entry is missing, a
  background process computes it while Sphinx reads and writes the pages (mostly one core), and
  the ``build-finished`` hook waits for it.  Without it (a plain ``jupyter-book build``), or when
  it failed, the hook computes the entry itself, so an error is raised in the build.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DOWNLOADS = "downloads"
CACHE = ".downloads-cache"
#: the background process started by :func:`start`, waited for by the build-finished hook
_pending: subprocess.Popen | None = None


def key(data: Path) -> str:
    """Hash of what the download tables are computed from (module docstring)."""
    from analysis.notebooks import ENVIRONMENT, Hasher
    from analysis.review.fit_store import digest

    h = hashlib.sha256(Hasher().package().encode())
    h.update(digest(data).encode())
    h.update(json.dumps({name: os.environ.get(name) for name in ENVIRONMENT}, sort_keys=True).encode())
    return h.hexdigest()


def data_dir() -> Path:
    from analysis.review.loading import DATA_DIR

    return Path(DATA_DIR)


def fill(cache: Path) -> Path:
    """The cache entry for the current data (computed and written when missing); only it is kept."""
    entry = cache / key(data_dir())
    if not entry.is_dir():
        from analysis.review.downloads import write
        from analysis.review.living import state

        tmp = cache / f".tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        write(state(), tmp)
        for old in cache.iterdir():
            if old != tmp:
                shutil.rmtree(old, ignore_errors=True)
        tmp.rename(entry)
    return entry


def start(cache: Path) -> None:
    """Compute the cache entry in a background process if it is missing (module docstring)."""
    global _pending
    stop()
    if (cache / key(data_dir())).is_dir():
        return
    _pending = subprocess.Popen([sys.executable, __file__, str(cache)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)


def stop() -> None:
    """Stop the background process, if any (a failed build)."""
    global _pending
    if _pending is not None:
        _pending.kill()
        _pending.wait()
        _pending = None


def _write(app, exception) -> None:
    global _pending
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    if _pending is not None:
        _pending.wait()  # a failure is seen below: fill() computes the entry here and raises
        _pending = None
    shutil.copytree(fill(out.parent / CACHE), out / DOWNLOADS, dirs_exist_ok=True)


def setup(app):
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # the background process of start()
    fill(Path(sys.argv[1]))

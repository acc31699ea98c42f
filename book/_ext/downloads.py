"""Sphinx extension: the review's data tables for download, written into the built site.

After a successful build, every table of :func:`analysis.review.downloads.tables` is written as
CSV and Parquet into ``<outdir>/downloads/``, where the data-download page links to them
(``book/downloads.ipynb``).  Nothing is written into the source tree.

Computing the tables (every synthesis, the certainty ratings) takes about 9 s, as long as the
rest of an unchanged rebuild: they are kept in ``_build/.downloads-cache/<key>/`` and copied from
there while the key holds -- a hash of every file under ``data/``, the package and lock files
(:meth:`analysis.notebooks.Hasher.package`) and the environment variables the package reads,
the same recipe that decides when a notebook's outputs are stale.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

DOWNLOADS = "downloads"
CACHE = ".downloads-cache"


def key(data: Path) -> str:
    """Hash of what the download tables are computed from (module docstring)."""
    from analysis.notebooks import ENVIRONMENT, Hasher

    hasher = Hasher()
    h = hashlib.sha256(hasher.package().encode())
    for p in sorted(q for q in data.rglob("*") if q.is_file() and "__pycache__" not in q.parts):
        h.update(p.relative_to(data).as_posix().encode() + b"\0" + (hasher.file(p) or "").encode() + b"\0")
    h.update(json.dumps({name: os.environ.get(name) for name in ENVIRONMENT}, sort_keys=True).encode())
    return h.hexdigest()


def _write(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from analysis.review.loading import DATA_DIR

    out = Path(app.outdir)
    cache = out.parent / CACHE
    entry = cache / key(Path(DATA_DIR))
    if not entry.is_dir():
        from analysis.review.downloads import write
        from analysis.review.living import state

        shutil.rmtree(cache, ignore_errors=True)  # only the current entry is kept
        tmp = cache / ".tmp"
        write(state(), tmp)
        tmp.rename(entry)
    shutil.copytree(entry, out / DOWNLOADS, dirs_exist_ok=True)


def setup(app):
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

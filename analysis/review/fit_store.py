"""A folder of model fits shared by the build's processes, keyed by each fit's input.

The book build names the folder in the environment variable :data:`ENV` (``_build/.fit-store/``
with one folder per version of the package code: :func:`analysis.notebooks.use_fit_store`), so
that the warm kernels and the process computing the download tables fit each model once per
change of its input, not once per process (GLMM fits: :func:`analysis.review.pooling._glmm`;
reconstructions from survival summaries: :func:`analysis.review.survival._from_summary`; the
analyses of an outcome: :func:`analysis.review.synthesis.analyse`).
Tests and nbval leave it unset, and then nothing is kept.

Standard library only: the site build reads :data:`ENV` without importing the statistics.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: environment variable naming the folder (unset: no store)
ENV = "REVIEW_FIT_STORE"
#: the size :func:`prune` keeps a store under (the analyses of today's review take about 2 MB per
#: state of the data; a thousand studies about 60 MB)
LIMIT_BYTES = 256 * 2**20
#: what reading an entry written by another process may raise; the fit is then made again
UNREADABLE = (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, IndexError, TypeError)


def active() -> bool:
    """Whether this process keeps fits (the environment names a store)."""
    return bool(os.environ.get(ENV))


def digest(directory: Path) -> str:
    """SHA-256 of every file under ``directory`` (relative path and content; a file that cannot be
    read counts as such): part of the key of a result computed from everything a data folder
    holds (the analyses here, the download tables in ``book/_ext/downloads.py``)."""
    h = hashlib.sha256()
    root = Path(directory)
    for p in sorted(q for q in root.rglob("*") if q.is_file() and "__pycache__" not in q.parts):
        try:
            content = hashlib.sha256(p.read_bytes()).digest()
        except OSError:
            content = b"unreadable"
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + content)
    return h.hexdigest()


def entry(kind: str, key: Any) -> Path | None:
    """Where the fit of ``kind`` for ``key`` (a value with a stable ``repr``) is kept; None without a store."""
    store = os.environ.get(ENV)
    if not store:
        return None
    return Path(store) / f"{kind}-{hashlib.sha256(repr(key).encode()).hexdigest()}.pickle"


def load(path: Path | None) -> Any | None:
    """The fit kept at ``path``, or None when there is none or it cannot be read."""
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            value = pickle.load(f)
        os.utime(path)  # recently used: the last entry :func:`prune` removes
        return value
    except UNREADABLE:
        return None


def save(path: Path | None, value: Any) -> None:
    """Keep ``value`` at ``path`` (atomically: a reader sees the whole entry or none); errors ignored."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
    except OSError:
        pass


def kept(kind: str, key: Callable[[], Any], compute: Callable[[], T]) -> T:
    """``compute()``, read from the store when an entry of ``kind`` for ``key()`` is there, and
    saved there when it was computed.  ``key`` is called only when a store is active (a key can
    cost a walk over the data folder); without a store this is ``compute()``."""
    path = entry(kind, key()) if active() else None
    stored = load(path)
    if stored is not None:
        return stored
    result = compute()
    save(path, result)
    return result


def prune(folder: Path, limit: int = LIMIT_BYTES) -> list[Path]:
    """Remove the least recently used entries of ``folder`` until the rest take at most ``limit``
    bytes; the removed paths.  Every data state a reviewer tries adds its analyses to the store,
    and nothing else removes them while the package code stays the same.  A process that wanted a
    removed entry fits it again (:func:`load` gives None)."""
    entries = []
    for p in Path(folder).glob("*.pickle"):
        try:
            st = p.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, p.name, st.st_size, p))
    total = sum(e[2] for e in entries)
    removed = []
    for _mtime, _name, size, p in sorted(entries):
        if total <= limit:
            break
        p.unlink(missing_ok=True)
        total -= size
        removed.append(p)
    return removed

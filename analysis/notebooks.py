"""The book's notebooks: which there are, what each reads, and whether its stored outputs are current.

A notebook's outputs are *current* when they were written by :mod:`analysis.build` for the
present value of its **cache key**, the SHA-256 of everything its execution can depend on:

* its code: the source and tags of every code cell, and its kernel;
* the package: every file of ``analysis/`` (not ``__pycache__``), the lock file
  ``requirements.txt`` and ``pyproject.toml`` (so a new version of any library counts);
* the environment variables the package reads (:data:`ENVIRONMENT`);
* the data files it reads (:func:`inputs`), each by content, or as *missing* (a text that is
  not there is an input too: the page then says "no local source text").

What a notebook reads is declared here, never inferred from a run, and errs on the side of
too much:

* a **study chapter** ``book/studies/<id>.ipynb`` (written from ``book/_templates/study.ipynb``)
  reads its own study file, its digitised curves ``data/curves/<id>__*``, its local source
  text (``data/sources/<id>.txt`` and the seeds file its ``extracted_from.document`` names) and
  the study files of the studies it names in ``overlap:``;
* **every other notebook** (synthesis, methods, appraisal, landing pages, and any page added
  later) reads all of ``data/`` and the seeds file of every study;
* a notebook may add inputs outside ``data/`` in its metadata:
  ``{"review": {"inputs": ["path/or/glob", ...]}}`` (paths relative to the repository).

``tests/test_build.py`` checks the study-chapter rule by executing a chapter before and after
changing a file outside its inputs (the outputs must not change) and one of its inputs (they must).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .review.seeds import SEEDS

if TYPE_CHECKING:
    from .review.loading import Review

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(__file__).resolve().parent
BOOK = ROOT / "book"
#: bump when the key's recipe changes, so that no entry computed the old way is trusted
SCHEMA = 1
#: environment variables the package reads; their values are part of every key (not
#: ``REVIEW_FIT_STORE``, which changes where fits are kept, never what they are: :func:`use_fit_store`)
ENVIRONMENT = ("REVIEW_DATA_DIR", "REVIEW_SEEDS_DIR", "REVIEW_EMBED_VEGA")
#: where the build keeps model fits between processes, one folder per version of the package code
FIT_STORE = ROOT / "_build" / ".fit-store"
#: files besides the package whose change means other libraries or other package code
LOCK_FILES = ("requirements.txt", "pyproject.toml")


def use_fit_store(store: Path = FIT_STORE, package: str | None = None) -> Path:
    """Have this process and its children keep model fits in ``store/<package hash>`` (returned).

    The build's processes (the warm kernels, and the one computing the download tables during the
    render) and the pages among themselves fit many of the same models; :mod:`analysis.review.fit_store`
    keeps each fit (GLMM, reconstruction, an outcome's analyses) there, keyed by its input, and
    reads it back (``REVIEW_FIT_STORE``).  The
    folder name is :meth:`Hasher.package`, so no fit made by other package code or other
    libraries is ever read; folders of other versions are removed.
    """
    from .review.fit_store import ENV, prune

    folder = Path(store) / (package or Hasher().package())[:32]
    if Path(store).is_dir():
        for old in Path(store).iterdir():
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    prune(folder)  # least recently used entries beyond fit_store.LIMIT_BYTES
    os.environ[ENV] = str(folder)
    return folder


def discover(book: Path = BOOK) -> list[Path]:
    """The notebooks the book executes: every ``*.ipynb`` under ``book``, except in ``_*`` and ``.*`` folders."""
    return sorted(p for p in book.rglob("*.ipynb")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(book).parts))


def study_of(path: Path, book: Path = BOOK) -> str | None:
    """The study id of a study chapter (``book/studies/<id>.ipynb``), else None."""
    rel = path.relative_to(book).parts
    return Path(rel[1]).stem if len(rel) == 2 and rel[0] == "studies" else None


def inputs(path: Path, review: Review, book: Path = BOOK, seeds: Path | None = None) -> list[Path]:
    """The data files the notebook at ``path`` reads (see the module docstring), sorted, existing or not."""
    seeds = SEEDS if seeds is None else Path(seeds)
    data = Path(review.directory)
    sid = study_of(path, book)
    if sid is not None and sid in review.ids:
        study = review.study(sid)
        files = {data / "studies" / f"{sid}.yaml", data / "sources" / f"{sid}.txt"}
        files |= set((data / "curves").glob(f"{sid}__*"))
        files |= {data / "studies" / f"{o.study}.yaml" for o in study.overlap}
        if study.extracted_from.document:
            files.add(seeds / study.extracted_from.document)
    else:
        files = {p for p in data.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        files |= {seeds / s.extracted_from.document for s in review.studies if s.extracted_from.document}
    return sorted(files)


def code_of(nb: dict) -> dict:
    """What of a notebook's JSON its execution depends on: code cells (source, tags) and kernel."""
    cells = [("".join(c.get("source", "")), sorted(c.get("metadata", {}).get("tags", [])))
             for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name", "python3")
    return {"cells": cells, "kernel": kernel, "inputs": nb.get("metadata", {}).get("review", {}).get("inputs", [])}


def outputs_digest(nb: dict) -> str:
    """SHA-256 of the stored outputs and execution counts of a notebook's code cells."""
    stored = [(c.get("outputs", []), c.get("execution_count"))
              for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    return hashlib.sha256(json.dumps(stored, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Hasher:
    """Content hashes of files, each file read once per build (``None`` for a missing file)."""

    seen: dict[Path, str | None] = field(default_factory=dict)

    def file(self, path: Path) -> str | None:
        if path not in self.seen:
            try:
                self.seen[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                self.seen[path] = None
        return self.seen[path]

    def package(self, package: Path = PACKAGE, root: Path = ROOT) -> str:
        """One hash of every file of the package and of the lock files."""
        files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and p.suffix not in (".pyc", ".pyo"))
        h = hashlib.sha256()
        for p in files + [root / name for name in LOCK_FILES]:
            h.update(str(p.relative_to(root) if p.is_relative_to(root) else p).encode())
            h.update((self.file(p) or "missing").encode())
        return h.hexdigest()


def _label(path: Path) -> str:
    for base, name in ((ROOT, ""), (SEEDS, "seeds:")):
        if path.is_relative_to(base):
            return name + path.relative_to(base).as_posix()
    return str(path)


def key(nb: dict, files: list[Path], package: str, hasher: Hasher) -> str:
    """The cache key of a notebook (module docstring): its code, the package, the environment, its inputs."""
    extra = sorted({p for pattern in code_of(nb)["inputs"] for p in ROOT.glob(pattern) if p.is_file()})
    recipe = {"schema": SCHEMA, "code": code_of(nb), "package": package,
              "environment": {name: os.environ.get(name) for name in ENVIRONMENT},
              "inputs": [(_label(p), hasher.file(p)) for p in sorted(set(files) | set(extra))]}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Cache:
    """``_build/.exec-cache.json``: per notebook (path relative to the repository) the key it was
    executed for, the digest of the outputs then written and how long it took."""

    path: Path
    entries: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Cache:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = raw["notebooks"] if raw.get("schema") == SCHEMA else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}
        return cls(path, entries if isinstance(entries, dict) else {})

    def current(self, name: str, key_now: str, nb: dict) -> bool:
        """Were the stored outputs of ``nb`` written for ``key_now``?"""
        e = self.entries.get(name)
        return bool(e) and e.get("key") == key_now and e.get("outputs") == outputs_digest(nb)

    def record(self, name: str, key_now: str, nb: dict, seconds: float) -> None:
        self.entries[name] = {"key": key_now, "outputs": outputs_digest(nb), "seconds": round(seconds, 3)}

    def seconds(self, name: str) -> float | None:
        return self.entries.get(name, {}).get("seconds")

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"schema": SCHEMA, "notebooks": dict(sorted(self.entries.items()))}, indent=1),
                       encoding="utf-8")
        tmp.replace(self.path)


"""Copy this checkout's tracked files into a scratch folder (for the walk test and the benchmarks).

``copy_tracked(root, dest)`` writes the files ``git ls-files`` lists, as they are in the working
tree, under ``dest/repo`` and links ``shared/`` (the seeds) beside it, as it is beside ``root``:
a copy that builds like the checkout without touching it.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def copy_tracked(root: Path, dest: Path) -> Path:
    """The tracked files of ``root`` under ``dest/repo`` (returned), with ``dest/shared`` linked."""
    repo = dest / "repo"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = root / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    link_shared(root, dest)
    return repo


def link_shared(root: Path, dest: Path) -> None:
    """Link ``dest/shared`` to the ``shared/`` folder beside ``root`` (if there is one)."""
    shared = root.parent / "shared"
    if shared.is_dir() and not (dest / "shared").exists():
        (dest / "shared").symlink_to(shared.resolve())

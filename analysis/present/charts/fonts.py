"""The font the static SVG of a chart is measured with: the same on every machine.

vl-convert lays text out (label widths and truncation, legend and title offsets, the SVG's size)
with the fonts it finds: the system's first, then the Liberation Sans it carries.  The book's
theme names ``Helvetica Neue, Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif``
(:data:`analysis.present.charts.theme.FONT`), so the same spec gave a 692 px wide SVG on a
machine without Debian's ``fonts-liberation`` (1.07, whose metrics differ from vl-convert's copy
by a fraction of a pixel) and 693 px on one with it, and a machine with Helvetica would differ in
every chart: notebook outputs, and so nbval, depended on the fonts installed.

The static SVG is therefore measured with faces no system can shadow: Arimo (SIL Open Font
Licence; the design Liberation Sans 2 is built from, with Arial's metrics, so the browser's
Helvetica, Arial or Liberation Sans fills the same room), from the pinned ``fontpkg-arimo``
wheel, cut from its variable fonts at weights 400 and 700, upright and italic, with fontTools'
instancer, and renamed :data:`FAMILY`.  They are built once per user into a folder of the
user's cache keyed by the source files' SHA-256 (about 5 s, under a file lock so that parallel
kernels build it once) and registered with vl-convert once per process.
:func:`analysis.present.charts.render.static_svg` swaps the theme's font list for :data:`FAMILY`
in the spec it renders and back in the SVG it writes, so the reader's browser draws the static
chart with the theme's fonts.  Measured with these faces, label and chart widths are those of
vl-convert's own Liberation Sans (``tests/test_charts.py``).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Iterator

#: the family name of the built faces; nothing else on a machine carries it
FAMILY = "Review Chart Sans"
#: built file -> (variable source in ``fontpkg_arimo/files``, weight, subfamily, PostScript suffix)
FACES = {
    "Regular.ttf": ("Arimo[wght].ttf", 400, "Regular", "Regular"),
    "Bold.ttf": ("Arimo[wght].ttf", 700, "Bold", "Bold"),
    "Italic.ttf": ("Arimo-Italic[wght].ttf", 400, "Italic", "Italic"),
    "BoldItalic.ttf": ("Arimo-Italic[wght].ttf", 700, "Bold Italic", "BoldItalic"),
}
#: bump when the way the faces are built changes, so that an old folder is not reused
BUILD_VERSION = "1"


def source_directory() -> Path:
    """The variable Arimo fonts of the ``fontpkg-arimo`` wheel, found without importing it."""
    spec = find_spec("fontpkg_arimo")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("charts need the Arimo font of fontpkg-arimo (requirements.txt); run `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "files"


def renamed(font, dest: Path, subfamily: str, ps_suffix: str, family: str = FAMILY) -> None:
    """Save a fontTools ``TTFont`` to ``dest`` with its family, full and PostScript names naming ``family``."""
    names = {1: family, 2: subfamily, 3: f"{family} {subfamily}", 4: f"{family} {subfamily}",
             6: f"{family.replace(' ', '')}-{ps_suffix}", 16: family, 17: subfamily}
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.setName(names[record.nameID], record.nameID, record.platformID, record.platEncID, record.langID)
    font.save(dest)


def build(folder: Path) -> None:
    """Write the four static faces into ``folder``: instances of the variable sources, renamed."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    src = source_directory()
    for name, (source, weight, subfamily, ps_suffix) in FACES.items():
        face = instancer.instantiateVariableFont(TTFont(src / source), {"wght": weight}, inplace=True,
                                                 optimize=False, updateFontNames=False)
        face["OS/2"].usWeightClass = weight
        renamed(face, folder / name, subfamily, ps_suffix)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` where the platform has ``fcntl`` (elsewhere, none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cache_root() -> Path:
    """The user's cache folder (``$XDG_CACHE_HOME``, else ``~/.cache``), or, where it cannot be
    created, a folder of the temporary directory named with the user id: never a folder another
    user of the machine could have put there."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    try:
        root.mkdir(parents=True, exist_ok=True)
        return root
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"review-chart-fonts-uid{os.getuid() if hasattr(os, 'getuid') else 0}"
        fallback.mkdir(mode=0o700, exist_ok=True)
        return fallback


def font_directory() -> Path:
    """The folder of the built faces, built on first use.

    Its name carries the SHA-256 of the sources and :data:`BUILD_VERSION`, so a new wheel or a
    new way of building gives a new folder.  One process builds it (the others wait on a lock
    file) into a working folder that is then renamed into place, so no process ever reads a
    half-written face.
    """
    src = source_directory()
    digest = hashlib.sha256(BUILD_VERSION.encode())
    for source in sorted({s for s, *_ in FACES.values()}):
        digest.update((src / source).read_bytes())
    target = _cache_root() / f"review-chart-fonts-{digest.hexdigest()[:16]}"
    if all((target / name).is_file() for name in FACES):
        return target
    with _locked(target.with_name(target.name + ".lock")):
        if all((target / name).is_file() for name in FACES):
            return target
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
        try:
            build(work)
            shutil.rmtree(target, ignore_errors=True)  # an incomplete folder from an older run
            os.rename(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


@lru_cache(maxsize=1)
def register() -> str:
    """Register the built faces with vl-convert (once per process); return :data:`FAMILY`."""
    import vl_convert as vlc

    vlc.register_font_directory(str(font_directory()))
    return FAMILY

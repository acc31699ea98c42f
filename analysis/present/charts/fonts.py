"""The font the static SVG of a chart is measured with: the same on every machine.

vl-convert lays text out (label widths, legend and title offsets, the SVG's size) with the
fonts it finds: the system's first, then the Liberation Sans it carries.  The book's theme names
``Helvetica Neue, Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif``
(:data:`analysis.present.charts.theme.FONT`), so the same spec gave a 692 px wide SVG on a machine
without Debian's ``fonts-liberation`` (1.07, whose metrics differ from vl-convert's own copy by a
fraction of a pixel) and 693 px on one with it, and a Mac with Helvetica would differ everywhere:
notebook outputs, and so nbval, depended on the fonts installed.

The static SVG is therefore measured with one font that no system can shadow: the DejaVu Sans
faces shipped inside the pinned matplotlib wheel (regular, bold, oblique, bold oblique), renamed
:data:`FAMILY` with fontTools (the Bitstream Vera licence of DejaVu allows modified copies under
a name without "Bitstream" or "Vera") into a folder of the temporary directory keyed by the
source files' SHA-256, built once per machine and registered with vl-convert once per process.
:func:`analysis.present.charts.render.static_svg` swaps the theme's font list for
:data:`FAMILY` in the spec it renders and back in the SVG it writes, so the reader's browser
draws the static chart with the theme's fonts; DejaVu Sans is wider than Helvetica and Arial,
so drawn text is never longer than the room it was given.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

#: the family name of the renamed faces; nothing else on a machine carries it
FAMILY = "Review Chart Sans"
#: source file in matplotlib's ``mpl-data/fonts/ttf`` -> (subfamily, PostScript suffix)
FACES = {
    "DejaVuSans.ttf": ("Book", "Book"),
    "DejaVuSans-Bold.ttf": ("Bold", "Bold"),
    "DejaVuSans-Oblique.ttf": ("Oblique", "Oblique"),
    "DejaVuSans-BoldOblique.ttf": ("Bold Oblique", "BoldOblique"),
}
#: bump when the renaming below changes, so that an old folder is not reused
RENAME_VERSION = "1"


def source_directory() -> Path:
    """matplotlib's bundled TrueType folder, found without importing matplotlib."""
    spec = find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("charts need matplotlib's bundled DejaVu Sans (matplotlib is in requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


def renamed(src: Path, dest: Path, subfamily: str, ps_suffix: str, family: str = FAMILY) -> None:
    """Write ``src`` to ``dest`` with every family, full and PostScript name record naming ``family``."""
    from fontTools.ttLib import TTFont

    font = TTFont(src)
    names = {1: family, 3: f"{family} {subfamily}", 4: f"{family} {subfamily}",
             6: f"{family.replace(' ', '')}-{ps_suffix}", 16: family}
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.setName(names[record.nameID], record.nameID, record.platformID, record.platEncID, record.langID)
    font.save(dest)


def font_directory() -> Path:
    """The folder of the renamed faces, built on first use (atomically: a folder is renamed into place).

    Its name carries the SHA-256 of the source faces and :data:`RENAME_VERSION`, so a new
    matplotlib or a new renaming gives a new folder, and two processes building it at once both
    end with the same complete folder.
    """
    src = source_directory()
    digest = hashlib.sha256(RENAME_VERSION.encode())
    for name in FACES:
        digest.update((src / name).read_bytes())
    target = Path(tempfile.gettempdir()) / f"review-chart-fonts-{digest.hexdigest()[:16]}"
    if all((target / name).is_file() for name in FACES):
        return target
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        for name, (subfamily, ps_suffix) in FACES.items():
            renamed(src / name, work / name, subfamily, ps_suffix)
        try:
            os.rename(work, target)
        except OSError:  # another process put its folder in place first (or an incomplete one is there)
            if not all((target / name).is_file() for name in FACES):
                shutil.rmtree(target, ignore_errors=True)
                os.rename(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


@lru_cache(maxsize=1)
def register() -> str:
    """Register the renamed faces with vl-convert (once per process); return :data:`FAMILY`."""
    import vl_convert as vlc

    vlc.register_font_directory(str(font_directory()))
    return FAMILY

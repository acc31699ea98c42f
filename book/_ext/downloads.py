"""Sphinx extension: the review's data tables for download, written into the built site.

After a successful build, every table of :func:`analysis.review.downloads.tables` is written as
CSV and Parquet into ``<outdir>/downloads/``, where the data-download page links to them
(``book/downloads.ipynb``).  Nothing is written into the source tree.
"""
from __future__ import annotations

from pathlib import Path

DOWNLOADS = "downloads"


def _write(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from analysis.review.downloads import write
    from analysis.review.living import state

    write(state(), Path(app.outdir) / DOWNLOADS)


def setup(app):
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""The data-download page: links to the files the site build writes, and the data dictionary."""
from __future__ import annotations

from ..review import downloads
from ..review.living import State
from .escape import html, md
from .tables import display_markdown, show

#: where the site build writes the files (book/_ext/downloads.py), relative to book/downloads.html
SITE_PATH = "../downloads/"


def links(st: State) -> None:
    """One line per table: description and its CSV and Parquet files (links resolve in the built site)."""
    from IPython.display import HTML, display

    items = "".join(
        f'<li><strong>{html(name)}</strong>: {html(downloads.DESCRIPTIONS.get(name, ""))} '
        f'(<a href="{html(SITE_PATH + name)}.csv">{html(name)}.csv</a>, '
        f'<a href="{html(SITE_PATH + name)}.parquet">{html(name)}.parquet</a>)</li>'
        for name in downloads.tables(st, results=False))
    display(HTML(f'<ul class="lsr-downloads">{items}</ul>'))


def dictionary(st: State) -> None:
    """The data dictionary, generated from the tables' schemas."""
    d = downloads.dictionary(downloads.tables(st, results=False))
    for name in d["table"].unique(maintain_order=True):
        display_markdown(f"**{md(name)}**: {md(downloads.DESCRIPTIONS.get(name, ''))}")
        show(d.filter(d["table"] == name).drop("table"), quote_columns=())

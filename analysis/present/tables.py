"""Tables and Markdown as notebook outputs.

:func:`show` renders a polars DataFrame as a Markdown table (the static site gets a plain,
fast, searchable HTML table and nbval compares plain text); every cell and header passes
through :func:`analysis.present.escape.md`, so a table shows text from ``data/`` literally.
:func:`display_markdown` shows Markdown written by this package (citation roles included):
callers escape any text from ``data/`` they interpolate into it with ``escape.md``.
"""
from __future__ import annotations

import polars as pl

from .escape import md


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return md(v)


def markdown(df: pl.DataFrame, quote_columns: tuple[str, ...] = ("source",)) -> str:
    """Render a DataFrame as a Markdown table; quote columns are shown in quotation marks."""
    if df.height == 0:
        return "*None recorded.*"
    head = "| " + " | ".join(md((c[:1].upper() + c[1:]).replace("_", " ")) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    lines = [head, sep]
    for row in df.iter_rows(named=True):
        cells = [(f"“{_cell(v)}”" if c in quote_columns and v else _cell(v)) for c, v in row.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show(df: pl.DataFrame, **kwargs) -> None:
    """Display a DataFrame as a Markdown table in a notebook."""
    display_markdown(markdown(df, **kwargs))


def display_markdown(text: str) -> None:
    """Display Markdown (MyST roles such as citations included) as a notebook output."""
    from IPython.display import Markdown, display

    display(Markdown(text))

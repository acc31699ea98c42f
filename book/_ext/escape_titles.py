"""Sphinx extension: page titles reach the theme's templates escaped.

sphinx-book-theme 1.3 puts ``title.astext()`` -- the page title as plain, unescaped text -- into
the context as ``pagetitle`` and ``root_title`` and renders them raw (``<h1>{{ pagetitle }}</h1>``
in the print header, ``{{ root_title }}`` in the sidebar).  A study's title comes from its data
file, so a ``<script>`` in it would run.  This handler runs after the theme's (priority 600 >
500) and replaces both with their HTML-escaped text; the templates then show the text literally.
"""
from __future__ import annotations

from html import escape


def _escape_titles(app, pagename, templatename, context, doctree) -> None:
    for key in ("pagetitle", "root_title"):
        value = context.get(key)
        if isinstance(value, str) and not hasattr(value, "__html__"):  # plain text, not Markup
            context[key] = escape(value, quote=True)


def setup(app):
    app.connect("html-page-context", _escape_titles, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

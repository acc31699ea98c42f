"""Sphinx extension: the navigation sidebar computed once per folder, not once per page.

The theme's sidebar (``generate_toctree_html``, pydata-sphinx-theme, called by
sphinx-book-theme's ``sbt-sidebar-nav.html``) resolves the whole table of contents and rewrites
it with BeautifulSoup for every page: O(pages) work per page, O(pages^2) per build -- with
1000 study chapters, most of the build.  In this book the sidebars of two pages in the same
folder differ only in which entry is marked as the current page
(``<li class="toctree-lN current active"><a class="current reference internal" href="#">``
instead of ``<li class="toctree-lN"><a class="reference internal" href="page.html">``).

So the first page of a folder and parent (in the table of contents) has its sidebar computed by
the theme; if exactly one entry is marked, a leaf (no nested list), and the word "current"
occurs nowhere else but on the list of the page's part (caption), the unmarked sidebar is kept,
and every other page with that folder and parent whose entry is a leaf in that same list gets it
with its own entry marked -- the same bytes the theme would write.  Whenever that cannot be shown (a page with sections, several marked entries, a page
absent from the sidebar, a title containing "current" or markup), the theme computes the page's
sidebar as before.  ``REVIEW_NAV_CACHE=0`` turns the cache off (``tests/site/test_fast_nav.py`` builds both
ways and compares).
"""
from __future__ import annotations

import os
import posixpath
import re

_MARKED = re.compile(r'<li class="toctree-l(\d+) current active"><a class="current reference internal" href="#">'
                     r'([^<]*</a></li>)')
_CACHE: dict[tuple, str] = {}


_PART = '<ul class="current nav bd-sidenav">'  # the list of the part (caption) holding the current page


def _part(html: str) -> tuple[int, int]:
    """Start and end of the current part's list (the whole text when there is none)."""
    start = html.find(_PART)
    return (0, len(html)) if start < 0 else (start, html.find("</ul>", start))


def unmark(html: str, href: str) -> str | None:
    """The sidebar with the current page's entry unmarked, or None if that is not the only mark
    (besides its part's list, which all pages of that part share)."""
    marks = list(_MARKED.finditer(html))
    parts = html.count(_PART)
    if len(marks) != 1 or parts > 1 or html.count("current") != 2 + parts:
        return None
    start, end = _part(html)
    if not start <= marks[0].start() < end:
        return None
    return _MARKED.sub(lambda m: f'<li class="toctree-l{m.group(1)}"><a class="reference internal" href="{href}">'
                       + m.group(2), html)


def mark(html: str, href: str) -> str | None:
    """The unmarked sidebar with the entry linking to ``href`` marked current, or None if it is not
    exactly one leaf entry, inside the marked part's list."""
    entry = re.compile(rf'<li class="toctree-l(\d+)"><a class="reference internal" href="{re.escape(href)}">'
                       r'([^<]*</a></li>)')
    found = list(entry.finditer(html))
    start, end = _part(html)
    if len(found) != 1 or not start <= found[0].start() < end:
        return None
    return entry.sub(lambda m: f'<li class="toctree-l{m.group(1)} current active"><a class="current reference internal" '
                               f'href="#">{m.group(2)}', html)


def _install(app, pagename: str, context: dict) -> None:
    """Replace the theme's ``generate_toctree_html`` in ``context`` by the cached one (module docstring)."""
    theme_nav = context.get("generate_toctree_html")
    if theme_nav is None or os.environ.get("REVIEW_NAV_CACHE") == "0":
        return
    href = posixpath.basename(pagename) + app.builder.out_suffix
    folder = posixpath.dirname(pagename)
    parent = _parents(app).get(pagename)

    def nav(kind: str, startdepth: int = 1, show_nav_level: int = 1, **kwargs):
        if kind != "sidebar" or startdepth != 0:
            return theme_nav(kind, startdepth, show_nav_level, **kwargs)
        key = (folder, parent, show_nav_level, tuple(sorted(kwargs.items())))
        if key in _CACHE:
            html = mark(_CACHE[key], href)
            if html is not None:
                return html
        html = str(theme_nav(kind, startdepth, show_nav_level, **kwargs))
        neutral = unmark(html, href)
        if neutral is not None and mark(neutral, href) == html:
            _CACHE.setdefault(key, neutral)
        return html

    context["generate_toctree_html"] = nav


def _wrap_theme_listener(app) -> None:
    """Run :func:`_install` right after the theme's own ``add_toctree_functions`` listener: the
    theme renders the sidebar templates in its next listener (to drop empty ones), so a listener
    of our own, at any priority, would come too late or too early."""
    from sphinx.events import EventListener

    listeners = app.events.listeners["html-page-context"]
    for i, listener in enumerate(listeners):
        if getattr(listener.handler, "__name__", "") == "add_toctree_functions":
            theme_handler = listener.handler

            def handler(app, pagename, templatename, context, doctree, theme_handler=theme_handler):
                theme_handler(app, pagename, templatename, context, doctree)
                _install(app, pagename, context)

            listeners[i] = EventListener(listener.id, handler, listener.priority)
            return


def _parents(app) -> dict[str, str]:
    """Each document's parent in the table of contents (computed once per build)."""
    if "parents" not in _CACHE:
        _CACHE["parents"] = {child: parent for parent, children in app.env.toctree_includes.items()
                             for child in children}
    return _CACHE["parents"]  # type: ignore[return-value]


def _builder_inited(app) -> None:
    _CACHE.clear()
    _wrap_theme_listener(app)


def _declare_multitoc_parallel_safe(app) -> None:
    """sphinx_external_toc always loads sphinx_multitoc_numbering, which declares nothing, so Sphinx
    reads and writes serially.  That extension only replaces TocTreeCollector.assign_section_numbers,
    which Sphinx runs in the main process after every page is read: it keeps no data per page, so
    pages can be read and written in parallel (checked: the site is byte-identical, -j 1 and -j 2)."""
    ext = app.extensions.get("sphinx_multitoc_numbering")
    if ext is not None and getattr(ext.module, "__version__", None) == "0.1.3":  # the version read
        ext.parallel_read_safe = True
        ext.parallel_write_safe = True


def setup(app):
    app.connect("builder-inited", _builder_inited)
    _declare_multitoc_parallel_safe(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

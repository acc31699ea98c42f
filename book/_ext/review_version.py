"""Sphinx extension: every page footer says which version of the review it shows.

The footer names the review's current version and its date (newest entry of
data/changelog.yaml) and the commit the site was built from: ``$GITHUB_SHA`` when set (CI),
else ``git rev-parse --short HEAD`` in the source folder (with "+ local changes" when tracked
files differ from that commit), else "unknown".  Every piece is HTML-escaped.  Each page's footer also links to the how-to-cite page
(``book/cite``), by a path relative to that page.
"""
from __future__ import annotations

import os
import re
import subprocess
from html import escape
from pathlib import Path

COMMIT_ENV = "GITHUB_SHA"


def _git(srcdir: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["git", "-C", str(srcdir), *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None


def build_commit(srcdir: Path, environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    """Short commit id of the build ("unknown" when there is neither $GITHUB_SHA nor git)."""
    sha = environ.get(COMMIT_ENV, "").strip()
    if sha:
        return sha[:7] if re.fullmatch(r"[0-9a-fA-F]{7,64}", sha) else sha[:40]
    head = _git(srcdir, "rev-parse", "--short", "HEAD")
    if head is None or head.returncode != 0 or not head.stdout.strip():
        return "unknown"
    commit = head.stdout.strip()
    dirty = _git(srcdir, "diff", "--quiet", "HEAD", "--")
    return f"{commit} + local changes" if dirty is not None and dirty.returncode == 1 else commit


#: the how-to-cite page every footer links to (a document name of the book)
CITE_DOC = "book/cite"


def footer_html(version: str, date: str, commit: str, cite_href: str | None = None) -> str:
    cite = f' <a class="lsr-cite" href="{escape(cite_href)}">Cite this version</a>.' if cite_href else ""
    return (f'<p class="lsr-version">Living review version {escape(version)} ({escape(date)}), '
            f'built from commit <code>{escape(commit)}</code>; '
            f"see <em>What's new</em> for the changes.{cite}</p>")


def _footer(app, config) -> None:
    from analysis.review.loading import changelog

    latest = changelog()[0]
    options = dict(config.html_theme_options or {})
    parts = (str(latest.version), str(latest.date), build_commit(Path(app.srcdir)))
    options["extra_footer"] = footer_html(*parts)
    config.html_theme_options = options
    app._lsr_footer = parts  # read by _page_footer for the per-page cite link


def _page_footer(app, pagename, templatename, context, doctree) -> None:
    """Each page's footer links to the how-to-cite page by a path relative to that page."""
    parts = getattr(app, "_lsr_footer", None)
    if parts and CITE_DOC in app.env.found_docs:
        context["theme_extra_footer"] = footer_html(*parts, cite_href=context["pathto"](CITE_DOC))


def setup(app):
    app.connect("config-inited", _footer)
    app.connect("html-page-context", _page_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

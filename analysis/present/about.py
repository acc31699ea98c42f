"""Pages about the review itself: versions and what changed."""
from __future__ import annotations

from ..review.schema import Release
from .escape import md
from .tables import display_markdown


def release_notes(releases: list[Release]) -> None:
    """Display every release, newest first, as a heading and its list of changes (escaped)."""
    for release in releases:
        display_markdown(f"## {md(release.version)} ({md(release.date)})\n\n"
                         + "\n".join(f"- {md(c)}" for c in release.changes))

"""Sphinx extension: put the review's current version (newest entry of data/changelog.yaml) in every page footer."""
from __future__ import annotations

from html import escape


def _footer(app, config) -> None:
    from analysis.review.loading import changelog

    latest = changelog()[0]
    options = dict(config.html_theme_options or {})
    options["extra_footer"] = (f"<p>Living review version {escape(latest.version)} ({escape(latest.date)}); "
                               "see <em>What's new</em> for the changes.</p>")
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", _footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

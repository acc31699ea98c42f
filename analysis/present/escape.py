"""Text from ``data/`` made inert for the context it is shown in: the one place that escapes.

A study file is written by people; its titles, labels, quotes and notes must reach a page as
text, never as markup.  Two output contexts exist in the book:

* **HTML** (tables, chart fallbacks): :func:`html` escapes ``& < > " '``.
* **Markdown/MyST** (prose that chapters build, e.g. a study header with a citation role):
  :func:`md` collapses line breaks (so no text can start a block: a heading, a directive
  fence ``` ``` ``` or ``:::``, a list or a table) and backslash-escapes every ASCII
  punctuation character that Markdown or MyST gives a meaning (CommonMark allows a backslash
  before any ASCII punctuation and renders the character literally), so neither roles
  (``{raw}`x```), HTML tags, links nor emphasis survive.
"""
from __future__ import annotations

import html as _html
import re

#: ASCII punctuation escaped in Markdown context (CommonMark: any ASCII punctuation may be escaped)
MD_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|$~^:&=\"'%@/;?,")


def html(text: object) -> str:
    """``text`` as HTML character data or attribute value (``None`` becomes the empty string)."""
    return "" if text is None else _html.escape(str(text), quote=True)


def md(text: object) -> str:
    """``text`` as literal Markdown/MyST inline text (``None`` becomes the empty string)."""
    if text is None:
        return ""
    flat = " ".join(str(text).replace("\x00", "\ufffd").split())  # CommonMark replaces NUL anyway
    return "".join("\\" + ch if ch in MD_SPECIAL else ch for ch in flat)


#: a MyST citation role whose keys are plain bibkeys: the only markup kept from data text
CITATION = re.compile(r"\{cite:(?:p|t)\}`[A-Za-z][A-Za-z0-9_:-]*(?:,[A-Za-z][A-Za-z0-9_:-]*)*`")


def md_cited(text: object) -> str:
    """Like :func:`md`, but citation roles with plain bibkeys (``{cite:p}`a2020,b2021```) stay live.

    For reviewer-written prose in ``data/`` (the analysis plan's rationales) that cites the
    methods literature; everything around the roles is escaped, and a role whose keys are not
    plain bibkeys is escaped like any other text.
    """
    if text is None:
        return ""
    flat = " ".join(str(text).split())
    result, pos = "", 0
    for m in CITATION.finditer(flat):
        before = flat[pos:m.start()]
        lead = " " if before.startswith(" ") and result else ""  # the space after a previous role
        result += lead + md(before) + (" " if before.endswith(" ") and before.strip() else "") + m.group(0)
        pos = m.end()
    rest = flat[pos:]
    return result + (" " if rest.startswith(" ") and result else "") + md(rest)

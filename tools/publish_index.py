#!/usr/bin/env python3
"""Root of the published site: ``index.html`` (sends readers to ``latest/``) and ``versions.html``
(every published version of the living review, newest first), plus ``.nojekyll``.

Usage (in .github/workflows/publish.yml)::

    python tools/publish_index.py OUT_DIR --published DIR_OF_GH_PAGES_CHECKOUT --new v0.2.0

Versions are the ``v*`` folders already on the ``gh-pages`` branch plus ``--new``.  The
pages are plain HTML with no script (they pass tools/check_site.py); every name is escaped.
``--check-tag TAG`` instead checks that a tag ``vX.Y.Z`` names the newest version in
data/changelog.yaml (so the footer and the published path agree) and exits 1 if not.
"""
from __future__ import annotations

import argparse
import re
import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION_DIR = re.compile(r"^v\d+(?:\.\d+)*(?:[-+.][0-9A-Za-z.-]+)?$")


def version_key(name: str) -> tuple:
    parts = re.split(r"[.\-+]", name.lstrip("v"))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def versions(published: Path | None, new: str | None) -> list[str]:
    found = {p.name for p in published.iterdir() if p.is_dir() and VERSION_DIR.match(p.name)} if published else set()
    if new:
        if not VERSION_DIR.match(new):
            raise ValueError(f"not a version tag: {new!r}")
        found.add(new)
    return sorted(found, key=version_key, reverse=True)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{extra}<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}</style>
</head>
<body>
{body}
</body>
</html>
"""
TITLE = "Donor-derived CD19 CAR-T for B-ALL relapsing after allo-HSCT: a living systematic review"


def write(out: Path, names: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    items = "\n".join(f'<li><a href="{escape(n)}/index.html">{escape(n)}</a>'
                      f'{" (latest)" if i == 0 else ""}</li>' for i, n in enumerate(names))
    (out / "versions.html").write_text(PAGE.format(
        title=f"Versions - {escape(TITLE)}", extra="",
        body=f"<h1>Published versions</h1>\n<p>{escape(TITLE)}. Each version stays readable at its own "
             f"address; <a href=\"latest/index.html\">latest/</a> is the newest.</p>\n<ul>\n{items}\n</ul>"),
        encoding="utf-8")
    (out / "index.html").write_text(PAGE.format(
        title=escape(TITLE), extra='<meta http-equiv="refresh" content="0; url=latest/index.html">\n',
        body='<p>The newest version is at <a href="latest/index.html">latest/</a>; '
             'earlier versions: <a href="versions.html">versions</a>.</p>'), encoding="utf-8")
    (out / ".nojekyll").write_text("", encoding="utf-8")  # publish _static/ and _sources/ as they are


def newest_changelog_version(path: Path = ROOT / "data" / "changelog.yaml") -> str:
    import yaml

    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return str(entries[0]["version"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", help="directory to write index.html, versions.html, .nojekyll into")
    ap.add_argument("--published", type=Path, help="checkout of the gh-pages branch (may be missing)")
    ap.add_argument("--new", help="the version being published (its tag, e.g. v0.2.0)")
    ap.add_argument("--check-tag", metavar="TAG", help="only check TAG against data/changelog.yaml")
    args = ap.parse_args(argv)
    if args.check_tag:
        want = newest_changelog_version()
        if args.check_tag.lstrip("v") != want:
            print(f"tag {args.check_tag} does not match the newest version {want} in data/changelog.yaml",
                  file=sys.stderr)
            return 1
        print(f"tag {args.check_tag} = changelog version {want}")
        return 0
    if not args.out:
        ap.error("OUT directory required")
    published = args.published if args.published and args.published.is_dir() else None
    names = versions(published, args.new)
    write(Path(args.out), names)
    print(f"wrote {args.out}: versions {', '.join(names) or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

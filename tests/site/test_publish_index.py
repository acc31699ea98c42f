"""tools/publish_index.py: the root pages of the published site and the tag/changelog check."""
from __future__ import annotations

from pathlib import Path

import check_site as cs
import publish_index as pi


def test_versions_newest_first(tmp_path: Path) -> None:
    for name in ("v0.1.0", "v0.10.0", "v0.9.1", "latest", "_static", "notaversion"):
        (tmp_path / name).mkdir()
    assert pi.versions(tmp_path, "v0.11.0") == ["v0.11.0", "v0.10.0", "v0.9.1", "v0.1.0"]
    assert pi.versions(None, "v1.0.0") == ["v1.0.0"]


def test_root_pages_are_safe_and_link_to_latest(tmp_path: Path) -> None:
    out = tmp_path / "root"
    pi.write(out, ["v0.2.0", "v0.1.0"])
    index = (out / "index.html").read_text()
    assert 'url=latest/index.html' in index and (out / ".nojekyll").exists()
    versions = (out / "versions.html").read_text()
    assert versions.index("v0.2.0") < versions.index("v0.1.0") and "(latest)" in versions
    for page in ("index.html", "versions.html"):
        assert cs.check_page(out / page, out) == []


def test_bad_version_name_rejected() -> None:
    try:
        pi.versions(None, 'v1"><script>alert(1)</script>')
    except ValueError:
        return
    raise AssertionError("accepted a hostile version name")


def test_tag_must_match_changelog(capsys) -> None:
    newest = pi.newest_changelog_version()
    assert pi.main(["--check-tag", f"v{newest}"]) == 0
    assert pi.main(["--check-tag", "v999.0.0"]) == 1

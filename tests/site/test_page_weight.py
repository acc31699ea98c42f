"""Page weight: every built page within its limit (text 150 KB, charts 500 KB, gzip), and the meter itself."""
from __future__ import annotations

import os
import re
from pathlib import Path

import page_weight as pw
from conftest import write


def test_built_site_within_limits(built_site: Path) -> None:
    results = pw.measure_site(built_site)
    assert results, "no pages measured"
    bad = [r for r in results if not r.ok]
    assert not bad, "\n" + pw.table(bad) + "\n" + pw.summary(results)


def test_built_site_has_no_source_maps(built_site: Path) -> None:
    maps = sorted(p.relative_to(built_site).as_posix() for p in built_site.rglob("*.map"))
    assert not maps
    mentions = [p.relative_to(built_site).as_posix() for p in built_site.rglob("*")
                if p.suffix in {".js", ".css"} and b"sourceMappingURL=" in p.read_bytes()]
    assert not mentions, f"files still pointing at source maps: {mentions}"


def test_vega_bundle_only_on_chart_pages(built_site: Path) -> None:
    results = pw.measure_site(built_site)
    assert any(r.chart_page for r in results) and not all(r.chart_page for r in results)
    for r in results:
        loads_vega = any(a.path.endswith("vega/vega-bundle.js") for a in r.assets)
        assert loads_vega == r.chart_page, r.page
        if loads_vega:  # deferred, so the text paints first
            assert re.search(r'<script defer="defer" src="[^"]*vega-bundle\.js',
                             (built_site / r.page).read_text(encoding="utf-8")), r.page


# --- the meter on small hand-made sites: it must be able to fail ------------------------------

PAGE = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="_static/site.css?v=1">
<script src="_static/app.js?digest=abc"></script>
<link rel="preload" as="script" href="_static/app.js?digest=abc">
<script src="https://example.org/remote.js"></script>
</head><body>{body}<img src="_static/pic.png" srcset="_static/pic.png 1x, _static/pic2.png 2x">
<div style="background:url('_static/bg.png')"></div></body></html>"""
CSS = """@import url("more.css");
@font-face{font-family:X;src:url(font.woff2) format("woff2"),url(font.ttf) format("truetype")}
/* url(commented-out.png) */ body{background:url(data:image/png;base64,AAAA)}"""


def make_site(root: Path, body: str = "<p>text</p>", app_js: bytes = b"console.log(1);\n" * 50) -> Path:
    write(root, "index.html", PAGE.replace("{body}", body))
    write(root, "_static/site.css", CSS)
    write(root, "_static/more.css", "p{color:red}")
    write(root, "_static/font.woff2", os.urandom(2000))
    write(root, "_static/font.ttf", os.urandom(5000))
    write(root, "_static/app.js", app_js)
    for name in ("pic.png", "pic2.png", "bg.png"):
        write(root, f"_static/{name}", os.urandom(300))
    return root


def test_assets_found_once_each(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    found, missing = pw.page_assets(site / "index.html", site)
    names = sorted(p.relative_to(site).as_posix() for p in found)
    assert names == ["_static/app.js", "_static/bg.png", "_static/font.woff2", "_static/more.css",
                     "_static/pic.png", "_static/pic2.png", "_static/site.css"]
    assert missing == []
    r = pw.measure_page(site / "index.html", site)
    assert r.total == r.html + sum(pw.gz_file(p) for p in found)
    assert r.ok and not r.chart_page and r.limit == pw.TEXT_LIMIT


def test_text_page_over_limit_fails(tmp_path: Path) -> None:
    site = make_site(tmp_path, app_js=os.urandom(160_000))  # incompressible: > 150 KB gzipped
    r = pw.measure_site(site)[0]
    assert not r.ok and r.total > pw.TEXT_LIMIT
    assert pw.main([str(site)]) == 1


def test_chart_page_has_the_larger_limit(tmp_path: Path) -> None:
    site = make_site(tmp_path, body='<div id="altair-viz-0123abcd"></div>', app_js=os.urandom(160_000))
    r = pw.measure_site(site)[0]
    assert r.chart_page and r.limit == pw.CHART_LIMIT and r.ok
    assert pw.main([str(site)]) == 0


def test_missing_asset_fails(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "_static" / "more.css").unlink()
    r = pw.measure_site(site)[0]
    assert r.missing == ["stylesheet more.css"] and not r.ok
    assert pw.main([str(site)]) == 1

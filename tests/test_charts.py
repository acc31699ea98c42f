"""Tests of analysis.present.charts: offline renderer, theme, vendored bundle and chart specs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import altair as alt
import polars as pl
import pytest

from analysis.present import charts
from analysis.present.charts import render as offline
from analysis.present.charts.theme import FONT
from factory import module_from_file

ROOT = Path(__file__).resolve().parents[1]
HTML_RE = re.compile(
    r'<div class="lsr-chart">\n<div id="(altair-viz-[0-9a-f]{32})" class="review-chart" role="img" aria-label="([^"<>]*)"></div>\n'
    r'<script type="text/javascript">(.*?)</script>\n<div class="chart-static" aria-hidden="true">(<svg.*</svg>)</div>\n'
    r'<p class="chart-alt">([^<>]*)</p>\n</div>', re.S
)


# ----------------------------------------------------------------------------- helpers


def walk(node: Any) -> Iterator[dict]:
    """Every dict in a (nested) spec."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def mark_types(spec: dict) -> list[str]:
    out = []
    for d in walk(spec):
        m = d.get("mark")
        if isinstance(m, str):
            out.append(m)
        elif isinstance(m, dict) and "type" in m:
            out.append(m["type"])
    return out


def marks_of(spec: dict, mtype: str) -> list[dict]:
    return [d for d in walk(spec) if isinstance(d.get("mark"), dict) and d["mark"].get("type") == mtype
            or d.get("mark") == mtype]


def render(chart: alt.TopLevelMixin) -> dict:
    bundle = charts.mimebundle(chart)
    assert bundle, "renderer returned an empty bundle"
    return bundle


def embedded_spec(html: str) -> dict:
    m = HTML_RE.fullmatch(html)
    assert m, html[:300]
    js = m.group(3)
    spec_json = re.search(r'spec=(\{.*\}),opt=', js, re.S).group(1)
    return json.loads(spec_json)


@pytest.fixture
def studies() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "label": ["Smith 2019", "Zhang 2020", "Liu 2021", "Hu 2022"],
            "estimate": [0.80, 0.67, 0.90, 0.55],
            "ci_lower": [0.56, 0.41, 0.68, 0.32],
            "ci_upper": [0.94, 0.87, 0.99, 0.77],
            "n": [20, 15, 21, 18],
            "donor": ["Matched", "Haplo", "Matched", "Haplo"],
        }
    )


POOLED = {"estimate": 0.74, "ci_lower": 0.63, "ci_upper": 0.83, "pi_lower": 0.48, "pi_upper": 0.90}


@pytest.fixture
def km_data() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    curves = pl.DataFrame(
        {
            "arm": ["A"] * 4 + ["B"] * 3,
            "time": [0.0, 3.0, 8.0, 14.0, 0.0, 2.0, 6.0],
            "survival": [1.0, 0.9, 0.7, 0.6, 1.0, 0.8, 0.5],
            "ci_lower": [1.0, 0.8, 0.55, 0.42, 1.0, 0.62, 0.3],
            "ci_upper": [1.0, 0.97, 0.83, 0.75, 1.0, 0.92, 0.7],
        }
    )
    censors = pl.DataFrame({"arm": ["A", "B"], "time": [10.0, 7.0], "survival": [0.7, 0.5]})
    at_risk = pl.DataFrame(
        {"arm": ["A", "A", "A", "B", "B", "B"], "time": [0.0, 6.0, 12.0] * 2, "n_at_risk": [20, 15, 9, 18, 8, 2]}
    )
    return curves, censors, at_risk


# ----------------------------------------------------------------------------- renderer


def test_import_changes_no_global_state():
    """Importing the chart layer registers nothing with Altair and does not even import it."""
    code = ("import sys; import analysis.present.charts as c; assert 'altair' not in sys.modules; "
            "import altair as alt; assert alt.renderers.active == 'default', alt.renderers.active; "
            "assert alt.theme.active == 'default', alt.theme.active")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_drawing_every_chart_module_needs_no_pandas():
    """Charts are drawn from polars frames; pandas (0.3 s per fresh interpreter) is never imported."""
    code = ("import sys, polars as pl; from analysis.present.charts import forestplot, setforest, bars, kmplot, "
            "envelopeplot, robplot, flowchart; "
            "forestplot.forest(pl.DataFrame({'label': ['a', 'b'], 'estimate': [0.2, 0.4], 'ci_lower': [0.1, 0.3], "
            "'ci_upper': [0.3, 0.5], 'w': [1.0, 2.0]}), weight='w', pooled={'estimate': 0.3, 'ci_lower': 0.2, "
            "'ci_upper': 0.4}).to_dict(); "
            "robplot.summary_bars(pl.DataFrame({'domain': ['D1', 'D1'], 'judgement': ['Low', 'High'], "
            "'share': [2 / 3, 1 / 3]}), 't', 'd', ['D1']).to_dict(); "
            "assert 'pandas' not in sys.modules, 'pandas imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_chart_frames_hold_no_nan_or_infinity_and_pandas_frames_still_work():
    from analysis.present.charts._common import _frame

    d = _frame(pl.DataFrame({"a": [1.0, float("nan"), float("inf"), None, 0.1234567891], "s": list("vwxyz")}))
    assert d["a"].to_list() == [1.0, None, None, None, 0.123457]
    assert _frame(d.to_pandas()).equals(d)
    with pytest.raises(TypeError, match="polars DataFrame"):
        _frame([{"a": 1}])


def test_a_full_bar_of_the_risk_of_bias_summary_ends_at_one():
    spec = offline.spec_of(charts.summary_bars(pl.DataFrame({"domain": ["D1"] * 3, "judgement": ["Low", "Unclear", "High"],
                                                             "share": [1 / 12, 3 / 4, 1 / 6]}), "t", "d", ["D1"]))
    [rows] = [v for v in spec["datasets"].values() if len(v) == 3]
    assert [r["end"] for r in rows] == [0.083333, 0.833333, 1.0]


def test_charts_are_written_with_the_theme_without_enabling_it():
    spec = offline.spec_of(alt.Chart(pl.DataFrame({"x": [1, 2]}).to_pandas()).mark_point().encode(x="x:Q"))
    assert spec["config"]["range"]["category"] == list(charts.PALETTE)
    assert spec["config"]["font"] == FONT
    assert alt.theme.active != charts.THEME_NAME


def test_setup_is_explicit_idempotent_and_switchable():
    before = alt.renderers.active, alt.theme.active
    try:
        charts.setup()
        charts.setup()
        assert alt.renderers.active == charts.RENDERER_NAME
        assert alt.renderers.names().count(charts.RENDERER_NAME) == 1
        charts.setup("default")
        assert alt.renderers.active == "default"
    finally:
        alt.renderers.enable(before[0])
        alt.theme.enable(before[1])


def test_offline_html_has_no_urls_and_calls_vegaembed(studies):
    bundle = render(charts.forest(studies, pooled=POOLED, percent=True, title="CR"))
    assert set(bundle) == {"text/html", "text/plain"}
    html = bundle["text/html"]
    m = HTML_RE.fullmatch(html)
    assert m
    script, svg = m.group(3).lower(), m.group(4).lower()
    for bad in ("http", "cdn", "unpkg", "jsdelivr", "//", "<script src", "import("):
        assert bad not in script, bad
    # the static SVG names its XML namespaces, and nothing else outside the page
    assert set(re.findall(r"https?://[^\s\"']+", svg)) <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert not re.search(r"(href|src)=", svg) and "<script" not in svg
    assert m.group(2) == m.group(5) and m.group(2).startswith("CR. Forest plot of 4 studies")
    assert "window.vegaEmbed(el,spec,opt)" in html and "document.currentScript" in html
    assert html.count("</script>") == 1
    # the bundle itself is not embedded
    assert len(html) < 100_000
    assert not re.search(r"window\.vegaEmbed=(?!=)", html)
    assert "vega-tooltip-style" not in html


def test_offline_html_embeds_spec_and_options(studies):
    chart = charts.forest(studies, pooled=POOLED, percent=True)
    html = render(chart)["text/html"]
    spec = embedded_spec(html)
    expected = offline.spec_of(chart)
    expected.pop("$schema")
    assert spec == expected
    assert "$schema" not in spec
    opt = json.loads(re.search(r",opt=(\{.*?\});", html).group(1))
    assert opt == {"actions": False, "renderer": "svg", "mode": "vega-lite"}


def test_offline_ids_depend_on_the_spec_only():
    """The id is a hash of the spec: the same chart gets the same id whatever ran before it."""
    spec = {"mark": "point", "data": {"values": [{"a": 1}]}, "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    ids = [HTML_RE.fullmatch(charts.mimebundle(spec)["text/html"]).group(1) for _ in range(2)]
    other = HTML_RE.fullmatch(charts.mimebundle({**spec, "mark": "line"})["text/html"]).group(1)
    assert ids[0] == ids[1] != other


def test_offline_html_escapes_script_breakers():
    spec = {"mark": "text", "data": {"values": [{"t": "</script><script>alert(1)</script> & <!--"}]},
            "encoding": {"text": {"field": "t"}}}
    html = charts.mimebundle(spec)["text/html"]
    assert html.count("</script>") == 1 and "<!--" not in html
    assert embedded_spec(html)["data"]["values"][0]["t"].startswith("</script>")
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in HTML_RE.fullmatch(html).group(4)  # the static SVG shows it as text


def test_text_plain_is_short_and_deterministic(studies):
    a = render(charts.forest(studies, pooled=POOLED, percent=True))["text/plain"]
    b = render(charts.forest(studies, pooled=POOLED, percent=True))["text/plain"]
    assert a == b == "<Chart: Forest plot of 4 studies; pooled: 74% [63%, 83%]>"
    assert charts.mimebundle({"title": {"text": "T"}, "mark": "point"})["text/plain"] == "<Chart: T>"


def test_embed_options_pass_through():
    html = charts.mimebundle({"mark": "point"}, embed_options={"renderer": "canvas"})["text/html"]
    assert '"renderer":"canvas"' in html


# ----------------------------------------------------------------------------- bundle


def test_bundle_file_is_vendored_and_defines_globals():
    path = charts.BUNDLE_FILE
    assert path == ROOT / "_static" / "vega" / "vega-bundle.js"
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) > 500_000
    for name in ("window.vegaEmbed=", "window.vega=", "window.vegaLite="):
        assert name in text
    # wrapped for classic <script src>: no ES-module syntax at top level
    assert text.split("*/", 1)[1].lstrip().startswith("(function () {")
    assert text.rstrip().endswith("})();")
    assert not re.search(r"^\s*(import|export)\s", text, re.M)
    for lic in ("LICENSE-vega.txt", "LICENSE-vega-lite.txt", "LICENSE-vega-embed.txt",
                "LICENSE-vl-convert.txt", "THIRD-PARTY-NOTICES.txt"):
        assert (path.parent / "LICENSES" / lic).stat().st_size > 500
    assert (path.parent / "README.md").is_file()


def test_bundle_matches_altair_vegalite_version():
    versions = json.loads((charts.BUNDLE_FILE.parent / "versions.json").read_text())
    assert versions["vega-lite"] == alt.SCHEMA_VERSION.lstrip("v")
    assert f"vega-lite {versions['vega-lite']}" in charts.BUNDLE_FILE.read_text()[:600]


def test_bundle_matches_the_pins_and_its_digest():
    """versions.json names the installed altair and vl-convert versions and the bundle's digest."""
    vendor = module_from_file(ROOT / "tools" / "vendor_vega.py", "vendor_vega")
    assert vendor.check_pins() == []


def test_the_pin_check_finds_an_edited_bundle_and_a_changed_pin(tmp_path, monkeypatch):
    vendor = module_from_file(ROOT / "tools" / "vendor_vega.py", "vendor_vega")
    shutil.copytree(vendor.OUT_DIR, tmp_path / "vega")
    monkeypatch.setattr(vendor, "OUT_DIR", tmp_path / "vega")
    pins = vendor.versions()
    assert vendor.check_pins(pins) == []
    assert vendor.check_pins({**pins, "vl-convert-python": "0.0.1"}) == [
        f"versions.json has vl-convert-python {pins['vl-convert-python']!r}, installed '0.0.1'"]
    bundle = tmp_path / "vega" / vendor.BUNDLE_NAME
    bundle.write_text(bundle.read_text() + "\n")
    assert [p for p in vendor.check_pins(pins) if "digest" in p]


@pytest.mark.slow
def test_bundle_is_what_the_tool_writes_for_the_pins():
    """The whole bundle built again (5 s; ``make test-slow``): also catches a change of the tool itself."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "vendor_vega.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_bundle_parses_as_classic_script():
    proc = subprocess.run(["node", "--check", str(charts.BUNDLE_FILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------------------- forest


def test_forest_rows_marks_and_text(studies):
    spec = charts.forest(studies, pooled=POOLED, percent=True, reference_line=0.5,
                         xtitle="Complete remission").to_dict()
    assert "hconcat" in spec and len(spec["hconcat"]) == 3
    rows = next(v for k, v in spec["datasets"].items() if any("kind" in r for r in v))
    kinds = [r["kind"] for r in rows]
    assert kinds == ["study"] * 4 + ["spacer", "pooled", "pi"]
    assert [r["row"] for r in rows] == list(range(7))
    assert rows[0]["text"] == "80% [56%, 94%]"
    assert rows[5]["text"] == "74% [63%, 83%]"
    assert rows[6]["text"] == "[48%, 90%]"
    types = mark_types(spec)
    for t in ("square", "rule", "area", "text"):
        assert t in types
    # diamond: one polygon of 3 points spanning the CI, widest at the estimate
    dia = next(v for v in spec["datasets"].values() if v and "y2" in v[0])
    assert [p["x"] for p in dia] == [0.63, 0.74, 0.83]
    assert dia[0]["y"] == dia[0]["y2"] and dia[1]["y2"] - dia[1]["y"] > 0.5
    # reference line and percent axis
    assert any(d.get("strokeDash") for d in walk(spec))
    axes = [d["axis"] for d in walk(spec) if isinstance(d.get("axis"), dict) and "format" in d["axis"]]
    assert axes and axes[0]["format"] == ".0%"
    assert any(d.get("domain") == [0.0, 1.0] for d in walk(spec))


def test_forest_weight_sizes_and_column(studies):
    spec = charts.forest(studies, weight="n", pooled=POOLED, percent=True).to_dict()
    assert len(spec["hconcat"]) == 4
    sq = marks_of(spec, "square")[0]
    assert sq["encoding"]["size"]["field"] == "weight"
    rows = next(v for v in spec["datasets"].values() if v and "kind" in v[0])
    w = [r["wtext"] for r in rows if r["kind"] == "study"]
    assert w == ["27.0%", "20.3%", "28.4%", "24.3%"]


def test_forest_groups_and_subtotals(studies):
    pooled = pl.DataFrame({"group": ["Matched", "Haplo", None], "estimate": [0.85, 0.6, 0.74],
                           "ci_lower": [0.7, 0.4, 0.63], "ci_upper": [0.95, 0.8, 0.83]})
    spec = charts.forest(studies, group="donor", pooled=pooled, percent=True).to_dict()
    rows = next(v for v in spec["datasets"].values() if v and "kind" in v[0])
    seq = [(r["kind"], r["label"]) for r in rows]
    assert seq == [
        ("header", "Matched"), ("study", "Smith 2019"), ("study", "Liu 2021"), ("pooled", "Subtotal: Matched"),
        ("header", "Haplo"), ("study", "Zhang 2020"), ("study", "Hu 2022"), ("pooled", "Subtotal: Haplo"),
        ("spacer", ""), ("pooled", "Pooled estimate"),
    ]
    dia = next(v for v in spec["datasets"].values() if v and "y2" in v[0])
    assert len(dia) == 9


def test_forest_log_scale_ratio():
    hr = pl.DataFrame({"label": ["A", "B"], "estimate": [0.5, 1.2], "ci_lower": [0.2, 0.7], "ci_upper": [1.1, 2.1]})
    spec = charts.forest(hr, xscale="log", reference_line=1.0, pooled={"estimate": 0.8}).to_dict()
    scales = [d["scale"] for d in walk(spec) if isinstance(d.get("scale"), dict) and d["scale"].get("type")]
    assert scales and all(s["type"] == "log" and "zero" not in s for s in scales)
    rows = next(v for v in spec["datasets"].values() if v and "kind" in v[0])
    assert rows[0]["text"] == "0.50 [0.20, 1.10]"
    assert [r["kind"] for r in rows][-1] == "pooled" and "pi" not in [r["kind"] for r in rows]


def test_forest_rejects_bad_input(studies):
    with pytest.raises(ValueError, match="missing column"):
        charts.forest(studies.drop("ci_upper"))
    with pytest.raises(ValueError, match="xscale"):
        charts.forest(studies, xscale="sqrt")
    with pytest.raises(TypeError):
        charts.forest({"label": ["x"]})


# ----------------------------------------------------------------------------- KM


def test_km_layers_and_at_risk_table(km_data):
    curves, censors, at_risk = km_data
    chart = charts.km(curves, at_risk=at_risk, censors=censors, title="Overall survival",
                      subtitle="Reconstructed from published curve")
    spec = chart.to_dict()
    assert len(spec["vconcat"]) == 2
    plot, table = spec["vconcat"]
    assert spec["title"] == {"text": "Overall survival", "subtitle": "Reconstructed from published curve"}
    lines = marks_of(plot, "line")
    areas = marks_of(plot, "area")
    ticks = marks_of(plot, "tick")
    assert len(lines) == 1 and lines[0]["mark"]["interpolate"] == "step-after"
    assert len(areas) == 1 and areas[0]["mark"]["interpolate"] == "step-after"
    assert areas[0]["encoding"]["y2"]["field"] == "ci_upper"
    assert len(ticks) == 1
    assert table["mark"]["type"] == "text" and table["encoding"]["text"]["field"] == "n_at_risk"
    # at-risk table shares the time axis: identical explicit x domain
    plot_x = lines[0]["encoding"]["x"]["scale"]["domain"]
    assert plot_x == table["encoding"]["x"]["scale"]["domain"] == [0, 14.0]
    assert table["encoding"]["y"]["sort"] == ["A", "B"]
    ds = spec["datasets"]
    assert sum(len(v) for v in ds.values()) == len(curves) + len(censors) + len(at_risk)
    assert "reconstructed from published curve" in render(chart)["text/plain"].lower()


def test_km_single_curve_without_ci():
    curves = pl.DataFrame({"time": [0.0, 5.0, 9.0], "survival": [1.0, 0.8, 0.6]})
    spec = charts.km(curves, subtitle="reconstructed from reported summaries", time_unit="days").to_dict()
    assert "vconcat" not in spec
    assert mark_types(spec) == ["line"]
    assert spec["layer"][0]["encoding"]["color"]["legend"] is None
    assert any(d.get("title") == "Time (days)" for d in walk(spec))


def test_km_requires_columns(km_data):
    curves, censors, at_risk = km_data
    with pytest.raises(ValueError, match="at_risk"):
        charts.km(curves, at_risk=at_risk.drop("n_at_risk"))


# ----------------------------------------------------------------------------- outcome bars


def test_outcome_bars_by_arm():
    df = pl.DataFrame({
        "outcome": ["CR", "CR", "CRS ≥3", "CRS ≥3", "GVHD"],
        "arm": ["A", "B", "A", "B", "A"],
        "estimate": [0.8, 0.7, 0.1, 0.2, 0.05],
        "ci_lower": [0.6, 0.5, 0.02, 0.07, 0.0],
        "ci_upper": [0.92, 0.85, 0.3, 0.4, 0.2],
        "denominator": ["16/20", "14/20", "2/20", "4/20", "1/20"],
    })
    spec = charts.outcome_bars(df, title="Outcomes").to_dict()
    assert sorted(mark_types(spec)) == ["point", "rule", "text"]
    enc = spec["layer"][0]["encoding"] if "encoding" in spec["layer"][0] else spec["encoding"]
    assert enc["yOffset"]["field"] == "_arm"
    assert enc["y"]["sort"] == ["CR", "CRS ≥3", "GVHD"]
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 5
    assert rows[0]["_text"] == "80% [60%, 92%]  (16/20)"


def test_outcome_bars_without_arm():
    df = pl.DataFrame({"outcome": ["CR"], "estimate": [0.5], "ci_lower": [0.3], "ci_upper": [0.7]})
    spec = charts.outcome_bars(df, arm=None, denominator=None).to_dict()
    assert all("yOffset" not in d for d in walk(spec))
    rows = next(iter(spec["datasets"].values()))
    assert rows[0]["_text"] == "50% [30%, 70%]"


def test_forest_empty_weight_column_falls_back_to_unweighted(studies):
    df = studies.with_columns(w=pl.lit(None, dtype=pl.Float64))
    spec = charts.forest(df, weight="w", pooled=POOLED, percent=True).to_dict()
    assert len(spec["hconcat"]) == 3
    assert marks_of(spec, "square")[0]["encoding"]["size"] == {"value": 70}


def test_lab_mode_carries_the_bundle(monkeypatch):
    """With REVIEW_EMBED_VEGA=1 (make lab) each chart output defines vegaEmbed itself."""
    import altair as alt
    import polars as pl

    spec = alt.Chart(pl.DataFrame({"x": [1, 2]}).to_pandas()).mark_point().encode(x="x").to_dict()
    monkeypatch.delenv(charts.EMBED_ENV, raising=False)
    plain = charts.mimebundle(spec)["text/html"]
    monkeypatch.setenv(charts.EMBED_ENV, "1")
    lab = charts.mimebundle(spec)["text/html"]
    assert "window.vegaLite=" not in plain and len(plain) < 10_000
    assert "window.vegaLite=" in lab and len(lab) > 500_000
    assert lab.count("</script>") == plain.count("</script>") + 1


# ----------------------------------------------------------------------------- static SVG fonts

_RENDER_STATIC = """
import json, sys
import vl_convert as vlc
from analysis.present.charts import render
spec_file, shadow = sys.argv[1], sys.argv[2]
if shadow:  # a machine whose fonts carry the names in the theme's font list
    vlc.register_font_directory(shadow)
sys.stdout.write(render.static_svg(json.load(open(spec_file))))
"""


def _bars_spec() -> dict:
    bars = pl.DataFrame({"outcome": ["Complete remission", "GVHD, any grade"], "estimate": [0.79, 0.21],
                         "ci_lower": [0.52, 0.08], "ci_upper": [0.92, 0.48], "denominator": ["11/14", "3/14"]})
    return offline.spec_of(charts.outcome_bars(bars, title="A study", subtitle="Crude proportions"))


def test_static_svg_does_not_depend_on_the_fonts_a_machine_has(tmp_path):
    """The static SVG is measured with the built faces: a 'Helvetica' and a 'Liberation Sans'
    installed on the machine (here the bold face under those names, registered before rendering)
    leave it byte for byte as it was; measured with the theme's font list, as before, the first
    of them changes the text widths and with them the chart's size."""
    from fontTools.ttLib import TTFont

    from analysis.present.charts import fonts

    (tmp_path / "spec.json").write_text(json.dumps(_bars_spec()))
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    for family in ("Helvetica", "Liberation Sans"):
        fonts.renamed(TTFont(fonts.font_directory() / "Bold.ttf"), shadow / f"{family.replace(' ', '')}.ttf",
                      "Regular", "Regular", family=family)

    def static(shadow_dir: str) -> str:
        res = subprocess.run([sys.executable, "-c", _RENDER_STATIC, str(tmp_path / "spec.json"), shadow_dir],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        return res.stdout

    plain, shadowed = static(""), static(str(shadow))
    assert plain.startswith("<svg") and fonts.FAMILY not in plain
    assert set(re.findall(r'font-family="([^"]*)"', plain)) == {FONT}
    assert shadowed == plain


def _label_width(font: str, weight: str, style: str) -> float:
    import vl_convert as vlc

    spec = {"data": {"values": [{"y": "Complete remission in 12 of 13 patients (WWW, 95% CI)", "x": 1}]},
            "mark": "bar", "encoding": {"x": {"field": "x", "type": "quantitative"},
                                        "y": {"field": "y", "type": "nominal",
                                              "axis": {"labelFont": font, "labelFontWeight": weight,
                                                       "labelFontStyle": style, "labelLimit": 0}}}}
    return float(re.search(r'width="([\d.]+)"', vlc.vegalite_to_svg(spec)).group(1))


@pytest.mark.parametrize("weight,style", [("normal", "normal"), ("bold", "normal"), ("normal", "italic"),
                                          ("bold", "italic")])
def test_the_built_faces_measure_as_vl_converts_liberation_sans(weight, style):
    """Arimo cut at 400 and 700 measures text as the Liberation Sans vl-convert carries (Arial's
    metrics), upright and italic; the bold face is wider than the regular one."""
    from analysis.present.charts import fonts

    family = fonts.register()
    assert _label_width(family, weight, style) == _label_width("Liberation Sans", weight, style)
    if weight == "bold":
        assert _label_width(family, weight, style) > _label_width(family, "normal", style)


def test_built_faces_carry_only_the_review_family():
    from fontTools.ttLib import TTFont

    from analysis.present.charts import fonts

    folder = fonts.font_directory()
    assert folder == fonts.font_directory()  # built once, then reused
    faces = {name: TTFont(folder / name) for name in fonts.FACES}
    assert {f["name"].getDebugName(1) for f in faces.values()} == {fonts.FAMILY}
    assert {name: f["OS/2"].usWeightClass for name, f in faces.items()} == {
        "Regular.ttf": 400, "Bold.ttf": 700, "Italic.ttf": 400, "BoldItalic.ttf": 700}
    assert all("fvar" not in f for f in faces.values())  # static instances, not variable fonts


def test_swap_font_replaces_exact_font_lists_only():
    spec = {"config": {"font": FONT, "title": {"font": FONT, "text": FONT + "x"}}, "layer": [{"mark": {"font": FONT}}, 3]}
    out = offline._swap_font(spec, FONT, "F")
    assert out == {"config": {"font": "F", "title": {"font": "F", "text": FONT + "x"}}, "layer": [{"mark": {"font": "F"}}, 3]}
    assert spec["config"]["font"] == FONT  # a copy


def test_swap_font_leaves_data_that_reads_like_a_font_list():
    spec = {"config": {"axis": {"labelFont": FONT}}, "datasets": {"d": [{"label": FONT}]}, "title": {"text": FONT}}
    out = offline._swap_font(spec, FONT, "F")
    assert out == {"config": {"axis": {"labelFont": "F"}}, "datasets": {"d": [{"label": FONT}]}, "title": {"text": FONT}}


def test_faces_are_kept_in_the_users_cache_or_a_folder_named_for_the_user(tmp_path, monkeypatch):
    from analysis.present.charts import fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert fonts._cache_root() == tmp_path / "cache"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))  # cannot be created
    monkeypatch.setattr(fonts.tempfile, "gettempdir", lambda: str(tmp_path))
    root = fonts._cache_root()
    assert root.parent == tmp_path and root.name.startswith("review-chart-fonts-uid") and root.is_dir()

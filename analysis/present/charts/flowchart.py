"""The PRISMA 2020 flow diagram (updated-review layout) as an offline Vega-Lite chart.

Every number comes from :func:`analysis.review.screening.flow`; the boxes and their labels
follow the PRISMA 2020 template for updated reviews (Page et al. 2021).  The chart's text
alternative lists every count in words.
"""
from __future__ import annotations

from ._altair import alt
from ._common import _values

from .theme import FONT, INK, MUTED

W, H = 800, 640
MAIN_W, SIDE_W, GAP = 200, 150, 12


def _box_rows(flow: dict) -> tuple[list[dict], list[dict]]:
    boxes, arrows = [], []

    def box(x, y, w, h, text, kind="main"):
        boxes.append({"x": x, "x2": x + w, "y": y, "y2": y + h, "text": text, "kind": kind,
                      "tx": x + 6, "ty": y + 6})

    def arrow(x, y, x2, y2):
        arrows.append({"x": x, "y": y, "x2": x2, "y2": y2})

    p = flow
    box(50, 0, 330, 46, f"Studies included in previous version of review (n = {p['previous_studies']})\n"
                        f"Reports of studies included in previous version (n = {p['previous_reports']})", "previous")
    for col, x0, name in ((p["databases"], 50, "databases and registers"), (p["other"], 430, "other methods")):
        box(x0, 58, MAIN_W + GAP + SIDE_W, 24, f"Identification of new studies via {name}", "header")
        if not col["searched"]:
            box(x0, 96, MAIN_W + GAP + SIDE_W, 120, "No database or register search\nhas been run for this version.\n"
                "The query to run is in the Methods\nchapter; its export is imported\nwith `import-search`.", "none")
            continue
        sources = "\n".join(f"  {k} (n = {v})" for k, v in col["by_source"].items())
        box(x0, 96, MAIN_W, 70, f"Records identified from:\n{sources}\n  total (n = {col['identified']})")
        box(x0 + MAIN_W + GAP, 96, SIDE_W, 70, f"Records removed before\nscreening:\n  duplicates (n = {col['duplicates']})", "side")
        arrow(x0 + MAIN_W, 131, x0 + MAIN_W + GAP, 131)
        pend = f"\n  not yet screened (n = {col['pending']})" if col["pending"] else ""
        box(x0, 196, MAIN_W, 44, f"Records screened\n(n = {col['screened']}){pend}")
        box(x0 + MAIN_W + GAP, 196, SIDE_W, 44, f"Records excluded\n(n = {col['excluded']})", "side")
        arrow(x0 + MAIN_W, 218, x0 + MAIN_W + GAP, 218)
        box(x0, 270, MAIN_W, 44, f"Reports sought for retrieval\n(n = {col['sought']})")
        box(x0 + MAIN_W + GAP, 270, SIDE_W, 44, f"Reports not retrieved\n(n = {col['not_retrieved']})", "side")
        arrow(x0 + MAIN_W, 292, x0 + MAIN_W + GAP, 292)
        on = col["assessed_on"]
        box(x0, 344, MAIN_W, 70, f"Reports assessed for eligibility\n(n = {col['assessed']}); assessed on:\n"
                                 f"  full text {on['full_text']}, abstract {on['abstract']},\n  registry entry {on['registry_entry']}")
        reasons = "\n".join(f"  {k} (n = {v})" for k, v in col["excluded_reasons"].items())
        box(x0 + MAIN_W + GAP, 344, SIDE_W, 110,
            f"Reports excluded (n = {col['full_text_excluded']})" + (f":\n{reasons}" if reasons else "") +
            f"\nAwaiting classification\n  (n = {col['awaiting']})\nOngoing studies (n = {col['ongoing']})", "side")
        arrow(x0 + MAIN_W, 379, x0 + MAIN_W + GAP, 379)
        for y1, y2 in ((166, 196), (240, 270), (314, 344)):
            arrow(x0 + MAIN_W / 2, y1, x0 + MAIN_W / 2, y2)
        arrow(x0 + MAIN_W / 2, 414, x0 + MAIN_W / 2, 500)
    box(50, 500, 742, 46, f"New studies included in review (n = {p['new_studies']})\n"
                          f"Reports of new included studies (n = {p['new_reports']})", "included")
    box(50, 580, 742, 46, f"Total studies included in review (n = {p['total_studies']})\n"
                          f"Reports of total included studies (n = {p['total_reports']})", "included")
    arrow(421, 546, 421, 580)
    arrow(215, 46, 215, 58)
    return boxes, arrows


def describe(flow: dict) -> str:
    """Every count of the diagram in words (the chart's text alternative)."""
    parts = [f"PRISMA 2020 flow diagram for version {flow['version']}, updated-review layout.",
             f"Studies included in the previous version: {flow['previous_studies']} ({flow['previous_reports']} reports)."]
    for name, col in (("Databases and registers", flow["databases"]), ("Other methods", flow["other"])):
        if not col["searched"]:
            parts.append(f"{name}: no search has been run for this version.")
            continue
        parts.append(
            f"{name}: {col['identified']} records identified ("
            + ", ".join(f"{k} {v}" for k, v in col["by_source"].items()) + f"); {col['duplicates']} duplicates removed; "
            f"{col['screened']} records screened, {col['excluded']} excluded; {col['sought']} reports sought, "
            f"{col['not_retrieved']} not retrieved; {col['assessed']} assessed for eligibility "
            f"(full text {col['assessed_on']['full_text']}, abstract {col['assessed_on']['abstract']}, registry entry "
            f"{col['assessed_on']['registry_entry']}); {col['full_text_excluded']} excluded"
            + ("" if not col["excluded_reasons"] else " (" + ", ".join(f"{k} {v}" for k, v in col["excluded_reasons"].items()) + ")")
            + f"; {col['awaiting']} awaiting classification; {col['ongoing']} ongoing.")
    parts.append(f"New studies included: {flow['new_studies']} ({flow['new_reports']} reports); total studies included: "
                 f"{flow['total_studies']} ({flow['total_reports']} reports).")
    return " ".join(parts)


FILL = {"main": "#ffffff", "side": "#f2f2f2", "previous": "#e0e0e0", "header": "#dbe9f6", "none": "#fff7e0",
        "included": "#ffffff"}


def flow_diagram(flow: dict) -> alt.LayerChart:
    """The flow diagram of one version (see :func:`analysis.review.screening.flow`)."""
    boxes, arrows = _box_rows(flow)
    b = _values([{**box, "fill": FILL.get(box["kind"])} for box in boxes])
    x = alt.X("x:Q", scale=alt.Scale(domain=[0, W]), axis=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[0, H], reverse=True), axis=None)
    rects = alt.Chart(b).mark_rect(stroke=INK, strokeWidth=1).encode(x=x, x2="x2:Q", y=y, y2="y2:Q",
                                                                      fill=alt.Fill("fill:N", scale=None))
    texts = alt.Chart(b).mark_text(align="left", baseline="top", fontSize=10.5, lineBreak="\n", font=FONT,
                                   color=INK).encode(x=alt.X("tx:Q", scale=alt.Scale(domain=[0, W]), axis=None),
                                                     y=alt.Y("ty:Q", scale=alt.Scale(domain=[0, H], reverse=True), axis=None),
                                                     text="text:N")
    lines = alt.Chart(_values(arrows)).mark_rule(color=MUTED, strokeWidth=1.2).encode(x=x, y=y, x2="x2:Q", y2="y2:Q")
    heads = alt.Chart(_values([{**a, "angle": 90 if a["x2"] > a["x"] else 180} for a in arrows])).mark_point(
        shape="triangle", filled=True, size=40, color=MUTED).encode(
        x=alt.X("x2:Q", scale=alt.Scale(domain=[0, W]), axis=None),
        y=alt.Y("y2:Q", scale=alt.Scale(domain=[0, H], reverse=True), axis=None), angle=alt.Angle("angle:Q", scale=None))
    stages = _values([{"x": 20, "y": 140, "t": "Identification"}, {"x": 20, "y": 330, "t": "Screening"},
                      {"x": 20, "y": 560, "t": "Included"}])
    stage = alt.Chart(stages).mark_text(angle=270, fontSize=12, fontWeight="bold", color=INK, font=FONT).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=[0, W]), axis=None),
        y=alt.Y("y:Q", scale=alt.Scale(domain=[0, H], reverse=True), axis=None), text="t:N")
    return alt.layer(rects, lines, heads, texts, stage).properties(
        width=W, height=H, title=f"PRISMA 2020 flow diagram, version {flow['version']}", description=describe(flow))

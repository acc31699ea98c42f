"""The risk-of-bias chapter: JBI (every study) and ROBINS-I (comparisons), charts and tables.

Judgements, justifications and quotes come from ``data/appraisal/`` (:mod:`analysis.review.appraisal`);
charts follow robvis with its colour-blind palette and glyphs; text from data is escaped.
"""
from __future__ import annotations

import polars as pl

from ..review import appraisal as ap
from ..review import quotes
from ..review.living import State
from . import charts
from .escape import md
from .tables import display_markdown, show

JBI_STYLE = {"Y": "Low", "N": "High", "U": "Unclear", "NA": "Not applicable"}


def _names(st: State) -> dict[str, str]:
    return {s.id: s.short_name for s in st.review.studies}


def rules() -> None:
    """The overall-judgement rules of both tools, as applied."""
    display_markdown(f"**Overall JBI judgement (the review's rule; JBI prescribes none).** {md(ap.JBI_RULE)}\n\n"
                     f"**ROBINS-I overall judgement.** {md(ap.ROBINS_RULE)}")


def jbi_items() -> pl.DataFrame:
    """The ten JBI items with their wording and which are critical."""
    return pl.DataFrame([{"item": q.upper(), "question": text, "critical for this review": "yes" if q in ap.JBI_CRITICAL else ""}
                         for q, text in ap.JBI_ITEMS.items()])


def jbi_traffic_light(st: State) -> None:
    """The JBI traffic-light plot (every study, every item and the overall judgement)."""
    names = _names(st)
    rows = [{"study": names.get(r["study"], r["study"]), "domain": r["item"].upper(), "judgement": JBI_STYLE[r["answer"]]}
            for r in st.appraisals.jbi.iter_rows(named=True)]
    rows += [{"study": names.get(r["study"], r["study"]), "domain": "Overall",
              "judgement": r["final"] if r["final"] != "Some concerns" else "Some concerns"}
             for r in st.appraisals.overall.iter_rows(named=True)]
    counts = st.appraisals.overall["final"].value_counts().sort("final")
    desc = (f"JBI checklist answers of {st.appraisals.overall.height} studies (Yes shown as low risk '+', Unclear '-', "
            f"No as high risk 'x', not applicable blank) and the overall judgement: "
            + ", ".join(f"{r['final']} {r['count']}" for r in counts.iter_rows(named=True)) + ".")
    domains = [q.upper() for q in ap.JBI_ITEMS] + ["Overall"]
    charts.display(charts.traffic_light(pl.DataFrame(rows), "Risk of bias: JBI checklist for case series", desc, domains))


def jbi_summary(st: State) -> None:
    """The JBI summary bars (share of studies per judgement, per item and overall)."""
    j = st.appraisals.jbi
    n = st.appraisals.overall.height
    if not n:
        return
    rows = []
    for q, text in ap.JBI_ITEMS.items():
        sub = j.filter(pl.col("item") == q)
        for ans, c in sub["answer"].value_counts().iter_rows():
            rows.append({"domain": f"{q.upper()} {text}", "judgement": JBI_STYLE[ans], "share": c / n})
    for lvl, c in st.appraisals.overall["final"].value_counts().iter_rows():
        rows.append({"domain": "Overall", "judgement": lvl, "share": c / n})
    domains = [f"{q.upper()} {t}" for q, t in ap.JBI_ITEMS.items()] + ["Overall"]
    desc = f"Share of the {n} studies at each judgement, per JBI item and overall (unweighted)."
    charts.display(charts.summary_bars(pl.DataFrame(rows), "Risk of bias: summary across studies", desc, domains))


def overall_table(st: State) -> pl.DataFrame:
    """The overall JBI judgement per study: derived, override, final."""
    names = _names(st)
    o = st.appraisals.overall
    return o.select(pl.col("study").replace_strict(names, default=None).alias("study"),
                    pl.col("assessed_on").alias("appraised from"), pl.col("derived").alias("derived by the rule"),
                    pl.col("override").fill_null("none").alias("reviewer override"),
                    pl.col("override_justification").fill_null("").alias("justification of the override"),
                    pl.col("final").alias("final judgement"))


def jbi_table(st: State, study: str) -> pl.DataFrame:
    """One study's JBI items with justification, quote and the quote's check."""
    j = st.appraisals.jbi.filter(pl.col("study") == study)
    status = _quote_status(st, study, j["quote"].to_list())
    return pl.DataFrame({"item": [q.upper() for q in j["item"]], "answer": [ap.ANSWERS[a] for a in j["answer"]],
                         "justification": j["justification"], "quote check": status,
                         "source": [q or "" for q in j["quote"]]})


def _quote_status(st: State, study: str, qs: list) -> list[str]:
    s = st.review.study(study)
    path = quotes.source_file(s, quotes.SEEDS, st.directory / "sources")
    text = quotes.normalise(path.read_text(encoding="utf-8", errors="replace")) if path else None
    out = []
    for q in qs:
        if not q:
            out.append("")
        elif text is None:
            out.append("no local source text")
        else:
            out.append("verified" if quotes.missing_fragment(q, text) is None else "not found")
    return out


def jbi_details(st: State) -> None:
    """One table per study: every item's answer, justification, supporting quote and its check."""
    for a in st.appraisals.items:
        display_markdown(f"**{md(_names(st).get(a.study, a.study))}** (appraised from the {md(a.assessed_on.replace('_', ' '))})")
        show(jbi_table(st, a.study), quote_columns=("source",))


def robins_traffic_light(st: State) -> None:
    """The ROBINS-I traffic-light plot of the comparative results."""
    r = st.appraisals.robins
    if not r.height:
        display_markdown("*No comparative result is appraised with ROBINS-I.*")
        return
    names = _names(st)
    df = pl.DataFrame([{"study": f"{names.get(x['study'], x['study'])}", "domain": x["domain"].upper() if x["domain"] != "overall" else "Overall",
                        "judgement": x["judgement"]} for x in r.iter_rows(named=True)])
    overall = r.filter(pl.col("domain") == "overall")
    desc = ("ROBINS-I judgements per domain (D1 confounding to D7 selection of the reported result) and overall: "
            + "; ".join(f"{names.get(x['study'], x['study'])}: {x['judgement']}" for x in overall.iter_rows(named=True)) + ".")
    charts.display(charts.traffic_light(df, "Risk of bias: ROBINS-I, comparative results", desc,
                                        [d.upper() for d in ap.ROBINS_DOMAINS] + ["Overall"]))
    display_markdown("; ".join(f"{d.upper()}: {md(t)}" for d, t in ap.ROBINS_DOMAINS.items()) + ".")


def robins_details(st: State) -> None:
    """One table per ROBINS-I result: domain, judgement, justification, quote."""
    names = _names(st)
    for a in st.appraisals.items:
        for r in a.robins_i:
            display_markdown(f"**{md(names.get(a.study, a.study))}: {md(r.result)}.** Confounding domains considered: "
                             f"{md(', '.join(r.confounders) or 'none listed')}.")
            sub = st.appraisals.robins.filter((pl.col("study") == a.study) & (pl.col("result") == r.result))
            show(sub.select(pl.col("label").alias("domain"), "judgement", "justification",
                            pl.col("quote").fill_null("").alias("source")), quote_columns=("source",))

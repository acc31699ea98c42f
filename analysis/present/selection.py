"""The search-and-selection chapter: searches run, the PRISMA 2020 flow diagram, excluded and pending studies.

Every count is computed from ``data/records/`` (:mod:`analysis.review.screening`); every text
from the data is escaped.
"""
from __future__ import annotations

import polars as pl

from ..review import screening as sc
from ..review.living import State
from . import charts
from .escape import md
from .tables import display_markdown, show


def searches(st: State) -> pl.DataFrame:
    """Every search that was run: version, date, method, source, hits, export."""
    return pl.DataFrame([{"version": s.version, "date": s.date.isoformat(), "method": sc.METHODS[s.method][1],
                          "PRISMA column": s.column, "source": s.source, "queries": len(s.queries), "hits": s.hits,
                          "export": s.export, "note": s.note or ""} for s in st.screening.records.searches],
                        schema={"version": pl.String, "date": pl.String, "method": pl.String, "PRISMA column": pl.String,
                                "source": pl.String, "queries": pl.Int64, "hits": pl.Int64, "export": pl.String,
                                "note": pl.String})


def database_status(st: State) -> str:
    """Whether any database or register was searched, per the records (Markdown)."""
    run = [s for s in st.screening.records.searches if s.method in ("database", "register")]
    if not run:
        return ("**No bibliographic database or register search has been run for this review yet.** The records "
                "come from other methods (see the flow diagram); the queries to run are in the Methods chapter, "
                "and `python -m analysis import-search FILE --source NAME` imports their exports.")
    return "Databases and registers searched: " + "; ".join(f"{md(s.source)} on {s.date.isoformat()}" for s in run) + "."


def flow_section(st: State, version: str | None = None) -> None:
    """The flow diagram of ``version`` (default: the current one) with its text alternative."""
    version = version or st.releases[0].version
    flow = sc.flow(st.screening, version, [r.version for r in reversed(st.releases)])
    display_markdown(database_status(st))
    charts.display(charts.flow_diagram(flow))


def per_version(st: State) -> pl.DataFrame:
    """The flow counts of every version, so that any version's diagram can be redrawn."""
    order = [r.version for r in reversed(st.releases)]
    rows = []
    for v in sc.versions_of(st.screening, order):
        f = sc.flow(st.screening, v, order)
        for name, col in (("databases and registers", f["databases"]), ("other methods", f["other"])):
            if col["searched"]:
                rows.append({"version": v, "column": name, "identified": col["identified"],
                             "duplicates": col["duplicates"], "screened": col["screened"],
                             "excluded (title/abstract)": col["excluded"], "assessed": col["assessed"],
                             "excluded (full text)": col["full_text_excluded"], "awaiting": col["awaiting"],
                             "ongoing": col["ongoing"], "reports included": col["included_reports"],
                             "studies (total)": f["total_studies"]})
    return pl.DataFrame(rows)


def _records(st: State, flt: pl.Expr, reason: str, cols: dict[str, str]) -> pl.DataFrame:
    t = st.screening.table.filter(flt)
    t = t.with_columns(pl.col(reason).replace_strict(sc.REASONS, default=None).alias("reason"),
                       pl.concat_str([pl.col("journal").fill_null(""), pl.col("year").fill_null("")], separator=" ")
                       .str.strip_chars().alias("published"))
    return t.select([pl.col(k).alias(v) for k, v in cols.items()])


def excluded_full_text(st: State) -> pl.DataFrame:
    """Reports excluded after eligibility assessment, with the reason (the fixed list) and a note."""
    return _records(st, (pl.col("full_text") == "exclude") & ~pl.col("full_text_reason").is_in(sc.NOT_EXCLUDED),
                    "full_text_reason", {"title": "report", "published": "published", "reason": "reason", "note": "note"})


def awaiting_and_ongoing(st: State) -> pl.DataFrame:
    """Reports awaiting classification and ongoing studies, with what is missing."""
    return _records(st, pl.col("full_text_reason").is_in(sc.NOT_EXCLUDED), "full_text_reason",
                    {"reason": "status", "title": "report", "published": "published", "assessed_on": "assessed on",
                     "registry_status": "registry status", "note": "what is known or missing"}).sort("status")


def excluded_title_abstract(st: State) -> pl.DataFrame:
    """Records excluded on title and abstract, with the reason."""
    return _records(st, pl.col("title_abstract") == "exclude", "title_abstract_reason",
                    {"title": "record", "published": "published", "reason": "reason", "note": "note"})


def included_reports(st: State) -> pl.DataFrame:
    """Reports of included studies: which study each reports, how it was found, what was read."""
    names = {s.id: s.short_name for s in st.review.studies}
    t = st.screening.table.filter(pl.col("full_text") == "include")
    return t.select(pl.col("study").replace_strict(names, default=None).alias("study"), pl.col("title").alias("report"),
                    pl.col("version").alias("found for version"),
                    pl.col("method").replace_strict({k: v[1] for k, v in sc.METHODS.items()}, default=None).alias("found by"),
                    pl.col("assessed_on").alias("assessed on"), pl.col("link").alias("link to the study"),
                    pl.col("note")).sort("study")


def queries(st: State) -> None:
    """The exact queries of every search run (Markdown code blocks)."""
    for s in st.screening.records.searches:
        body = "\n".join(q.replace("```", "'''") for q in s.queries)
        display_markdown(f"**{md(s.source)}** ({md(s.date.isoformat())}, version {md(s.version)}; "
                         f"{len(s.queries)} quer{'y' if len(s.queries) == 1 else 'ies'}, {s.hits} hits)"
                         + (f". Interface: {md(s.interface)}." if s.interface else ".")
                         + f"\n\n```text\n{body}\n```")


def show_table(df: pl.DataFrame) -> None:
    """Show a table whose columns hold no source quote."""
    show(df, quote_columns=())

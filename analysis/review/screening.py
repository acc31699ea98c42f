"""Screening decisions on the records, the PRISMA 2020 counts they give, and importing a search.

``data/records/screening.yaml`` holds one entry per record (:mod:`analysis.review.records`):
the title/abstract decision and, where reached, the full-text decision, each exclusion with a
reason from the fixed list :data:`REASONS`; an included record names the study it reports.
:func:`flow` counts the PRISMA 2020 boxes from these decisions for every version of the review
(the updated-review layout: studies of previous versions, then the new records of this
version in two columns, databases and registers / other methods) -- no count is typed.

:func:`import_search` adds an export to ``data/records/``: it stores the export as RIS without
abstracts, appends the search to ``searches.yaml`` and a *pending* screening entry for every new
record to ``screening.yaml``; it never rewrites an existing decision, and importing the same
file again adds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field

from .datafile import read_indexed
from .records import METHODS, RECORDS_DIR, SEARCHES_FILE, Records, load_records, read_export, sniff_format, to_ris
from .schema import Problem
from .validation import display

SCREENING_FILE = "screening.yaml"
#: the fixed reasons of an exclusion (title/abstract or full text); the last two are not exclusions
#: in the flow diagram but their own boxes
REASONS = {
    "wrong_population": "wrong population",
    "wrong_intervention": "wrong intervention",
    "wrong_design": "wrong study design",
    "no_separate_data": "no separate data for the review population",
    "duplicate_report": "duplicate report of an included study",
    "ongoing": "ongoing study (registered, no results)",
    "awaiting_classification": "awaiting classification",
}
Reason = Literal["wrong_population", "wrong_intervention", "wrong_design", "no_separate_data", "duplicate_report",
                 "ongoing", "awaiting_classification"]
NOT_EXCLUDED = ("ongoing", "awaiting_classification")


class Decision(BaseModel):
    """The screening of one record."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    record: str = Field(min_length=3)
    title_abstract: Literal["include", "exclude", "pending"]
    title_abstract_reason: Reason | None = None
    full_text: Literal["include", "exclude"] | None = None
    full_text_reason: Reason | None = None
    assessed_on: Literal["full_text", "abstract", "registry_entry"] | None = Field(
        None, description="what the full-text decision was made on")
    study: str | None = Field(None, description="the included study this record reports")
    link: Literal["confirmed", "probable"] = Field("confirmed", description="how sure it is that the record reports the study")
    registry_status: Literal["recruiting", "active", "completed", "terminated", "unknown"] | None = None
    note: str | None = None


def decision_problems(d: Decision) -> list[tuple[str, str]]:
    """Rules between the fields of one decision: (field, message)."""
    out = []
    if d.title_abstract == "exclude" and d.title_abstract_reason is None:
        out.append(("title_abstract_reason", "an exclusion needs a reason from the fixed list"))
    if d.title_abstract != "exclude" and d.title_abstract_reason is not None:
        out.append(("title_abstract_reason", "only an exclusion has a reason"))
    if d.full_text is not None and d.title_abstract != "include":
        out.append(("full_text", f"a full-text decision needs a title/abstract inclusion, not {d.title_abstract!r}"))
    if d.full_text == "exclude" and d.full_text_reason is None:
        out.append(("full_text_reason", "an exclusion needs a reason from the fixed list"))
    if d.full_text != "exclude" and d.full_text_reason is not None:
        out.append(("full_text_reason", "only an exclusion has a reason"))
    if d.full_text is not None and d.assessed_on is None:
        out.append(("assessed_on", "say what the full-text decision was made on (full_text, abstract, registry_entry)"))
    if d.full_text == "include" and d.study is None:
        out.append(("study", "an included record names the study it reports"))
    if d.study is not None and d.full_text != "include":
        out.append(("study", "only an included record names a study"))
    return out


def load_screening(directory: Path, records: Records, study_ids: list[str] | None) -> tuple[list[Decision], list[Problem]]:
    """Read ``screening.yaml`` and check it against the records and the study ids; never raises."""
    path = Path(directory) / RECORDS_DIR / SCREENING_FILE
    if not path.is_file():
        return [], ([Problem(display(path), "-", "(file)", "missing: every record needs a screening entry")]
                    if records.searches else [])
    indexed, problems, raw = read_indexed(path, Decision, "screening decisions")
    if problems and not raw:  # the file could not be read: the per-record lines would only repeat it
        return [], problems
    decisions = [d for _, d in indexed]
    shown = display(path)
    known = dict(zip(records.records["record"], records.records["title"]))
    seen: dict[str, int] = {}
    entered = {e.get("record") for e in raw if isinstance(e, dict)}
    for i, d in indexed:
        problems += [Problem(shown, d.record, f"[{i}].{f}", m) for f, m in decision_problems(d)]
        if d.record in seen:
            problems.append(Problem(shown, d.record, f"[{i}].record", f"second entry for this record (first: [{seen[d.record]}])"))
        seen.setdefault(d.record, i)
        if d.record not in known:
            problems.append(Problem(shown, d.record, f"[{i}].record", "no such record in the exports of searches.yaml"))
        if study_ids is not None and d.study is not None and d.study not in study_ids:
            problems.append(Problem(shown, d.record, f"[{i}].study", f"no study file data/studies/{d.study}.yaml"))
    for rid, title in known.items():
        if rid not in entered:
            problems.append(Problem(shown, rid, "(record)", f"no screening entry for {title[:70]!r}"))
    if study_ids is not None:
        linked = {d.study for d in decisions if d.full_text == "include"}
        for sid in study_ids:
            if sid not in linked:
                problems.append(Problem(shown, sid, "(study)", "an included study without an included record: "
                                        "add the record it was read from"))
    return decisions, problems


def decisions_frame(records: Records, decisions: list[Decision]) -> pl.DataFrame:
    """One row per record with its decisions (records without an entry are ``pending``)."""
    by = {d.record: d for d in decisions}
    rows = []
    for r in records.records.iter_rows(named=True):
        d = by.get(r["record"]) or Decision(record=r["record"], title_abstract="pending")
        rows.append({**r, **d.model_dump(exclude={"record"})})
    cols = {**{k: pl.String for k in records.records.columns}, "title_abstract": pl.String,
            "title_abstract_reason": pl.String, "full_text": pl.String, "full_text_reason": pl.String,
            "assessed_on": pl.String, "study": pl.String, "link": pl.String, "registry_status": pl.String, "note": pl.String}
    return pl.DataFrame(rows, schema=cols) if rows else pl.DataFrame(schema=cols)


@dataclass(frozen=True)
class Screening:
    """Records with their decisions: what the flow diagram, the tables and the downloads read."""

    records: Records
    decisions: list[Decision]

    @property
    def table(self) -> pl.DataFrame:
        """One row per record with its decisions (:func:`decisions_frame`)."""
        return decisions_frame(self.records, self.decisions)


def load(directory: Path, study_ids: list[str] | None = None) -> tuple[Screening, list[Problem]]:
    """Records and screening of a data folder, with every problem found (never raises)."""
    records, problems = load_records(directory)
    decisions, more = load_screening(directory, records, study_ids)
    return Screening(records, decisions), problems + more


def _count(df: pl.DataFrame, **eq) -> int:
    for k, v in eq.items():
        df = df.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    return df.height


def column_counts(screening: Screening, version: str, column: str) -> dict:
    """The boxes of one column (``databases and registers`` / ``other methods``) for one version."""
    searches = [s for s in screening.records.searches if s.version == version and s.column == column]
    ids = [s.id for s in searches]
    hits = screening.records.hits.filter(pl.col("search").is_in(ids))
    t = screening.table.filter(pl.col("search").is_in(ids))
    sought = t.filter(pl.col("title_abstract") == "include")
    assessed = sought.filter(pl.col("full_text").is_not_null())
    excluded = assessed.filter((pl.col("full_text") == "exclude") & ~pl.col("full_text_reason").is_in(NOT_EXCLUDED))
    return {
        "searched": bool(searches),
        "identified": hits.height,
        "by_source": {label: sum(len(screening.records.hits.filter(pl.col("search") == s.id)) for s in searches
                                 if METHODS[s.method][1] == label)
                      for label in dict.fromkeys(METHODS[s.method][1] for s in searches)},
        "duplicates": hits.filter(pl.col("duplicate")).height,
        "screened": t.height,
        "pending": _count(t, title_abstract="pending"),
        "excluded": _count(t, title_abstract="exclude"),
        "sought": sought.height,
        "not_retrieved": _count(sought, full_text=None),
        "assessed": assessed.height,
        "assessed_on": {k: _count(assessed, assessed_on=k) for k in ("full_text", "abstract", "registry_entry")},
        "excluded_reasons": {REASONS[k]: _count(excluded, full_text_reason=k) for k in REASONS
                             if _count(excluded, full_text_reason=k)},
        "full_text_excluded": excluded.height,
        "awaiting": _count(assessed, full_text_reason="awaiting_classification"),
        "ongoing": _count(assessed, full_text_reason="ongoing"),
        "included_reports": _count(assessed, full_text="include"),
    }


def versions_of(screening: Screening, releases: list[str]) -> list[str]:
    """The review versions in release order (oldest first), with any version only a search names."""
    out = list(releases)
    out += [s.version for s in screening.records.searches if s.version not in out]
    return out


def flow(screening: Screening, version: str, releases: list[str]) -> dict:
    """Every count of the PRISMA 2020 flow diagram for an updated review, at ``version``.

    ``releases`` are the review's versions, oldest first; records identified by searches of
    earlier versions are the *previous version* box, those of ``version`` the two columns.
    """
    order = versions_of(screening, releases)
    before = set(order[: order.index(version)]) if version in order else set(order)
    t = screening.table
    inc = t.filter(pl.col("full_text") == "include")
    prev = inc.filter(pl.col("version").is_in(list(before)))
    new = inc.filter(pl.col("version") == version)
    prev_studies = set(prev["study"])
    return {
        "version": version,
        "previous_studies": len(prev_studies),
        "previous_reports": prev.height,
        "databases": column_counts(screening, version, "databases and registers"),
        "other": column_counts(screening, version, "other methods"),
        "new_studies": len(set(new["study"]) - prev_studies),
        "new_reports": new.height,
        "total_studies": len(prev_studies | set(new["study"])),
        "total_reports": prev.height + new.height,
        "search_dates": sorted({s.date.isoformat() for s in screening.records.searches if s.version == version}),
    }


# ----------------------------------------------------------------------------- import


def _append(path: Path, text: str) -> None:
    """Append ``text`` to a YAML list file, starting on a new line."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    with path.open("a", encoding="utf-8") as f:
        f.write(("\n" if old and not old.endswith("\n") else "") + text)


def import_search(directory: Path, export: Path, search: dict) -> list[str]:
    """Add an export to ``<directory>/records/``: idempotent, de-duplicating, never rewriting a decision.

    ``search`` holds the :class:`~analysis.review.records.Search` fields except ``export``,
    ``format`` and (when not given) ``hits``.  The export is stored as RIS without abstracts
    under ``<id>.ris``; a new search entry is appended to ``searches.yaml``; a ``pending``
    screening entry is appended for every hit that is not a duplicate of a known record.
    Importing an export whose search id is already listed changes nothing.  Returns messages.
    """
    from .records import Search

    folder = Path(directory) / RECORDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    records, problems = load_records(directory)
    if problems:
        raise ValueError("fix data/records first:\n" + "\n".join(map(str, problems)))
    if any(s.id == search["id"] for s in records.searches):
        return [f"search {search['id']!r} is already in {SEARCHES_FILE}: nothing imported"]
    text = export.read_bytes().decode("utf-8-sig")
    fmt = sniff_format(text)
    tmp = folder / f".{search['id']}.tmp"
    tmp.write_text(text, encoding="utf-8")
    try:
        hits = read_export(tmp, fmt)
    finally:
        tmp.unlink()
    entry = {**search, "hits": search.get("hits", len(hits)), "export": f"{search['id']}.ris", "format": "ris"}
    Search.model_validate(entry)
    (folder / entry["export"]).write_text(to_ris(hits), encoding="utf-8")
    listed = yaml.safe_dump([{k: (v.isoformat() if isinstance(v, Date) else v) for k, v in entry.items()}],
                            allow_unicode=True, sort_keys=False, width=110)
    _append(folder / SEARCHES_FILE, listed)
    after, problems = load_records(directory)
    known = {d.record for d in load_screening(directory, records, None)[0]}
    new = after.records.filter((pl.col("search") == search["id"]) & ~pl.col("record").is_in(list(known)))
    _append(folder / SCREENING_FILE, "".join(
        f"# {' '.join(r['title'].split())[:100]}\n- record: {yaml.safe_dump(r['record']).splitlines()[0]}\n"
        "  title_abstract: pending\n" for r in new.iter_rows(named=True)))
    dups = after.hits.filter((pl.col("search") == search["id"]) & pl.col("duplicate")).height
    return [f"stored {display(folder / entry['export'])}: {len(hits)} hits, {dups} duplicates of known records, "
            f"{new.height} new records to screen (pending in {SCREENING_FILE})"] + [str(p) for p in problems]

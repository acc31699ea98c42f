"""Search records: the searches of the review, the exports they produced, de-duplicated.

``data/records/searches.yaml`` lists every search that was run, oldest first: when, in which
source (a database, a register, or another method such as a web search or reports supplied to
the team), the exact query, the number of hits the source reported and the export file it
produced (``data/records/<file>``, RIS or PubMed/MEDLINE format).  :func:`load_records` reads
every export (RIS with :mod:`rispy`; MEDLINE with :func:`parse_medline`), and de-duplicates the
hits across all searches in order: two hits are one record when they share a DOI, a PMID or a
normalised title (:func:`normalise_title`).  The first hit of a record gives its id
(:func:`record_id`: ``pmid:…``, else ``doi:…``, else ``title:`` and a hash of the normalised
title), so an id never changes when a later export adds an identifier.

Screening decisions are in :mod:`analysis.review.screening`; importing an export is
:func:`analysis.review.screening.import_search`.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import Literal

import polars as pl
import rispy
from pydantic import BaseModel, ConfigDict, Field

from .datafile import read_list
from .schema import Problem
from .validation import display

RECORDS_DIR = "records"
SEARCHES_FILE = "searches.yaml"
#: how a source is counted in the PRISMA 2020 flow diagram (column and identification box)
METHODS = {
    "database": ("databases and registers", "Databases"),
    "register": ("databases and registers", "Registers"),
    "website": ("other methods", "Websites"),
    "organisation": ("other methods", "Organisations"),
    "citation_searching": ("other methods", "Citation searching"),
    "supplied": ("other methods", "Reports supplied to the review team"),
}
#: most bytes an export may have (a PubMed export of 10,000 records is about 30 MB)
MAX_EXPORT_BYTES = 50_000_000


class Search(BaseModel):
    """One search as it was run (never a planned one: those are in ``data/protocol.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="the review version whose update this search was for")
    date: Date = Field(description="the day the search was run (or, for supplied reports, the day they were received)")
    method: Literal["database", "register", "website", "organisation", "citation_searching", "supplied"]
    source: str = Field(min_length=2, description="the database, register or other source, e.g. 'PubMed'")
    interface: str | None = None
    queries: list[str] = Field(min_length=1, description="the exact queries, as run")
    hits: int = Field(ge=0, strict=True, description="records the source reported for the search")
    export: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(ris|txt|nbib)$")
    format: Literal["ris", "medline"] = "ris"
    note: str | None = None

    @property
    def column(self) -> str:
        """The PRISMA 2020 column of the search's method."""
        return METHODS[self.method][0]


def normalise_title(title: str | None) -> str:
    """A title for matching: accents removed, lower case, letters and digits only, single spaces."""
    if not title:
        return ""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", text).replace("_", " ").split())


def normalise_doi(doi: str | None) -> str | None:
    """A DOI in lower case without a ``https://doi.org/`` or ``doi:`` prefix (None when it is not a DOI)."""
    if not doi:
        return None
    d = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", doi.strip(), flags=re.I).strip().lower()
    return d if re.fullmatch(r"10\.\d{4,9}/\S+", d) else None


def record_id(pmid: str | None, doi: str | None, title: str | None) -> str:
    """The id of a record, from its first hit: ``pmid:…``, else ``doi:…``, else ``title:<hash>``."""
    if pmid:
        return f"pmid:{pmid}"
    if doi:
        return f"doi:{doi}"
    return "title:" + hashlib.sha1(normalise_title(title).encode()).hexdigest()[:10]


def _first(value) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip() if value not in (None, "") else None


def _hit(entry: dict) -> dict:
    """The bibliographic fields of one RIS entry (abstracts are never kept)."""
    title = _first(entry.get("title")) or _first(entry.get("primary_title")) or _first(entry.get("translated_title"))
    authors = entry.get("authors") or entry.get("first_authors") or []
    pmid = None
    for field in ("accession_number", "note"):
        value = _first(entry.get(field))
        if value and re.fullmatch(r"(PMID:?\s*)?\d{1,8}", value):
            pmid = re.sub(r"\D", "", value)
            break
    for note in entry.get("notes") or []:
        m = re.fullmatch(r"\s*PMID:?\s*(\d{1,8})\s*", str(note))
        if m and pmid is None:
            pmid = m.group(1)
    year = _first(entry.get("year")) or _first(entry.get("publication_year")) or ""
    pages = "-".join(p for p in (_first(entry.get("start_page")), _first(entry.get("end_page"))) if p)
    return {"title": title, "authors": "; ".join(map(str, authors)), "year": (re.findall(r"\d{4}", year) or [None])[0],
            "journal": _first(entry.get("journal_name")) or _first(entry.get("secondary_title"))
            or _first(entry.get("alternate_title1")),
            "volume": _first(entry.get("volume")), "issue": _first(entry.get("number")), "pages": pages or None,
            "doi": normalise_doi(_first(entry.get("doi"))), "pmid": pmid, "url": _first(entry.get("urls")),
            "type": _first(entry.get("type_of_reference"))}


def parse_ris(text: str) -> list[dict]:
    """The hits of an RIS export (:func:`rispy.loads`), as bibliographic fields."""
    return [_hit(e) for e in rispy.loads(text)]


_MEDLINE_TAG = re.compile(r"^([A-Z]{2,4})\s*- (.*)$")


def parse_medline(text: str) -> list[dict]:
    """The hits of a PubMed/MEDLINE (``.nbib``/``.txt``) export, as bibliographic fields.

    Records are separated by blank lines; a tag is up to four capitals padded to four, then
    ``- ``; continuation lines start with six spaces.  PMID, TI, AU, DP, TA/JT, VI, IP, PG and
    the DOI (``LID``/``AID`` ending ``[doi]``) are kept; abstracts are not.
    """
    hits, current, last = [], {}, None
    for line in text.splitlines() + [""]:
        m = _MEDLINE_TAG.match(line)
        if m:
            last = m.group(1)
            current.setdefault(last, []).append(m.group(2).strip())
        elif line.startswith("      ") and last and current.get(last):
            current[last][-1] += " " + line.strip()
        elif not line.strip() and current:
            hits.append(current)
            current, last = {}, None
    out = []
    for h in hits:
        doi = next((v[:-5].strip() for v in h.get("LID", []) + h.get("AID", []) if v.endswith("[doi]")), None)
        out.append({"title": _first(h.get("TI")), "authors": "; ".join(h.get("AU", [])),
                    "year": (re.findall(r"\d{4}", _first(h.get("DP")) or "") or [None])[0],
                    "journal": _first(h.get("JT")) or _first(h.get("TA")), "volume": _first(h.get("VI")),
                    "issue": _first(h.get("IP")), "pages": _first(h.get("PG")), "doi": normalise_doi(doi),
                    "pmid": _first(h.get("PMID")), "url": None, "type": _first(h.get("PT"))})
    return out


def read_export(path: Path, fmt: str) -> list[dict]:
    """The hits of one export file; raises ``ValueError`` with a reason when it cannot be read."""
    size = path.stat().st_size
    if size > MAX_EXPORT_BYTES:
        raise ValueError(f"{size:,} bytes: larger than {MAX_EXPORT_BYTES:,}")
    text = path.read_bytes().decode("utf-8-sig")
    hits = parse_medline(text) if fmt == "medline" else parse_ris(text)
    untitled = [i for i, h in enumerate(hits) if not h["title"]]
    if untitled:
        raise ValueError(f"hit {untitled[0] + 1} has no title")
    return hits


def sniff_format(text: str) -> str:
    """``"medline"`` for a PubMed/MEDLINE export (starts with ``PMID-``), else ``"ris"``."""
    return "medline" if re.match(r"\s*PMID\s*-", text) else "ris"


HIT_COLUMNS = {"search": pl.String, "position": pl.Int64, "record": pl.String, "duplicate": pl.Boolean,
               "title": pl.String, "authors": pl.String, "year": pl.String, "journal": pl.String,
               "volume": pl.String, "issue": pl.String, "pages": pl.String, "doi": pl.String,
               "pmid": pl.String, "url": pl.String, "type": pl.String}


@dataclass(frozen=True)
class Records:
    """Every search and every hit, with the record each hit belongs to.

    ``hits`` has one row per hit in search order (:data:`HIT_COLUMNS`); ``duplicate`` is true
    for every hit after the first of its record.  ``records`` has one row per record: its
    first hit, the search that first identified it, and that search's method and version.
    """

    searches: list[Search]
    hits: pl.DataFrame

    @property
    def records(self) -> pl.DataFrame:
        """One row per record (its first hit), with the search, method, column, version and date."""
        info = pl.DataFrame([{"search": s.id, "method": s.method, "column": s.column, "version": s.version,
                              "search_date": s.date.isoformat()} for s in self.searches],
                            schema={"search": pl.String, "method": pl.String, "column": pl.String,
                                    "version": pl.String, "search_date": pl.String})
        return self.hits.filter(~pl.col("duplicate")).drop("duplicate", "position").join(info, on="search", how="left")


def deduplicate(hits: list[dict]) -> list[tuple[str, bool]]:
    """(record id, is-duplicate) for each hit, in order: DOI, PMID or normalised title in common."""
    keys: dict[tuple[str, str], str] = {}
    out = []
    for h in hits:
        mine = [("doi", h["doi"]), ("pmid", h["pmid"]), ("title", normalise_title(h["title"]))]
        mine = [(k, v) for k, v in mine if v]
        found = next((keys[k] for k in mine if k in keys), None)
        rid = found or record_id(h["pmid"], h["doi"], h["title"])
        for k in mine:
            keys.setdefault(k, rid)
        out.append((rid, found is not None))
    return out


def load_records(directory: Path) -> tuple[Records, list[Problem]]:
    """Read ``<directory>/records/searches.yaml`` and every export it names; never raises.

    Returns the records (possibly empty) and the problems found: a search whose export is
    missing or unreadable, a hit count that differs from the export's, duplicate search ids.
    """
    folder = Path(directory) / RECORDS_DIR
    path = folder / SEARCHES_FILE
    if not path.is_file():
        return Records([], pl.DataFrame(schema=HIT_COLUMNS)), []
    searches, problems = read_list(path, Search, "searches")
    shown = display(path)
    rows, seen = [], set()
    for i, s in enumerate(searches):
        if s.id in seen:
            problems.append(Problem(shown, "-", f"[{i}].id", f"duplicate search id {s.id!r}"))
        seen.add(s.id)
        export = folder / s.export
        try:
            hits = read_export(export, s.format)
        except FileNotFoundError:
            problems.append(Problem(shown, "-", f"[{i}].export", f"{s.export}: no such file in {display(folder)}"))
            continue
        except (OSError, ValueError, UnicodeDecodeError, IndexError, KeyError) as exc:
            problems.append(Problem(shown, "-", f"[{i}].export", f"{s.export}: cannot be read as {s.format}: {exc}"))
            continue
        if len(hits) != s.hits:
            problems.append(Problem(shown, "-", f"[{i}].hits", f"{s.hits} hits stated, but {s.export} holds {len(hits)}"))
        rows += [{"search": s.id, "position": j, **h} for j, h in enumerate(hits)]
    for r, (rid, dup) in zip(rows, deduplicate(rows)):
        r.update(record=rid, duplicate=dup)
    hits_df = pl.DataFrame(rows, schema=HIT_COLUMNS) if rows else pl.DataFrame(schema=HIT_COLUMNS)
    return Records(searches, hits_df), problems


def to_ris(hits: list[dict]) -> str:
    """Hits as RIS text (bibliographic fields only), for storing an export without its abstracts."""
    entries = []
    for h in hits:
        e = {"type_of_reference": h.get("type") if h.get("type") in rispy.TYPE_OF_REFERENCE_MAPPING else "JOUR",
             "title": h["title"]}
        if h.get("authors"):
            e["authors"] = [a.strip() for a in h["authors"].split(";") if a.strip()]
        for key, field in (("year", "year"), ("journal", "journal_name"), ("volume", "volume"), ("issue", "number"),
                           ("doi", "doi"), ("pmid", "accession_number")):
            if h.get(key):
                e[field] = h[key]
        if h.get("pages"):
            sp, _, ep = h["pages"].partition("-")
            e["start_page"] = sp
            if ep:
                e["end_page"] = ep
        if h.get("url"):
            e["urls"] = [h["url"]]
        entries.append(e)
    return rispy.dumps(entries)

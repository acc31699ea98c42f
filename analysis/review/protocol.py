"""The protocol and the team as data: ``data/protocol.yaml`` and ``data/team.yaml``.

The protocol holds what the methods chapter states besides the analysis plan: eligibility
criteria, the information sources with the reproducible query for each (whether and when a
query was run is read from ``data/records/searches.yaml``, never typed here), the selection,
extraction and appraisal processes, and how the review is kept living.  The team file holds
members, contributions, funding and conflicts of interest; what is not declared stays empty
and the pages say "not yet declared".
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .datafile import read_model
from .schema import Problem

PROTOCOL_FILE = "protocol.yaml"
TEAM_FILE = "team.yaml"
NOT_DECLARED = "not yet declared"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Model):
    """The eligibility criteria (PICO, designs, languages, dates, publication status)."""

    population: str
    intervention: str
    comparators: str
    outcomes: str
    designs: str
    languages: str
    dates: str
    publication_status: str
    exclusions: list[str] = []


class Source(_Model):
    """One planned information source with its reproducible query."""

    name: str = Field(description="matched against the source of data/records/searches.yaml")
    kind: Literal["database", "register", "website", "organisation", "citation_searching", "supplied"]
    interface: str | None = None
    query: str
    note: str | None = None


class Living(_Model):
    """The living-mode parameters of PRISMA-LSR (status, schedules, triggers, retirement)."""

    status: Literal["living", "paused", "retired"]
    search_frequency: str
    other_steps: str
    triggers: list[str] = Field(min_length=1)
    retirement: str


class Protocol(_Model):
    """The protocol file."""

    title: str
    registration: str | None = None
    eligibility: Eligibility
    sources: list[Source] = Field(min_length=1)
    selection: str
    extraction: str
    risk_of_bias: str
    certainty: str
    living: Living


class Member(_Model):
    """One declared member of the review team."""

    name: str
    affiliation: str | None = None
    roles: list[str] = []
    orcid: str | None = Field(None, pattern=r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


class Team(_Model):
    """The team file: empty fields are shown as not yet declared."""

    members: list[Member] = []
    contributions: str | None = None
    funding: str | None = None
    conflicts_of_interest: str | None = None
    contact: str | None = None
    url: str | None = Field(None, description="where the published review lives, once declared")


def load_protocol(directory: Path) -> tuple[Protocol | None, list[Problem]]:
    """The protocol and its problems."""
    return read_model(Path(directory) / PROTOCOL_FILE, Protocol)


def load_team(directory: Path) -> tuple[Team | None, list[Problem]]:
    """The team and its problems."""
    return read_model(Path(directory) / TEAM_FILE, Team)


def problems(directory: Path) -> list[Problem]:
    """Problems of the protocol and team files (absent files are no problem: the fixtures lack them)."""
    out = []
    for name, reader in ((PROTOCOL_FILE, load_protocol), (TEAM_FILE, load_team)):
        if (Path(directory) / name).is_file():
            out += reader(directory)[1]
    return out

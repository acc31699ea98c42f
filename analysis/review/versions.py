"""The changelog's model: one version of the review (``data/changelog.yaml``), newest first."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Release(BaseModel):
    """One version of the review: number, date, what changed, and (PRISMA-LSR) its trigger and
    the changes to the methods since the preceding version."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    changes: list[str] = Field(min_length=1)
    trigger: str | None = Field(None, description="what triggered this version (PRISMA-LSR)")
    methods_changes: list[str] = Field([], description="changes to the methods since the preceding version (PRISMA-LSR L2)")

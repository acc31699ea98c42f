"""The protocol sections of the methods chapter, rendered from ``data/protocol.yaml`` and the records.

Whether each planned source has been searched, and when, is read from
``data/records/searches.yaml``; a source never searched says so beside its query.
"""
from __future__ import annotations

import polars as pl

from ..review.living import State
from ..review.protocol import NOT_DECLARED
from .escape import md, md_cited
from .tables import display_markdown, show


def eligibility(st: State) -> None:
    """The eligibility criteria as a table, then the exclusions."""
    e = st.protocol.eligibility
    show(pl.DataFrame([{"criterion": k.replace("_", " ").capitalize(), "eligible": v} for k, v in e.model_dump().items()
                       if isinstance(v, str)]), quote_columns=())
    if e.exclusions:
        display_markdown("**Excluded:** " + "; ".join(md(x) for x in e.exclusions) + ".")


def sources(st: State) -> None:
    """Each planned source with its reproducible query and whether (and when) it was searched."""
    run = st.screening.records.searches
    for s in st.protocol.sources:
        done = [x for x in run if x.source == s.name or x.source.startswith(s.name)]
        status = ("**searched** " + ", ".join(f"on {x.date.isoformat()} (version {md(x.version)}, {x.hits} hits)" for x in done)
                  if done else "**not yet searched: no search of this source has been run for any version**")
        query = s.query.rstrip().replace("```", "'''")
        display_markdown(f"#### {md(s.name)}\n\n{md(s.kind.replace('_', ' ').capitalize())}"
                         + (f", {md(s.interface)}" if s.interface else "") + f"; {status}."
                         + (f" {md(s.note)}" if s.note else "") + f"\n\n```text\n{query}\n```")


def processes(st: State) -> None:
    """Selection, extraction, risk-of-bias and certainty processes."""
    p = st.protocol
    for title, text in (("Selection process", p.selection), ("Data extraction", p.extraction),
                        ("Risk of bias", p.risk_of_bias), ("Certainty of the evidence (GRADE)", p.certainty)):
        display_markdown(f"**{md(title)}.** {md_cited(text)}")


def living(st: State) -> None:
    """The living-mode parameters and the registration."""
    lv = st.protocol.living
    display_markdown(f"- **Status:** {md(lv.status)}\n- **Search frequency:** {md(lv.search_frequency)}\n"
                     f"- **Other steps:** {md(lv.other_steps)}\n- **Triggers for an update:** "
                     + "; ".join(md(t) for t in lv.triggers) + f"\n- **Retirement from the living mode:** {md(lv.retirement)}"
                     + f"\n- **Registration:** {md(st.protocol.registration or NOT_DECLARED)}")

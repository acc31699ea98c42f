"""Pages about the review itself: versions and what changed, the version box, how to cite, the team."""
from __future__ import annotations

import polars as pl

from ..review.schema import Release
from .escape import md
from .tables import display_markdown, show


def release_notes(releases: list[Release]) -> None:
    """Display every release, newest first, as a heading and its list of changes (escaped)."""
    for release in releases:
        display_markdown(f"## {md(release.version)} ({md(release.date)})\n\n"
                         + "\n".join(f"- {md(c)}" for c in release.changes))


# ----------------------------------------------------------------------------- the living review's pages


def version_box(st) -> None:
    """Version, date of the last search and of the last update (landing page)."""
    from ..review.protocol import NOT_DECLARED

    latest = st.releases[0]
    dates = sorted(s.date.isoformat() for s in st.screening.records.searches)
    db = [s for s in st.screening.records.searches if s.method in ("database", "register")]
    search = (f"{dates[-1]}" if dates else NOT_DECLARED) + ("" if db else " (a web search of stored pages; no database "
                                                                          "search has been run yet)")
    display_markdown(f"**Version** {md(latest.version)} · **last search** {md(search)} · **last update** "
                     f"{md(latest.date)} · status: {md(st.protocol.living.status if st.protocol else NOT_DECLARED)}")


def whats_new(st) -> None:
    """Per version (newest first): trigger, searches, records screened, studies added or corrected, what
    changed in the results and whether the conclusions changed -- all read from the data."""
    from ..review import screening as sc
    from ..review.living import changes

    order = [r.version for r in reversed(st.releases)]
    for release in st.releases:
        f = sc.flow(st.screening, release.version, order)
        ch = changes(st, release.version)
        screened = f["databases"]["screened"] + f["other"]["screened"]
        head = [f"## {md(release.version)} ({md(release.date)})"]
        if release.trigger:
            head.append(f"**What triggered it.** {md(release.trigger)}")
        srch = [s for s in st.screening.records.searches if s.version == release.version]
        head.append("**Searched.** " + ("; ".join(f"{md(s.source)} on {md(s.date.isoformat())}" for s in srch) or "none")
                    + f". **Records screened:** {screened}. **Studies:** {f['new_studies']} new "
                      f"({f['new_reports']} reports), {f['total_studies']} in total.")
        if ch["previous"]:
            head.append(f"**Compared with {md(ch['previous'])}:** studies added: {md(', '.join(ch['added']) or 'none')}; "
                        f"removed: {md(', '.join(ch['removed']) or 'none')}; corrected: {md(', '.join(ch['corrected']) or 'none')}.")
        head.append("**Changes.**\n\n" + "\n".join(f"- {md(c)}" for c in release.changes))
        if release.methods_changes:
            head.append("**Changes to the methods.**\n\n" + "\n".join(f"- {md(c)}" for c in release.methods_changes))
        display_markdown("\n\n".join(head))
        if ch["previous"] and ch["stored"] and ch["previous_stored"]:
            est = ch["estimates"]
            changed = est.filter(pl.col("conclusion changed") == "yes").height
            display_markdown(f"**Pooled estimates and certainty that changed since {md(ch['previous'])}** "
                             f"(primary analysis, main outcomes). Did the conclusions change? "
                             f"**{'Yes' if changed else 'No'}** for {changed} of {est.height} changed outcomes "
                             "(a change of certainty level, or an estimate that moved into another threshold band).")
            show(est, quote_columns=())
        elif ch["previous"]:
            display_markdown("*No stored release to compare with (data/releases/).*")


def cite_box(st) -> None:
    """How to cite the current version, with its BibTeX entry."""
    from ..review.citation import bibtex, citation

    c = citation(st.directory)
    authors = ", ".join(c["authors"]) or "The review team (members not yet declared)"
    display_markdown(f"> {md(authors)}. *{md(c['title'])}*. Living systematic review, version **{md(c['version'])}**, "
                     f"{md(c['date'])}." + (f" {md(c['url'])}" if c["url"] else " (Address of the published site: not yet declared.)"))
    display_markdown("BibTeX for this version:\n\n```bibtex\n" + bibtex(st.directory).replace("```", "'''") + "```")


def team_section(st) -> None:
    """Team, contributions, funding, conflicts and contact, or 'not yet declared'."""
    from ..review.protocol import NOT_DECLARED

    t = st.team
    members = "; ".join(f"{md(m.name)}" + (f" ({md(m.affiliation)})" if m.affiliation else "")
                        + (f": {md(', '.join(m.roles))}" if m.roles else "") for m in (t.members if t else []))
    rows = [("Review team", members or NOT_DECLARED),
            ("Contributions", md(t.contributions) if t and t.contributions else NOT_DECLARED),
            ("Funding", md(t.funding) if t and t.funding else NOT_DECLARED),
            ("Conflicts of interest", md(t.conflicts_of_interest) if t and t.conflicts_of_interest else NOT_DECLARED),
            ("Contact", md(t.contact) if t and t.contact else NOT_DECLARED)]
    display_markdown("\n".join(f"- **{k}:** {v}" for k, v in rows))

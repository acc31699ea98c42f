"""The living review: releases stored by version, what changed between them, the review's state.

``python -m analysis release VERSION`` writes ``data/releases/<VERSION>/``: ``results.csv``
(exactly what ``python -m analysis export`` writes), ``studies.csv`` and ``certainty.csv`` (the
GRADE rating of each main outcome).  :func:`changes` compares a version with the one before it:
studies added, removed or corrected, every pooled primary estimate and certainty rating that
changed, and whether the conclusion changed -- read from the data (a change of certainty level,
or an estimate that moved into another threshold band of the GRADE rules), never typed.

:func:`state` loads everything the apparatus pages need in one call.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import polars as pl

from . import appraisal as appraisal_mod
from . import grade as grade_mod
from . import screening as screening_mod
from .export import flat
from .loading import Review, changelog, load
from .plan import Plan, load_plan
from .protocol import Protocol, Team, load_protocol, load_team

RELEASES_DIR = "releases"
RELEASE_FILES = ("results.csv", "studies.csv", "certainty.csv")
NOT_ASSESSED = "not assessed"
#: certainty values that are no rating (a change from or to them is not a change of certainty)
UNRATED = (NOT_ASSESSED, "no pooled estimate")


class State:
    """Everything the apparatus pages read; the results table and the certainty ratings are
    computed on first use (pages that do not show them do not pay for them)."""

    def __init__(self, review: Review, plan: Plan, appraisals, screening, rules, overrides, releases,
                 protocol: Protocol | None, team: Team | None):
        self.review, self.plan, self.appraisals, self.screening = review, plan, appraisals, screening
        self.rules, self.overrides, self.releases, self.protocol, self.team = rules, overrides, releases, protocol, team

    @property
    def directory(self) -> Path:
        """The data folder."""
        return Path(self.review.directory)

    @cached_property
    def results(self) -> pl.DataFrame:
        """The results table (:func:`analysis.review.synthesis.results`)."""
        from .synthesis import results

        return results(self.review, self.plan)

    @cached_property
    def certainty(self) -> list:
        """GRADE certainty of every main outcome (:func:`analysis.review.grade.assess`)."""
        if self.rules is None:
            return []
        return grade_mod.assess(self.review, self.plan, self.appraisals, self.screening, self.rules, self.overrides)


def state(directory: Path | str | None = None) -> State:
    """Load the review, its plan, appraisals, records, GRADE rules, releases, protocol and team.

    Raises :class:`~analysis.review.validation.DataError` listing every problem when a file is invalid.
    """
    from .validation import DataError

    review = load(directory)
    d = Path(review.directory)
    plan = load_plan(d)
    ap, p1 = appraisal_mod.load(d, review.ids, {s.id: [a.id for a in s.arms] for s in review.studies})
    sc, p2 = screening_mod.load(d, review.ids)
    rules, p3 = grade_mod.load_rules(d)
    overrides, p4 = grade_mod.load_overrides(d)
    protocol, p5 = load_protocol(d) if (d / "protocol.yaml").is_file() else (None, [])
    team, p6 = load_team(d) if (d / "team.yaml").is_file() else (None, [])
    problems = p1 + p2 + p3 + p4 + p5 + p6
    if problems:
        raise DataError(problems)
    return State(review, plan, ap, sc, rules, overrides, changelog(d), protocol, team)


def certainty_table(st: State) -> pl.DataFrame:
    """One row per main outcome: the primary estimate and its GRADE certainty (stored with a release)."""
    rows = [{"outcome": c.outcome, "label": c.label, "k": c.k, "patients": c.patients, "model": c.result.get("model"),
             "estimate": c.result.get("estimate"), "ci_low": c.result.get("ci_low"), "ci_high": c.result.get("ci_high"),
             "certainty": c.label_level,
             **{d: next((r.levels for r in c.ratings if r.domain == d), None) for d in grade_mod.DOMAINS}}
            for c in st.certainty]
    return pl.DataFrame(rows, schema={"outcome": pl.String, "label": pl.String, "k": pl.Int64, "patients": pl.Int64,
                                      "model": pl.String, "estimate": pl.Float64, "ci_low": pl.Float64,
                                      "ci_high": pl.Float64, "certainty": pl.String,
                                      **{d: pl.Int64 for d in grade_mod.DOMAINS}})


def release_tables(st: State) -> dict[str, pl.DataFrame]:
    """The files of a release: ``results`` (as exported), ``studies`` and ``certainty``."""
    return {"results": st.results, "studies": st.review.studies_table.select("study", "short_name", "publication_type",
                                                                            "n_enrolled", "n_infused"),
            "certainty": certainty_table(st)}


def write_release(st: State, version: str) -> list[Path]:
    """Write ``data/releases/<version>/`` (the version must be in the changelog)."""
    if version not in [r.version for r in st.releases]:
        raise ValueError(f"version {version} is not in data/changelog.yaml: add it there first")
    out = st.directory / RELEASES_DIR / version
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in release_tables(st).items():
        flat(df).write_csv(out / f"{name}.csv")
        paths.append(out / f"{name}.csv")
    return paths


#: how far a stored release's floats may lie from what today's code computes from the same data and
#: still be the same result: 1e-5 relative (plus 1e-9 absolute, for values near 0).  The GLMM's
#: standard error is a finite-difference Hessian (lme4's deriv12, step 1e-4) of a quadrature
#: approximation; its sixth significant digit moves when the same model is computed in another
#: order (issue 18's faster GLMM moved stored values by up to 6e-6, relative).  The site prints
#: three significant digits.
RELEASE_RTOL, RELEASE_ATOL = 1e-5, 1e-9


def release_differences(stored: pl.DataFrame, current: pl.DataFrame) -> list[str]:
    """Where a stored release table and the same table computed now differ, one line per cell.

    Columns and rows must be the same, in the same order; text and integers must be equal;
    floats within :data:`RELEASE_RTOL` (relative) plus :data:`RELEASE_ATOL` of each other
    (both missing counts as equal).  An empty list means the release still holds.
    """
    if stored.columns != current.columns:
        return [f"columns: stored {stored.columns}, now {current.columns}"]
    if stored.height != current.height:
        return [f"rows: stored {stored.height}, now {current.height}"]
    out = []
    for c in stored.columns:
        for i, (a, b) in enumerate(zip(stored[c].to_list(), current[c].to_list())):
            if isinstance(a, float) or isinstance(b, float):
                same = (a is None and b is None) or (a is not None and b is not None
                                                     and abs(a - b) <= RELEASE_ATOL + RELEASE_RTOL * max(abs(a), abs(b)))
            else:
                same = a == b
            if not same:
                out.append(f"row {i + 1}, {c}: stored {a!r}, now {b!r}")
    return out


def read_release(directory: Path, version: str) -> dict[str, pl.DataFrame] | None:
    """The stored tables of a release, or None when the version has no release folder."""
    folder = Path(directory) / RELEASES_DIR / version
    if not folder.is_dir():
        return None
    return {p.stem: pl.read_csv(p, infer_schema_length=None) for p in sorted(folder.glob("*.csv"))}


def _band(x, cuts) -> int | None:
    return None if x is None else grade_mod.bands(float(x), cuts)


def changes(st: State, version: str) -> dict:
    """What changed at ``version`` against the release before it, from the stored releases.

    Returns ``previous`` (version or None), ``added``/``removed`` (study ids), ``corrected``
    (studies whose stored row changed), ``estimates`` (one row per main outcome whose primary
    estimate, interval or certainty changed, with ``conclusion_changed`` and its reason).
    """
    order = [r.version for r in reversed(st.releases)]
    if version not in order:
        raise KeyError(version)
    prev = order[order.index(version) - 1] if order.index(version) else None
    cur = read_release(st.directory, version)
    old = read_release(st.directory, prev) if prev else None
    out = {"version": version, "previous": prev, "stored": cur is not None, "previous_stored": old is not None,
           "added": [], "removed": [], "corrected": [], "estimates": pl.DataFrame()}
    if cur is None or old is None:
        return out
    s_new, s_old = cur["studies"], old["studies"]
    out["added"] = sorted(set(s_new["study"]) - set(s_old["study"]))
    out["removed"] = sorted(set(s_old["study"]) - set(s_new["study"]))
    both = s_new.join(s_old, on="study", suffix="_old")
    cols = [c for c in s_new.columns if c != "study" and f"{c}_old" in both.columns]
    out["corrected"] = sorted(r["study"] for r in both.iter_rows(named=True)
                              if any(str(r[c]) != str(r[f"{c}_old"]) for c in cols))
    main = [o for o, d in st.plan.outcomes.items() if d.main]
    rows = []
    r_new = cur["results"].filter(pl.col("analysis") == "primary")
    r_old = old["results"].filter(pl.col("analysis") == "primary")
    c_new = {r["outcome"]: r["certainty"] for r in cur.get("certainty", pl.DataFrame({"outcome": []})).iter_rows(named=True)}
    c_old = {r["outcome"]: r["certainty"] for r in old.get("certainty", pl.DataFrame({"outcome": []})).iter_rows(named=True)}
    for o in main:
        a = r_old.filter(pl.col("outcome") == o).to_dicts()
        b = r_new.filter(pl.col("outcome") == o).to_dicts()
        a, b = (a[0] if a else {}), (b[0] if b else {})
        keys = ("model", "k", "patients", "estimate", "ci_low", "ci_high")
        cert_a, cert_b = c_old.get(o, NOT_ASSESSED), c_new.get(o, NOT_ASSESSED)
        rated = cert_a not in UNRATED and cert_b not in UNRATED
        if all(_same(a.get(k), b.get(k)) for k in keys) and (cert_a == cert_b or not rated):
            continue
        cuts = st.rules.thresholds.get(o) if st.rules else None
        why = []
        if rated and cert_a != cert_b:
            why.append(f"certainty {cert_a} → {cert_b}")
        if cuts and _band(a.get("estimate"), cuts) != _band(b.get("estimate"), cuts):
            why.append("the estimate moved into another threshold band" if a.get("estimate") is not None
                       and b.get("estimate") is not None else "a pooled estimate appeared or disappeared")
        if not why:
            why_text = ("certainty first rated in this version; the estimate stayed in its threshold band"
                        if cert_a == NOT_ASSESSED and cert_b not in UNRATED else
                        "same certainty, estimate in the same threshold band")
        rows.append({"outcome": st.plan.outcomes[o].label, "before": _est(a), "now": _est(b),
                     "certainty before": cert_a, "certainty now": cert_b,
                     "conclusion changed": "yes" if why else "no", "why": "; ".join(why) or why_text})
    out["estimates"] = pl.DataFrame(rows, schema={"outcome": pl.String, "before": pl.String, "now": pl.String,
                                                  "certainty before": pl.String, "certainty now": pl.String,
                                                  "conclusion changed": pl.String, "why": pl.String})
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 5e-7
    return a == b


def _est(r: dict) -> str:
    if not r or r.get("estimate") is None:
        return f"not pooled (k = {r.get('k', 0) or 0})"
    crude = " crude count" if r.get("model") == "crude_exact" else ""
    return (f"{100 * r['estimate']:.1f}% ({100 * r['ci_low']:.1f}–{100 * r['ci_high']:.1f}); "
            f"k = {r['k']}, n = {r['patients']}{crude}")

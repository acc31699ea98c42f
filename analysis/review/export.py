"""The review's data as files: studies, outcomes (every reported figure) and results.

``python -m analysis export DIR`` writes each table as CSV and Parquet.  The ``results`` table
is :func:`analysis.review.synthesis.results` -- the same rows the book shows -- so a
downloaded number is the number on the page.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from .loading import Review
from .plan import Plan, load_plan

#: what each exported table holds (the data dictionary's first line per table)
TABLES = {
    "studies": "one row per study: design, publication, population, follow-up, grading scales",
    "outcomes": "one row per reported figure: outcome, arm, estimator, counts, printed percentage and CI, quote",
    "results": "one row per outcome and analysis (primary, sensitivity, leave-one-out, subgroup): model and results",
}

#: significant digits of every floating-point value written (far beyond any printed figure)
SIGNIFICANT_DIGITS = 10


def tables(review: Review, plan: Plan | None = None) -> dict[str, pl.DataFrame]:
    """The exported tables (see :data:`TABLES`)."""
    # imported here: the pages that only write or compare tables (the citation, what changed) then
    # import no statistics (scipy.stats and the models, 0.8 s per kernel)
    from .synthesis import results

    plan = plan or load_plan(review.directory)
    return {"studies": review.studies_table, "outcomes": review.outcomes, "results": results(review, plan)}


def flat(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` as written to CSV: lists joined by ", ", floats to :data:`SIGNIFICANT_DIGITS` digits."""
    df = df.with_columns(pl.col(pl.Float64, pl.Float32).round_sig_figs(SIGNIFICANT_DIGITS))
    return df.with_columns(pl.col(c).list.join(", ") for c, t in df.schema.items() if isinstance(t, pl.List))


def write(review: Review, directory: Path | str, plan: Plan | None = None) -> list[Path]:
    """Write every table as ``<name>.csv`` and ``<name>.parquet`` into ``directory``; return the paths.

    The CSV files hold floats to :data:`SIGNIFICANT_DIGITS` significant digits (the Parquet files
    every bit, as the book computed them): the last
    bits of an optimiser's result change with the order of its operations (a faster GLMM profile
    moved the tau² CI bounds by 5e-15), and a stored release (CSV) must not differ for that.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables(review, plan).items():
        flat(df).write_csv(out / f"{name}.csv")
        df.write_parquet(out / f"{name}.parquet")
        written += [out / f"{name}.csv", out / f"{name}.parquet"]
    return written

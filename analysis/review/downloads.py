"""The review's data for download, and its data dictionary.

:func:`tables` gives every downloadable table -- the exported ``studies``, ``outcomes`` and
``results`` (exactly :func:`analysis.review.export.tables`), the risk-of-bias judgements, the
screening records and the GRADE ratings; :func:`write` writes each as CSV and Parquet (the site
build puts them in ``_build/html/downloads/``).  :func:`dictionary` is generated from the
tables' schemas (column, type) and :data:`MEANINGS`; a test fails when a column has no meaning.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from . import grade
from .export import TABLES, flat
from .pooling import RESULT_COLUMNS

DESCRIPTIONS = {
    **TABLES,
    "risk_of_bias_jbi": "one row per study and JBI checklist item: answer, justification, supporting quote",
    "risk_of_bias_overall": "one row per study: JBI overall judgement derived by the review's rule, override, final",
    "risk_of_bias_robins_i": "one row per ROBINS-I result and domain (and an overall row per result)",
    "screening": "one row per record: bibliographic fields, the search that found it, both screening decisions",
    "certainty": "one row per main outcome and GRADE domain: levels rated down, the reason, overrides",
}

MEANINGS = {
    # studies
    "study": "study id (data/studies/<id>.yaml)", "short_name": "short name of the study", "year": "publication year",
    "publication_type": "full_paper, conference_abstract or secondary_report", "design": "study design",
    "centres": "number of centres reported", "country": "country reported", "period_start": "start of enrolment (YYYY-MM)",
    "period_end": "end of enrolment (YYYY-MM)", "n_enrolled": "patients enrolled", "n_infused": "patients infused",
    "age_median": "median age (years)", "age_low": "lowest age (years)", "age_high": "highest age (years)",
    "follow_up_median": "median follow-up", "follow_up_unit": "unit of follow-up", "crs_scale": "CRS grading scale named",
    "icans_scale": "ICANS grading scale named", "gvhd_scale": "GVHD grading scale named",
    "population_fit": "how the arm fits the review population (direct, partial, outside)",
    "overlaps_with": "studies that may share patients", "bibkey": "citation key",
    # outcomes
    "record": "position of the figure in the study file", "outcome": "outcome name (vocabulary of the schema / plan)",
    "outcome_label": "outcome as a reader reads it", "category": "response, safety, survival or course",
    "arm": "arm id", "arm_label": "arm as a reader reads it", "role": "intervention or comparator arm",
    "combined_arm": "whether the arm combines other arms", "estimator": "how the figure was estimated",
    "events": "number of patients with the event", "denominator": "patients the figure is over",
    "denominator_kind": "enrolled, leukapheresed, infused, evaluable, in_cr or subgroup",
    "percent": "percentage as printed", "percent_decimals": "decimals printed", "ci_low": "lower 95% confidence limit",
    "ci_high": "upper 95% confidence limit", "ci_level": "confidence level (%)", "time": "landmark time",
    "time_unit": "unit of the time", "median": "median time", "range_low": "lowest time", "range_high": "highest time",
    "window": "assessment window as reported", "scale": "grading scale of the figure", "flags": "recorded problems",
    "flag_notes": "notes on the recorded problems", "note": "reviewer's note", "source": "verbatim quote of the report",
    # results
    "analysis": "primary, a sensitivity analysis set, a leave-one-out refit or a subgroup",
    "model": "model that ran (glmm, logit_reml, crude_exact, cloglog_reml, none)", "k": "number of studies",
    "studies": "ids of the studies pooled", "patients": "patients pooled", "estimate": "pooled proportion",
    "pi_low": "lower 95% prediction limit", "pi_high": "upper 95% prediction limit", "tau2": "between-study variance",
    "tau2_low": "lower limit of tau²", "tau2_high": "upper limit of tau²", "i2": "I² (%)", "i2_low": "lower limit of I²",
    "i2_high": "upper limit of I²", "hk_low": "lower t-based / Hartung-Knapp limit",
    "hk_high": "upper t-based / Hartung-Knapp limit",
    # risk of bias
    "item": "JBI checklist item (q1-q10)", "question": "wording of the item", "critical": "critical item of the review's rule",
    "answer": "Y, N, U (unclear) or NA", "justification": "one-sentence justification", "quote": "supporting quote",
    "assessed_on": "what the judgement was made on", "derived": "overall judgement derived by the rule",
    "override": "reviewer override, if any", "override_justification": "justification of the override",
    "final": "final overall judgement", "q4": "answer to Q4 (consecutive inclusion)", "q5": "answer to Q5 (complete inclusion)",
    "result": "the comparative result appraised", "domain": "ROBINS-I or GRADE domain", "label": "domain as captioned",
    "judgement": "judgement of the domain",
    # screening
    "search": "id of the search that first found the record", "title": "title of the record", "authors": "authors",
    "journal": "journal or source", "volume": "volume", "issue": "issue", "pages": "pages", "doi": "DOI", "pmid": "PMID",
    "url": "address", "type": "RIS reference type", "method": "how the search was run (database, register, website, ...)",
    "column": "PRISMA column (databases and registers / other methods)", "version": "review version of the search",
    "search_date": "date of the search", "title_abstract": "title/abstract decision",
    "title_abstract_reason": "reason for a title/abstract exclusion (fixed list)", "full_text": "full-text decision",
    "full_text_reason": "reason for a full-text exclusion (fixed list)", "link": "confirmed or probable report of the study",
    "registry_status": "status of a registered trial",
    # certainty
    "levels": "levels rated down (0 to -3)", "computed_levels": "levels computed by the rules (before an override)",
    "reason": "reason generated from the data", "certainty": "GRADE certainty of the outcome",
}


def tables(st, results: bool = True) -> dict[str, pl.DataFrame]:
    """Every downloadable table of a loaded :class:`analysis.review.living.State`.

    The first three are what :func:`analysis.review.export.tables` gives; with ``results=False``
    the results table is left empty (its schema only), for the data dictionary.
    """
    out = {"studies": st.review.studies_table, "outcomes": st.review.outcomes,
           "results": st.results if results else pl.DataFrame(schema=RESULT_COLUMNS)}
    out["risk_of_bias_jbi"] = st.appraisals.jbi
    out["risk_of_bias_overall"] = st.appraisals.overall
    out["risk_of_bias_robins_i"] = st.appraisals.robins
    out["screening"] = st.screening.table
    out["certainty"] = grade.table(st.certainty)
    return out


def write(st, directory: Path | str) -> list[Path]:
    """Write every table as CSV and Parquet into ``directory``; return the paths.

    As :func:`analysis.review.export.write`: CSV floats to 10 significant digits, Parquet exact.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables(st).items():
        flat(df).write_csv(out / f"{name}.csv")
        df.write_parquet(out / f"{name}.parquet")
        paths += [out / f"{name}.csv", out / f"{name}.parquet"]
    return paths


#: meanings of a column that differ in one table
TABLE_MEANINGS = {("screening", "record"): "record id: pmid:…, doi:… or title:<hash of the normalised title>",
                  ("screening", "year"): "publication year as exported",
                  ("risk_of_bias_robins_i", "domain"): "ROBINS-I domain (d1-d7) or overall",
                  ("certainty", "domain"): "GRADE domain (or overall)"}


def dictionary(tabs: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per table and column: type (from the table's schema) and meaning (:data:`MEANINGS`)."""
    rows = [{"table": name, "column": col, "type": str(dtype),
             "meaning": TABLE_MEANINGS.get((name, col), MEANINGS.get(col, ""))}
            for name, df in tabs.items() for col, dtype in df.schema.items()]
    return pl.DataFrame(rows)

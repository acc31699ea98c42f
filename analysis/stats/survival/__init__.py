"""Survival from what reports print: reconstruction from summaries and curves, landmarks for pooling.

Modules
-------
km
    Kaplan-Meier helpers on lifelines: Greenwood sums, log(-log) intervals, cloglog, plot tables.
inputs
    :class:`Landmark` and :class:`FollowUp`, the typed summary of a report.
windows, search
    Feasible times of a configuration; the depth-first enumeration of consistent configurations.
summary
    :func:`from_summary` (pseudo-IPD from landmarks, events and follow-up of small series).
envelope
    :func:`survival_envelope`: the range of S(t) over every curve consistent with a summary.
guyot
    :func:`guyot` (Guyot 2012 on a digitised published curve), :func:`clean_digitised`.
landmarks
    :func:`landmark`, :func:`landmark_from_reported`, :func:`landmark_table` and :data:`SOURCES`.
"""

from .envelope import SurvivalEnvelope, survival_envelope
from .guyot import CurveReconstruction, clean_digitised, guyot
from .inputs import FollowUp, Landmark
from .km import (KMTable, as_arrays, cloglog, fit_km, inv_cloglog, km_at, km_steps, km_table, loglog_ci,
                 var_from_loglog_ci)
from .landmarks import SOURCES, LandmarkEstimate, landmark, landmark_from_reported, landmark_table
from .search import km_configurations
from .summary import SummaryReconstruction, from_summary

__all__ = [
    "Landmark",
    "FollowUp",
    "SummaryReconstruction",
    "SurvivalEnvelope",
    "survival_envelope",
    "CurveReconstruction",
    "LandmarkEstimate",
    "KMTable",
    "SOURCES",
    "from_summary",
    "km_configurations",
    "guyot",
    "clean_digitised",
    "landmark",
    "landmark_from_reported",
    "landmark_table",
    "cloglog",
    "inv_cloglog",
    "var_from_loglog_ci",
    "loglog_ci",
    "km_table",
    "fit_km",
    "km_at",
    "km_steps",
    "as_arrays",
]

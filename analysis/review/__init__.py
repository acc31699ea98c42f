"""The review: the study-file schema and its checks, loading ``data/``, which study enters which
analysis (synthesis, survival, between-arm comparisons) and the reported-vs-recomputed audit.

Imports :mod:`analysis.stats` only; never imports :mod:`analysis.present`.
"""

"""What a reader sees: tables, text and charts built from :mod:`analysis.review` results.

This layer formats; it never decides which study enters which analysis, and nothing in
:mod:`analysis.review` or :mod:`analysis.stats` imports it.  Every text that comes from
``data/`` passes through :mod:`analysis.present.escape` before it reaches a page.

Modules: ``fmt`` (numbers and records as text), ``escape`` (text from data made inert),
``tables`` (tables and Markdown output), ``study`` (a study chapter), ``synthesis``
(synthesis chapters), ``charts`` (offline Vega-Lite charts; :func:`analysis.present.charts.setup`
is explicit).
"""

"""analysis.stats -- the numbers-only layer: numpy, scipy, lifelines and polars, nothing of the review.

Submodules (import what you need; nothing heavy is imported here):

``analysis.stats.proportions``   single-proportion confidence intervals, counts from printed percentages
``analysis.stats.grim``          counts from printed percentages, standard library only (the data layer's checks)
``analysis.stats.contingency``   one 2x2 table: RR/OR/RD, Fisher's exact and chi-square tests
``analysis.stats.meta``          meta-analysis as metafor: escalc, tau^2, rma, GLMM, MH/Peto, subgroups
``analysis.stats.survival``      reconstruction from summaries and curves, Kaplan-Meier landmarks
``analysis.stats.units``         time units and their conversions

Every fitted model follows one result protocol (``analysis.stats.meta.PROTOCOL``).
"""

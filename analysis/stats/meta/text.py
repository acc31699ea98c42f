"""The metafor-style text view of fitted models (what ``print(res)`` shows in R).

Every result's ``__str__`` delegates here, as statsmodels keeps ``summary()`` with its results:
the layout mirrors metafor 5.1-12's print.rma.uni, print.rma.glmm, print.rma.mh and
print.rma.peto (R/print.rma.*.r), so output can be compared with metafor's line by line.
Nothing here computes a statistic.
"""

from __future__ import annotations

import math

__all__ = [
    "fmt",
    "fmtp",
    "table",
    "rma_text",
    "glmm_text",
    "mh_text",
    "proportion_text",
    "two_group_text",
    "subgroup_text",
    "heterogeneity_ci_text",
]


def fmt(x, digits: int = 4) -> str:
    """A number with ``digits`` decimals; "NA" for None/NaN, "Inf"/"-Inf" for infinities."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if isinstance(x, float) and math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def fmtp(p, digits: int = 4, equal: bool = False) -> str:
    """metafor fmtp(): '<.0001' below 10^-digits, else the value; with equal=True '= 0.0016' / '< .0001'."""
    if p is None or math.isnan(p):
        return "NA"
    if p < 10.0 ** (-digits):
        return "< ." + "0" * (digits - 1) + "1" if equal else "<." + "0" * (digits - 1) + "1"
    return ("= " if equal else "") + f"{p:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Right-aligned columns separated by two spaces (R's print of a data frame)."""
    cols = list(zip(header, *rows))
    widths = [max(len(s) for s in col) for col in cols]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for r in rows:
        lines.append("  ".join(s.rjust(w) for s, w in zip(r, widths)))
    return "\n".join(lines)


def _heterogeneity_lines(res, with_tau: bool) -> list[str]:
    """tau^2 / tau / I^2 / H^2 block of metafor's print.rma (``se_tau2`` printed when the fit has it)."""
    out = []
    if with_tau:
        se_tau2 = getattr(res, "se_tau2", math.nan)
        se_part = "" if se_tau2 is None or math.isnan(se_tau2) else f" (SE = {fmt(se_tau2)})"
        out.append(f"tau^2 (estimated amount of total heterogeneity): {fmt(res.tau2)}{se_part}")
        out.append(f"tau (square root of estimated tau^2 value):      {fmt(math.sqrt(res.tau2))}")
    out.append(f"I^2 (total heterogeneity / total variability):   {fmt(res.i2, 2)}%")
    out.append(f"H^2 (total variability / sampling variability):  {fmt(res.h2, 2)}")
    return out


def _model_results_lines(res, ddf: int | None = None) -> list[str]:
    """"Model Results" table of metafor's print.rma (t with df under knha/adhoc/t, else z)."""
    stat = ["tval", "df"] if ddf else ["zval"]
    row = [fmt(res.estimate), fmt(res.se), fmt(res.zval)] + ([str(ddf)] if ddf else [])
    row += [fmtp(res.pval), fmt(res.ci_low), fmt(res.ci_high)]
    return ["Model Results:", "", table(["estimate", "se", *stat, "pval", "ci.lb", "ci.ub"], [row]), ""]


def _interval_lines(res) -> list[str]:
    lines = [f"Prediction interval ({res.pi_method}): {fmt(res.pi_low)} to {fmt(res.pi_high)}"]
    if res.hk_low is not None and res.test == "z":
        lines.append(f"Hartung-Knapp (knha) {100 * res.level:g}% CI: {fmt(res.hk_low)} to {fmt(res.hk_high)}")
    return lines


def rma_text(res) -> str:
    """print.rma.uni for an intercept-only model."""
    lines = [""]
    if res.method == "FE":
        lines.append(f"Fixed-Effects Model (k = {res.k})")
    else:
        lines.append(f"Random-Effects Model (k = {res.k}; tau^2 estimator: {res.method})")
    lines.append("")
    lines += _heterogeneity_lines(res, with_tau=res.method != "FE")
    lines.append("")
    lines.append("Test for Heterogeneity:")
    lines.append(f"Q(df = {res.q_df}) = {fmt(res.q)}, p-val {fmtp(res.q_pval, equal=True)}")
    lines.append("")
    lines += _model_results_lines(res, res.ddf)
    lines += _interval_lines(res)
    lines.append("")
    return "\n".join(lines)


def glmm_text(res) -> str:
    """print.rma.glmm for measure="PLO"."""
    lines = [""]
    if not res.random:
        lines.append(f"Fixed-Effects Model (k = {res.k})")
    else:
        lines.append(f"Random-Effects Model (k = {res.k}; tau^2 estimator: ML)")
        lines.append(f"Model Type: random-intercept logistic model (adaptive Gauss-Hermite, nAGQ = {res.nAGQ})")
        lines.append("")
        lines += _heterogeneity_lines(res, with_tau=True)
    lines.append("")
    lines.append("Tests for Heterogeneity:")
    lines.append(f"Wld(df = {res.q_df}) = {fmt(res.q)}, p-val {fmtp(res.q_pval, equal=True)}")
    lines.append(f"LRT(df = {res.q_df}) = {fmt(res.q_lrt)}, p-val {fmtp(res.q_lrt_pval, equal=True)}")
    lines.append("")
    lines += _model_results_lines(res, res.ddf)
    return "\n".join(lines)


def mh_text(res) -> str:
    """print.rma.mh / print.rma.peto."""
    lines = ["", f"Equal-Effects Model (k = {res.k})", ""]
    lines.append(f"I^2 (total heterogeneity / total variability):  {fmt(res.i2, 2)}%")
    lines.append(f"H^2 (total variability / sampling variability): {fmt(res.h2, 2)}")
    lines += ["", "Test for Heterogeneity: ", f"Q(df = {res.q_df}) = {fmt(res.q)}, p-val {fmtp(res.q_pval, equal=True)}", ""]
    scale = "" if res.measure == "RD" else " (log scale)"
    lines += [f"Model Results{scale}:", ""]
    lines.append(table(["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"],
                       [[fmt(res.estimate), fmt(res.se), fmt(res.zval), fmtp(res.pval), fmt(res.ci_low), fmt(res.ci_high)]]))
    if res.measure != "RD":
        lines += ["", f"Model Results ({res.measure} scale):", ""]
        lines.append(table(["estimate", "ci.lb", "ci.ub"], [[fmt(res.exp_estimate), fmt(res.exp_ci_low), fmt(res.exp_ci_high)]]))
    if res.method == "MH" and res.measure == "OR":
        lines += ["", f"Cochran-Mantel-Haenszel Test:    CMH = {fmt(res.cmh)}, df = 1, p-val {fmtp(res.cmh_pval, equal=True)}"]
        lines.append(f"Tarone's Test for Heterogeneity: X^2 = {fmt(res.tarone)}, df = {res.tarone_df}, "
                     f"p-val {fmtp(res.tarone_pval, equal=True)}")
    lines.append("")
    return "\n".join(lines)


def proportion_text(res) -> str:
    """The model on the transformed scale, then metafor's predict(res, transf=...) row."""
    head = ["pred", "ci.lb", "ci.ub", "pi.lb", "pi.ub"]
    row = [fmt(res.estimate), fmt(res.ci_low), fmt(res.ci_high), fmt(res.pi_low), fmt(res.pi_high)]
    if res.hk_low is not None:
        head += ["hk.lb", "hk.ub"]
        row += [fmt(res.hk_low), fmt(res.hk_high)]
    return f"{res.model}\nPooled proportion (transform: {res.transform}):\n\n{table(head, [row])}\n"


def two_group_text(res) -> str:
    return f"{res.model}\nPooled {res.measure}: {fmt(res.estimate)} ({fmt(res.ci_low)} to {fmt(res.ci_high)})\n"


def subgroup_text(res) -> str:
    rows = [
        [str(r["group"]), str(r["k"]), fmt(r["estimate"]), fmt(r["se"]), fmt(r["ci_low"]), fmt(r["ci_high"]),
         fmt(r["tau2"]), fmt(r["i2"], 2)]
        for r in res.table.iter_rows(named=True)
    ]
    s = "\n" + table([res.by, "k", "estimate", "se", "ci.lb", "ci.ub", "tau^2", "I^2"], rows)
    s += (f"\n\nTest for Subgroup Differences: Q(df = {res.q_between_df}) = {fmt(res.q_between)}, "
          f"p-val {fmtp(res.q_between_pval, equal=True)}\n")
    return s


def heterogeneity_ci_text(ci) -> str:
    """print.confint.rma for the heterogeneity parameters."""
    rows = [
        ["tau^2", *(fmt(x) for x in ci.tau2)],
        ["tau", *(fmt(x) for x in ci.tau)],
        ["I^2(%)", *(fmt(x) for x in ci.i2)],
        ["H^2", *(fmt(x) for x in ci.h2)],
    ]
    return "\n" + table(["", "estimate", "ci.lb", "ci.ub"], rows) + "\n"

"""The Kaplan-Meier plot tables of analysis.stats.survival feed the charts helper."""

import polars as pl

from analysis.present import charts
from analysis.stats import survival as sv
from analysis.stats.survival import Landmark


def test_km_table_feeds_the_charts_helper():
    a = sv.km_table(sv.from_summary(7, [Landmark(12, "83")], time_unit="months"), [0, 6, 12], arm="CAR-DLI + LD")
    b = sv.km_table(sv.from_summary(7, [Landmark(12, "29")], time_unit="months"), [0, 6, 12], arm="CAR-DLI alone")
    band = {"ci_low": "ci_lower", "ci_high": "ci_upper"}  # charts.km's column names
    chart = charts.km(pl.concat([a.steps.rename(band), b.steps.rename(band)]), pl.concat([a.at_risk, b.at_risk]),
                      pl.concat([a.censored, b.censored]), color="arm", time_unit="months")
    spec = chart.to_dict()  # renders to a Vega-Lite spec
    assert "ci_upper" in str(spec)  # the CI band is drawn

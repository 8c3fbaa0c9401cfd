"""The CLV fits reproduce the published CDNOW results, from the sample's transactions
through the Spark statistics to the driver-side fits (calibration: weeks 1-39, as_of
1997-09-30). BG/NBD: Fader, Hardie & Lee (2005); Pareto/NBD: the same paper's comparison;
Gamma-Gamma: Fader & Hardie (2013)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from rfm_spark.clv import fitting
from rfm_spark.clv.mart import gamma_gamma_expected_spend
from rfm_spark.clv.statistics import clv_statistics, frequency_groups, spend_groups
from rfm_spark.intermediate.customer_order_summary import customer_order_summary

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow_sample.txt"
CALIBRATION_END = dt.date(1997, 9, 30)


@pytest.fixture(scope="module")
def cdnow_statistics(spark):
    """The sample as a landing would stage it: one completed order per row, its dollars as
    the order's one line."""
    rows = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
    orders = spark.createDataFrame(
        [(f"O{n}", sample_id, dt.datetime.strptime(day, "%Y%m%d").date(), "completed")
         for n, (_, sample_id, day, _, _) in enumerate(rows)],
        "order_id string, customer_id string, order_date date, status string")
    items = spark.createDataFrame(
        [(f"O{n}", dollars) for n, (*_, dollars) in enumerate(rows)],
        "order_id string, line_amount string",
    ).withColumn("line_amount", F.col("line_amount").cast("decimal(18,2)"))
    summary = customer_order_summary(orders, items, CALIBRATION_END, "completed")
    statistics = clv_statistics(summary).cache()
    yield statistics
    statistics.unpersist()


def test_cdnow_statistics_are_the_papers(cdnow_statistics):
    totals = cdnow_statistics.agg(
        F.count(F.lit(1)).alias("customers"),
        F.count("avg_repeat_spend").alias("repeat_buyers"),
        F.avg(F.try_divide(F.col("repeat_spend").cast("double"), "repeat_purchases"))
        .alias("mean_spend"),
    ).first()
    assert totals["customers"] == 2357
    assert totals["repeat_buyers"] == 946
    assert totals["mean_spend"] == pytest.approx(35.08, abs=0.005)


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_statistics):
    fitted = fitting.fit_bgnbd(fitting.Frequencies.of(frequency_groups(cdnow_statistics)
                                                      .collect()))
    assert fitted.converged, fitted.message
    assert fitted.customers == 2357
    assert {k: round(v, 3) for k, v in fitted.params.items()} == {
        "r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(fitted.log_likelihood, 1) == -9582.4


def test_pareto_nbd_reproduces_the_published_fit(cdnow_statistics):
    fitted = fitting.fit_pareto_nbd(fitting.Frequencies.of(frequency_groups(cdnow_statistics)
                                                           .collect()))
    assert fitted.converged, fitted.message
    assert {k: round(v, 3) for k, v in fitted.params.items()} == {
        "r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    assert round(fitted.log_likelihood, 1) == -9595.0


def test_gamma_gamma_reproduces_fader_hardie_2013(cdnow_statistics):
    groups = spend_groups(cdnow_statistics)
    fitted = fitting.fit_gamma_gamma(fitting.Spends.of(groups.collect()))
    assert fitted.converged, fitted.message
    assert fitted.customers == 946
    assert {k: round(v, 2) for k, v in fitted.params.items()} == {
        "p": 6.25, "q": 3.74, "gamma": 15.44}
    # the paper's expected spend of master ids 00004, 00021 and 00111 (sample ids 0001,
    # 0002, 0006): x = 2, 1, 7 repeat purchases averaging 22.35, 11.77, 73.74
    expected = {r["customer_id"]: r["spend"] for r in cdnow_statistics
                .where(F.col("customer_id").isin("0001", "0002", "0006"))
                .select("customer_id", gamma_gamma_expected_spend(fitted.params).alias("spend"))
                .collect()}
    assert expected == {"0001": pytest.approx(24.65, abs=0.01),
                        "0002": pytest.approx(18.91, abs=0.01),
                        "0006": pytest.approx(71.46, abs=0.01)}

"""Holdout validation: actual purchase occasions in the holdout window per customer, and
per-bucket totals, MAE and correlation that equal the per-customer computation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.clv.predictions import EXPECTED
from rfm_spark.clv.statistics import purchase_occasions
from rfm_spark.clv.validation import holdout_groups, render, validate

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow_sample.txt"
CALIBRATION_END, HOLDOUT_END = dt.date(1997, 9, 30), dt.date(1998, 6, 30)


def test_holdout_groups_count_occasions_after_the_calibration_end(spark):
    orders = spark.createDataFrame([
        ("O1", "C1", dt.date(2024, 1, 1), "completed"),
        ("O2", "C1", dt.date(2024, 1, 8), "completed"),
        ("O3", "C1", dt.date(2024, 2, 5), "completed"),  # holdout
        ("O4", "C1", dt.date(2024, 2, 5), "completed"),  # same day: one occasion
        ("O5", "C1", dt.date(2024, 3, 9), "completed"),  # after the holdout end
        ("O6", "C2", dt.date(2024, 1, 15), "completed"),
        ("O7", "C3", dt.date(2024, 2, 2), "completed"),  # first bought in the holdout
    ], "order_id string, customer_id string, order_date date, status string")
    items = spark.createDataFrame([(f"O{n}", Decimal("1.00")) for n in range(1, 8)],
                                  "order_id string, line_amount decimal(18,2)")
    occasions = purchase_occasions(orders, items, dt.date(2024, 2, 29), "completed")
    got = holdout_groups(occasions, dt.date(2024, 1, 31), dt.date(2024, 2, 29))
    expected = spark.createDataFrame([(1, 7, 30, 1, 1), (0, 0, 16, 0, 1)],
                                     "repeat_purchases int, recency_days int, "
                                     "tenure_days int, actual long, customers long")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.fixture(scope="module")
def cdnow_rows(spark):
    rows = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
    orders = spark.createDataFrame(
        [(f"O{n}", r[1], dt.datetime.strptime(r[2], "%Y%m%d").date(), "completed")
         for n, r in enumerate(rows)],
        "order_id string, customer_id string, order_date date, status string")
    items = spark.createDataFrame([(f"O{n}", r[4]) for n, r in enumerate(rows)],
                                  "order_id string, line_amount string"
                                  ).withColumn("line_amount", F.col("line_amount").cast(
                                      "decimal(18,2)"))
    occasions = purchase_occasions(orders, items, HOLDOUT_END, "completed")
    return [tuple(r) for r in holdout_groups(occasions, CALIBRATION_END, HOLDOUT_END)
            .collect()], rows


def test_cdnow_holdout_per_bucket_equals_the_per_customer_computation(cdnow_rows):
    groups, raw = cdnow_rows
    days = {(r[1], r[2]) for r in raw if "19971001" <= r[2] <= "19980630"}
    weeks = (HOLDOUT_END - CALIBRATION_END).days / 7
    validations = validate(groups, weeks)
    assert [v.fit.model for v in validations] == ["bgnbd", "pareto_nbd"]
    for v in validations:
        assert v.fit.converged
        by = {b.bucket: b for b in v.buckets}
        assert list(by) == ["0", "1", "2", "3", "4", "5", "6", "7+", "all"]
        assert by["all"].customers == 2357 == sum(by[k].customers for k in list(by)[:-1])
        assert by["all"].actual_purchases == len(days)  # customer-days in the holdout
        # the same numbers customer by customer
        per_customer = np.repeat(np.array(groups, dtype=float), [g[4] for g in groups], axis=0)
        x, recency, tenure, actual = per_customer[:, :4].T
        predicted = EXPECTED[v.fit.model](v.fit.params, x, recency / 7, tenure / 7, weeks)
        assert by["all"].predicted_purchases == pytest.approx(predicted.sum())
        assert by["all"].mae == pytest.approx(np.abs(predicted - actual).mean())
        assert by["all"].correlation == pytest.approx(np.corrcoef(predicted, actual)[0, 1])
        # within 15% of what happened, and ranking customers sensibly
        assert by["all"].predicted_purchases == pytest.approx(len(days), rel=0.15)
        assert by["all"].correlation > 0.5
    assert "better: " in render(validations).splitlines()[-1]

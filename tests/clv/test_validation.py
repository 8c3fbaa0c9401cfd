"""Holdout validation: actual purchase occasions in the holdout window per customer,
per-bucket totals, MAE and correlation that equal the per-customer computation, and the
weekly tracking of cumulative repeat purchases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.clv import tracking
from rfm_spark.clv.predictions import EXPECTED
from rfm_spark.clv.validation import holdout_groups, render, validate
from rfm_spark.intermediate.customer_order_summary import purchase_occasions

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
    occasions = purchase_occasions(orders, items, HOLDOUT_END, "completed").cache()
    yield [tuple(r) for r in holdout_groups(occasions, CALIBRATION_END, HOLDOUT_END)
           .collect()], rows, occasions
    occasions.unpersist()


def test_cdnow_holdout_per_bucket_equals_the_per_customer_computation(cdnow_rows):
    groups, raw, _ = cdnow_rows
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
        # the paper: the 1,411 customers without a repeat purchase in the calibration made
        # 334 in the holdout (0.24 each); BG/NBD predicts 0.23 each
        assert (by["0"].customers, by["0"].actual_purchases) == (1411, 334)
        if v.fit.model == "bgnbd":
            assert round(by["0"].predicted_purchases / 1411, 2) == 0.23
        # within 15% of what happened, and ranking customers sensibly
        assert by["all"].predicted_purchases == pytest.approx(len(days), rel=0.15)
        assert by["all"].correlation > 0.5
    assert "better: " in render(validations).splitlines()[-1]


def test_week_ends_end_on_the_calibration_end_and_the_holdout_end():
    days = tracking.week_ends(dt.date(2024, 1, 2), dt.date(2024, 1, 31), dt.date(2024, 2, 20))
    assert days == [dt.date(2024, 1, 3), dt.date(2024, 1, 10), dt.date(2024, 1, 17),
                    dt.date(2024, 1, 24), dt.date(2024, 1, 31), dt.date(2024, 2, 7),
                    dt.date(2024, 2, 14), dt.date(2024, 2, 20)]


def test_tracking_counts_repeat_occasions_per_week_and_sums_cohorts(spark):
    day = dt.date
    occasions = spark.createDataFrame([
        ("C1", day(2024, 1, 3)), ("C1", day(2024, 1, 10)),  # a repeat in week -3
        ("C1", day(2024, 2, 1)), ("C1", day(2024, 2, 21)),  # week 1; after the holdout end
        ("C2", day(2024, 1, 3)),
        ("C3", day(2024, 2, 1)), ("C3", day(2024, 2, 2)),  # first bought in the holdout
    ], "customer_id string, occasion_date date")
    calibration_end, holdout_end = day(2024, 1, 31), day(2024, 2, 20)
    # holdout groups (x, recency, tenure days, actual, customers) of C1 and C2
    cohorts = tracking.cohorts([(1, 7, 28, 1, 1), (0, 0, 28, 0, 1)], calibration_end)
    assert cohorts == [(day(2024, 1, 3), 2)]
    repeats = tracking.weekly_repeats(occasions, calibration_end, holdout_end)
    assert repeats == {-3: 1, 1: 1}
    params = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    points = tracking.tracking("bgnbd", params, cohorts, repeats, calibration_end, holdout_end)
    assert [(p.week_end, p.actual_cumulative) for p in points] == [
        (day(2024, 1, 3), 0), (day(2024, 1, 10), 1), (day(2024, 1, 17), 1),
        (day(2024, 1, 24), 1), (day(2024, 1, 31), 1), (day(2024, 2, 7), 2),
        (day(2024, 2, 14), 2), (day(2024, 2, 20), 2)]
    for p in points:  # two customers acquired on Jan 3, each expected E[X(t)]
        weeks = (p.week_end - day(2024, 1, 3)).days / 7
        assert p.predicted_cumulative == pytest.approx(
            2 * tracking.expected_since_first_purchase("bgnbd", params, np.array([weeks]))[0])


def test_expected_since_first_purchase_is_the_unconditional_formula():
    """E[X(t)] of BG/NBD (Fader, Hardie & Lee 2005, eq. 9) and Pareto/NBD (Schmittlein et
    al. 1987), written out here independently of the conditional forms."""
    from scipy.special import hyp2f1

    t = np.array([0.5, 10.0, 39.0, 78.0])
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    bgnbd = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                     * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    got = tracking.expected_since_first_purchase(
        "bgnbd", {"r": r, "alpha": alpha, "a": a, "b": b}, t)
    assert got == pytest.approx(bgnbd, rel=1e-9)
    r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
    pareto = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    got = tracking.expected_since_first_purchase(
        "pareto_nbd", {"r": r, "alpha": alpha, "s": s, "beta": beta}, t)
    assert got == pytest.approx(pareto, rel=1e-9)


def test_cdnow_tracking_of_cumulative_repeat_purchases(cdnow_rows):
    groups, raw, occasions = cdnow_rows
    validations = validate(groups, (HOLDOUT_END - CALIBRATION_END).days / 7)
    cohorts = tracking.cohorts(groups, CALIBRATION_END)
    repeats = tracking.weekly_repeats(occasions, CALIBRATION_END, HOLDOUT_END)
    assert len(cohorts) == 84 and sum(n for _, n in cohorts) == 2357  # weeks 1-12 cohorts
    for v in validations:
        points = tracking.tracking(v.fit.model, v.fit.params, cohorts, repeats,
                                   CALIBRATION_END, HOLDOUT_END)
        assert len(points) == 78  # weeks 1-78
        at = {p.week_end: p for p in points}
        # 2,457 repeat purchases in the calibration weeks, 4,339 by week 78; the holdout's
        # 1,882 are the validation's `all` row
        assert at[CALIBRATION_END].actual_cumulative == 2457 == sum(g[0] * g[4] for g in groups)
        assert at[HOLDOUT_END].actual_cumulative == 4339
        assert next(b for b in v.buckets if b.bucket == "all").actual_purchases == 4339 - 2457
        # the models track the calibration within 3% and week 78 within 5%
        assert at[CALIBRATION_END].predicted_cumulative == pytest.approx(2457, rel=0.03)
        assert at[HOLDOUT_END].predicted_cumulative == pytest.approx(4339, rel=0.05)
        predicted = [p.predicted_cumulative for p in points]
        assert predicted == sorted(predicted)

"""marts/customer_lifetime_value from statistics and per-group scores (hand computed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from rfm_spark.clv.mart import customer_lifetime_value
from rfm_spark.config.schema import PAliveBands

AS_OF = dt.date(2024, 3, 29)
STATISTICS = ("customer_id string, repeat_purchases int, recency_days int, "
              "tenure_days int, avg_repeat_spend decimal(18,2), "
              "repeat_spend decimal(18,2), as_of_date date")
SCORES = ("repeat_purchases int, recency_days int, tenure_days int, p_alive double, "
          "expected_purchases double, discounted_purchases double")
MART = ("customer_id string, as_of_date date, repeat_purchases int, recency_weeks double, "
        "tenure_weeks double, avg_repeat_spend decimal(18,2), p_alive double, "
        "expected_purchases double, horizon_weeks double, "
        "expected_avg_spend decimal(18,2), clv decimal(18,2), p_alive_band string")


def test_scores_spend_clv_and_bands(spark):
    statistics = spark.createDataFrame([
        ("C1", 2, 14, 28, Decimal("10.00"), Decimal("20.00"), AS_OF),
        ("C2", 0, 0, 14, None, Decimal("0.00"), AS_OF),
        ("C3", 0, 0, 14, None, Decimal("0.00"), AS_OF),  # same group as C2
        ("C4", 1, 7, 70, Decimal("4.00"), Decimal("4.00"), AS_OF),
    ], STATISTICS)
    scores = spark.createDataFrame([
        (2, 14, 28, 0.8, 1.75, 1.5),
        (0, 0, 14, 0.3, 0.25, 0.2),
        (1, 7, 70, 0.1, 0.05, 0.04),
    ], SCORES)
    # Gamma-Gamma p = 2, q = 3, gamma = 10: E[M] = 2 (10 + total) / (2 x + 2)
    got = customer_lifetime_value(statistics, scores, {"p": 2.0, "q": 3.0, "gamma": 10.0},
                                  horizon_months=12, bands=PAliveBands(0.3, 0.7))
    horizon = 12 * 4.345
    expected = spark.createDataFrame([
        ("C1", AS_OF, 2, 2.0, 4.0, Decimal("10.00"), 0.8, 1.75, horizon, Decimal("10.00"),
         Decimal("15.00"), "Likely Alive"),
        ("C2", AS_OF, 0, 0.0, 2.0, None, 0.3, 0.25, horizon, Decimal("10.00"),
         Decimal("2.00"), "Uncertain"),
        ("C3", AS_OF, 0, 0.0, 2.0, None, 0.3, 0.25, horizon, Decimal("10.00"),
         Decimal("2.00"), "Uncertain"),
        ("C4", AS_OF, 1, 1.0, 10.0, Decimal("4.00"), 0.1, 0.05, horizon, Decimal("7.00"),
         Decimal("0.28"), "Likely Lapsed"),
    ], MART)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_without_a_usable_spend_fit_value_is_null_but_p_alive_stays(spark):
    statistics = spark.createDataFrame(
        [("C1", 2, 14, 28, Decimal("10.00"), Decimal("20.00"), AS_OF)], STATISTICS)
    scores = spark.createDataFrame([(2, 14, 28, 0.8, 1.75, 1.5)], SCORES)
    for spend in (None, {"p": 2.0, "q": 0.9, "gamma": 10.0}):  # q <= 1: no finite mean
        row = customer_lifetime_value(statistics, scores, spend, 12, PAliveBands()).first()
        assert (row["expected_avg_spend"], row["clv"]) == (None, None)
        assert (row["p_alive"], row["p_alive_band"]) == (0.8, "Likely Alive")

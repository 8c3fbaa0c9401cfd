"""The CLV statistics from the customer order summary of staged orders and lines: purchase
occasions are calendar days (two orders on one day are one occasion, their values added),
only counted orders on or before as_of count, an order without lines is worth 0."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from rfm_spark.clv.statistics import clv_statistics, frequency_groups, spend_groups
from rfm_spark.intermediate.customer_order_summary import customer_order_summary

AS_OF = dt.date(2024, 3, 29)
ORDERS = "order_id string, customer_id string, order_date date, status string"
ITEMS = "order_id string, line_amount decimal(18,2)"
STATISTICS = ("customer_id string, repeat_purchases int, recency_days int, "
              "tenure_days int, avg_repeat_spend decimal(18,2), "
              "repeat_spend decimal(18,2), as_of_date date")


def day(n: int) -> dt.date:
    return dt.date(2024, 3, 1) + dt.timedelta(days=n)


def test_statistics_per_customer(spark):
    orders = spark.createDataFrame([
        ("O1", "C1", day(0), "completed"),
        ("O2", "C1", day(7), "completed"),
        ("O3", "C1", day(7), "completed"),   # same day as O2: one occasion
        ("O4", "C1", day(14), "completed"),
        ("O5", "C1", day(21), "cancelled"),  # not counted
        ("O6", "C1", day(40), "completed"),  # after as_of
        ("O7", "C2", day(14), "completed"),  # one occasion: no repeat spend
        ("O8", "C3", day(0), "completed"),
        ("O9", "C3", day(3), "completed"),   # no lines: worth 0
    ], ORDERS)
    items = spark.createDataFrame([
        ("O1", Decimal("10.00")), ("O2", Decimal("5.00")), ("O2", Decimal("1.00")),
        ("O3", Decimal("4.00")), ("O4", Decimal("7.01")), ("O5", Decimal("99.00")),
        ("O6", Decimal("99.00")), ("O7", Decimal("3.00")), ("O8", Decimal("2.00")),
    ], ITEMS)
    got = clv_statistics(customer_order_summary(orders, items, AS_OF, "completed"))
    expected = spark.createDataFrame([
        # occasions day 0 (10), day 7 (5 + 1 + 4), day 14 (7.01); repeats (10 + 7.01) / 2
        ("C1", 2, 14, 28, Decimal("8.51"), Decimal("17.01"), AS_OF),
        ("C2", 0, 0, 14, None, Decimal("0.00"), AS_OF),
        ("C3", 1, 3, 28, Decimal("0.00"), Decimal("0.00"), AS_OF),
    ], STATISTICS)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_groups_count_customers_with_identical_statistics(spark):
    statistics = spark.createDataFrame([
        ("C1", 2, 14, 28, Decimal("8.51"), Decimal("17.01"), AS_OF),
        ("C2", 2, 14, 28, Decimal("8.51"), Decimal("17.01"), AS_OF),
        ("C3", 0, 0, 28, None, Decimal("0.00"), AS_OF),
        ("C4", 1, 7, 28, Decimal("0.00"), Decimal("0.00"), AS_OF),  # no spend: not in GG
    ], STATISTICS)
    assert_df_equality(
        frequency_groups(statistics),
        spark.createDataFrame([(2, 14, 28, 2), (0, 0, 28, 1), (1, 7, 28, 1)],
                              "repeat_purchases int, recency_days int, tenure_days int, "
                              "customers long"),
        ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(
        spend_groups(statistics),
        spark.createDataFrame([(2, 8.505, 2)], "repeat_purchases int, "
                              "mean_repeat_spend double, customers long"),
        ignore_nullable=True)

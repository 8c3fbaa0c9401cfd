"""intermediate/customer_order_summary: one row per customer over their counted orders."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

MONEY = "decimal(18,2)"
COLUMNS = ("customer_id", "first_order_date", "last_order_date", "order_count", "net_amount",
           "purchase_days", "first_day_amount", "as_of_date")
OCCASION_COLUMNS = ("customer_id", "occasion_date", "orders", "occasion_value")


def order_amounts(order_items: DataFrame) -> DataFrame:
    """Net amount per order: sum of quantity * unit_price - discount over its lines."""
    return order_items.groupBy("order_id").agg(
        F.sum("line_amount").cast(MONEY).alias("order_amount")
    )


def counted_orders(orders: DataFrame, as_of: dt.date, counted_status: str) -> DataFrame:
    """Orders that count for RFM: canonical status `counted_status`, dated on or before as_of."""
    is_counted = F.col("status") == F.lit(counted_status)
    not_after_as_of = F.col("order_date") <= F.lit(as_of)
    return orders.where(is_counted & not_after_as_of)


def purchase_occasions(orders: DataFrame, order_items: DataFrame, as_of: dt.date,
                       counted_status: str = "completed") -> DataFrame:
    """One row per customer and calendar day with counted orders on or before as_of (a
    purchase occasion, CONTRACT section 4): the day's orders and their net amount (an order
    without lines adds 0). Partitioned by customer, so summarise() needs no other shuffle."""
    per_order = counted_orders(orders, as_of, counted_status).join(
        order_amounts(order_items), on="order_id", how="left"
    )
    return (
        per_order.repartition("customer_id")
        .groupBy("customer_id", F.col("order_date").alias("occasion_date"))
        .agg(F.count("order_id").alias("orders"),
             F.coalesce(F.sum("order_amount"), F.lit(0)).alias("occasion_value"))
        .select(*OCCASION_COLUMNS)
    )


def summarise(occasions: DataFrame, as_of: dt.date) -> DataFrame:
    """The summary row of each customer from their purchase occasions."""
    return occasions.groupBy("customer_id").agg(
        F.min("occasion_date").alias("first_order_date"),
        F.max("occasion_date").alias("last_order_date"),
        F.sum("orders").cast("int").alias("order_count"),
        F.sum("occasion_value").cast(MONEY).alias("net_amount"),
        F.count(F.lit(1)).cast("int").alias("purchase_days"),
        F.min_by("occasion_value", "occasion_date").cast(MONEY).alias("first_day_amount"),
        F.lit(as_of).cast("date").alias("as_of_date"),
    ).select(*COLUMNS)


def customer_order_summary(
    orders: DataFrame,
    order_items: DataFrame,
    as_of: dt.date,
    counted_status: str = "completed",
) -> DataFrame:
    """First/last counted order date, counted order count and net amount per customer, the
    days with counted orders and the first such day's amount (the CLV statistics' inputs),
    and the as_of they were computed at. An order without (valid) lines counts 0."""
    return summarise(purchase_occasions(orders, order_items, as_of, counted_status), as_of)

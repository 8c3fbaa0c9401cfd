"""intermediate/customer_order_summary: one row per customer over their counted orders."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

MONEY = "decimal(18,2)"
COLUMNS = ("customer_id", "first_order_date", "last_order_date", "order_count", "net_amount",
           "as_of_date")


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


def customer_order_summary(
    orders: DataFrame,
    order_items: DataFrame,
    as_of: dt.date,
    counted_status: str = "completed",
) -> DataFrame:
    """First/last counted order date, counted order count and net amount per customer, and
    the as_of they were computed at.

    An order without (valid) lines counts with an amount of 0.
    """
    per_order = counted_orders(orders, as_of, counted_status).join(
        order_amounts(order_items), on="order_id", how="left"
    )
    return per_order.groupBy("customer_id").agg(
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.count("order_id").cast("int").alias("order_count"),
        F.coalesce(F.sum("order_amount"), F.lit(0)).cast(MONEY).alias("net_amount"),
        F.lit(as_of).cast("date").alias("as_of_date"),
    ).select(*COLUMNS)

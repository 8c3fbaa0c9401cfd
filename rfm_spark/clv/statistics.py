"""The CLV models' inputs, computed in Spark: per customer sufficient statistics at as_of,
and the same statistics grouped with counts (what the driver receives for fitting).

A purchase occasion is a calendar day with at least one counted order (CONTRACT section 4);
its value is the sum of those orders' net amounts (an order without lines counts 0).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.intermediate.customer_order_summary import MONEY, counted_orders, order_amounts

COLUMNS = ("customer_id", "repeat_purchases", "recency_days", "tenure_days",
           "avg_repeat_spend", "repeat_spend", "as_of_date")
FREQUENCY_KEYS = ("repeat_purchases", "recency_days", "tenure_days")
FREQUENCY_COLUMNS = (*FREQUENCY_KEYS, "customers")
SPEND_COLUMNS = ("repeat_purchases", "mean_repeat_spend", "customers")


def purchase_occasions(orders: DataFrame, order_items: DataFrame, as_of: dt.date,
                       counted_status: str) -> DataFrame:
    """One row per customer and day with a counted order on or before as_of, with the
    day's value."""
    per_order = counted_orders(orders, as_of, counted_status).join(
        order_amounts(order_items), on="order_id", how="left")
    return per_order.groupBy("customer_id", "order_date").agg(
        F.coalesce(F.sum("order_amount"), F.lit(0)).cast(MONEY).alias("occasion_value")
    ).select("customer_id", F.col("order_date").alias("occasion_date"), "occasion_value")


def clv_statistics(occasions: DataFrame, as_of: dt.date) -> DataFrame:
    """repeat_purchases x (occasions - 1), recency_days (first to last occasion: t_x in
    days), tenure_days (first occasion to as_of: T in days) and avg_repeat_spend (mean value of the
    occasions after the first, in cents; NULL when there are none) per customer, with
    repeat_spend, the exact total of those occasions (the Gamma-Gamma fit's input)."""
    first = F.min("occasion_date")
    per_customer = occasions.groupBy("customer_id").agg(
        first.alias("first_date"),
        F.max("occasion_date").alias("last_date"),
        F.count(F.lit(1)).alias("occasions"),
        F.sum("occasion_value").alias("total_value"),
        F.min_by("occasion_value", "occasion_date").alias("first_value"),
    )
    repeats = F.col("occasions") - 1
    repeat_spend = F.col("total_value") - F.col("first_value")
    return per_customer.select(
        "customer_id",
        repeats.cast("int").alias("repeat_purchases"),
        F.datediff("last_date", "first_date").alias("recency_days"),
        F.datediff(F.lit(as_of), "first_date").alias("tenure_days"),
        F.when(repeats > 0, repeat_spend / repeats).cast(MONEY).alias("avg_repeat_spend"),
        repeat_spend.cast(MONEY).alias("repeat_spend"),
        F.lit(as_of).cast("date").alias("as_of_date"),
    )


def frequency_groups(statistics: DataFrame) -> DataFrame:
    """Customers counted per identical (x, t_x, T): the BG/NBD and Pareto/NBD fits' input,
    and the key their scores are joined back on."""
    return statistics.groupBy(*FREQUENCY_KEYS).agg(
        F.count(F.lit(1)).alias("customers")).select(*FREQUENCY_COLUMNS)


def spend_groups(statistics: DataFrame) -> DataFrame:
    """Customers counted per identical (x, repeat spend), repeat buyers with a positive
    spend only, with the exact mean (not rounded to cents): the Gamma-Gamma fit's input."""
    spenders = statistics.where((F.col("repeat_purchases") > 0) & (F.col("repeat_spend") > 0))
    return spenders.groupBy("repeat_purchases", "repeat_spend").agg(
        F.count(F.lit(1)).alias("customers"),
    ).select(
        "repeat_purchases",
        (F.col("repeat_spend").cast("double") / F.col("repeat_purchases"))
        .alias("mean_repeat_spend"),
        "customers",
    )

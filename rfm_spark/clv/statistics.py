"""The CLV models' inputs, computed in Spark: per customer sufficient statistics at as_of,
and the same statistics grouped with counts (what the driver receives for fitting).

A purchase occasion is a calendar day with at least one counted order (CONTRACT section 4);
its value is the sum of those orders' net amounts (an order without lines counts 0). The
customer order summary counts them (intermediate/customer_order_summary.py); the statistics
are columns of it.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.intermediate.customer_order_summary import MONEY

COLUMNS = ("customer_id", "repeat_purchases", "recency_days", "tenure_days",
           "avg_repeat_spend", "repeat_spend", "as_of_date")
FREQUENCY_KEYS = ("repeat_purchases", "recency_days", "tenure_days")
FREQUENCY_COLUMNS = (*FREQUENCY_KEYS, "customers")
SPEND_COLUMNS = ("repeat_purchases", "mean_repeat_spend", "customers")


def clv_statistics(summary: DataFrame) -> DataFrame:
    """From intermediate.customer_order_summary (maintained incrementally: only customers
    whose orders changed are recomputed): repeat_purchases x (purchase days - 1),
    recency_days (first to last purchase day: t_x in days), tenure_days (first purchase day
    to as_of: T in days), avg_repeat_spend (mean value of the days after the first; NULL
    when there are none) and repeat_spend, their exact total (the Gamma-Gamma fit's input)."""
    repeats = F.col("purchase_days") - 1
    repeat_spend = F.col("net_amount") - F.col("first_day_amount")
    return summary.select(
        "customer_id",
        repeats.cast("int").alias("repeat_purchases"),
        F.datediff("last_order_date", "first_order_date").alias("recency_days"),
        F.datediff("as_of_date", "first_order_date").alias("tenure_days"),
        F.when(repeats > 0, repeat_spend / repeats).cast(MONEY).alias("avg_repeat_spend"),
        repeat_spend.cast(MONEY).alias("repeat_spend"),
        "as_of_date",
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

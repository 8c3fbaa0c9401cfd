"""marts/top_customers: the top N customers by monetary value, with their share of revenue."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from rfm_spark.config import ActivityRules
from rfm_spark.functions import safe_ratio

COLUMNS = ("top_rank", "customer_id", "monetary", "revenue_share", "cumulative_revenue_share",
           "frequency", "last_order_date", "recency_days", "activity_status", "value_tier",
           "churn_status", "rfm_score", "behavioral_segment", "as_of_date")


def activity_status(recency_days: Column, rules: ActivityRules) -> Column:
    return (
        F.when(recency_days <= rules.highly_active_max_days, "Highly Active")
        .when(recency_days <= rules.active_max_days, "Active")
        .otherwise("Inactive")
    )


def value_tier(monetary: Column, high_value_min_monetary: float) -> Column:
    high = monetary >= F.lit(high_value_min_monetary).cast("decimal(18,2)")
    return F.when(high, "High Value").otherwise("Low Value")


def top_customers(
    segmentation: DataFrame,
    n: int,
    activity: ActivityRules,
    high_value_min_monetary: float,
) -> DataFrame:
    """Top `n` by monetary desc, customer_id asc; shares are of all scored customers' revenue."""
    total = segmentation.agg(F.sum("monetary").alias("_total_monetary"))
    top = segmentation.orderBy(F.col("monetary").desc(), F.col("customer_id").asc()).limit(n)
    # Rank and running total from a self-join of the (at most n) top rows: each row counts
    # and sums the rows at or ahead of it. No window over all rows, no funnel.
    ahead = top.select(F.col("customer_id").alias("_other"), F.col("monetary").alias("_m"))
    at_or_ahead = (F.col("_m") > F.col("monetary")) | (
        (F.col("_m") == F.col("monetary")) & (F.col("_other") <= F.col("customer_id")))
    ranked = (
        top.join(F.broadcast(ahead), on=at_or_ahead, how="inner")
        .groupBy(*top.columns)
        .agg(F.count(F.lit(1)).alias("top_rank"), F.sum("_m").alias("_cumulative"))
    )
    return (
        ranked.crossJoin(F.broadcast(total))
        .select(
            F.col("top_rank").cast("int"),
            "customer_id",
            "monetary",
            safe_ratio("monetary", "_total_monetary").alias("revenue_share"),
            safe_ratio("_cumulative", "_total_monetary").alias("cumulative_revenue_share"),
            "frequency",
            "last_order_date",
            "recency_days",
            activity_status(F.col("recency_days"), activity).alias("activity_status"),
            value_tier(F.col("monetary"), high_value_min_monetary).alias("value_tier"),
            "churn_status",
            "rfm_score",
            "behavioral_segment",
            "as_of_date",
        )
    )

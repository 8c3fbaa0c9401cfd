"""intermediate/rfm_scores: recency, frequency, monetary and their ntile scores."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window as W, functions as F

from rfm_spark.functions import days_between, ntile_score

MONEY = "decimal(18,2)"
COLUMNS = ("customer_id", "as_of_date", "first_order_date", "last_order_date", "recency_days",
           "frequency", "monetary", "avg_order_value", "r_score", "f_score", "m_score",
           "rfm_score", "rfm_total", "rfm_rank")


def rfm_base(summary: DataFrame, as_of: dt.date) -> DataFrame:
    """Recency (days from the last counted order to as_of), frequency, monetary, average."""
    return summary.select(
        "customer_id",
        F.lit(as_of).cast("date").alias("as_of_date"),
        "first_order_date",
        "last_order_date",
        days_between("last_order_date", F.lit(as_of)).cast("int").alias("recency_days"),
        F.col("order_count").cast("int").alias("frequency"),
        F.col("net_amount").cast(MONEY).alias("monetary"),
        (F.col("net_amount") / F.col("order_count")).cast(MONEY).alias("avg_order_value"),
    )


def score(base: DataFrame, ntile: int) -> DataFrame:
    """R, F, M scores 1..ntile (higher is better), rfm_score, rfm_total and rfm_rank.

    R orders by recency_days descending, F by frequency, M by monetary ascending; ties go
    by customer_id ascending. rfm_rank: rfm_total desc, monetary desc, customer_id asc.
    """
    scored = base.select(
        "*",
        ntile_score(ntile, "recency_days", ascending=False).alias("r_score"),
        ntile_score(ntile, "frequency").alias("f_score"),
        ntile_score(ntile, "monetary").alias("m_score"),
    )
    rank_order = W.orderBy(
        F.col("rfm_total").desc(), F.col("monetary").desc(), F.col("customer_id").asc()
    )
    return (
        scored.withColumn("rfm_total", F.col("r_score") + F.col("f_score") + F.col("m_score"))
        .withColumn("rfm_rank", F.row_number().over(rank_order))
        .select(
            "customer_id",
            "as_of_date",
            "first_order_date",
            "last_order_date",
            "recency_days",
            "frequency",
            "monetary",
            "avg_order_value",
            F.col("r_score").cast("int").alias("r_score"),
            F.col("f_score").cast("int").alias("f_score"),
            F.col("m_score").cast("int").alias("m_score"),
            F.concat_ws("", "r_score", "f_score", "m_score").alias("rfm_score"),
            F.col("rfm_total").cast("int").alias("rfm_total"),
            F.col("rfm_rank").cast("int").alias("rfm_rank"),
        )
    )


def rfm_scores(summary: DataFrame, as_of: dt.date, ntile: int = 5) -> DataFrame:
    return summary.transform(rfm_base, as_of).transform(score, ntile)

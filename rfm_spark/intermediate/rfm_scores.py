"""intermediate/rfm_scores: recency, frequency, monetary and their ntile scores."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from rfm_spark.functions import days_between, ntile_score
from rfm_spark.intermediate.ntile import (
    Ordering,
    monotone_bin,
    position,
    rank_in_groups,
    with_ntiles,
)
from rfm_spark.materialize import local_checkpoint

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


def _rank_order() -> tuple:
    """rfm_rank's order (Columns need a running Spark, so they are built on call)."""
    return F.col("rfm_total").desc(), F.col("monetary").desc(), F.col("customer_id").asc()


def score(base: DataFrame, ntile: int) -> DataFrame:
    """R, F, M scores 1..ntile (higher is better), rfm_score, rfm_total and rfm_rank.

    R orders by recency_days descending, F by frequency, M by monetary ascending; ties go
    by customer_id ascending. rfm_rank: rfm_total desc, monetary desc, customer_id asc.
    Computed without single-partition windows (see intermediate/ntile.py);
    score_with_windows is the reference implementation.
    """
    tie, monetary = F.col("customer_id"), F.col("monetary")
    # The scores' histograms and the scores both read the base, and the rank's group sizes
    # and the rank both read the scores: each is computed once (where the session allows).
    base = local_checkpoint(base) or base
    scored = with_ntiles(base, ntile, {
        "r_score": Ordering(position(F.col("recency_days"), descending=True), (tie,)),
        "f_score": Ordering(position(F.col("frequency")), (tie,)),
        "m_score": Ordering(position(monotone_bin(monetary)), (monetary, tie)),
    }).withColumn("rfm_total", F.col("r_score") + F.col("f_score") + F.col("m_score"))
    scored = local_checkpoint(scored) or scored
    ranked = rank_in_groups(
        scored,
        [position(F.col("rfm_total"), descending=True),
         position(monotone_bin(monetary), descending=True)],
        _rank_order(), "rfm_rank")
    return _output(ranked)


def score_with_windows(base: DataFrame, ntile: int) -> DataFrame:
    """The same scores with ntile()/row_number() windows over all rows (one task)."""
    scored = base.select(
        "*",
        ntile_score(ntile, "recency_days", ascending=False).alias("r_score"),
        ntile_score(ntile, "frequency").alias("f_score"),
        ntile_score(ntile, "monetary").alias("m_score"),
    ).withColumn("rfm_total", F.col("r_score") + F.col("f_score") + F.col("m_score"))
    rank_order = W.orderBy(*_rank_order())
    return _output(scored.withColumn("rfm_rank", F.row_number().over(rank_order)))


def _output(scored: DataFrame) -> DataFrame:
    return (
        scored.select(
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

"""snapshots/customer_segment_history: each customer's segments over as-of dates (SCD2).

A run at as_of takes a snapshot of marts.customer_segmentation, with each customer's
p_alive_band from marts.customer_lifetime_value (NULL when CLV is off or the customer is
not scored by it). A customer's current row
stays while its tracked columns are unchanged; a change closes it (valid_to = as_of) and
opens a new row (valid_from = as_of); a customer no longer scored has its row closed.
A second run at the same as_of first undoes that as_of's step (rows opened at it are
dropped, rows closed at it reopened), then applies the new snapshot: same input, same
history; new data at the same as_of, the snapshot replaced.

row_hash is the JSON of the tracked columns, in which NULL columns are left out: a history
written before p_alive_band was tracked keeps its hashes once the column is added as NULL
(`with_tracked_columns`), so only customers whose band is now known open a new row.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.functions import content_hash

KEY = "customer_id"
SEGMENTS = ("rfm_score", "rfm_segment", "churn_status", "behavioral_segment")
BAND = "p_alive_band"
TRACKED = (*SEGMENTS, BAND)
COLUMNS = (KEY, *TRACKED, "valid_from", "valid_to", "is_current", "row_hash")
MIGRATION_COLUMNS = ("from_as_of", "to_as_of", "from_segment", "to_segment", "customers")


def with_p_alive_band(segmentation: DataFrame, lifetime_value: DataFrame | None
                      ) -> DataFrame:
    """The segmentation with each customer's p_alive_band from the CLV mart (NULL where
    there is none)."""
    if lifetime_value is None:
        return segmentation.withColumn(BAND, F.lit(None).cast("string"))
    return segmentation.join(lifetime_value.select(KEY, BAND), KEY, "left")


def with_tracked_columns(history: DataFrame) -> DataFrame:
    """A stored history with every tracked column (one written before a column was tracked
    gets it as NULL, which leaves its row_hash valid)."""
    missing = [c for c in TRACKED if c not in history.columns]
    for column in missing:
        history = history.withColumn(column, F.lit(None).cast("string"))
    return history.select(*COLUMNS) if missing else history


def empty_history(segmentation: DataFrame) -> DataFrame:
    return snapshot_rows(with_p_alive_band(segmentation, None), dt.date(1970, 1, 1)).limit(0)


def snapshot_rows(segmentation: DataFrame, as_of: dt.date) -> DataFrame:
    """The segmentation as history rows opened at as_of."""
    return segmentation.select(
        KEY, *TRACKED,
        F.lit(as_of).cast("date").alias("valid_from"),
        F.lit(None).cast("date").alias("valid_to"),
        F.lit(True).alias("is_current"),
        content_hash(TRACKED).alias("row_hash"),
    )


def next_history(history: DataFrame, segmentation: DataFrame, as_of: dt.date) -> DataFrame:
    """The whole history after the snapshot at as_of (as_of >= every valid_from); the
    segmentation carries p_alive_band (`with_p_alive_band`)."""
    day = F.lit(as_of).cast("date")
    undone = (
        with_tracked_columns(history).where(F.col("valid_from") < day)
        .withColumn("valid_to", F.when(F.col("valid_to") < day, F.col("valid_to")))
        .withColumn("is_current", F.col("valid_to").isNull())
    )
    closed = undone.where(~F.col("is_current"))
    current = undone.where(F.col("is_current")).alias("h")
    snap = snapshot_rows(segmentation, as_of).alias("s")
    joined = current.join(snap, on=F.col(f"h.{KEY}") == F.col(f"s.{KEY}"), how="full_outer")
    unchanged = F.col("h.row_hash") == F.col("s.row_hash")
    keep = joined.where(unchanged).select("h.*")
    ended = joined.where(F.col(f"h.{KEY}").isNotNull() & ~F.coalesce(unchanged, F.lit(False))) \
        .select("h.*").withColumn("valid_to", day).withColumn("is_current", F.lit(False))
    opened = joined.where(F.col(f"s.{KEY}").isNotNull() & ~F.coalesce(unchanged, F.lit(False))) \
        .select("s.*")
    return (closed.unionByName(keep).unionByName(ended).unionByName(opened)
            .select(*COLUMNS))


def segment_at(history: DataFrame, day: dt.date) -> DataFrame:
    """Each customer's row valid on `day`."""
    d = F.lit(day).cast("date")
    return history.where((F.col("valid_from") <= d)
                         & (F.col("valid_to").isNull() | (F.col("valid_to") > d)))


def segment_migration(history: DataFrame, from_day: dt.date, to_day: dt.date,
                      column: str = "rfm_segment") -> DataFrame:
    """Customers per (from segment, to segment) between two as-of dates; a customer not
    scored on one of the dates counts under '(not scored)'."""
    before = segment_at(history, from_day).select(KEY, F.col(column).alias("from_segment"))
    after = segment_at(history, to_day).select(KEY, F.col(column).alias("to_segment"))
    return (
        before.join(after, KEY, "full_outer")
        .select(F.lit(from_day).cast("date").alias("from_as_of"),
                F.lit(to_day).cast("date").alias("to_as_of"),
                F.coalesce("from_segment", F.lit("(not scored)")).alias("from_segment"),
                F.coalesce("to_segment", F.lit("(not scored)")).alias("to_segment"))
        .groupBy("from_as_of", "to_as_of", "from_segment", "to_segment")
        .agg(F.count(F.lit(1)).cast("long").alias("customers"))
    )

"""snapshots/customers_history: SCD Type 2 history of customers' tracked attributes.

The history of a customer is a pure function of all its accepted versions, so it is exact
whatever order the versions arrive in:
- versions are taken in `updated_at` order (equal timestamps: the greater row, as in
  staging); a version opens a new history row only when a tracked attribute differs
  from the version before it (NULL-safe: NULL -> value and value -> NULL are changes);
- a version with `is_deleted` closes the open row (`valid_to` = its `updated_at`,
  `is_deleted` = true); a second delete changes nothing; a customer that comes back opens
  a new row even with the same attributes;
- `valid_from` = the version's `updated_at`; `valid_to` = the next row's `valid_from` (or
  the delete's time), NULL while current.
A late version with an older `updated_at` therefore lands at its place in the history,
and the neighbouring rows' intervals follow.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from rfm_spark.functions import content_hash, row_order

KEY = "customer_id"


def row_hash(tracked: Sequence[str]) -> Column:
    return content_hash(tracked)


def history_columns(tracked: Sequence[str]) -> tuple[str, ...]:
    return (KEY, *tracked, "valid_from", "valid_to", "is_current", "is_deleted", "row_hash")


def build_history(versions: DataFrame, tracked: Sequence[str], all_columns: Sequence[str]
                  ) -> DataFrame:
    """History rows from customer versions (customer_id, updated_at, is_deleted, the tracked
    attributes; `all_columns` decide ties between versions with the same updated_at)."""
    by_time = W.partitionBy(KEY, "updated_at").orderBy(row_order(all_columns).desc())
    ordered = W.partitionBy(KEY).orderBy("updated_at")
    one_per_instant = (
        versions.withColumn("_n", F.row_number().over(by_time))
        .where(F.col("_n") == 1)
        .select(KEY, "updated_at", "is_deleted", *tracked, row_hash(tracked).alias("row_hash"))
    )
    previous_deleted = F.lag("is_deleted").over(ordered)
    previous_hash = F.lag("row_hash").over(ordered)
    is_delete = F.col("is_deleted")
    opens = ~is_delete & (previous_deleted.isNull() | previous_deleted
                          | (previous_hash != F.col("row_hash")))
    closes = is_delete & (previous_deleted == F.lit(False))
    events = (
        one_per_instant.withColumn("_opens", opens).withColumn("_closes", closes)
        .where(F.col("_opens") | F.col("_closes"))
    )
    next_event = W.partitionBy(KEY).orderBy("updated_at")
    return (
        events.withColumn("_next_at", F.lead("updated_at").over(next_event))
        .withColumn("_next_is_delete", F.lead("_closes").over(next_event))
        .where(F.col("_opens"))
        .select(
            KEY,
            *tracked,
            F.col("updated_at").alias("valid_from"),
            F.col("_next_at").alias("valid_to"),
            F.col("_next_at").isNull().alias("is_current"),
            F.coalesce(F.col("_next_is_delete"), F.lit(False)).alias("is_deleted"),
            "row_hash",
        )
    )

"""What an incremental run must recompute: pure functions from the batch's files and the
staged frames to the keys in scope. The runner writes only those keys' rows (ReplaceGroups),
so each function here decides, on its own, whether incremental equals full refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.staging.cleansing import SOURCE_FILE


def from_files(log: DataFrame, files: Sequence[str], key: str) -> DataFrame:
    """Keys of a version log's rows that came from `files` (one row per key)."""
    return log.where(F.col(SOURCE_FILE).isin(list(files))).select(key).distinct()


def touched_orders(order_versions: DataFrame, order_lines: DataFrame,
                   order_files: Sequence[str], line_files: Sequence[str]) -> DataFrame:
    """Orders with a new version or new lines in the batch: their line sets are chosen again."""
    return (from_files(order_versions, order_files, "order_id")
            .unionByName(from_files(order_lines, line_files, "order_id"))
            .distinct())


def customers_of_orders(order_versions: DataFrame, orders: DataFrame) -> DataFrame:
    """Every customer any version of these orders belonged to: an order moved from one
    customer to another changes both customers' totals."""
    return (order_versions.join(orders.select("order_id"), "order_id", "left_semi")
            .select("customer_id").distinct())


def customers_in_window(orders: DataFrame, previous: dt.date, as_of: dt.date,
                        counted_status: str) -> DataFrame:
    """Customers with a counted order between the previous as_of and the new one (either
    way): their totals at the new as_of differ from the stored ones."""
    low, high = sorted((previous, as_of))
    in_window = ((F.col("status") == counted_status) & (F.col("order_date") > F.lit(low))
                 & (F.col("order_date") <= F.lit(high)))
    return orders.where(in_window).select("customer_id").distinct()


def summary_scope(order_versions: DataFrame, orders: DataFrame,
                  touched: DataFrame | None, previous: dt.date, as_of: dt.date,
                  counted_status: str) -> DataFrame:
    """The customers whose summary row an incremental run recomputes."""
    scope = orders.limit(0).select("customer_id")
    if touched is not None:
        scope = scope.unionByName(customers_of_orders(order_versions, touched))
    if previous != as_of:
        scope = scope.unionByName(customers_in_window(orders, previous, as_of, counted_status))
    return scope.distinct()


def changed_groups(new: DataFrame, current: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Keys of the groups whose rows differ between `new` and `current` (a row added,
    removed or changed); `current`'s columns are taken in `new`'s order."""
    current = current.select(*new.columns)
    differing = new.subtract(current).unionByName(current.subtract(new))
    return differing.select(*keys).distinct()


def rows_of(df: DataFrame, scope: DataFrame, keys: Sequence[str]) -> DataFrame:
    """The rows of `df` whose keys are in scope (columns as in `df`). The keys are aliased
    first: a scope checkpointed from `df` itself keeps `df`'s attribute ids, which Spark
    cannot tell apart in a join without adaptive execution ([INTERNAL_ERROR] conflicting
    attributes)."""
    keyed = scope.select(*[F.col(k).alias(k) for k in keys])
    return df.join(keyed, list(keys), "left_semi").select(*df.columns)

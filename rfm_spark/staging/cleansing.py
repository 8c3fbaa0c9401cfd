"""Steps every staging table shares: keep the raw row beside its typed form, log every
delivered row once with its reasons (the version log), split the rows that cannot be
trusted off to quarantine, keep the latest version of each key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from rfm_spark.functions import reasons, row_order

RAW = "_raw"
REASONS = "_dq_reasons"
SOURCE_FILE = "_source_file"


def with_raw(raw_columns: Sequence[str]) -> list[Column]:
    """The untouched raw columns as one struct, for quarantine, and the row's file."""
    return [F.struct(*[F.col(c) for c in raw_columns]).alias(RAW), F.col(SOURCE_FILE)]


def parsed_once(raw: DataFrame, fields: Mapping[str, Column]
                ) -> tuple[DataFrame, dict[str, Column]]:
    """`raw` with each of `fields` computed once into a column of its own, and a reference
    to each. A standardiser's checks then read a parsed value instead of parsing it again:
    one Column used in several places of one select is evaluated at each place (inside OR
    chains, CASE and coalesce Spark does not share it), whereas a select over these columns
    is not folded into this one when that would repeat an expensive expression.
    Measured: the orders' typing and checks took half the time (1M orders, 7.0 -> 3.3 s)."""
    hidden = {f"_parsed_{name}": expr for name, expr in fields.items()}
    return raw.withColumns(hidden), {name: F.col(column) for name, column in
                                     zip(fields, hidden, strict=True)}


def as_logged(validated: DataFrame) -> DataFrame:
    """Checked rows as a version log keeps them, every row of a delivery: `_dq_reasons` is
    NULL on an accepted row (the array only where a reason sends the row to quarantine),
    and `_raw`, the row's text, is kept on rejected rows only."""
    rejected = F.size(REASONS) > 0
    return validated.withColumns({REASONS: F.when(rejected, F.col(REASONS)),
                                  RAW: F.when(rejected, F.col(RAW))})


def dq_reasons(checks: Sequence[tuple[Column, str]], raw_columns: Sequence[str]) -> Column:
    """Reasons a row goes to quarantine. Always checked: `_malformed` (a CSV line of the
    wrong shape) and `invalid_encoding` (bytes that are not UTF-8 reach Spark as U+FFFD)."""
    replaced = F.lit(False)
    for column in raw_columns:
        replaced = replaced | F.coalesce(F.col(column).contains("\ufffd"), F.lit(False))
    return reasons([(F.col("_malformed"), "malformed_row"), (replaced, "invalid_encoding"),
                    *checks]).alias(REASONS)


@dataclass(frozen=True)
class TimeBounds:
    """The times a row may hold: not before `earliest`, not after `latest` (the run's time
    plus a tolerance). Anything outside is quarantined: one 9999-12-31 order would move
    as_of for every customer."""

    earliest: dt.datetime
    latest: dt.datetime

    @staticmethod
    def of(earliest_date: str, run_time: dt.datetime, tolerance_days: int) -> TimeBounds:
        # aware (UTC) datetimes: Spark compares instants, whatever the machine's time zone
        earliest = dt.datetime.combine(dt.date.fromisoformat(earliest_date), dt.time(),
                                       dt.UTC)
        latest = run_time.astimezone(dt.UTC) + dt.timedelta(days=tolerance_days)
        return TimeBounds(earliest, latest)

    def checks(self, column: str, parsed: Column) -> list[tuple[Column, str]]:
        """`<column>_before_earliest` and `<column>_in_future` for a parsed time or date."""
        as_time = parsed.cast("timestamp")
        return [(as_time < F.lit(self.earliest), f"{column}_before_earliest"),
                (as_time > F.lit(self.latest), f"{column}_in_future")]


def accepted_rows(logged: DataFrame) -> DataFrame:
    """The rows of a version log (as_logged) with no reason against them, without
    `_dq_reasons` and `_raw`. A log written before logs kept rejected rows has no
    `_dq_reasons`: all its rows are accepted ones."""
    if REASONS not in logged.columns:
        return logged.drop(RAW)
    return logged.where(F.col(REASONS).isNull()).drop(REASONS, RAW)


def quarantine_rows(logged: DataFrame, run_id: str) -> DataFrame:
    """The rejected rows of a version log (as_logged) as the contract keeps them: raw
    columns, `_dq_reasons`, `_source_file`, `_run_id`."""
    return logged.where(F.col(REASONS).isNotNull()).select(
        f"{RAW}.*", SOURCE_FILE, REASONS, F.lit(run_id).alias("_run_id")
    )


def log_rows(checked: DataFrame, columns: Sequence[str]) -> DataFrame:
    """A version log's rows: `columns` of every checked row, with its reasons and raw text
    as as_logged keeps them."""
    return as_logged(checked).select(*columns, REASONS, RAW)


def latest_per_key(
    df: DataFrame,
    keys: Sequence[str],
    order_by: Sequence[Column],
    columns: Sequence[str],
) -> DataFrame:
    """One row per key with `columns`: the first by `order_by`, then the greater row of
    `columns` (functions.row_order, the tie-breaker the staging MERGE uses too), so the
    answer does not depend on the order files arrive in nor on whether they arrive in one
    run or many."""
    window = W.partitionBy(*keys).orderBy(*order_by, row_order(columns).desc())
    return (
        df.withColumn("_version_rank", F.row_number().over(window))
        .where(F.col("_version_rank") == 1)
        .select(*columns)
    )


def delivery_name(source_file: str | Column = SOURCE_FILE) -> Column:
    """A delivery is named by its file name (orders/d7.csv pairs with order_items/d7.csv):
    what follows the path's last '/'. Paths are URIs with '/' separators; a backslash is
    part of a (Linux) file name. A scan from the end of the string, not a regular
    expression: it runs on every row a version log writes, and `([^/]+)$` tried at each
    position of a path took ~12% of a full refresh's task time at 1M orders."""
    col = F.col(source_file) if isinstance(source_file, str) else source_file
    return F.substring_index(col, "/", -1)

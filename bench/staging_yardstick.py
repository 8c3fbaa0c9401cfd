"""The staging yardstick of `make bench`: orders and order lines from the raw CSV landing to
typed, deduplicated tables, by rfm_spark's staging (quarantine, version logs, latest order
versions, the chosen line sets, all in Delta) and by DuckDB (typed, latest row per key,
Parquet), side by side in one process.

DuckDB's twin is a floor, not a copy: it types the same columns with the same timestamp
formats and status map, drops rows a required field is missing from or does not parse in,
(a blank discount is 0, as in staging) and keeps the latest row per key (orders by
updated_at, lines by their delivery file). It
keeps no quarantine, no version log and no raw text, and does not pair lines with order
versions, so its key counts are reported next to ours rather than compared row by row.
Our figure includes the empty customers and products tables a staging full refresh also
writes (6 of its 12 commits, a few seconds).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from counters import Row, counted
from pyspark.sql import SparkSession

from rfm_spark.io.warehouse import Warehouse
from rfm_spark.model import BuildContext
from rfm_spark.runner.pipeline import list_landing
from rfm_spark.runner.staging import Batch, stage, with_keys
from rfm_spark.staging.orders import status_lookup

STAGED = ("orders", "order_items")
# Java DateTimeFormatter patterns of conf/base.yaml and their strptime spellings.
STRPTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S",
            ".SSS": ".%g", "XXX": "%z", "'T'": "T"}


def strptime_formats(java: str) -> list[str]:
    """The strptime spellings of a Java pattern: an offset (XXX) is also written 'Z'."""
    for pattern, spelling in STRPTIME.items():
        java = java.replace(pattern, spelling)
    return [java, java.replace("%z", "Z")] if "%z" in java else [java]


def _id(column: str) -> str:
    return f"upper(nullif(regexp_replace(r.{column}, '\\s', '', 'g'), ''))"


def latest_per_key(typed: str, keys: str, newest_first: str, required: list[str],
                   out: Path) -> str:
    """COPY to Parquet: the rows of `typed` with every `required` column set, one per key."""
    complete = " AND ".join(f"{c} IS NOT NULL" for c in required)
    return f"""
      COPY (SELECT * EXCLUDE (rn) FROM (
        SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY {newest_first}) AS rn
        FROM ({typed}) WHERE {complete}) WHERE rn = 1)
      TO '{out}' (FORMAT PARQUET)"""


def duckdb_sql(landing: Path, out: Path, formats: list[str], status_map) -> list[str]:
    listed = ", ".join(f"'{spelling}'" for f in formats for spelling in strptime_formats(f))

    def ts(column: str) -> str:
        return f"try_strptime(trim(r.{column}), [{listed}])::TIMESTAMP"

    def decimal(column: str) -> str:
        return f"try_cast(trim(r.{column}) AS DECIMAL(18, 2))"

    lookup = status_lookup(status_map)
    status = "CASE regexp_replace(lower(trim(r.status)), '[\\s_\\-]+', ' ', 'g') " + " ".join(
        f"WHEN '{raw}' THEN '{canonical}'" for raw, canonical in lookup.items()) + " END"
    read = ("read_csv('{}/*.csv', header = true, delim = ',', quote = '\"', escape = '\"', "
            "all_varchar = true, filename = true, ignore_errors = true) r")
    orders = f"""
        SELECT {_id('order_id')} AS order_id, {_id('customer_id')} AS customer_id,
               {ts('order_ts')} AS order_ts, CAST({ts('order_ts')} AS DATE) AS order_date,
               {status} AS status, {ts('updated_at')} AS updated_at
        FROM {read.format(landing / 'orders')}"""
    lines = f"""
        SELECT {_id('order_id')} AS order_id, try_cast(trim(r.line_no) AS INTEGER) AS line_no,
               {_id('product_id')} AS product_id,
               try_cast(trim(r.quantity) AS INTEGER) AS quantity,
               {decimal('unit_price')} AS unit_price,
               CASE WHEN coalesce(trim(r.discount), '') = '' THEN 0.00
                    ELSE {decimal('discount')} END AS discount, r.filename AS filename
        FROM {read.format(landing / 'order_items')}"""
    return [
        latest_per_key(orders, "order_id", "updated_at DESC",
                       ["order_id", "customer_id", "order_ts", "status", "updated_at"],
                       out / "orders.parquet"),
        latest_per_key(lines, "order_id, line_no", "filename DESC",
                       ["order_id", "line_no", "product_id", "quantity", "unit_price",
                        "discount"], out / "order_items.parquet"),
    ]


def staging_side_by_side(spark: SparkSession, settings, work: Path) -> list[Row]:
    """rfm_spark's staging of orders and order lines (a full refresh of those two raw
    tables into a warehouse of their own: `settings` name it) and DuckDB's twin, on the
    same landing."""
    import duckdb

    warehouse = Path(settings.warehouse.dir)
    shutil.rmtree(warehouse, ignore_errors=True)
    wh = Warehouse(spark, settings.warehouse)
    listed = list_landing(spark, settings)
    files = {t: (f if t in STAGED else []) for t, f in listed.items()}
    ctx = BuildContext(as_of=None, rules=settings, run_time=dt.datetime.now(dt.UTC))
    with counted(spark, warehouse) as ours:
        staged = stage(spark, wh, settings, Batch(files, full_refresh=True), ctx, "bench")
    _, counts = with_keys(wh, staged, True, {}, True)  # from the overwrites' commits
    keys = {c.table: c.keys_in_staging for c in counts}
    read = sum(c.rows_read for c in counts)

    out = work / "export_staging"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    start = time.perf_counter()
    for statement in duckdb_sql(Path(settings.raw.dir), out,
                                list(settings.staging.timestamp_formats),
                                settings.staging.status_map):
        con.execute(statement)
    duck_s = time.perf_counter() - start
    duck = {t: con.execute(f"SELECT count(*) FROM '{out / t}.parquet'").fetchone()[0]
            for t in STAGED}
    counts = ", ".join(f"{t} {keys[t]:,} vs {duck[t]:,}" for t in STAGED)
    return [
        Row("staging orders + lines: rfm_spark (raw CSV -> Delta)", read, ours.seconds,
            f"{ours.seconds / duck_s:.1f}x DuckDB", ours.jobs, ours.commits,
            ours.rows_written),
        Row(f"staging orders + lines: DuckDB SQL (keys {counts})", read, duck_s, "1.0x"),
    ]

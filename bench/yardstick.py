"""The yardstick of `make bench`: rfm_spark and DuckDB computing the same RFM scores and
the same per-customer CLV statistics from the same staged orders (exported to Parquet),
side by side in one process, results compared row by row; and the CLV stage as a run
builds it, timed on its own."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from counters import Row, counted
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.clv.statistics import clv_statistics
from rfm_spark.intermediate.customer_order_summary import customer_order_summary
from rfm_spark.intermediate.rfm_scores import rfm_scores
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.model import BuildContext
from rfm_spark.runner.clv import prepare_clv

ORDERS = registry.table("staging.orders").name
ORDER_ITEMS = registry.table("staging.order_items").name
RFM_SCORES = registry.table("intermediate.rfm_scores").name


DUCKDB_RFM = """
WITH amounts AS (
  SELECT order_id, SUM(line_amount) AS amount FROM read_parquet('{items}') GROUP BY order_id
), counted AS (
  SELECT o.customer_id, o.order_date, COALESCE(a.amount, 0) AS amount
  FROM read_parquet('{orders}') o LEFT JOIN amounts a USING (order_id)
  WHERE o.status = 'completed' AND o.order_date <= DATE '{as_of}'
), summary AS (
  SELECT customer_id, MIN(order_date) AS first_order_date, MAX(order_date) AS last_order_date,
         COUNT(*)::INTEGER AS frequency, CAST(SUM(amount) AS DECIMAL(18, 2)) AS monetary
  FROM counted GROUP BY customer_id
), base AS (
  SELECT *, DATE_DIFF('day', last_order_date, DATE '{as_of}')::INTEGER AS recency_days,
         (2 * CAST(monetary * 100 AS BIGINT) + frequency) // (2 * frequency) AS avg_cents
  FROM summary
), scored AS (
  SELECT *,
    NTILE(5) OVER (ORDER BY recency_days DESC, customer_id) AS r_score,
    NTILE(5) OVER (ORDER BY frequency, customer_id) AS f_score,
    NTILE(5) OVER (ORDER BY monetary, customer_id) AS m_score
  FROM base
)
SELECT customer_id, first_order_date, last_order_date, recency_days, frequency, monetary,
       avg_cents, r_score, f_score, m_score,
       CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR)
         AS rfm_score,
       r_score + f_score + m_score AS rfm_total,
       ROW_NUMBER() OVER (ORDER BY r_score + f_score + m_score DESC, monetary DESC,
                          customer_id) AS rfm_rank
FROM scored
"""


def duckdb_timed(template: str, exported: Path, as_of, name: str) -> tuple[float, str]:
    """Seconds DuckDB takes to run the query on the exported Parquet and write its result."""
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    sql = template.format(items=exported / "items" / "*.parquet",
                          orders=exported / "orders" / "*.parquet", as_of=as_of)
    con.execute(f"COPY ({sql}) TO '{exported / name}' (FORMAT PARQUET)")
    return time.perf_counter() - start, str(exported / name)


def rfm_side_by_side(spark: SparkSession, wh: Warehouse, settings, work: Path) -> list[Row]:

    as_of = wh.read(RFM_SCORES).select("as_of_date").first()[0]
    orders, items = wh.read(ORDERS), wh.read(ORDER_ITEMS)
    n_orders = orders.count()
    out = str(work / "bench_rfm_scores")
    with counted(spark, Path(out)) as ours_counted:
        summary = customer_order_summary(orders, items, as_of, settings.rfm.counted_status)
        scores = rfm_scores(summary, as_of, settings.rfm.ntile)
        scores.write.format("delta").mode("overwrite").save(out)
    spark_s = ours_counted.seconds

    exported = work / "export"
    shutil.rmtree(exported, ignore_errors=True)
    orders.select("order_id", "customer_id", "order_date", "status").write.parquet(
        str(exported / "orders"))
    items.select("order_id", "line_amount").write.parquet(str(exported / "items"))
    duck_s, duck_out = duckdb_timed(DUCKDB_RFM, exported, as_of, "duck.parquet")

    ours = spark.read.format("delta").load(out).select(
        "customer_id", "first_order_date", "last_order_date", "recency_days", "frequency",
        "monetary", (F.col("avg_order_value") * 100).cast("long").alias("avg_cents"),
        "r_score", "f_score", "m_score", "rfm_score", "rfm_total",
        F.col("rfm_rank").cast("long").alias("rfm_rank"))
    theirs = spark.read.parquet(duck_out).select(
        *[F.col(c).cast(ours.schema[c].dataType).alias(c) for c in ours.columns])
    differing = ours.exceptAll(theirs).count() + theirs.exceptAll(ours).count()
    if differing:
        raise SystemExit(f"bench: Spark and DuckDB RFM scores differ in {differing} rows")
    customers = ours.count()
    return [
        Row("rfm scoring: rfm_spark (staged orders -> rfm_scores)", n_orders, spark_s,
            f"{spark_s / duck_s:.1f}x DuckDB", ours_counted.jobs, ours_counted.commits,
            ours_counted.rows_written),
        Row(f"rfm scoring: DuckDB SQL (same {customers:,} customers, identical)", n_orders,
            duck_s, "1.0x"),
    ]


DUCKDB_CLV = """
WITH amounts AS (
  SELECT order_id, SUM(line_amount) AS amount FROM read_parquet('{items}') GROUP BY order_id
), days AS (
  SELECT o.customer_id, o.order_date, SUM(COALESCE(a.amount, 0)) AS value
  FROM read_parquet('{orders}') o LEFT JOIN amounts a USING (order_id)
  WHERE o.status = 'completed' AND o.order_date <= DATE '{as_of}'
  GROUP BY o.customer_id, o.order_date
), customers AS (
  SELECT customer_id, COUNT(*) - 1 AS x, MIN(order_date) AS first_day,
         MAX(order_date) AS last_day, SUM(value) - ARG_MIN(value, order_date) AS repeat_spend
  FROM days GROUP BY customer_id
)
SELECT customer_id, x::INTEGER AS repeat_purchases,
       DATE_DIFF('day', first_day, last_day)::INTEGER AS recency_days,
       DATE_DIFF('day', first_day, DATE '{as_of}')::INTEGER AS tenure_days,
       CAST(repeat_spend AS DECIMAL(18, 2)) AS repeat_spend
FROM customers
"""
CLV_COMPARED = ("customer_id", "repeat_purchases", "recency_days", "tenure_days",
                "repeat_spend")


def clv_side_by_side(spark: SparkSession, wh: Warehouse, settings, work: Path,
                     full_refresh_s: float) -> list[Row]:
    """The CLV stage as a run builds it, timed on its own, and the per-customer statistics
    from staged orders by rfm_spark and by DuckDB (Parquet exported by rfm_side_by_side)."""

    as_of = wh.read(RFM_SCORES).select("as_of_date").first()[0]
    out = work / "bench_clv"
    with counted(spark, out) as stage, contextlib.ExitStack() as kept:
        built = prepare_clv(wh, BuildContext(as_of=as_of, rules=settings), kept)
        built.mart.write.format("delta").mode("overwrite").save(str(out))
    customers = spark.read.format("delta").load(str(out)).count()

    orders, items = wh.read(ORDERS), wh.read(ORDER_ITEMS)
    statistics_out = str(work / "bench_clv_statistics")
    with counted(spark, Path(statistics_out)) as ours_counted:
        summary = customer_order_summary(orders, items, as_of, settings.rfm.counted_status)
        clv_statistics(summary).select(*CLV_COMPARED).write.format("delta") \
            .mode("overwrite").save(statistics_out)
    duck_s, duck_out = duckdb_timed(DUCKDB_CLV, work / "export", as_of, "duck_clv.parquet")
    ours = spark.read.format("delta").load(statistics_out)
    theirs = spark.read.parquet(duck_out).select(
        *[F.col(c).cast(ours.schema[c].dataType).alias(c) for c in CLV_COMPARED])
    differing = ours.exceptAll(theirs).count() + theirs.exceptAll(ours).count()
    if differing:
        raise SystemExit(f"bench: Spark and DuckDB CLV statistics differ in {differing} rows")
    return [
        Row(f"clv stage: summary -> fits -> mart ({settings.clv.model})", customers,
            stage.seconds, f"{stage.seconds / full_refresh_s:.1%} of the full refresh",
            stage.jobs, stage.commits, stage.rows_written),
        Row("clv statistics: rfm_spark (staged orders -> per customer)", orders.count(),
            ours_counted.seconds, f"{ours_counted.seconds / duck_s:.1f}x DuckDB",
            ours_counted.jobs, ours_counted.commits, ours_counted.rows_written),
        Row(f"clv statistics: DuckDB SQL (same {customers:,} customers, identical)",
            orders.count(), duck_s, "1.0x"),
    ]

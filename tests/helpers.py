"""Small builders shared by the tests."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from functools import reduce
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from rfm_spark.staging.cleansing import TimeBounds

# JVMs a test starts for one run (a CLI, a standalone cluster's daemons, driver and
# executors) stop before C2's optimised code pays back the CPU it costs to compile; C1 alone
# serves them better. Measured side by side: a cold sample run 57 -> 48 s (JVM CPU 105 ->
# 70 s), the cluster test 125 -> 72 s. JVMs that run several pipelines keep C2: the suite's
# own (C1 made its warm runs 1.36x slower) and the Spark Connect server (122 -> 142 s).
# With C1 alone the JVM reserves a 48 MB code cache, which a run fills (the JVM then logs
# "CodeCache is full. Compiler has been disabled" and has died after it): the tiered size.
# The parallel collector, as conf/base.yaml gives local drivers, also for the JVMs that do
# not read the config (a cluster's daemons and executors): a sample run 36.7-38.7 -> 34.1-35.4 s.
FRESH_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -XX:+UseParallelGC"


def jvm_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with FRESH_JVM_OPTIONS for every JVM started under it (the `java` launcher
    reads JDK_JAVA_OPTIONS; executors inherit it from their worker)."""
    options = " ".join(filter(None, [env.get("JDK_JAVA_OPTIONS"), FRESH_JVM_OPTIONS]))
    return {**env, "JDK_JAVA_OPTIONS": options}


def cli_env(one_run_jvm: bool = True) -> dict[str, str]:
    """The environment of a CLI started in a new process: this session's PySpark gateway
    left out (the CLI starts its own JVM), with FRESH_JVM_OPTIONS for a JVM that serves one
    run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_")}
    return jvm_env(env) if one_run_jvm else env


# Spark's own defaults for the settings session.INTERPRETED changes: generated code.
COMPILED = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}

# What a run on 2026-01-01 accepts with the shipped defaults (1990-01-01, one day ahead).
BOUNDS = TimeBounds.of("1990-01-01", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1)


def raw_frame(
    spark: SparkSession,
    columns: tuple[str, ...],
    rows: list[tuple],
    source: str = "file:/landing/t/delivery_0001.csv",
    malformed: bool = False,
) -> DataFrame:
    """A raw landing frame as the reader returns it: string columns, `_source_file`,
    `_malformed`. Rows may carry their own source file as an extra last value."""
    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in columns]
        + [T.StructField("_source_file", T.StringType()),
           T.StructField("_malformed", T.BooleanType())]
    )
    full = [
        (*r, source, malformed) if len(r) == len(columns) else (*r, malformed) for r in rows
    ]
    return spark.createDataFrame(full, schema)


RAW_TABLES = ("customers", "products", "orders", "order_items")
EARLIER_AS_OF = "2024-08-15"  # before the sample landing's latest orders
# Every table a run derives from the landing (the segment history depends on run dates).
COMPARED = (
    *(f"staging/{t}" for t in RAW_TABLES),
    *(f"quarantine/{t}" for t in RAW_TABLES),
    "staging/order_versions",
    "staging/customer_versions",
    "staging/product_versions",
    "snapshots/customers_history",
    "staging/order_item_versions",
    "intermediate/customer_order_summary",
    "intermediate/rfm_scores",
    "marts/customer_segmentation",
    "marts/top_customers",
    "marts/customer_lifetime_value",
)


def _comparable(spark: SparkSession, warehouse: Path, name: str) -> DataFrame:
    """A table as compared: run ids dropped, source files by table folder and file name."""
    df = spark.read.format("delta").load(str(warehouse / name))
    if "_run_id" in df.columns:
        df = df.drop("_run_id")
    if "_source_file" in df.columns:
        df = df.withColumn("_source_file",
                           F.regexp_extract("_source_file", r"([^/]+/[^/]+)$", 1))
    return df


def _rows_as_text(frames: dict[str, DataFrame]) -> DataFrame:
    """Every row of every table as (table, JSON of its columns in name order)."""
    return reduce(DataFrame.unionByName, [
        df.select(F.lit(name).alias("table"),
                  F.to_json(F.struct(*sorted(df.columns))).alias("row"))
        for name, df in frames.items()])


def assert_same_tables(spark: SparkSession, left: Path, right: Path,
                       extra: tuple[str, ...] = (), tables: tuple[str, ...] = COMPARED
                       ) -> None:
    """Two warehouses hold the same rows in every compared table (run ids aside; source
    files compared by table folder and file name, as the landings live apart).

    Same column names and types per table, and the same multiset of rows (each row's JSON,
    compared exactly, duplicates counted) for all tables in one query; a table that
    differs is then shown by chispa, row by row."""
    names = tuple(n for n in (*tables, *extra)
                  if (left / n).exists() or (right / n).exists())  # CLV may be off in both
    for name in names:
        assert (left / name).exists() and (right / name).exists(), name
    lefts = {n: _comparable(spark, left, n) for n in names}
    rights = {n: _comparable(spark, right, n) for n in names}
    for name in names:
        assert sorted(lefts[name].dtypes) == sorted(rights[name].dtypes), name
    a, b = _rows_as_text(lefts), _rows_as_text(rights)
    differing = sorted(r["table"] for r in a.exceptAll(b).unionByName(b.exceptAll(a))
                       .select("table").distinct().collect())
    for name in differing:
        assert_df_equality(lefts[name], rights[name], ignore_row_order=True,
                           ignore_column_order=True, ignore_nullable=True)
    assert not differing, f"tables differ: {differing}"


def versions(spark: SparkSession, warehouse: Path, tables: tuple[str, ...] = COMPARED
             ) -> dict[str, int]:
    """The latest Delta version of each table (every compared one by default)."""
    out = {}
    for name in tables:
        history = spark.sql(f"DESCRIBE HISTORY delta.`{warehouse / name}`")
        out[name] = history.agg({"version": "max"}).first()[0]
    return out


def staging_check_results(spark: SparkSession, warehouse: Path) -> list[tuple]:
    """The latest run's results of the rules evaluated on the staging tables (not the
    quarantine counts nor the reconciliation: those count the files the run read)."""
    results = spark.read.format("delta").load(str(warehouse / "audit/dq_results"))
    latest = results.agg(F.max("run_id")).first()[0]
    rows = results.where((F.col("run_id") == latest) & F.col("table").startswith("staging.")
                         & (F.col("severity") != "quarantine") & (F.col("rule") != "reconciles"))
    return sorted(tuple(r) for r in rows.select(
        "table", "rule", "column", "severity", "status", "failed_rows", "total_rows",
        "failing_keys_sample", "detail").collect())

"""The state of one run and its record in audit/pipeline_runs."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from rfm_spark.io.warehouse import Warehouse
from rfm_spark.quality.checks import RuleResult


@dataclass
class RunOptions:
    as_of: dt.date | None = None
    full_refresh: bool = False
    rebuild_history: bool = False


@dataclass
class TableCounts:
    table: str
    rows_read: int
    rows_quarantined: int
    rows_accepted: int
    keys_in_staging: int
    files_read: int = 0


@dataclass
class RunResult:
    run_id: str
    as_of: dt.date | None
    full_refresh: bool = False
    status: str = "running"
    message: str | None = None
    staging: list[TableCounts] = field(default_factory=list)
    rows_written: dict[str, int] = field(default_factory=dict)
    dq_results: list[RuleResult] = field(default_factory=list)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None


def new_run_id() -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


PIPELINE_RUNS_SCHEMA = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("as_of_date", T.DateType()),
    T.StructField("started_at", T.TimestampType()),
    T.StructField("finished_at", T.TimestampType()),
    T.StructField("status", T.StringType()),
    T.StructField("message", T.StringType()),
    T.StructField("full_refresh", T.BooleanType()),
    T.StructField("table_counts", T.ArrayType(T.StructType([
        T.StructField("table", T.StringType()),
        T.StructField("files_read", T.LongType()),
        T.StructField("rows_read", T.LongType()),
        T.StructField("rows_quarantined", T.LongType()),
        T.StructField("rows_accepted", T.LongType()),
        T.StructField("keys_in_staging", T.LongType()),
    ]))),
    T.StructField("rows_written", T.MapType(T.StringType(), T.LongType())),
])


def record_run(spark: SparkSession, wh: Warehouse, result: RunResult) -> None:
    row = (
        result.run_id,
        result.as_of,
        result.started_at.replace(tzinfo=None),
        (result.finished_at or dt.datetime.now(dt.UTC)).replace(tzinfo=None),
        result.status,
        result.message,
        result.full_refresh,
        [(c.table, c.files_read, c.rows_read, c.rows_quarantined, c.rows_accepted,
          c.keys_in_staging) for c in result.staging],
        dict(result.rows_written),
    )
    wh.append(spark.createDataFrame([row], PIPELINE_RUNS_SCHEMA), "audit.pipeline_runs")

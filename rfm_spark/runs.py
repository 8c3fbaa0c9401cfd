"""The state of one run and its record in audit/pipeline_runs.

A run's row is written when it starts (status `running`) and replaced when it ends
(`succeeded` or `failed`). A row still `running` when the next run starts belongs to a
process that was killed: that run marks it `abandoned`. A succeeded run records the Delta
version of every table as it published them, so `dq` and `report` read one run's tables,
never a mix of two.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
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
    missing_files: list[str] = field(default_factory=list)  # processed, gone from the landing
    table_versions: dict[str, int] = field(default_factory=dict)
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
    T.StructField("table_versions", T.MapType(T.StringType(), T.LongType())),
    T.StructField("missing_files", T.ArrayType(T.StringType())),
])
TABLE = "audit.pipeline_runs"
log = logging.getLogger("rfm_spark.runs")


def _row(result: RunResult) -> tuple:
    return (
        result.run_id,
        result.as_of,
        result.started_at.replace(tzinfo=None),
        result.finished_at.replace(tzinfo=None) if result.finished_at else None,
        result.status,
        result.message,
        result.full_refresh,
        [(c.table, c.files_read, c.rows_read, c.rows_quarantined, c.rows_accepted,
          c.keys_in_staging) for c in result.staging],
        dict(result.rows_written),
        dict(result.table_versions),
        list(result.missing_files),
    )


def _runs(wh: Warehouse) -> DataFrame | None:
    return wh.read(TABLE) if wh.exists(TABLE) else None


def open_run(spark: SparkSession, wh: Warehouse, result: RunResult) -> None:
    """Mark runs still `running` as `abandoned` (this run holds the warehouse, so their
    process is gone) and record this one as `running`, in one commit."""
    runs = _runs(wh)
    stale = [] if runs is None else runs.where(F.col("status") == "running").collect()
    rows = [_row(result)]
    for row in stale:
        log.warning("run %s never finished (its process ended): marked abandoned",
                    row["run_id"])
        values = row.asDict()
        values.update(status="abandoned", message="the process ended before the run finished")
        rows.append(tuple(values.get(f.name) for f in PIPELINE_RUNS_SCHEMA.fields))
    wh.replace_where(spark.createDataFrame(rows, PIPELINE_RUNS_SCHEMA), TABLE, "run_id",
                     [r[0] for r in rows])


def interrupted_full_refresh(wh: Warehouse) -> str | None:
    """The run id of the latest full refresh when it did not succeed (killed, failed): its
    tables are half rebuilt, and only another full refresh repairs them."""
    runs = _runs(wh)
    if runs is None:
        return None
    last = (runs.where(F.col("full_refresh")).orderBy(F.col("started_at").desc())
            .select("run_id", "status").first())
    return last["run_id"] if last is not None and last["status"] != "succeeded" else None


def published_versions(wh: Warehouse) -> dict[str, int]:
    """{table: Delta version} as the latest succeeded run published them ({} before any)."""
    runs = _runs(wh)
    if runs is None or "table_versions" not in runs.columns:
        return {}
    last = (runs.where(F.col("status") == "succeeded").orderBy(F.col("started_at").desc())
            .select("table_versions").first())
    return dict(last["table_versions"] or {}) if last is not None else {}


def read_published(wh: Warehouse, name: str, versions: dict[str, int]) -> DataFrame:
    """A table as the latest succeeded run left it (as it is now when no run recorded it)."""
    return wh.read(name, versions.get(name))


def record_run(spark: SparkSession, wh: Warehouse, result: RunResult) -> None:
    """Replace this run's `running` row with its outcome."""
    df = spark.createDataFrame([_row(result)], PIPELINE_RUNS_SCHEMA)
    wh.replace_where(df, TABLE, "run_id", [result.run_id])

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

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.audit_schemas import PIPELINE_RUNS
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.model import enforce_columns
from rfm_spark.quality.checks import RuleResult
from rfm_spark.runner.writes import write


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
    keys_in_staging: int | None  # None: not counted (the run stopped before its checks)
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
    # the raw landing's bytes the run sized the session to (not recorded in the table)
    landing_bytes: int | None = None

    def fold(self, rows_written: dict[str, int], counts: list[TableCounts] | None = None
             ) -> None:
        """Add what a layer returned (rows each table received, staging counts)."""
        self.rows_written.update(rows_written)
        self.staging += counts or []


def new_run_id() -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


TABLE = registry.table("audit.pipeline_runs")
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
    return wh.read(TABLE.name) if wh.exists(TABLE.name) else None


@dataclass(frozen=True)
class PastRun:
    run_id: str
    status: str
    full_refresh: bool
    started_at: dt.datetime
    as_of: dt.date | None


@dataclass(frozen=True)
class RunHistory:
    """audit/pipeline_runs as a run found it, read once (one small row per run); the rows
    still `running` are kept whole, to be rewritten as `abandoned`."""

    runs: tuple[PastRun, ...] = ()
    stale: tuple[dict, ...] = ()  # whole rows (column -> value) of runs still `running`
    # the table versions of the latest succeeded run ({} before any)
    published: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def read(wh: Warehouse) -> RunHistory:
        runs = _runs(wh)
        if runs is None:
            return RunHistory()
        whole = F.struct(*[F.col(f.name) for f in PIPELINE_RUNS.fields])
        succeeded = F.col("status") == "succeeded"
        rows = runs.select("run_id", "status", "full_refresh", "started_at", "as_of_date",
                           F.when(F.col("status") == "running", whole).alias("whole"),
                           F.when(succeeded, _versions(runs)).alias("versions")).collect()
        last = max((r for r in rows if r["status"] == "succeeded"),
                   key=lambda r: r["started_at"], default=None)
        return RunHistory(
            tuple(PastRun(r["run_id"], r["status"], bool(r["full_refresh"]), r["started_at"],
                          r["as_of_date"]) for r in rows),
            tuple(r["whole"].asDict() for r in rows if r["whole"] is not None),
            dict(last["versions"] or {}) if last is not None else {})

    def interrupted_full_refresh(self) -> str | None:
        """The run id of the latest full refresh when it did not succeed (killed, failed):
        its tables are half rebuilt, and only another full refresh repairs them."""
        full = [r for r in self.runs if r.full_refresh]
        if not full:
            return None
        last = max(full, key=lambda r: r.started_at)
        return last.run_id if last.status != "succeeded" else None

    def previous_as_of(self, as_of: dt.date) -> dt.date | None:
        """The latest as_of of a succeeded run before this as_of (None on the first one)."""
        return max((r.as_of for r in self.runs if r.status == "succeeded"
                    and r.as_of is not None and r.as_of < as_of), default=None)


def open_run(spark: SparkSession, wh: Warehouse, result: RunResult, history: RunHistory
             ) -> None:
    """Mark runs still `running` as `abandoned` (this run holds the warehouse, so their
    process is gone) and record this one as `running`, in one commit."""
    rows = [_row(result)]
    for stale in history.stale:
        log.warning("run %s never finished (its process ended): marked abandoned",
                    stale["run_id"])
        values = {**stale, "status": "abandoned",
                  "message": "the process ended before the run finished"}
        rows.append(tuple(values[f.name] for f in PIPELINE_RUNS.fields))
    df = spark.createDataFrame(rows, PIPELINE_RUNS)
    if history.stale:
        write(wh, TABLE, df, values=[r[0] for r in rows])
    else:  # a new run id has no row to replace: an append (a replaceWhere reads every file)
        wh.append(enforce_columns(TABLE, df), TABLE.name)


def _versions(runs: DataFrame) -> Column:
    """The runs' table_versions (a table from before that column has none)."""
    return F.col("table_versions") if "table_versions" in runs.columns else F.lit(None)


def published_versions(wh: Warehouse) -> dict[str, int]:
    """{table: Delta version} as the latest succeeded run published them ({} before any)."""
    return RunHistory.read(wh).published


def read_published(wh: Warehouse, name: str, versions: dict[str, int]) -> DataFrame:
    """A table as the latest succeeded run left it (as it is now when no run recorded it)."""
    return wh.read(name, versions.get(name))


def record_run(spark: SparkSession, wh: Warehouse, result: RunResult) -> None:
    """Replace this run's `running` row with its outcome."""
    df = spark.createDataFrame([_row(result)], PIPELINE_RUNS)
    write(wh, TABLE, df, values=[result.run_id])

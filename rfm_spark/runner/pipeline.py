"""One run of the pipeline: raw -> staging (+ quarantine, checks) -> intermediate -> marts
-> snapshots, as declared in rfm_spark/registry.py.

This module decides what the run reads (new deliveries, or all of them), runs the layers in
order, folds what each returns into the run's record and writes that record to
audit/pipeline_runs whatever the outcome, with every data-quality result of the run in one
append to audit/dq_results. The run's files are listed in the checkpoint only once its
tables are published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.config import Settings
from rfm_spark.errors import ConfigError, RfmError, root_cause
from rfm_spark.io.listing import LandingFile, folder_exists, landing_files
from rfm_spark.io.lock import warehouse_lock
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.model import BuildContext
from rfm_spark.runner import checkpoint
from rfm_spark.runner.checks import Gate
from rfm_spark.runner.models import Plan, build_derived, is_up_to_date, latest_segment_as_of
from rfm_spark.runner.runs import (
    RunHistory,
    RunOptions,
    RunResult,
    new_run_id,
    open_run,
    published_versions,
    read_published,
    record_run,
)
from rfm_spark.runner.staging import Batch, changes_of, stage, with_keys
from rfm_spark.session import sized_to_input

log = logging.getLogger("rfm_spark.pipeline")
STAGED_ORDERS = registry.table("staging.orders").name
FILE_FORMATS = ("csv", "parquet", "json")

__all__ = ["RunOptions", "RunResult", "check_warehouse", "refuse_missing_landing",
           "run_pipeline"]


def declared_as_of(settings: Settings, requested: dt.date | None) -> dt.date | None:
    """The as_of known before any data is read: --as-of, else the config's date or
    `run_date`; None for `latest_order`, which staging decides."""
    if requested is not None:
        return requested
    if settings.as_of == "run_date":
        return dt.datetime.now(dt.UTC).date()
    if settings.as_of != "latest_order":
        return dt.date.fromisoformat(settings.as_of)
    return None


def resolve_as_of(wh: Warehouse, settings: Settings, requested: dt.date | None) -> dt.date | None:
    """--as-of, else the config's as_of: a date, `run_date`, or the latest counted order date."""
    declared = declared_as_of(settings, requested)
    if declared is not None:
        return declared
    return (
        wh.read(STAGED_ORDERS)
        .where(F.col("status") == settings.rfm.counted_status)
        .agg(F.max("order_date").alias("latest"))
        .first()["latest"]
    )


Listing = dict[str, list[LandingFile]]
# Tables an incremental run extends but cannot rebuild: staging and its version logs.
INCREMENTAL_STATE = tuple(m.name for m in registry.layer("staging"))


def refuse_missing_landing(settings: Settings, exists: Callable[[str], bool | None]) -> None:
    """Exit 2 before anything is written when the landing folder does not exist: a typo
    must not look like an empty delivery (nor ever be filled with a sample). `exists`
    answers None for a folder it cannot see (another file system): not refused here."""
    folders: dict[str, str] = {}
    for table in registry.RAW_TABLES:
        spec = settings.raw.tables.get(table)
        if spec is None or not spec.path:  # the default layout: raw.dir/<table>
            folders[settings.raw.dir] = "--raw-dir / raw.dir"
        elif spec.format in FILE_FORMATS:
            folders[spec.path] = f"raw.tables.{table}.path"
    for folder, key in folders.items():
        if exists(folder) is False:
            raise ConfigError(f"{key}: the raw landing {folder} does not exist (create it, or "
                              "generate a sample with `rfm-spark generate --out DIR`)")


def refuse_patterns_spark_rejects(spark: SparkSession, settings: Settings) -> None:
    """The email pattern compiled by Spark's (Java's) engine once, before any write."""
    try:
        spark.range(1).select(F.lit("a@b.cd").rlike(settings.staging.email_pattern)).collect()
    except Exception as exc:
        raise ConfigError(f"config key 'staging.email_pattern': Spark (Java) rejects it: "
                          f"{root_cause(exc)[:200]}") from None


def list_landing(spark: SparkSession, settings: Settings) -> Listing:
    """Every delivery of every raw table (listed once per run)."""
    return {t: landing_files(spark, settings.raw_table(t)) for t in registry.RAW_TABLES}


def raw_bytes(settings: Settings, available: Listing) -> dict[str, int | None]:
    """The size of each raw table's files in the landing; None for a Delta or catalog
    source."""
    return {t: sum(f.size for f in available.get(t, []))
            if settings.raw_table(t).format in FILE_FORMATS else None
            for t in registry.RAW_TABLES}


def plan_batch(wh: Warehouse, available: Listing, full_refresh: bool, result: RunResult,
               read_processed: Callable[[], checkpoint.Processed]) -> Batch:
    """New files only, or every file. Refuses (exit 2) a rewritten delivery and a warehouse
    whose incremental state is partly missing; reports processed files gone from the
    landing. `read_processed`: the checkpoint's files, asked for by an incremental run only."""
    if full_refresh:
        return Batch(available, full_refresh=True)
    present = {name: wh.exists(name) for name in INCREMENTAL_STATE}
    if not any(present.values()):  # nothing built yet: a first run is a full one
        return Batch(available, full_refresh=True)
    missing = [name for name, there in present.items() if not there]
    if missing:
        raise ConfigError(f"{', '.join(missing)} missing from warehouse {wh.settings.dir} "
                          "while other staging tables exist: an incremental run cannot "
                          "rebuild it from new files alone; run with --full-refresh")
    processed = read_processed()
    checkpoint.refuse_rewritten(available, processed)
    result.missing_files = checkpoint.missing_files(available, processed)
    for path in result.missing_files:
        log.warning("processed raw file %s is no longer in the landing (archived?): its "
                    "rows stay staged", path)
    return Batch(checkpoint.new_files(available, processed), full_refresh=False)


def run_pipeline(spark: SparkSession, settings: Settings, options: RunOptions) -> RunResult:
    """The whole run. Refusals (exit 2) come before anything is written; from then on the
    run has a row in audit/pipeline_runs, `running` until it ends, even when it fails.
    Once the landing is listed, the rest of the run (its audit writes included) runs with
    the session sized to the landing (session.sized_to_input). The Spark check of the email
    pattern comes earlier, before the lock file is written."""
    refuse_missing_landing(settings, lambda folder: folder_exists(spark, folder))
    refuse_patterns_spark_rejects(spark, settings)
    wh = Warehouse(spark, settings.warehouse, versioned=registry.is_published,
                   stats_columns=registry.stats_columns)
    result = RunResult(run_id=new_run_id(), as_of=options.as_of)
    with warehouse_lock(settings.warehouse.dir, result.run_id):
        log.info("run %s: config %s, raw %s, warehouse %s", result.run_id, settings.source,
                 settings.raw.dir, settings.warehouse.dir)
        # three independent reads side by side: each mostly waits on a log or a listing
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="rfm-start") as pool:
            read_history = pool.submit(RunHistory.read, wh)
            read_processed = pool.submit(checkpoint.processed_files, wh)
            available = pool.submit(list_landing, spark, settings).result()
            history = read_history.result()
            interrupted = history.interrupted_full_refresh()
            if interrupted and not options.full_refresh:
                log.warning("the full refresh of run %s did not finish: this run finishes it",
                            interrupted)
            batch = dataclasses.replace(
                plan_batch(wh, available, options.full_refresh or interrupted is not None,
                           result, read_processed.result),
                raw_bytes=raw_bytes(settings, available))
        result.landing_bytes = batch.landing_bytes
        with sized_to_input(spark, batch.landing_bytes, settings.spark):
            declared = declared_as_of(settings, options.as_of)
            if declared is not None:  # known now: refused before anything is written
                refuse_going_back(wh, declared, options.rebuild_history)
                options = dataclasses.replace(options, as_of=declared)
            result.full_refresh = batch.full_refresh
            open_run(spark, wh, result, history)
            _recorded_run(spark, wh, settings, options, result, batch, history)
    return result


def _recorded_run(spark: SparkSession, wh: Warehouse, settings: Settings, options: RunOptions,
                  result: RunResult, batch: Batch, history: RunHistory) -> None:
    """The run, with its outcome and data-quality results recorded whatever it is."""
    gate = Gate(wh, settings, result.as_of)
    try:
        _run(spark, wh, settings, options, result, batch, gate, history)
        result.table_versions = {
            **{name: v for name, v in history.published.items()
               if registry.is_published(name)},
            **{name: c.version for name, c in wh.commits.items()
               if c.version is not None and registry.is_published(name)},
        }
        result.status = "succeeded"
    except RfmError as exc:
        result.status, result.message = "failed", str(exc)
        raise
    except Exception as exc:
        result.status, result.message = "failed", root_cause(exc)
        raise
    finally:
        result.finished_at = dt.datetime.now(dt.UTC)
        result.dq_results = gate.results
        try:
            gate.store(result.run_id)
        except Exception:
            log.exception("could not store the data-quality results in audit.dq_results")
        try:
            record_run(spark, wh, result)
        except Exception:
            log.exception("could not record the run in audit.pipeline_runs")


def _run(spark: SparkSession, wh: Warehouse, settings: Settings, options: RunOptions,
         result: RunResult, batch: Batch, gate: Gate, history: RunHistory) -> None:
    if batch.full_refresh:
        log.info("full refresh: reading all %d raw file(s)",
                 sum(len(f) for f in batch.files.values()))
    elif batch.is_empty:
        log.info("no new raw files since the last run")
    else:
        log.info("incremental: %s", ", ".join(f"{t} {len(f)} new file(s)"
                                               for t, f in batch.files.items()))
    staging_ctx = BuildContext(as_of=None, rules=settings, run_time=result.started_at)
    staged = stage(spark, wh, settings, batch, staging_ctx, result.run_id)
    try:
        result.as_of = resolve_as_of(wh, settings, options.as_of)
        if result.as_of is None:
            log.warning("no completed orders in staging: the marts are written empty")
            result.as_of = dt.datetime.now(dt.UTC).date()
        gate.as_of = result.as_of
        log.info("as_of %s", result.as_of.isoformat())
        if options.as_of is None:  # decided by the staged orders (a declared one was checked)
            refuse_going_back(wh, result.as_of, options.rebuild_history)
        gate.check({m.name: wh.read(m.name) for m in registry.layer("staging") if m.checkable},
                   carried=staged.results, changes=changes_of(
                       wh, batch, staged, settings.quality.kept_failures_from_mb))
    except BaseException:  # on record with the keys known (no Spark work on the way out)
        result.fold(*with_keys(wh, staged, batch.full_refresh, gate.rows, False))
        raise
    # the keys in staging as the checks counted them (their pass reads every table)
    result.fold(*with_keys(wh, staged, batch.full_refresh, gate.rows, True))
    up_to_date = (batch.is_empty and not batch.full_refresh and not options.rebuild_history
                  and is_up_to_date(wh, result.as_of, settings.clv.enabled))
    if up_to_date:
        log.info("intermediate, marts and snapshots are up to date at as_of %s: nothing to "
                 "rebuild", result.as_of)
    else:
        ctx = BuildContext(as_of=result.as_of, rules=settings, run_time=result.started_at,
                           previous_as_of=history.previous_as_of(result.as_of))
        plan = Plan(batch.full_refresh, staged.touched_orders,
                    tuple(batch.paths("customers")), options.rebuild_history)
        result.fold(build_derived(wh, gate, ctx, plan, result.run_id))
    trackable = [t for t in registry.RAW_TABLES
                 if settings.raw_table(t).format in FILE_FORMATS]
    checkpoint.record(wh, batch.files, result.run_id, batch.full_refresh, trackable)


def refuse_going_back(wh: Warehouse, as_of: dt.date, rebuild_history: bool) -> None:
    """The segment history only moves forward, unless it is rebuilt."""
    latest = latest_segment_as_of(wh)
    if latest is not None and as_of < latest and not rebuild_history:
        raise ConfigError(
            f"--as-of: {as_of} is before the latest segment history date {latest}; history "
            "only moves forward. Use --rebuild-history to replay it up to this as_of"
        )


def check_warehouse(spark: SparkSession, settings: Settings, as_of: dt.date | None) -> RunResult:
    """`rfm-spark dq`: run every configured rule on the tables as they are, rebuild nothing."""
    wh = Warehouse(spark, settings.warehouse)
    if not wh.exists(STAGED_ORDERS):
        raise ConfigError(f"--warehouse: no pipeline tables in {settings.warehouse.dir} "
                          "(run `rfm-spark run` first)")
    result = RunResult(run_id=new_run_id(), as_of=resolve_as_of(wh, settings, as_of))
    result.as_of = result.as_of or dt.datetime.now(dt.UTC).date()
    # Derived tables as the latest succeeded run published them (never a mix of two runs);
    # staging as it is now: a run that failed its checks staged the rows to diagnose.
    versions = {t: v for t, v in published_versions(wh).items()
                if not t.startswith("staging.")}
    present = {t: read_published(wh, t, versions) for t in settings.quality.tables
               if wh.exists(t)}
    for table in sorted(set(settings.quality.tables) - set(present)):
        log.warning("checks %s: table not found, skipped", table)
    log.info("checks %s: %d table(s) at as_of %s", result.run_id, len(present), result.as_of)
    gate = Gate(wh, settings, result.as_of)
    try:
        gate.check(present)
    finally:
        result.dq_results = gate.results
        gate.store(result.run_id)
    result.status = "succeeded"
    return result

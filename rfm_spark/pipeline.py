"""One run of the pipeline: raw -> staging (+ quarantine, checks) -> intermediate -> marts.

Each layer's transforms live in rfm_spark.staging / intermediate / marts; this module
decides what the run reads (new deliveries, or all of them), calls the layers in order and
records the run in audit/pipeline_runs whatever the outcome. The run's files are listed in
the checkpoint only once its marts are published.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from rfm_spark.config import RAW_TABLES, Settings
from rfm_spark.errors import ConfigError, RfmError
from rfm_spark.io import checkpoint
from rfm_spark.io.landing import LandingFile, landing_files
from rfm_spark.io.lock import warehouse_lock
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import fmt_count
from rfm_spark.models import build_models, is_up_to_date
from rfm_spark.quality.run import run_checks
from rfm_spark.runs import RunOptions, RunResult, new_run_id, record_run
from rfm_spark.snapshots.load import load_snapshots, refuse_going_back
from rfm_spark.staging.load import Batch, load_staging

log = logging.getLogger("rfm_spark.pipeline")
FILE_FORMATS = ("csv", "parquet", "json")

__all__ = ["RunOptions", "RunResult", "check_warehouse", "run_pipeline"]


def resolve_as_of(wh: Warehouse, settings: Settings, requested: dt.date | None) -> dt.date | None:
    """--as-of, else the config's as_of: a date, `run_date`, or the latest counted order date."""
    if requested is not None:
        return requested
    if settings.as_of == "run_date":
        return dt.datetime.now(dt.UTC).date()
    if settings.as_of != "latest_order":
        return dt.date.fromisoformat(settings.as_of)
    return (
        wh.read("staging.orders")
        .where(F.col("status") == settings.rfm.counted_status)
        .agg(F.max("order_date").alias("latest"))
        .first()["latest"]
    )


Listing = dict[str, list[LandingFile]]


def list_landing(spark: SparkSession, settings: Settings) -> Listing:
    """Every delivery of every raw table (listed once per run)."""
    return {t: landing_files(spark, settings.raw_table(t)) for t in RAW_TABLES}


def plan_batch(wh: Warehouse, available: Listing, full_refresh: bool) -> Batch:
    if full_refresh:
        return Batch(available, full_refresh=True)
    fresh = checkpoint.new_files(available, checkpoint.processed_paths(wh))
    if not wh.exists("staging.orders"):  # nothing built yet: a first run is a full one
        return Batch(available, full_refresh=True)
    return Batch(fresh, full_refresh=False)


def landing_is_empty(available: Listing, settings: Settings) -> bool:
    return all(settings.raw_table(t).format in FILE_FORMATS and not available[t]
               for t in RAW_TABLES)


def ensure_landing(spark: SparkSession, settings: Settings) -> Listing:
    """The landing's deliveries; when the config asks for it and the landing is empty, the
    sample is generated first."""
    available = list_landing(spark, settings)
    if not settings.sample.generate_if_empty or not landing_is_empty(available, settings):
        return available
    if any(settings.raw.tables.get(t) and settings.raw.tables[t].path for t in RAW_TABLES):
        raise ConfigError("sample.generate_if_empty needs the default landing layout "
                          "(raw.dir/<table>); raw.tables overrides a path")
    from rfm_spark.sample import SampleSpec, generate_landing

    s = settings.sample
    spec = SampleSpec(customers=s.customers, orders=s.orders, seed=s.seed,
                      start=dt.date.fromisoformat(s.start), end=dt.date.fromisoformat(s.end),
                      dirty_rate=s.dirty_rate)
    log.info("raw landing %s is empty: generating the sample (%s customers, %s orders)",
             settings.raw.dir, fmt_count(s.customers), fmt_count(s.orders))
    generate_landing(Path(settings.raw.dir), spec)
    return list_landing(spark, settings)


def run_pipeline(spark: SparkSession, settings: Settings, options: RunOptions) -> RunResult:
    """The whole run. Always leaves a row in audit/pipeline_runs, even when it fails."""
    wh = Warehouse(spark, settings.warehouse)
    result = RunResult(run_id=new_run_id(), as_of=options.as_of)
    with warehouse_lock(settings.warehouse.dir, result.run_id):
        log.info("run %s: config %s, raw %s, warehouse %s", result.run_id, settings.source,
                 settings.raw.dir, settings.warehouse.dir)
        try:
            _run(spark, wh, settings, options, result)
            result.status = "succeeded"
        except RfmError as exc:
            result.status, result.message = "failed", str(exc)
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()
            result.status = "failed"
            result.message = first[0][:500] if first else type(exc).__name__
            raise
        finally:
            result.finished_at = dt.datetime.now(dt.UTC)
            try:
                record_run(spark, wh, result)
            except Exception:
                log.exception("could not record the run in audit.pipeline_runs")
    return result


def _run(spark: SparkSession, wh: Warehouse, settings: Settings, options: RunOptions,
         result: RunResult) -> None:
    batch = plan_batch(wh, ensure_landing(spark, settings), options.full_refresh)
    result.full_refresh = batch.full_refresh
    if batch.full_refresh:
        log.info("full refresh: reading all %d raw file(s)",
                 sum(len(f) for f in batch.files.values()))
    elif batch.is_empty:
        log.info("no new raw files since the last run")
    else:
        log.info("incremental: %s", ", ".join(f"{t} {len(f)} new file(s)"
                                               for t, f in batch.files.items()))
    staged = load_staging(spark, wh, settings, result, batch)
    result.as_of = resolve_as_of(wh, settings, options.as_of)
    if result.as_of is None:
        log.warning("no completed orders in staging: the marts are written empty")
        result.as_of = dt.datetime.now(dt.UTC).date()
    log.info("as_of %s", result.as_of.isoformat())
    refuse_going_back(wh, result.as_of, options.rebuild_history)
    run_checks(wh, settings, result,
               {f"staging.{t}": wh.read(f"staging.{t}") for t in RAW_TABLES},
               carried=staged.moved)
    up_to_date = (batch.is_empty and not batch.full_refresh and not options.rebuild_history
                  and is_up_to_date(wh, result.as_of))
    if up_to_date:
        log.info("intermediate, marts and snapshots are up to date at as_of %s: nothing to "
                 "rebuild", result.as_of)
    else:
        build_models(wh, settings, result, batch.full_refresh, staged.touched_orders)
        load_snapshots(wh, settings, result, batch, options.rebuild_history)
    trackable = [t for t in RAW_TABLES if settings.raw_table(t).format in FILE_FORMATS]
    checkpoint.record(wh, batch.files, result.run_id, batch.full_refresh, trackable)


def check_warehouse(spark: SparkSession, settings: Settings, as_of: dt.date | None) -> RunResult:
    """`rfm-spark dq`: run every configured rule on the tables as they are, rebuild nothing."""
    wh = Warehouse(spark, settings.warehouse)
    if not wh.exists("staging.orders"):
        raise ConfigError(f"--warehouse: no pipeline tables in {settings.warehouse.dir} "
                          "(run `rfm-spark run` first)")
    result = RunResult(run_id=new_run_id(), as_of=resolve_as_of(wh, settings, as_of))
    result.as_of = result.as_of or dt.datetime.now(dt.UTC).date()
    present = {t: wh.read(t) for t in settings.quality.tables if wh.exists(t)}
    for table in sorted(set(settings.quality.tables) - set(present)):
        log.warning("checks %s: table not found, skipped", table)
    log.info("checks %s: %d table(s) at as_of %s", result.run_id, len(present), result.as_of)
    run_checks(wh, settings, result, present)
    result.status = "succeeded"
    return result

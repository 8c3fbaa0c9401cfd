"""Write the snapshots after the marts: customers_history and customer_segment_history
(plus marts.segment_migration between the previous run's as_of and this one)."""

from __future__ import annotations

import datetime as dt
import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.config import Settings
from rfm_spark.errors import ConfigError
from rfm_spark.intermediate.customer_order_summary import customer_order_summary
from rfm_spark.intermediate.rfm_scores import rfm_scores
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import fmt_count, timed
from rfm_spark.marts.customer_segmentation import customer_segmentation
from rfm_spark.quality.run import run_checks
from rfm_spark.runs import RunResult
from rfm_spark.snapshots import customer_segment_history as segments
from rfm_spark.snapshots.customers_history import KEY, build_history
from rfm_spark.staging import customers
from rfm_spark.staging.cleansing import SOURCE_FILE
from rfm_spark.staging.load import CUSTOMER_VERSIONS, Batch

log = logging.getLogger("rfm_spark.snapshots")
CUSTOMERS_HISTORY = "snapshots.customers_history"
SEGMENT_HISTORY = "snapshots.customer_segment_history"
MIGRATION = "marts.segment_migration"


def latest_segment_as_of(wh: Warehouse) -> dt.date | None:
    if not wh.exists(SEGMENT_HISTORY):
        return None
    return wh.read(SEGMENT_HISTORY).agg(F.max("valid_from")).first()[0]


def refuse_going_back(wh: Warehouse, as_of: dt.date, rebuild_history: bool) -> None:
    """The segment history only moves forward, unless it is rebuilt."""
    latest = latest_segment_as_of(wh)
    if latest is not None and as_of < latest and not rebuild_history:
        raise ConfigError(
            f"--as-of: {as_of} is before the latest segment history date {latest}; history "
            "only moves forward. Use --rebuild-history to replay it up to this as_of"
        )


def update_customers_history(wh: Warehouse, settings: Settings, batch: Batch) -> None:
    tracked = settings.snapshots.customer_tracked_columns
    versions = wh.read(CUSTOMER_VERSIONS)
    with timed() as elapsed:
        if batch.full_refresh or not wh.exists(CUSTOMERS_HISTORY):
            wh.overwrite(build_history(versions, tracked, customers.COLUMNS), CUSTOMERS_HISTORY)
            how = "rebuilt"
        elif batch.files.get("customers"):
            touched = (versions.where(F.col(SOURCE_FILE).isin(batch.paths("customers")))
                       .select(KEY).distinct())
            history = build_history(versions.join(touched, KEY, "left_semi"), tracked,
                                    customers.COLUMNS)
            wh.merge_replace_groups(history, CUSTOMERS_HISTORY, [KEY], [KEY, "valid_from"],
                                    touched)
            how = "merged"
        else:
            how = "unchanged (no new customer files)"
    log.info("%-36s %s (%.1f s)", CUSTOMERS_HISTORY, how, elapsed())


def _write_segment_history(wh: Warehouse, history: DataFrame) -> None:
    if not wh.exists(SEGMENT_HISTORY):
        wh.overwrite(history, SEGMENT_HISTORY)
        return
    everyone = history.select(KEY).unionByName(wh.read(SEGMENT_HISTORY).select(KEY)).distinct()
    wh.merge_replace_groups(history, SEGMENT_HISTORY, [KEY], [KEY, "valid_from"], everyone)


def update_segment_history(wh: Warehouse, settings: Settings, result: RunResult,
                           rebuild: bool) -> None:
    as_of = result.as_of
    segmentation = wh.read("marts.customer_segmentation")
    with timed() as elapsed:
        if rebuild:
            steps = replay_dates(wh, settings, as_of)
            history = segments.empty_history(segmentation)
            wh.overwrite(history, SEGMENT_HISTORY)
            for day in steps:
                snapshot = (segmentation if day == as_of
                            else segmentation_at(wh, settings, day))
                wh.overwrite(segments.next_history(wh.read(SEGMENT_HISTORY), snapshot, day),
                             SEGMENT_HISTORY)
            how = f"rebuilt in {len(steps)} step(s) from {steps[0] if steps else as_of}"
        else:
            previous = (wh.read(SEGMENT_HISTORY) if wh.exists(SEGMENT_HISTORY)
                        else segments.empty_history(segmentation))
            _write_segment_history(wh, segments.next_history(previous, segmentation, as_of))
            how = "snapshot taken"
        rows = wh.read(SEGMENT_HISTORY).count()
        result.rows_written[SEGMENT_HISTORY] = rows
    log.info("%-36s %s, %s rows (%.1f s)", SEGMENT_HISTORY, how, fmt_count(rows), elapsed())


def replay_dates(wh: Warehouse, settings: Settings, as_of: dt.date) -> list[dt.date]:
    """First counted order date, then every step_days, then as_of itself."""
    first = (wh.read("staging.orders").where(F.col("status") == settings.rfm.counted_status)
             .agg(F.min("order_date")).first()[0])
    if first is None or first >= as_of:
        return [as_of]
    step = dt.timedelta(days=settings.snapshots.segment_history_step_days)
    days, day = [], first
    while day < as_of:
        days.append(day)
        day += step
    return [*days, as_of]


def segmentation_at(wh: Warehouse, settings: Settings, day: dt.date) -> DataFrame:
    """The customer_segmentation mart as it stood on `day`, computed from staging."""
    rfm = settings.rfm
    summary = customer_order_summary(wh.read("staging.orders"), wh.read("staging.order_items"),
                                     day, rfm.counted_status)
    return customer_segmentation(rfm_scores(summary, day, rfm.ntile), rfm.churn,
                                 rfm.behavioral_segments, rfm.behavioral_default, rfm.segments)


def update_migration(wh: Warehouse, result: RunResult) -> None:
    """marts.segment_migration: RFM segment moves since the previous successful run's as_of."""
    previous = None
    if wh.exists("audit.pipeline_runs"):
        previous = (wh.read("audit.pipeline_runs")
                    .where((F.col("status") == "succeeded")
                           & (F.col("as_of_date") < F.lit(result.as_of)))
                    .agg(F.max("as_of_date")).first()[0])
    history = wh.read(SEGMENT_HISTORY)
    matrix = segments.segment_migration(history, previous or result.as_of, result.as_of)
    if previous is None:
        matrix = matrix.limit(0)
    wh.overwrite(matrix, MIGRATION)
    result.rows_written[MIGRATION] = wh.read(MIGRATION).count()


def load_snapshots(wh: Warehouse, settings: Settings, result: RunResult, batch: Batch,
                   rebuild_history: bool) -> None:
    update_customers_history(wh, settings, batch)
    update_segment_history(wh, settings, result, rebuild_history)
    update_migration(wh, result)
    run_checks(wh, settings, result,
               {name: wh.read(name) for name in (CUSTOMERS_HISTORY, SEGMENT_HISTORY)})

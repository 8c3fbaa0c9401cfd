"""Load the staging layer from the raw landing: the new deliveries only, or everything.

Incremental (default): only files not yet in audit/processed_files are read.
- customers, products, orders: the batch is reduced to one row per key and MERGEd; a row
  replaces the staged one only when it is newer (ties by content hash), so the result is
  the one a full refresh gives whatever order and grouping the files arrive in.
- quarantine rows and the version logs (every accepted customer version, order version and
  delivered order line) are owned by their file and written with replaceWhere on `_source_file`,
  so processing a file again replaces its rows instead of adding them.
- order_items: for every order touched by the batch (a new version or new lines), its
  line set is chosen again from the logs and replaces the staged lines of that order.

Full refresh: the same transforms over every file, tables overwritten.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from rfm_spark.config import RAW_TABLES, Settings
from rfm_spark.io.landing import read_raw_table, unreadable_file_error
from rfm_spark.io.listing import LandingFile, refuse_changed_while_read
from rfm_spark.io.warehouse import Commit, Warehouse
from rfm_spark.logs import fmt_count, timed
from rfm_spark.materialize import persisted
from rfm_spark.quality.checks import (
    RuleResult,
    quarantine_counts,
    quarantine_results,
    with_quarantine_rules,
)
from rfm_spark.quality.run import rules_for
from rfm_spark.runs import RunResult, TableCounts
from rfm_spark.staging import customers, order_items, orders, products
from rfm_spark.staging.cleansing import (
    REASONS,
    SOURCE_FILE,
    TimeBounds,
    accepted_rows,
    quarantine_rows,
)

log = logging.getLogger("rfm_spark.staging")

CUSTOMER_VERSIONS = "staging.customer_versions"
PRODUCT_VERSIONS = "staging.product_versions"
ORDER_VERSIONS = "staging.order_versions"
ORDER_LINES = "staging.order_item_versions"
# Every accepted raw row is written to its table's version log (owned by its file): what
# the log write committed is the accepted count the reconciliation checks.
VERSION_LOGS = {
    "customers": (CUSTOMER_VERSIONS, customers.customer_versions),
    "products": (PRODUCT_VERSIONS, products.product_versions),
    "orders": (ORDER_VERSIONS, orders.order_versions),
    "order_items": (ORDER_LINES, order_items.delivered_lines),
}
RAW_COLUMNS = {
    "customers": (customers.REQUIRED, customers.OPTIONAL),
    "products": (products.REQUIRED, products.OPTIONAL),
    "orders": (orders.REQUIRED, orders.OPTIONAL),
    "order_items": (order_items.REQUIRED, order_items.OPTIONAL),
}
KEYS = {"customers": customers.KEYS, "products": products.KEYS, "orders": orders.KEYS}
LATEST = {"customers": customers.latest_customers, "products": products.latest_products,
          "orders": orders.latest_orders}


@dataclass
class Batch:
    """The raw files one run reads, per table."""

    files: dict[str, list[LandingFile]]
    full_refresh: bool

    @property
    def is_empty(self) -> bool:
        return not any(self.files.values())

    def paths(self, table: str) -> list[str]:
        return [f.path for f in self.files.get(table, [])]


@dataclass
class StagingOutcome:
    moved: list[RuleResult] = field(default_factory=list)  # quarantine-rule results
    touched_orders: DataFrame | None = None  # order_id of orders changed by the batch


def _standardisers(settings: Settings, run_time: dt.datetime
                   ) -> dict[str, Callable[[DataFrame], DataFrame]]:
    st = settings.staging
    bounds = TimeBounds.of(st.earliest_date, run_time, st.future_tolerance_days)
    return {
        "customers": lambda raw: customers.standardise_customers(
            raw, st.timestamp_formats, st.date_formats, st.email_pattern, bounds),
        "products": lambda raw: products.standardise_products(raw, st.timestamp_formats,
                                                              bounds),
        "orders": lambda raw: orders.standardise_orders(raw, st.timestamp_formats,
                                                        st.status_map, bounds),
        "order_items": order_items.standardise_order_items,
    }


@dataclass
class _Staged:
    counts: TableCounts
    moved: list[RuleResult]
    touched_orders: DataFrame | None
    seconds: float
    written: bool


def load_staging(spark: SparkSession, wh: Warehouse, settings: Settings, result: RunResult,
                 batch: Batch) -> StagingOutcome:
    """Stage the four raw tables. customers, products and orders are independent and are
    staged side by side (a small delivery is bound by per-job latency, not by the cores);
    order_items follows orders, whose version log chooses its lines."""
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="rfm-staging") as pool:
        futures = {table: pool.submit(_stage_table, spark, wh, settings, result, batch, table)
                   for table in RAW_TABLES if table != "order_items"}
        staged = {table: future.result() for table, future in futures.items()}
    staged["order_items"] = _stage_table(spark, wh, settings, result, batch, "order_items")
    outcome = StagingOutcome()
    for table in RAW_TABLES:
        done = staged[table]
        counts = done.counts
        result.staging.append(counts)
        outcome.moved += done.moved
        if table == "order_items":
            outcome.touched_orders = done.touched_orders
        if not done.written:
            log.info("staging.%-12s no new files (keys %s)", table,
                     fmt_count(counts.keys_in_staging))
            continue
        result.rows_written[f"staging.{table}"] = counts.keys_in_staging
        result.rows_written[f"quarantine.{table}"] = counts.rows_quarantined
        log.info("staging.%-12s %d file(s): read %s, quarantined %s, accepted %s, keys %s "
                 "(%.1f s)", table, counts.files_read, fmt_count(counts.rows_read),
                 fmt_count(counts.rows_quarantined), fmt_count(counts.rows_accepted),
                 fmt_count(counts.keys_in_staging), done.seconds)
    return outcome


def _stage_table(spark: SparkSession, wh: Warehouse, settings: Settings, result: RunResult,
                 batch: Batch, table: str) -> _Staged:
    files = batch.files.get(table, [])
    needs_lines = table == "order_items" and bool(batch.files.get("orders"))
    if not files and not batch.full_refresh and not needs_lines:
        return _Staged(_counts(wh, table, 0, 0, 0, 0), [], None, 0.0, written=False)
    touched = None
    with timed() as elapsed:
        rules = rules_for(settings, f"staging.{table}")
        required, optional = RAW_COLUMNS[table]
        source = settings.raw_table(table)
        raw = read_raw_table(spark, table, source, required, optional,
                             files=files, schema_drift=settings.raw.schema_drift)
        standardise = _standardisers(settings, result.started_at)[table]
        # released before the line sets are chosen: memory they will need
        with persisted(standardise(raw).transform(with_quarantine_rules, rules)) as checked:
            totals = _read_totals(checked, rules, table, files)
            refuse_changed_while_read(spark, source, files, table)
            read = int(totals["read"])
            moved = quarantine_results(f"staging.{table}", rules, totals, read)
            quarantined = _write_owned(wh, quarantine_rows(checked, result.run_id),
                                       f"quarantine.{table}", batch, table).rows
            accepted = accepted_rows(checked)
            if table in LATEST:
                _upsert_latest(wh, table, accepted, batch.full_refresh)
            log_name, versions_of = VERSION_LOGS[table]
            logged = _write_owned(wh, versions_of(accepted), log_name, batch, table).rows
        if table == "order_items":
            touched = _load_order_lines(wh, batch)
        counts = _counts(wh, table, read, quarantined, logged, len(files))
        moved.append(reconciliation(f"staging.{table}", counts, int(totals["quarantined"])))
    return _Staged(counts, moved, touched, elapsed(), written=True)


def _read_totals(checked: DataFrame, rules, table: str, files: list[LandingFile]):
    """The one job that reads the raw files: rows read, rows with a reason, per-rule
    quarantine counts. A file Spark cannot parse at all is exit 2 naming it."""
    try:
        return checked.agg(
            F.count(F.lit(1)).alias("read"),
            F.count(F.when(F.size(REASONS) > 0, 1)).alias("quarantined"),
            *quarantine_counts(rules),
        ).first()
    except Exception as exc:
        unreadable = unreadable_file_error(exc, table, files)
        if unreadable is not None:
            raise unreadable from None
        raise


def reconciliation(table: str, counts: TableCounts, flagged: int) -> RuleResult:
    """Rows read = rows written to quarantine + rows written to the version log, both
    taken from the Delta commits (not derived from each other): any loss is an error."""
    lost = abs(counts.rows_read - counts.rows_quarantined - counts.rows_accepted)
    lost += abs(counts.rows_quarantined - flagged)
    detail = (f"read {counts.rows_read}, written to quarantine {counts.rows_quarantined} "
              f"(flagged {flagged}), to the version log {counts.rows_accepted}")
    return RuleResult(table, "reconciles", "", "error", "error" if lost else "pass", lost,
                      counts.rows_read, [], detail)


def _counts(wh: Warehouse, table: str, read: int, quarantined: int, accepted: int,
            files: int) -> TableCounts:
    name = f"staging.{table}"
    keys = wh.read(name).count() if wh.exists(name) else 0
    return TableCounts(table, read, quarantined, accepted, keys, files)


def _write_owned(wh: Warehouse, df: DataFrame, name: str, batch: Batch, table: str) -> Commit:
    """Rows that belong to a raw file: replaced per file, or all of them on a full refresh."""
    if batch.full_refresh:
        return wh.overwrite(df, name)
    return wh.replace_where(df, name, SOURCE_FILE, batch.paths(table))


def _upsert_latest(wh: Warehouse, table: str, accepted: DataFrame, full_refresh: bool) -> None:
    latest = LATEST[table](accepted)
    if full_refresh:
        wh.overwrite(latest, f"staging.{table}")
    else:
        wh.merge_upsert(latest, f"staging.{table}", KEYS[table], newer_than="updated_at")


def _load_order_lines(wh: Warehouse, batch: Batch) -> DataFrame | None:
    """Choose the line sets of the orders the batch touched; returns their order ids."""
    versions, lines = wh.read(ORDER_VERSIONS), wh.read(ORDER_LINES)
    if batch.full_refresh:
        wh.overwrite(order_items.lines_of_latest_orders(lines, versions), "staging.order_items")
        return None
    touched = (
        versions.where(F.col(SOURCE_FILE).isin(batch.paths("orders"))).select("order_id")
        .unionByName(lines.where(F.col(SOURCE_FILE).isin(batch.paths("order_items")))
                     .select("order_id"))
        .distinct()
    )
    chosen = order_items.lines_of_latest_orders(
        lines.join(touched, "order_id", "left_semi"),
        versions.join(touched, "order_id", "left_semi"),
    )
    wh.merge_replace_groups(chosen, "staging.order_items", ["order_id"], order_items.KEYS,
                            touched)
    return touched

"""One run of the pipeline: raw -> staging (+ quarantine) -> intermediate -> marts.

Each layer is a pure transform from rfm_spark.staging / intermediate / marts; this
module reads, calls them in order, writes through the Warehouse and records the run in
audit/pipeline_runs, whatever the outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, functions as F, types as T

from rfm_spark.config import RAW_TABLES, Settings
from rfm_spark.errors import ConfigError, RfmError
from rfm_spark.intermediate.customer_order_summary import customer_order_summary
from rfm_spark.intermediate.rfm_scores import rfm_scores
from rfm_spark.io.landing import list_files, read_raw_table
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import fmt_count, timed
from rfm_spark.marts.customer_segmentation import customer_segmentation
from rfm_spark.marts.top_customers import top_customers
from rfm_spark.quality.checks import (
    RESULTS_SCHEMA,
    RuleResult,
    check_table,
    quarantine_counts,
    quarantine_results,
    raise_on_errors,
    render_failures,
    results_rows,
    with_quarantine_rules,
)
from rfm_spark.staging import customers, order_items, orders, products
from rfm_spark.staging.cleansing import REASONS, accepted_rows, quarantine_rows

log = logging.getLogger("rfm_spark.pipeline")


@dataclass
class RunOptions:
    as_of: dt.date | None = None
    full_refresh: bool = False


@dataclass
class TableCounts:
    table: str
    rows_read: int
    rows_quarantined: int
    rows_accepted: int
    keys_in_staging: int


@dataclass
class RunResult:
    run_id: str
    as_of: dt.date | None
    status: str = "running"
    message: str | None = None
    staging: list[TableCounts] = field(default_factory=list)
    rows_written: dict[str, int] = field(default_factory=dict)
    dq_results: list[RuleResult] = field(default_factory=list)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    finished_at: dt.datetime | None = None


def new_run_id() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------- staging


def _standardisers(settings: Settings) -> dict[str, Callable[[DataFrame], DataFrame]]:
    st = settings.staging
    return {
        "customers": lambda raw: customers.standardise_customers(
            raw, st.timestamp_formats, st.date_formats, st.email_pattern
        ),
        "products": lambda raw: products.standardise_products(raw, st.timestamp_formats),
        "orders": lambda raw: orders.standardise_orders(raw, st.timestamp_formats, st.status_map),
        "order_items": order_items.standardise_order_items,
    }


RAW_COLUMNS = {
    "customers": (customers.REQUIRED, customers.OPTIONAL),
    "products": (products.REQUIRED, products.OPTIONAL),
    "orders": (orders.REQUIRED, orders.OPTIONAL),
    "order_items": (order_items.REQUIRED, order_items.OPTIONAL),
}


def build_staging(
    spark: SparkSession, wh: Warehouse, settings: Settings, result: RunResult
) -> list[RuleResult]:
    """Read every raw table, write quarantine and staging, record the reconciliation.

    Returns the results of the quarantine-severity rules (rows they moved)."""
    standardise = _standardisers(settings)
    moved: list[RuleResult] = []
    validated: dict[str, DataFrame] = {}
    try:
        for table in RAW_TABLES:
            with timed() as elapsed:
                required, optional = RAW_COLUMNS[table]
                rules = rules_for(settings, f"staging.{table}")
                raw = read_raw_table(spark, table, settings.raw_table(table), required, optional)
                checked = (
                    standardise[table](raw)
                    .transform(with_quarantine_rules, rules)
                    .persist(StorageLevel.MEMORY_AND_DISK)
                )
                validated[table] = checked
                totals = checked.agg(
                    F.count(F.lit(1)).alias("read"),
                    F.count(F.when(F.size(REASONS) > 0, 1)).alias("quarantined"),
                    *quarantine_counts(rules),
                ).first()
                moved += quarantine_results(
                    f"staging.{table}", rules, totals, int(totals["read"])
                )
                wh.overwrite(quarantine_rows(checked, result.run_id), f"quarantine.{table}")
                accepted = accepted_rows(checked)
                if table == "order_items":
                    versions = orders.order_versions(accepted_rows(validated["orders"]))
                    staged = order_items.lines_of_latest_orders(accepted, versions)
                else:
                    latest = {
                        "customers": customers.latest_customers,
                        "products": products.latest_products,
                        "orders": orders.latest_orders,
                    }[table]
                    staged = latest(accepted)
                wh.overwrite(staged, f"staging.{table}")
                keys = wh.read(f"staging.{table}").count()
                counts = TableCounts(
                    table=table,
                    rows_read=int(totals["read"]),
                    rows_quarantined=int(totals["quarantined"]),
                    rows_accepted=int(totals["read"]) - int(totals["quarantined"]),
                    keys_in_staging=keys,
                )
                result.staging.append(counts)
                result.rows_written[f"staging.{table}"] = keys
                result.rows_written[f"quarantine.{table}"] = counts.rows_quarantined
            log.info(
                "staging.%-12s read %s, quarantined %s, accepted %s, keys %s (%.1f s)",
                table, fmt_count(counts.rows_read), fmt_count(counts.rows_quarantined),
                fmt_count(counts.rows_accepted), fmt_count(counts.keys_in_staging), elapsed(),
            )
    finally:
        for frame in validated.values():
            frame.unpersist()
    return moved


# -------------------------------------------------------------------- data quality


def rules_for(settings: Settings, table: str):
    spec = settings.quality.tables.get(table)
    return spec.rules if spec else []


def run_checks(
    wh: Warehouse,
    settings: Settings,
    result: RunResult,
    frames: dict[str, DataFrame],
    carried: list[RuleResult] | None = None,
) -> None:
    """Check the given tables; append their results (and `carried` ones, e.g. quarantine
    counts from staging) to audit.dq_results; stop with exit 1 on an error-severity failure."""
    run_time = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    new: list[RuleResult] = list(carried or [])
    for table, df in frames.items():
        spec = settings.quality.tables.get(table)
        if spec is None:
            continue
        with timed() as elapsed:
            found = check_table(df, table, spec, as_of=result.as_of, run_time=run_time,
                                lookup=wh.read)
        failing = sum(1 for r in found if not r.passed)
        log.info("checks %-29s %d rule(s), %d not passed (%.1f s)", table, len(found), failing,
                 elapsed())
        new += found
    record_checks(wh, result, new)
    raise_on_errors(new)


def record_checks(wh: Warehouse, result: RunResult, new: list[RuleResult]) -> None:
    result.dq_results += new
    if not new:
        return
    rows = results_rows(result.run_id, new, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    wh.append(wh.spark.createDataFrame(rows, RESULTS_SCHEMA), "audit.dq_results")
    failures = render_failures(new)
    if failures:
        log.warning("data-quality rules not passed:\n%s", failures)


# -------------------------------------------------------------------- as_of + models


def resolve_as_of(wh: Warehouse, settings: Settings, requested: dt.date | None) -> dt.date | None:
    """--as-of, else the config's as_of: a date, `run_date`, or the latest counted order date."""
    if requested is not None:
        return requested
    if settings.as_of == "run_date":
        return dt.datetime.now(dt.timezone.utc).date()
    if settings.as_of != "latest_order":
        return dt.date.fromisoformat(settings.as_of)
    latest = (
        wh.read("staging.orders")
        .where(F.col("status") == settings.rfm.counted_status)
        .agg(F.max("order_date").alias("latest"))
        .first()["latest"]
    )
    return latest


def build_models(wh: Warehouse, settings: Settings, result: RunResult) -> None:
    """intermediate, checked; then the marts, checked before they are published."""
    as_of = result.as_of
    rfm = settings.rfm
    top = settings.top_customers
    intermediate: list[tuple[str, Callable[[], DataFrame]]] = [
        ("intermediate.customer_order_summary", lambda: customer_order_summary(
            wh.read("staging.orders"), wh.read("staging.order_items"), as_of, rfm.counted_status)),
        ("intermediate.rfm_scores", lambda: rfm_scores(
            wh.read("intermediate.customer_order_summary"), as_of, rfm.ntile)),
    ]
    for name, build in intermediate:
        _write_model(wh, result, name, build)
    run_checks(wh, settings, result, {name: wh.read(name) for name, _ in intermediate})

    segmentation = customer_segmentation(
        wh.read("intermediate.rfm_scores"), rfm.churn, rfm.behavioral_segments,
        rfm.behavioral_default, rfm.segments,
    ).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        marts = {
            "marts.customer_segmentation": segmentation,
            "marts.top_customers": top_customers(segmentation, top.n, top.activity,
                                                 top.high_value_min_monetary),
        }
        run_checks(wh, settings, result, marts)  # raises before anything is published
        for name, df in marts.items():
            _write_model(wh, result, name, lambda df=df: df)
    finally:
        segmentation.unpersist()


def _write_model(wh: Warehouse, result: RunResult, name: str,
                 build: Callable[[], DataFrame]) -> None:
    with timed() as elapsed:
        wh.overwrite(build(), name)
        rows = wh.read(name).count()
        result.rows_written[name] = rows
    log.info("%-36s wrote %s rows (%.1f s)", name, fmt_count(rows), elapsed())


# ---------------------------------------------------------------------------- audit

PIPELINE_RUNS_SCHEMA = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("as_of_date", T.DateType()),
    T.StructField("started_at", T.TimestampType()),
    T.StructField("finished_at", T.TimestampType()),
    T.StructField("status", T.StringType()),
    T.StructField("message", T.StringType()),
    T.StructField("table_counts", T.ArrayType(T.StructType([
        T.StructField("table", T.StringType()),
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
        (result.finished_at or dt.datetime.now(dt.timezone.utc)).replace(tzinfo=None),
        result.status,
        result.message,
        [(c.table, c.rows_read, c.rows_quarantined, c.rows_accepted, c.keys_in_staging)
         for c in result.staging],
        dict(result.rows_written),
    )
    wh.append(spark.createDataFrame([row], PIPELINE_RUNS_SCHEMA), "audit.pipeline_runs")


# ------------------------------------------------------------------------------ run


def landing_is_empty(spark: SparkSession, settings: Settings) -> bool:
    for table in RAW_TABLES:
        source = settings.raw_table(table)
        if source.format != "csv" or list_files(spark, source.path):
            return False
    return True


def ensure_landing(spark: SparkSession, settings: Settings) -> None:
    """Generate the sample landing when the config asks for it and the landing is empty."""
    if not settings.sample.generate_if_empty or not landing_is_empty(spark, settings):
        return
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


def check_warehouse(spark: SparkSession, settings: Settings, as_of: dt.date | None) -> RunResult:
    """`rfm-spark dq`: run every configured rule on the tables as they are, rebuild nothing."""
    wh = Warehouse(spark, settings.warehouse)
    if not wh.exists("staging.orders"):
        raise ConfigError(f"--warehouse: no pipeline tables in {settings.warehouse.dir} "
                          "(run `rfm-spark run` first)")
    result = RunResult(run_id=new_run_id(), as_of=resolve_as_of(wh, settings, as_of))
    result.as_of = result.as_of or dt.datetime.now(dt.timezone.utc).date()
    present = {t: wh.read(t) for t in settings.quality.tables if wh.exists(t)}
    for table in sorted(set(settings.quality.tables) - set(present)):
        log.warning("checks %s: table not found, skipped", table)
    log.info("checks %s: %d table(s) at as_of %s", result.run_id, len(present), result.as_of)
    try:
        run_checks(wh, settings, result, present)
        result.status = "succeeded"
    except RfmError:
        result.status = "failed"
        raise
    return result


def run_pipeline(spark: SparkSession, settings: Settings, options: RunOptions) -> RunResult:
    """The whole run. Always leaves a row in audit/pipeline_runs, even when it fails."""
    wh = Warehouse(spark, settings.warehouse)
    result = RunResult(run_id=new_run_id(), as_of=options.as_of)
    log.info("run %s: config %s, raw %s, warehouse %s", result.run_id, settings.source,
             settings.raw.dir, settings.warehouse.dir)
    try:
        ensure_landing(spark, settings)
        moved = build_staging(spark, wh, settings, result)
        result.as_of = resolve_as_of(wh, settings, options.as_of)
        if result.as_of is None:
            log.warning("no completed orders in staging: the marts are written empty")
            result.as_of = dt.datetime.now(dt.timezone.utc).date()
        log.info("as_of %s", result.as_of.isoformat())
        run_checks(wh, settings, result,
                   {f"staging.{t}": wh.read(f"staging.{t}") for t in RAW_TABLES}, carried=moved)
        build_models(wh, settings, result)
        result.status = "succeeded"
    except RfmError as exc:
        result.status, result.message = "failed", str(exc)
        raise
    except Exception as exc:
        result.status, result.message = "failed", str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        raise
    finally:
        result.finished_at = dt.datetime.now(dt.timezone.utc)
        try:
            record_run(spark, wh, result)
        except Exception:  # noqa: BLE001 - never hide the run's own error behind this one
            log.exception("could not record the run in audit.pipeline_runs")
    return result

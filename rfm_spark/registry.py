"""Every table of the warehouse, declared once: what feeds it, its columns and keys, how it
is written. Read this file to know the pipeline; nothing else names a table.

Inputs are other declared tables, or `raw.<table>` (a raw table's rows, typed and checked:
each carries its reasons in `_dq_reasons`). A raw table is read once, into its version log;
its quarantine and staging table are built from that log (staging from its accepted rows).
The runner (rfm_spark/runner) builds the tables in the order given by their inputs, checks
a layer before it writes any of it, and writes each table with its declared strategy
(rfm_spark/model.py). Config validation, data-quality rule validation, the docs and the
report take their table lists from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyspark.sql import DataFrame

from rfm_spark import config
from rfm_spark.audit_schemas import (
    CLV_MODELS,
    CLV_VALIDATION,
    CLV_VALIDATION_TRACKING,
    FAILING_ROWS,
    PIPELINE_RUNS,
    PROCESSED_FILES,
    QUALITY_RESULTS,
)
from rfm_spark.clv import mart as clv_mart
from rfm_spark.config import RfmRules, Settings, TableCatalog, TopCustomerRules
from rfm_spark.intermediate import customer_order_summary as summary
from rfm_spark.intermediate import rfm_scores
from rfm_spark.marts import customer_segmentation, top_customers
from rfm_spark.model import (
    Append,
    BuildContext,
    Model,
    Overwrite,
    ReplaceBySourceFile,
    ReplaceGroups,
    ReplaceWhere,
    Upsert,
)
from rfm_spark.snapshots import customer_segment_history as segment_history
from rfm_spark.snapshots import customers_history
from rfm_spark.staging import customers, order_items, orders, products
from rfm_spark.staging.cleansing import RAW, REASONS, TimeBounds


@dataclass(frozen=True)
class RawSource:
    """A raw table as delivered: the columns it must and may have, and the transform that
    types and checks it (rows it rejects carry their reasons in `_dq_reasons`)."""

    name: str  # raw.<table>
    required: tuple[str, ...]
    optional: tuple[str, ...]
    standardise: Callable[[DataFrame, BuildContext], DataFrame]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]


def _bounds(ctx: BuildContext) -> TimeBounds:
    st = ctx.rules.staging
    return TimeBounds.of(st.earliest_date, ctx.run_time, st.future_tolerance_days)


SOURCES = (
    RawSource("raw.customers", customers.REQUIRED, customers.OPTIONAL,
              lambda raw, ctx: customers.standardise_customers(
                  raw, ctx.rules.staging.timestamp_formats, ctx.rules.staging.date_formats,
                  ctx.rules.staging.email_pattern, _bounds(ctx))),
    RawSource("raw.products", products.REQUIRED, products.OPTIONAL,
              lambda raw, ctx: products.standardise_products(
                  raw, ctx.rules.staging.timestamp_formats, _bounds(ctx))),
    RawSource("raw.orders", orders.REQUIRED, orders.OPTIONAL,
              lambda raw, ctx: orders.standardise_orders(
                  raw, ctx.rules.staging.timestamp_formats, ctx.rules.staging.status_map,
                  _bounds(ctx))),
    RawSource("raw.order_items", order_items.REQUIRED, order_items.OPTIONAL,
              lambda raw, ctx: order_items.standardise_order_items(raw)),
)


def _logged(columns: tuple[str, ...]) -> tuple[str, ...]:
    """A version log's columns: `columns`, then each row's reasons and raw text (NULL on
    accepted rows, cleansing.as_logged)."""
    return (*columns, REASONS, RAW)


# The version log each raw table is read into: every row of its deliveries, checked.
VERSION_LOGS = {"customers": "staging.customer_versions", "products": "staging.product_versions",
                "orders": "staging.order_versions", "order_items": "staging.order_item_versions"}


def _quarantine(source: RawSource) -> Model:
    return Model(f"quarantine.{source.table}", (VERSION_LOGS[source.table],), columns=(),
                 write=ReplaceBySourceFile(), checkable=False,
                 about="rejected raw rows as delivered, with _dq_reasons and _run_id")


# rows of the customers in scope replaced: one row per customer, or their history rows
BY_CUSTOMER = ReplaceGroups(("customer_id",), ("customer_id",))
HISTORY_BY_CUSTOMER = ReplaceGroups(("customer_id",), ("customer_id", "valid_from"))


def _segmentation(scores: DataFrame, rfm: RfmRules) -> DataFrame:
    return customer_segmentation.customer_segmentation(
        scores, rfm.churn, rfm.behavioral_segments, rfm.behavioral_default, rfm.segments)


def _top(segmentation: DataFrame, top: TopCustomerRules) -> DataFrame:
    return top_customers.top_customers(segmentation, top.n, top.activity,
                                       top.high_value_min_monetary)


def _segment_history(segmentation: DataFrame, lifetime_value: DataFrame | None,
                     previous: DataFrame, as_of: dt.date) -> DataFrame:
    snapshot = segment_history.with_p_alive_band(segmentation, lifetime_value)
    return segment_history.next_history(previous, snapshot, as_of)


def _migration(history: DataFrame, previous: dt.date | None, as_of: dt.date) -> DataFrame:
    """Moves since the previous as_of; no rows on the first one."""
    matrix = segment_history.segment_migration(history, previous or as_of, as_of)
    return matrix if previous is not None else matrix.limit(0)


MODELS: tuple[Model, ...] = (
    # ---- staging: raw -> typed, canonical, latest version per key
    *(_quarantine(s) for s in SOURCES),
    Model("staging.customer_versions", ("raw.customers",), _logged(customers.VERSION_COLUMNS),
          ReplaceBySourceFile(), build=lambda checked, ctx: customers.customer_versions(checked),
          checkable=False, about="every delivered customer row, rejected ones with their "
          "reasons; its accepted rows feed customers and customers_history"),
    Model("staging.product_versions", ("raw.products",), _logged(products.VERSION_COLUMNS),
          ReplaceBySourceFile(), build=lambda checked, ctx: products.product_versions(checked),
          checkable=False, about="every delivered product row, rejected ones with their reasons"),
    Model("staging.order_versions", ("raw.orders",), _logged(orders.VERSION_COLUMNS),
          ReplaceBySourceFile(), build=lambda checked, ctx: orders.order_versions(checked),
          checkable=False, about="every delivered order row and the delivery it came in, "
          "rejected ones with their reasons"),
    Model("staging.order_item_versions", ("raw.order_items",),
          _logged(order_items.VERSION_COLUMNS), ReplaceBySourceFile(),
          build=lambda checked, ctx: order_items.delivered_lines(checked),
          checkable=False, about="every delivered order line and its delivery, rejected ones "
          "with their reasons"),
    Model("staging.customers", ("staging.customer_versions",), customers.COLUMNS,
          Upsert(customers.KEYS, newer_than="updated_at"), keys=customers.KEYS,
          build=lambda accepted, ctx: customers.latest_customers(accepted)),
    Model("staging.products", ("staging.product_versions",), products.COLUMNS,
          Upsert(products.KEYS, newer_than="updated_at"), keys=products.KEYS,
          build=lambda accepted, ctx: products.latest_products(accepted)),
    Model("staging.orders", ("staging.order_versions",), orders.COLUMNS,
          Upsert(orders.KEYS, newer_than="updated_at"), keys=orders.KEYS,
          build=lambda accepted, ctx: orders.latest_orders(accepted)),
    Model("staging.order_items", ("staging.order_item_versions", "staging.order_versions"),
          order_items.COLUMNS, ReplaceGroups(("order_id",), order_items.KEYS),
          keys=order_items.KEYS, build=lambda lines, versions, ctx:
          order_items.lines_of_latest_orders(lines, versions),
          about="the line set of each order's latest version"),
    # ---- intermediate
    Model("intermediate.customer_order_summary", ("staging.orders", "staging.order_items"),
          summary.COLUMNS, BY_CUSTOMER, keys=("customer_id",),
          build=lambda orders_, items, ctx: summary.customer_order_summary(
              orders_, items, ctx.as_of, ctx.rules.rfm.counted_status),
          about="counted orders per customer at as_of; only touched customers recomputed"),
    Model("intermediate.rfm_scores", ("intermediate.customer_order_summary",),
          rfm_scores.COLUMNS, Overwrite(), keys=("customer_id",),
          build=lambda summary_, ctx: rfm_scores.rfm_scores(summary_, ctx.as_of,
                                                            ctx.rules.rfm.ntile)),
    # ---- marts
    Model("marts.customer_segmentation", ("intermediate.rfm_scores",),
          customer_segmentation.COLUMNS, Overwrite(), keys=("customer_id",),
          build=lambda scores, ctx: _segmentation(scores, ctx.rules.rfm)),
    Model("marts.top_customers", ("marts.customer_segmentation",), top_customers.COLUMNS,
          Overwrite(), keys=("top_rank",),
          build=lambda segmentation, ctx: _top(segmentation, ctx.rules.top_customers)),
    # fitted on the driver from grouped statistics: built by the runner (runner/clv.py)
    Model("marts.customer_lifetime_value", ("intermediate.customer_order_summary",),
          clv_mart.COLUMNS, Overwrite(), keys=("customer_id",),
          about="P(alive), expected purchases and value per customer (clv.enabled)"),
    # ---- snapshots (SCD Type 2) and what is derived from them
    Model("snapshots.customers_history", ("staging.customer_versions",),
          customers_history.history_columns(customers.TRACKABLE), HISTORY_BY_CUSTOMER,
          keys=("customer_id", "valid_from"),
          optional=customers.TRACKABLE,  # the configured tracked columns only
          build=lambda versions, ctx: customers_history.build_history(
              versions, ctx.rules.snapshots.customer_tracked_columns, customers.COLUMNS)),
    Model("snapshots.customer_segment_history",
          ("marts.customer_segmentation", "marts.customer_lifetime_value",
           "snapshots.customer_segment_history"),
          segment_history.COLUMNS, HISTORY_BY_CUSTOMER,
          keys=("customer_id", "valid_from"),
          build=lambda segmentation, lifetime_value, previous, ctx: _segment_history(
              segmentation, lifetime_value, previous, ctx.as_of),
          about="each customer's segments and p_alive_band over as-of dates; a run adds "
                "its as_of (lifetime_value None: CLV off)"),
    Model("marts.segment_migration", ("snapshots.customer_segment_history",),
          segment_history.MIGRATION_COLUMNS, Overwrite(),
          keys=("from_segment", "to_segment"),
          build=lambda history, ctx: _migration(history, ctx.previous_as_of, ctx.as_of),
          about="RFM segment moves since the previous succeeded run's as_of"),
    # ---- audit: written by the runner itself
    Model("audit.processed_files", (), PROCESSED_FILES.fieldNames(), ReplaceWhere("path"),
          keys=("path",), checkable=False, about="the checkpoint: raw files already read"),
    Model("audit.dq_results", (), QUALITY_RESULTS.fieldNames(), Append(), checkable=False,
          about="every data-quality rule result of every run"),
    Model("audit.dq_failing_rows", (), FAILING_ROWS.fieldNames(), Overwrite(), checkable=False,
          about="the staging checks' unique and relationships failures, kept for the next "
                "incremental run (runner/kept_failures.py)"),
    Model("audit.clv_models", (), CLV_MODELS.fieldNames(), Append(), checkable=False,
          about="every CLV model fitted by every run: parameters, fit, convergence"),
    Model("audit.clv_validation", (), CLV_VALIDATION.fieldNames(), Append(), checkable=False,
          about="rfm-spark clv-validate: actual vs predicted holdout purchases per model"),
    Model("audit.clv_validation_tracking", (), CLV_VALIDATION_TRACKING.fieldNames(), Append(),
          checkable=False, about="rfm-spark clv-validate: cumulative repeat purchases, "
                                 "actual and predicted, per week"),
    Model("audit.pipeline_runs", (), PIPELINE_RUNS.fieldNames(), ReplaceWhere("run_id"),
          keys=("run_id",), checkable=False,
          about="one row per run: status, counts, the table versions it published"),
)

TABLES: dict[str, Model] = {m.name: m for m in MODELS}
RAW_TABLES = tuple(s.table for s in SOURCES)
SOURCE_OF: dict[str, RawSource] = {s.table: s for s in SOURCES}


def table(name: str) -> Model:
    return TABLES[name]


def version_log(raw_table: str) -> Model:
    """The version log a raw table is read into (as MODELS declares it now)."""
    return next(m for m in MODELS if m.name == VERSION_LOGS[raw_table])


def layer(name: str) -> tuple[Model, ...]:
    return tuple(m for m in MODELS if m.layer == name)


PUBLISHED_LAYERS = ("intermediate", "marts", "snapshots")


def stats_columns(name: str) -> tuple[str, ...]:
    """The columns a declared table keeps Delta file statistics on (none known: Delta's
    default, the first 32 columns)."""
    return TABLES[name].stats_columns if name in TABLES else ()


def is_published(name: str) -> bool:
    """Whether a run records the table's version (what `dq` and `report` read back): the
    derived layers, not staging nor the audit logs."""
    return name in TABLES and TABLES[name].layer in PUBLISHED_LAYERS


def checkable_columns() -> dict[str, tuple[str, ...]]:
    """{table: columns} of the tables data-quality rules may name."""
    return {m.name: m.columns for m in MODELS if m.checkable}


def run_order(models: Iterable[Model] = MODELS) -> list[Model]:
    """The models in an order where each comes after its inputs (a table reading its own
    previous state is not a dependency); raises on a cycle."""
    pending = {m.name: m for m in models}
    done: list[Model] = []
    placed: set[str] = set()
    while pending:
        ready = [m for m in pending.values()
                 if all(i == m.name or i not in pending for i in m.inputs)]
        if not ready:
            raise ValueError(f"the table declarations have a cycle: {sorted(pending)}")
        for m in ready:
            done.append(m)
            placed.add(m.name)
            del pending[m.name]
    return done


def describe() -> str:
    """One line per table: name, inputs, write strategy (the README's table list)."""
    rows = [f"{m.name:38} <- {', '.join(m.inputs) or '(the runner)':62} {m.write}"
            for m in run_order()]
    return "\n".join(rows)


CATALOG = TableCatalog(
    tables=tuple(TABLES),
    checkable=checkable_columns(),
    raw_tables=RAW_TABLES,
    trackable_customer_columns=customers.TRACKABLE,
)


def load_settings(path: str | None = None, overrides: dict | None = None) -> Settings:
    """The configuration, validated against this registry's tables."""
    return config.load_settings(CATALOG, path, overrides)

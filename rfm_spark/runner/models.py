"""The derived layers of a run: intermediate, marts, snapshots, built from their
declarations (rfm_spark/registry.py). Each layer is built, checked as it is about to be
written, and only then written, so a failed error rule leaves the previous tables in place.

customer_order_summary is maintained incrementally: only customers in its scope
(rfm_spark/scopes.py: customers whose orders changed, customers with counted orders between
the previous and the new as_of) are recomputed from their staged orders and replace their
rows; never by adding new totals to old ones. Scores and marts are recomputed from the
whole summary (ntile needs every customer, and customers are far fewer than orders).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from contextlib import ExitStack
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark import registry, scopes
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import fmt_count, timed
from rfm_spark.materialize import computed_scope, local_checkpoint, persisted
from rfm_spark.model import BuildContext, Model, enforce_columns
from rfm_spark.runner.checks import Gate
from rfm_spark.runner.clv import CLV, prepare_clv, record_fits
from rfm_spark.runner.writes import after_replacing_groups, side_by_side, write
from rfm_spark.snapshots import customer_segment_history as segments
from rfm_spark.staging.cleansing import accepted_rows

log = logging.getLogger("rfm_spark.models")
SUMMARY = registry.table("intermediate.customer_order_summary")
SCORES = registry.table("intermediate.rfm_scores")
SEGMENTATION = registry.table("marts.customer_segmentation")
CUSTOMERS_HISTORY = registry.table("snapshots.customers_history")
SEGMENT_HISTORY = registry.table("snapshots.customer_segment_history")
MIGRATION = registry.table("marts.segment_migration")
ORDER_VERSIONS = "staging.order_versions"


@dataclass(frozen=True)
class Plan:
    """What the staging layer changed, and what the run was asked to do."""

    full_refresh: bool
    touched_orders: DataFrame | None  # order_id of the orders the batch changed
    customer_files: tuple[str, ...]  # customer deliveries read by this run
    rebuild_history: bool = False


def build(model: Model, ctx: BuildContext, *frames: DataFrame) -> DataFrame:
    """The model's transform on the given input frames, held to its declared columns."""
    return enforce_columns(model, model.build(*frames, ctx))


def summary_as_of(wh: Warehouse) -> dt.date | None:
    """The as_of the stored summary was built at (None: no summary, or an empty one)."""
    if not wh.exists(SUMMARY.name):
        return None
    row = wh.read(SUMMARY.name).select("as_of_date").limit(1).collect()
    return row[0]["as_of_date"] if row else None


def is_up_to_date(wh: Warehouse, as_of: dt.date, clv_enabled: bool) -> bool:
    marts = [m.name for m in marts_of_the_scores()] + ([CLV.name] if clv_enabled else [])
    return summary_as_of(wh) == as_of and all(wh.exists(name) for name in marts)


def build_derived(wh: Warehouse, gate: Gate, ctx: BuildContext, plan: Plan,
                  run_id: str) -> dict[str, int]:
    """intermediate -> marts -> snapshots; returns the rows each table received."""
    rows = build_intermediate(wh, gate, ctx, plan)
    rows.update(build_marts(wh, gate, ctx, run_id))
    rows.update(build_snapshots(wh, gate, ctx, plan))
    return rows


def build_intermediate(wh: Warehouse, gate: Gate, ctx: BuildContext, plan: Plan
                       ) -> dict[str, int]:
    orders, items = (wh.read(name) for name in SUMMARY.inputs)
    # a summary from before a column was added is rebuilt whole
    previous = None if plan.full_refresh or not _is_incremental(wh, SUMMARY) \
        else summary_as_of(wh)
    with timed() as elapsed:
        if previous is None:
            summary = build(SUMMARY, ctx, orders, items)
            scope, rows, how = None, summary, "rebuilt"
        else:
            versions = accepted_rows(wh.read(ORDER_VERSIONS))
            scope = scopes.summary_scope(versions, orders, plan.touched_orders, previous,
                                         ctx.as_of, ctx.rules.rfm.counted_status)
            scope, customers = computed_scope(scope)  # used four times below
            their_orders = scopes.rows_of(orders, scope, ["customer_id"])
            rows = build(SUMMARY, ctx, their_orders,
                         scopes.rows_of(items, their_orders, ["order_id"]))
            current = wh.read(SUMMARY.name)
            if previous != ctx.as_of:  # every row's as_of changes: the table is rewritten
                current = current.withColumn("as_of_date", F.lit(ctx.as_of).cast("date"))
            summary = after_replacing_groups(current, rows, scope, SUMMARY.write)
            customers = scope.count() if customers is None else customers
            how = f"{fmt_count(customers)} customer(s) recomputed"
            if previous != ctx.as_of:
                how = f"as_of moved from {previous}: {how}"
        with persisted(summary) as summary, persisted(build(SCORES, ctx, summary)) as scores:
            gate.check({SUMMARY.name: summary, SCORES.name: scores})
            rewritten = previous is None or previous != ctx.as_of
            # counted before the writes: a write to the summary drops the caches read from it
            # (Spark re-caches by path), so a count after the MERGE computed it all again
            kept_rows = None if rewritten else gate.rows_counted(SUMMARY.name, summary)
            commits = side_by_side({
                SUMMARY.name: (lambda: write(wh, SUMMARY, summary, full_refresh=True))
                if rewritten else (lambda: write(wh, SUMMARY, scopes.rows_of(
                    summary, scope, ["customer_id"]), scope=scope)),  # from the cache
                SCORES.name: lambda: write(wh, SCORES, scores),
            })
            summary_commit, scores_commit = commits[SUMMARY.name], commits[SCORES.name]
            # the table as written: the overwrite counted it, else as checked or cached
            summary_rows = summary_commit.rows if rewritten else kept_rows
    log.info("%-36s %s, wrote %s rows; %s %s rows (%.1f s)", SUMMARY.name, how,
             fmt_count(summary_commit.rows), SCORES.name, fmt_count(scores_commit.rows),
             elapsed())
    return {SUMMARY.name: summary_rows, SCORES.name: scores_commit.rows}


def marts_of_the_scores() -> list[Model]:
    """The marts built from intermediate tables and other marts, in run order (a new mart
    declared in the registry is built here); marts fed by snapshots are built with them,
    the CLV mart (fitted on the driver) by runner/clv.py."""
    snapshot_tables = {m.name for m in registry.layer("snapshots")}
    return [m for m in registry.run_order(registry.layer("marts"))
            if not snapshot_tables & set(m.inputs) and m.build is not None]


def build_marts(wh: Warehouse, gate: Gate, ctx: BuildContext, run_id: str) -> dict[str, int]:
    with timed() as elapsed, ExitStack() as kept:
        marts: dict[str, DataFrame] = {}
        for model in marts_of_the_scores():
            inputs = [marts[i] if i in marts else wh.read(i) for i in model.inputs]
            marts[model.name] = kept.enter_context(persisted(build(model, ctx, *inputs)))
        fit_results = []
        if ctx.rules.clv.enabled:
            clv = prepare_clv(wh, ctx, kept)
            marts[CLV.name] = enforce_columns(CLV, clv.mart)
            record_fits(wh, clv.fits, run_id, ctx.as_of)  # on record even if they failed
            fit_results = clv.results
        gate.check(marts, carried=fit_results)  # before anything is published
        commits = side_by_side({name: functools.partial(write, wh, registry.table(name), df)
                                for name, df in marts.items()})
        rows = {name: commit.rows for name, commit in commits.items()}
    log.info("marts: %s (%.1f s)", ", ".join(f"{name} {fmt_count(n)} rows"
                                            for name, n in rows.items()), elapsed())
    return rows


def build_snapshots(wh: Warehouse, gate: Gate, ctx: BuildContext, plan: Plan
                    ) -> dict[str, int]:
    with timed() as elapsed:
        customers, write_customers = _customers_history(wh, ctx, plan)
        history = (_replayed_segment_history(wh, ctx) if plan.rebuild_history
                   else build(SEGMENT_HISTORY, ctx, wh.read(SEGMENTATION.name),
                              _lifetime_value(wh, ctx), _current_segment_history(wh)))
        with persisted(history) as history:
            migration = build(MIGRATION, ctx, history)
            gate.check({CUSTOMERS_HISTORY.name: customers, SEGMENT_HISTORY.name: history,
                        MIGRATION.name: migration})
            # before the writes, which drop the caches read from the history table
            history_rows = gate.rows_counted(SEGMENT_HISTORY.name, history)

            def write_segment_history():
                if _is_incremental(wh, SEGMENT_HISTORY) and not plan.rebuild_history:
                    # only the customers whose history changed are merged
                    keys = list(SEGMENT_HISTORY.write.group_keys)
                    current = wh.read(SEGMENT_HISTORY.name)
                    changed = scopes.changed_groups(history, current, keys)
                    changed = local_checkpoint(changed) or changed  # not re-read from the target
                    return write(wh, SEGMENT_HISTORY, scopes.rows_of(history, changed, keys),
                                 scope=changed)
                return write(wh, SEGMENT_HISTORY, history, full_refresh=True)

            commits = side_by_side({CUSTOMERS_HISTORY.name: write_customers,
                                    MIGRATION.name: lambda: write(wh, MIGRATION, migration),
                                    SEGMENT_HISTORY.name: write_segment_history})
            rows = {MIGRATION.name: commits[MIGRATION.name].rows,
                    SEGMENT_HISTORY.name: history_rows}
    log.info("%-36s %s rows; %s written (%.1f s)", SEGMENT_HISTORY.name,
             fmt_count(rows[SEGMENT_HISTORY.name]), CUSTOMERS_HISTORY.name, elapsed())
    return rows


def _customers_history(wh: Warehouse, ctx: BuildContext, plan: Plan):
    """The history as it will be, and the write that makes it so."""
    (versions_log,) = CUSTOMERS_HISTORY.inputs
    versions = accepted_rows(wh.read(versions_log))
    if plan.full_refresh or not wh.exists(CUSTOMERS_HISTORY.name):
        history = build(CUSTOMERS_HISTORY, ctx, versions)
        return history, lambda: write(wh, CUSTOMERS_HISTORY, history, full_refresh=True)
    current = wh.read(CUSTOMERS_HISTORY.name)
    if not plan.customer_files:
        return current, lambda: None  # no new customer versions: unchanged
    scope, _ = computed_scope(scopes.from_files(versions, plan.customer_files, "customer_id"))
    rows = build(CUSTOMERS_HISTORY, ctx, scopes.rows_of(versions, scope, ["customer_id"]))
    rows = local_checkpoint(rows) or rows  # computed once: checked, then merged
    return (after_replacing_groups(current, rows, scope, CUSTOMERS_HISTORY.write),
            lambda: write(wh, CUSTOMERS_HISTORY, rows, scope=scope))


def _lifetime_value(wh: Warehouse, ctx: BuildContext) -> DataFrame | None:
    """This run's CLV mart for the segment history's p_alive_band; None when CLV is off
    (a mart left by earlier runs is not this as_of's)."""
    return wh.read(CLV.name) if ctx.rules.clv.enabled else None


def _is_incremental(wh: Warehouse, model: Model) -> bool:
    """The table exists with every declared column, so changed rows can be merged into it
    (a table from before a column was added is rewritten whole, schema included)."""
    return wh.exists(model.name) and set(model.columns) <= set(wh.read(model.name).columns)


def _current_segment_history(wh: Warehouse) -> DataFrame:
    if wh.exists(SEGMENT_HISTORY.name):
        return wh.read(SEGMENT_HISTORY.name)
    return segments.empty_history(wh.read(SEGMENTATION.name))


def latest_segment_as_of(wh: Warehouse) -> dt.date | None:
    if not wh.exists(SEGMENT_HISTORY.name):
        return None
    return wh.read(SEGMENT_HISTORY.name).agg(F.max("valid_from")).first()[0]


def replay_dates(wh: Warehouse, ctx: BuildContext) -> list[dt.date]:
    """First counted order date, then every step_days, then as_of itself."""
    first = (wh.read("staging.orders")
             .where(F.col("status") == ctx.rules.rfm.counted_status)
             .agg(F.min("order_date")).first()[0])
    if first is None or first >= ctx.as_of:
        return [ctx.as_of]
    step = dt.timedelta(days=ctx.rules.snapshots.segment_history_step_days)
    days, day = [], first
    while day < ctx.as_of:
        days.append(day)
        day += step
    return [*days, ctx.as_of]


def segmentation_at(wh: Warehouse, ctx: BuildContext) -> DataFrame:
    """The customer_segmentation mart as it stood at ctx.as_of, computed from staging."""
    summary = build(SUMMARY, ctx, *(wh.read(name) for name in SUMMARY.inputs))
    return build(SEGMENTATION, ctx, build(SCORES, ctx, summary))


def _replayed_segment_history(wh: Warehouse, ctx: BuildContext) -> DataFrame:
    """--rebuild-history: the history replayed step by step up to as_of. Each step is
    checkpointed (kept on the executors) so the plan does not grow; where the session has
    no checkpoints, each step is written to the table instead."""
    segmentation = wh.read(SEGMENTATION.name)
    history = segments.empty_history(segmentation)
    steps = replay_dates(wh, ctx)
    for day in steps:
        day_ctx = dataclasses.replace(ctx, as_of=day)
        if day == ctx.as_of:
            snapshot, lifetime_value = segmentation, _lifetime_value(wh, ctx)
        else:  # CLV is fitted at the run's as_of only: earlier steps carry no band
            snapshot, lifetime_value = segmentation_at(wh, day_ctx), None
        history = build(SEGMENT_HISTORY, day_ctx, snapshot, lifetime_value, history)
        kept = local_checkpoint(history)
        if kept is None:
            write(wh, SEGMENT_HISTORY, history, full_refresh=True)
            kept = wh.read(SEGMENT_HISTORY.name)
        history = kept
    log.info("%-36s replayed in %d step(s) from %s", SEGMENT_HISTORY.name, len(steps),
             steps[0])
    return history

"""The staging layer of a run: raw deliveries -> version logs -> quarantine, staging tables.

A raw file is parsed once, by the job that writes its rows (typed, checked, rejected ones
with their reasons and raw text) to the table's version log and counts them; quarantine
and the staging table are written from the log's rows of the files just read.

Incremental (default): only files not yet in audit/processed_files are read.
- customers, products, orders: the batch is reduced to one row per key and upserted; a row
  replaces the staged one only when it is newer (ties: the greater row), so the result is
  the one a full refresh gives whatever order and grouping the files arrive in.
- quarantine rows and the version logs are owned by their file (ReplaceBySourceFile), so
  processing a file again replaces its rows instead of adding them.
- order_items: for every order touched by the batch (a new version or new lines), its
  line set is chosen again from the logs and replaces the staged lines of that order.
Full refresh: the same transforms over every file, tables overwritten.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from rfm_spark import registry, scopes
from rfm_spark.config import Settings
from rfm_spark.io.commit import Commit
from rfm_spark.io.landing import read_raw_table, unreadable_file_error
from rfm_spark.io.listing import LandingFile, refuse_changed_while_read
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import fmt_count, timed
from rfm_spark.materialize import computed_scope
from rfm_spark.model import BuildContext, Model, ReplaceGroups, Upsert
from rfm_spark.quality.checks import RuleResult
from rfm_spark.quality.quarantine import (
    quarantine_counts,
    quarantine_results,
    with_quarantine_rules,
)
from rfm_spark.runner.checks import rules_for
from rfm_spark.runner.kept_failures import Changes
from rfm_spark.runner.runs import TableCounts
from rfm_spark.runner.writes import write
from rfm_spark.staging.cleansing import REASONS, accepted_rows, quarantine_rows

log = logging.getLogger("rfm_spark.staging")


@dataclass
class Batch:
    """The raw files one run reads, per raw table."""

    files: dict[str, list[LandingFile]]
    full_refresh: bool
    # the bytes of every raw file of each table in the landing (None: a Delta or catalog
    # source, of unknown size)
    raw_bytes: Mapping[str, int | None] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(self.files.values())

    def paths(self, table: str) -> list[str]:
        return [f.path for f in self.files.get(table, [])]

    @property
    def landing_bytes(self) -> int | None:
        """The size of every raw file in the landing (what a full refresh reads, and about
        what an incremental run joins against); None when a source is of unknown size."""
        sizes = list(self.raw_bytes.values())
        return None if not sizes or None in sizes else sum(sizes)


@dataclass
class StagingOutcome:
    counts: list[TableCounts] = field(default_factory=list)
    results: list[RuleResult] = field(default_factory=list)  # quarantine + reconciliation
    rows_written: dict[str, int] = field(default_factory=dict)  # quarantine tables
    written: list[str] = field(default_factory=list)  # raw tables staged by the run
    touched_orders: DataFrame | None = None  # order_id of orders changed by the batch


@dataclass
class _Staged:
    counts: TableCounts
    results: list[RuleResult]
    seconds: float
    written: bool


def stage(spark: SparkSession, wh: Warehouse, settings: Settings, batch: Batch,
          ctx: BuildContext, run_id: str) -> StagingOutcome:
    """Stage the raw tables. Each raw table's rows are typed, checked and logged
    independently, so the four are staged side by side (a small delivery is bound by
    per-job latency, not by the cores); the order lines are chosen after, from the
    version logs of orders and lines."""
    def one(table: str) -> _Staged:
        return _stage_table(spark, wh, settings, batch, ctx, run_id, table)

    with ThreadPoolExecutor(max_workers=len(registry.RAW_TABLES),
                            thread_name_prefix="rfm-staging") as pool:
        futures = {t: pool.submit(one, t) for t in registry.RAW_TABLES}
        staged = {table: future.result() for table, future in futures.items()}
    outcome = StagingOutcome()
    if staged["order_items"].written:
        with timed() as elapsed:
            outcome.touched_orders = _load_order_lines(wh, batch)
        staged["order_items"].seconds += elapsed()
    for table in registry.RAW_TABLES:
        done = staged[table]
        outcome.counts.append(done.counts)
        outcome.results += done.results
        if not done.written:
            log.info("staging.%-12s no new files", table)
            continue
        outcome.written.append(table)
        outcome.rows_written[f"quarantine.{table}"] = done.counts.rows_quarantined
        log.info("staging.%-12s %d file(s): read %s, quarantined %s, accepted %s (%.1f s)",
                 table, done.counts.files_read, fmt_count(done.counts.rows_read),
                 fmt_count(done.counts.rows_quarantined), fmt_count(done.counts.rows_accepted),
                 done.seconds)
    return outcome


def changes_of(wh: Warehouse, batch: Batch, outcome: StagingOutcome, kept_from_mb: int
               ) -> dict[str, Changes]:
    """What the run changed in each checked staging table, for its checks: everything on a
    full refresh; else the keys of the batch's accepted rows (an upserted table, from its
    version log) or the orders whose line sets were chosen again (order lines). Tables whose
    raw files hold less than `kept_from_mb` MB are left out: their checks read them whole."""
    changes, small = {}, []
    for model in registry.layer("staging"):
        strategy = model.write
        if not model.checkable or not isinstance(strategy, Upsert | ReplaceGroups):
            continue
        size = batch.raw_bytes.get(model.name.split(".", 1)[1])
        if size is not None and size < kept_from_mb * 2**20:
            small.append(model.name)
            continue
        scope = strategy.group_keys if isinstance(strategy, ReplaceGroups) else strategy.keys
        changes[model.name] = Changes(tuple(scope), None if batch.full_refresh
                                      else _changed_keys(wh, batch, outcome, model))
    if small:
        log.info("checks %s: unique / relationships rules on the whole table, no failures "
                 "kept (raw files under quality.kept_failures_from_mb = %d MB)",
                 ", ".join(small), kept_from_mb)
    return changes


def _changed_keys(wh: Warehouse, batch: Batch, outcome: StagingOutcome, model: Model
                  ) -> DataFrame:
    """The write keys of the rows an incremental run changed in a staging table."""
    strategy = model.write
    if isinstance(strategy, ReplaceGroups):
        touched = outcome.touched_orders
        return (touched if touched is not None
                else wh.read(model.name).where(F.lit(False))).select(*strategy.group_keys)
    raw = model.name.split(".", 1)[1]
    log_model = registry.version_log(raw)
    delivered = wh.read(log_model.name).where(
        F.col(log_model.write.column).isin(batch.paths(raw)))
    return accepted_rows(delivered).select(*strategy.keys)


def with_keys(wh: Warehouse, outcome: StagingOutcome, full_refresh: bool,
              counted: Mapping[str, int], count_the_rest: bool
              ) -> tuple[dict[str, int], list[TableCounts]]:
    """The staging counts with the keys now in each staging table: the rows its
    full-refresh overwrite wrote, else the rows the staging checks counted in their pass
    over the table, else (`count_the_rest`) a count of the table, else None (a run stopped
    before its staging checks). Returns them with the rows each written table received."""
    counts, rows_written = [], dict(outcome.rows_written)
    for done in outcome.counts:
        name = f"staging.{done.table}"
        if full_refresh and name in wh.commits:
            keys = wh.commits[name].rows
        elif name in counted:
            keys = counted[name]
        elif count_the_rest:
            keys = wh.read(name).count() if wh.exists(name) else 0
        else:
            keys = None
        counts.append(dataclasses.replace(done, keys_in_staging=keys))
        if done.table in outcome.written and keys is not None:
            rows_written[name] = keys
    if any(c.keys_in_staging is not None for c in counts):
        log.info("keys in staging: %s", ", ".join(
            f"{c.table} {fmt_count(c.keys_in_staging)}" for c in counts
            if c.keys_in_staging is not None))
    return rows_written, counts


def _built_from_log(log_model: Model) -> list[Model]:
    """The staging tables built from a version log's accepted rows alone (the snapshots
    fed by a log are built with their layer)."""
    return [m for m in registry.layer("staging")
            if m.inputs == (log_model.name,) and m.build is not None]


def _stage_table(spark: SparkSession, wh: Warehouse, settings: Settings, batch: Batch,
                 ctx: BuildContext, run_id: str, table: str) -> _Staged:
    """Read the table's new files once, into its version log (every row, checked, counted
    as it is written); then its quarantine and staging table from that log's rows of
    those files: no cache, nothing parsed twice."""
    files = batch.files.get(table, [])
    needs_lines = table == "order_items" and bool(batch.files.get("orders"))
    if not files and not batch.full_refresh and not needs_lines:
        return _Staged(TableCounts(table, 0, 0, 0, 0, 0), [], 0.0, written=False)
    log_model = registry.version_log(table)
    if not files and not batch.full_refresh and wh.exists(log_model.name):
        # only the order lines are chosen again (new order versions): nothing to read
        return _Staged(TableCounts(table, 0, 0, 0, 0, 0), [], 0.0, written=True)
    source = registry.SOURCE_OF[table]
    write_args = {"full_refresh": batch.full_refresh, "values": batch.paths(table)}
    with timed() as elapsed:
        rules = rules_for(settings, f"staging.{table}")
        landing = settings.raw_table(table)
        raw = read_raw_table(spark, table, landing, source.required, source.optional,
                             files=files, schema_drift=settings.raw.schema_drift)
        checked = source.standardise(raw, ctx).transform(with_quarantine_rules, rules)
        commit = _write_log(wh, log_model, log_model.build(checked, ctx), table, files,
                            write_args, rules)
        totals = commit.observed
        refuse_changed_while_read(spark, landing, files, table)
        read, accepted = commit.rows, int(totals["accepted"])
        results = quarantine_results(f"staging.{table}", rules, totals, read)
        delivered = wh.read(log_model.name, commit.version)
        if not batch.full_refresh:
            delivered = delivered.where(F.col(log_model.write.column).isin(batch.paths(table)))
        quarantined = write(wh, registry.table(f"quarantine.{table}"),
                            quarantine_rows(delivered, run_id), **write_args).rows
        for model in _built_from_log(log_model):
            write(wh, model, model.build(accepted_rows(delivered), ctx), **write_args,
                  rows_at_most=accepted)
        counts = TableCounts(table, read, quarantined, accepted, 0, len(files))
        results.append(reconciliation(f"staging.{table}", counts, int(totals["quarantined"])))
    return _Staged(counts, results, elapsed(), written=True)


def _write_log(wh: Warehouse, log_model: Model, rows: DataFrame, table: str,
               files: list[LandingFile], write_args: dict, rules) -> Commit:
    """The one job that reads the raw files, writing what it read to the version log and
    counting its rows: read (Commit.rows), with a reason, without one, per quarantine rule.
    A file Spark cannot parse at all is exit 2 naming it."""
    rejected = F.col(REASONS).isNotNull()
    metrics = [F.count(F.when(rejected, 1)).alias("quarantined"),
               F.count(F.when(~rejected, 1)).alias("accepted"), *quarantine_counts(rules)]
    try:
        return write(wh, log_model, rows, metrics=metrics, **write_args)
    except Exception as exc:
        # the warehouse wraps the Spark error (its __cause__) with the table it wrote
        unreadable = unreadable_file_error(exc.__cause__ or exc, table, files)
        if unreadable is not None:
            raise unreadable from None
        raise


def reconciliation(table: str, counts: TableCounts, flagged: int) -> RuleResult:
    """Rows read (written to the version log) = rows written to quarantine + accepted rows,
    and the rows written to quarantine = the rows read with a reason, each counted by the
    job that wrote it (the quarantine write reads the log back): any loss is an error."""
    # a row missing from quarantine breaks both equations: counted once
    lost = max(abs(counts.rows_read - counts.rows_quarantined - counts.rows_accepted),
               abs(counts.rows_quarantined - flagged))
    detail = (f"read {counts.rows_read}, written to quarantine {counts.rows_quarantined} "
              f"(flagged {flagged}), accepted into the version log {counts.rows_accepted}")
    return RuleResult(table, "reconciles", "", "error", "error" if lost else "pass", lost,
                      counts.rows_read, [], detail)


def _load_order_lines(wh: Warehouse, batch: Batch) -> DataFrame | None:
    """Choose the line sets of the orders the batch touched; returns their order ids."""
    model = registry.table("staging.order_items")
    lines_log, versions_log = model.inputs
    lines, versions = accepted_rows(wh.read(lines_log)), accepted_rows(wh.read(versions_log))
    if batch.full_refresh:
        write(wh, model, model.build(lines, versions, None), full_refresh=True)
        return None
    touched = scopes.touched_orders(versions, lines, batch.paths("orders"),
                                    batch.paths("order_items"))
    # computed once: the line choice, the MERGE and the summary's scope all use it
    touched, _ = computed_scope(touched)
    chosen = model.build(scopes.rows_of(lines, touched, ["order_id"]),
                         scopes.rows_of(versions, touched, ["order_id"]), None)
    write(wh, model, chosen, scope=touched)
    return touched

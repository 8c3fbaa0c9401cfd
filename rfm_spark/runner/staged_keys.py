"""What a run's staging changed, as the steps after it need it: the keys each checked
staging table changed (for its checks), and the keys now in each staging table (for the
run's record)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import fmt_count
from rfm_spark.model import Model, ReplaceGroups, Upsert
from rfm_spark.runner.kept_failures import Changes
from rfm_spark.runner.runs import TableCounts
from rfm_spark.runner.staging import Batch, StagingOutcome
from rfm_spark.staging.cleansing import accepted_rows

log = logging.getLogger("rfm_spark.staging")


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

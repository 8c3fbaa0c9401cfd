"""The run's data-quality gate: a layer's tables are checked, as they are about to be
written, before any of them is; every result of the run is stored in one append."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import DataFrame

from rfm_spark import registry
from rfm_spark.audit_schemas import QUALITY_RESULTS
from rfm_spark.config import QualityRule, QualityTable, Settings
from rfm_spark.io.classic_only import job_group
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import timed
from rfm_spark.quality.checks import (
    RuleResult,
    check_table,
    raise_on_errors,
    render_failures,
    results_rows,
)
from rfm_spark.runner.kept_failures import Changes, kept_failures
from rfm_spark.runner.writes import write

log = logging.getLogger("rfm_spark.quality")
PARALLEL_TABLES = 4  # tables checked at the same time
RESULTS = "audit.dq_results"


def rules_for(settings: Settings, table: str) -> list[QualityRule]:
    spec = settings.quality.tables.get(table)
    return spec.rules if spec else []


class Gate:
    """Checks the frames of a layer with the configured rules and keeps every result;
    `store` writes them (once per run, whatever the outcome)."""

    def __init__(self, wh: Warehouse, settings: Settings, as_of: dt.date | None):
        self.wh = wh
        self.settings = settings
        self.as_of = as_of
        self.run_time = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.results: list[RuleResult] = []
        self.rows: dict[str, int] = {}  # the rows of each table checked, as checked

    def check(self, frames: Mapping[str, DataFrame], carried: Sequence[RuleResult] = (),
              changes: Mapping[str, Changes] | None = None) -> None:
        """Evaluate the tables' rules (with `carried` results, e.g. staging's quarantine
        counts); exit 1 (DataQualityError) on an error-severity failure. A relationships
        rule looks its parent up among `frames` first: the layer as it will be written.
        `changes` (staging): what the run changed in each table, whose unique and
        relationships rules then start from the failing rows kept by the previous run."""
        new = list(carried)
        checked = [(table, df, self.settings.quality.tables[table])
                   for table, df in frames.items() if table in self.settings.quality.tables]

        def lookup(name: str) -> DataFrame:
            return frames[name] if name in frames else self.wh.read(name)

        known = {}
        if changes is not None:
            with job_group(self.wh.spark, "checks: kept failures"):
                known = kept_failures(self.wh, self.settings, frames, changes, lookup)

        def one(table: str, df: DataFrame, spec: QualityTable):
            with timed() as elapsed, job_group(self.wh.spark, f"checks {table}") as jobs:
                found = check_table(df, table, spec, as_of=self.as_of, run_time=self.run_time,
                                    lookup=lookup, known=known.get(table))
                return found, jobs(), elapsed()

        # Tables are checked side by side: their queries are small and independent, and a
        # run on small data is bound by per-job latency rather than by the cores.
        with ThreadPoolExecutor(max_workers=max(1, min(PARALLEL_TABLES, len(checked))),
                                thread_name_prefix="rfm-checks") as pool:
            outcomes = [f.result() for f in [pool.submit(one, *item) for item in checked]]
        for (table, _, _), ((found, rows), jobs, seconds) in zip(checked, outcomes,
                                                                  strict=True):
            if rows is not None:
                self.rows[table] = rows
            failing = sum(1 for r in found if not r.passed)
            log.info("checks %-29s %d rule(s), %d not passed, %s Spark job(s) (%.1f s)",
                     table, len(found), failing, jobs, seconds)
            new += found
        self.results += new
        failures = render_failures(new)
        if failures:
            log.warning("data-quality rules not passed:\n%s", failures)
        raise_on_errors(new)

    def rows_counted(self, table: str, checked: DataFrame) -> int:
        """The table's rows as its checks counted them, else a count of `checked` (the
        frame written, kept cached by the caller)."""
        return self.rows[table] if table in self.rows else checked.count()

    def store(self, run_id: str) -> None:
        if not self.results:
            return
        rows = results_rows(run_id, self.results, self.run_time)
        write(self.wh, registry.table(RESULTS),
              self.wh.spark.createDataFrame(rows, QUALITY_RESULTS))

"""Run the configured checks on a set of tables and store their results."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import DataFrame

from rfm_spark.config import QualityRule, Settings
from rfm_spark.io.classic_only import job_group
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import timed
from rfm_spark.quality.checks import (
    RESULTS_SCHEMA,
    RuleResult,
    check_table,
    raise_on_errors,
    render_failures,
    results_rows,
)
from rfm_spark.runs import RunResult

log = logging.getLogger("rfm_spark.quality")
PARALLEL_TABLES = 4  # tables checked at the same time


def rules_for(settings: Settings, table: str) -> list[QualityRule]:
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
    run_time = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    new: list[RuleResult] = list(carried or [])
    checked = [(table, df, settings.quality.tables[table]) for table, df in frames.items()
               if table in settings.quality.tables]

    def check(table: str, df: DataFrame, spec) -> tuple[list[RuleResult], str, float]:
        with timed() as elapsed, job_group(wh.spark, f"checks {table}") as jobs:
            found = check_table(df, table, spec, as_of=result.as_of, run_time=run_time,
                                lookup=wh.read)
            return found, jobs(), elapsed()

    # Tables are checked side by side: their queries are small and independent, and a run
    # on small data is bound by per-job latency rather than by the cores.
    with ThreadPoolExecutor(max_workers=max(1, min(PARALLEL_TABLES, len(checked))),
                            thread_name_prefix="rfm-checks") as pool:
        futures = [pool.submit(check, *item) for item in checked]
        outcomes = [future.result() for future in futures]
    for (table, _, _), (found, jobs, seconds) in zip(checked, outcomes, strict=True):
        failing = sum(1 for r in found if not r.passed)
        log.info("checks %-29s %d rule(s), %d not passed, %s Spark job(s) (%.1f s)", table,
                 len(found), failing, jobs, seconds)
        new += found
    result.dq_results += new
    if new:
        rows = results_rows(result.run_id, new, run_time)
        wh.append(wh.spark.createDataFrame(rows, RESULTS_SCHEMA), "audit.dq_results")
        failures = render_failures(new)
        if failures:
            log.warning("data-quality rules not passed:\n%s", failures)
    raise_on_errors(new)

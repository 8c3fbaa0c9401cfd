"""The benchmark's counters: seconds, the Spark jobs a stage ran (between two marker
jobs), the Delta commits it made and the rows they wrote (from the tables' logs), and a
row of the printed table."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from pathlib import Path

from pyspark.sql import SparkSession


@dataclasses.dataclass
class Row:
    stage: str
    rows: int
    seconds: float
    ratio: str = ""
    jobs: int | None = None  # Spark jobs the stage ran (Delta's and AQE's included)
    commits: int | None = None  # Delta commits it made
    rows_written: int | None = None  # rows those commits wrote (a MERGE: rewritten too)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def last_job_id(spark: SparkSession) -> int:
    """The id of a marker job run now: Spark numbers jobs in order, whatever thread or job
    group runs them, so two markers bracket every job between them."""
    sc = spark.sparkContext
    group = f"bench-marker-{time.monotonic_ns()}"
    sc.setJobGroup(group, "bench marker")
    try:
        spark.range(1).collect()
        return max(sc.statusTracker().getJobIdsForGroup(group))
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)




def delta_commits(root: Path) -> dict[Path, int]:
    """{commit file: rows it wrote} of every Delta table under `root` (local paths)."""
    found = {}
    for path in root.glob("**/_delta_log/*.json"):
        written = 0
        for line in path.read_text().splitlines():
            info = json.loads(line).get("commitInfo") if line.strip() else None
            if info:
                metrics = info.get("operationMetrics", {})
                # a write's rows; a MERGE's inserted, updated and copied (rewritten) rows
                written += int(metrics.get("numOutputRows", 0))
        found[path] = written
    return found


@dataclasses.dataclass
class Counted:
    """Seconds, Spark jobs, Delta commits and rows written by one measured block."""

    seconds: float = 0.0
    jobs: int = 0
    commits: int = 0
    rows_written: int = 0


@contextlib.contextmanager
def counted(spark: SparkSession, warehouse: Path):
    done = Counted()
    first_job, before = last_job_id(spark), delta_commits(warehouse)
    start = time.perf_counter()
    try:
        yield done
    finally:
        done.seconds = time.perf_counter() - start
        done.jobs = last_job_id(spark) - first_job - 1
        new = {p: n for p, n in delta_commits(warehouse).items() if p not in before}
        done.commits, done.rows_written = len(new), sum(new.values())

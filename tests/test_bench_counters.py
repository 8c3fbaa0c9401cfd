"""The benchmark's counters (bench/counters.py): Spark jobs between two marker jobs, Delta
commits and the rows they wrote, read from the tables' logs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "counters.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("counters", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_counted_gives_jobs_commits_and_rows_written(spark, tmp_path):
    bench = load_bench()
    table = tmp_path / "wh" / "t"
    spark.range(5).write.format("delta").save(str(table))  # before the block: not counted
    with bench.counted(spark, tmp_path / "wh") as done:
        spark.range(10).write.format("delta").mode("overwrite").save(str(table))
        spark.sql(f"MERGE INTO delta.`{table}` t USING (SELECT id FROM range(8, 12)) s "
                  "ON t.id = s.id WHEN NOT MATCHED THEN INSERT *")
        spark.range(3).count()
    assert done.commits == 2
    # the overwrite wrote 10, the insert-only MERGE 2
    assert done.rows_written == 12, done
    assert done.jobs >= 3 and done.seconds > 0
    with bench.counted(spark, tmp_path / "wh") as idle:
        pass
    assert (idle.jobs, idle.commits, idle.rows_written) == (0, 0, 0)

"""What a run learns from the runs before it (audit/pipeline_runs, read once)."""

from __future__ import annotations

import datetime as dt

from rfm_spark import registry
from rfm_spark.config import WarehouseSettings
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.runner.runs import (
    PastRun,
    RunHistory,
    RunResult,
    open_run,
    published_versions,
    record_run,
)


def past(run_id: str, status: str, full_refresh: bool, hour: int, as_of: str | None):
    return PastRun(run_id, status, full_refresh, dt.datetime(2026, 1, 1, hour),
                   dt.date.fromisoformat(as_of) if as_of else None)


def test_the_latest_full_refresh_decides_whether_one_was_interrupted():
    assert RunHistory().interrupted_full_refresh() is None
    done = past("a", "succeeded", True, 1, "2024-01-31")
    killed = past("b", "abandoned", True, 2, None)
    incremental = past("c", "failed", False, 3, "2024-02-29")
    assert RunHistory((done, incremental)).interrupted_full_refresh() is None
    assert RunHistory((killed, done, incremental)).interrupted_full_refresh() == "b"
    again = past("d", "succeeded", True, 4, "2024-02-29")
    assert RunHistory((done, killed, again)).interrupted_full_refresh() is None


def test_previous_as_of_is_the_latest_succeeded_one_before():
    history = RunHistory((past("a", "succeeded", True, 1, "2024-01-31"),
                          past("b", "failed", False, 2, "2024-02-15"),
                          past("c", "succeeded", False, 3, "2024-02-29"),
                          past("d", "running", False, 4, None)))
    assert history.previous_as_of(dt.date(2024, 3, 31)) == dt.date(2024, 2, 29)
    assert history.previous_as_of(dt.date(2024, 2, 29)) == dt.date(2024, 1, 31)
    assert history.previous_as_of(dt.date(2024, 1, 31)) is None


def test_history_read_from_the_table_gives_stale_runs_and_the_published_versions(
        spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    table = registry.table("audit.pipeline_runs").name

    def recorded(run_id: str, status: str, hour: int, versions: dict[str, int]) -> RunResult:
        result = RunResult(run_id, dt.date(2024, 1, hour), status=status,
                           table_versions=versions,
                           started_at=dt.datetime(2026, 1, 1, hour, tzinfo=dt.UTC))
        record_run(spark, wh, result)
        return result

    recorded("a", "succeeded", 1, {"marts.top_customers": 1})
    recorded("b", "succeeded", 3, {"marts.top_customers": 4})
    recorded("c", "failed", 4, {"marts.top_customers": 5})
    history = RunHistory.read(wh)
    assert sorted(r.run_id for r in history.runs) == ["a", "b", "c"]
    assert history.stale == ()
    # the latest succeeded run's versions, as `dq` and `report` read them too
    assert history.published == published_versions(wh) == {"marts.top_customers": 4}

    # a new run with nothing stale is added to the table (an append, no file rewritten)
    open_run(spark, wh, RunResult("d", None), history)
    last = spark.sql(f"DESCRIBE HISTORY {wh.ref(table).sql} LIMIT 1").first()
    assert last["operationParameters"]["mode"] == "Append"
    history = RunHistory.read(wh)
    assert [r["run_id"] for r in history.stale] == ["d"]

    # the next run marks it abandoned in the same commit that records itself
    open_run(spark, wh, RunResult("e", None), history)
    status = {r["run_id"]: r["status"] for r in wh.read(table).collect()}
    assert status == {"a": "succeeded", "b": "succeeded", "c": "failed", "d": "abandoned",
                      "e": "running"}

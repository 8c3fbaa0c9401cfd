"""What a run learns from the runs before it (audit/pipeline_runs, read once)."""

from __future__ import annotations

import datetime as dt

from rfm_spark.runner.runs import PastRun, RunHistory


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

"""Incremental runs give exactly the tables of one full refresh; re-runs change nothing;
a run killed between two writes is repaired by the next run. One delivery ordering runs end
to end here; the others (reversed, split, lines before orders) are tested at the scope level
in tests/runner."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality

from rfm_spark.cli import main
from rfm_spark.io.lock import warehouse_lock
from tests.helpers import (
    COMPARED,
    EARLIER_AS_OF,
    assert_same_tables,
    cli_env,
    staging_check_results,
    versions,
)

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TABLES = ("customers", "products", "orders", "order_items")


@pytest.fixture(scope="module")
def landing(sample_landing):
    return sample_landing


@pytest.fixture(scope="module")
def config(sample_config):
    return sample_config


@pytest.fixture(scope="module")
def full_refresh(sample_build):
    return sample_build


@pytest.fixture(scope="module")
def kept_config(sample_config, tmp_path_factory) -> str:
    """The sample's config with every staging table keeping its failing rows (by default a
    landing this small has its tables checked whole: the reference build is)."""
    path = tmp_path_factory.mktemp("kept-conf") / "kept.yaml"
    path.write_text(yaml.safe_dump({"inherits": sample_config,
                                    "quality": {"kept_failures_from_mb": 0}}))
    return str(path)


def deliver(landing: Path, raw: Path, table: str, delivery: int) -> None:
    name = f"delivery_{delivery:04d}.csv"
    (raw / table).mkdir(parents=True, exist_ok=True)
    shutil.copy(landing / table / name, raw / table / name)


def run(config: str, raw: Path, warehouse: Path, *extra: str) -> int:
    return main(["run", "--config", config, "--raw-dir", str(raw), "--warehouse",
                 str(warehouse), *extra])


def test_one_delivery_per_run_equals_full_refresh(spark, landing, kept_config, full_refresh,
                                                  tmp_path, capsys):
    raw, warehouse, config = tmp_path / "raw", tmp_path / "wh", kept_config
    for delivery in (1, 2, 3, 4):
        for table in TABLES:
            deliver(landing, raw, table, delivery)
        capsys.readouterr()
        assert run(config, raw, warehouse) == 0
    assert_same_tables(spark, full_refresh, warehouse)
    # the staging checks of the last run started from the failures the previous run kept
    # and re-checked only the keys it changed, and found what the whole-table checks of the
    # reference build (a landing under quality.kept_failures_from_mb) found
    logged = capsys.readouterr().err
    for table in ("customers", "products", "orders", "order_items"):
        assert re.search(rf"checks staging\.{table} +\d unique / relationships rule\(s\) on "
                         r"[\d,]+ changed key\(s\) and the kept failures", logged), logged
    reference = staging_check_results(spark, full_refresh)
    assert any(r[4] != "pass" for r in reference)  # failures to keep, orphans among them
    assert staging_check_results(spark, warehouse) == reference
    invariants = spark.read.format("delta").load(str(warehouse / "audit/dq_results")).where(
        "rule = 'scd2_invariants'")
    assert invariants.count() == 8  # two history tables x four runs
    assert invariants.where("NOT passed").isEmpty()

    # a second run with no new files: no table gets a new version, so (Delta versions being
    # immutable) every compared table still holds the rows just compared
    before = versions(spark, warehouse)
    assert run(config, raw, warehouse) == 0
    assert versions(spark, warehouse) == before
    assert staging_check_results(spark, warehouse) == reference
    # the keys each run records are the rows of its staging tables (the last incremental
    # run and the no-op one: counted by the staging checks, not by the overwrite)
    runs = spark.read.format("delta").load(str(warehouse / "audit/pipeline_runs"))
    for past in runs.orderBy("started_at").collect()[-2:]:
        assert not past["full_refresh"]
        for counts in past["table_counts"]:
            staged = spark.read.format("delta").load(str(warehouse / "staging" / counts["table"]))
            assert counts["keys_in_staging"] == staged.count(), counts


def test_killed_run_is_repaired_by_the_next(spark, landing, kept_config, full_refresh,
                                            tmp_path):
    raw, warehouse, config = tmp_path / "raw", tmp_path / "wh", kept_config
    for delivery in (1, 2):
        for table in TABLES:
            deliver(landing, raw, table, delivery)
    assert run(config, raw, warehouse) == 0
    for delivery in (3, 4):
        for table in TABLES:
            deliver(landing, raw, table, delivery)
    # killed right after staging.orders commits: later tables and the checkpoint unwritten
    env = cli_env()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.crash_run", "staging.orders", "run", "--config", config,
         "--raw-dir", str(raw),
         "--warehouse", str(warehouse)], env=env, capture_output=True, text=True, timeout=900,
        cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 70, proc.stderr[-2000:]
    assert run(config, raw, warehouse) == 0
    assert_same_tables(spark, full_refresh, warehouse)
    # staging.orders changed without its checks: its failures are found on the whole table
    assert staging_check_results(spark, warehouse) == staging_check_results(spark,
                                                                            full_refresh)


def test_as_of_earlier_than_latest_order_equals_full_refresh_at_that_as_of(
        spark, landing, config, full_refresh, sample_build_earlier, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    shutil.copytree(full_refresh, warehouse)  # incremental state built at the latest as_of
    # going back in time needs --rebuild-history (segment history only moves forward);
    # one long step keeps the replay short
    yearly = tmp_path / "yearly.yaml"
    yearly.write_text(yaml.safe_dump({"inherits": config,
                                      "snapshots": {"segment_history_step_days": 400}}))
    capsys.readouterr()
    assert run(str(yearly), landing, warehouse, "--as-of", EARLIER_AS_OF,
               "--rebuild-history") == 0
    assert_same_tables(spark, sample_build_earlier, warehouse)
    # a landing this small: its staging tables' rules are checked whole, nothing is kept
    logged = capsys.readouterr().err
    assert re.search(r"checks staging\.customers, staging\.products, staging\.orders, "
                     r"staging\.order_items: unique / relationships rules on the whole table, "
                     r"no failures kept \(raw files under quality\.kept_failures_from_mb = 64 "
                     r"MB\)", logged), logged
    assert not (warehouse / "audit" / "dq_failing_rows").exists()


def test_second_run_on_a_locked_warehouse_refuses(landing, config, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    with warehouse_lock(str(warehouse), "someone-else"):
        assert run(config, landing, warehouse) == 3
    err = capsys.readouterr().err
    assert "another rfm-spark run is using warehouse" in err and "someone-else" in err


def test_segment_history_moves_forward_or_is_rebuilt(spark, landing, full_refresh, tmp_path,
                                                     capsys):
    config = tmp_path / "monthly.yaml"
    config.write_text(yaml.safe_dump({"inherits": str(REPO / "conf" / "base.yaml"),
                                      "snapshots": {"segment_history_step_days": 61}}))
    warehouse = tmp_path / "wh"
    shutil.copytree(full_refresh, warehouse)  # history at the latest order date (December)
    before = versions(spark, warehouse, ("audit/pipeline_runs", *COMPARED))
    assert run(str(config), landing, warehouse, "--as-of", "2024-10-31") == 2
    assert "--rebuild-history" in capsys.readouterr().err
    assert versions(spark, warehouse, ("audit/pipeline_runs", *COMPARED)) == before  # refused first
    assert run(str(config), landing, warehouse, "--as-of", "2024-10-31",
               "--rebuild-history") == 0
    history = spark.read.format("delta").load(str(warehouse / "snapshots/customer_segment_history"))
    starts = sorted(r[0] for r in history.select("valid_from").distinct().collect())
    assert starts[-1] == __import__("datetime").date(2024, 10, 31)
    assert len(starts) > 2  # replayed in steps from the first order date
    current = history.where("is_current").drop("valid_from", "valid_to", "is_current",
                                                 "row_hash", "p_alive_band")
    mart = spark.read.format("delta").load(str(warehouse / "marts/customer_segmentation"))
    assert_df_equality(current, mart.select(*current.columns), ignore_row_order=True,
                       ignore_nullable=True)

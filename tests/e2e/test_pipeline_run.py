"""Whole runs: generated landing -> CLI -> Delta tables read back and checked."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.cli import main
from tests.helpers import EARLIER_AS_OF, cli_env

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TABLES = ("customers", "products", "orders", "order_items")


def read(spark, warehouse: Path, name: str):
    return spark.read.format("delta").load(str(warehouse / name))


def raw_rows(landing: Path, table: str) -> int:
    total = 0
    for path in (landing / table).glob("*.csv"):
        with open(path, newline="") as handle:
            total += sum(1 for _ in csv.reader(handle)) - 1
    return total


def config_without_sample(tmp_path: Path) -> str:
    path = tmp_path / "e2e.yaml"
    path.write_text(yaml.safe_dump({"inherits": str(REPO / "conf" / "base.yaml")}))
    return str(path)


@pytest.fixture(scope="module")
def landing(sample_landing):
    return sample_landing


def test_run_reconciles_and_marts_are_consistent(spark, landing, sample_build, tmp_path):
    warehouse = tmp_path / "wh"
    shutil.copytree(sample_build, warehouse)  # the same landing: its checkpoint holds
    config = config_without_sample(tmp_path)
    args = ["run", "--config", config, "--raw-dir", str(landing), "--warehouse", str(warehouse)]

    runs = read(spark, warehouse, "audit/pipeline_runs").collect()
    assert len(runs) == 1 and runs[0]["status"] == "succeeded"
    run_id = runs[0]["run_id"]
    for counts in runs[0]["table_counts"]:
        table = counts["table"]
        # nothing lost: every raw line is accepted or quarantined
        assert counts["rows_read"] == raw_rows(landing, table)
        assert counts["rows_read"] == counts["rows_quarantined"] + counts["rows_accepted"]
        quarantine = read(spark, warehouse, f"quarantine/{table}")
        assert quarantine.count() == counts["rows_quarantined"]
        assert quarantine.where((F.size("_dq_reasons") == 0) | F.col("_source_file").isNull()
                                | (F.col("_run_id") != run_id)).isEmpty()
        staged = read(spark, warehouse, f"staging/{table}")
        assert staged.count() == counts["keys_in_staging"]
    # file statistics on the lookup columns only (registry.stats_columns)
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{warehouse / 'staging/order_items'}`").first()
    assert detail["properties"]["delta.dataSkippingStatsColumns"] == "order_id,line_no"
    reasons = {r[0] for r in read(spark, warehouse, "quarantine/orders")
               .select(F.explode("_dq_reasons")).distinct().collect()}
    assert {"unparsable_order_ts", "unknown_status", "missing_order_id",
            "malformed_row"} <= reasons

    seg = read(spark, warehouse, "marts/customer_segmentation")
    top = read(spark, warehouse, "marts/top_customers")
    n = seg.count()
    assert seg.select("customer_id").distinct().count() == n
    assert seg.where(F.col("rfm_score") != F.concat_ws("", "r_score", "f_score",
                                                       "m_score")).isEmpty()
    assert seg.where(F.col("rfm_total") != F.col("r_score") + F.col("f_score")
                     + F.col("m_score")).isEmpty()
    assert sorted(r[0] for r in seg.select("rfm_rank").collect()) == list(range(1, n + 1))
    assert seg.where(F.col("rfm_segment").isNull()).isEmpty()
    # scored customers are exactly those with a completed order on or before as_of
    as_of = runs[0]["as_of_date"]
    orders = read(spark, warehouse, "staging/orders")
    counted = orders.where((F.col("status") == "completed") & (F.col("order_date") <= as_of))
    assert counted.select("customer_id").distinct().count() == n
    top_rows = top.orderBy("top_rank").collect()
    assert [r["top_rank"] for r in top_rows] == list(range(1, 21))
    total = seg.agg(F.sum("monetary")).first()[0]
    assert abs(float(sum(r["monetary"] for r in top_rows) / total)
               - top_rows[-1]["cumulative_revenue_share"]) < 1e-9
    shares = seg.select((F.col("monetary") / F.lit(total)).alias("s")).agg(F.sum("s")).first()[0]
    assert abs(float(shares) - 1.0) < 1e-9

    # a second run on the same input changes nothing
    before = {name: read(spark, warehouse, name).cache() for name in
              ("marts/customer_segmentation", "marts/top_customers", "staging/orders")}
    for df in before.values():
        df.count()
    assert main(args) == 0
    for name, df in before.items():
        assert_df_equality(read(spark, warehouse, name), df, ignore_row_order=True)
    assert read(spark, warehouse, "audit/pipeline_runs").count() == 2


def test_as_of_ignores_later_orders(spark, sample_build_earlier):
    warehouse = sample_build_earlier
    as_of = dt.date.fromisoformat(EARLIER_AS_OF)
    later = read(spark, warehouse, "staging/orders").where(F.col("order_date") > as_of)
    assert not later.where("status = 'completed'").isEmpty()  # there is something to ignore
    seg = read(spark, warehouse, "marts/customer_segmentation")
    row = seg.agg(F.max("last_order_date").alias("last"), F.min("recency_days").alias("rec"),
                  F.collect_set("as_of_date").alias("as_of")).first()
    assert row["last"] <= as_of and row["rec"] >= 0 and row["as_of"] == [as_of]


def test_empty_landing_gives_empty_marts(spark, tmp_path, capsys):
    landing, warehouse = tmp_path / "raw", tmp_path / "wh"
    for table in TABLES:
        (landing / table).mkdir(parents=True)
    assert main(["run", "--config", config_without_sample(tmp_path), "--raw-dir", str(landing),
                 "--warehouse", str(warehouse)]) == 0
    assert read(spark, warehouse, "marts/customer_segmentation").isEmpty()
    assert read(spark, warehouse, "marts/top_customers").isEmpty()
    assert "nothing to segment" in capsys.readouterr().out


def test_raw_file_missing_a_column_exits_2(spark, tmp_path, capsys):
    landing = tmp_path / "raw"
    (landing / "orders").mkdir(parents=True)
    (landing / "orders" / "d1.csv").write_text("order_id,customer_id\nO1,C1\n")
    code = main(["run", "--config", config_without_sample(tmp_path), "--raw-dir", str(landing),
                 "--warehouse", str(tmp_path / "wh")])
    assert code == 2
    assert "d1.csv: missing column 'order_ts'" in capsys.readouterr().err


def test_embedded_default_in_a_fresh_folder(tmp_path):
    """What `make run` does in a fresh folder, as a user would start it (a new JVM): `run`
    alone refuses the missing ./data/raw (it never generates); `generate` writes the sample,
    then `run --report` with no other option builds the warehouse and draws the report in
    the same JVM. It gets the client compiler only from the command itself (small input),
    not from the tests' JVM options."""
    env = cli_env(one_run_jvm=False)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "rfm_spark", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=900)

    refused = cli("run")
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "data/raw does not exist" in refused.stderr
    assert not (tmp_path / "data").exists()  # nothing written, not even the lock
    assert cli("generate", "--out", "data/raw").returncode == 0
    proc = cli("run", "--report")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Customers scored:" in proc.stdout and "Top 5 customers" in proc.stdout
    assert (tmp_path / "data" / "raw" / "orders" / "delivery_0001.csv").exists()
    assert (tmp_path / "data" / "warehouse" / "marts" / "top_customers" / "_delta_log").is_dir()
    assert "staging.orders" in proc.stderr  # one log line per stage
    # base.yaml's 64 shuffle partitions are the ceiling; ~1.5 MB of raw files need the floor
    assert re.search(r"spark\.sql\.shuffle\.partitions = 2 for 1\.\d MB of raw files "
                     r"\(at most 64\)", proc.stderr)
    assert re.search(r"expressions interpreted, no generated code, for 1\.\d MB of raw files",
                     proc.stderr)
    assert re.search(r"JVM with the client compiler only \(-XX:TieredStopAtLevel=1\) for "
                     r"1\.\d MB of input", proc.stderr)
    assert "No Partition Defined for Window" not in proc.stderr  # no single-task windows
    assert "\tat org.apache." not in proc.stderr, proc.stderr[-3000:]  # no stack trace
    report = tmp_path / "data" / "rfm_report.html"  # next to the warehouse
    assert f"Report: {report}" in proc.stdout and report.stat().st_size > 100_000


def test_error_rule_stops_before_marts_and_warn_rule_publishes(spark, landing, tmp_path, capsys):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    shutil.copytree(landing, raw)
    config = config_without_sample(tmp_path)
    base = ["--config", config, "--raw-dir", str(raw), "--warehouse", str(warehouse)]
    assert main(["run", *base]) == 0  # default rules: warn failures only, marts published
    results = read(spark, warehouse, "audit/dq_results")
    assert not results.where("status = 'warn'").isEmpty()
    assert results.where("status = 'error'").isEmpty()
    # quarantine-severity rules put their names among the reasons
    moved = read(spark, warehouse, "quarantine/order_items").where(
        F.array_contains("_dq_reasons", "range_quantity")
        | F.array_contains("_dq_reasons", "range_unit_price"))
    assert not moved.isEmpty()
    marts_version = {name: spark.sql(f"DESCRIBE HISTORY delta.`{warehouse / name}`")
                     .agg(F.max("version")).first()[0]
                     for name in ("marts/customer_segmentation", "marts/top_customers")}
    published = read(spark, warehouse, "marts/customer_segmentation").cache()
    published.count()
    capsys.readouterr()

    # inject a duplicate email and make uniqueness of emails an error
    (raw / "customers" / "delivery_0099.csv").write_text(
        "customer_id,first_name,last_name,email,city,country,signup_date,updated_at\n"
        "C7777777,Dup,Licate,DUP@example.com,Oslo,NO,2024-01-01,2024-01-01 00:00:00\n"
        "C7777778,Dup,Licate,dup@example.com ,Oslo,NO,2024-01-01,2024-01-01 00:00:00\n"
    )
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump({
        "inherits": config,
        "quality": {"tables": {"staging.customers": {"key": ["customer_id"], "rules": [
            {"type": "unique", "columns": ["email"], "name": "unique_email"}]}}},
    }))
    strict_args = ["--config", str(strict), "--raw-dir", str(raw), "--warehouse", str(warehouse)]
    assert main(["run", *strict_args]) == 1
    err = capsys.readouterr().err
    assert "unique_email" in err and "staging.customers" in err and "2 of" in err
    for name, version in marts_version.items():
        history = spark.sql(f"DESCRIBE HISTORY delta.`{warehouse / name}`")
        assert history.agg(F.max("version")).first()[0] == version
    assert_df_equality(read(spark, warehouse, "marts/customer_segmentation"), published,
                       ignore_row_order=True)
    last_run = (read(spark, warehouse, "audit/pipeline_runs")
                .orderBy(F.col("started_at").desc()).first())
    assert last_run["status"] == "failed" and "unique_email" in last_run["message"]
    errors = read(spark, warehouse, "audit/dq_results").where("status = 'error'").collect()
    assert [(r["rule"], r["failed_rows"], r["failing_keys_sample"]) for r in errors] == [
        ("unique_email", 2, ["dup@example.com"])]

    # `rfm-spark dq` checks the tables as they are, without rebuilding
    assert main(["dq", "--config", config, "--warehouse", str(warehouse)]) == 0
    assert "Data quality:" in capsys.readouterr().out
    assert main(["dq", "--config", str(strict), "--warehouse", str(warehouse)]) == 1
    runs = read(spark, warehouse, "audit/dq_results").select("run_id").distinct().count()
    assert runs == 4

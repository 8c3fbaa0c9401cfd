"""Faults a pipeline meets in a real warehouse (issue items 1, 2, 9, 11, 14, 15): a typo in
the landing path, deliveries rewritten or archived after processing, a file still being
written, a killed full refresh, a disk-level failure, a hand-deleted version log, a report
read while a run is publishing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.errors import ConfigError
from rfm_spark.io.listing import local_folder_exists
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.registry import load_settings
from rfm_spark.report import collect
from rfm_spark.runner import pipeline
from rfm_spark.runner import staging as staging_runner
from rfm_spark.runner.pipeline import refuse_missing_landing
from rfm_spark.staging.cleansing import accepted_rows
from tests.helpers import COMPARED, assert_same_tables
from tests.hostile.conftest import run
from tests.hostile.landings import HEADERS, clean_delivery, write

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def read(spark, warehouse, name):
    return spark.read.format("delta").load(str(warehouse / name))


def second_delivery(raw):
    write(raw / "orders" / "d2.csv", HEADERS["orders"],
          ["O5,C1,2024-03-10 10:00:00,completed,2024-03-10 10:00:00"])
    write(raw / "order_items" / "d2.csv", HEADERS["order_items"], ["O5,1,P1,3,2.50,0"])


def test_missing_landing_exits_2_before_anything_is_written(base_config, tmp_path, capsys):
    typo, warehouse = tmp_path / "typo", tmp_path / "wh"
    assert run(base_config, typo, warehouse) == 2
    assert f"{typo} does not exist" in capsys.readouterr().err
    assert not typo.exists() and not warehouse.exists()  # no sample, no lock, no table
    per_table = tmp_path / "per_table.yaml"
    per_table.write_text(yaml.safe_dump({"inherits": base_config, "raw": {"tables": {
        "orders": {"format": "csv", "path": str(tmp_path / "nowhere")}}}}))
    clean_delivery(tmp_path / "raw")
    assert run(str(per_table), tmp_path / "raw", warehouse) == 2
    assert "raw.tables.orders.path" in capsys.readouterr().err
    assert not warehouse.exists()


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")  # Python's own hint
def test_an_email_pattern_java_rejects_exits_2_before_anything_is_written(base_config,
                                                                         tmp_path, capsys):
    """`[[]` compiles in Python (a class holding '['), not in Java (a nested class left
    open): Spark's own engine is asked before the lock file or any table is written."""
    config = tmp_path / "pattern.yaml"
    config.write_text(yaml.safe_dump({"inherits": base_config,
                                      "staging": {"email_pattern": "^[[]@x$"}}))
    clean_delivery(tmp_path / "raw")
    warehouse = tmp_path / "wh"
    assert run(str(config), tmp_path / "raw", warehouse) == 2
    assert "config key 'staging.email_pattern': Spark (Java) rejects it" in \
        capsys.readouterr().err
    assert not warehouse.exists()


def test_a_local_landing_is_looked_for_before_spark_starts(tmp_path):
    """A local path (plain or file:) is answered without Spark; another file system's
    folder is left to Spark's own listing (None), never refused here."""
    (tmp_path / "raw").mkdir()
    assert local_folder_exists(str(tmp_path / "raw"))
    assert local_folder_exists(f"file:{tmp_path / 'raw'}")
    assert local_folder_exists(str(tmp_path / "typo")) is False
    assert local_folder_exists("s3a://bucket/raw") is None
    settings = load_settings(str(REPO / "conf" / "base.yaml"),
                             overrides={"raw.dir": str(tmp_path / "typo")})
    with pytest.raises(ConfigError, match="typo does not exist"):
        refuse_missing_landing(settings, local_folder_exists)
    refuse_missing_landing(settings, lambda folder: None)  # cannot tell: not refused


def test_rewritten_delivery_is_refused_until_full_refresh(spark, base_config, clean_built,
                                                          capsys):
    raw, warehouse = clean_built
    with open(raw / "orders" / "d1.csv", "a") as handle:
        handle.write("O6,C2,2024-03-11 10:00:00,completed,2024-03-11 10:00:00\n")
    assert run(base_config, raw, warehouse) == 2
    err = capsys.readouterr().err
    assert "orders/d1.csv changed after it was processed" in err and "--full-refresh" in err
    assert run(base_config, raw, warehouse, "--full-refresh") == 0
    orders = read(spark, warehouse, "staging/orders").select("order_id")
    assert sorted(r[0] for r in orders.collect()) == ["O1", "O2", "O6"]
    assert run(base_config, raw, warehouse) == 0  # the checkpoint now holds the new size


def test_processed_file_gone_from_the_landing_is_reported(spark, base_config, clean_built,
                                                          capsys):
    raw, warehouse = clean_built
    staged = read(spark, warehouse, "staging/products").cache()
    staged.count()
    (raw / "products" / "d1.csv").unlink()
    capsys.readouterr()
    assert run(base_config, raw, warehouse) == 0
    out = capsys.readouterr().out
    assert "no longer in the landing" in out and "products/d1.csv" in out
    last = read(spark, warehouse, "audit/pipeline_runs").orderBy(F.desc("started_at")).first()
    assert [p.rsplit("/", 2)[-2:] for p in last["missing_files"]] == [["products", "d1.csv"]]
    assert_df_equality(read(spark, warehouse, "staging/products"), staged)


def test_file_growing_while_read_is_not_staged_nor_marked(spark, base_config, clean_built,
                                                          monkeypatch, capsys):
    raw, warehouse = clean_built
    second_delivery(raw)
    reader = staging_runner.read_raw_table

    def read_while_written(spark_, table, *args, **kwargs):
        frame = reader(spark_, table, *args, **kwargs)
        if table == "orders":  # the uploader appends after the run listed the folder
            with open(raw / "orders" / "d2.csv", "a") as handle:
                handle.write("O7,C2,2024-03-12 10:00:00,completed,2024-03-12 10:00:00\n")
        return frame

    monkeypatch.setattr(staging_runner, "read_raw_table", read_while_written)
    assert run(base_config, raw, warehouse) == 3
    assert "orders/d2.csv changed while this run read it" in capsys.readouterr().err
    processed = read(spark, warehouse, "audit/processed_files").select("file_name", "table")
    assert ("d2.csv", "orders") not in {tuple(r) for r in processed.collect()}
    assert read(spark, warehouse, "staging/orders").where("order_id IN ('O5', 'O7')").isEmpty()
    monkeypatch.undo()
    assert run(base_config, raw, warehouse) == 0
    orders = read(spark, warehouse, "staging/orders").select("order_id")
    assert sorted(r[0] for r in orders.collect()) == ["O1", "O2", "O5", "O7"]


def test_killed_full_refresh_is_finished_by_the_next_run(spark, base_config, clean_built,
                                                         monkeypatch, tmp_path):
    raw, warehouse = clean_built
    second_delivery(raw)

    def killed(*_args, **_kwargs):  # the process dies after staging: nothing more recorded
        raise SystemExit(137)

    monkeypatch.setattr(pipeline, "build_derived", killed)
    monkeypatch.setattr(pipeline, "record_run", lambda *a, **k: None)
    with pytest.raises(SystemExit):
        run(base_config, raw, warehouse, "--full-refresh")
    monkeypatch.undo()
    runs = read(spark, warehouse, "audit/pipeline_runs")
    assert runs.where("status = 'running'").count() == 1
    assert run(base_config, raw, warehouse) == 0
    statuses = sorted((r["status"], r["full_refresh"]) for r in
                      read(spark, warehouse, "audit/pipeline_runs").collect())
    assert statuses == [("abandoned", True), ("succeeded", True), ("succeeded", True)]
    reference = tmp_path / "reference"
    assert run(base_config, raw, reference, "--full-refresh") == 0
    assert_same_tables(spark, reference, warehouse)


def test_failures_name_their_root_cause_in_one_line(base_config, clean_built, tmp_path,
                                                    capsys):
    raw, warehouse = clean_built
    blocked = tmp_path / "blocked"
    (blocked / "marts").mkdir(parents=True)
    (blocked / "marts" / "customer_segmentation").write_text("a file where a table goes")
    assert run(base_config, raw, blocked) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err) and not any(ln.startswith("\tat ") for ln in err)
    assert err[-1].startswith("rfm-spark: ")
    assert "Cannot create" in err[-1] and "marts/customer_segmentation" in err[-1]
    log = warehouse / "staging" / "orders" / "_delta_log" / "00000000000000000000.json"
    log.write_text("{not json")
    assert run(base_config, raw, warehouse) == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    # the file system's own checksum catches the corruption first; the line names the file
    assert last.startswith("rfm-spark: failed: ")
    assert "staging/orders/_delta_log/00000000000000000000.json" in last


def test_deleted_version_log_asks_for_a_full_refresh(spark, base_config, clean_built, capsys):
    raw, warehouse = clean_built
    shutil.rmtree(warehouse / "staging" / "order_versions")
    second_delivery(raw)
    assert run(base_config, raw, warehouse) == 2
    err = capsys.readouterr().err
    assert "staging.order_versions missing" in err and "--full-refresh" in err
    assert run(base_config, raw, warehouse, "--full-refresh") == 0
    assert read(spark, warehouse, "staging/order_versions").count() == 3


def test_version_logs_written_before_they_kept_rejected_rows_take_an_incremental_run(
        spark, base_config, clean_built, tmp_path):
    """Logs as releases before this one wrote them (accepted rows only, no `_dq_reasons`
    nor `_raw`; the orders log without order_ts, order_date and status): an incremental run
    adds its rows to them, and staging, quarantine and the marts equal a full refresh's."""
    raw, warehouse = clean_built
    narrow = {"order_versions": ("order_id", "customer_id", "updated_at", "_delivery",
                                 "_source_file")}
    for log in ("customer_versions", "product_versions", "order_versions",
                "order_item_versions"):
        rows = accepted_rows(read(spark, warehouse, f"staging/{log}"))
        rows = rows.select(*narrow.get(log, rows.columns)).localCheckpoint()
        rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(
            str(warehouse / "staging" / log))
    second_delivery(raw)
    write(raw / "orders" / "d3.csv", HEADERS["orders"],
          ["O6,C1,2024-03-11 10:00:00,lost,2024-03-11 10:00:00"])  # unknown_status
    assert run(base_config, raw, warehouse) == 0
    assert run(base_config, raw, tmp_path / "full", "--full-refresh") == 0
    compared = tuple(n for n in COMPARED if not n.endswith("_versions"))
    assert_same_tables(spark, warehouse, tmp_path / "full", tables=compared)
    orders_log = read(spark, warehouse, "staging/order_versions")
    assert {"_dq_reasons", "_raw", "status"} <= set(orders_log.columns)
    rejected = orders_log.where(F.col("_dq_reasons").isNotNull()).collect()
    assert [(r["_raw"]["order_id"], r["_dq_reasons"]) for r in rejected] == [
        ("O6", ["unknown_status"])]


def test_dq_and_report_read_the_last_published_run(spark, base_config, clean_built, capsys):
    raw, warehouse = clean_built
    mart = read(spark, warehouse, "marts/customer_segmentation")
    # a run publishing right now: the mart is rewritten, its run not yet recorded
    mart.limit(0).write.format("delta").mode("overwrite").save(
        str(warehouse / "marts" / "customer_segmentation"))
    settings = load_settings(base_config, {"warehouse.dir": str(warehouse)})
    assert collect(Warehouse(spark, settings.warehouse), settings)[0].customers == 2
    from rfm_spark.cli import main

    assert main(["dq", "--config", base_config, "--warehouse", str(warehouse)]) == 0
    results = read(spark, warehouse, "audit/dq_results")
    latest = results.agg(F.max("run_id")).first()[0]
    checked = (results.where((F.col("run_id") == latest)
                             & (F.col("table") == "marts.customer_segmentation"))
               .select("total_rows").distinct().collect())
    assert [r[0] for r in checked] == [2]
    assert os.path.isdir(warehouse / "marts" / "customer_segmentation" / "_delta_log")

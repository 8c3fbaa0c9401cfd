"""Real Delta tables in tmp_path: writes and MERGE through the one I/O module."""

import datetime as dt
import json
from pathlib import Path

from chispa import assert_df_equality

from rfm_spark.config import WarehouseSettings
from rfm_spark.io import classic_only, warehouse
from rfm_spark.io.commit import NO_COMMIT
from rfm_spark.io.listing import local_path
from rfm_spark.io.warehouse import STATS_COLUMNS, Warehouse

SCHEMA = "id string, name string, updated_at timestamp"
T1 = dt.datetime(2024, 1, 1)
T2 = dt.datetime(2024, 2, 1)
T0 = dt.datetime(2023, 12, 1)


def test_upsert_round_trip(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    wh.upsert(
        spark.createDataFrame([("A", "Ann", T1), ("B", "Bob", T1)], SCHEMA),
        "staging.customers", keys=["id"], newer_than="updated_at",
    )
    # B newer, C new, A older (a late file with an old version): A must not change.
    wh.upsert(
        spark.createDataFrame([("A", "Old Ann", T0), ("B", "Bobby", T2), ("C", "Cy", T2)], SCHEMA),
        "staging.customers", keys=["id"], newer_than="updated_at",
    )
    expected = spark.createDataFrame(
        [("A", "Ann", T1), ("B", "Bobby", T2), ("C", "Cy", T2)], SCHEMA
    )
    assert_df_equality(wh.read("staging.customers"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    assert wh.last_commit("staging.customers")[0] == 1


def test_an_upsert_without_changes_commits_nothing(spark, tmp_path, monkeypatch):
    """A table large enough to have its changes computed first (a smaller one is MERGEd,
    and a MERGE commits a version that rewrites the files it matched)."""
    monkeypatch.setattr(warehouse, "CHANGES_FIRST_FROM_BYTES", 0)
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    rows = spark.createDataFrame([("A", "Ann", T1)], SCHEMA)
    wh.upsert(rows, "staging.customers", keys=["id"])
    assert wh.upsert(rows, "staging.customers", keys=["id"]) == NO_COMMIT
    assert wh.last_commit("staging.customers")[0] == 0


def test_catalog_name_mapping_and_path_default(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path),
                                            tables={"marts.top_customers": "rfm.top"}))
    assert wh.ref("marts.top_customers").catalog_name == "rfm.top"
    assert wh.ref("staging.orders").path == f"{tmp_path}/staging/orders"
    assert not wh.exists("staging.orders")


def test_exists_only_for_a_delta_table(spark, tmp_path):
    """Missing, an empty folder, plain Parquet: not a table. The missing one is known without
    a failing query (after an observed write, Spark 4.0 logs each as a stack trace)."""
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    wh.overwrite(spark.createDataFrame([("A", "Ann", T1)], SCHEMA), "staging.customers")
    (tmp_path / "staging" / "empty").mkdir()
    spark.createDataFrame([("A",)], "id string").write.parquet(str(tmp_path / "staging" / "pq"))
    assert wh.exists("staging.customers")
    assert not wh.exists("staging.missing")
    assert not wh.exists("staging.empty")
    assert not wh.exists("staging.pq")


def test_created_tables_get_the_configured_properties_and_merge_uses_deletion_vectors(
        spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(
        dir=str(tmp_path), table_properties={"delta.enableDeletionVectors": "true"}))
    many = spark.createDataFrame([(f"K{i:03d}", "x", T1) for i in range(200)], SCHEMA)
    wh.overwrite(many.coalesce(1), "staging.customers")
    properties = spark.sql(
        f"DESCRIBE DETAIL delta.`{wh.ref('staging.customers').path}`").first()["properties"]
    assert properties == {"delta.enableDeletionVectors": "true"}
    # one row of a 200-row file changes: the file is marked, not rewritten
    wh.upsert(spark.createDataFrame([("K007", "y", T2)], SCHEMA), "staging.customers",
                    keys=["id"], newer_than="updated_at")
    _, metrics = wh.last_commit("staging.customers")
    assert metrics["numTargetRowsUpdated"] == "1"
    assert metrics["numTargetDeletionVectorsAdded"] == "1"
    assert metrics["numTargetRowsCopied"] == "0"
    assert wh.read("staging.customers").where("name = 'y'").count() == 1
    assert wh.read("staging.customers").count() == 200


def _stats_of_last_file(table_path: str) -> dict:
    """The statistics Delta recorded for the last file it added to the table."""
    added = []
    for commit in sorted(Path(table_path, "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                added.append(json.loads(action["add"]["stats"]))
    return added[-1]


def test_created_tables_keep_statistics_on_their_lookup_columns_only(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)),
                   stats_columns=lambda name: ("id",) if name == "staging.customers" else ())
    rows = spark.createDataFrame([("A", "Ann", T1), ("B", "Bob", T2)], SCHEMA).coalesce(1)
    wh.overwrite(rows, "staging.customers")
    wh.overwrite(rows, "marts.top_customers")
    keyed, default = (wh.ref(n).path for n in ("staging.customers", "marts.top_customers"))
    assert _properties(spark, keyed)[STATS_COLUMNS] == "id"
    stats = _stats_of_last_file(keyed)
    assert stats["numRecords"] == 2 and set(stats["minValues"]) == {"id"}
    assert stats["minValues"]["id"] == "A" and stats["maxValues"]["id"] == "B"
    # no lookup columns declared: Delta's default, every column (up to 32)
    assert STATS_COLUMNS not in _properties(spark, default)
    assert set(_stats_of_last_file(default)["minValues"]) == {"id", "name", "updated_at"}
    # later writes keep the table's choice
    wh.overwrite(rows, "staging.customers")
    assert set(_stats_of_last_file(keyed)["minValues"]) == {"id"}


def test_configured_table_properties_win_over_the_lookup_columns(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path),
                                            table_properties={STATS_COLUMNS: "name"}),
                   stats_columns=lambda name: ("id",))
    wh.overwrite(spark.createDataFrame([("A", "Ann", T1)], SCHEMA), "staging.customers")
    assert _properties(spark, wh.ref("staging.customers").path)[STATS_COLUMNS] == "name"


def _properties(spark, path: str) -> dict:
    return spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()["properties"]


def _history(spark, table: Path) -> tuple[int, dict[str, str]]:
    row = spark.sql(f"DESCRIBE HISTORY delta.`{table}` LIMIT 1").first()
    return row["version"], dict(row["operationMetrics"])


def test_last_commit_from_the_local_log_equals_the_tables_history(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    table, log = tmp_path / "marts" / "t", tmp_path / "marts" / "t" / "_delta_log"
    rows = spark.createDataFrame([("A", "Ann", T1)], SCHEMA)
    wh.overwrite(rows, "marts.t")
    for _ in range(10):  # past Delta's checkpoint at version 10
        wh.append(rows, "marts.t")
    assert (log / "00000000000000000010.checkpoint.parquet").exists()
    assert classic_only.latest_commit(spark, str(log)) == _history(spark, table)
    wh.upsert(spark.createDataFrame([("B", "Bob", T2)], SCHEMA), "marts.t", keys=["id"])
    version, metrics = classic_only.latest_commit(spark, f"file:{log}")
    assert (version, metrics) == _history(spark, table) == wh.last_commit("marts.t")
    assert version == 11 and metrics["numTargetRowsInserted"] == "1"
    # the history's answer where the log is not this process's, or does not hold them all
    assert local_path(f"s3a://bucket{log}") is None  # Warehouse.last_commit asks first
    assert classic_only.latest_commit(spark, str(tmp_path / "missing" / "_delta_log")) is None
    staged = log / "_staged_commits"
    staged.mkdir(exist_ok=True)
    (staged / "00000000000000000012.0f1e.json").write_text("{}")
    assert classic_only.latest_commit(spark, str(log)) is None
    assert wh.last_commit("marts.t") == _history(spark, table)

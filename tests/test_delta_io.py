"""Real Delta tables in tmp_path: writes and MERGE through the one I/O module."""

import datetime as dt

from chispa import assert_df_equality

from rfm_spark.config import WarehouseSettings
from rfm_spark.io.warehouse import Warehouse

SCHEMA = "id string, name string, updated_at timestamp"
T1 = dt.datetime(2024, 1, 1)
T2 = dt.datetime(2024, 2, 1)
T0 = dt.datetime(2023, 12, 1)


def test_merge_upsert_round_trip(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    wh.merge_upsert(
        spark.createDataFrame([("A", "Ann", T1), ("B", "Bob", T1)], SCHEMA),
        "staging.customers", keys=["id"], newer_than="updated_at",
    )
    # B newer, C new, A older (a late file with an old version): A must not change.
    wh.merge_upsert(
        spark.createDataFrame([("A", "Old Ann", T0), ("B", "Bobby", T2), ("C", "Cy", T2)], SCHEMA),
        "staging.customers", keys=["id"], newer_than="updated_at",
    )
    expected = spark.createDataFrame(
        [("A", "Ann", T1), ("B", "Bobby", T2), ("C", "Cy", T2)], SCHEMA
    )
    assert_df_equality(wh.read("staging.customers"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    assert wh.last_commit("staging.customers")[0] == 1


def test_merge_without_changes_rewrites_nothing(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    rows = spark.createDataFrame([("A", "Ann", T1)], SCHEMA)
    wh.merge_upsert(rows, "staging.customers", keys=["id"])
    wh.merge_upsert(rows, "staging.customers", keys=["id"])
    _, metrics = wh.last_commit("staging.customers")
    assert metrics["numTargetRowsUpdated"] == "0"
    assert metrics["numTargetRowsInserted"] == "0"


def test_catalog_name_mapping_and_path_default(spark, tmp_path):
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path),
                                            tables={"marts.top_customers": "rfm.top"}))
    assert wh.ref("marts.top_customers").catalog_name == "rfm.top"
    assert wh.ref("staging.orders").path == f"{tmp_path}/staging/orders"
    assert not wh.exists("staging.orders")


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
    wh.merge_upsert(spark.createDataFrame([("K007", "y", T2)], SCHEMA), "staging.customers",
                    keys=["id"], newer_than="updated_at")
    _, metrics = wh.last_commit("staging.customers")
    assert metrics["numTargetRowsUpdated"] == "1"
    assert metrics["numTargetDeletionVectorsAdded"] == "1"
    assert metrics["numTargetRowsCopied"] == "0"
    assert wh.read("staging.customers").where("name = 'y'").count() == 1
    assert wh.read("staging.customers").count() == 200

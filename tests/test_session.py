"""A run's shuffle partitions follow the size of its input, within the session's value; a
small input is evaluated interpreted, and a new local JVM for a small landing runs C1 only."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.config import RawTable, SparkSettings
from rfm_spark.io.listing import local_folder_bytes, local_landing_bytes
from rfm_spark.session import (
    CLIENT_COMPILER,
    DRIVER_JAVA_OPTIONS,
    INTERPRETED,
    SHUFFLE_PARTITIONS,
    client_compiler_conf,
    settings_for_input,
    shuffle_partitions_for,
    sized_to_input,
)
from tests.helpers import COMPILED

MB = 2**20


@pytest.mark.parametrize("input_bytes, partition_mb, ceiling, expected", [
    (0, 24, 64, 2),  # an empty landing: the floor
    (int(1.6 * MB), 24, 64, 2),  # the 10k-order sample
    (24 * MB, 24, 64, 2),
    (24 * MB * 2 + 1, 24, 64, 3),  # one byte past two partitions' worth
    (152 * MB, 24, 64, 7),  # 1M orders
    (1536 * MB, 24, 64, 64),  # 10M orders: the session's value is the ceiling
    (1536 * MB, 24, 16, 16),
    (5 * MB, 24, 1, 1),  # a session set to one partition keeps it
])
def test_one_partition_per_chunk_of_input_within_floor_and_ceiling(input_bytes, partition_mb,
                                                                    ceiling, expected):
    assert shuffle_partitions_for(input_bytes, partition_mb, ceiling) == expected


def sizing(partition_mb: int = 24, interpreted_below_mb: int = 4) -> SparkSettings:
    return SparkSettings(shuffle_partition_mb=partition_mb,
                         interpreted_below_mb=interpreted_below_mb)


@pytest.mark.parametrize("input_bytes, ceiling, spark_settings, expected", [
    (None, "64", sizing(), {}),  # a Delta or catalog source: size unknown
    (int(1.6 * MB), "64", sizing(), {SHUFFLE_PARTITIONS: "2", **INTERPRETED}),
    (4 * MB - 1, "64", sizing(), {SHUFFLE_PARTITIONS: "2", **INTERPRETED}),
    (4 * MB, "64", sizing(), {SHUFFLE_PARTITIONS: "2"}),  # from the threshold: compiled
    (152 * MB, "64", sizing(), {SHUFFLE_PARTITIONS: "7"}),
    (3 * MB, "64", sizing(partition_mb=0), INTERPRETED),  # partitions switched off
    (3 * MB, "auto", sizing(), INTERPRETED),  # a platform's value that is not a number
    (3 * MB, None, sizing(), INTERPRETED),  # a value the platform hides
    (3 * MB, "64", sizing(interpreted_below_mb=0), {SHUFFLE_PARTITIONS: "2"}),  # always compiled
])
def test_settings_follow_the_input(input_bytes, ceiling, spark_settings, expected):
    assert settings_for_input(input_bytes, ceiling, spark_settings) == expected


@pytest.fixture
def session_with_64(compiled):
    """The session compiling generated code (the `compiled` fixture) with 64 partitions."""
    before = compiled.conf.get(SHUFFLE_PARTITIONS)
    compiled.conf.set(SHUFFLE_PARTITIONS, "64")
    yield compiled
    compiled.conf.set(SHUFFLE_PARTITIONS, before)


def current(spark) -> dict[str, str]:
    return {key: spark.conf.get(key) for key in (SHUFFLE_PARTITIONS, *INTERPRETED)}


def test_sized_within_the_block_and_restored_after(session_with_64):
    spark = session_with_64
    with sized_to_input(spark, 100 * MB, sizing()):
        assert current(spark) == {SHUFFLE_PARTITIONS: "5", **COMPILED}
    assert current(spark) == {SHUFFLE_PARTITIONS: "64", **COMPILED}
    with pytest.raises(RuntimeError), sized_to_input(spark, 0, sizing()):
        assert current(spark) == {SHUFFLE_PARTITIONS: "2", **INTERPRETED}
        raise RuntimeError("a failed run restores it too")
    assert current(spark) == {SHUFFLE_PARTITIONS: "64", **COMPILED}


@pytest.mark.parametrize("input_bytes, spark_settings", [
    (None, sizing()),  # a Delta or catalog source: size unknown
    (100 * MB, sizing(partition_mb=0, interpreted_below_mb=0)),  # switched off in the config
])
def test_unknown_size_or_switched_off_keeps_the_session_values(session_with_64, input_bytes,
                                                               spark_settings):
    with sized_to_input(session_with_64, input_bytes, spark_settings):
        assert current(session_with_64) == {SHUFFLE_PARTITIONS: "64", **COMPILED}


def test_interpreted_and_compiled_give_the_same_rows(session_with_64, capsys):
    """The same plan evaluated both ways (the pipeline runs end to end both ways too:
    tests/e2e/test_catalog_tables.py compiles, the sample build is interpreted)."""
    spark = session_with_64

    def query():
        df = spark.createDataFrame(
            [(" c1 ", "2024-01-02 10:00:00", "12.50"), ("c2", "bad", None), (None, None, "x")],
            "id string, ts string, amount string")
        return (df.select(F.upper(F.trim("id")).alias("id"),
                          F.try_to_timestamp(F.col("ts")).alias("ts"),
                          F.col("amount").try_cast("decimal(18,2)").alias("amount"))
                .groupBy("id").agg(F.max("ts").alias("ts"), F.sum("amount").alias("amount")))

    def plan() -> str:  # as planned without adaptive execution, whose first plan is uncompiled
        adaptive = spark.conf.get("spark.sql.adaptive.enabled")
        spark.conf.set("spark.sql.adaptive.enabled", "false")
        try:
            query().explain()
        finally:
            spark.conf.set("spark.sql.adaptive.enabled", adaptive)
        return capsys.readouterr().out

    compiled = query().collect()
    assert "*(1)" in plan()  # an operator of whole-stage generated code
    with sized_to_input(spark, 0, sizing()):
        assert "*(" not in plan()
        interpreted = query()
        assert_df_equality(interpreted, spark.createDataFrame(compiled, interpreted.schema),
                           ignore_row_order=True)


@pytest.mark.parametrize("conf, landing_bytes, below_mb, expected", [
    # the 10k-order sample of `make run`: C1 after the configured options
    ({DRIVER_JAVA_OPTIONS: "-XX:+UseParallelGC"}, int(1.6 * MB), 4,
     {DRIVER_JAVA_OPTIONS: f"-XX:+UseParallelGC {CLIENT_COMPILER}"}),
    ({}, 0, 4, {DRIVER_JAVA_OPTIONS: CLIENT_COMPILER}),  # an empty landing, no options set
    ({}, 4 * MB, 4, {}),  # at the threshold: C2 as well
    ({}, 152 * MB, 4, {}),  # 1M orders
    ({}, None, 4, {}),  # a Delta, catalog or remote source: size unknown
    ({}, 0, 0, {}),  # switched off
])
def test_a_new_jvm_for_a_small_landing_runs_the_client_compiler_only(conf, landing_bytes,
                                                                     below_mb, expected):
    sizing = SparkSettings(client_compiler_below_mb=below_mb)
    assert client_compiler_conf(conf, landing_bytes, sizing) == expected


def test_local_landing_bytes_counts_deliveries_only(tmp_path):
    """Sized before Spark starts, with the listing's rules: deliveries directly under each
    table's folder; hidden files, other suffixes and subfolders are not counted."""
    for table, files in {"orders": {"d1.csv": 100, "D2.CSV": 50, "_tmp.csv": 7, ".x.csv": 7,
                                    "notes.txt": 9},
                         "order_items": {"d1.csv": 30}}.items():
        (tmp_path / table / "old").mkdir(parents=True)
        (tmp_path / table / "old" / "d0.csv").write_bytes(b"x" * 1000)
        for name, size in files.items():
            (tmp_path / table / name).write_bytes(b"x" * size)
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "e.json").write_bytes(b"x" * 11)

    def csv(table: str) -> RawTable:
        return RawTable("csv", str(tmp_path / table))

    assert local_landing_bytes([csv("orders"), csv("order_items")]) == 180
    assert local_landing_bytes([RawTable("json", f"file:{tmp_path / 'events'}")]) == 11
    assert local_landing_bytes([]) == 0
    assert local_landing_bytes([csv("orders"), RawTable("delta", str(tmp_path))]) is None
    assert local_landing_bytes([csv("orders"), RawTable("table", "main.raw.orders")]) is None
    assert local_landing_bytes([RawTable("csv", "s3a://bucket/raw/orders")]) is None
    assert local_landing_bytes([csv("missing")]) is None


def test_local_folder_bytes_counts_every_file_below(tmp_path):
    """`rfm-spark report` sizes a local warehouse before Spark starts: all its files."""
    (tmp_path / "marts" / "t" / "_delta_log").mkdir(parents=True)
    (tmp_path / "marts" / "t" / "part-0.parquet").write_bytes(b"x" * 300)
    (tmp_path / "marts" / "t" / "_delta_log" / "0.json").write_bytes(b"x" * 20)
    assert local_folder_bytes(str(tmp_path)) == 320
    assert local_folder_bytes(f"file:{tmp_path}") == 320
    assert local_folder_bytes(str(tmp_path / "missing")) is None
    assert local_folder_bytes("s3a://bucket/warehouse") is None


def test_the_report_sizes_a_local_warehouse_of_paths_only(tmp_path, monkeypatch):
    """`rfm-spark report` (in a new JVM: no session yet) reads the size of a warehouse of
    local paths; a warehouse mapped to catalog tables, or a session that already exists,
    gives no size (the JVM and the queries stay as they are)."""
    from rfm_spark import session
    from rfm_spark.cli import report_input_bytes
    from rfm_spark.registry import load_settings

    (tmp_path / "wh" / "marts").mkdir(parents=True)
    (tmp_path / "wh" / "marts" / "part-0.parquet").write_bytes(b"x" * 300)
    paths = load_settings(None, overrides={"warehouse.dir": str(tmp_path / "wh")})
    monkeypatch.setattr(session, "starts_local_session", lambda _settings: False)
    assert report_input_bytes(paths) is None  # a session exists, or a platform's
    monkeypatch.setattr(session, "starts_local_session", lambda _settings: True)
    assert report_input_bytes(paths) == 300
    mapped = load_settings(None, overrides={"warehouse.dir": str(tmp_path / "wh"),
                                            "warehouse.catalog_schema": "main.rfm"})
    assert report_input_bytes(mapped) is None

"""A landing built to hurt (issue items 3-8 and 13): look-alike ids, file names of every
kind, quoted line breaks, times out of range, bytes that are not UTF-8, over-wide lines,
overflowing amounts. Every row ends in staging or quarantine with its reason, the run is
never aborted by one row, and one delivery per run equals the full refresh."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from rfm_spark.io.listing import list_files
from rfm_spark.runner import staging as staging_runner
from rfm_spark.staging.cleansing import accepted_rows
from tests.helpers import assert_same_tables, staging_check_results
from tests.hostile.conftest import run
from tests.hostile.landings import HEADERS, HOSTILE_NAME, clean_delivery, hostile_delivery, write

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    raw = tmp_path_factory.mktemp("hostile") / "raw"
    clean_delivery(raw)
    hostile_delivery(raw)
    return raw


@pytest.fixture(scope="module")
def full(landing, base_config, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("hostile-full") / "wh"
    assert run(base_config, landing, warehouse, "--full-refresh") == 0
    return warehouse


def read(spark, warehouse, name):
    return spark.read.format("delta").load(str(warehouse / name))


def reasons(spark, warehouse, table, key):
    return (read(spark, warehouse, f"quarantine/{table}")
            .select(F.col(key), F.col("_dq_reasons")))


REASONS_SCHEMA = "{key} string, _dq_reasons array<string>"


def expected(spark, key, rows):
    return spark.createDataFrame(rows, REASONS_SCHEMA.format(key=key))


def test_times_out_of_range_are_quarantined_and_as_of_holds(spark, full):
    assert_df_equality(reasons(spark, full, "orders", "order_id"), expected(spark, "order_id", [
        ("O9", ["order_ts_in_future"]),
        ("O8", ["order_ts_before_earliest"]),
        ("O7", ["updated_at_in_future"]),
    ]), ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(reasons(spark, full, "products", "product_id"),
                       expected(spark, "product_id", [("P2", ["updated_at_in_future"])]),
                       ignore_nullable=True)
    run_row = read(spark, full, "audit/pipeline_runs").first()
    assert run_row["as_of_date"] == dt.date(2024, 3, 7)  # the latest valid completed order
    seg = read(spark, full, "marts/customer_segmentation")
    assert seg.where(F.col("as_of_date") != dt.date(2024, 3, 7)).isEmpty()


def test_customer_rows_quarantined_with_their_reasons(spark, full):
    """signup and update times out of range, bytes that are not UTF-8 (read as U+FFFD), a
    line of 30,008 fields (a malformed row, not a failed run)."""
    assert_df_equality(reasons(spark, full, "customers", "customer_id"),
                       expected(spark, "customer_id", [
                           ("C5", ["signup_date_before_earliest"]),
                           ("C6", ["updated_at_in_future"]),
                           ("C7", ["invalid_encoding"]),
                           ("C8", ["malformed_row"]),
                       ]), ignore_row_order=True, ignore_nullable=True)


def test_look_alike_ids_collapse_and_a_quoted_line_break_is_one_row(spark, full):
    staged = read(spark, full, "staging/customers").select("customer_id", "first_name", "email")
    want = spark.createDataFrame([
        ("C1", "Ann", "ann@example.com"),
        ("C2", "Bob", "bob@example.com"),
        ("C3", "Cy", "cy@new.example.com"),  # zero-width space and full-width: one key
        ("C4", "Multi Line", "d@example.com"),  # no-break space; a line break in quotes
        ("CAF\u00c9", "Cafe", "c@example.com"),  # composed and decomposed accent: one key
    ], "customer_id string, first_name string, email string")
    assert_df_equality(staged, want, ignore_row_order=True, ignore_nullable=True)
    orders = read(spark, full, "staging/orders").select("order_id", "customer_id", "status")
    assert_df_equality(orders, spark.createDataFrame([
        ("O1", "C1", "completed"), ("O2", "C2", "completed"),
        ("O3", "C3", "completed"), ("O4", "CAF\u00c9", "completed"),
    ], "order_id string, customer_id string, status string"), ignore_row_order=True,
        ignore_nullable=True)
    counts = {c["table"]: c for c in read(spark, full, "audit/pipeline_runs").first()
              ["table_counts"]}
    # logical rows: 2 clean + 8 hostile customer rows, the quoted line break inside one
    assert (counts["customers"]["rows_read"], counts["customers"]["rows_quarantined"],
            counts["customers"]["rows_accepted"]) == (10, 4, 6)


def test_overflowing_line_amount_is_quarantined_not_fatal(spark, full):
    assert_df_equality(reasons(spark, full, "order_items", "order_id"),
                       expected(spark, "order_id", [
                           ("O3\u200b", ["line_amount_out_of_range", "range_unit_price"])]),
                       ignore_nullable=True)
    lines = read(spark, full, "staging/order_items").select("order_id", "line_no",
                                                             "line_amount")
    assert_df_equality(lines, spark.createDataFrame([
        ("O1", 1, Decimal("5.00")), ("O2", 1, Decimal("2.50")),
        ("O3", 1, Decimal("2.50")), ("O4", 1, Decimal("9.00")),
    ], T.StructType([T.StructField("order_id", T.StringType()),
                     T.StructField("line_no", T.IntegerType()),
                     T.StructField("line_amount", T.DecimalType(18, 2))])),
        ignore_row_order=True, ignore_nullable=True)


def test_file_names_of_every_kind_are_read_once_and_owned(spark, full, landing):
    files = read(spark, full, "audit/processed_files").select("table", "file_name")
    assert sorted((r["table"], r["file_name"]) for r in files.collect()) == sorted(
        (t, n) for t in HEADERS for n in ("d1.csv", HOSTILE_NAME))
    owned = (accepted_rows(read(spark, full, "staging/order_versions"))
             .select(F.regexp_extract("_source_file", r"([^/]+)$", 1).alias("name"))
             .groupBy("name").count().collect())
    assert sorted((r["name"], r["count"]) for r in owned) == [("d1.csv", 2), (HOSTILE_NAME, 3)]


def test_skipped_entries_are_logged(spark, landing):
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("rfm_spark.io.landing")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        listed = list_files(spark, str(landing / "orders"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [f.name for f in listed] == ["d1.csv", HOSTILE_NAME]  # .CSV counts, any case
    for name, why in (("_partial.csv", "hidden"), (".hidden.csv", "hidden"),
                      ("archive", "a folder")):
        assert any(name in m and why in m for m in messages), messages


def test_one_delivery_per_run_equals_full_refresh(spark, base_config, full, clean_built):
    raw, warehouse = clean_built  # the first run, on the clean delivery, already made
    hostile_delivery(raw)
    assert run(base_config, raw, warehouse) == 0
    assert_same_tables(spark, full, warehouse)
    # the staging checks, from the kept failures and the changed keys (Unicode ids among
    # them), find what the full refresh's whole-table checks found
    assert staging_check_results(spark, warehouse) == staging_check_results(spark, full)


def test_reconciliation_fails_when_rows_go_missing(spark, base_config, tmp_path, monkeypatch,
                                                   capsys):
    """Rows read are counted by the job that writes the version log, rows quarantined by
    the job that writes quarantine from it: a rejected row lost on its way to quarantine
    is an error-severity result, the marts are not published."""
    raw = tmp_path / "raw"
    clean_delivery(raw)
    write(raw / "products" / "d1.csv", HEADERS["products"], [
        "P1,Pen,Office,2.50,2024-01-01 00:00:00", "P3,Cup,Home,-4.00,2024-01-01 00:00:00"])
    kept = staging_runner.quarantine_rows

    def lossy(logged, run_id):
        rows = kept(logged, run_id)
        return rows.where(F.col("product_id") != "P3") if "product_id" in rows.columns else rows

    monkeypatch.setattr(staging_runner, "quarantine_rows", lossy)
    assert run(base_config, raw, tmp_path / "wh") == 1
    assert "reconciles failed on staging.products: 1 of 2" in capsys.readouterr().err
    failed = (read(spark, tmp_path / "wh", "audit/dq_results")
              .where("rule = 'reconciles' AND NOT passed").select("table", "failed_rows"))
    assert [tuple(r) for r in failed.collect()] == [("staging.products", 1)]
    assert not (tmp_path / "wh" / "marts").exists()


def test_colon_in_a_file_name_and_a_header_column_twice_exit_2(base_config, tmp_path, capsys):
    raw = tmp_path / "raw"
    clean_delivery(raw)
    shutil.copy(raw / "orders" / "d1.csv", raw / "orders" / "d2:x.csv")
    assert run(base_config, raw, tmp_path / "wh") == 2
    assert "d2:x.csv" in capsys.readouterr().err
    (raw / "orders" / "d2:x.csv").unlink()
    write(raw / "orders" / "d3.csv", HEADERS["orders"] + ",status", [])
    assert run(base_config, raw, tmp_path / "wh2") == 2
    err = capsys.readouterr().err
    assert "d3.csv" in err and "'status' appears twice" in err


def test_line_past_the_parser_limit_refuses_the_file(base_config, tmp_path, capsys):
    raw = tmp_path / "raw"
    clean_delivery(raw)
    write(raw / "products" / "d2.csv", HEADERS["products"],
          ["P9,SECRET-ROW," + ",".join(["x"] * 1_000_001)])
    assert run(base_config, raw, tmp_path / "wh") == 2
    err = capsys.readouterr().err
    assert "products/d2.csv (table products) cannot be parsed as CSV" in err
    assert "SECRET-ROW" not in err


def test_listing_without_a_jvm_equals_the_hadoop_listing(spark, landing, monkeypatch):
    """Spark Connect sessions list the landing through the binaryFile source: the same
    deliveries, sizes and modification times as Hadoop's FileSystem gives."""
    from rfm_spark.io import listing

    folder = str(landing / "orders")
    hadoop = listing.list_files(spark, folder)
    monkeypatch.setattr(listing, "is_classic", lambda _spark: False)
    assert listing.list_files(spark, folder) == hadoop
    relative = os.path.relpath(folder)
    assert [f.name for f in listing.list_files(spark, relative)] == [f.name for f in hadoop]
    assert listing.folder_exists(spark, folder)
    assert not listing.folder_exists(spark, folder + "-typo")

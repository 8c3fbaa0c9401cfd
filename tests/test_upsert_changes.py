"""The rows an upsert changes (rfm_spark/io/upsert_changes.py), on small frames: the MERGE's
rule (new keys; matched rows that differ and are newer, ties to the greater row; NULLs
replace nothing) in DataFrame form, broadcast or not."""

import pytest
from chispa import assert_df_equality

from rfm_spark.io.upsert_changes import changed_rows

ROWS = "k string, v int, note string"


@pytest.mark.parametrize("small_source", [True, False])
def test_changed_rows_are_the_new_and_the_winning_rows(spark, small_source):
    table = spark.createDataFrame([("a", 1, "x"), ("b", 2, "x"), ("c", 3, "x"), ("d", 4, "x"),
                                   ("e", None, "x"), (None, 6, "x")], ROWS)
    source = spark.createDataFrame([
        ("a", 2, "x"),      # newer: replaces
        ("b", 1, "y"),      # older: nothing
        ("c", 3, "y"),      # same time, greater row ("y" > "x"): replaces
        ("d", 4, "x"),      # identical: nothing
        ("e", 9, "y"),      # the table's time is NULL: nothing
        (None, 7, "y"),     # a NULL key matches the NULL key (as MERGE's <=>): replaces
        ("f", None, "y"),   # a new key: inserted whatever its time
    ], ROWS)
    expected = spark.createDataFrame([("a", 2, "x"), ("c", 3, "y"), (None, 7, "y"),
                                      ("f", None, "y")], ROWS)
    assert_df_equality(changed_rows(table, source, ["k"], "v", small_source), expected,
                       ignore_row_order=True, ignore_nullable=True)


def test_without_newer_than_every_differing_row_replaces(spark):
    table = spark.createDataFrame([("a", 1, "x"), ("b", 2, "x")], ROWS)
    source = spark.createDataFrame([("a", 0, "x"), ("b", 2, "x")], ROWS)
    assert_df_equality(changed_rows(table, source, ["k"], None, True),
                       spark.createDataFrame([("a", 0, "x")], ROWS),
                       ignore_row_order=True, ignore_nullable=True)

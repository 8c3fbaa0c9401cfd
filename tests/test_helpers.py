"""The warehouse comparison the end-to-end tests rely on catches what it must."""

from __future__ import annotations

import pytest
from chispa.dataframe_comparer import DataFramesNotEqualError

from tests.helpers import assert_same_tables

ROWS = [("a", 1, "x/delivery_0001.csv"), ("b", 2, "x/delivery_0002.csv")]
SCHEMA = "k string, v int, _source_file string"


def write(spark, folder, rows, schema=SCHEMA, columns=("k", "v", "_source_file")):
    spark.createDataFrame(rows, schema).select(*columns).write.format("delta").save(
        str(folder / "layer" / "t"))


def test_same_rows_in_another_column_order_and_landing_are_the_same(spark, tmp_path):
    write(spark, tmp_path / "l", ROWS)
    write(spark, tmp_path / "r", [(k, v, "/elsewhere/" + f) for k, v, f in reversed(ROWS)],
          columns=("_source_file", "v", "k"))
    assert_same_tables(spark, tmp_path / "l", tmp_path / "r", tables=("layer/t",))


@pytest.mark.parametrize("right, schema", [
    ([*ROWS, ROWS[0]], SCHEMA),                          # a duplicated row
    ([ROWS[0], ("b", 3, "x/delivery_0002.csv")], SCHEMA),  # a changed value
    ([ROWS[0]], SCHEMA),                                  # a missing row
    (ROWS, "k string, v long, _source_file string"),      # another type
])
def test_a_row_or_a_type_that_differs_fails(spark, tmp_path, right, schema):
    write(spark, tmp_path / "l", ROWS)
    write(spark, tmp_path / "r", right, schema=schema)
    with pytest.raises((AssertionError, DataFramesNotEqualError)):
        assert_same_tables(spark, tmp_path / "l", tmp_path / "r", tables=("layer/t",))

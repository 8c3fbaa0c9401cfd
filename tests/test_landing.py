"""The raw landing reader: files read by header name, malformed lines flagged."""

import pytest
from chispa import assert_df_equality

from rfm_spark.config import RawTable
from rfm_spark.errors import ConfigError
from rfm_spark.io.landing import read_raw_table
from rfm_spark.staging import customers

COLUMNS = ", ".join(f"{c} string" for c in (*customers.REQUIRED, *customers.OPTIONAL))


def test_files_with_different_headers_are_read_by_name(spark, tmp_path):
    folder = tmp_path / "customers"
    folder.mkdir()
    (folder / "d1.csv").write_text(
        "customer_id,first_name,last_name,email,city,country,signup_date,updated_at\n"
        'C1,Ann,"Lee, Jr",a@b.cc,Oslo,NO,2024-01-01,2024-01-01 00:00:00\n'
    )
    # other column order, optional column present, one extra column, one malformed line
    (folder / "d2.csv").write_text(
        "updated_at,customer_id,is_deleted,first_name,last_name,email,city,country,"
        "signup_date,loyalty_tier\n"
        "2024-02-01 00:00:00,C2,true,Bo,Ng,b@c.dd,Rome,IT,2024-01-02,gold\n"
        "2024-02-01 00:00:00,C3,false\n"
    )
    (folder / "empty.csv").write_text("")
    (folder / "notes.txt").write_text("ignored")
    df = read_raw_table(spark, "customers", RawTable("csv", str(folder)),
                        customers.REQUIRED, customers.OPTIONAL)
    expected = spark.createDataFrame(
        [
            ("C1", "Ann", "Lee, Jr", "a@b.cc", "Oslo", "NO", "2024-01-01", "2024-01-01 00:00:00",
             None, f"file:{folder}/d1.csv", False),
            ("C2", "Bo", "Ng", "b@c.dd", "Rome", "IT", "2024-01-02", "2024-02-01 00:00:00",
             "true", f"file:{folder}/d2.csv", False),
            ("C3", None, None, None, None, None, None, "2024-02-01 00:00:00",
             "false", f"file:{folder}/d2.csv", True),
        ],
        COLUMNS + ", _source_file string, _malformed boolean",
    )
    assert_df_equality(df, expected, ignore_row_order=True, ignore_nullable=True)


def test_missing_required_column_names_file_and_column(spark, tmp_path):
    folder = tmp_path / "customers"
    folder.mkdir()
    (folder / "bad.csv").write_text("customer_id,first_name\nC1,Ann\n")
    with pytest.raises(ConfigError, match="bad.csv: missing column 'last_name'"):
        read_raw_table(spark, "customers", RawTable("csv", str(folder)),
                       customers.REQUIRED, customers.OPTIONAL)


def test_missing_folder_reads_as_empty(spark, tmp_path):
    df = read_raw_table(spark, "customers", RawTable("csv", str(tmp_path / "nope")),
                        customers.REQUIRED, customers.OPTIONAL)
    assert df.columns == [*customers.REQUIRED, *customers.OPTIONAL, "_source_file", "_malformed"]
    assert df.isEmpty()

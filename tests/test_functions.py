"""Each column helper on its own, with chispa's assert_column_equality."""

import datetime as dt
from decimal import Decimal

from chispa import assert_column_equality
from pyspark.sql import functions as F

from rfm_spark import functions as fn

FORMATS = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd"]


def test_canonical_id(spark):
    df = spark.createDataFrame(
        [(" c0012 ", "C0012"), ("C0012", "C0012"), ("c0012", "C0012"), ("   ", None),
         (None, None), ("c0012\n", "C0012"), ("C\u200b0012", "C0012"),
         ("\uff23\uff10\uff10\uff11\uff12", "C0012"), ("c-12", "C-12"), ("", None)],
        "raw string, expected string",
    ).withColumn("got", fn.canonical_id("raw"))
    assert_column_equality(df, "got", "expected")


def test_squash_spaces(spark):
    df = spark.createDataFrame(
        [("  New   York ", "New York"), ("", None), ("a\tb", "a b")],
        "raw string, expected string",
    ).withColumn("got", fn.squash_spaces("raw"))
    assert_column_equality(df, "got", "expected")


def test_parse_timestamp_tries_formats_in_order(spark):
    df = spark.createDataFrame(
        [
            ("2024-01-05 10:00:00", dt.datetime(2024, 1, 5, 10)),
            (" 2024-01-05T10:00:00Z ", dt.datetime(2024, 1, 5, 10)),
            ("2024-01-05", dt.datetime(2024, 1, 5)),
            ("2024-13-45", None),
            ("yesterday", None),
            ("", None),
        ],
        "raw string, expected timestamp",
    ).withColumn("got", fn.parse_timestamp("raw", FORMATS))
    assert_column_equality(df, "got", "expected")


def test_parse_date(spark):
    df = spark.createDataFrame(
        [("2024-02-29", dt.date(2024, 2, 29)), ("2023-02-29", None), ("2024/02/01", None)],
        "raw string, expected date",
    ).withColumn("got", fn.parse_date("raw", ["yyyy-MM-dd"]))
    assert_column_equality(df, "got", "expected")


def test_parse_decimal_and_int(spark):
    df = spark.createDataFrame(
        [(" 12.345 ", Decimal("12.35"), None), ("-5", Decimal("-5.00"), -5),
         ("abc", None, None), ("7", Decimal("7.00"), 7), ("2.5", Decimal("2.50"), None)],
        "raw string, expected_dec decimal(18,2), expected_int int",
    ).withColumn("got_dec", fn.parse_decimal("raw")).withColumn("got_int", fn.parse_int("raw"))
    assert_column_equality(df, "got_dec", "expected_dec")
    assert_column_equality(df, "got_int", "expected_int")


def test_parse_bool(spark):
    df = spark.createDataFrame(
        [("TRUE", True), (" yes", True), ("0", False), ("No", False), ("maybe", None),
         (None, None)],
        "raw string, expected boolean",
    ).withColumn("got", fn.parse_bool("raw"))
    assert_column_equality(df, "got", "expected")


def test_reasons_lists_every_true_check(spark):
    df = spark.createDataFrame(
        [(None, -1, ["missing_a", "negative_b"]), ("x", 1, []), ("x", -2, ["negative_b"]),
         (None, None, ["missing_a"]), ("x", None, [])],  # a NULL condition is not a reason
        "a string, b int, expected array<string>",
    ).withColumn(
        "got",
        fn.reasons([(F.col("a").isNull(), "missing_a"), (F.col("b") < 0, "negative_b")]),
    )
    assert_column_equality(df, "got", "expected")
    assert fn.reasons([]) is not None
    assert spark.range(1).select(fn.reasons([]).alias("r")).first()["r"] == []


def test_days_between(spark):
    df = spark.createDataFrame(
        [(dt.date(2024, 12, 1), dt.date(2024, 12, 31), 30),
         (dt.date(2024, 2, 28), dt.date(2024, 3, 1), 2),
         (dt.date(2024, 12, 31), dt.date(2024, 12, 31), 0)],
        "start date, end date, expected int",
    ).withColumn("got", fn.days_between("start", "end"))
    assert_column_equality(df, "got", "expected")


def test_ntile_score_direction_and_tie_breaker(spark):
    # 7 rows into 3 buckets of sizes 3, 2, 2; ties on v go by customer_id ascending in both
    # directions. Ascending: A B C | D E | F G. Descending: G E F | D A | B C.
    rows = [("A", 1, 1, 2), ("B", 1, 1, 3), ("C", 1, 1, 3), ("D", 2, 2, 2),
            ("E", 3, 2, 1), ("F", 3, 3, 1), ("G", 9, 3, 1)]
    df = spark.createDataFrame(rows, "customer_id string, v int, asc_expected int, "
                                     "desc_expected int")
    out = (df.withColumn("asc_got", fn.ntile_score(3, "v"))
             .withColumn("desc_got", fn.ntile_score(3, "v", ascending=False))
             .orderBy("customer_id"))
    assert_column_equality(out, "asc_got", "asc_expected")
    assert_column_equality(out, "desc_got", "desc_expected")


def test_safe_ratio(spark):
    df = spark.createDataFrame(
        [(1, 4, 0.25), (1, 0, None), (None, 2, None)], "a int, b int, expected double"
    ).withColumn("got", fn.safe_ratio("a", "b"))
    assert_column_equality(df, "got", "expected")

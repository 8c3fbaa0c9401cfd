import datetime as dt
import re

from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.staging import orders
from rfm_spark.staging.cleansing import (
    REASONS,
    accepted_rows,
    as_logged,
    delivery_name,
    quarantine_rows,
)
from tests.helpers import BOUNDS, raw_frame

TS = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd"]
STATUS_MAP = {
    "completed": ["delivered", "complete"],
    "cancelled": ["canceled", "closed"],
    "returned": ["refunded"],
    "in_progress": ["pending", "in transit"],
}
D1 = "file:/l/orders/delivery_0001.csv"


def test_status_lookup_folds_spellings():
    lookup = orders.status_lookup(STATUS_MAP)
    assert lookup["in transit"] == "in_progress"
    assert lookup["in progress"] == "in_progress"  # the canonical name maps to itself
    assert lookup["completed"] == "completed"


def test_standardise_orders(spark):
    raw = raw_frame(spark, orders.REQUIRED, [
        (" o1 ", "c1", "2024-05-01 10:00:00", " Delivered ", "2024-05-01 11:00:00"),
        ("O2", "C2", "2024-05-02", "COMPLETE", "2024-05-02 00:00:00"),
        ("O3", "C9", "2024-05-03 08:00:00", "In_Transit", "2024-05-03 09:00:00"),
        ("O4", "C1", "2024-05-04 08:00:00", "Canceled", "2024-05-04 09:00:00"),
        ("O5", "C1", "2024-05-05 08:00:00", "refunded", "2024-05-05 09:00:00"),
        ("O6", "", "2024-13-45", "lost", "2024-05-06 09:00:00"),
        ("", "C1", "", "", "oops"),
    ], source=D1)
    validated = orders.standardise_orders(raw, TS, STATUS_MAP, BOUNDS)
    expected = spark.createDataFrame(
        [
            ("O1", "C1", dt.datetime(2024, 5, 1, 10), dt.date(2024, 5, 1), "completed",
             dt.datetime(2024, 5, 1, 11), D1),
            ("O2", "C2", dt.datetime(2024, 5, 2), dt.date(2024, 5, 2), "completed",
             dt.datetime(2024, 5, 2), D1),
            ("O3", "C9", dt.datetime(2024, 5, 3, 8), dt.date(2024, 5, 3), "in_progress",
             dt.datetime(2024, 5, 3, 9), D1),
            ("O4", "C1", dt.datetime(2024, 5, 4, 8), dt.date(2024, 5, 4), "cancelled",
             dt.datetime(2024, 5, 4, 9), D1),
            ("O5", "C1", dt.datetime(2024, 5, 5, 8), dt.date(2024, 5, 5), "returned",
             dt.datetime(2024, 5, 5, 9), D1),
        ],
        "order_id string, customer_id string, order_ts timestamp, order_date date, "
        "status string, updated_at timestamp, _source_file string",
    )
    assert_df_equality(accepted_rows(as_logged(validated)), expected, ignore_row_order=True,
                       ignore_nullable=True)
    reasons = {r["order_id"]: r["_dq_reasons"]
               for r in quarantine_rows(as_logged(validated), "r").collect()}
    assert reasons == {
        "O6": ["missing_customer_id", "unparsable_order_ts", "unknown_status"],
        "": ["missing_order_id", "missing_order_ts", "missing_status",
             "unparsable_updated_at"],
    }
    # as the version log keeps them: reasons and raw text on the two rejected rows only
    logged = as_logged(validated)
    assert logged.where("_raw IS NOT NULL").count() == 2
    assert logged.where(F.col(REASONS).isNotNull()).count() == 2
    # the log itself: every row, the order's delivery beside its file
    log = orders.order_versions(validated)
    assert log.columns == [*orders.VERSION_COLUMNS, "_dq_reasons", "_raw"]
    assert log.count() == 7
    assert {r["_delivery"] for r in accepted_rows(log).collect()} == {"delivery_0001.csv"}


def test_latest_orders_greatest_updated_at(spark):
    raw = raw_frame(spark, orders.REQUIRED, [
        ("O1", "C1", "2024-05-01", "pending", "2024-05-01 10:00:00",
         "file:/l/orders/delivery_0001.csv"),
        ("O1", "C1", "2024-05-01", "delivered", "2024-05-03 10:00:00",
         "file:/l/orders/delivery_0002.csv"),
        ("O1", "C1", "2024-05-01", "pending", "2024-05-01 09:00:00",
         "file:/l/orders/delivery_0003.csv"),  # late, older
    ])
    validated = orders.standardise_orders(raw, TS, STATUS_MAP, BOUNDS)
    latest = orders.latest_orders(accepted_rows(as_logged(validated)))
    expected = spark.createDataFrame(
        [("O1", "C1", dt.datetime(2024, 5, 1), dt.date(2024, 5, 1), "completed",
          dt.datetime(2024, 5, 3, 10))],
        "order_id string, customer_id string, order_ts timestamp, order_date date, "
        "status string, updated_at timestamp",
    )
    assert_df_equality(latest, expected, ignore_nullable=True)


def test_delivery_name_is_the_file_name_after_the_last_slash(spark):
    paths = spark.createDataFrame(
        [("file:/landing/orders/delivery_0007.csv", "delivery_0007.csv"),
         ("s3a://bucket/raw/orders/d7.csv", "d7.csv"),
         ("/landing/orders/back\\slash d7.csv", "back\\slash d7.csv"),
         ("d7.csv", "d7.csv"),
         ("/landing/orders/", ""),
         (None, None)],
        "path string, expected string")
    assert_df_equality(paths.select(delivery_name("path").alias("name")),
                       paths.select(F.col("expected").alias("name")))


def test_each_time_is_parsed_once_whatever_reads_it(spark, capsys):
    """The checks read the parsed columns (cleansing.parsed_once): the optimised plan parses
    order_ts and updated_at once per format (before: 30 parses for these 2 x 2), and tests
    each id's shape once."""
    raw = raw_frame(spark, orders.REQUIRED, [
        ("O1", "C1", "2024-05-01 10:00:00", "delivered", "2024-05-01 11:00:00")], source=D1)
    orders.standardise_orders(raw, TS, STATUS_MAP, BOUNDS).explain(extended=True)
    plan = capsys.readouterr().out
    optimised = plan.split("== Optimized Logical Plan ==")[1].split("== Physical Plan ==")[0]
    assert optimised.count("gettimestamp(") == 2 * len(TS), optimised
    assert len(re.findall(r"RLIKE\(order_id#\d+, \^\[0-9A-Za-z\]", optimised)) == 1, optimised

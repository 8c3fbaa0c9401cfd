"""customers_history from hand-written version sequences."""

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.snapshots.customers_history import build_history

TRACKED = ["email", "city"]
VERSIONS = ("customer_id string, email string, city string, signup_date date, "
            "updated_at timestamp, is_deleted boolean")
ALL = ["customer_id", "email", "city", "signup_date", "updated_at", "is_deleted"]
HISTORY = ("customer_id string, email string, city string, valid_from timestamp, "
           "valid_to timestamp, is_current boolean, is_deleted boolean")


def t(day: int) -> dt.datetime:
    return dt.datetime(2024, 1, day)


def v(cid, email, city, day, deleted=False, signup=dt.date(2023, 1, 1)):
    return (cid, email, city, signup, t(day), deleted)


def history(spark, rows):
    got = build_history(spark.createDataFrame(rows, VERSIONS), TRACKED, ALL)
    return got.drop("row_hash")


def expect(spark, rows):
    return spark.createDataFrame(rows, HISTORY)


def check(spark, versions, expected):
    assert_df_equality(history(spark, versions), expect(spark, expected),
                       ignore_row_order=True, ignore_nullable=True)


def test_insert_update_and_unchanged_resend(spark):
    check(spark, [v("A", "a@x.io", "Oslo", 1), v("A", "a@x.io", "Rome", 5),
                  v("A", "a@x.io", "Rome", 9)],  # re-sent unchanged: no new row
          [("A", "a@x.io", "Oslo", t(1), t(5), False, False),
           ("A", "a@x.io", "Rome", t(5), None, True, False)])


def test_untracked_change_opens_nothing(spark):
    check(spark, [v("A", "a@x.io", "Oslo", 1),
                  v("A", "a@x.io", "Oslo", 3, signup=dt.date(2020, 5, 5))],
          [("A", "a@x.io", "Oslo", t(1), None, True, False)])


def test_out_of_order_version_lands_in_its_place(spark):
    # delivered 1, 9, then a late version from day 5: it splits the first interval
    check(spark, [v("A", "a@x.io", "Oslo", 1), v("A", "a@x.io", "Paris", 9),
                  v("A", "a@x.io", "Rome", 5)],
          [("A", "a@x.io", "Oslo", t(1), t(5), False, False),
           ("A", "a@x.io", "Rome", t(5), t(9), False, False),
           ("A", "a@x.io", "Paris", t(9), None, True, False)])


def test_delete_resend_and_resurrection(spark):
    check(spark, [v("A", "a@x.io", "Oslo", 1), v("A", "a@x.io", "Oslo", 4, deleted=True),
                  v("A", "a@x.io", "Oslo", 6, deleted=True),  # delete re-sent: no-op
                  v("A", "a@x.io", "Oslo", 8)],  # comes back, same attributes: new row
          [("A", "a@x.io", "Oslo", t(1), t(4), False, True),
           ("A", "a@x.io", "Oslo", t(8), None, True, False)])


def test_delete_of_unknown_customer_is_a_no_op(spark):
    check(spark, [v("B", "b@x.io", "Oslo", 2, deleted=True)], [])


def test_null_to_value_and_value_to_null(spark):
    check(spark, [v("A", None, "Oslo", 1), v("A", "a@x.io", "Oslo", 2),
                  v("A", None, "Oslo", 3), v("A", None, None, 4)],
          [("A", None, "Oslo", t(1), t(2), False, False),
           ("A", "a@x.io", "Oslo", t(2), t(3), False, False),
           ("A", None, "Oslo", t(3), t(4), False, False),
           ("A", None, None, t(4), None, True, False)])


def test_several_versions_in_one_delivery_and_same_instant(spark):
    # two versions with the same updated_at: one is chosen by content, deterministically
    versions = [v("A", "a@x.io", "Oslo", 1), v("A", "a@x.io", "Rome", 2),
                v("A", "a@x.io", "Bonn", 2), v("C", "c@x.io", "Oslo", 1)]
    first = history(spark, versions)
    again = history(spark, list(reversed(versions)))
    assert_df_equality(first, again, ignore_row_order=True)
    assert first.where("customer_id = 'A'").count() == 2
    assert first.where("is_current").count() == 2


def test_row_hash_is_stable_and_null_safe(spark):
    rows = build_history(spark.createDataFrame(
        [v("A", None, "x", 1), v("B", "x", None, 1)], VERSIONS), TRACKED, ALL)
    hashes = {r["customer_id"]: r["row_hash"] for r in rows.collect()}
    assert hashes["A"] != hashes["B"]
    assert rows.where(F.col("row_hash").isNull()).isEmpty()

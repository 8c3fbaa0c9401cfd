"""customer_segment_history steps, replays and the migration matrix."""

import datetime as dt

from chispa import assert_df_equality

from rfm_spark.snapshots.customer_segment_history import (
    empty_history,
    next_history,
    segment_migration,
)

SEG = "customer_id string, rfm_score string, rfm_segment string, churn_status string, " \
      "behavioral_segment string"
HIST = SEG + ", valid_from date, valid_to date, is_current boolean"
D1, D2, D3 = dt.date(2024, 3, 1), dt.date(2024, 6, 1), dt.date(2024, 9, 1)


def seg(spark, *rows):
    return spark.createDataFrame(list(rows), SEG)


def snap(cid, score, segment, churn="Active", behaviour="Occasional"):
    return (cid, score, segment, churn, behaviour)


def step(spark, history, segmentation, day):
    return next_history(history, segmentation, day)


def no_hash(df):
    return df.drop("row_hash")


def test_steps_open_close_and_keep(spark):
    s1 = seg(spark, snap("A", "555", "Champions"), snap("B", "111", "Hibernating"))
    h1 = step(spark, empty_history(s1), s1, D1)
    s2 = seg(spark, snap("A", "555", "Champions"), snap("B", "211", "Hibernating"),
             snap("C", "511", "New Customers"))
    h2 = step(spark, h1, s2, D2)
    s3 = seg(spark, snap("A", "155", "Can't Lose Them", "Churned"), snap("C", "511",
                                                                       "New Customers"))
    h3 = step(spark, h2, s3, D3)  # B no longer scored: closed
    expected = spark.createDataFrame([
        ("A", "555", "Champions", "Active", "Occasional", D1, D3, False),
        ("A", "155", "Can't Lose Them", "Churned", "Occasional", D3, None, True),
        ("B", "111", "Hibernating", "Active", "Occasional", D1, D2, False),
        ("B", "211", "Hibernating", "Active", "Occasional", D2, D3, False),
        ("C", "511", "New Customers", "Active", "Occasional", D2, None, True),
    ], HIST)
    assert_df_equality(no_hash(h3), expected, ignore_row_order=True, ignore_nullable=True)


def test_same_as_of_twice_changes_nothing_and_new_data_replaces_the_snapshot(spark):
    s1 = seg(spark, snap("A", "555", "Champions"))
    h1 = step(spark, empty_history(s1), s1, D1)
    s2 = seg(spark, snap("A", "455", "Loyal Customers"))
    h2 = step(spark, h1, s2, D2)
    again = step(spark, h2, s2, D2)
    assert_df_equality(again, h2, ignore_row_order=True, ignore_nullable=True)
    corrected = step(spark, h2, s1, D2)  # at D2 the data now says Champions again
    assert_df_equality(no_hash(corrected), no_hash(h1), ignore_row_order=True,
                       ignore_nullable=True)


def test_migration_matrix(spark):
    s1 = seg(spark, snap("A", "555", "Champions"), snap("B", "555", "Champions"),
             snap("C", "111", "Hibernating"))
    s2 = seg(spark, snap("A", "255", "At Risk"), snap("B", "555", "Champions"),
             snap("D", "511", "New Customers"))
    history = step(spark, step(spark, empty_history(s1), s1, D1), s2, D2)
    expected = spark.createDataFrame([
        (D1, D2, "Champions", "At Risk", 1),
        (D1, D2, "Champions", "Champions", 1),
        (D1, D2, "Hibernating", "(not scored)", 1),
        (D1, D2, "(not scored)", "New Customers", 1),
    ], "from_as_of date, to_as_of date, from_segment string, to_segment string, "
       "customers long")
    assert_df_equality(segment_migration(history, D1, D2), expected, ignore_row_order=True,
                       ignore_nullable=True)

"""customer_segment_history steps, replays and the migration matrix."""

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.functions import content_hash
from rfm_spark.snapshots.customer_segment_history import (
    SEGMENTS,
    empty_history,
    next_history,
    segment_migration,
    with_p_alive_band,
)

SEG = "customer_id string, rfm_score string, rfm_segment string, churn_status string, " \
      "behavioral_segment string"
HIST = SEG + ", valid_from date, valid_to date, is_current boolean"
D1, D2, D3 = dt.date(2024, 3, 1), dt.date(2024, 6, 1), dt.date(2024, 9, 1)


def seg(spark, *rows):
    return spark.createDataFrame(list(rows), SEG)


def snap(cid, score, segment, churn="Active", behaviour="Occasional"):
    return (cid, score, segment, churn, behaviour)


def step(spark, history, segmentation, day, lifetime_value=None):
    return next_history(history, with_p_alive_band(segmentation, lifetime_value), day)


def bands(spark, *rows):
    return spark.createDataFrame(list(rows), "customer_id string, p_alive_band string")


def no_hash(df):
    """The history without row_hash and p_alive_band (NULL here: tested with bands below)."""
    return df.drop("row_hash", "p_alive_band")


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


def test_p_alive_band_is_tracked(spark):
    s1 = seg(spark, snap("A", "555", "Champions"), snap("B", "111", "Hibernating"))
    h1 = step(spark, empty_history(s1), s1, D1,
              bands(spark, ("A", "Likely Alive"), ("B", "Uncertain")))
    # same segments, A's band falls; C is scored by RFM only (no CLV row): NULL band
    s2 = seg(spark, snap("A", "555", "Champions"), snap("B", "111", "Hibernating"),
             snap("C", "511", "New Customers"))
    h2 = step(spark, h1, s2, D2, bands(spark, ("A", "Likely Lapsed"), ("B", "Uncertain")))
    expected = spark.createDataFrame([
        ("A", "Likely Alive", D1, D2, False),
        ("A", "Likely Lapsed", D2, None, True),
        ("B", "Uncertain", D1, None, True),
        ("C", None, D2, None, True),
    ], "customer_id string, p_alive_band string, valid_from date, valid_to date, "
       "is_current boolean")
    assert_df_equality(h2.select(*expected.columns), expected, ignore_row_order=True,
                       ignore_nullable=True)
    moves = {(r.from_segment, r.to_segment): r.customers
             for r in segment_migration(h2, D1, D2, column="p_alive_band").collect()}
    assert moves == {("Likely Alive", "Likely Lapsed"): 1, ("Uncertain", "Uncertain"): 1,
                     ("(not scored)", "(not scored)"): 1}


def test_a_history_from_before_bands_keeps_its_rows(spark):
    """A stored history without p_alive_band (older warehouses): its hashes stay valid, so
    an unchanged customer keeps its row, and one whose band becomes known opens a new one."""
    s1 = seg(spark, snap("A", "555", "Champions"), snap("B", "111", "Hibernating"))
    old = s1.select("customer_id", *SEGMENTS, F.lit(D1).alias("valid_from"),
                    F.lit(None).cast("date").alias("valid_to"), F.lit(True).alias("is_current"),
                    content_hash(SEGMENTS).alias("row_hash"))
    same = step(spark, old, s1, D2)
    assert_df_equality(same.drop("p_alive_band"), old, ignore_row_order=True,
                       ignore_nullable=True)
    banded = step(spark, old, s1, D2, bands(spark, ("A", "Uncertain")))
    assert {(r.customer_id, r.p_alive_band, r.valid_from, r.valid_to)
            for r in banded.collect()} == {
        ("A", None, D1, D2), ("A", "Uncertain", D2, None), ("B", None, D1, None)}

import datetime as dt
import random
from decimal import Decimal as D

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.intermediate.rfm_scores import rfm_base, rfm_scores, score, score_with_windows
from tests.rfm_fixtures import AS_OF, SCORES_SCHEMA, SUMMARY, SUMMARY_SCHEMA, scores_rows


def test_scores_by_hand(spark):
    summary = spark.createDataFrame(SUMMARY, SUMMARY_SCHEMA)
    expected = spark.createDataFrame(scores_rows(), SCORES_SCHEMA)
    assert_df_equality(rfm_scores(summary, AS_OF, 5), expected, ignore_row_order=True,
                       ignore_nullable=True)


def test_fewer_customers_than_buckets(spark):
    summary = spark.createDataFrame([
        ("X", dt.date(2024, 12, 1), dt.date(2024, 12, 21), 1, D("5.00"), AS_OF),
        ("Y", dt.date(2024, 12, 1), dt.date(2024, 12, 26), 2, D("10.00"), AS_OF),
    ], SUMMARY_SCHEMA)
    expected = spark.createDataFrame([
        ("X", AS_OF, dt.date(2024, 12, 1), dt.date(2024, 12, 21), 10, 1, D("5.00"), D("5.00"),
         1, 1, 1, "111", 3, 2),
        ("Y", AS_OF, dt.date(2024, 12, 1), dt.date(2024, 12, 26), 5, 2, D("10.00"), D("5.00"),
         2, 2, 2, "222", 6, 1),
    ], SCORES_SCHEMA)
    assert_df_equality(rfm_scores(summary, AS_OF, 5), expected, ignore_row_order=True,
                       ignore_nullable=True)


def test_equal_frequencies_split_by_customer_id(spark):
    # Ten customers with identical RFM values: scores follow customer_id, two per bucket.
    rows = [(f"C{i:02d}", AS_OF, AS_OF, 1, D("1.00"), AS_OF) for i in range(10)]
    summary = spark.createDataFrame(rows, SUMMARY_SCHEMA)
    got = {r["customer_id"]: (r["r_score"], r["f_score"], r["m_score"], r["rfm_rank"])
           for r in rfm_scores(summary, AS_OF, 5).collect()}
    # rfm_rank: equal totals and monetary go by customer_id, so C08=1, C09=2, C06=3, ...
    assert got == {
        f"C{i:02d}": (i // 2 + 1, i // 2 + 1, i // 2 + 1, (4 - i // 2) * 2 + i % 2 + 1)
        for i in range(10)
    }


def test_empty_summary_gives_empty_scores(spark):
    summary = spark.createDataFrame([], SUMMARY_SCHEMA)
    expected = spark.createDataFrame([], SCORES_SCHEMA)
    assert_df_equality(rfm_scores(summary, AS_OF, 5), expected, ignore_nullable=True)


@pytest.mark.parametrize("n_customers, seed", [(0, 1), (1, 2), (3, 3), (7, 4), (23, 5),
                                                (100, 6), (257, 7)])
def test_distributed_scores_equal_the_window_reference(spark, n_customers, seed):
    """Random summaries with many ties (few distinct values), N < 5 and N not divisible
    by 5: the range-partitioned ranks give exactly the window functions' scores."""
    rng = random.Random(seed)
    rows = [
        (f"C{rng.randrange(10**6):06d}-{i}", dt.date(2024, 1, 1),
         AS_OF - dt.timedelta(days=rng.choice([0, 3, 30, 31, 90, 200])),
         rng.choice([1, 1, 2, 3, 10]), D(rng.choice(["0.00", "10.00", "999.99", "1000.00"])),
         AS_OF)
        for i in range(n_customers)
    ]
    base = rfm_base(spark.createDataFrame(rows, SUMMARY_SCHEMA), AS_OF).repartition(4)
    assert_df_equality(score(base, 5), score_with_windows(base, 5), ignore_row_order=True,
                       ignore_nullable=True)


def test_scores_without_checkpoints_equal_the_ones_with(spark, monkeypatch):
    """Where a session refuses local checkpoints (Databricks serverless), the frames are
    recomputed instead of kept: the same scores."""
    from rfm_spark.intermediate import rfm_scores as module

    summary = spark.createDataFrame(SUMMARY, SUMMARY_SCHEMA)
    kept = score(rfm_base(summary, AS_OF), 5)
    monkeypatch.setattr(module, "local_checkpoint", lambda _df: None)
    assert_df_equality(score(rfm_base(summary, AS_OF), 5), kept, ignore_row_order=True,
                       ignore_nullable=True)


@pytest.mark.parametrize("n_rows, buckets, seed", [(0, 5, 1), (2, 5, 2), (9, 4, 3),
                                                   (64, 5, 4), (301, 7, 5)])
def test_ntiles_and_ranks_equal_the_windows_with_ties_and_nulls(spark, n_rows, buckets,
                                                                 seed):
    """with_ntiles and rank_in_groups against ntile / row_number over all rows: integer
    keys ascending and descending, amounts (negative, zero, equal, large) binned, nulls
    where Spark sorts them."""
    from pyspark.sql import Window as W

    from rfm_spark.intermediate.ntile import (
        Ordering,
        monotone_bin,
        position,
        rank_in_groups,
        with_ntiles,
    )

    rng = random.Random(seed)
    amounts = [None, "-12.50", "-0.01", "0.00", "0.01", "0.02", "999.99", "1000.00",
               "1000.01", "123456789.99"]
    rows = [(f"K{i:04d}", rng.choice([None, 0, 1, 1, 2, 7, 7, 30]),
             None if rng.choice(amounts) is None else D(rng.choice(amounts[1:])))
            for i in range(n_rows)]
    df = spark.createDataFrame(rows, "id string, v int, amount decimal(18,2)").repartition(3)
    key, v, amount = F.col("id"), F.col("v"), F.col("amount")
    got = with_ntiles(df, buckets, {
        "v_up": Ordering(position(v), (key,)),
        "v_down": Ordering(position(v, descending=True), (key,)),
        "amount_up": Ordering(position(monotone_bin(amount)), (amount, key)),
    })
    got = rank_in_groups(got, [position(v, descending=True),
                               position(monotone_bin(amount), descending=True)],
                         [v.desc(), amount.desc(), key], "rank")
    expected = df.select(
        "*",
        F.ntile(buckets).over(W.orderBy(v.asc(), key)).alias("v_up"),
        F.ntile(buckets).over(W.orderBy(v.desc(), key)).alias("v_down"),
        F.ntile(buckets).over(W.orderBy(amount.asc(), key)).alias("amount_up"),
        F.row_number().over(W.orderBy(v.desc(), amount.desc(), key)).cast("long")
        .alias("rank"),
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_bucket_starts():
    from rfm_spark.intermediate.ntile import bucket_starts

    assert bucket_starts(10, 5) == [3, 5, 7, 9]
    assert bucket_starts(11, 5) == [4, 6, 8, 10]  # the first bucket holds the extra row
    assert bucket_starts(2, 5) == [2, 3, 3, 3]  # buckets 3..5 empty: starts past the rows
    assert bucket_starts(0, 3) == [1, 1]

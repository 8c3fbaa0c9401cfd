import dataclasses
import datetime as dt
from decimal import Decimal as D

from chispa import assert_approx_df_equality, assert_column_equality
from pyspark.sql import functions as F

from rfm_spark.marts.customer_segmentation import customer_segmentation
from rfm_spark.marts.top_customers import activity_status, top_customers, value_tier
from tests.rfm_fixtures import AS_OF, SCORES_SCHEMA, scores_rows

TOP_SCHEMA = (
    "top_rank int, customer_id string, monetary decimal(18,2), revenue_share double, "
    "cumulative_revenue_share double, frequency int, last_order_date date, recency_days int, "
    "activity_status string, value_tier string, churn_status string, rfm_score string, "
    "behavioral_segment string, as_of_date date"
)
TOTAL = 4359.99  # sum of all seven customers' monetary


def segmentation(spark, settings):
    rfm = settings.rfm
    return customer_segmentation(spark.createDataFrame(scores_rows(), SCORES_SCHEMA), rfm.churn,
                                 rfm.behavioral_segments, rfm.behavioral_default, rfm.segments)


def test_top_three_by_hand(spark, settings):
    top = settings.top_customers
    got = top_customers(segmentation(spark, settings), 3, top.activity,
                        top.high_value_min_monetary)
    expected = spark.createDataFrame([
        (1, "G", D("2000.00"), 2000 / TOTAL, 2000 / TOTAL, 2, dt.date(2024, 6, 1), 213,
         "Inactive", "High Value", "Churned", "125", "High Spender", AS_OF),
        (2, "B", D("1000.00"), 1000 / TOTAL, 3000 / TOTAL, 10, dt.date(2024, 12, 1), 30,
         "Active", "High Value", "Active", "354", "Loyal High Spender", AS_OF),
        (3, "C", D("999.99"), 999.99 / TOTAL, 3999.99 / TOTAL, 9, dt.date(2024, 11, 30), 31,
         "Inactive", "Low Value", "At Risk", "243", "Occasional", AS_OF),
    ], TOP_SCHEMA)
    assert_approx_df_equality(got.orderBy("top_rank"), expected, 1e-12, ignore_nullable=True)


def test_n_larger_than_customers_and_ties_on_monetary(spark, settings):
    top = settings.top_customers
    seg = segmentation(spark, settings).withColumn("monetary", F.lit(D("5.00")))
    got = top_customers(seg, 20, top.activity, top.high_value_min_monetary)
    rows = got.orderBy("top_rank").select("top_rank", "customer_id",
                                          "cumulative_revenue_share").collect()
    assert [(r["top_rank"], r["customer_id"]) for r in rows] == list(
        zip(range(1, 8), "ABCDEFG", strict=True))
    assert abs(rows[-1]["cumulative_revenue_share"] - 1.0) < 1e-12


def test_zero_revenue_gives_null_shares(spark, settings):
    top = settings.top_customers
    seg = segmentation(spark, settings).withColumn("monetary", F.lit(D("0.00")))
    got = top_customers(seg, 2, top.activity, top.high_value_min_monetary)
    assert [r["revenue_share"] for r in got.collect()] == [None, None]


def test_activity_and_value_boundaries(spark, settings):
    rules = settings.top_customers
    df = spark.createDataFrame(
        [(7, D("1000.00"), "Highly Active", "High Value"),
         (8, D("999.99"), "Active", "Low Value"),
         (30, D("0.00"), "Active", "Low Value"),
         (31, D("5000.00"), "Inactive", "High Value")],
        "recency_days int, monetary decimal(18,2), expected_activity string, "
        "expected_tier string",
    )
    out = (df.withColumn("activity", activity_status(F.col("recency_days"), rules.activity))
             .withColumn("tier", value_tier(F.col("monetary"), rules.high_value_min_monetary)))
    assert_column_equality(out, "activity", "expected_activity")
    assert_column_equality(out, "tier", "expected_tier")


def test_thresholds_come_from_config(spark, settings):
    looser = dataclasses.replace(settings.top_customers.activity, highly_active_max_days=40,
                                 active_max_days=100)
    df = spark.createDataFrame([(35, "Highly Active")], "recency_days int, expected string")
    out = df.withColumn("got", activity_status(F.col("recency_days"), looser))
    assert_column_equality(out, "got", "expected")

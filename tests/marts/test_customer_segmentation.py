from decimal import Decimal as D

from chispa import assert_column_equality, assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.marts.customer_segmentation import (
    behavioral_segment,
    churn_status,
    customer_segmentation,
    rfm_segment,
)
from tests.rfm_fixtures import SCORES_SCHEMA, scores_rows

SEGMENTATION_SCHEMA = SCORES_SCHEMA + (
    ", rfm_segment string, churn_status string, behavioral_segment string, "
    "combined_segment string"
)
# (rfm_segment, churn_status, behavioral_segment) by hand from the contract's rules
EXPECTED = {
    "A": ("Promising", "Active", "Occasional"),              # R4 F1, 0 days
    "B": ("Loyal Customers", "Active", "Loyal High Spender"),  # R3 F5, 30 days, 10 / 1000
    "C": ("At Risk", "At Risk", "Occasional"),              # R2 F4, 31 days, 9 / 999.99
    "D": ("Hibernating", "At Risk", "Occasional"),          # R2 F1, 90 days
    "E": ("Hibernating", "Churned", "Occasional"),          # R1 F2, 91 days
    "F": ("Potential Loyalists", "Active", "Occasional"),   # R5 F3
    "G": ("Hibernating", "Churned", "High Spender"),        # R1 F2, 2 orders / 2000
}


def test_segmentation_by_hand(spark, settings):
    rfm = settings.rfm
    scores = spark.createDataFrame(scores_rows(), SCORES_SCHEMA)
    expected = spark.createDataFrame(
        [(*row, *EXPECTED[row[0]], f"{EXPECTED[row[0]][1]} - {EXPECTED[row[0]][2]}")
         for row in scores_rows()],
        SEGMENTATION_SCHEMA,
    )
    got = customer_segmentation(scores, rfm.churn, rfm.behavioral_segments,
                                rfm.behavioral_default, rfm.segments)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_churn_boundaries(spark, settings):
    df = spark.createDataFrame(
        [(0, "Active"), (30, "Active"), (31, "At Risk"), (90, "At Risk"), (91, "Churned")],
        "recency_days int, expected string",
    ).withColumn("got", churn_status(F.col("recency_days"), settings.rfm.churn))
    assert_column_equality(df, "got", "expected")


def test_behavioural_boundaries_first_rule_wins(spark, settings):
    rfm = settings.rfm
    df = spark.createDataFrame(
        [(10, D("1000.00"), "Loyal High Spender"), (10, D("999.99"), "Loyal Customer"),
         (9, D("1000.00"), "High Spender"), (9, D("999.99"), "Occasional"),
         (25, D("0.00"), "Loyal Customer")],
        "frequency int, monetary decimal(18,2), expected string",
    ).withColumn("got", behavioral_segment(F.col("frequency"), F.col("monetary"),
                                           rfm.behavioral_segments, rfm.behavioral_default))
    assert_column_equality(df, "got", "expected")


def test_every_grid_cell_maps_to_its_one_segment(spark, settings):
    contract = {}
    for r in range(1, 6):
        for f in range(1, 6):
            if r <= 2:
                name = "Hibernating" if f <= 2 else "At Risk" if f <= 4 else "Can't Lose Them"
            elif r == 3:
                name = ("About to Sleep" if f <= 2 else "Need Attention" if f == 3
                        else "Loyal Customers")
            elif f == 1:
                name = "Promising" if r == 4 else "New Customers"
            elif f <= 3:
                name = "Potential Loyalists"
            else:
                name = "Loyal Customers" if r == 4 else "Champions"
            contract[(r, f)] = name
    df = spark.createDataFrame(
        [(r, f, name) for (r, f), name in sorted(contract.items())],
        "r_score int, f_score int, expected string",
    ).withColumn("got", rfm_segment(F.col("r_score"), F.col("f_score"), settings.rfm.segments))
    assert_column_equality(df, "got", "expected")

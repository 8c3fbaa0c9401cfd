"""The end-of-run summary's segment breakdowns."""

from __future__ import annotations

from rfm_spark.summary import segment_counts


def test_segment_counts_per_column_most_first_ties_by_name_nulls_first(spark):
    seg = spark.createDataFrame(
        [("Active", "Loyal", "Champions"), ("Active", "Loyal", "Champions"),
         ("Churned", "Occasional", "At Risk"), ("Churned", "Loyal", "Hibernating"),
         ("At Risk", "Occasional", None), ("At Risk", None, "At Risk")],
        "churn_status string, behavioral_segment string, rfm_segment string")
    assert segment_counts(seg) == {
        "churn_status": [("Active", 2), ("At Risk", 2), ("Churned", 2)],
        "behavioral_segment": [("Loyal", 3), ("Occasional", 2), (None, 1)],
        "rfm_segment": [("At Risk", 2), ("Champions", 2), (None, 1), ("Hibernating", 1)],
    }

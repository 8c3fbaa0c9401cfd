"""marts/customer_segmentation: RFM with churn status and the three kinds of segment."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from rfm_spark.config import BehavioralRule, ChurnRules, SegmentCell
from rfm_spark.intermediate.rfm_scores import COLUMNS as SCORE_COLUMNS

COLUMNS = (*SCORE_COLUMNS, "rfm_segment", "churn_status", "behavioral_segment",
           "combined_segment")


def churn_status(recency_days: Column, rules: ChurnRules) -> Column:
    """Active up to active_max_days, At Risk up to at_risk_max_days, Churned beyond."""
    return (
        F.when(recency_days <= rules.active_max_days, "Active")
        .when(recency_days <= rules.at_risk_max_days, "At Risk")
        .otherwise("Churned")
    )


def behavioral_segment(
    frequency: Column,
    monetary: Column,
    rules: Sequence[BehavioralRule],
    default: str,
) -> Column:
    """The first rule whose minimums the customer meets; `default` when none does."""
    result = None
    for rule in rules:
        condition = F.lit(True)
        if rule.min_frequency is not None:
            condition = condition & (frequency >= rule.min_frequency)
        if rule.min_monetary is not None:
            condition = condition & (monetary >= F.lit(rule.min_monetary).cast("decimal(18,2)"))
        result = (F.when(condition, rule.name) if result is None
                  else result.when(condition, rule.name))
    return F.lit(default) if result is None else result.otherwise(default)


def rfm_segment(r_score: Column, f_score: Column, cells: Sequence[SegmentCell]) -> Column:
    """Named segment of the (R, F) cell; the config guarantees every cell has exactly one."""
    result = None
    for cell in cells:
        condition = r_score.between(cell.r[0], cell.r[1]) & f_score.between(cell.f[0], cell.f[1])
        result = (F.when(condition, cell.name) if result is None
                  else result.when(condition, cell.name))
    return F.lit(None).cast("string") if result is None else result


def customer_segmentation(
    scores: DataFrame,
    churn: ChurnRules,
    behavioral_rules: Sequence[BehavioralRule],
    behavioral_default: str,
    segments: Sequence[SegmentCell],
) -> DataFrame:
    churn_col = churn_status(F.col("recency_days"), churn)
    behaviour = behavioral_segment(
        F.col("frequency"), F.col("monetary"), behavioral_rules, behavioral_default
    )
    return (
        scores.withColumn("churn_status", churn_col)
        .withColumn("behavioral_segment", behaviour)
        .select(
            F.col("customer_id").cast("string"),
            F.col("as_of_date").cast("date"),
            F.col("first_order_date").cast("date"),
            F.col("last_order_date").cast("date"),
            F.col("recency_days").cast("int"),
            F.col("frequency").cast("int"),
            F.col("monetary").cast("decimal(18,2)"),
            F.col("avg_order_value").cast("decimal(18,2)"),
            F.col("r_score").cast("int"),
            F.col("f_score").cast("int"),
            F.col("m_score").cast("int"),
            F.col("rfm_score").cast("string"),
            F.col("rfm_total").cast("int"),
            F.col("rfm_rank").cast("int"),
            rfm_segment(F.col("r_score"), F.col("f_score"), segments).alias("rfm_segment"),
            F.col("churn_status"),
            F.col("behavioral_segment"),
            F.concat_ws(" - ", "churn_status", "behavioral_segment").alias("combined_segment"),
        )
    )

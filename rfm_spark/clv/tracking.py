"""The tracking of a holdout validation: cumulative repeat purchases, actual and predicted,
week by week over the calibration and the holdout (Fader, Hardie & Lee 2005, figure 2).

The weeks end on the calibration end and every 7 days before and after it; the last point
is the holdout end itself. Actual: the repeat purchase occasions (every occasion after a
customer's first) of the customers who bought by the calibration end, counted per week in
Spark. Predicted: for each cohort of customers with the same first purchase day, E[X(t)],
the repeat purchases a customer is expected to make in the t weeks after the first
purchase, summed over cohorts on the driver. Spark sends one row per week and per cohort.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from rfm_spark.clv.fitting import DAYS_PER_WEEK
from rfm_spark.clv.predictions import EXPECTED


@dataclass(frozen=True)
class TrackingPoint:
    week_end: dt.date
    actual_cumulative: int
    predicted_cumulative: float


def week_ends(first_day: dt.date, calibration_end: dt.date, holdout_end: dt.date
              ) -> list[dt.date]:
    """The calibration end and every 7 days before it (after the first purchase day) and
    after it, up to the holdout end, which is the last point."""
    week = dt.timedelta(days=7)
    before = int((calibration_end - first_day).days // 7)
    points = [calibration_end - week * k for k in range(before, 0, -1)]
    day = calibration_end
    while day < holdout_end:
        points.append(day)
        day += week
    return [*points, holdout_end]


def first_purchases(occasions: DataFrame, calibration_end: dt.date) -> DataFrame:
    """Per customer who bought by the calibration end: the first purchase day."""
    return (occasions.groupBy("customer_id").agg(F.min("occasion_date").alias("first_date"))
            .where(F.col("first_date") <= F.lit(calibration_end)))


def cohorts(first: DataFrame) -> list[tuple[dt.date, int]]:
    """(first purchase day, customers), one row per day."""
    rows = first.groupBy("first_date").agg(F.count(F.lit(1)).alias("customers")).collect()
    return sorted((r["first_date"], int(r["customers"])) for r in rows)


def weekly_repeats(occasions: DataFrame, first: DataFrame, calibration_end: dt.date,
                   holdout_end: dt.date) -> dict[int, int]:
    """Repeat occasions of the customers in `first` up to the holdout end, per week: the
    week's offset k from the calibration end (its end is calibration end + 7k, the last
    one capped at the holdout end)."""
    later = W.partitionBy("customer_id").orderBy("occasion_date")
    repeats = (occasions.join(first.select("customer_id"), "customer_id", "left_semi")
               .where(F.col("occasion_date") <= F.lit(holdout_end))
               .withColumn("_n", F.row_number().over(later))
               .where(F.col("_n") > 1))
    offset = F.ceil(F.datediff("occasion_date", F.lit(calibration_end)) / F.lit(7)).cast("int")
    rows = repeats.groupBy(offset.alias("k")).agg(F.count(F.lit(1)).alias("n")).collect()
    return {int(r["k"]): int(r["n"]) for r in rows}


def expected_since_first_purchase(model: str, params: Mapping[str, float],
                                  weeks: np.ndarray) -> np.ndarray:
    """E[X(t)] for each t in `weeks`: a customer just acquired (x = t_x = T = 0) is alive,
    so the conditional expectation is the unconditional one."""
    zero = np.zeros(1)
    return np.array([float(EXPECTED[model](params, zero, zero, zero, float(t))[0])
                     for t in weeks])


def tracking(model: str, params: Mapping[str, float], cohort_sizes: list[tuple[dt.date, int]],
             repeats_per_week: dict[int, int], calibration_end: dt.date,
             holdout_end: dt.date) -> list[TrackingPoint]:
    """Cumulative actual and predicted repeat purchases at every week end."""
    if not cohort_sizes:
        return []
    points = week_ends(cohort_sizes[0][0], calibration_end, holdout_end)
    days = np.array([(p - d).days for p in points for d, _ in cohort_sizes], dtype=float)
    distinct = np.unique(days[days > 0])
    expected = dict(zip(distinct, expected_since_first_purchase(
        model, params, distinct / DAYS_PER_WEEK), strict=True))
    sizes = np.array([n for _, n in cohort_sizes], dtype=float)
    per_point = np.array([expected.get(d, 0.0) for d in days]).reshape(len(points), -1)
    predicted = per_point @ sizes
    out = []
    for point, value in zip(points, predicted, strict=True):
        k = -(-(point - calibration_end).days // 7)  # ceil: the holdout end's week too
        actual = sum(n for week, n in repeats_per_week.items() if week <= k)
        out.append(TrackingPoint(point, actual, float(value)))
    return out

"""The tracking of a holdout validation: cumulative repeat purchases, actual and predicted,
week by week over the calibration and the holdout (Fader, Hardie & Lee 2005, figure 2).

The weeks end on the calibration end and every 7 days before and after it; the last point
is the holdout end itself. Actual: the repeat purchase occasions (every occasion after a
customer's first) of the customers who bought by the calibration end, counted per week in
Spark. Predicted: for each cohort of customers with the same first purchase day (known
from the validation's groups), E[X(t)], the repeat purchases a customer is expected to
make in the t weeks after the first purchase, summed over cohorts on the driver. Spark
sends one row per week.
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


def cohorts(holdout_rows: list[tuple], calibration_end: dt.date) -> list[tuple[dt.date, int]]:
    """(first purchase day, customers), one row per day, from the holdout groups the
    validation already collected (validation.HOLDOUT_COLUMNS: tenure_days is the days from
    the first purchase to the calibration end)."""
    sizes: dict[dt.date, int] = {}
    for _, _, tenure_days, _, customers in holdout_rows:
        day = calibration_end - dt.timedelta(days=int(tenure_days))
        sizes[day] = sizes.get(day, 0) + int(customers)
    return sorted(sizes.items())


def weekly_repeats(occasions: DataFrame, calibration_end: dt.date, holdout_end: dt.date
                   ) -> dict[int, int]:
    """Repeat occasions (all but a customer's first) up to the holdout end of the customers
    who bought by the calibration end, per week: the week's offset k from the calibration
    end (its end is calibration end + 7k, the last one capped at the holdout end). One
    pass partitioned by customer."""
    customer = W.partitionBy("customer_id")
    repeats = (occasions.where(F.col("occasion_date") <= F.lit(holdout_end))
               .withColumn("_n", F.row_number().over(customer.orderBy("occasion_date")))
               .withColumn("_first", F.min("occasion_date").over(customer))
               .where((F.col("_n") > 1) & (F.col("_first") <= F.lit(calibration_end))))
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

"""Holdout validation of the purchase models (CONTRACT section 4, `rfm-spark clv-validate`):
fit on the orders up to the calibration end, predict each customer's repeat purchases in
(calibration end, holdout end], compare with the purchase occasions that happened.

Spark sends the driver one row per (x, t_x, T, actual holdout purchases) with its customer
count; the per-customer MAE and correlation follow exactly from those counts, since every
customer of a group gets the same prediction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.clv import fitting
from rfm_spark.clv.predictions import EXPECTED
from rfm_spark.clv.statistics import FREQUENCY_KEYS, clv_statistics
from rfm_spark.intermediate.customer_order_summary import summarise

HOLDOUT_COLUMNS = (*FREQUENCY_KEYS, "actual", "customers")
BUCKETS = (*(str(x) for x in range(7)), "7+", "all")
PURCHASE_MODELS = ("bgnbd", "pareto_nbd")


def holdout_groups(occasions: DataFrame, calibration_end: dt.date,
                   holdout_end: dt.date) -> DataFrame:
    """Customers who bought by the calibration end, counted per (x, recency days, tenure
    days) at the calibration end and per number of occasions in the holdout window.
    `occasions`: purchase_occasions() at the holdout end."""
    calibration = occasions.where(F.col("occasion_date") <= F.lit(calibration_end))
    statistics = clv_statistics(summarise(calibration, calibration_end))
    in_holdout = occasions.where(F.col("occasion_date") > F.lit(calibration_end)) \
        .where(F.col("occasion_date") <= F.lit(holdout_end)) \
        .groupBy("customer_id").agg(F.count(F.lit(1)).alias("actual"))
    return (statistics.join(in_holdout, "customer_id", "left")
            .withColumn("actual", F.coalesce(F.col("actual"), F.lit(0)))
            .groupBy(*FREQUENCY_KEYS, "actual")
            .agg(F.count(F.lit(1)).alias("customers"))
            .select(*HOLDOUT_COLUMNS))


@dataclass(frozen=True)
class BucketResult:
    model: str
    bucket: str
    customers: int
    actual_purchases: int
    predicted_purchases: float
    mae: float | None
    correlation: float | None


@dataclass(frozen=True)
class ModelValidation:
    fit: fitting.FittedModel
    buckets: list[BucketResult]

    @property
    def mae(self) -> float:
        return next(b.mae for b in self.buckets if b.bucket == "all")


def validate(rows: list[tuple], holdout_weeks: float, models=PURCHASE_MODELS
             ) -> list[ModelValidation]:
    """Per model: the fit on the calibration groups, then per calibration-frequency bucket
    customers, actual and predicted repeat purchases and the per-customer MAE; the
    correlation on the `all` row. A model that does not converge has no buckets."""
    table = np.array(sorted(rows), dtype=float).reshape(-1, 5)
    x, actual, customers = table[:, 0], table[:, 3], table[:, 4]
    groups = fitting.Frequencies.of(table[:, [0, 1, 2, 4]])
    out = []
    for model in models:
        fit = fitting.fit_purchases(model, groups)
        if not fit.converged:
            out.append(ModelValidation(fit, []))
            continue
        predicted = EXPECTED[model](fit.params, groups.x, groups.t_x, groups.T, holdout_weeks)
        out.append(ModelValidation(fit, [
            _bucket(model, name, mask, actual, predicted, customers)
            for name, mask in _buckets(x)]))
    return out


def _buckets(x: np.ndarray):
    for n in range(7):
        yield str(n), x == n
    yield "7+", x >= 7
    yield "all", np.ones_like(x, dtype=bool)


def _bucket(model: str, name: str, mask, actual, predicted, weight) -> BucketResult:
    w, a, p = weight[mask], actual[mask], predicted[mask]
    n = float(w.sum())
    if n == 0:
        return BucketResult(model, name, 0, 0, 0.0, None, None)
    mae = float(np.dot(w, np.abs(p - a)) / n)
    correlation = None
    if name == "all":
        mean_a, mean_p = np.dot(w, a) / n, np.dot(w, p) / n
        cov = np.dot(w, (a - mean_a) * (p - mean_p))
        spread = np.sqrt(np.dot(w, (a - mean_a) ** 2) * np.dot(w, (p - mean_p) ** 2))
        correlation = float(cov / spread) if spread > 0 else None
    return BucketResult(model, name, int(n), int(np.dot(w, a)), float(np.dot(w, p)), mae,
                        correlation)


def render(validations: list[ModelValidation]) -> str:
    """The printed table, and which model predicted better (lower per-customer MAE)."""
    lines = [f"{'model':<11} {'bucket':>6} {'customers':>10} {'actual':>9} {'predicted':>10} "
             f"{'mae':>7} {'corr':>6}"]
    for v in validations:
        if not v.buckets:
            lines.append(f"{v.fit.model:<11} did not converge: {v.fit.message}")
        for b in v.buckets:
            lines.append(f"{b.model:<11} {b.bucket:>6} {b.customers:>10,} "
                         f"{b.actual_purchases:>9,} {b.predicted_purchases:>10,.1f} "
                         f"{_num(b.mae, 3):>7} {_num(b.correlation, 3):>6}")
    fitted = [v for v in validations if v.buckets]
    if fitted:
        best = min(fitted, key=lambda v: v.mae)
        lines.append(f"better: {best.fit.model} (per-customer MAE {best.mae:.3f}"
                     + "".join(f", {v.fit.model} {v.mae:.3f}" for v in fitted if v is not best)
                     + ")")
    return "\n".join(lines)


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"

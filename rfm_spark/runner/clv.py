"""The CLV models of a run (CONTRACT section 4): statistics in Spark, grouped with counts,
fitted on the driver, scored per group there and joined back to the customers in Spark.

The mart is gated and written with the other marts (runner/models.py). Every fitted model
is appended to audit/clv_models before the gate, so a fit that did not converge is on
record, and its error-severity result stops the run before the marts are published.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import ExitStack
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from rfm_spark import registry
from rfm_spark.audit_schemas import CLV_MODELS, CLV_VALIDATION, CLV_VALIDATION_TRACKING
from rfm_spark.clv import fitting, tracking
from rfm_spark.clv.mart import GROUP_SCORE_COLUMNS, customer_lifetime_value
from rfm_spark.clv.predictions import group_predictions
from rfm_spark.clv.statistics import clv_statistics, frequency_groups, spend_groups
from rfm_spark.clv.validation import ModelValidation, holdout_groups, validate
from rfm_spark.config import Settings
from rfm_spark.errors import ConfigError, DataQualityError
from rfm_spark.intermediate.customer_order_summary import purchase_occasions
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.materialize import persisted
from rfm_spark.model import BuildContext
from rfm_spark.quality.checks import RuleResult
from rfm_spark.runner.writes import write

log = logging.getLogger("rfm_spark.clv")
CLV = registry.table("marts.customer_lifetime_value")
MODELS_LOG = registry.table("audit.clv_models")
VALIDATION_LOG = registry.table("audit.clv_validation")
TRACKING_LOG = registry.table("audit.clv_validation_tracking")
STAGED_ORDERS = registry.table("staging.orders").name
STAGED_ORDER_ITEMS = registry.table("staging.order_items").name
GROUP_SCORES = T.StructType([
    T.StructField(name, T.IntegerType() if i < 3 else T.DoubleType())
    for i, name in enumerate(GROUP_SCORE_COLUMNS)
])


@dataclass
class ClvBuild:
    mart: DataFrame
    fits: list[fitting.FittedModel]
    results: list[RuleResult]


def prepare_clv(wh: Warehouse, ctx: BuildContext, kept: ExitStack) -> ClvBuild:
    """The mart as it will be written (cached for the block `kept`), the fitted models and
    their convergence results."""
    clv = ctx.rules.clv
    (summary,) = (wh.read(name) for name in CLV.inputs)  # as this run wrote it
    statistics = kept.enter_context(persisted(clv_statistics(summary)))
    keys = sorted(tuple(row) for row in frequency_groups(statistics).collect())
    spends = sorted(tuple(row) for row in spend_groups(statistics).collect())
    frequencies = fitting.Frequencies.of(keys)  # sorted: the same fit on every platform
    fits: list[fitting.FittedModel] = []
    scores = []
    if keys:
        purchases = fitting.fit_purchases(clv.model, frequencies)
        fits = [purchases, fitting.fit_gamma_gamma(fitting.Spends.of(spends))]
        if purchases.converged:
            predicted = group_predictions(clv.model, purchases.params, frequencies,
                                          clv.horizon_months, clv.discount_rate_monthly)
            scores = [(int(x), int(recency), int(tenure), float(alive), float(expected),
                       float(discounted))
                      for (x, recency, tenure, _), alive, expected, discounted in zip(
                          keys, predicted["p_alive"], predicted["expected_purchases"],
                          predicted["discounted_purchases"], strict=True)]
    group_scores = wh.spark.createDataFrame(scores, GROUP_SCORES)
    spend = next((f.params for f in fits if f.model == "gamma_gamma" and f.converged), None)
    mart = customer_lifetime_value(statistics, group_scores, spend, clv.horizon_months,
                                   clv.p_alive_bands)
    for fit in fits:
        log.info("clv %-11s %s on %s customer(s)%s", fit.model,
                 "fitted" if fit.converged else "NOT converged", f"{fit.customers:,}",
                 f": {_params_text(fit)}" if fit.converged else f": {fit.message}")
    return ClvBuild(kept.enter_context(persisted(mart)), fits, [_result(f) for f in fits])


def record_fits(wh: Warehouse, fits: list[fitting.FittedModel], run_id: str,
                as_of: dt.date) -> None:
    """One audit/clv_models row per fitted model (converged or not)."""
    if not fits:
        return
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [(run_id, as_of, f.model, {k: float(v) for k, v in f.params.items()},
             _finite(float(f.log_likelihood)), int(f.customers),
             f.converged, now) for f in fits]
    write(wh, MODELS_LOG, wh.spark.createDataFrame(rows, CLV_MODELS))


def _result(fit: fitting.FittedModel) -> RuleResult:
    """A fit that did not converge is an error: the run stops before publishing."""
    if fit.converged:
        note = f"; {fit.message}" if fit.message else ""
        return RuleResult(CLV.name, f"{fit.model}_converged", "", "error", "pass", 0,
                          fit.customers, [], _params_text(fit) + note)
    return RuleResult(CLV.name, f"{fit.model}_converged", "", "error", "error",
                      fit.customers, fit.customers, [],
                      f"the {fit.model} fit on {fit.customers:,} customer(s) did not "
                      f"converge: {fit.message} (set clv.enabled: false to skip CLV)")


def _params_text(fit: fitting.FittedModel) -> str:
    params = ", ".join(f"{name} {value:.4g}" for name, value in fit.params.items())
    return f"{params}, log-likelihood {fit.log_likelihood:.1f}"


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None


def validate_holdout(wh: Warehouse, settings: Settings, calibration_end: dt.date,
                     holdout_end: dt.date, run_id: str) -> list[ModelValidation]:
    """`rfm-spark clv-validate`: both purchase models fitted on the staged counted orders up
    to `calibration_end`, checked against the purchase occasions up to `holdout_end`; the
    results appended to audit/clv_validation. Exit 1 when no model converges."""
    if holdout_end <= calibration_end:
        raise ConfigError(f"--holdout-end: {holdout_end} is not after --calibration-end "
                          f"{calibration_end}")
    if not wh.exists(STAGED_ORDERS):
        raise ConfigError(f"--warehouse: no staged orders in {wh.settings.dir} (run "
                          "`rfm-spark run` first)")
    orders, items = wh.read(STAGED_ORDERS), wh.read(STAGED_ORDER_ITEMS)
    occasions = purchase_occasions(orders, items, holdout_end, settings.rfm.counted_status)
    with persisted(occasions) as occasions:
        rows = [tuple(r) for r in holdout_groups(occasions, calibration_end, holdout_end)
                .collect()]
        if not rows:
            raise ConfigError(f"--calibration-end: no counted orders on or before "
                              f"{calibration_end}")
        validations = validate(rows, (holdout_end - calibration_end).days
                               / fitting.DAYS_PER_WEEK)
        weekly = _tracking_rows(occasions, rows, validations, calibration_end, holdout_end,
                                run_id)
    results = [(run_id, b.model, calibration_end, holdout_end, b.bucket, b.customers,
                b.actual_purchases, b.predicted_purchases, b.mae, b.correlation)
               for v in validations for b in v.buckets]
    if results:
        write(wh, VALIDATION_LOG, wh.spark.createDataFrame(results, CLV_VALIDATION))
        write(wh, TRACKING_LOG, wh.spark.createDataFrame(weekly, CLV_VALIDATION_TRACKING))
    if not results:
        reasons = "; ".join(f"{v.fit.model}: {v.fit.message}" for v in validations)
        raise DataQualityError(f"no CLV model converged on the orders up to "
                               f"{calibration_end}: {reasons}")
    return validations


def _tracking_rows(occasions: DataFrame, holdout_rows: list[tuple],
                   validations: list[ModelValidation], calibration_end: dt.date,
                   holdout_end: dt.date, run_id: str) -> list[tuple]:
    """audit/clv_validation_tracking rows of every converged model."""
    fitted = [v.fit for v in validations if v.buckets]
    if not fitted:
        return []
    cohorts = tracking.cohorts(holdout_rows, calibration_end)
    repeats = tracking.weekly_repeats(occasions, calibration_end, holdout_end)
    return [(run_id, fit.model, calibration_end, holdout_end, p.week_end, p.actual_cumulative,
             p.predicted_cumulative)
            for fit in fitted
            for p in tracking.tracking(fit.model, fit.params, cohorts, repeats,
                                       calibration_end, holdout_end)]

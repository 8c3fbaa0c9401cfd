"""Intermediate models and marts, built after staging.

customer_order_summary is maintained incrementally: only customers whose orders changed
(any customer an order ever belonged to) or who have counted orders between the previous
and the new as_of are recomputed, from their staged orders, and MERGEd in; never by adding
new totals to old ones. Scores and marts are then recomputed from the whole summary (ntile
needs every customer, and customers are far fewer than orders). The marts are checked
before they are published, so a failed error rule leaves the previous marts in place.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.config import Settings
from rfm_spark.intermediate.customer_order_summary import customer_order_summary
from rfm_spark.intermediate.rfm_scores import rfm_scores
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import fmt_count, timed
from rfm_spark.marts.customer_segmentation import customer_segmentation
from rfm_spark.marts.top_customers import top_customers
from rfm_spark.materialize import persisted
from rfm_spark.quality.run import run_checks
from rfm_spark.runs import RunResult
from rfm_spark.staging.load import ORDER_VERSIONS

log = logging.getLogger("rfm_spark.models")
SUMMARY = "intermediate.customer_order_summary"
MARTS = ("marts.customer_segmentation", "marts.top_customers")


def summary_as_of(wh: Warehouse) -> dt.date | None:
    """The as_of the stored summary was built at (None: no summary, or an empty one)."""
    if not wh.exists(SUMMARY):
        return None
    row = wh.read(SUMMARY).select("as_of_date").limit(1).collect()
    return row[0]["as_of_date"] if row else None


def is_up_to_date(wh: Warehouse, as_of: dt.date) -> bool:
    return summary_as_of(wh) == as_of and all(wh.exists(name) for name in MARTS)


def build_models(wh: Warehouse, settings: Settings, result: RunResult, full_refresh: bool,
                 touched_orders: DataFrame | None) -> None:
    as_of = result.as_of
    rfm = settings.rfm
    top = settings.top_customers
    with timed() as elapsed:
        mode = _update_summary(wh, settings, as_of, full_refresh, touched_orders)
        rows = wh.read(SUMMARY).count()
        result.rows_written[SUMMARY] = rows
    log.info("%-36s %s, %s rows (%.1f s)", SUMMARY, mode, fmt_count(rows), elapsed())
    _write_model(wh, result, "intermediate.rfm_scores",
                 lambda: rfm_scores(wh.read(SUMMARY), as_of, rfm.ntile))
    run_checks(wh, settings, result, {name: wh.read(name) for name in
                                      (SUMMARY, "intermediate.rfm_scores")})

    with persisted(customer_segmentation(
        wh.read("intermediate.rfm_scores"), rfm.churn, rfm.behavioral_segments,
        rfm.behavioral_default, rfm.segments,
    )) as segmentation:
        marts = {
            "marts.customer_segmentation": segmentation,
            "marts.top_customers": top_customers(segmentation, top.n, top.activity,
                                                 top.high_value_min_monetary),
        }
        run_checks(wh, settings, result, marts)  # raises before anything is published
        for name, df in marts.items():
            _write_model(wh, result, name, lambda df=df: df)


def _update_summary(wh: Warehouse, settings: Settings, as_of: dt.date, full_refresh: bool,
                    touched_orders: DataFrame | None) -> str:
    counted = settings.rfm.counted_status
    orders, items = wh.read("staging.orders"), wh.read("staging.order_items")
    previous = None if full_refresh else summary_as_of(wh)
    if previous is None:
        wh.overwrite(customer_order_summary(orders, items, as_of, counted), SUMMARY)
        return "rebuilt"
    customers = orders.limit(0).select("customer_id")
    if touched_orders is not None:
        customers = wh.read(ORDER_VERSIONS).join(touched_orders, "order_id", "left_semi") \
            .select("customer_id")
    if previous != as_of:
        low, high = sorted((previous, as_of))
        in_window = ((F.col("status") == counted) & (F.col("order_date") > F.lit(low))
                     & (F.col("order_date") <= F.lit(high)))
        customers = customers.unionByName(orders.where(in_window).select("customer_id"))
    with persisted(customers.distinct()) as customers:
        their_orders = orders.join(customers, "customer_id", "left_semi")
        their_items = items.join(their_orders.select("order_id"), "order_id", "left_semi")
        recomputed = customer_order_summary(their_orders, their_items, as_of, counted)
        if previous == as_of:
            wh.merge_replace_groups(recomputed, SUMMARY, ["customer_id"], ["customer_id"],
                                    customers)
            return f"merged {fmt_count(customers.count())} touched customer(s)"
        kept = (wh.read(SUMMARY).join(customers, "customer_id", "left_anti")
                .withColumn("as_of_date", F.lit(as_of).cast("date")))
        wh.overwrite(kept.unionByName(recomputed), SUMMARY)
        return (f"as_of moved from {previous}: {fmt_count(customers.count())} customer(s) "
                "recomputed")


def _write_model(wh: Warehouse, result: RunResult, name: str,
                 build: Callable[[], DataFrame]) -> None:
    with timed() as elapsed:
        wh.overwrite(build(), name)
        rows = wh.read(name).count()
        result.rows_written[name] = rows
    log.info("%-36s wrote %s rows (%.1f s)", name, fmt_count(rows), elapsed())

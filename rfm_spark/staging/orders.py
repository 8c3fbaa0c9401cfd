"""staging/orders: typed orders with canonical status, latest version per order_id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from rfm_spark.config import normalise_status_text
from rfm_spark.functions import (
    canonical_id,
    is_unparsable,
    map_values,
    parse_timestamp,
    trimmed,
)
from rfm_spark.staging.cleansing import (
    TimeBounds,
    delivery_name,
    dq_reasons,
    latest_per_key,
    log_rows,
    parsed_once,
    with_raw,
)

REQUIRED = ("order_id", "customer_id", "order_ts", "status", "updated_at")
OPTIONAL: tuple[str, ...] = ()
KEYS = ("order_id",)
COLUMNS = ("order_id", "customer_id", "order_ts", "order_date", "status", "updated_at")


def status_lookup(status_map: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """{folded raw spelling: canonical status}; each canonical name maps to itself."""
    lookup = {normalise_status_text(s): s for s in status_map}
    for canonical, spellings in status_map.items():
        lookup.update({normalise_status_text(s): canonical for s in spellings})
    return lookup


def folded_status(c: str) -> Column:
    """Spark twin of config.normalise_status_text: trimmed, lower-case, one space."""
    return F.regexp_replace(F.lower(F.trim(F.col(c))), r"[\s_\-]+", " ")


def standardise_orders(
    raw: DataFrame,
    timestamp_formats: Sequence[str],
    status_map: Mapping[str, Sequence[str]],
    bounds: TimeBounds,
) -> DataFrame:
    """Typed orders with `_dq_reasons`, the raw row in `_raw` and its file in
    `_source_file`."""
    raw, parsed = parsed_once(raw, {
        "order_id": canonical_id("order_id"),
        "customer_id": canonical_id("customer_id"),
        "order_ts": parse_timestamp("order_ts", timestamp_formats),
        "updated_at": parse_timestamp("updated_at", timestamp_formats),
        "status": map_values(folded_status("status"), status_lookup(status_map)),
    })
    order_ts, updated_at, status = parsed["order_ts"], parsed["updated_at"], parsed["status"]
    checks = [
        (parsed["order_id"].isNull(), "missing_order_id"),
        (parsed["customer_id"].isNull(), "missing_customer_id"),
        (trimmed("order_ts").isNull(), "missing_order_ts"),
        (is_unparsable("order_ts", order_ts), "unparsable_order_ts"),
        (trimmed("status").isNull(), "missing_status"),
        (trimmed("status").isNotNull() & status.isNull(), "unknown_status"),
        (trimmed("updated_at").isNull(), "missing_updated_at"),
        (is_unparsable("updated_at", updated_at), "unparsable_updated_at"),
        *bounds.checks("order_ts", order_ts),
        *bounds.checks("updated_at", updated_at),
    ]
    return raw.select(
        parsed["order_id"].alias("order_id"),
        parsed["customer_id"].alias("customer_id"),
        order_ts.alias("order_ts"),
        F.to_date(order_ts).alias("order_date"),
        status.alias("status"),
        updated_at.alias("updated_at"),
        dq_reasons(checks, REQUIRED),
        *with_raw(REQUIRED),
    )


VERSION_COLUMNS = (*COLUMNS, "_delivery", "_source_file")


def order_versions(checked: DataFrame) -> DataFrame:
    """The order versions log: every delivered order row (rejected ones with their reasons,
    cleansing.as_logged), with the delivery it came in. Order lines pair with the accepted
    versions, the customers an order ever belonged to are known from them, and the latest
    one of each order is staged."""
    return log_rows(checked.withColumn("_delivery", delivery_name()), VERSION_COLUMNS)


def latest_orders(accepted: DataFrame) -> DataFrame:
    return latest_per_key(accepted, KEYS, [F.col("updated_at").desc()], COLUMNS)

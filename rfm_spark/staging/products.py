"""staging/products: typed products, latest version per product_id."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.functions import (
    canonical_id,
    is_unparsable,
    parse_decimal,
    parse_timestamp,
    squash_spaces,
    trimmed,
)
from rfm_spark.staging.cleansing import (
    TimeBounds,
    dq_reasons,
    latest_per_key,
    log_rows,
    parsed_once,
    with_raw,
)

REQUIRED = ("product_id", "product_name", "category", "list_price", "updated_at")
OPTIONAL: tuple[str, ...] = ()
KEYS = ("product_id",)
COLUMNS = ("product_id", "product_name", "category", "list_price", "updated_at")


def standardise_products(raw: DataFrame, timestamp_formats: Sequence[str],
                         bounds: TimeBounds) -> DataFrame:
    """Typed products with `_dq_reasons`, the raw row in `_raw` and its file in
    `_source_file`."""
    raw, parsed = parsed_once(raw, {
        "product_id": canonical_id("product_id"),
        "list_price": parse_decimal("list_price"),
        "updated_at": parse_timestamp("updated_at", timestamp_formats),
    })
    list_price, updated_at = parsed["list_price"], parsed["updated_at"]
    checks = [
        (parsed["product_id"].isNull(), "missing_product_id"),
        (is_unparsable("list_price", list_price), "unparsable_list_price"),
        (list_price < 0, "negative_list_price"),
        (trimmed("updated_at").isNull(), "missing_updated_at"),
        (is_unparsable("updated_at", updated_at), "unparsable_updated_at"),
        *bounds.checks("updated_at", updated_at),
    ]
    return raw.select(
        parsed["product_id"].alias("product_id"),
        squash_spaces("product_name").alias("product_name"),
        F.initcap(squash_spaces("category")).alias("category"),
        list_price.alias("list_price"),
        updated_at.alias("updated_at"),
        dq_reasons(checks, REQUIRED),
        *with_raw(REQUIRED),
    )


VERSION_COLUMNS = (*COLUMNS, "_source_file")


def product_versions(checked: DataFrame) -> DataFrame:
    """The products version log: every delivered product row with its file (rejected ones
    with their reasons, cleansing.as_logged)."""
    return log_rows(checked, VERSION_COLUMNS)


def latest_products(accepted: DataFrame) -> DataFrame:
    return latest_per_key(accepted, KEYS, [F.col("updated_at").desc()], COLUMNS)

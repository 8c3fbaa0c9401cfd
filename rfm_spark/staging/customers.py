"""staging/customers: typed, trimmed customers, latest version per customer_id."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark.functions import (
    canonical_id,
    is_unparsable,
    parse_bool,
    parse_date,
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

REQUIRED = ("customer_id", "first_name", "last_name", "email", "city", "country",
            "signup_date", "updated_at")
OPTIONAL = ("is_deleted",)
KEYS = ("customer_id",)
COLUMNS = ("customer_id", "first_name", "last_name", "email", "is_valid_email", "city",
           "country", "signup_date", "updated_at", "is_deleted")
# attributes a customers_history may track
TRACKABLE = tuple(c for c in COLUMNS if c not in (*KEYS, "updated_at", "is_deleted"))


def standardise_customers(
    raw: DataFrame,
    timestamp_formats: Sequence[str],
    date_formats: Sequence[str],
    email_pattern: str,
    bounds: TimeBounds,
) -> DataFrame:
    """Typed customers with `_dq_reasons`, the raw row in `_raw` and its file in
    `_source_file`."""
    raw, parsed = parsed_once(raw, {
        "customer_id": canonical_id("customer_id"),
        "email": F.lower(trimmed("email")),
        "signup_date": parse_date("signup_date", date_formats),
        "updated_at": parse_timestamp("updated_at", timestamp_formats),
        "is_deleted": parse_bool("is_deleted"),
    })
    email, signup_date = parsed["email"], parsed["signup_date"]
    updated_at, is_deleted = parsed["updated_at"], parsed["is_deleted"]
    checks = [
        (parsed["customer_id"].isNull(), "missing_customer_id"),
        (trimmed("updated_at").isNull(), "missing_updated_at"),
        (is_unparsable("updated_at", updated_at), "unparsable_updated_at"),
        (is_unparsable("signup_date", signup_date), "unparsable_signup_date"),
        (is_unparsable("is_deleted", is_deleted), "unparsable_is_deleted"),
        *bounds.checks("updated_at", updated_at),
        *bounds.checks("signup_date", signup_date),
    ]
    return raw.select(
        parsed["customer_id"].alias("customer_id"),
        squash_spaces("first_name").alias("first_name"),
        squash_spaces("last_name").alias("last_name"),
        email.alias("email"),
        F.coalesce(email.rlike(email_pattern), F.lit(False)).alias("is_valid_email"),
        F.initcap(squash_spaces("city")).alias("city"),
        F.upper(trimmed("country")).alias("country"),
        signup_date.alias("signup_date"),
        updated_at.alias("updated_at"),
        F.coalesce(is_deleted, F.lit(False)).alias("is_deleted"),
        dq_reasons(checks, (*REQUIRED, *OPTIONAL)),
        *with_raw((*REQUIRED, *OPTIONAL)),
    )


VERSION_COLUMNS = (*COLUMNS, "_source_file")


def customer_versions(checked: DataFrame) -> DataFrame:
    """The customer versions log: every delivered customer row with its file (rejected ones
    with their reasons, cleansing.as_logged). Its accepted rows are the source of
    customers_history and of staging.customers."""
    return log_rows(checked, VERSION_COLUMNS)


def latest_customers(accepted: DataFrame) -> DataFrame:
    """One row per customer_id: the greatest updated_at wins."""
    return latest_per_key(accepted, KEYS, [F.col("updated_at").desc()], COLUMNS)

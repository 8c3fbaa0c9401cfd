"""What the configuration must satisfy beyond its types: ranges, enumerations, the segment
grid, and the names of tables and columns, checked against the table catalog (given by
rfm_spark/registry.py; the configuration never imports the models)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from rfm_spark.config.guards import check_catalog_name, check_java_regex
from rfm_spark.config.quality import validate_quality
from rfm_spark.config.schema import (
    CANONICAL_STATUSES,
    CLV_MODELS,
    RAW_FORMATS,
    ClvSettings,
    SegmentCell,
    Settings,
    normalise_status_text,
)
from rfm_spark.errors import ConfigError


@dataclass(frozen=True)
class TableCatalog:
    """The tables a configuration may name, as the registry declares them."""

    tables: tuple[str, ...]  # every table of the warehouse
    checkable: Mapping[str, tuple[str, ...]]  # tables data-quality rules may name: columns
    raw_tables: tuple[str, ...]
    trackable_customer_columns: tuple[str, ...]  # what customers_history may track


def _parse_date(value: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"config key '{key}': expected a date YYYY-MM-DD, got {value!r}") from None


def validate_settings(s: Settings, catalog: TableCatalog) -> None:
    """Checks that need more than a type: ranges, enumerations, the segment grid, names."""
    if s.as_of not in ("latest_order", "run_date"):
        _parse_date(s.as_of, "as_of")
    if s.raw.schema_drift not in ("ignore", "fail"):
        raise ConfigError(f"config key 'raw.schema_drift': expected ignore or fail, got "
                          f"{s.raw.schema_drift!r}")
    for table, spec in s.raw.tables.items():
        if table not in catalog.raw_tables:
            raise ConfigError(f"unknown config key 'raw.tables.{table}' (raw tables: "
                              f"{', '.join(catalog.raw_tables)})")
        if spec.format not in RAW_FORMATS:
            raise ConfigError(f"config key 'raw.tables.{table}.format': expected one of "
                              f"{', '.join(RAW_FORMATS)}, got {spec.format!r}")
        if spec.format == "table" and not spec.path:
            raise ConfigError(f"missing config key 'raw.tables.{table}.path' (a table name)")
        if spec.format == "table":
            check_catalog_name(spec.path, f"raw.tables.{table}.path")
    for name, catalog_name in s.warehouse.tables.items():
        if name not in catalog.tables:
            raise ConfigError(f"unknown config key 'warehouse.tables.{name}' (tables: "
                              f"{', '.join(catalog.tables)})")
        check_catalog_name(catalog_name, f"warehouse.tables.{name}")
    if s.warehouse.catalog_schema is not None:
        check_catalog_name(s.warehouse.catalog_schema, "warehouse.catalog_schema", (1, 2))
    if s.spark.shuffle_partition_mb < 0:
        raise ConfigError("config key 'spark.shuffle_partition_mb': expected >= 0 (0 keeps "
                          f"spark.sql.shuffle.partitions), got {s.spark.shuffle_partition_mb}")
    if s.spark.interpreted_below_mb < 0:
        raise ConfigError("config key 'spark.interpreted_below_mb': expected >= 0 (0 always "
                          f"compiles generated code), got {s.spark.interpreted_below_mb}")
    if s.spark.client_compiler_below_mb < 0:
        raise ConfigError("config key 'spark.client_compiler_below_mb': expected >= 0 (0 "
                          f"never), got {s.spark.client_compiler_below_mb}")
    if s.quality.kept_failures_from_mb < 0:
        raise ConfigError("config key 'quality.kept_failures_from_mb': expected >= 0 (0 keeps "
                          f"the failures of every table), got {s.quality.kept_failures_from_mb}")
    st = s.staging
    if not st.timestamp_formats:
        raise ConfigError("config key 'staging.timestamp_formats': needs at least one format")
    if not st.date_formats:
        raise ConfigError("config key 'staging.date_formats': needs at least one format")
    for status in st.status_map:
        if status not in CANONICAL_STATUSES:
            raise ConfigError(f"config key 'staging.status_map.{status}': not a canonical "
                              f"status ({', '.join(CANONICAL_STATUSES)})")
    # a canonical name always means itself: listed under another status it would re-map it
    seen: dict[str, str] = {normalise_status_text(s): s for s in CANONICAL_STATUSES}
    for status, spellings in st.status_map.items():
        for spelling in spellings:
            folded = normalise_status_text(spelling)
            if folded in seen and seen[folded] != status:
                raise ConfigError(f"config key 'staging.status_map.{status}': spelling "
                                  f"{spelling!r} is also mapped to {seen[folded]!r}")
            seen[folded] = status
    check_java_regex(st.email_pattern, "staging.email_pattern")
    _parse_date(st.earliest_date, "staging.earliest_date")
    if st.future_tolerance_days < 0:
        raise ConfigError("config key 'staging.future_tolerance_days': expected >= 0, got "
                          f"{st.future_tolerance_days}")
    rfm = s.rfm
    _one_of(rfm.counted_status, CANONICAL_STATUSES, "rfm.counted_status")
    if not 2 <= rfm.ntile <= 9:
        raise ConfigError(f"config key 'rfm.ntile': expected 2..9 (one digit per score), "
                          f"got {rfm.ntile}")
    if not 0 <= rfm.churn.active_max_days < rfm.churn.at_risk_max_days:
        raise ConfigError("config key 'rfm.churn': need 0 <= active_max_days < at_risk_max_days")
    for i, rule in enumerate(rfm.behavioral_segments):
        if rule.min_frequency is None and rule.min_monetary is None:
            raise ConfigError(f"config key 'rfm.behavioral_segments[{i}]': give min_frequency "
                              "or min_monetary (the default segment is behavioral_default)")
    validate_segment_grid(rfm.segments, rfm.ntile)
    top = s.top_customers
    if top.n < 1:
        raise ConfigError(f"config key 'top_customers.n': expected at least 1, got {top.n}")
    if not 0 <= top.activity.highly_active_max_days < top.activity.active_max_days:
        raise ConfigError("config key 'top_customers.activity': need 0 <= "
                          "highly_active_max_days < active_max_days")
    trackable = catalog.trackable_customer_columns
    for column in s.snapshots.customer_tracked_columns:
        if column not in trackable:
            raise ConfigError(f"config key 'snapshots.customer_tracked_columns': {column!r} "
                              f"cannot be tracked (choose from {', '.join(trackable)})")
    if not s.snapshots.customer_tracked_columns:
        raise ConfigError("config key 'snapshots.customer_tracked_columns': track at least one")
    if s.snapshots.segment_history_step_days < 1:
        raise ConfigError("config key 'snapshots.segment_history_step_days': at least 1")
    sample = s.sample
    start = _parse_date(sample.start, "sample.start")
    end = _parse_date(sample.end, "sample.end")
    if end < start:
        raise ConfigError("config key 'sample.end': must not be before sample.start")
    if not 0 <= sample.dirty_rate <= 0.5:
        raise ConfigError(f"config key 'sample.dirty_rate': expected 0..0.5, "
                          f"got {sample.dirty_rate}")
    if sample.customers < 1 or sample.orders < 0:
        raise ConfigError("config key 'sample': customers must be >= 1 and orders >= 0")
    validate_clv(s.clv)
    validate_quality(s.quality, catalog.checkable)


def _one_of(value: str, options: tuple[str, ...], key: str) -> None:
    if value not in options:
        raise ConfigError(f"config key '{key}': expected one of {', '.join(options)}, "
                          f"got {value!r}")


def validate_clv(clv: ClvSettings) -> None:
    _one_of(clv.model, CLV_MODELS, "clv.model")
    if not 1 <= clv.horizon_months <= 120:
        raise ConfigError(f"config key 'clv.horizon_months': expected 1..120, got "
                          f"{clv.horizon_months}")
    if not 0 <= clv.discount_rate_monthly < 1:
        raise ConfigError(f"config key 'clv.discount_rate_monthly': expected 0 <= rate < 1, "
                          f"got {clv.discount_rate_monthly}")
    bands = clv.p_alive_bands
    if not 0 <= bands.likely_lapsed <= bands.likely_alive <= 1:
        raise ConfigError("config key 'clv.p_alive_bands': need 0 <= likely_lapsed <= "
                          f"likely_alive <= 1, got {bands.likely_lapsed} and "
                          f"{bands.likely_alive}")


def validate_segment_grid(segments: list[SegmentCell], ntile: int) -> None:
    """Every (R, F) cell in 1..ntile x 1..ntile must belong to exactly one named segment."""
    owner: dict[tuple[int, int], str] = {}
    for i, seg in enumerate(segments):
        key = f"rfm.segments[{i}]"
        for axis, bounds in (("r", seg.r), ("f", seg.f)):
            if len(bounds) != 2 or not 1 <= bounds[0] <= bounds[1] <= ntile:
                raise ConfigError(f"config key '{key}.{axis}': expected [low, high] within "
                                  f"1..{ntile}, got {bounds}")
        for r in range(seg.r[0], seg.r[1] + 1):
            for f in range(seg.f[0], seg.f[1] + 1):
                if (r, f) in owner:
                    raise ConfigError(f"config key '{key}': segment {seg.name!r} overlaps "
                                      f"{owner[(r, f)]!r} at R{r}/F{f}")
                owner[(r, f)] = seg.name
    gaps = [f"R{r}/F{f}" for r in range(1, ntile + 1) for f in range(1, ntile + 1)
            if (r, f) not in owner]
    if gaps:
        raise ConfigError(f"config key 'rfm.segments': cells not covered by any segment: "
                          f"{', '.join(gaps)}")

"""Load conf/*.yaml once, merge the environment overlay onto base.yaml, validate it.

The schema is the dataclasses below: an unknown key, a wrong type or a missing value
raises ConfigError naming the key (exit code 2). Business rules are checked here too
(the segment grid must cover every R x F cell exactly once), so a bad map never
reaches Spark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rfm_spark.config_guards import (
    REMOVED_KEYS,
    check_catalog_name,
    check_java_regex,
    load_yaml_text,
    require_finite,
)
from rfm_spark.errors import ConfigError

RAW_TABLES = ("customers", "products", "orders", "order_items")
RAW_FORMATS = ("csv", "parquet", "json", "delta", "table")
CANONICAL_STATUSES = ("completed", "cancelled", "returned", "in_progress")
DEFAULT_CONFIG = "local.yaml"


@dataclass(frozen=True)
class SparkSettings:
    app_name: str = "rfm_spark"
    master: str | None = "local[*]"
    delta_from_maven: bool = True
    log_level: str = "WARN"
    conf: dict[str, str] = field(default_factory=dict)
    # sc://host:port of a Spark Connect server (the SPARK_REMOTE environment variable wins)
    remote: str | None = None


@dataclass(frozen=True)
class RawTable:
    format: str = "csv"
    path: str | None = None


@dataclass(frozen=True)
class RawSettings:
    dir: str = "./data/raw"
    # A raw file with an extra column, or without an optional one: `ignore` (read what is
    # there, log it) or `fail` (exit 2 naming the file and the column).
    schema_drift: str = "ignore"
    tables: dict[str, RawTable] = field(default_factory=dict)


@dataclass(frozen=True)
class WarehouseSettings:
    dir: str = "./data/warehouse"
    # Catalog mode: every table becomes `<catalog_schema>.<layer>_<table>` (for example
    # main.rfm -> main.rfm.marts_top_customers) unless `tables` names it.
    catalog_schema: str | None = None
    tables: dict[str, str] = field(default_factory=dict)
    # Delta table properties given to every table the pipeline creates, audit tables
    # excepted (existing tables keep theirs).
    table_properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StagingRules:
    timestamp_formats: list[str]
    date_formats: list[str]
    status_map: dict[str, list[str]]
    email_pattern: str
    # Timestamps and dates before this day, or later than the run's time plus this many
    # days, are quarantined (a 9999-12-31 order would otherwise move as_of for everyone).
    earliest_date: str = "1990-01-01"
    future_tolerance_days: int = 1


@dataclass(frozen=True)
class ChurnRules:
    active_max_days: int
    at_risk_max_days: int


@dataclass(frozen=True)
class BehavioralRule:
    name: str
    min_frequency: int | None = None
    min_monetary: float | None = None


@dataclass(frozen=True)
class SegmentCell:
    name: str
    r: list[int]
    f: list[int]


@dataclass(frozen=True)
class RfmRules:
    counted_status: str
    ntile: int
    churn: ChurnRules
    behavioral_segments: list[BehavioralRule]
    behavioral_default: str
    segments: list[SegmentCell]


@dataclass(frozen=True)
class ActivityRules:
    highly_active_max_days: int
    active_max_days: int


@dataclass(frozen=True)
class TopCustomerRules:
    n: int
    activity: ActivityRules
    high_value_min_monetary: float


@dataclass(frozen=True)
class SampleSettings:
    customers: int = 1000
    orders: int = 10000
    seed: int = 42
    start: str = "2024-01-01"
    end: str = "2024-12-31"
    dirty_rate: float = 0.02


@dataclass(frozen=True)
class SnapshotSettings:
    customer_tracked_columns: list[str] = field(
        default_factory=lambda: ["first_name", "last_name", "email", "city", "country"])
    segment_history_step_days: int = 7


@dataclass(frozen=True)
class QualityRule:
    """One data-quality rule; which fields apply depends on `type` (see quality/rules.py)."""

    type: str
    column: str | None = None
    columns: list[str] | None = None
    severity: str = "error"
    name: str | None = None
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    to: str | None = None
    field: str | None = None
    max_age_days: int | None = None
    relative_to: str = "as_of"
    error_if: str | None = None
    warn_if: str | None = None

    @property
    def target_columns(self) -> list[str]:
        return list(self.columns or ([self.column] if self.column else []))

    @property
    def rule_name(self) -> str:
        """dbt-style name: <type>_<columns>, unless the rule names itself."""
        return self.name or "_".join([self.type, *self.target_columns])


@dataclass(frozen=True)
class QualityTable:
    key: list[str] = field(default_factory=list)
    rules: list[QualityRule] = field(default_factory=list)


@dataclass(frozen=True)
class QualitySettings:
    tables: dict[str, QualityTable] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    as_of: str
    spark: SparkSettings
    raw: RawSettings
    warehouse: WarehouseSettings
    staging: StagingRules
    rfm: RfmRules
    top_customers: TopCustomerRules
    sample: SampleSettings
    quality: QualitySettings = field(default_factory=QualitySettings)
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)
    source: str = "<defaults>"

    def raw_table(self, table: str) -> RawTable:
        """Format and location of one raw table (default: CSV under raw.dir/<table>)."""
        spec = self.raw.tables.get(table, RawTable())
        path = spec.path or str(Path(self.raw.dir) / table)
        return RawTable(format=spec.format, path=path)


# --------------------------------------------------------------------------- loading


def packaged_conf_dir() -> Path | resources.abc.Traversable:
    """conf/ as shipped: `rfm_spark._conf` in a wheel, the repository's conf/ in a checkout."""
    try:
        return resources.files("rfm_spark._conf")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[1] / "conf"


def resolve_config_path(path: str | None) -> Path | resources.abc.Traversable:
    """The config file to load: the given path, else ./conf/local.yaml, else the packaged copy."""
    if path:
        candidate = Path(path)
        if not candidate.is_file():
            raise ConfigError(f"--config: no such file: {path}")
        return candidate
    local = Path("conf") / DEFAULT_CONFIG
    if local.is_file():
        return local
    return packaged_conf_dir() / DEFAULT_CONFIG


def _read_yaml(source: Any, label: str) -> dict:
    data = load_yaml_text(source.read_bytes(), label) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: the top level must be a mapping of keys")
    return data


def _load_with_parents(source: Any, label: str, seen: tuple[str, ...] = ()) -> dict:
    data = _read_yaml(source, label)
    parent_name = data.pop("inherits", None)
    if parent_name is None:
        return data
    if not isinstance(parent_name, str):
        raise ConfigError(f"{label}: key 'inherits' must be a file name")
    if parent_name in seen:
        raise ConfigError(f"{label}: key 'inherits' makes a cycle through {parent_name}")
    parent = source.parent / parent_name if isinstance(source, Path) else None
    if parent is None:  # packaged copy: siblings live in the same package folder
        parent = packaged_conf_dir() / parent_name
    if not parent.is_file():
        raise ConfigError(f"{label}: key 'inherits' names a missing file: {parent_name}")
    return deep_merge(_load_with_parents(parent, str(parent), seen + (parent_name,)), data)


def deep_merge(base: dict, overlay: dict) -> dict:
    """Overlay wins key by key; nested mappings merge, everything else is replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(path: str | None = None, overrides: dict | None = None) -> Settings:
    """Load, merge and validate the configuration; `overrides` are CLI flags (dotted keys)."""
    source = resolve_config_path(path)
    data = _load_with_parents(source, str(source))
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    settings = settings_from_dict(data)
    return dataclasses.replace(settings, source=str(source))


def settings_from_dict(data: dict) -> Settings:
    from rfm_spark.quality.rules import validate_quality

    settings = _build(Settings, data, "")
    validate_rules(settings)
    validate_quality(settings.quality)
    return settings


# ------------------------------------------------------------------ typed validation


def _type_name(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "null")


def _build(tp: Any, value: Any, key: str) -> Any:
    """Turn YAML data into the annotated type `tp`, or raise ConfigError naming `key`."""
    where = key or "the top level"
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [t for t in options if t is not type(None)]
        return _build(inner[0], value, key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{where}': expected a mapping, got {value!r}")
        hints = typing.get_type_hints(tp)
        known = {f.name: f for f in dataclasses.fields(tp) if f.name != "source"}
        unknown = sorted(set(value) - set(known))
        if unknown:
            name = f"{key}.{unknown[0]}" if key else unknown[0]
            hint = f": {REMOVED_KEYS[name]}" if name in REMOVED_KEYS else ""
            raise ConfigError(f"unknown config key '{name}'{hint}")
        kwargs = {}
        for name, fld in known.items():
            sub = f"{key}.{name}" if key else name
            if name in value:
                kwargs[name] = _build(hints[name], value[name], sub)
            elif (
                fld.default is dataclasses.MISSING
                and fld.default_factory is dataclasses.MISSING
            ):
                raise ConfigError(f"missing config key '{sub}'")
        return tp(**kwargs)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key '{where}': expected a list, got {value!r}")
        return [_build(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{where}': expected a mapping, got {value!r}")
        return {str(k): _build(item, v, f"{key}.{k}") for k, v in value.items()}
    # Spark settings, thresholds and accepted values are text; accept 8 for "8".
    textual = key.startswith("spark.conf.") or key.endswith(("error_if", "warn_if", "]"))
    if tp is str and textual and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if tp is str and isinstance(value, bool) and key.endswith("]"):
        return str(value).lower()  # accepted values: [true] means "true"
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, float):
        return require_finite(value, where)
    if tp is str and isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(
            f"config key '{where}': expected {_type_name(tp)}, got {value!r}"
        )
    return value


def _parse_date(value: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"config key '{key}': expected a date YYYY-MM-DD, got {value!r}") from None


def validate_rules(s: Settings) -> None:
    """Checks that need more than a type: ranges, enumerations, the segment grid."""
    if s.as_of not in ("latest_order", "run_date"):
        _parse_date(s.as_of, "as_of")
    if s.raw.schema_drift not in ("ignore", "fail"):
        raise ConfigError(f"config key 'raw.schema_drift': expected ignore or fail, got "
                          f"{s.raw.schema_drift!r}")
    for table, spec in s.raw.tables.items():
        if table not in RAW_TABLES:
            raise ConfigError(f"unknown config key 'raw.tables.{table}' (raw tables: "
                              f"{', '.join(RAW_TABLES)})")
        if spec.format not in RAW_FORMATS:
            raise ConfigError(f"config key 'raw.tables.{table}.format': expected one of "
                              f"{', '.join(RAW_FORMATS)}, got {spec.format!r}")
        if spec.format == "table" and not spec.path:
            raise ConfigError(f"missing config key 'raw.tables.{table}.path' (a table name)")
        if spec.format == "table":
            check_catalog_name(spec.path, f"raw.tables.{table}.path")
    for name, catalog_name in s.warehouse.tables.items():
        if name not in TABLE_NAMES:
            raise ConfigError(f"unknown config key 'warehouse.tables.{name}' (tables: "
                              f"{', '.join(TABLE_NAMES)})")
        check_catalog_name(catalog_name, f"warehouse.tables.{name}")
    if s.warehouse.catalog_schema is not None:
        check_catalog_name(s.warehouse.catalog_schema, "warehouse.catalog_schema", (1, 2))
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
    if rfm.counted_status not in CANONICAL_STATUSES:
        raise ConfigError(f"config key 'rfm.counted_status': expected one of "
                          f"{', '.join(CANONICAL_STATUSES)}, got {rfm.counted_status!r}")
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
    from rfm_spark.staging.customers import TRACKABLE

    for column in s.snapshots.customer_tracked_columns:
        if column not in TRACKABLE:
            raise ConfigError(f"config key 'snapshots.customer_tracked_columns': {column!r} "
                              f"cannot be tracked (choose from {', '.join(TRACKABLE)})")
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


def normalise_status_text(text: str) -> str:
    """How raw statuses are folded before lookup (kept in Python and in Spark alike)."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


TABLE_NAMES = (
    *(f"staging.{t}" for t in RAW_TABLES),
    *(f"quarantine.{t}" for t in RAW_TABLES),
    "staging.order_versions",
    "staging.product_versions",
    "staging.order_item_versions",
    "audit.processed_files",
    "staging.customer_versions",
    "marts.segment_migration",
    "intermediate.customer_order_summary",
    "intermediate.rfm_scores",
    "marts.customer_segmentation",
    "marts.top_customers",
    "snapshots.customers_history",
    "snapshots.customer_segment_history",
    "audit.dq_results",
    "audit.pipeline_runs",
)

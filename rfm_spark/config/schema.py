"""The configuration's schema: one frozen dataclass per section of conf/*.yaml.

Loading (rfm_spark/config/loading.py) turns YAML into these types, naming the key of any
unknown, missing or mistyped value; rfm_spark/config/rules.py checks what a type cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

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
    # A run's shuffle partitions: one per this many MB of raw files in the landing, at least
    # 2 and at most the session's spark.sql.shuffle.partitions; 0 keeps the session's value.
    shuffle_partition_mb: int = 24
    # Below this many MB of raw files in the landing, a run evaluates expressions interpreted
    # instead of compiling generated code for every query; 0 always compiles.
    interpreted_below_mb: int = 4
    # A local session started for one command over less than this many MB (`run`: the
    # landing's raw files; `report`: the warehouse's files), as `make run` starts them, runs
    # its JVM with the client compiler (C1) only; 0 never.
    client_compiler_below_mb: int = 4


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
class PAliveBands:
    likely_lapsed: float = 0.3  # p_alive below: Likely Lapsed
    likely_alive: float = 0.7  # p_alive at or above: Likely Alive


CLV_MODELS = ("bgnbd", "pareto_nbd")


@dataclass(frozen=True)
class ClvSettings:
    """Customer lifetime value (CONTRACT section 4)."""

    enabled: bool = True
    model: str = "bgnbd"  # which purchase model gives p_alive and expected_purchases
    horizon_months: int = 12
    discount_rate_monthly: float = 0.01
    p_alive_bands: PAliveBands = field(default_factory=PAliveBands)


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
    # A staging table whose raw files in the landing hold at least this many MB keeps the
    # failing rows of its unique and relationships rules, and an incremental run re-checks
    # only the keys it changed; a smaller one is checked whole, which costs it less. 0: all.
    kept_failures_from_mb: int = 64


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
    clv: ClvSettings = field(default_factory=ClvSettings)
    source: str = "<defaults>"

    def raw_table(self, table: str) -> RawTable:
        """Format and location of one raw table (default: CSV under raw.dir/<table>)."""
        spec = self.raw.tables.get(table, RawTable())
        path = spec.path or str(Path(self.raw.dir) / table)
        return RawTable(format=spec.format, path=path)


def normalise_status_text(text: str) -> str:
    """How raw statuses are folded before lookup (kept in Python and in Spark alike)."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())

"""The configuration: its schema (schema.py), loading and merging YAML (loading.py), what it
must satisfy (rules.py, quality.py) and guards against hostile files (guards.py). The
configuration never imports the models: names of tables and columns are checked against the
TableCatalog the registry gives (rfm_spark.registry.CATALOG)."""

from rfm_spark.config.loading import load_settings, settings_from_dict
from rfm_spark.config.rules import TableCatalog, validate_segment_grid
from rfm_spark.config.schema import (
    CANONICAL_STATUSES,
    RAW_FORMATS,
    ActivityRules,
    BehavioralRule,
    ChurnRules,
    QualityRule,
    QualitySettings,
    QualityTable,
    RawSettings,
    RawTable,
    RfmRules,
    SampleSettings,
    SegmentCell,
    Settings,
    SnapshotSettings,
    SparkSettings,
    StagingRules,
    TopCustomerRules,
    WarehouseSettings,
    normalise_status_text,
)

__all__ = [
    "CANONICAL_STATUSES", "RAW_FORMATS", "ActivityRules", "BehavioralRule", "ChurnRules",
    "QualityRule", "QualitySettings", "QualityTable", "RawSettings", "RawTable", "RfmRules",
    "SampleSettings", "SegmentCell", "Settings", "SnapshotSettings", "SparkSettings",
    "StagingRules", "TableCatalog", "TopCustomerRules", "WarehouseSettings", "load_settings",
    "normalise_status_text", "settings_from_dict", "validate_segment_grid",
]

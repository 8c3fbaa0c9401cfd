"""Schemas of the audit tables the runner writes (declared in rfm_spark/registry.py)."""

from __future__ import annotations

from pyspark.sql import types as T

# audit.pipeline_runs: one row per run
PIPELINE_RUNS = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("as_of_date", T.DateType()),
    T.StructField("started_at", T.TimestampType()),
    T.StructField("finished_at", T.TimestampType()),
    T.StructField("status", T.StringType()),
    T.StructField("message", T.StringType()),
    T.StructField("full_refresh", T.BooleanType()),
    T.StructField("table_counts", T.ArrayType(T.StructType([
        T.StructField("table", T.StringType()),
        T.StructField("files_read", T.LongType()),
        T.StructField("rows_read", T.LongType()),
        T.StructField("rows_quarantined", T.LongType()),
        T.StructField("rows_accepted", T.LongType()),
        T.StructField("keys_in_staging", T.LongType()),
    ]))),
    T.StructField("rows_written", T.MapType(T.StringType(), T.LongType())),
    T.StructField("table_versions", T.MapType(T.StringType(), T.LongType())),
    T.StructField("missing_files", T.ArrayType(T.StringType())),
])

# audit.processed_files: the checkpoint, one row per raw file read
PROCESSED_FILES = T.StructType([
    T.StructField("table", T.StringType(), False),
    T.StructField("path", T.StringType(), False),
    T.StructField("file_name", T.StringType()),
    T.StructField("size", T.LongType()),
    T.StructField("modified", T.LongType()),
    T.StructField("run_id", T.StringType()),
    T.StructField("processed_at", T.TimestampType()),
])

# audit.dq_results: one row per data-quality rule per run
QUALITY_RESULTS = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("table", T.StringType()),
    T.StructField("rule", T.StringType()),
    T.StructField("column", T.StringType()),
    T.StructField("severity", T.StringType()),
    T.StructField("status", T.StringType()),
    T.StructField("failed_rows", T.LongType()),
    T.StructField("total_rows", T.LongType()),
    T.StructField("passed", T.BooleanType()),
    T.StructField("failing_keys_sample", T.ArrayType(T.StringType())),
    T.StructField("detail", T.StringType()),
    T.StructField("checked_at", T.TimestampType()),
])

# audit.dq_failing_rows: the failing rows of the staging tables' unique and relationships
# rules as the latest check found them, and one marker row per rule (scope_key NULL)
FAILING_ROWS = T.StructType([
    T.StructField("table", T.StringType()),
    T.StructField("rule", T.StringType()),
    T.StructField("definition", T.StringType()),
    T.StructField("table_version", T.LongType()),
    T.StructField("scope_key", T.StringType()),
    T.StructField("sample_key", T.StringType()),
    T.StructField("value", T.StringType()),
    T.StructField("rows", T.LongType()),
])

# audit.clv_models: one row per model fitted by a run
CLV_MODELS = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("as_of_date", T.DateType()),
    T.StructField("model", T.StringType()),
    T.StructField("params", T.MapType(T.StringType(), T.DoubleType())),
    T.StructField("log_likelihood", T.DoubleType()),
    T.StructField("customers", T.LongType()),
    T.StructField("converged", T.BooleanType()),
    T.StructField("fitted_at", T.TimestampType()),
])

# audit.clv_validation: per clv-validate run, model and calibration-frequency bucket
CLV_VALIDATION = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("model", T.StringType()),
    T.StructField("calibration_end", T.DateType()),
    T.StructField("holdout_end", T.DateType()),
    T.StructField("bucket", T.StringType()),
    T.StructField("customers", T.LongType()),
    T.StructField("actual_purchases", T.LongType()),
    T.StructField("predicted_purchases", T.DoubleType()),
    T.StructField("mae", T.DoubleType()),
    T.StructField("correlation", T.DoubleType()),
])

CLV_VALIDATION_TRACKING = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("model", T.StringType()),
    T.StructField("calibration_end", T.DateType()),
    T.StructField("holdout_end", T.DateType()),
    T.StructField("week_end", T.DateType()),
    T.StructField("actual_cumulative", T.LongType()),
    T.StructField("predicted_cumulative", T.DoubleType()),
])

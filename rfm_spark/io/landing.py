"""Readers for the raw landing: `<raw-dir>/<table>/*.csv` (or another configured format).

Every column is read as a string (staging casts), plus `_source_file` (the file's full
path) and `_malformed` (true when a CSV line did not have the header's shape). Files
are grouped by their header line so that files with a different column order, an extra
column or a missing optional column are each read by name, never by position.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from rfm_spark.config import RawTable
from rfm_spark.errors import ConfigError

log = logging.getLogger(__name__)

CORRUPT = "_corrupt_record"


@dataclass(frozen=True)
class LandingFile:
    path: str
    name: str
    size: int


def list_files(spark: SparkSession, directory: str, suffix: str = ".csv") -> list[LandingFile]:
    """Files directly under `directory` ending in `suffix`, sorted by name.

    Uses Hadoop's FileSystem when the JVM is reachable (local, HDFS, S3, DBFS paths alike),
    the local file system otherwise (Spark Connect; Databricks volumes are mounted).
    """
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        if not os.path.isdir(directory):
            return []
        return sorted(
            LandingFile(os.path.join(directory, n), n, os.path.getsize(os.path.join(directory, n)))
            for n in os.listdir(directory)
            if n.endswith(suffix) and os.path.isfile(os.path.join(directory, n))
        )
    path = jvm.org.apache.hadoop.fs.Path(directory)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return []
    found = []
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        if status.isFile() and name.endswith(suffix) and not name.startswith((".", "_")):
            found.append(LandingFile(status.getPath().toString(), name, int(status.getLen())))
    return sorted(found, key=lambda f: f.name)


def read_header(spark: SparkSession, file: LandingFile) -> list[str] | None:
    """Column names from a CSV file's first line (None for an empty file)."""
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        with open(file.path, encoding="utf-8-sig") as handle:
            line = handle.readline()
    else:
        path = jvm.org.apache.hadoop.fs.Path(file.path)
        fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
        stream = fs.open(path)
        try:
            reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
            line = reader.readLine()
        finally:
            stream.close()
    if not line:
        return None
    line = line.lstrip("\ufeff").rstrip("\r\n")
    return [name.strip().strip('"').strip().lower() for name in line.split(",")]


FILE_SUFFIX = {"csv": ".csv", "parquet": ".parquet", "json": ".json"}


def landing_files(spark: SparkSession, source: RawTable) -> list[LandingFile]:
    """The deliveries of one raw table. A Delta or catalog source is one delivery that is
    read whole every run (it has no files of its own to keep track of)."""
    if source.format in FILE_SUFFIX:
        return list_files(spark, source.path, FILE_SUFFIX[source.format])
    return [LandingFile(source.path, source.path, 0)]


def read_raw_table(
    spark: SparkSession,
    table: str,
    source: RawTable,
    required: Sequence[str],
    optional: Sequence[str] = (),
    files: Sequence[LandingFile] | None = None,
    schema_drift: str = "ignore",
) -> DataFrame:
    """The raw rows of one table: `required` + `optional` columns as strings, `_source_file`,
    `_malformed`. Reads `files` (default: every delivery). A file missing a required column
    is a configuration error (exit 2), and so is drift when `schema_drift` is `fail`."""
    columns = [*required, *optional]
    if files is None:
        files = landing_files(spark, source)
    if source.format == "csv":
        return _read_csv(spark, table, files, required, columns, schema_drift)
    if not files:
        return _empty(spark, columns)
    if source.format == "table":
        df = spark.read.table(source.path).withColumn("_source_file", F.lit(source.path))
    elif source.format == "delta":
        df = spark.read.format("delta").load(source.path).withColumn(
            "_source_file", F.lit(source.path))
    else:
        df = (
            spark.read.format(source.format)
            .load([f.path for f in files])
            .withColumn("_source_file", F.col("_metadata.file_path"))
        )
    present = {c.lower(): c for c in df.columns}
    missing = [c for c in required if c not in present]
    if missing:
        raise ConfigError(f"raw table {table} ({source.path}): missing column '{missing[0]}'")
    return df.select(
        *[
            (F.col(present[c]).cast("string") if c in present
             else F.lit(None).cast("string")).alias(c)
            for c in columns
        ],
        F.col("_source_file"),
        F.lit(False).alias("_malformed"),
    )


def _empty(spark: SparkSession, columns: Sequence[str]) -> DataFrame:
    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in columns]
        + [T.StructField("_source_file", T.StringType()),
           T.StructField("_malformed", T.BooleanType())]
    )
    return spark.createDataFrame([], schema)


def _read_csv(
    spark: SparkSession,
    table: str,
    files: Sequence[LandingFile],
    required: Sequence[str],
    columns: list[str],
    schema_drift: str,
) -> DataFrame:
    # With CSV column pruning on, Spark tokenises only the selected columns and never sees
    # that a line has too few or too many fields; with it off such lines fill
    # _corrupt_record, which is how a malformed line reaches quarantine. The setting is read
    # when the query runs, so it stays off for the session.
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    groups: dict[tuple[str, ...], list[str]] = {}
    for file in files:
        header = read_header(spark, file)
        if header is None:
            log.warning("raw %s: %s is empty, skipped", table, file.name)
            continue
        missing = [c for c in required if c not in header]
        if missing:
            raise ConfigError(
                f"raw file {file.path}: missing column '{missing[0]}' (table {table} needs "
                f"{', '.join(required)})"
            )
        extra = [c for c in header if c not in columns]
        absent = [c for c in columns if c not in header and c not in required]
        if schema_drift == "fail" and (extra or absent):
            what = (f"unexpected column '{extra[0]}'" if extra
                    else f"missing optional column '{absent[0]}'")
            raise ConfigError(f"raw file {file.path}: {what} (raw.schema_drift is fail)")
        if extra:
            log.warning("raw %s: %s has extra column(s) %s, ignored", table, file.name,
                        ", ".join(extra))
        groups.setdefault(tuple(header), []).append(file.path)
    frames = [_read_csv_group(spark, list(header), paths, columns)
              for header, paths in groups.items()]
    if not frames:
        return _empty(spark, columns)
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def _read_csv_group(
    spark: SparkSession, header: list[str], paths: list[str], columns: list[str]
) -> DataFrame:
    unique_header = _dedupe_names(header)
    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in unique_header]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    df = (
        spark.read.format("csv")
        .schema(schema)
        .option("header", "true")
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("ignoreLeadingWhiteSpace", "false")
        .option("ignoreTrailingWhiteSpace", "false")
        .option("encoding", "UTF-8")
        .load(paths)
    )
    return df.select(
        *[(F.col(c) if c in unique_header else F.lit(None).cast("string")).alias(c)
          for c in columns],
        F.col("_metadata.file_path").alias("_source_file"),
        F.col(CORRUPT).isNotNull().alias("_malformed"),
    )


def _dedupe_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in header:
        name = name or "_blank"
        if name in seen:
            seen[name] += 1
            out.append(f"{name}__{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out

"""Readers for the raw landing: `<raw-dir>/<table>/*.csv` (or another configured format).

Every column is read as a string (staging casts), plus `_source_file` (the file's full
path) and `_malformed` (true when a CSV line did not have the header's shape). Files
are grouped by their header line so that files with a different column order, an extra
column or a missing optional column are each read by name, never by position.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from rfm_spark.config import RawTable
from rfm_spark.errors import ConfigError
from rfm_spark.functions import map_values
from rfm_spark.io import classic_only
from rfm_spark.io.classic_only import is_classic
from rfm_spark.io.listing import LandingFile, glob_escaped, landing_files

log = logging.getLogger(__name__)

CORRUPT = "_corrupt_record"


def read_header(spark: SparkSession, file: LandingFile) -> list[str] | None:
    """Column names from a CSV file's first line (None for an empty file). A name given
    twice is a configuration error naming the file and the column."""
    if is_classic(spark):
        line = classic_only.first_line(spark, file.path)
    else:
        first = spark.read.text(glob_escaped(file.path)).limit(1).collect()
        line = first[0][0] if first else None
    if not line:
        return None
    line = line.lstrip("\ufeff").rstrip("\r\n")
    names = [name.strip().strip('"').strip().lower() for name in line.split(",")]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise ConfigError(f"raw file {file.path}: column '{name}' appears twice in the "
                              "header; a column must be named once")
        seen.add(name)
    return names


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
        by_name = {f.name: f.path for f in files}
        df = (
            spark.read.format(source.format)
            .load([glob_escaped(f.path) for f in files])
            .withColumn("_source_file", map_values(decoded_file_name(), by_name))
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
    # Malformed lines reach _corrupt_record because the session has CSV column pruning off
    # (rfm_spark.session.PIPELINE_SQL_CONF).
    groups: dict[tuple[str, ...], list[LandingFile]] = {}
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
        groups.setdefault(tuple(header), []).append(file)
    frames = [_read_csv_group(spark, list(header), group, columns)
              for header, group in groups.items()]
    if not frames:
        return _empty(spark, columns)
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


MAX_COLUMNS = 1_000_000  # a longer line fails the file (ConfigError); shorter: malformed_row


def _read_csv_group(
    spark: SparkSession, header: list[str], files: list[LandingFile], columns: list[str]
) -> DataFrame:
    """One read for files of the same header. RFC 4180: a quoted field may hold line breaks
    (multiLine: one task per file). `_source_file` is the path as listed, whatever the
    name (Spark reports names URL-encoded)."""
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
        .option("multiLine", "true")
        .option("maxColumns", str(MAX_COLUMNS))
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("ignoreLeadingWhiteSpace", "false")
        .option("ignoreTrailingWhiteSpace", "false")
        .option("encoding", "UTF-8")
        .load([glob_escaped(f.path) for f in files])
    )
    by_name = {f.name: f.path for f in files}
    return df.select(
        *[(F.col(c) if c in unique_header else F.lit(None).cast("string")).alias(c)
          for c in columns],
        map_values(decoded_file_name(), by_name).alias("_source_file"),
        F.col(CORRUPT).isNotNull().alias("_malformed"),
    )


def decoded_file_name() -> Column:
    """The file's name as the file system has it: `_metadata.file_name` is URL-encoded
    (a space is %20, a literal '+' stays '+', which url_decode would read as a space)."""
    return F.url_decode(F.replace(F.col("_metadata.file_name"), F.lit("+"), F.lit("%2B")))


def _dedupe_names(header: list[str]) -> list[str]:
    """Blank header names (a trailing comma) become _blank, _blank__1, ...; named columns
    are unique already (read_header refuses a name given twice)."""
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


def unreadable_file_error(exc: Exception, table: str, files: Sequence[LandingFile]
                          ) -> ConfigError | None:
    """A raw file Spark could not parse at all (a line over MAX_COLUMNS fields, bytes the
    CSV parser gives up on): exit 2 naming the file and the table, never the raw line."""
    text = str(exc)
    if "FAILED_READ_FILE" not in text and "TextParsingException" not in text:
        return None
    named = next((f for f in files if f.name in text or f.path in text
                  or f.name.replace(" ", "%20") in text), None)
    where = f"raw file {named.path}" if named else "a raw file"
    return ConfigError(f"{where} (table {table}) cannot be parsed as CSV (for example a line "
                       f"with more than {MAX_COLUMNS:,} fields); fix or remove the file")

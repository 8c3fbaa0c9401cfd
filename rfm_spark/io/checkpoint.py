"""Which raw files have been processed: audit/processed_files, the pipeline's checkpoint.

A run reads only the files not listed here and lists them once its tables are published,
so a run that dies part way leaves its files unlisted and the next run processes them
again. Every write of a run is idempotent for the same files (MERGE upserts; rows owned by
a file are replaced with Delta's replaceWhere), so processing a file twice is harmless.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pyspark.sql import types as T

from rfm_spark.io.landing import LandingFile
from rfm_spark.io.warehouse import Warehouse

TABLE = "audit.processed_files"
SCHEMA = T.StructType([
    T.StructField("table", T.StringType(), False),
    T.StructField("path", T.StringType(), False),
    T.StructField("file_name", T.StringType()),
    T.StructField("size", T.LongType()),
    T.StructField("run_id", T.StringType()),
    T.StructField("processed_at", T.TimestampType()),
])


def processed_paths(wh: Warehouse) -> dict[str, set[str]]:
    """{raw table: paths already processed}. File lists are small (one row per delivery)."""
    if not wh.exists(TABLE):
        return {}
    found: dict[str, set[str]] = {}
    for row in wh.read(TABLE).select("table", "path").collect():
        found.setdefault(row["table"], set()).add(row["path"])
    return found


def new_files(
    available: Mapping[str, Sequence[LandingFile]], processed: Mapping[str, set[str]]
) -> dict[str, list[LandingFile]]:
    return {
        table: [f for f in files if f.path not in processed.get(table, set())]
        for table, files in available.items()
    }


def record(
    wh: Warehouse,
    files: Mapping[str, Sequence[LandingFile]],
    run_id: str,
    replace_all: bool,
    trackable: Sequence[str],
) -> None:
    """List the run's files as processed (all of them, replacing the list, on a full refresh).
    Only tables in `trackable` (file formats) are listed: table sources are read every run."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [(table, f.path, f.name, f.size, run_id, now)
            for table, table_files in files.items() if table in trackable
            for f in table_files]
    df = wh.spark.createDataFrame(rows, SCHEMA)
    if replace_all:
        wh.overwrite(df, TABLE)
    elif rows:
        # replaceWhere on the run's own paths: a re-listed path is not listed twice
        wh.replace_where(df, TABLE, "path", [r[1] for r in rows])

"""Which raw files have been processed: audit/processed_files, the pipeline's checkpoint.

A run reads only the files not listed here and lists them once its tables are published,
so a run that dies part way leaves its files unlisted and the next run processes them
again. Every write of a run is idempotent for the same files (MERGE upserts; rows owned by
a file are replaced with Delta's replaceWhere), so processing a file twice is harmless.

A delivery is never rewritten (CONTRACT section 2). A processed file whose size or
modification time differs from what was recorded has been rewritten: the run refuses
(exit 2) rather than keep rows the file no longer holds. Size and modification time come
with the listing for free on every file system (no file is read to hash it); a file
touched without a change is refused too, which the message says how to get past.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.audit_schemas import PROCESSED_FILES
from rfm_spark.errors import ConfigError
from rfm_spark.io.listing import LandingFile
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.runner.writes import write

TABLE = registry.table("audit.processed_files")


Processed = dict[str, dict[str, LandingFile]]


def processed_files(wh: Warehouse) -> Processed:
    """{raw table: {path: the file as it was when processed}} (one row per delivery)."""
    if not wh.exists(TABLE.name):
        return {}
    df = wh.read(TABLE.name)
    modified = F.col("modified") if "modified" in df.columns else F.lit(None)
    found: Processed = {}
    for row in df.select("table", "path", "file_name", "size",
                         modified.alias("modified")).collect():
        found.setdefault(row["table"], {})[row["path"]] = LandingFile(
            row["path"], row["file_name"], row["size"], row["modified"])
    return found


def refuse_rewritten(available: Mapping[str, Sequence[LandingFile]], processed: Processed
                     ) -> None:
    """Exit 2 naming the first processed file whose size or modification time changed
    (a checkpoint written before modification times were kept compares sizes only)."""
    for table, files in available.items():
        seen = processed.get(table, {})
        for file in files:
            before = seen.get(file.path)
            if before is None:
                continue
            if before.size != file.size or (before.modified is not None
                                            and before.modified != file.modified):
                raise ConfigError(
                    f"raw file {file.path} changed after it was processed (size "
                    f"{before.size} -> {file.size} bytes, modified {_when(before.modified)} -> "
                    f"{_when(file.modified)}); deliveries are never rewritten. Restore it, "
                    "or deliver the change as a new file, or run with --full-refresh to "
                    "rebuild every table from the landing as it is now")


def missing_files(available: Mapping[str, Sequence[LandingFile]], processed: Processed
                  ) -> list[str]:
    """Processed files no longer in the landing (archived, perhaps): reported, not an error."""
    return sorted(path for table, seen in processed.items() if table in available
                  for path in set(seen) - {f.path for f in available[table]})


def _when(millis: int | None) -> str:
    if millis is None:
        return "unknown"
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def new_files(
    available: Mapping[str, Sequence[LandingFile]], processed: Processed
) -> dict[str, list[LandingFile]]:
    return {
        table: [f for f in files if f.path not in processed.get(table, {})]
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
    rows = [(table, f.path, f.name, f.size, f.modified, run_id, now)
            for table, table_files in files.items() if table in trackable
            for f in table_files]
    df = wh.spark.createDataFrame(rows, PROCESSED_FILES)
    if replace_all:
        wh.overwrite(df, TABLE.name)
    elif rows:
        # the run's own paths replaced: a re-listed path is not listed twice
        write(wh, TABLE, df, values=[r[1] for r in rows])

"""What the raw landing holds: the deliveries of each table, with the size and
modification time the file system reports (the checkpoint compares them run to run).

A delivery is a file directly under the table's folder whose name ends in the format's
suffix (any case) and does not start with `_` or `.`; other entries are skipped with a log
line naming them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import SparkSession

from rfm_spark.config import RawTable
from rfm_spark.errors import ConfigError, PipelineError

log = logging.getLogger("rfm_spark.io.landing")


@dataclass(frozen=True)
class LandingFile:
    path: str
    name: str
    size: int
    modified: int = 0  # modification time, milliseconds since the epoch


def _is_delivery(name: str, is_file: bool, suffix: str, where: str) -> bool:
    """Whether a folder entry is a delivery: a file ending in `suffix` (any case) whose name
    does not start with `_` or `.`; anything else is skipped with a log line."""
    if not is_file:
        log.info("raw %s: %s is a folder, skipped", where, name)
        return False
    if name.startswith((".", "_")):
        log.info("raw %s: %s starts with '%s' (hidden), skipped", where, name, name[0])
        return False
    if not name.lower().endswith(suffix):
        log.info("raw %s: %s does not end in %s, skipped", where, name, suffix)
        return False
    if ":" in name:  # Hadoop paths cannot hold a colon in a file name (HADOOP-3257)
        raise ConfigError(f"raw file {name!r} in {where}: Spark (Hadoop) cannot read a file "
                          "name that contains ':'; rename it")
    return True


def list_files(spark: SparkSession, directory: str, suffix: str = ".csv") -> list[LandingFile]:
    """Deliveries directly under `directory`, sorted by name (see _is_delivery).

    Uses Hadoop's FileSystem when the JVM is reachable (local, HDFS, S3, DBFS paths alike),
    the local file system otherwise (Spark Connect; Databricks volumes are mounted).
    """
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        if not os.path.isdir(directory):
            return []
        found = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if _is_delivery(entry.name, entry.is_file(), suffix, directory):
                    stat = entry.stat()
                    found.append(LandingFile(entry.path, entry.name, stat.st_size,
                                             int(stat.st_mtime * 1000)))
        return sorted(found, key=lambda f: f.name)
    path = jvm.org.apache.hadoop.fs.Path(directory)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return []
    found = []
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        if _is_delivery(name, status.isFile(), suffix, directory):
            found.append(LandingFile(status.getPath().toString(), name, int(status.getLen()),
                                     int(status.getModificationTime())))
    return sorted(found, key=lambda f: f.name)


def folder_exists(spark: SparkSession, directory: str) -> bool:
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return os.path.isdir(directory)
    path = jvm.org.apache.hadoop.fs.Path(directory)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    return bool(fs.exists(path)) and bool(fs.getFileStatus(path).isDirectory())


FILE_SUFFIX = {"csv": ".csv", "parquet": ".parquet", "json": ".json"}


def landing_files(spark: SparkSession, source: RawTable) -> list[LandingFile]:
    """The deliveries of one raw table. A Delta or catalog source is one delivery that is
    read whole every run (it has no files of its own to keep track of)."""
    if source.format in FILE_SUFFIX:
        return list_files(spark, source.path, FILE_SUFFIX[source.format])
    return [LandingFile(source.path, source.path, 0)]


def refuse_changed_while_read(spark: SparkSession, source: RawTable,
                              files: Sequence[LandingFile], table: str) -> None:
    """After the raw files were read and before anything of them is written: a file whose
    size or modification time moved since the listing was still being written, so what was
    read may be half of it. Stop (exit 3); nothing of it is staged or marked processed."""
    if source.format not in FILE_SUFFIX or not files:
        return
    now = {f.path: f for f in landing_files(spark, source)}
    for file in files:
        current = now.get(file.path)
        if current is None or (current.size, current.modified) != (file.size, file.modified):
            raise PipelineError(f"raw file {file.path} changed while this run read it (still "
                                "being written?); nothing of it was written; run again when "
                                "it is complete", table=f"staging.{table}")

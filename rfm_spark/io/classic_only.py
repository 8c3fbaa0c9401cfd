"""The one place that reaches past the DataFrame / SQL API, for classic sessions only.

Spark Connect (Databricks serverless, Unity Catalog standard access, Databricks Connect,
`SPARK_REMOTE`) has no SparkContext and no JVM gateway; everything here has a portable
twin that the callers use when `is_classic(spark)` is false:
- Hadoop's FileSystem lists and opens landing files on any file system the cluster reads
  (HDFS, S3, DBFS); elsewhere the local file system or Spark's `binaryFile` source is used.
- A local Delta table's latest commit (version and metrics) is read from its log folder
  (no Spark job); elsewhere from `DESCRIBE HISTORY`.
- Job groups count the Spark jobs of a step for the log; elsewhere the count is "?".
- An observed metric is read by its name; elsewhere from `Observation.get`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import Observation, SparkSession


def is_classic(spark: SparkSession) -> bool:
    """A session with a JVM in this process (local, spark-submit, classic clusters)."""
    return getattr(spark, "_jsc", None) is not None


@dataclass(frozen=True)
class Entry:
    path: str
    name: str
    is_file: bool
    size: int
    modified: int  # milliseconds since the epoch


def _fs(spark: SparkSession, path: str):
    hadoop_path = spark._jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path, hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration())


def list_folder(spark: SparkSession, directory: str) -> list[Entry] | None:
    """The entries directly under `directory`, None when it does not exist."""
    path, fs = _fs(spark, directory)
    if not fs.exists(path):
        return None
    return [Entry(s.getPath().toString(), s.getPath().getName(), bool(s.isFile()),
                  int(s.getLen()), int(s.getModificationTime()))
            for s in fs.listStatus(path)]


_COMMIT_FILE = re.compile(r"(\d{20})\.json")


def latest_commit(spark: SparkSession, log_folder: str) -> tuple[int, dict[str, str]] | None:
    """The newest commit in a Delta log folder (`<table>/_delta_log`; a plain path or a
    `file:` URI, see listing.local_path) on the local file system: its version and operation
    metrics, from one listing and one small file, which this process shares with a classic
    session's driver (the only committer): no Spark job. None when Hadoop resolves the path
    to another file system (the cluster's default one being HDFS, DBFS, ...), for a folder
    without commit files, or one with commits staged outside it (`_staged_commits`,
    catalog-owned tables)."""
    path, fs = _fs(spark, log_folder)
    if fs.getScheme() != "file":
        return None
    local = fs.makeQualified(path).toUri().getPath()
    try:
        names = os.listdir(local)
        staged = os.listdir(os.path.join(local, "_staged_commits")) \
            if "_staged_commits" in names else []
        version = max((int(m[1]) for m in map(_COMMIT_FILE.fullmatch, names) if m),
                      default=None)
        if version is None or any(name.endswith(".json") for name in staged):
            return None
        with open(os.path.join(local, f"{version:020d}.json"), encoding="utf-8") as commit:
            info = next((json.loads(line)["commitInfo"] for line in commit
                         if line.startswith('{"commitInfo"')), {})
    except (OSError, ValueError, KeyError):
        return None
    return version, {k: str(v) for k, v in (info.get("operationMetrics") or {}).items()}


def is_folder(spark: SparkSession, directory: str) -> bool:
    path, fs = _fs(spark, directory)
    return bool(fs.exists(path)) and bool(fs.getFileStatus(path).isDirectory())


def first_line(spark: SparkSession, file_path: str) -> str | None:
    """The first line of a text file, decoded as UTF-8 (None for an empty file)."""
    path, fs = _fs(spark, file_path)
    jvm = spark._jvm
    stream = fs.open(path)
    try:
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        return reader.readLine()
    finally:
        stream.close()


@contextmanager
def job_group(spark: SparkSession, label: str) -> Iterator[Callable[[], int | str]]:
    """Yields a function giving how many Spark jobs ran inside the block ("?" when the
    session cannot say, as under Spark Connect)."""
    if not is_classic(spark):
        yield lambda: "?"
        return
    sc = spark.sparkContext
    group = f"rfm-{label}-{time.monotonic_ns()}"
    sc.setJobGroup(group, label)
    try:
        yield lambda: len(sc.statusTracker().getJobIdsForGroup(group))
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)


def observed(spark: SparkSession, observation: Observation, name: str):
    """One metric of an observation that a finished job filled. `Observation.get` walks the
    JVM's map with a Java iterator, whose end is an exception that PySpark converts (about
    65 calls into the JVM per observation, 1,900 a run of the sample); this asks for the
    one key."""
    if not is_classic(spark):
        return observation.get[name]
    return observation._jo.getAsJava().get(name)

"""What the raw landing holds: the deliveries of each table, with the size and
modification time the file system reports (the checkpoint compares them run to run).

A delivery is a file directly under the table's folder whose name ends in the format's
suffix (any case) and does not start with `_` or `.`; other entries are skipped with a log
line naming them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from rfm_spark.config import RawTable
from rfm_spark.errors import ConfigError, PipelineError
from rfm_spark.io import classic_only
from rfm_spark.io.classic_only import is_classic

log = logging.getLogger("rfm_spark.io.landing")
FILE_SUFFIX = {"csv": ".csv", "parquet": ".parquet", "json": ".json"}


@dataclass(frozen=True)
class LandingFile:
    path: str
    name: str
    size: int
    modified: int = 0  # modification time, milliseconds since the epoch


def _skip_reason(name: str, is_file: bool, suffix: str) -> str | None:
    """Why a folder entry is not a delivery (None: it is one)."""
    if not is_file:
        return "is a folder"
    if name.startswith((".", "_")):
        return f"starts with '{name[0]}' (hidden)"
    if not name.lower().endswith(suffix):
        return f"does not end in {suffix}"
    return None


def _is_delivery(name: str, is_file: bool, suffix: str, where: str) -> bool:
    """Whether a folder entry is a delivery: a file ending in `suffix` (any case) whose name
    does not start with `_` or `.`; anything else is skipped with a log line."""
    reason = _skip_reason(name, is_file, suffix)
    if reason is not None:
        log.info("raw %s: %s %s, skipped", where, name, reason)
        return False
    if ":" in name:  # Hadoop paths cannot hold a colon in a file name (HADOOP-3257)
        raise ConfigError(f"raw file {name!r} in {where}: Spark (Hadoop) cannot read a file "
                          "name that contains ':'; rename it")
    return True


def list_files(spark: SparkSession, directory: str, suffix: str = ".csv") -> list[LandingFile]:
    """Deliveries directly under `directory`, sorted by name (see _is_delivery)."""
    entries = _entries(spark, directory)
    found = [LandingFile(e.path, e.name, e.size, e.modified) for e in entries or []
             if _is_delivery(e.name, e.is_file, suffix, directory)]
    return sorted(found, key=lambda f: f.name)


def local_path(location: str) -> str | None:
    """The path of a location on the local file system (a plain path or a `file:` URI);
    None for another file system."""
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return None
    return parsed.path if parsed.scheme else location


def local_folder_exists(directory: str) -> bool | None:
    """Whether a folder on the local file system exists, without Spark; None for a path
    of another file system (a URI with another scheme)."""
    path = local_path(directory)
    return None if path is None else os.path.isdir(path)


def local_landing_bytes(sources: Iterable[RawTable]) -> int | None:
    """The bytes of the deliveries of raw tables on the local file system, read without
    Spark (before a session starts); None when a source is a Delta or catalog table, on
    another file system, or cannot be listed."""
    total = 0
    for source in sources:
        suffix = FILE_SUFFIX.get(source.format)
        path = local_path(source.path or "")
        if suffix is None or path is None:
            return None
        try:
            with os.scandir(path) as entries:
                total += sum(e.stat().st_size for e in entries
                             if _skip_reason(e.name, e.is_file(), suffix) is None)
        except OSError:
            return None
    return total


def local_folder_bytes(directory: str) -> int | None:
    """The bytes of every file under a folder of the local file system, read without
    Spark; None for another file system or a folder that is not there."""
    root = local_path(directory)
    if root is None or not os.path.isdir(root):
        return None
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except OSError:  # gone while listed
                continue
    return total


def folder_exists(spark: SparkSession, directory: str) -> bool:
    if is_classic(spark):
        return classic_only.is_folder(spark, directory)
    return _entries(spark, directory) is not None


def _entries(spark: SparkSession, directory: str) -> list[classic_only.Entry] | None:
    """A folder's entries: Hadoop's FileSystem on a classic session; elsewhere Spark's
    binaryFile source, selecting only path, length and modification time (no content is
    read). Spark itself passes over `_` and `.` names there; files in subfolders are
    reported as one skipped folder each."""
    if is_classic(spark):
        return classic_only.list_folder(spark, directory)
    try:
        rows = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
                .load(glob_escaped(directory))
                .select("path", "length", "modificationTime").collect())
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc):
            return None
        raise
    folder = _path_part(directory)
    entries, folders = [], set()
    for row in rows:
        parent, _, name = _path_part(row["path"]).rpartition("/")
        if parent != folder:
            folders.add(_path_part(row["path"])[len(folder) + 1:].split("/", 1)[0])
            continue
        modified = round(row["modificationTime"].timestamp() * 1000)  # naive local time
        entries.append(classic_only.Entry(row["path"], name, True, int(row["length"]),
                                          modified))
    base = directory.rstrip("/")
    entries += [classic_only.Entry(f"{base}/{f}", f, False, 0, 0) for f in sorted(folders)]
    return entries


def _path_part(location: str) -> str:
    """The path of a location without its scheme and authority, absolute, no trailing '/'
    (`file:/a/b`, `file:///a/b`, `/a/b` and, from /a, `./b` are all /a/b)."""
    path = location
    if "://" in path:
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    elif re.match(r"^[A-Za-z][\w+.-]*:", path):
        path = path.split(":", 1)[1]
    if not path.startswith("/"):
        path = os.path.abspath(path)
    return "/" + path.strip("/")


def glob_escaped(path: str) -> str:
    """A path Spark reads literally: Hadoop expands {} [] * ? and \\ as a glob pattern."""
    return re.sub(r"([{}\[\]*?\\])", r"\\\1", path)


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

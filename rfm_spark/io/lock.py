"""One run at a time per warehouse.

For a warehouse on a local or mounted file system the run holds an exclusive `flock` on
`<warehouse>/.rfm_spark.lock`; the operating system releases it when the process ends,
however it ends, so a killed run never leaves a stale lock. A second run refuses at once
with the holder's pid, host and start time. Remote warehouses (HDFS, S3, catalogs) rely
on Delta's optimistic concurrency: a conflicting commit fails with a clear message.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from rfm_spark.errors import PipelineError

log = logging.getLogger("rfm_spark.lock")
LOCK_NAME = ".rfm_spark.lock"


def _local_dir(warehouse_dir: str) -> Path | None:
    if warehouse_dir.startswith("file:"):
        return Path(warehouse_dir[len("file:"):])
    if "://" in warehouse_dir or warehouse_dir.startswith(("dbfs:", "/Volumes/")):
        return None
    return Path(warehouse_dir)


@contextmanager
def warehouse_lock(warehouse_dir: str, run_id: str):
    folder = _local_dir(warehouse_dir)
    if folder is None:
        log.debug("warehouse %s is remote: no lock file, Delta decides conflicts", warehouse_dir)
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise PipelineError(
                f"another rfm-spark run is using warehouse {warehouse_dir} ({holder}); "
                "run again when it has finished"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"run {run_id}, pid {os.getpid()} on {socket.gethostname()}, started "
                     f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the flock

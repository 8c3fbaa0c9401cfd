"""Spark work done once and kept: caching and local checkpoints, where the platform has them.

Databricks serverless and some Spark Connect deployments refuse the caching and checkpoint
APIs. There a cached frame is simply recomputed where it is used again (slower, same
result), and a checkpoint that a computation needs for consistency is replaced by the
caller's own fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

log = logging.getLogger("rfm_spark.materialize")


def is_unsupported(exc: Exception) -> bool:
    text = str(exc)
    return "NOT_SUPPORTED" in text or "not supported" in text.lower()


@contextmanager
def persisted(df: DataFrame) -> Iterator[DataFrame]:
    """`df` kept in memory (spilling to disk) for the block, released after it."""
    try:
        kept = df.persist(StorageLevel.MEMORY_AND_DISK)
    except Exception as exc:
        if not is_unsupported(exc):
            raise
        log.info("caching is not available on this session: recomputing instead")
        yield df
        return
    try:
        yield kept
    finally:
        kept.unpersist()


def local_checkpoint(df: DataFrame) -> DataFrame | None:
    """`df` computed now and its partitions kept as they are, or None where the session
    does not allow checkpoints."""
    try:
        return df.localCheckpoint(eager=True)
    except Exception as exc:
        if not is_unsupported(exc):
            raise
        log.info("local checkpoints are not available on this session")
        return None


# A computed scope of at most this many keys is broadcast to the joins that pick its rows,
# so the large side is read once without a shuffle (a 1% delivery of 10M orders touches
# ~100,000 orders: a few MB).
BROADCAST_KEYS = 1_000_000


def computed_scope(scope: DataFrame) -> tuple[DataFrame, int | None]:
    """`scope` computed once (a local checkpoint) and counted, hinted for broadcast when it
    holds at most BROADCAST_KEYS rows. Where checkpoints are not available it is returned
    as it is, uncounted (a count would compute it once more)."""
    kept = local_checkpoint(scope)
    if kept is None:
        return scope, None
    rows = kept.count()
    return (F.broadcast(kept) if rows <= BROADCAST_KEYS else kept), rows

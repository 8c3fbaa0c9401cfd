"""How an upsert or a replace-groups write (Model's Upsert, ReplaceGroups) reaches the rows
it changes: named in a MERGE when they are few, the whole table rewritten when they touch
most of its files.

Carried out by the Warehouse (rfm_spark/io/warehouse.py, upsert and replace_groups).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame

from rfm_spark.io import merge_statements

DELETION_VECTORS = "delta.enableDeletionVectors"


def rewrites_the_table(changes: int | None, detail: Mapping[str, Any]) -> bool:
    """Whether a write changing `changes` keys or groups (None: more than INLINE_SCOPE_KEYS)
    rewrites the table rather than MERGE it; `detail`: the table's DESCRIBE DETAIL (its
    numFiles and properties). Every write here spreads a table's keys over its files by
    hash, so as many changes as files touch ~63% of them (1 - 1/e), and a MERGE rewrites
    each touched file whole, ~3x slower per row than an overwrite writes it (20M order
    lines, 99,423 orders replaced: 35.4-48.0 s MERGE, 12.0-13.2 s rewrite, the same rows).
    With deletion vectors a MERGE marks the changed rows instead of rewriting files, as the
    table's owner chose: it MERGEs."""
    properties, files = detail["properties"] or {}, detail["numFiles"]
    if properties.get(DELETION_VECTORS, "").lower() == "true":
        return False
    return changes is None or changes >= files


def scope_to_name(scope: DataFrame, group_keys: Sequence[str]) -> list | None:
    """The scope's group values when a MERGE can name them (one key column, at most
    INLINE_SCOPE_KEYS values); None otherwise. One small job."""
    if len(group_keys) != 1:
        return None
    values = [row[0] for row in scope.limit(merge_statements.INLINE_SCOPE_KEYS + 1).collect()]
    if len(values) > merge_statements.INLINE_SCOPE_KEYS:
        return None
    return sorted(values, key=lambda v: (v is None, str(v)))

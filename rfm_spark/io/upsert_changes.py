"""Which rows an upsert (Model's Upsert) changes, worked out before the write: the source
rows a MERGE would insert or update, by the same rule as its statement
(merge_statements.upsert). Knowing them first lets the Warehouse skip a write that changes
nothing, and rewrite the table in one overwrite when they touch most of its files.

DataFrame transforms, and `computed_changes`, which runs them once; the Warehouse writes
the result (rfm_spark/io/warehouse.py).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from rfm_spark.functions import row_order
from rfm_spark.materialize import BROADCAST_KEYS, computed_scope


def same_keys(keys: Sequence[str], left: str = "t", right: str = "s") -> Column:
    """The MERGE's ON: every key equal, NULL-safe."""
    return reduce(operator.and_, [F.col(f"{left}.`{k}`").eqNullSafe(F.col(f"{right}.`{k}`"))
                                  for k in keys])


def _wins(columns: Sequence[str], keys: Sequence[str], newer_than: str | None) -> Column:
    """Whether the matched source row s replaces the target row t: it differs outside the
    keys and, with `newer_than`, is newer (equal values: the greater row, functions.row_order).
    A NULL comparison replaces nothing, as in the MERGE's WHEN MATCHED AND."""
    differs = reduce(operator.or_, [~F.col(f"t.`{c}`").eqNullSafe(F.col(f"s.`{c}`"))
                                    for c in columns if c not in keys], F.lit(False))
    if newer_than is None:
        return differs
    s_new, t_new = F.col(f"s.`{newer_than}`"), F.col(f"t.`{newer_than}`")
    s_row = row_order([f"s.`{c}`" for c in columns])
    t_row = row_order([f"t.`{c}`" for c in columns])
    newer = (s_new > t_new) | ((s_new == t_new) & (s_row > t_row))
    return F.coalesce(newer & differs, F.lit(False))


def changed_rows(current: DataFrame, source: DataFrame, keys: Sequence[str],
                 newer_than: str | None, small_source: bool) -> DataFrame:
    """The rows of `source` (one per key) that an upsert into `current` writes: those whose
    key the table lacks, and those that replace the table's row of their key. With
    `small_source` the source is broadcast, so the table is read without a shuffle (twice:
    its rows for the matched keys, its keys for the new ones)."""
    keys = list(keys)
    hinted = F.broadcast if small_source else (lambda df: df)
    columns = source.columns
    replacing = (current.alias("t").join(hinted(source).alias("s"), same_keys(keys), "inner")
                 .where(_wins(columns, keys, newer_than))
                 .select(*[F.col(f"s.`{c}`") for c in columns]))
    present = (current.alias("t").join(hinted(source.select(*keys)).alias("s"),
                                       same_keys(keys), "left_semi").select(*keys))
    new = source.alias("s").join(hinted(present).alias("t"), same_keys(keys), "left_anti")
    return replacing.unionByName(new.select(*columns))


def computed_changes(current: DataFrame, source: DataFrame, keys: Sequence[str],
                     newer_than: str | None, rows_at_most: int | None = None
                     ) -> tuple[DataFrame, int] | None:
    """The changed rows (changed_rows) computed once and counted (materialize.computed_scope:
    hinted for broadcast when few). The source's rows decide whether it is broadcast:
    `rows_at_most` when the caller knows a bound, else the source is computed and counted
    first. None where the session keeps no checkpoints, or the source's columns or types
    differ from the table's (the MERGE's schema evolution decides then)."""
    if dict(current.dtypes) != dict(source.dtypes):
        return None
    if rows_at_most is None:
        source, rows_at_most = computed_scope(source)
        if rows_at_most is None:
            return None
    changed, changes = computed_scope(changed_rows(
        current, source, keys, newer_than, small_source=rows_at_most <= BROADCAST_KEYS))
    return None if changes is None else (changed, changes)

"""Each declared write strategy, carried out on the warehouse: the one place a table's
rows are written (the audit tables included)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pyspark.sql import Column, DataFrame

from rfm_spark.io.commit import Commit
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.model import (
    Append,
    Model,
    Overwrite,
    ReplaceBySourceFile,
    ReplaceGroups,
    ReplaceWhere,
    Upsert,
    enforce_columns,
)


def write(wh: Warehouse, model: Model, df: DataFrame, *, full_refresh: bool = False,
          scope: DataFrame | None = None, values: Sequence[str] = (),
          metrics: Sequence[Column] = (), rows_at_most: int | None = None) -> Commit:
    """Write `df` to the model's table with its strategy. `scope`: the groups a
    ReplaceGroups write replaces (keys); `values`: the source files (ReplaceBySourceFile) or
    column values (ReplaceWhere) whose rows are replaced. A first write, and any write of a
    full refresh but Append and ReplaceWhere, overwrites. `metrics`: aggregates the write
    job counts over the rows of an overwrite or a ReplaceBySourceFile write
    (Commit.observed). `rows_at_most`: a bound on `df`'s rows, known to the caller, which
    spares an Upsert counting them."""
    df = enforce_columns(model, df)
    strategy = model.write
    if isinstance(strategy, Append):
        return wh.append(df, model.name)
    if isinstance(strategy, ReplaceWhere):
        return wh.replace_where(df, model.name, strategy.column, values)
    if metrics and not isinstance(strategy, Overwrite | ReplaceBySourceFile):
        raise ValueError(f"{model.name}: only overwrites and file replacements count metrics")
    if full_refresh or isinstance(strategy, Overwrite):
        return wh.overwrite(df, model.name, metrics)
    if isinstance(strategy, ReplaceBySourceFile):
        return wh.replace_where(df, model.name, strategy.column, values, metrics)
    if isinstance(strategy, Upsert):
        return wh.upsert(df, model.name, strategy.keys, newer_than=strategy.newer_than,
                         rows_at_most=rows_at_most)
    if isinstance(strategy, ReplaceGroups):
        if scope is None and not wh.exists(model.name):
            return wh.overwrite(df, model.name)
        if scope is None:
            raise ValueError(f"{model.name}: a ReplaceGroups write needs its scope")
        return wh.replace_groups(df, model.name, strategy.group_keys, strategy.row_keys, scope)
    raise TypeError(f"{model.name}: unknown write strategy {strategy!r}")


T = TypeVar("T")


def side_by_side(writes: Mapping[str, Callable[[], T]]) -> dict[str, T]:
    """Run writes to different tables at the same time (a small run waits on per-commit
    latency, not on the cores); each still commits on its own. Returns once all have ended;
    the first failure, in the given order, is raised."""
    if len(writes) <= 1:
        return {name: do() for name, do in writes.items()}
    with ThreadPoolExecutor(max_workers=len(writes), thread_name_prefix="rfm-writes") as pool:
        futures = {name: pool.submit(do) for name, do in writes.items()}
    return {name: future.result() for name, future in futures.items()}


def after_replacing_groups(current: DataFrame, rows: DataFrame, scope: DataFrame,
                           strategy: ReplaceGroups) -> DataFrame:
    """What a ReplaceGroups write will leave in the table: the groups outside the scope as
    they are, the scope's groups as `rows` (the frame checks look at before the write)."""
    keys = list(strategy.group_keys)
    kept = current.join(scope.select(*keys).distinct(), keys, "left_anti")
    return kept.select(*rows.columns).unionByName(rows)

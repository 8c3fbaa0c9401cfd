"""What a table declaration says: its name, what feeds it, its columns and keys, how it is
written. The declarations themselves are in rfm_spark/registry.py; the runner
(rfm_spark/runner.py) is the only code that acts on them.

Write strategies (dbt's materializations, in Delta terms):
- Overwrite: the whole table, in one transaction (marts, scores).
- Append: rows added (the data-quality results of every run).
- Upsert(keys, newer_than): one row per key MERGEd in; a matched row is replaced only by a
  newer one (staging customers, products, orders).
- ReplaceBySourceFile: the rows a raw file produced replace that file's rows (quarantine,
  version logs), so reading a file twice adds nothing.
- ReplaceGroups(group_keys, row_keys): the rows of the groups in scope (the touched orders,
  customers) become exactly the new ones, in one MERGE; other groups untouched.
- ReplaceWhere(column): the rows whose column has one of the given values (a run's record).
On a full refresh every strategy but Append and ReplaceWhere overwrites the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame

from rfm_spark.errors import PipelineError

LAYERS = ("raw", "staging", "quarantine", "intermediate", "marts", "snapshots", "audit")


@dataclass(frozen=True)
class Overwrite:
    def __str__(self) -> str:
        return "overwrite"


@dataclass(frozen=True)
class Append:
    def __str__(self) -> str:
        return "append"


@dataclass(frozen=True)
class Upsert:
    keys: tuple[str, ...]
    newer_than: str | None = None

    def __str__(self) -> str:
        newer = f", newer {self.newer_than}" if self.newer_than else ""
        return f"upsert on {', '.join(self.keys)}{newer}"


@dataclass(frozen=True)
class ReplaceBySourceFile:
    column: str = "_source_file"

    def __str__(self) -> str:
        return f"replace the rows of each file read ({self.column})"


@dataclass(frozen=True)
class ReplaceGroups:
    group_keys: tuple[str, ...]
    row_keys: tuple[str, ...]

    def __str__(self) -> str:
        return f"replace the rows of the {', '.join(self.group_keys)} in scope"


@dataclass(frozen=True)
class ReplaceWhere:
    column: str

    def __str__(self) -> str:
        return f"replace the rows of the given {self.column}"


WriteStrategy = Overwrite | Append | Upsert | ReplaceBySourceFile | ReplaceGroups | ReplaceWhere


def lookup_columns(strategy: WriteStrategy) -> tuple[str, ...]:
    """The columns a write with this strategy finds the table's rows by (MERGE keys, the
    replaced values' column); none for Overwrite and Append."""
    if isinstance(strategy, Upsert):
        return strategy.keys
    if isinstance(strategy, ReplaceGroups):
        return (*strategy.group_keys, *strategy.row_keys)
    if isinstance(strategy, ReplaceBySourceFile | ReplaceWhere):
        return (strategy.column,)
    return ()


@dataclass(frozen=True)
class BuildContext:
    """What a transform may know besides its input frames: the run's as_of and the
    configured rules (a typed Settings object; transforms take the section they need)."""

    as_of: dt.date
    rules: Any
    run_time: dt.datetime | None = None  # staging: the bound of "in the future"
    previous_as_of: dt.date | None = None  # the latest succeeded run's as_of before this


@dataclass(frozen=True)
class Model:
    """One table. `inputs` are other declared tables (or raw.<table> sources); `build`
    receives their frames in that order, then the BuildContext, and returns the table's
    rows with exactly `columns` (checked by the runner before anything is written)."""

    name: str
    inputs: tuple[str, ...]
    columns: tuple[str, ...]
    write: WriteStrategy
    keys: tuple[str, ...] = ()
    build: Callable[..., DataFrame] | None = None
    about: str = ""
    checkable: bool = True  # may data-quality rules name it
    optional: tuple[str, ...] = field(default=())  # declared columns a config may leave out

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def stats_columns(self) -> tuple[str, ...]:
        """The columns Delta keeps file statistics on: the declared key and the columns
        the write strategy finds rows by (what data skipping can use here)."""
        return tuple(dict.fromkeys((*self.keys, *lookup_columns(self.write))))


def enforce_columns(model: Model, df: DataFrame) -> DataFrame:
    """The schema contract: the frame has the declared columns, in the declared order
    (optional ones may be left out). Tables declared without columns are not checked."""
    present = set(df.columns)
    expected = tuple(c for c in model.columns if c in present or c not in model.optional)
    if model.columns and tuple(df.columns) != expected:
        missing = [c for c in expected if c not in df.columns]
        unexpected = [c for c in df.columns if c not in expected]
        raise PipelineError(
            f"the transform returned columns {list(df.columns)}, declared {list(expected)}"
            f" (missing {missing}, unexpected {unexpected})", table=model.name)
    return df

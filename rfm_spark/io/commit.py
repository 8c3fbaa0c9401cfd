"""What one write to a warehouse table did (rfm_spark/io/warehouse.py returns it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Commit:
    """What one write did: the table's version after it, and the rows it wrote. Rows are
    counted as they flow into the write (an observation on the write job itself) for
    overwrites, appends and replaceWhere, whose Delta metrics mix in rows only copied from
    rewritten files and which commit nothing at all when there is nothing to change; for a
    MERGE they are Delta's inserted + updated rows, for an upsert the rows it inserted or
    replaced however it wrote them, and for a table rewritten by replace_groups every row."""

    version: int | None  # None: a table whose versions the run does not record
    rows: int  # -1: a MERGE into such a table (its metrics are not read either)
    # further totals the write job counted (`metrics` of overwrite and replace_where)
    observed: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def of_merge(version: int | None, metrics: dict[str, str]) -> Commit:
        rows = sum(int(metrics.get(k) or 0)
                   for k in ("numTargetRowsInserted", "numTargetRowsUpdated"))
        return Commit(version, rows)


NO_COMMIT = Commit(None, 0)

"""The delivery files of a synthetic landing, written through csv writers."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path

from rfm_spark.tools.sample_vocabulary import COLUMNS


class Landing:
    """Open delivery files of every table, written through csv writers."""

    def __init__(self, out: Path, deliveries: int, stack: ExitStack):
        self.writers: dict[str, list] = {}
        self.rows = {table: 0 for table in COLUMNS}
        for table, columns in COLUMNS.items():
            folder = out / table
            folder.mkdir(parents=True, exist_ok=True)
            self.writers[table] = []
            for d in range(1, deliveries + 1):
                handle = stack.enter_context(
                    open(folder / f"delivery_{d:04d}.csv", "w", newline="", encoding="utf-8")
                )
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                self.writers[table].append(writer)

    def write(self, table: str, delivery: int, row: list) -> None:
        self.writers[table][delivery - 1].writerow(row)
        self.rows[table] += 1

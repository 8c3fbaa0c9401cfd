"""Delta tables of the warehouse, addressed by logical name ("staging.customers").

A logical name maps to a path `<warehouse.dir>/<layer>/<table>` by default, or to a
catalog table (`catalog.schema.table`) when the config maps it. Every write in the
pipeline goes through here, so transforms stay storage-free and a failed write is
reported with the table it was writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, functions as F

from rfm_spark.config import WarehouseSettings
from rfm_spark.errors import PipelineError, RfmError


@dataclass(frozen=True)
class TableRef:
    name: str  # logical name, e.g. "staging.customers"
    path: str | None = None
    catalog_name: str | None = None

    def __str__(self) -> str:
        return self.catalog_name or self.path or self.name


class Warehouse:
    """Reads, overwrites, appends and merges the pipeline's Delta tables."""

    def __init__(self, spark: SparkSession, settings: WarehouseSettings):
        self.spark = spark
        self.settings = settings

    def ref(self, name: str) -> TableRef:
        catalog_name = self.settings.tables.get(name)
        if catalog_name:
            return TableRef(name, catalog_name=catalog_name)
        layer, table = name.split(".", 1)
        return TableRef(name, path=str(PurePosixPath(self.settings.dir) / layer / table))

    def exists(self, name: str) -> bool:
        ref = self.ref(name)
        if ref.catalog_name:
            return self.spark.catalog.tableExists(ref.catalog_name)
        return DeltaTable.isDeltaTable(self.spark, ref.path)

    def read(self, name: str) -> DataFrame:
        ref = self.ref(name)
        if ref.catalog_name:
            return self.spark.read.table(ref.catalog_name)
        return self.spark.read.format("delta").load(ref.path)

    def delta_table(self, name: str) -> DeltaTable:
        ref = self.ref(name)
        if ref.catalog_name:
            return DeltaTable.forName(self.spark, ref.catalog_name)
        return DeltaTable.forPath(self.spark, ref.path)

    def version(self, name: str) -> int | None:
        """Current Delta version of a table, None when it does not exist yet."""
        if not self.exists(name):
            return None
        last = self.delta_table(name).history(1).select("version").first()
        return int(last["version"]) if last else None

    # ----------------------------------------------------------------- writes

    def overwrite(self, df: DataFrame, name: str) -> None:
        """Replace the table's content (schema too) in one Delta transaction."""
        self._write(df, name, mode="overwrite")

    def append(self, df: DataFrame, name: str) -> None:
        """Add rows in one Delta transaction; new columns are merged into the schema."""
        self._write(df, name, mode="append")

    def merge_upsert(
        self,
        df: DataFrame,
        name: str,
        keys: Sequence[str],
        newer_than: str | None = None,
    ) -> None:
        """Upsert `df` (one row per key) into the table on `keys`.

        With `newer_than` (a column name) a matched row is replaced only when the source's
        value is greater, so a late delivery of an older version changes nothing. A row
        identical to the target is never rewritten. Creates the table on first use.
        """
        ref = self.ref(name)
        if not self.exists(name):
            self.overwrite(df, name)
            return
        condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        changed = " OR ".join(
            f"NOT (t.`{c}` <=> s.`{c}`)" for c in df.columns if c not in keys
        ) or "false"
        update_when = f"s.`{newer_than}` > t.`{newer_than}`" if newer_than else f"({changed})"
        try:
            (
                self.delta_table(name)
                .alias("t")
                .merge(df.alias("s"), condition)
                .whenMatchedUpdateAll(condition=update_when)
                .whenNotMatchedInsertAll()
                .execute()
            )
        except RfmError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the table being written
            raise PipelineError(_short(exc), table=str(ref)) from exc

    def _write(self, df: DataFrame, name: str, mode: str) -> None:
        ref = self.ref(name)
        writer = df.write.format("delta").mode(mode)
        writer = writer.option("overwriteSchema" if mode == "overwrite" else "mergeSchema", "true")
        try:
            if ref.catalog_name:
                self._ensure_schema(ref.catalog_name)
                writer.saveAsTable(ref.catalog_name)
            else:
                writer.save(ref.path)
        except Exception as exc:  # noqa: BLE001 - reported with the table being written
            raise PipelineError(_short(exc), table=str(ref)) from exc

    def _ensure_schema(self, catalog_name: str) -> None:
        parts = catalog_name.split(".")
        if len(parts) >= 2:
            self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {'.'.join(parts[:-1])}")


def _short(exc: Exception) -> str:
    """First line of a (possibly Java) exception message, for a person to read."""
    text = str(exc).strip().splitlines()
    return text[0][:500] if text else type(exc).__name__


def with_run_id(df: DataFrame, run_id: str) -> DataFrame:
    return df.withColumn("_run_id", F.lit(run_id))

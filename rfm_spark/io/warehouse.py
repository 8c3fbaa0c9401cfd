"""Delta tables of the warehouse, addressed by logical name ("staging.customers").

A logical name maps to a path `<warehouse.dir>/<layer>/<table>` by default, or to a
catalog table (`catalog.schema.table`) when the config maps it. Every write in the
pipeline goes through here, so transforms stay storage-free and a failed write is
reported with the table it was writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Observation, Row, SparkSession
from pyspark.sql import functions as F

from rfm_spark.config import WarehouseSettings
from rfm_spark.config.guards import quote_name
from rfm_spark.errors import PipelineError, RfmError, write_failure
from rfm_spark.io import classic_only, merge_statements
from rfm_spark.io.commit import NO_COMMIT, Commit
from rfm_spark.io.group_scope import rewrites_the_table, scope_to_name
from rfm_spark.io.listing import local_path
from rfm_spark.io.upsert_changes import computed_changes, same_keys

# Audit tables are created without `table_properties`: Delta 4.0's deletion-vector delete
# fails on a column named `path` ([AMBIGUOUS_REFERENCE] `filePath`, audit.processed_files).
AUDIT = "audit."
# Delta keeps file statistics on 32 columns unless told which (Model.stats_columns).
STATS_COLUMNS = "delta.dataSkippingStatsColumns"
# Reading a path that holds no Delta table: nothing there, or no _delta_log.
NOT_A_DELTA_TABLE = ("PATH_NOT_FOUND", "DELTA_TABLE_NOT_FOUND")
# An upsert into a table this large computes its changed rows before it writes. Below it,
# one MERGE: its passes over the table cost less than the jobs that work the changes out
# (measured: +0.5-1.1 s per warm incremental run of the 1,500-order sample with them).
CHANGES_FIRST_FROM_BYTES = 16 * 2**20


@dataclass(frozen=True)
class TableRef:
    name: str  # logical name, e.g. "staging.customers"
    path: str | None = None
    catalog_name: str | None = None

    def __str__(self) -> str:
        return self.catalog_name or self.path or self.name

    @property
    def sql(self) -> str:
        """The table in SQL: a quoted catalog name, or delta.`path`."""
        if self.catalog_name:
            return quote_name(self.catalog_name)
        path = str(self.path)
        if ":" not in path.split("/", 1)[0] and not path.startswith("/"):
            path = os.path.abspath(path)  # delta.`...` takes absolute paths only
        return "delta.`" + path.replace("`", "``") + "`"


class Warehouse:
    """Reads, overwrites, appends and merges the pipeline's Delta tables."""

    def __init__(self, spark: SparkSession, settings: WarehouseSettings,
                 versioned: Callable[[str], bool] = lambda name: True,
                 stats_columns: Callable[[str], Sequence[str]] = lambda name: ()):
        """`versioned(name)`: whether a write to the table reads back its new version
        (and a MERGE its metrics): one log query per write, spent only on the tables whose
        versions a run publishes. `stats_columns(name)`: the columns a table created here
        keeps file statistics on (none: Delta's default)."""
        self.spark = spark
        self.settings = settings
        self.versioned = versioned
        self.stats_columns = stats_columns
        self.commits: dict[str, Commit] = {}  # the latest commit of each table written
        self._present: set[str] = set()  # tables known to exist (the pipeline drops none)

    def ref(self, name: str) -> TableRef:
        catalog_name = self.settings.tables.get(name)
        if not catalog_name and self.settings.catalog_schema:
            catalog_name = f"{self.settings.catalog_schema}.{name.replace('.', '_')}"
        if catalog_name:
            return TableRef(name, catalog_name=catalog_name)
        layer, table = name.split(".", 1)
        return TableRef(name, path=str(PurePosixPath(self.settings.dir) / layer / table))

    def exists(self, name: str) -> bool:
        """Whether the table exists (asked once per table and run once it does)."""
        if name in self._present:
            return True
        ref = self.ref(name)
        if ref.catalog_name:
            found = self.spark.catalog.tableExists(quote_name(ref.catalog_name))
        elif classic_only.is_classic(self.spark) and not classic_only.is_folder(
                self.spark, ref.path):  # no failed query: Spark 4.0 logs each as a stack trace
            found = False  # (its observation listener, once a write has been observed)
        else:
            try:  # resolving it reads the log, no Spark job (DESCRIBE HISTORY runs one)
                found = self.read(name).schema is not None
            except AnalysisException as exc:
                if not any(code in str(exc) for code in NOT_A_DELTA_TABLE):
                    raise
                found = False
        if found:
            self._present.add(name)
        return found

    def read(self, name: str, version: int | None = None) -> DataFrame:
        """The table now, or at a Delta version (a run's published state)."""
        ref = self.ref(name)
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        if ref.catalog_name:
            return reader.table(quote_name(ref.catalog_name))
        return reader.load(ref.path)

    def last_commit(self, name: str) -> tuple[int | None, dict[str, str]]:
        """Version and operation metrics of the table's latest commit: on a classic session
        from its local log folder (~6 ms), else from DESCRIBE HISTORY (0.1-1 s and a
        Spark job; its row taken whole: a projection of it would cost a second job)."""
        ref = self.ref(name)
        local = (classic_only.latest_commit(self.spark, f"{ref.path}/_delta_log")
                 if ref.path and local_path(ref.path) is not None
                 and classic_only.is_classic(self.spark) else None)
        if local is not None:
            return local
        row = self.spark.sql(f"DESCRIBE HISTORY {ref.sql} LIMIT 1").first()
        if row is None:
            return None, {}
        return int(row["version"]), dict(row["operationMetrics"] or {})

    # ----------------------------------------------------------------- writes

    def overwrite(self, df: DataFrame, name: str, metrics: Sequence[Column] = ()) -> Commit:
        """Replace the table's content (schema too) in one Delta transaction. `metrics`:
        aggregates over the rows written, counted by the write job (Commit.observed)."""
        return self._write(df, name, mode="overwrite", metrics=metrics)

    def append(self, df: DataFrame, name: str) -> Commit:
        """Add rows in one Delta transaction; new columns are merged into the schema."""
        return self._write(df, name, mode="append")

    def replace_where(self, df: DataFrame, name: str, column: str, values: Sequence[str],
                      metrics: Sequence[Column] = ()) -> Commit:
        """Atomically replace the rows whose `column` is in `values` with `df` (one commit).

        Re-running it with the same input leaves the same rows: this is how rows that belong
        to a raw file (quarantine, version logs) are written exactly once per file.
        """
        if not self.exists(name):
            return self.overwrite(df, name, metrics)
        if not values:
            return NO_COMMIT
        listed = ", ".join(merge_statements.sql_literal(v) for v in sorted(set(values)))
        return self._write(df, name, mode="overwrite", replace_where=f"`{column}` IN ({listed})",
                           metrics=metrics)

    def upsert(self, df: DataFrame, name: str, keys: Sequence[str],
               newer_than: str | None = None, rows_at_most: int | None = None) -> Commit:
        """Upsert `df` (one row per key) into the table on `keys`; creates it on first use.
        A matched row is replaced only when it differs and, with `newer_than`, is newer. A
        table of CHANGES_FIRST_FROM_BYTES or more has its changed rows computed first
        (upsert_changes; `rows_at_most`: a bound on `df`'s rows, if the caller knows one):
        none, no commit; as many as its files or more (rewrites_the_table), it is
        rewritten; else they are MERGEd. Commit.rows: the rows inserted or replaced."""
        if not self.exists(name):
            return self.overwrite(df, name)
        current, detail = self.read(name), self._detail(name)
        computed = (computed_changes(current, df, keys, newer_than, rows_at_most)
                    if detail["sizeInBytes"] >= CHANGES_FIRST_FROM_BYTES else None)
        clauses = merge_statements.upsert(df.columns, keys, newer_than)
        if computed is None:  # a small table, no checkpoints, another schema: one MERGE
            return self._merge(name, df, clauses)
        changed, changes = computed
        if changes == 0:
            return NO_COMMIT
        if not rewrites_the_table(changes, detail):
            return self._merge(name, changed, clauses)
        version = self._rewrite(name, current, changed.alias("s"), same_keys(keys),
                                changed).version
        self.commits[name] = Commit(version, changes)
        return self.commits[name]

    def replace_groups(self, df: DataFrame, name: str, group_keys: Sequence[str],
                       row_keys: Sequence[str], groups: DataFrame) -> Commit:
        """Make the table's rows of every group in `groups` equal to `df`'s, in one commit;
        other groups are untouched. (Order lines of re-sent orders, summary rows of
        customers whose orders changed.) The groups are collected (one small job). When
        they are at least as many as the table's files (rewrites_the_table) the table is
        rewritten: its rows outside the groups, then `df`. Otherwise one MERGE deletes the
        groups' rows `df` no longer has, updates changed rows and inserts new ones; it names
        the groups in the statement, or, past INLINE_SCOPE_KEYS, its source marks the rows
        to delete."""
        if not self.exists(name):
            return self.overwrite(df, name)
        scope = groups.select(*group_keys).distinct()
        named = scope_to_name(scope, group_keys)
        if named == []:
            return NO_COMMIT  # no group in scope: nothing to replace
        current = self.read(name)
        if (len(group_keys) == 1 and dict(current.dtypes) == dict(df.dtypes)
                and rewrites_the_table(None if named is None else len(named),
                                       self._detail(name))):
            chosen = F.broadcast(scope) if named is not None else scope
            return self._rewrite(name, current, chosen, list(group_keys), df)
        clauses = None
        if named is not None:
            with contextlib.suppress(TypeError):  # a value with no SQL literal: marked rows
                clauses = merge_statements.replace_named_groups(df.columns, group_keys[0],
                                                                row_keys, named)
        if clauses is not None:
            return self._merge(name, df, clauses)
        in_scope = current.join(scope, on=list(group_keys), how="left_semi")
        gone = in_scope.select(*row_keys).join(df.select(*row_keys), on=list(row_keys),
                                               how="left_anti")
        source = df.withColumn("_action", F.lit("upsert")).unionByName(
            gone.withColumn("_action", F.lit("delete")), allowMissingColumns=True)
        return self._merge(name, source, merge_statements.replace_marked_rows(
            df.columns, row_keys, "_action"))

    def _detail(self, name: str) -> Row:
        """DESCRIBE DETAIL of the table (its log only): numFiles, sizeInBytes, properties."""
        return self.spark.sql(f"DESCRIBE DETAIL {self.ref(name).sql}").first()

    def _rewrite(self, name: str, current: DataFrame, replaced: DataFrame, on: Column | list,
                 rows: DataFrame) -> Commit:
        """The table rewritten in one overwrite that keeps its schema: its rows without a
        match in `replaced` (on `on`: t is the table), then `rows`."""
        kept = current.alias("t").join(replaced, on, "left_anti")
        return self._write(kept.unionByName(rows).select(*current.columns), name,
                           mode="overwrite", keep_schema=True)

    def _merge(self, name: str, source: DataFrame, clauses: str) -> Commit:
        """One SQL MERGE INTO the table from `source` (aliased s; the target is t), through a
        temporary view: the same statement on classic sessions, Spark Connect and
        Databricks, without the Delta Python client."""
        ref = self.ref(name)
        view = f"rfm_merge_source_{uuid.uuid4().hex}"
        source.createOrReplaceTempView(view)
        try:
            self.spark.sql(f"MERGE INTO {ref.sql} t USING {view} s {clauses}")
            commit = self.commits[name] = (Commit.of_merge(*self.last_commit(name))
                                           if self.versioned(name) else Commit(None, -1))
        except RfmError:
            raise
        except Exception as exc:
            raise PipelineError(write_failure(exc), table=str(ref)) from exc
        finally:
            self.spark.catalog.dropTempView(view)
        return commit

    def _write(self, df: DataFrame, name: str, mode: str, replace_where: str | None = None,
               metrics: Sequence[Column] = (), keep_schema: bool = False) -> Commit:
        ref = self.ref(name)
        # Spark Connect reports only a write's outermost observation; its counts come back
        # as one JSON object, read by its name (classic_only.observed)
        written = Observation()
        counts = F.to_json(F.struct(F.count(F.lit(1)).alias("rows"), *metrics))
        writer = df.observe(written, counts.alias("counts")).write.format("delta").mode(mode)
        for key, value in self._creation_properties(name).items():
            writer = writer.option(key, value)
        if replace_where:
            writer = writer.option("replaceWhere", replace_where).option("mergeSchema", "true")
        elif mode == "overwrite" and not keep_schema:
            writer = writer.option("overwriteSchema", "true")
        else:
            writer = writer.option("mergeSchema", "true")
        try:
            if ref.catalog_name:
                self._ensure_schema(ref.catalog_name)
                writer.saveAsTable(quote_name(ref.catalog_name))
            else:
                writer.save(ref.path)
            version = self.last_commit(name)[0] if self.versioned(name) else None
            totals = json.loads(classic_only.observed(self.spark, written, "counts"))
            commit = self.commits[name] = Commit(version, int(totals.pop("rows")), totals)
            self._present.add(name)
        except Exception as exc:
            raise PipelineError(write_failure(exc), table=str(ref)) from exc
        return commit

    def _creation_properties(self, name: str) -> dict[str, str]:
        """Properties for a write that creates the table (Delta ignores them on an existing
        one): statistics on its lookup columns, then `table_properties` (not on audit)."""
        stats = self.stats_columns(name)
        return {**({STATS_COLUMNS: ",".join(stats)} if stats else {}),
                **({} if name.startswith(AUDIT) else self.settings.table_properties)}

    def _ensure_schema(self, catalog_name: str) -> None:
        parts = catalog_name.split(".")
        if len(parts) >= 2:
            self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {quote_name('.'.join(parts[:-1]))}")

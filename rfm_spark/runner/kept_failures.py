"""The `unique` and `relationships` rules of the staging checks, from failing rows kept
between runs (audit.dq_failing_rows; see rfm_spark/quality/failing_rows.py).

A full refresh evaluates them on the whole tables and keeps the failing rows. An incremental
run starts from the rows kept for a rule when they describe the table as it was before the
run's own write (same rule definition, same Delta version) and re-checks only the keys the
run changed: a `unique` rule whose columns hold the table's write keys, a `relationships`
rule to a parent that is only ever upserted on the field it names. Anything else (no kept
rows, a run in between that wrote the table without checking it, too many changed keys) is
evaluated on the whole table, as before. Either way the kept rows are replaced in one write
and the results are read from what was written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.audit_schemas import FAILING_ROWS
from rfm_spark.config import QualityRule, Settings
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.materialize import local_checkpoint
from rfm_spark.model import Upsert
from rfm_spark.quality import failing_rows as fr
from rfm_spark.quality.checks import failing_sample
from rfm_spark.runner.writes import write

log = logging.getLogger("rfm_spark.quality")
STATE = "audit.dq_failing_rows"
# Above this many changed keys a table's rules are evaluated whole: the changed keys are
# broadcast, and past some point one pass over the table costs less.
MAX_CHANGED_KEYS = 1_000_000

Known = tuple[int, list[str], str]  # failed rows, failing-keys sample, detail


@dataclass(frozen=True)
class Changes:
    """What a run changed in one staging table: the columns its write finds rows by, and
    the rows of those columns it changed (None: everything, a full refresh)."""

    scope: tuple[str, ...]
    keys: DataFrame | None


def _versions(wh: Warehouse, table: str) -> tuple[int | None, int | None]:
    """The table's Delta version before this run's write of it, and now."""
    now = wh.last_commit(table)[0]
    written = table in wh.commits and now is not None
    return (now - 1 if written else now), now


def _markers(wh: Warehouse) -> dict[tuple[str, str], tuple[str, int]]:
    if not wh.exists(STATE):
        return {}
    rows = wh.read(STATE).where(F.col("scope_key").isNull()).collect()
    return {(r["table"], r["rule"]): (r["definition"], r["table_version"]) for r in rows}


def _incremental_ok(rule: QualityRule, scope: tuple[str, ...], child: DataFrame,
                    lookup: Callable[[str], DataFrame]) -> bool:
    """Whether the rule's failures outside the changed keys are the kept ones."""
    if rule.type == "unique":
        return set(scope) <= set(rule.columns)
    parent = registry.TABLES.get(rule.to)
    if parent is None or not isinstance(parent.write, Upsert) or parent.write.keys != (
            rule.field,):
        return False  # a parent that can lose values may orphan unchanged rows
    return dict(child.dtypes).get(rule.column) == dict(lookup(rule.to).dtypes).get(rule.field)


def kept_failures(wh: Warehouse, settings: Settings, frames: Mapping[str, DataFrame],
                  changes: Mapping[str, Changes], lookup: Callable[[str], DataFrame]
                  ) -> dict[str, dict[str, Known]]:
    """{table: {rule name: (failed rows, sample, detail)}} for the unique and relationships
    rules of the changed tables, the kept rows replaced by the ones found now."""
    if not changes:
        return {}
    marks = _markers(wh)
    kept = _computed(wh.read(STATE).where(F.col("scope_key").isNotNull())) if marks else None

    def one(table: str, change: Changes) -> _Found:
        return _found(wh, settings, table, change, frames[table], lookup, marks, kept)

    # tables side by side: each waits mostly on log reads and small jobs
    with ThreadPoolExecutor(max_workers=max(1, len(changes)),
                            thread_name_prefix="rfm-kept") as pool:
        found = [f.result() for f in [pool.submit(one, t, c) for t, c in changes.items()]]
    markers = [m for f in found for m in f.markers]
    if not markers:
        return {}
    if any(f.rewrite for f in found):
        state = wh.spark.createDataFrame(markers, FAILING_ROWS)
        for part in (p for f in found for p in f.parts):
            state = state.unionByName(part)
        write(wh, registry.table(STATE), state.select(*fr.STATE_COLUMNS))
    return _results(wh, settings, changes)


@dataclass
class _Found:
    parts: list[DataFrame] = field(default_factory=list)  # the failing rows found, per rule
    markers: list[tuple] = field(default_factory=list)
    rewrite: bool = False  # whether the kept rows change


def _found(wh: Warehouse, settings: Settings, table: str, change: Changes, df: DataFrame,
           lookup: Callable[[str], DataFrame], marks: Mapping[tuple[str, str], tuple[str, int]],
           kept: DataFrame | None) -> _Found:
    """One table's unique and relationships rules: from the kept rows and the changed keys
    where they can be, else on the whole table."""
    spec = settings.quality.tables.get(table)
    rules = [r for r in (spec.rules if spec else []) if r.type in fr.KEPT_RULES
             and r.severity != "quarantine"]
    out = _Found()
    if not rules:
        return out
    before, now = _versions(wh, table)
    key = tuple(spec.key)
    changed, count, rows = None, None, None
    if change.keys is not None and kept is not None:
        changed = _computed(change.keys.select(
            fr.key_text(change.scope).alias("scope_key")).distinct())
        count = changed.count()
    whole = []
    for rule in rules:
        meaning = fr.definition(rule, key)
        incremental = (changed is not None and count <= MAX_CHANGED_KEYS
                       and marks.get((table, rule.rule_name)) == (meaning, before)
                       and _incremental_ok(rule, change.scope, df, lookup))
        if incremental:
            rows = rows if rows is not None else _computed(fr.rows_of(df, changed, change.scope))
            found = _recheck(rows, table, rule, key, change.scope, changed, lookup, kept)
            out.rewrite = out.rewrite or count > 0 or before != now
        else:
            whole.append(rule.rule_name)
            found = _whole(df, table, rule, key, change.scope, lookup)
            out.rewrite = True
        out.parts.append(found.withColumn("definition", F.lit(meaning))
                         .withColumn("table_version", F.lit(now).cast("long")))
        out.markers.append((table, rule.rule_name, meaning, now, None, None, None, 0))
    how = (f"on the whole table ({', '.join(whole)})" if whole else
           f"on {count:,} changed key(s) and the kept failures")
    log.info("checks %-29s %d unique / relationships rule(s) %s", table, len(rules), how)
    return out


def _computed(df: DataFrame) -> DataFrame:
    """A small frame used several times, computed once (one scan of its Delta table
    instead of one per use, each with its own file listing)."""
    return local_checkpoint(df) or df


def _whole(df: DataFrame, table: str, rule: QualityRule, key: tuple[str, ...],
           scope: tuple[str, ...], lookup: Callable[[str], DataFrame]) -> DataFrame:
    if rule.type == "unique":
        return fr.duplicated_keys(df, table, rule, scope)
    return fr.orphans(df, table, rule, key, scope, lookup(rule.to))


def _recheck(rows: DataFrame, table: str, rule: QualityRule, key: tuple[str, ...],
             scope: tuple[str, ...], changed: DataFrame, lookup: Callable[[str], DataFrame],
             kept: DataFrame) -> DataFrame:
    """The rule's kept failures outside the changed keys, and the failures among `rows`
    (the table's rows of the changed keys); kept orphans are looked up again, with the
    changed rows, in one read of the parent."""
    before = fr.outside(kept.where((F.col("table") == table)
                                   & (F.col("rule") == rule.rule_name)), changed)
    if rule.type == "unique":
        fresh = fr.duplicated_keys(rows, table, rule, scope)
        return before.select(*fresh.columns).unionByName(fresh)
    fresh = fr.candidates(rows, table, rule, key, scope)
    return fr.not_in_parent(before.select(*fresh.columns).unionByName(fresh),
                            lookup(rule.to), rule)


def _results(wh: Warehouse, settings: Settings, changes: Mapping[str, Changes]
             ) -> dict[str, dict[str, Known]]:
    found = {(r["table"], r["rule"]): r for r in fr.summary(wh.read(STATE)).collect()}
    out: dict[str, dict[str, Known]] = {}
    for table in changes:
        spec = settings.quality.tables.get(table)
        for rule in spec.rules if spec else []:
            if rule.type not in fr.KEPT_RULES or rule.severity == "quarantine":
                continue
            row = found.get((table, rule.rule_name))
            failed = int(row["failed"]) if row else 0
            sample = failing_sample(row["lo"], row["hi"]) if row else []
            detail = fr.failure_detail(rule, failed, int(row["keys"]) if row else 0)
            out.setdefault(table, {})[rule.rule_name] = (failed, sample, detail)
    return out

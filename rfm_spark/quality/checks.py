"""Evaluate data-quality rules on DataFrames, in as few Spark jobs as possible.

Per table, one aggregation evaluates the row rules, the row count, freshness, the
`relationships` rules (each parent's distinct keys joined first) and the first `unique` rule
(grouped by its columns, then summed); a further `unique` adds a grouped job, an `scd2` a
windowed one. Rules evaluated elsewhere (`known`) are left out. Failing-key samples are the
smallest and largest failing keys: bounded and deterministic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from rfm_spark.config import QualityRule, QualityTable
from rfm_spark.config.quality import ROW_RULES, parse_threshold
from rfm_spark.errors import DataQualityError
from rfm_spark.quality.failing_rows import failure_detail, key_text


@dataclass
class RuleResult:
    table: str
    rule: str
    column: str
    severity: str
    status: str  # pass | warn | error | quarantined
    failed_rows: int
    total_rows: int
    failing_keys_sample: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


class TableCheck(NamedTuple):
    results: list[RuleResult]
    rows: int | None  # the table's rows, counted by the rules' own pass (None: no rule)


def row_rule_failure(rule: QualityRule) -> Column:
    """True where a row fails a row rule. NULL passes every rule except not_null."""
    c = F.col(rule.column)
    if rule.type == "not_null":
        return c.isNull()
    if rule.type == "accepted_values":
        return c.isNotNull() & ~c.cast("string").isin(*rule.values)
    if rule.type == "regex":
        return c.isNotNull() & ~c.cast("string").rlike(rule.pattern)
    if rule.type == "range":
        outside = F.lit(False)
        if rule.min is not None:
            outside = outside | (c < F.lit(rule.min))
        if rule.max is not None:
            outside = outside | (c > F.lit(rule.max))
        return c.isNotNull() & outside
    raise ValueError(f"{rule.type} is not a row rule")


def _status(rule: QualityRule, failed: int, total: int) -> str:
    error_if = parse_threshold(rule.error_if, "error_if")
    warn_if = parse_threshold(rule.warn_if, "warn_if")
    if rule.severity == "error" and error_if.breached(failed, total):
        return "error"
    if warn_if.breached(failed, total):
        return "warn"
    return "pass"


def _key(columns: Sequence[str]) -> Column | None:
    return key_text(columns) if columns else None


def failing_sample(low, high) -> list[str]:
    """The smallest and largest failing keys (one when they are the same)."""
    return [k for k in dict.fromkeys([low, high]) if k is not None]


def check_table(
    df: DataFrame,
    table: str,
    spec: QualityTable,
    *,
    as_of: dt.date,
    run_time: dt.datetime,
    lookup: Callable[[str], DataFrame],
    known: Mapping[str, tuple[int, list[str], str]] | None = None,
) -> TableCheck:
    """The table's warn and error rules (quarantine ones run in staging) and its row count;
    `known`: {rule: (failed rows, sample, detail)} found elsewhere (runner/kept_failures)."""
    rules = [r for r in spec.rules if r.severity != "quarantine"]
    if not rules:
        return TableCheck([], None)
    known = known or {}
    key = _key(spec.key)
    evaluated = [r for r in rules if r.rule_name not in known]
    folded = next((i for i, r in enumerate(evaluated) if r.type == "unique"), None)
    # one Spark job for the rules above; a history's invariants count its rows themselves
    only_history = all(r.type == "scd2" for r in rules)
    row = None if only_history else _one_pass(_with_parents(df, evaluated, lookup), evaluated,
                                              key, folded)
    total = None if row is None else int(row["_total"] or 0)
    results, position = [], {id(r): j for j, r in enumerate(evaluated)}
    for rule in rules:
        i = position.get(id(rule))
        columns = ",".join(rule.target_columns)
        sample, detail, checked = [], "", total
        if i is None:
            failed, sample, detail = known[rule.rule_name]
        elif rule.type in ROW_RULES:
            failed = int(row[f"f{i}"] or 0)
            if key is not None:
                sample = failing_sample(row[f"lo{i}"], row[f"hi{i}"])
        elif rule.type == "row_count":
            failed, checked = (1 if total < rule.min else 0), 1
            detail = f"{total} rows, at least {int(rule.min)} expected"
        elif rule.type == "freshness":
            failed, checked, detail = _freshness(rule, row[f"latest{i}"], as_of, run_time)
        elif rule.type == "unique" and i == folded:
            failed = int(row["dup_rows"] or 0)
            sample = failing_sample(row["dup_lo"], row["dup_hi"])
            detail = failure_detail(rule, failed, int(row["dup_keys"] or 0))
        elif rule.type == "unique":
            failed, sample, detail = _duplicates(df, rule)
        elif rule.type == "scd2":
            failed, sample, detail, total = _history_breaks(df, rule.columns, key)
            checked = total
        else:  # relationships, in the one pass
            failed = int(row[f"f{i}"] or 0)
            sample = failing_sample(row[f"lo{i}"], row[f"hi{i}"])
            detail = failure_detail(rule, failed)
        results.append(RuleResult(table, rule.rule_name, columns, rule.severity,
                                  _status(rule, failed, checked), failed, checked, sample,
                                  detail))
    return TableCheck(results, total)


def _one_pass(df: DataFrame, rules: Sequence[QualityRule], key: Column | None,
              folded: int | None):
    """One job: the row count, every row rule's and relationships rule's failures and
    sample keys (`df` carries the parent marks of `_with_parents`), every freshness
    column's latest value and, for the unique rule at `folded`, the duplicated rows and
    keys (the rows grouped by its columns first, the partial results then summed)."""
    partial: list[Column] = [F.count(F.lit(1)).alias("_total")]
    final: list[Column] = [F.sum("_total").alias("_total")]
    for i, rule in enumerate(rules):
        if rule.type in ROW_RULES or rule.type == "relationships":
            fails, sample_key = _failure(rule, i, key)
            partial.append(F.count(F.when(fails, 1)).alias(f"f{i}"))
            final.append(F.sum(f"f{i}").alias(f"f{i}"))
            if sample_key is not None:
                partial += [F.min(F.when(fails, sample_key)).alias(f"lo{i}"),
                            F.max(F.when(fails, sample_key)).alias(f"hi{i}")]
                final += [F.min(f"lo{i}").alias(f"lo{i}"), F.max(f"hi{i}").alias(f"hi{i}")]
        elif rule.type == "freshness":
            partial.append(F.max(rule.column).alias(f"latest{i}"))
            final.append(F.max(f"latest{i}").alias(f"latest{i}"))
    if folded is None:
        return df.agg(*partial).first()
    columns = rules[folded].columns
    duplicated = F.col("_total") > 1
    group_key = _key(columns)
    return df.groupBy(*columns).agg(*partial).agg(
        *final,
        F.sum(F.when(duplicated, F.col("_total"))).alias("dup_rows"),
        F.count(F.when(duplicated, 1)).alias("dup_keys"),
        F.min(F.when(duplicated, group_key)).alias("dup_lo"),
        F.max(F.when(duplicated, group_key)).alias("dup_hi"),
    ).first()


def _failure(rule: QualityRule, i: int, key: Column | None) -> tuple[Column, Column | None]:
    """Where a row fails the row or relationships rule at `i`, and the key its sample shows
    (a relationship without a table key shows the value not found)."""
    if rule.type == "relationships":  # a value its parent does not hold
        return (F.col(rule.column).isNotNull() & F.col(_parent_mark(i)).isNull(),
                key if key is not None else F.col(rule.column).cast("string"))
    return row_rule_failure(rule), key


def _parent_mark(i: int) -> str:
    return f"_parent{i}"


def _with_parents(df: DataFrame, rules: Sequence[QualityRule],
                  lookup: Callable[[str], DataFrame]) -> DataFrame:
    """`df` with, for each `relationships` rule, a column that is TRUE where the parent
    holds the row's value and NULL where it does not (the parent's distinct keys, joined
    left: the rows stay as they are)."""
    for i, rule in enumerate(rules):
        if rule.type != "relationships":
            continue
        value = f"_parent_key{i}"
        parents = (lookup(rule.to).select(F.col(rule.field).alias(value)).distinct()
                   .withColumn(_parent_mark(i), F.lit(True)))
        df = df.join(parents, F.col(rule.column) == F.col(value), "left").drop(value)
    return df


def _freshness(rule: QualityRule, latest, as_of: dt.date, run_time: dt.datetime):
    reference = as_of if rule.relative_to == "as_of" else run_time.date()
    if latest is None:
        return 1, 1, f"no {rule.column} at all"
    latest_day = latest.date() if isinstance(latest, dt.datetime) else latest
    age = (reference - latest_day).days
    stale = age > rule.max_age_days
    return (1 if stale else 0), 1, (f"latest {rule.column} {latest_day}, {age} day(s) before "
                                    f"{rule.relative_to} {reference} (max {rule.max_age_days})")


def _duplicates(df: DataFrame, rule: QualityRule) -> tuple[int, list[str], str]:
    key = _key(rule.columns)
    dupes = (
        df.groupBy(*rule.columns).agg(F.count(F.lit(1)).alias("_n"))
        .where(F.col("_n") > 1)
        .agg(F.sum("_n").alias("rows"), F.count(F.lit(1)).alias("keys"),
             F.min(key).alias("lo"), F.max(key).alias("hi"))
        .first()
    )
    rows = int(dupes["rows"] or 0)
    detail = failure_detail(rule, rows, int(dupes["keys"] or 0))
    return rows, failing_sample(dupes["lo"], dupes["hi"]), detail


def _history_breaks(df: DataFrame, key_columns: Sequence[str], key: Column | None
                    ) -> tuple[int, list[str], str, int]:
    """SCD2 invariants per key: valid_from < valid_to, no overlapping intervals, at most one
    current row (and is_current exactly when valid_to is NULL), no two consecutive
    versions with the same row_hash (touching intervals, the first not ended by a delete)."""
    ordered = W.partitionBy(*key_columns).orderBy("valid_from")
    whole = W.partitionBy(*key_columns)
    previous_to = F.lag("valid_to").over(ordered)
    has_previous = F.lag("valid_from").over(ordered).isNotNull()
    ended_by_delete = (F.lag("is_deleted").over(ordered) if "is_deleted" in df.columns
                       else F.lit(False))
    checks = {
        "empty_interval": F.col("valid_to").isNotNull()
        & (F.col("valid_to") <= F.col("valid_from")),
        "overlap": has_previous & (previous_to.isNull() | (previous_to > F.col("valid_from"))),
        "several_current": F.sum(F.col("is_current").cast("int")).over(whole) > 1,
        "current_flag": F.col("is_current") != F.col("valid_to").isNull(),
        "repeated_version": has_previous & (F.lag("row_hash").over(ordered) == F.col("row_hash"))
        & (previous_to == F.col("valid_from")) & ~F.coalesce(ended_by_delete, F.lit(False)),
    }
    flagged = df.select(
        "*", *[F.coalesce(c, F.lit(False)).alias(f"_{n}") for n, c in checks.items()])
    any_break = F.lit(False)
    for name in checks:
        any_break = any_break | F.col(f"_{name}")
    sample_key = key if key is not None else _key(key_columns)
    row = flagged.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count(F.when(any_break, 1)).alias("n"),
        F.min(F.when(any_break, sample_key)).alias("lo"),
        F.max(F.when(any_break, sample_key)).alias("hi"),
        *[F.count(F.when(F.col(f"_{name}"), 1)).alias(name) for name in checks],
    ).first()
    detail = ", ".join(f"{name} {row[name]}" for name in checks if row[name])
    return int(row["n"]), failing_sample(row["lo"], row["hi"]), detail, int(row["rows"])


def results_rows(run_id: str, results: Sequence[RuleResult], checked_at: dt.datetime) -> list:
    return [
        (run_id, r.table, r.rule, r.column, r.severity, r.status, r.failed_rows, r.total_rows,
         r.passed, r.failing_keys_sample, r.detail, checked_at)
        for r in results
    ]


def render_failures(results: Sequence[RuleResult]) -> str:
    """A compact table of the rules that did not pass (empty string when all passed)."""
    failing = [r for r in results if not r.passed]
    if not failing:
        return ""
    lines = [f"{'status':<11} {'table':<36} {'rule':<38} {'failed':>9} {'of':>10}  sample / detail"]
    for r in failing:
        note = ", ".join(r.failing_keys_sample)
        note = f"{note}; {r.detail}" if note and r.detail else note or r.detail
        lines.append(f"{r.status:<11} {r.table:<36} {r.rule:<38} {r.failed_rows:>9,} "
                     f"{r.total_rows:>10,}  {note}")
    return "\n".join(lines)


def raise_on_errors(results: Sequence[RuleResult]) -> None:
    errors = [r for r in results if r.status == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more error rule(s))" if len(errors) > 1 else ""
        raise DataQualityError(
            f"data-quality rule {first.rule} failed on {first.table}: {first.failed_rows:,} "
            f"of {first.total_rows:,} row(s){more}; marts were not published"
        )

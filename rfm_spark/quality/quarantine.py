"""Quarantine-severity rules, evaluated as staging types each raw row: a row that fails one
carries the rule's name in `_dq_reasons` and goes to quarantine; the rows each rule moved
are counted in the job that reads the raw files."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from rfm_spark.config import QualityRule
from rfm_spark.functions import reasons
from rfm_spark.quality.checks import RuleResult, row_rule_failure
from rfm_spark.staging.cleansing import REASONS


def with_quarantine_rules(validated: DataFrame, rules: Sequence[QualityRule]) -> DataFrame:
    """Add the names of failed quarantine-severity rules to `_dq_reasons`."""
    checks = [(row_rule_failure(r), r.rule_name) for r in rules if r.severity == "quarantine"]
    if not checks:
        return validated
    return validated.withColumn(REASONS, F.concat(F.col(REASONS), reasons(checks)))


def quarantine_counts(rules: Sequence[QualityRule]) -> list[Column]:
    """Aggregates counting the rows each quarantine rule sent to quarantine."""
    return [
        F.count(F.when(F.array_contains(REASONS, r.rule_name), 1)).alias(f"q::{r.rule_name}")
        for r in rules if r.severity == "quarantine"
    ]


def quarantine_results(table: str, rules: Sequence[QualityRule], totals, rows_read: int
                       ) -> list[RuleResult]:
    out = []
    for rule in rules:
        if rule.severity != "quarantine":
            continue
        failed = int(totals[f"q::{rule.rule_name}"])
        out.append(RuleResult(table, rule.rule_name, ",".join(rule.target_columns),
                              "quarantine", "quarantined" if failed else "pass", failed,
                              rows_read, [], f"{failed} row(s) moved to quarantine"))
    return out

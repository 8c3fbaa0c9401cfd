"""What a data-quality rule means, and start-up validation of the configured rules.

Rule types (dbt's names): row rules `not_null`, `accepted_values`, `range`, `regex` are
decided row by row (NULL passes every row rule but not_null); set rules `unique`,
`relationships`, `row_count`, `freshness` look at the whole table.

Severity: `warn` (counted, rows kept), `quarantine` (row rules on staging tables only: the
row goes to quarantine with the rule's name among its reasons), `error` (the run stops
before publishing marts, exit 1). `error_if` / `warn_if` are thresholds on the failing
rows like dbt's: "> 10", ">= 5", "> 1%" (of the rows checked); a bare number N means "> N".
Default: any failing row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rfm_spark.config.schema import QualityRule, QualitySettings
from rfm_spark.errors import ConfigError

ROW_RULES = ("not_null", "accepted_values", "range", "regex")
SET_RULES = ("unique", "relationships", "row_count", "freshness", "scd2")
SEVERITIES = ("warn", "quarantine", "error")

REQUIRED_ARGS = {
    "not_null": ("column",),
    "unique": ("columns",),
    "accepted_values": ("column", "values"),
    "relationships": ("column", "to", "field"),
    "range": ("column",),
    "regex": ("column", "pattern"),
    "row_count": ("min",),
    "freshness": ("column", "max_age_days"),
    "scd2": ("columns",),  # the key; valid_from, valid_to, is_current, row_hash by name
}
_THRESHOLD = re.compile(r"^\s*(>=|>)?\s*(\d+(?:\.\d+)?)\s*(%)?\s*$")


@dataclass(frozen=True)
class Threshold:
    """failed_rows compared with a count, or with a percentage of the rows checked."""

    inclusive: bool
    value: float
    percent: bool

    def breached(self, failed: int, total: int) -> bool:
        amount = (100.0 * failed / total if total else 0.0) if self.percent else failed
        return amount >= self.value if self.inclusive else amount > self.value


ANY_FAILURE = Threshold(inclusive=False, value=0, percent=False)


def parse_threshold(text: str | None, key: str) -> Threshold:
    if text is None:
        return ANY_FAILURE
    match = _THRESHOLD.match(text)
    if not match:
        raise ConfigError(f"config key '{key}': expected a threshold like '> 10', '>= 5' or "
                          f"'> 1%', got {text!r}")
    op, number, percent = match.groups()
    return Threshold(inclusive=op == ">=", value=float(number), percent=bool(percent))


def validate_quality(quality: QualitySettings, tables: Mapping[str, tuple[str, ...]]) -> None:
    """Unknown tables, rule types, columns and severities are configuration errors (exit 2).
    `tables`: the tables rules may name, with their columns (the registry's)."""
    for table, spec in quality.tables.items():
        base = f"quality.tables.{table}"
        if table not in tables:
            raise ConfigError(f"unknown config key '{base}' (tables with rules: "
                              f"{', '.join(tables)})")
        columns = tables[table]
        for column in spec.key:
            if column not in columns:
                raise ConfigError(f"config key '{base}.key': {table} has no column {column!r}")
        names: set[str] = set()
        for i, rule in enumerate(spec.rules):
            _validate_rule(rule, table, tables, f"{base}.rules[{i}]")
            if rule.rule_name in names:
                raise ConfigError(f"config key '{base}.rules[{i}]': a second rule named "
                                  f"{rule.rule_name!r}; give one a `name`")
            names.add(rule.rule_name)


def _validate_rule(rule: QualityRule, table: str, tables: Mapping[str, tuple[str, ...]],
                   key: str) -> None:
    columns = tables[table]
    if rule.type not in REQUIRED_ARGS:
        raise ConfigError(f"config key '{key}.type': unknown rule type {rule.type!r} (known: "
                          f"{', '.join(REQUIRED_ARGS)})")
    if rule.severity not in SEVERITIES:
        raise ConfigError(f"config key '{key}.severity': expected one of "
                          f"{', '.join(SEVERITIES)}, got {rule.severity!r}")
    if rule.severity == "quarantine" and (rule.type not in ROW_RULES
                                          or not table.startswith("staging.")):
        raise ConfigError(f"config key '{key}.severity': quarantine applies to row rules "
                          f"({', '.join(ROW_RULES)}) on staging tables only")
    for arg in REQUIRED_ARGS[rule.type]:
        if getattr(rule, arg) in (None, []):
            raise ConfigError(f"missing config key '{key}.{arg}' (needed by {rule.type})")
    if rule.type == "range" and rule.min is None and rule.max is None:
        raise ConfigError(f"missing config key '{key}.min' (range needs min, max or both)")
    for column in rule.target_columns:
        if column not in columns:
            raise ConfigError(f"config key '{key}.column': {table} has no column {column!r}")
    if rule.type == "scd2":
        needed = [c for c in ("valid_from", "valid_to", "is_current", "row_hash")
                  if c not in columns]
        if needed:
            raise ConfigError(f"config key '{key}.type': scd2 needs a history table; {table} "
                              f"has no column {needed[0]!r}")
    if rule.type == "relationships":
        if rule.to not in tables:
            raise ConfigError(f"config key '{key}.to': unknown table {rule.to!r}")
        if rule.field not in tables[rule.to]:
            raise ConfigError(f"config key '{key}.field': {rule.to} has no column "
                              f"{rule.field!r}")
    if rule.type == "regex":
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            raise ConfigError(
                f"config key '{key}.pattern': bad regular expression: {exc}") from None
    if rule.type == "freshness" and rule.relative_to not in ("as_of", "run_time"):
        raise ConfigError(f"config key '{key}.relative_to': expected as_of or run_time, got "
                          f"{rule.relative_to!r}")
    parse_threshold(rule.error_if, f"{key}.error_if")
    parse_threshold(rule.warn_if, f"{key}.warn_if")

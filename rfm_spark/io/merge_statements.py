"""The clauses of the warehouse's MERGE statements (after `MERGE INTO <t> t USING <s> s`),
as SQL text: the same statement runs on classic sessions, Spark Connect and Databricks.

Pure string building, no Spark: the Warehouse runs them (rfm_spark/io/warehouse.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from rfm_spark.functions import row_order_sql

# The most group keys a replace-groups MERGE names in its statement. The text grows with
# them, and so does its parsing (measured here: 1.2 s at 10k keys, 2.7 s at 100k); past
# this the source marks the rows to delete instead (the crossover is not measured).
INLINE_SCOPE_KEYS = 20_000


def _matched_on(keys: Sequence[str]) -> str:
    return " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)


def _any_differs(columns: Sequence[str], keys: Sequence[str]) -> str:
    """Whether a matched pair differs in a column outside the keys (NULL-safe)."""
    differs = " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in columns if c not in keys)
    return f"({differs or 'false'})"


def upsert(columns: Sequence[str], keys: Sequence[str], newer_than: str | None) -> str:
    """Insert new keys; replace a matched row when it differs and, with `newer_than`, only
    when the source is newer (equal values: the greater row, as staging decides)."""
    update_when = _any_differs(columns, keys)
    if newer_than:
        t_row, s_row = row_order_sql("t", columns), row_order_sql("s", columns)
        newer = (f"(s.`{newer_than}` > t.`{newer_than}` OR (s.`{newer_than}` = "
                 f"t.`{newer_than}` AND {s_row} > {t_row}))")
        update_when = f"{newer} AND {update_when}"
    return f"""
        ON {_matched_on(keys)}
        WHEN MATCHED AND {update_when} THEN UPDATE SET *
        WHEN NOT MATCHED THEN INSERT *"""


def _assignments(columns: Sequence[str]) -> tuple[str, str, str]:
    names = ", ".join(f"`{c}`" for c in columns)
    values = ", ".join(f"s.`{c}`" for c in columns)
    return names, values, ", ".join(f"`{c}` = s.`{c}`" for c in columns)


def replace_named_groups(columns: Sequence[str], group_key: str, row_keys: Sequence[str],
                         groups: Sequence[object]) -> str:
    """The target's rows of `groups` (values of `group_key`, named in the statement) made
    equal to the source: changed rows updated, new ones inserted, and the groups' rows the
    source lacks deleted (NOT MATCHED BY SOURCE, so the source is never built from the
    target)."""
    names, values, assignments = _assignments(columns)
    listed = ", ".join(sql_literal(v) for v in groups)
    return f"""
        ON {_matched_on(row_keys)}
        WHEN MATCHED AND {_any_differs(columns, row_keys)} THEN UPDATE SET {assignments}
        WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})
        WHEN NOT MATCHED BY SOURCE AND t.`{group_key}` IN ({listed}) THEN DELETE"""


def replace_marked_rows(columns: Sequence[str], row_keys: Sequence[str],
                        action: str) -> str:
    """Same result from a source whose `action` column marks each row 'upsert', or
    'delete' for a target row of the groups that is gone (for scopes too large to name)."""
    names, values, assignments = _assignments(columns)
    return f"""
        ON {_matched_on(row_keys)}
        WHEN MATCHED AND s.{action} = 'delete' THEN DELETE
        WHEN MATCHED AND s.{action} = 'upsert' AND {_any_differs(columns, row_keys)}
            THEN UPDATE SET {assignments}
        WHEN NOT MATCHED AND s.{action} = 'upsert' THEN INSERT ({names}) VALUES ({values})"""


def sql_literal(value: object) -> str:
    """A key value as a Spark SQL literal (strings escaped); TypeError for other types."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__} {value!r}")

"""Column -> Column helpers: the project's equivalent of dbt macros.

Each one is small, pure and tested on its own (tests/test_functions.py).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from functools import reduce

from pyspark.sql import Column
from pyspark.sql import Window as W
from pyspark.sql import functions as F

ColumnOrName = Column | str

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def _col(c: ColumnOrName) -> Column:
    return F.col(c) if isinstance(c, str) else c


def trimmed(c: ColumnOrName) -> Column:
    """Trim white space; an empty string becomes NULL."""
    return F.nullif(F.trim(_col(c)), F.lit(""))


# Java regex: every Unicode space separator, control and format character (tab, NBSP,
# zero-width space, BOM, ...).
INVISIBLE = r"[\p{Z}\p{Cc}\p{Cf}\s]"


def nfkc(c: ColumnOrName) -> Column:
    """Unicode NFKC (full-width digits to ASCII, composed accents, NBSP to space), through
    ICU, which Spark ships for collations; ASCII text is returned as it is, unevaluated."""
    col = _col(c)
    normalised = F.reflect(F.lit("com.ibm.icu.text.Normalizer"), F.lit("compose"), col,
                           F.lit(True))
    return F.when(col.rlike(r"[^\x00-\x7F]"), normalised).otherwise(col)


# Ids NFKC and the removal of INVISIBLE leave as they are. `\z`, not `$`: Java's `$` also
# matches before a final line break, which the removal takes out.
PLAIN_ID = r"^[0-9A-Za-z]+\z"


def canonical_id(c: ColumnOrName) -> Column:
    """Ids as the warehouse keeps them: NFKC, with every space, control and format character
    removed, upper-case; NULL when nothing is left (' c0012 ', 'C\u200b0012' and 'Ｃ００１２'
    are all 'C0012'). An id of ASCII letters and digits only (almost every one) is only
    upper-cased: one regex test instead of two regexes and their string copies."""
    col = _col(c)
    cleaned = F.upper(F.nullif(F.regexp_replace(nfkc(col), INVISIBLE, ""), F.lit("")))
    return F.when(col.rlike(PLAIN_ID), F.upper(col)).otherwise(cleaned)


def squash_spaces(c: ColumnOrName) -> Column:
    """Trimmed, with inner runs of white space folded to one space."""
    return trimmed(F.regexp_replace(_col(c), r"\s+", " "))


def parse_timestamp(c: ColumnOrName, formats: Sequence[str]) -> Column:
    """The first of `formats` that parses the trimmed text; NULL when none does."""
    text = trimmed(c)
    return F.coalesce(*[F.try_to_timestamp(text, F.lit(fmt)) for fmt in formats])


def parse_date(c: ColumnOrName, formats: Sequence[str]) -> Column:
    """Like parse_timestamp, as a date."""
    return F.to_date(parse_timestamp(c, formats))


def parse_decimal(c: ColumnOrName, precision: int = 18, scale: int = 2) -> Column:
    """Decimal from text (rounded half-up to `scale`); NULL when it is not a number."""
    return trimmed(c).try_cast(f"decimal({precision},{scale})")


def parse_int(c: ColumnOrName) -> Column:
    """Whole number from text; NULL for '2.5', 'abc' or empty."""
    return trimmed(c).try_cast("int")


def parse_bool(c: ColumnOrName) -> Column:
    """true/false from the usual spellings (true, yes, y, 1 / false, no, n, 0); NULL otherwise."""
    word = F.lower(trimmed(c))
    return F.when(word.isin(*TRUE_WORDS), True).when(word.isin(*FALSE_WORDS), False)


def is_unparsable(text: ColumnOrName, parsed: ColumnOrName) -> Column:
    """The raw text holds something, but it did not parse."""
    return trimmed(text).isNotNull() & _col(parsed).isNull()


def reasons(checks: Iterable[tuple[Column, str]]) -> Column:
    """array<string> of the names whose condition is true (empty array when none is).

    Spark 4.0 evaluates `filter` without generated code, and with it the whole array of
    conditions: so the conditions are first tested together in generated code, and only a
    row that fails one (a few in a delivery) builds its array."""
    checks = list(checks)
    none = F.array().cast("array<string>")
    if not checks:
        return none
    flagged = [F.when(condition, F.lit(name)) for condition, name in checks]
    any_failed = reduce(operator.or_, [condition for condition, _ in checks])
    return F.when(any_failed, F.filter(F.array(*flagged), lambda r: r.isNotNull())
                  ).otherwise(none)


def map_values(c: ColumnOrName, mapping: dict[str, str]) -> Column:
    """Look `c` up in a Python dict turned into a literal map; NULL when absent."""
    if not mapping:
        return F.lit(None).cast("string")
    pairs = [F.lit(x) for item in sorted(mapping.items()) for x in item]
    return F.element_at(F.create_map(*pairs), _col(c))


def days_between(start: ColumnOrName, end: ColumnOrName) -> Column:
    """Whole days from `start` to `end` (dates or timestamps; negative when end is earlier)."""
    return F.datediff(F.to_date(_col(end)), F.to_date(_col(start)))


def ntile_score(
    n: int,
    order_by: ColumnOrName,
    *,
    ascending: bool = True,
    tie_breaker: ColumnOrName = "customer_id",
) -> Column:
    """ntile(n) over every row, 1..n, ordered by `order_by` then `tie_breaker` ascending.

    With ascending=True the largest values get n; with ascending=False the smallest do.
    The window has no partitionBy: all rows pass through one task. It is the reference
    implementation of the score; the pipeline uses rfm_spark.intermediate.ntile for
    large inputs.
    """
    key = _col(order_by).asc() if ascending else _col(order_by).desc()
    return F.ntile(n).over(W.orderBy(key, _col(tie_breaker).asc()))


def safe_ratio(numerator: ColumnOrName, denominator: ColumnOrName) -> Column:
    """numerator / denominator as a double; NULL when the denominator is 0 or NULL."""
    return F.try_divide(_col(numerator).cast("double"), _col(denominator).cast("double"))


def content_hash(columns: Sequence[str]) -> Column:
    """sha2 of the row's columns as JSON: a stored fingerprint of a row (the histories'
    row_hash)."""
    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in columns])), 256)


def row_order(columns: Sequence[str]) -> Column:
    """The row's columns as one struct, the deterministic last tie-breaker between two
    versions: the greater row wins, compared column by column in the declared order (NULL
    the smallest), so two rows tie only when they are equal. A sort compares it only
    between rows tied on everything before it; unlike a hash, nothing is computed for the
    other rows (a content hash of every row took ~0.2 of the 10M-order line choice)."""
    return F.struct(*[F.col(c) for c in columns])


def row_order_sql(alias: str, columns: Sequence[str]) -> str:
    """The same struct as SQL over `alias`.`column`, for MERGE conditions (Spark SQL
    compares structs with the ordering a sort uses)."""
    fields = ", ".join(f"{alias}.`{c}`" for c in columns)
    return f"struct({fields})"

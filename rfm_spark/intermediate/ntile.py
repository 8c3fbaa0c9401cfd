"""Exact ntile buckets and global ranks without a single-partition window or a checkpoint.

`F.ntile(n).over(Window.orderBy(...))` has no partitionBy, so Spark moves all rows into a
single task. Here an order is split into groups of rows that share a sort *position*: one
value of an integer key (recency, frequency, rfm_total) or one bin of an amount
(`monotone_bin`: equal amounts share a bin, and bins follow the amounts). A row's global
rank is the rows of the groups before its own (from the collected group sizes) plus its
number within its group, a window partitioned by the group.

ntile(n) needs less: with N rows, bucket k starts at rank s_k (the first N % n buckets hold
N // n + 1 rows, the others N // n). One tiny histogram (position -> rows, collected for
all scores at once) tells which group holds each s_k. A row of any other group gets its
bucket by comparing its position with those (at most n - 1) groups. Where a start falls
inside a group, the row it falls on is looked up among that group's rows only (a small
window, collected), and the group's rows pass it when their `within` values are at or
after that row's. No window runs over all rows. The results equal ntile and
row_number over all rows exactly, nulls placed as Spark places them (tests compare both on
random inputs with ties and nulls); functions.ntile_score stays as that reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

FIRST, LAST = -(2**63), 2**63 - 1  # positions of nulls (ascending: first; descending: last)
BINS_PER_E = 256  # monotone_bin: ~3,500 bins cover amounts from 1 to 1,000,000


@dataclass(frozen=True)
class Ordering:
    """A total order: `position` ascending (rows with equal positions form one group), then
    `within` ascending (columns, nulls first), the sort of the rows of one group."""

    position: Column
    within: tuple[Column, ...]


def position(value: Column, descending: bool = False) -> Column:
    """A long that sorts ascending as `value` sorts (integers), nulls where Spark puts them:
    first when ascending, last when descending."""
    if descending:
        return F.coalesce(-value.cast("long"), F.lit(LAST))
    return F.coalesce(value.cast("long"), F.lit(FIRST))


def monotone_bin(amount: Column) -> Column:
    """A bin of `amount` that never decreases as the amount grows (equal amounts share it):
    sign(x) * floor(ln(1 + |x|) * 256), i.e. bins ~0.4% wide relative to the amount."""
    magnitude = F.floor(F.log1p(F.abs(amount).cast("double")) * BINS_PER_E)
    return (F.signum(amount.cast("double")) * magnitude).cast("long")


def bucket_starts(total: int, n: int) -> list[int]:
    """The 1-based ranks at which ntile buckets 2..n start among `total` rows (past
    `total` for buckets left empty when there are fewer rows than buckets)."""
    size, bigger = divmod(total, n)
    return [(k - 1) * (size + 1) + 1 if k - 1 <= bigger
            else bigger * (size + 1) + (k - 1 - bigger) * size + 1
            for k in range(2, n + 1)]


def with_ntiles(df: DataFrame, n: int, orderings: Mapping[str, Ordering]) -> DataFrame:
    """`df` with one int column per ordering: ntile(n) over all rows in that order.

    One job collects the histograms; where a bucket starts inside a group, one more (per
    ordering) finds the row it starts at among that group's rows only. The buckets are
    then comparisons with those positions and rows: no window over `df`, which is read
    once more for the result (so it should be cheap to compute: a table, a checkpoint)."""
    orders = list(orderings.values())
    entries = F.explode(F.array(*[
        F.struct(F.lit(i).alias("kind"), o.position.alias("pos")) for i, o in enumerate(orders)
    ])).alias("e")
    histogram: dict[int, list[tuple[int, int]]] = {i: [] for i in range(len(orders))}
    for row in (df.select(entries).select("e.*").groupBy("kind", "pos")
                .agg(F.count(F.lit(1)).alias("rows")).collect()):
        histogram[row["kind"]].append((row["pos"], row["rows"]))
    out = df
    for i, name in enumerate(orderings):
        out = out.withColumn(name, _bucket(df, orders[i], n, sorted(histogram[i])))
    return out


def _bucket(df: DataFrame, order: Ordering, n: int, groups: list[tuple[int, int]]) -> Column:
    """1 + the bucket starts at or before the row: a start at the head of a group is passed
    by that group and all after it; a start inside a group, by the rows from the one it
    falls on (its `within` values, looked up among that group's rows) and all after."""
    inside: dict[int, list[int]] = {}  # group position -> numbers of the starts in it
    heads: list[int] = []
    before, pending = 0, bucket_starts(sum(rows for _, rows in groups), n)
    for pos, rows in groups:
        while pending and pending[0] <= before + rows:
            start = pending.pop(0)
            if start == before + 1:
                heads.append(pos)
            else:
                inside.setdefault(pos, []).append(start - before)
        before += rows
    key = F.struct(*[c.alias(f"w{k}") for k, c in enumerate(order.within)])
    bucket = F.lit(1)
    for pos in heads:
        bucket = bucket + (order.position >= F.lit(pos)).cast("int")
    for pos, first in _rows_at(df, order, inside):
        bucket = bucket + ((order.position > F.lit(pos))
                           | ((order.position == F.lit(pos)) & (key >= first))).cast("int")
    return bucket.cast("int")


def _rows_at(df: DataFrame, order: Ordering,
             inside: dict[int, list[int]]) -> list[tuple[int, Column]]:
    """(group position, the `within` values of the row at each wanted number in that group
    as a literal struct). One job over the rows of those groups only."""
    if not inside:
        return []
    names = [f"w{k}" for k in range(len(order.within))]
    values = [c.alias(k) for c, k in zip(order.within, names, strict=True)]
    types = df.select(*values).schema
    wanted = F.lit(False)
    for pos, numbers in inside.items():
        wanted = wanted | ((F.col("pos") == F.lit(pos)) & F.col("number").isin(numbers))
    rows = (df.where(order.position.isin(list(inside)))
            .select(order.position.alias("pos"), *values)
            .withColumn("number", F.row_number().over(
                W.partitionBy("pos").orderBy(*[F.col(k).asc() for k in names])))
            .where(wanted).collect())
    return [(row["pos"], F.struct(*[F.lit(row[k]).cast(types[k].dataType).alias(k)
                                    for k in names]))
            for row in rows]


def rank_in_groups(df: DataFrame, groups: Sequence[Column], within: Sequence[Column],
                   name: str) -> DataFrame:
    """`df` with `name` = 1..N in the order: `groups` (positions, ascending), then `within`
    (which must make the order total).

    The group sizes are collected (one small job: at most a few thousand groups); each
    group's offset, the rows of the groups before it, is joined back (broadcast) and the
    rows are numbered within their group. `df` is read twice (sizes, then rows), so it
    should be cheap to compute (a table, or a checkpoint)."""
    keys = [f"_group{i}" for i in range(len(groups))]
    keyed = df.select("*", *[g.alias(k) for g, k in zip(groups, keys, strict=True)])
    sizes = sorted(tuple(r) for r in keyed.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("_rows")).collect())
    offsets, before = [], 0
    for *group, rows in sizes:
        offsets.append((*group, before))
        before += rows
    schema = ", ".join(f"{k} long" for k in keys) + ", _before long"
    starts = df.sparkSession.createDataFrame(offsets, schema)
    number = F.row_number().over(W.partitionBy(*keys).orderBy(*within))
    return (keyed.join(F.broadcast(starts), keys)
            .withColumn(name, (F.col("_before") + number).cast("long"))
            .drop(*keys, "_before"))

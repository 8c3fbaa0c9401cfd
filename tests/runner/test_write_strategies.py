"""Each declared write strategy once, on real Delta tables, through the runner's `write`:
what the table holds afterwards and what the commit counted."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from rfm_spark.config import WarehouseSettings
from rfm_spark.errors import PipelineError
from rfm_spark.io import group_scope, merge_statements, upsert_changes, warehouse
from rfm_spark.io.group_scope import DELETION_VECTORS
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.model import (
    Append,
    Model,
    Overwrite,
    ReplaceBySourceFile,
    ReplaceGroups,
    ReplaceWhere,
    Upsert,
)
from rfm_spark.runner.writes import after_replacing_groups, side_by_side, write
from rfm_spark.staging.cleansing import latest_per_key

ROWS = "k string, g string, v int, _source_file string"
COLUMNS = ("k", "g", "v", "_source_file")


def model(strategy) -> Model:
    return Model("staging.things", (), COLUMNS, strategy)


@pytest.fixture
def wh(spark, tmp_path):
    return Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))


def frame(spark, rows):
    return spark.createDataFrame(rows, ROWS)


def table(wh):
    return wh.read("staging.things")


def same(actual, expected):
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


FIRST = [("a", "g1", 1, "f1"), ("b", "g1", 2, "f1"), ("c", "g2", 3, "f2")]


def test_overwrite_replaces_everything_and_counts_the_rows(spark, wh):
    write(wh, model(Overwrite()), frame(spark, FIRST))
    commit = write(wh, model(Overwrite()), frame(spark, [("z", "g9", 9, "f9")]))
    assert commit.rows == 1
    same(table(wh), frame(spark, [("z", "g9", 9, "f9")]))


def test_append_adds_rows_even_on_a_full_refresh(spark, wh):
    write(wh, model(Append()), frame(spark, FIRST))
    commit = write(wh, model(Append()), frame(spark, FIRST[:1]), full_refresh=True)
    assert commit.rows == 1
    assert table(wh).count() == 4


UPSERT_PATHS = ["table rewritten", "table rewritten, the caller bounds the source's rows",
                "changed rows merged", "no checkpoints: source merged",
                "small table: source merged"]


@pytest.fixture(params=UPSERT_PATHS)
def upsert_path(request, monkeypatch):
    """How the upsert reaches the table: rewritten (as many changed rows as files), a MERGE
    of the changed rows, or a MERGE of the whole source (a session without checkpoints, a
    table under CHANGES_FIRST_FROM_BYTES: every table here is one)."""
    if not request.param.startswith("small table"):
        monkeypatch.setattr(warehouse, "CHANGES_FIRST_FROM_BYTES", 0)
    if not request.param.startswith("table rewritten"):
        monkeypatch.setattr(warehouse, "rewrites_the_table", lambda *args: False)
    if request.param.startswith("no checkpoints"):
        monkeypatch.setattr(upsert_changes, "computed_scope", lambda df: (df, None))
    return request.param


def upsert_into(wh, upsert, df, path):
    bound = {"rows_at_most": 3} if "bounds" in path else {}
    return write(wh, upsert, df, **bound)


def test_upsert_keeps_the_newer_row(spark, wh, upsert_path):
    upsert = model(Upsert(("k",), newer_than="v"))
    write(wh, upsert, frame(spark, FIRST))
    commit = upsert_into(wh, upsert, frame(spark, [("a", "g1", 0, "f3"), ("b", "g1", 5, "f3"),
                                                   ("d", "g3", 1, "f3")]), upsert_path)
    assert commit.rows == 2  # b updated, d inserted; the older a ignored
    same(table(wh), frame(spark, [("a", "g1", 1, "f1"), ("b", "g1", 5, "f3"),
                                  ("c", "g2", 3, "f2"), ("d", "g3", 1, "f3")]))
    assert wh.last_commit(upsert.name)[0] == 1  # one commit


def test_upsert_ties_go_to_the_greater_row_as_in_a_full_refresh(spark, wh, upsert_path):
    """Equal `newer_than` values: the greater row (column by column) is kept, the rule
    staging's latest_per_key applies to a full refresh of the same rows."""
    upsert = model(Upsert(("k",), newer_than="v"))
    write(wh, upsert, frame(spark, FIRST))
    late = [("a", "g0", 1, "f3"), ("b", "g2", 2, "f3"), ("c", "g2", 3, "f0")]
    commit = upsert_into(wh, upsert, frame(spark, late), upsert_path)
    assert commit.rows == 1  # b only
    expected = [("a", "g1", 1, "f1"), ("b", "g2", 2, "f3"), ("c", "g2", 3, "f2")]
    same(table(wh), frame(spark, expected))
    full = latest_per_key(frame(spark, FIRST + late), ("k",), [F.col("v").desc()], COLUMNS)
    same(full, frame(spark, expected))


def test_upsert_of_nothing_new_commits_nothing(spark, wh, upsert_path):
    """Older, NULL-dated or identical rows only (a late delivery): no new table version
    (the MERGE of a whole source commits a version that changes no row)."""
    upsert = model(Upsert(("k",), newer_than="v"))
    write(wh, upsert, frame(spark, FIRST))
    commit = upsert_into(wh, upsert, frame(spark, [("a", "g9", 0, "f3"), ("b", "g9", None, "f3"),
                                                   FIRST[2]]), upsert_path)
    assert commit.rows == 0
    if "source merged" not in upsert_path:  # a MERGE commits a version (rewrites its files)
        assert wh.last_commit(upsert.name)[0] == 0
    same(table(wh), frame(spark, FIRST))


def test_replace_by_source_file_replaces_only_the_files_read(spark, wh):
    owned = model(ReplaceBySourceFile())
    write(wh, owned, frame(spark, FIRST))
    commit = write(wh, owned, frame(spark, [("a", "g1", 7, "f1")]), values=["f1"])
    assert commit.rows == 1
    same(table(wh), frame(spark, [("a", "g1", 7, "f1"), ("c", "g2", 3, "f2")]))
    # the same file again: nothing added
    write(wh, owned, frame(spark, [("a", "g1", 7, "f1")]), values=["f1"])
    assert table(wh).count() == 2


@pytest.mark.parametrize("how", ["merge, groups named", "merge, groups too many",
                                 "table rewritten"])
def test_replace_groups_makes_the_scoped_groups_equal_to_the_rows(spark, wh, monkeypatch, how):
    """Named in the MERGE (a small scope), marked in its source (a scope too large to name)
    or by a rewrite of the table (as many groups as files), the same rows; a group value
    with quote and backslash is named literally."""
    if how.startswith("merge"):
        monkeypatch.setattr(warehouse, "rewrites_the_table", lambda *args: False)
    if how.endswith("too many"):
        monkeypatch.setattr(merge_statements, "INLINE_SCOPE_KEYS", 0)
    odd = "g'\\1"
    groups = model(ReplaceGroups(("g",), ("k",)))
    write(wh, groups, frame(spark, [*FIRST, ("x", odd, 7, "f1"), ("y", odd, 8, "f1")]))
    rows = frame(spark, [("a", "g1", 10, "f3"), ("e", "g1", 5, "f3"), ("y", odd, 9, "f3"),
                         ("n", "g9", 1, "f3")])
    scope = spark.createDataFrame([("g1",), (odd,), ("g9",), ("g1",)], "g string")
    expected = frame(spark, [("a", "g1", 10, "f3"), ("e", "g1", 5, "f3"), ("c", "g2", 3, "f2"),
                             ("y", odd, 9, "f3"), ("n", "g9", 1, "f3")])
    same(after_replacing_groups(table(wh), rows, scope, groups.write), expected)
    before = wh.last_commit(groups.name)[0]
    commit = write(wh, groups, rows, scope=scope)
    # a MERGE counts the rows it updated or inserted (a, y; e, n), a rewrite every row
    assert commit.rows == (5 if how == "table rewritten" else 4)
    assert wh.last_commit(groups.name)[0] == before + 1  # one commit either way
    same(table(wh), expected)


def test_a_table_is_rewritten_from_as_many_groups_as_files():
    def files(n, **properties):
        return {"numFiles": n, "properties": properties}

    assert not group_scope.rewrites_the_table(2, files(3))
    assert group_scope.rewrites_the_table(3, files(3))
    assert group_scope.rewrites_the_table(0, files(0))
    assert group_scope.rewrites_the_table(None, files(10_000))  # more than a MERGE names
    # deletion vectors: a MERGE marks rows instead of rewriting files, whatever the count
    assert not group_scope.rewrites_the_table(None, files(1, **{DELETION_VECTORS: "true"}))


def test_replace_groups_with_an_empty_scope_commits_nothing(spark, wh):
    groups = model(ReplaceGroups(("g",), ("k",)))
    write(wh, groups, frame(spark, FIRST))
    version = wh.last_commit(groups.name)[0]
    commit = write(wh, groups, frame(spark, []), scope=spark.createDataFrame([], "g string"))
    assert (commit.rows, wh.last_commit(groups.name)[0]) == (0, version)
    same(table(wh), frame(spark, FIRST))


def test_replace_groups_needs_a_scope(spark, wh):
    groups = model(ReplaceGroups(("g",), ("k",)))
    write(wh, groups, frame(spark, FIRST))
    with pytest.raises(ValueError, match="needs its scope"):
        write(wh, groups, frame(spark, FIRST))


def test_replace_where_replaces_the_given_values(spark, wh):
    by_key = model(ReplaceWhere("k"))
    write(wh, by_key, frame(spark, FIRST), values=["a", "b", "c"])
    write(wh, by_key, frame(spark, [("b", "g1", 20, "f1")]), values=["b"])
    same(table(wh), frame(spark, [("a", "g1", 1, "f1"), ("b", "g1", 20, "f1"),
                                  ("c", "g2", 3, "f2")]))


def test_full_refresh_overwrites_an_incremental_strategy(spark, wh):
    upsert = model(Upsert(("k",), newer_than="v"))
    write(wh, upsert, frame(spark, FIRST))
    write(wh, upsert, frame(spark, FIRST[:1]), full_refresh=True)
    same(table(wh), frame(spark, FIRST[:1]))


def test_undeclared_columns_are_refused_before_writing(spark, wh):
    with pytest.raises(PipelineError, match="declared"):
        write(wh, model(Overwrite()), frame(spark, FIRST).drop("v"))
    assert not wh.exists("staging.things")


def test_writes_side_by_side_all_end_and_the_first_failure_is_raised(spark, tmp_path):
    """Independent tables are written at the same time; a failing write does not stop the
    others, and the failure raised is the first in the given order."""
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    blocked = tmp_path / "staging" / "blocked"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where a table goes")
    ok = Model("staging.things", (), COLUMNS, Overwrite())
    also_ok = Model("staging.others", (), COLUMNS, Overwrite())
    bad = Model("staging.blocked", (), COLUMNS, Overwrite())
    commits = side_by_side({"a": lambda: write(wh, ok, frame(spark, FIRST)),
                            "b": lambda: write(wh, also_ok, frame(spark, FIRST[:1]))})
    assert [commits["a"].rows, commits["b"].rows] == [3, 1]
    with pytest.raises(PipelineError, match="blocked"):
        side_by_side({"bad": lambda: write(wh, bad, frame(spark, FIRST)),
                      "ok": lambda: write(wh, ok, frame(spark, FIRST[:2]))})
    assert table(wh).count() == 2  # the other write still committed

"""Incremental scopes on small frames: which keys a delivery or a moved as_of puts in scope."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality

from rfm_spark import scopes

VERSIONS = "order_id string, customer_id string, _source_file string"
LINES = "order_id string, line_no int, _source_file string"
ORDERS = "order_id string, customer_id string, status string, order_date date"
D = dt.date


def ids(spark, column, values):
    return spark.createDataFrame([(v,) for v in values], f"{column} string")


def same(actual, expected):
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_touched_orders_come_from_new_versions_and_new_lines(spark):
    versions = spark.createDataFrame([("O1", "C1", "f1"), ("O2", "C1", "f2"),
                                      ("O2", "C2", "f3")], VERSIONS)
    lines = spark.createDataFrame([("O1", 1, "l1"), ("O3", 1, "l2"), ("O3", 2, "l2")], LINES)
    same(scopes.touched_orders(versions, lines, ["f3"], ["l2"]), ids(spark, "order_id",
                                                                        ["O2", "O3"]))
    same(scopes.touched_orders(versions, lines, [], []), ids(spark, "order_id", []))


def test_an_order_moved_between_customers_touches_both(spark):
    versions = spark.createDataFrame([("O1", "C1", "f1"), ("O1", "C2", "f2"),
                                      ("O2", "C3", "f1")], VERSIONS)
    touched = ids(spark, "order_id", ["O1"])
    same(scopes.customers_of_orders(versions, touched), ids(spark, "customer_id",
                                                            ["C1", "C2"]))


def test_customers_in_window_either_way_counted_orders_only(spark):
    orders = spark.createDataFrame([
        ("O1", "C1", "completed", D(2024, 1, 10)),   # in (Jan 5, Jan 20]
        ("O2", "C2", "cancelled", D(2024, 1, 10)),   # not counted
        ("O3", "C3", "completed", D(2024, 1, 5)),    # on the lower bound: unchanged
        ("O4", "C4", "completed", D(2024, 1, 20)),   # on the upper bound: in
    ], ORDERS)
    expected = ids(spark, "customer_id", ["C1", "C4"])
    for previous, as_of in ((D(2024, 1, 5), D(2024, 1, 20)), (D(2024, 1, 20), D(2024, 1, 5))):
        same(scopes.customers_in_window(orders, previous, as_of, "completed"), expected)


def test_summary_scope_unites_touched_and_window_customers(spark):
    versions = spark.createDataFrame([("O1", "C1", "f1")], VERSIONS)
    orders = spark.createDataFrame([("O1", "C1", "completed", D(2024, 1, 1)),
                                    ("O9", "C9", "completed", D(2024, 2, 1))], ORDERS)
    touched = ids(spark, "order_id", ["O1"])
    same(scopes.summary_scope(versions, orders, touched, D(2024, 1, 15), D(2024, 1, 15),
                              "completed"), ids(spark, "customer_id", ["C1"]))
    same(scopes.summary_scope(versions, orders, touched, D(2024, 1, 15), D(2024, 2, 15),
                              "completed"), ids(spark, "customer_id", ["C1", "C9"]))
    same(scopes.summary_scope(versions, orders, None, D(2024, 1, 15), D(2024, 1, 15),
                              "completed"), ids(spark, "customer_id", []))


def test_keys_from_files_and_rows_in_scope(spark):
    log = spark.createDataFrame([("O1", "C1", "f1"), ("O2", "C2", "f2"), ("O3", "C2", "f2")],
                                VERSIONS)
    scope = scopes.from_files(log, ["f2"], "customer_id")
    same(scope, ids(spark, "customer_id", ["C2"]))
    same(scopes.rows_of(log, scope, ["customer_id"]),
         spark.createDataFrame([("O2", "C2", "f2"), ("O3", "C2", "f2")], VERSIONS))


def test_changed_groups_are_the_keys_with_a_row_added_removed_or_changed(spark):
    schema = "customer_id string, valid_from date, segment string"
    current = spark.createDataFrame([("C1", D(2024, 1, 1), "A"), ("C2", D(2024, 1, 1), "A"),
                                     ("C3", D(2024, 1, 1), "A"), ("C4", D(2024, 1, 1), "A")],
                                    schema)
    new = spark.createDataFrame([("C1", D(2024, 1, 1), "A"),   # unchanged
                                 ("C2", D(2024, 1, 1), "B"),   # changed
                                 ("C3", D(2024, 1, 1), "A"), ("C3", D(2024, 2, 1), "A"),  # added
                                 ("C5", D(2024, 2, 1), "A")],  # new customer; C4 removed
                                schema)
    # the current table's columns may come in another order
    current = current.select("segment", "customer_id", "valid_from")
    same(scopes.changed_groups(new, current, ["customer_id"]),
         ids(spark, "customer_id", ["C2", "C3", "C4", "C5"]))
    same(scopes.changed_groups(new, new, ["customer_id"]), ids(spark, "customer_id", []))



def test_rows_of_a_scope_checkpointed_from_the_same_delta_read(spark, tmp_path):
    """A scope checkpointed from the frame it selects from keeps that frame's attribute ids;
    without adaptive execution Spark failed to join the two ([INTERNAL_ERROR] conflicting
    attributes) before the keys were aliased."""
    spark.createDataFrame([("O1", "C1", "completed", D(2024, 1, 1)),
                           ("O2", "C2", "completed", D(2024, 1, 2))], ORDERS) \
        .write.format("delta").save(str(tmp_path / "orders"))
    orders = spark.read.format("delta").load(str(tmp_path / "orders"))
    adaptive = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        scope = scopes.summary_scope(orders, orders, None, D(2023, 12, 31), D(2024, 1, 1),
                                     "completed").localCheckpoint()
        same(scopes.rows_of(orders, scope, ["customer_id"]), orders.where("order_id = 'O1'"))
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", adaptive)


def test_a_computed_scope_is_counted_and_a_small_one_is_broadcast(spark, monkeypatch, capsys):
    """The rows a scope picks are the same either way; a scope within BROADCAST_KEYS is
    joined without shuffling the large side (planned even with automatic broadcasts off)."""
    from rfm_spark import materialize

    versions = spark.createDataFrame([("O1", "C1", "f1"), ("O2", "C1", "f2"),
                                      ("O3", "C2", "f3")], VERSIONS)
    expected = spark.createDataFrame([("O2", "C1", "f2"), ("O3", "C2", "f3")], VERSIONS)
    threshold = spark.conf.get("spark.sql.autoBroadcastJoinThreshold")
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    try:
        for limit, join in ((1_000_000, "BroadcastHashJoin"), (1, "SortMergeJoin")):
            monkeypatch.setattr(materialize, "BROADCAST_KEYS", limit)
            scope, rows = materialize.computed_scope(ids(spark, "order_id", ["O2", "O3", "O9"]))
            assert rows == 3
            picked = scopes.rows_of(versions, scope, ["order_id"])
            same(picked, expected)
            picked.explain()
            assert join in capsys.readouterr().out
    finally:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", threshold)

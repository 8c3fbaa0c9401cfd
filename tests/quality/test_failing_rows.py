"""The failing rows kept for the unique and relationships rules (quality/failing_rows.py) on
small frames, and the staging checks of an incremental run (runner/kept_failures.py) on real
Delta tables: the same results as whole-table checks, from the keys the run changed."""

from __future__ import annotations

import dataclasses
import datetime as dt

from chispa import assert_df_equality

from rfm_spark.config import QualityRule, QualitySettings, QualityTable, WarehouseSettings
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.quality import failing_rows as fr
from rfm_spark.registry import load_settings
from rfm_spark.runner.checks import Gate
from rfm_spark.runner.kept_failures import STATE, Changes

STATE_ROWS = ("table string, rule string, scope_key string, sample_key string, value string, "
              "rows long")
LINES = "order_id string, line_no int, product_id string"
UNIQUE_LINE = QualityRule("unique", columns=["order_id", "line_no"])
LINE_PRODUCT = QualityRule("relationships", column="product_id", to="staging.products",
                           field="product_id", severity="warn")


def lines(spark):
    return spark.createDataFrame([
        ("O1", 1, "P1"), ("O1", 1, "P1"), ("O1", 2, "P9"), ("O2", 1, None), ("O3", 1, "P8"),
        ("O3", 1, "P1"), ("O3", 1, "P2"),
    ], LINES)


def test_duplicated_keys_and_orphans_by_hand(spark):
    table = "staging.order_items"
    assert_df_equality(
        fr.duplicated_keys(lines(spark), table, UNIQUE_LINE, ("order_id",)),
        spark.createDataFrame([(table, "unique_order_id_line_no", "O1", "O1|1", None, 2),
                               (table, "unique_order_id_line_no", "O3", "O3|1", None, 3)],
                              STATE_ROWS),
        ignore_row_order=True, ignore_nullable=True)
    products = spark.createDataFrame([("P1",), ("P2",), ("P2",)], "product_id string")
    expected = [(table, "relationships_product_id", "O1", "O1|2", "P9", 1),
                (table, "relationships_product_id", "O3", "O3|1", "P8", 1)]  # NULL passes
    key, scope = ("order_id", "line_no"), ("order_id",)
    assert_df_equality(fr.orphans(lines(spark), table, LINE_PRODUCT, key, scope, products),
                       spark.createDataFrame(expected, STATE_ROWS),
                       ignore_row_order=True, ignore_nullable=True)
    # the same orphans from the rows looked up (a value, not NULL), narrowed by the parent
    looked_up = fr.candidates(lines(spark), table, LINE_PRODUCT, key, scope)
    assert looked_up.count() == 6
    assert_df_equality(fr.not_in_parent(looked_up, products, LINE_PRODUCT),
                       spark.createDataFrame(expected, STATE_ROWS),
                       ignore_row_order=True, ignore_nullable=True)


def test_kept_orphans_outside_the_changed_keys_rechecked_against_the_parent(spark):
    kept = spark.createDataFrame([
        ("t", "r", "O1", "O1|2", "P9", 1), ("t", "r", "O3", "O3|1", "P8", 1),
        ("t", "r", "O4", "O4|1", "P7", 1)], STATE_ROWS)
    changed = spark.createDataFrame([("O3",)], "scope_key string")
    products = spark.createDataFrame([("P1",), ("P7",)], "product_id string")  # P7 arrived
    still = fr.not_in_parent(fr.outside(kept, changed), products, LINE_PRODUCT)
    assert_df_equality(still, spark.createDataFrame([("t", "r", "O1", "O1|2", "P9", 1)],
                                                    STATE_ROWS).select(*still.columns),
                       ignore_nullable=True)
    assert_df_equality(fr.rows_of(lines(spark), changed, ("order_id",)),
                       lines(spark).where("order_id = 'O3'"), ignore_row_order=True)


ORDERS = "order_id string, customer_id string"
CUSTOMERS = "customer_id string"
RULES = {
    "staging.orders": QualityTable(key=["order_id"], rules=[
        QualityRule("unique", columns=["order_id"], severity="warn"),
        QualityRule("not_null", column="customer_id", severity="warn"),
        QualityRule("relationships", column="customer_id", to="staging.customers",
                    field="customer_id", severity="warn")]),
    "staging.customers": QualityTable(key=["customer_id"], rules=[
        QualityRule("unique", columns=["customer_id"], severity="warn")]),
}


def _run(spark, tmp_path, settings, orders, customers, changed=None):
    """One run: the tables written (each once, by a new warehouse object, as a run does),
    then its staging checks with the changed keys, and a whole-table check of the same
    tables. `changed`: {table: keys}, None for a full refresh; a table left out of it is not
    written."""
    wh = Warehouse(spark, WarehouseSettings(dir=str(tmp_path)))
    tables = {"staging.orders": (orders, ORDERS), "staging.customers": (customers, CUSTOMERS)}
    for name, (rows, schema) in tables.items():
        if changed is None or name in changed:
            wh.overwrite(spark.createDataFrame(rows, schema), name)
    frames = {name: wh.read(name) for name in tables}
    scope = {"staging.orders": ("order_id",), "staging.customers": ("customer_id",)}
    changes = {name: Changes(scope[name], None if changed is None else spark.createDataFrame(
        [(k,) for k in changed.get(name, [])], f"{scope[name][0]} string")) for name in tables}
    incremental, whole = Gate(wh, settings, dt.date(2024, 12, 31)), Gate(wh, settings, None)
    incremental.check(frames, changes=changes)
    whole.check(frames)
    return incremental.results, whole.results


def test_incremental_staging_checks_equal_whole_table_checks(spark, tmp_path):
    settings = dataclasses.replace(load_settings(), quality=QualitySettings(tables=RULES))
    orders = [("O1", "C1"), ("O2", "C9"), ("O3", "C8"), ("O4", None), ("O5", "C1"),
              ("O5", "C2")]
    customers = [("C1",), ("C2",), ("C3",), ("C3",)]
    found, expected = _run(spark, tmp_path, settings, orders, customers)
    assert found == expected
    assert [(r.rule, r.failed_rows) for r in found if not r.passed] == [
        ("unique_order_id", 2), ("not_null_customer_id", 1),
        ("relationships_customer_id", 2), ("unique_customer_id", 2)]

    # C9 arrives (O2, unchanged, is no longer an orphan); O3 is re-sent with a customer,
    # O6 is new with an unknown one; O5 stays duplicated
    orders = [("O1", "C1"), ("O2", "C9"), ("O3", "C1"), ("O4", None), ("O5", "C1"),
              ("O5", "C2"), ("O6", "C7")]
    customers = [("C1",), ("C2",), ("C3",), ("C3",), ("C9",)]
    found, expected = _run(spark, tmp_path, settings, orders, customers,
                           {"staging.orders": ["O3", "O6"], "staging.customers": ["C9"]})
    assert found == expected
    orphans = next(r for r in found if r.rule == "relationships_customer_id")
    assert (orphans.failed_rows, orphans.failing_keys_sample) == (1, ["O6"])

    # O1 changed without being named: the kept failures are what this run starts from, so
    # its check does not see it (nothing but the kept rows could have hidden it) ...
    orders[0] = ("O1", "C5")
    found, expected = _run(spark, tmp_path, settings, orders, customers,
                           {"staging.orders": []})
    assert found != expected
    # ... and once the table has changed without its checks (a run killed after its write),
    # the rules are evaluated on the whole table again
    Warehouse(spark, WarehouseSettings(dir=str(tmp_path))).overwrite(
        spark.createDataFrame(orders, ORDERS), "staging.orders")
    found, expected = _run(spark, tmp_path, settings, orders, customers,
                           {"staging.orders": []})
    assert found == expected
    kept = spark.read.format("delta").load(str(tmp_path / STATE.replace(".", "/")))
    assert kept.where("scope_key IS NULL").count() == 3  # one per unique or relationships rule

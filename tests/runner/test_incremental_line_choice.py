"""Delivery orderings at the scope level: however the order and line files of three
deliveries arrive over runs (one delivery a run, reversed, orders before lines, lines before
orders), choosing the line sets of the touched orders only and replacing those orders'
lines leaves the line sets a full refresh chooses. (One ordering runs end to end in
tests/e2e/test_incremental.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality

from rfm_spark import scopes
from rfm_spark.staging.order_items import lines_of_latest_orders

VERSIONS = ("order_id string, customer_id string, updated_at timestamp, _delivery string, "
            "_source_file string")
LINES = ("order_id string, line_no int, product_id string, quantity int, "
         "unit_price decimal(18,2), discount decimal(18,2), line_amount decimal(18,2), "
         "_delivery string, _source_file string")


def at(hour: int) -> dt.datetime:
    return dt.datetime(2024, 3, 1, hour)


def version(order: str, hour: int, delivery: str) -> tuple:
    return (order, "C1", at(hour), delivery, f"orders/{delivery}")


def line(order: str, no: int, qty: int, delivery: str) -> tuple:
    price = Decimal("2.00")
    return (order, no, "P1", qty, price, Decimal("0.00"), price * qty, delivery,
            f"order_items/{delivery}")


VERSION_ROWS = [
    version("O1", 10, "d1"), version("O1", 11, "d2"),  # re-sent with fewer lines
    version("O2", 9, "d3"),                              # its lines came a delivery earlier
    version("O3", 12, "d1"), version("O3", 8, "d3"),     # an older version arriving late
]
LINE_ROWS = [
    line("O1", 1, 1, "d1"), line("O1", 2, 1, "d1"), line("O1", 1, 3, "d2"),
    line("O2", 1, 2, "d2"),
    line("O3", 1, 1, "d1"), line("O3", 2, 2, "d1"), line("O3", 1, 9, "d3"),
]
ORDERINGS = {
    "all at once": [["o1", "o2", "o3", "l1", "l2", "l3"]],
    "one delivery a run": [["o1", "l1"], ["o2", "l2"], ["o3", "l3"]],
    "reversed": [["o3", "l3"], ["o2", "l2"], ["o1", "l1"]],
    "orders before lines": [["o1", "o2"], ["l1", "l2", "o3"], ["l3"]],
    "lines before orders": [["l1", "l2", "l3"], ["o3"], ["o1", "o2"]],
}


def file_of(code: str) -> str:
    return {"o": "orders/d", "l": "order_items/d"}[code[0]] + code[1]


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_choosing_touched_orders_only_equals_the_full_choice(spark, ordering):
    versions = spark.createDataFrame(VERSION_ROWS, VERSIONS)
    lines = spark.createDataFrame(LINE_ROWS, LINES)
    full = lines_of_latest_orders(lines, versions)

    staged: dict[str, list] = {}  # order_id -> its staged lines (a ReplaceGroups write)
    arrived: list[str] = []
    for step in ORDERINGS[ordering]:
        new = [file_of(code) for code in step]
        arrived += new
        versions_log = versions.where(versions._source_file.isin(arrived))
        lines_log = lines.where(lines._source_file.isin(arrived))
        touched = scopes.touched_orders(
            versions_log, lines_log, [f for f in new if f.startswith("orders/")],
            [f for f in new if f.startswith("order_items/")])
        chosen = lines_of_latest_orders(scopes.rows_of(lines_log, touched, ["order_id"]),
                                        scopes.rows_of(versions_log, touched, ["order_id"]))
        for (order,) in touched.collect():
            staged[order] = []
        for row in chosen.collect():
            staged[row["order_id"]].append(tuple(row))
    incremental = spark.createDataFrame([r for rows in staged.values() for r in rows],
                                        full.schema)
    assert_df_equality(incremental, full, ignore_row_order=True, ignore_nullable=True)

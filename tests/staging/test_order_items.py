from decimal import Decimal

from chispa import assert_df_equality

from rfm_spark.staging import order_items, orders
from rfm_spark.staging.cleansing import accepted_rows, quarantine_rows
from tests.helpers import BOUNDS, raw_frame

ITEM_SCHEMA = ("order_id string, line_no int, product_id string, quantity int, "
               "unit_price decimal(18,2), discount decimal(18,2), line_amount decimal(18,2)")


def items_file(n: int) -> str:
    return f"file:/l/order_items/delivery_{n:04d}.csv"


def orders_file(n: int) -> str:
    return f"file:/l/orders/delivery_{n:04d}.csv"


def test_standardise_order_items(spark):
    raw = raw_frame(spark, order_items.REQUIRED, [
        (" o1 ", "1", "p1", "2", "10.00", "", items_file(1)),
        ("O1", "2", "P2", "1", "5.50", "0.50", items_file(1)),
        ("O2", "1", "P1", "1", "10.00", "10.00", items_file(1)),  # fully discounted: 0
        ("O3", "1", "P1", "-1", "10.00", "0", items_file(1)),
        ("O3", "2", "P1", "two", "abc", "-1", items_file(1)),
        ("O3", "3", "P1", "1", "-3.00", "0", items_file(1)),
        ("O3", "4", "P1", "1", "3.00", "4.00", items_file(1)),
        ("", "x", "", "3.5", "", "free", items_file(1)),
    ])
    validated = order_items.standardise_order_items(raw)
    expected = spark.createDataFrame(
        [
            ("O1", 1, "P1", 2, Decimal("10.00"), Decimal("0.00"), Decimal("20.00"), items_file(1)),
            ("O1", 2, "P2", 1, Decimal("5.50"), Decimal("0.50"), Decimal("5.00"), items_file(1)),
            ("O2", 1, "P1", 1, Decimal("10.00"), Decimal("10.00"), Decimal("0.00"), items_file(1)),
        ],
        ITEM_SCHEMA + ", _source_file string",
    )
    assert_df_equality(accepted_rows(validated), expected, ignore_row_order=True,
                       ignore_nullable=True)
    reasons = sorted(
        (r["order_id"], r["line_no"] or "", r["_dq_reasons"])
        for r in quarantine_rows(validated, "r").collect()
    )
    assert reasons == [
        ("", "x", ["missing_order_id", "invalid_line_no", "missing_product_id",
                   "unparsable_quantity", "missing_unit_price", "unparsable_discount"]),
        ("O3", "1", ["non_positive_quantity"]),
        ("O3", "2", ["unparsable_quantity", "unparsable_unit_price", "negative_discount"]),
        ("O3", "3", ["negative_unit_price"]),
        ("O3", "4", ["discount_exceeds_line_amount"]),
    ]


def test_lines_follow_the_latest_version_of_their_order(spark):
    ts = ["yyyy-MM-dd HH:mm:ss"]
    status = {"completed": [], "cancelled": [], "returned": [], "in_progress": ["pending"]}
    raw_orders = raw_frame(spark, orders.REQUIRED, [
        # O1: re-sent in delivery 2 with one line fewer
        ("O1", "C1", "2024-05-01 10:00:00", "pending", "2024-05-01 10:00:00", orders_file(1)),
        ("O1", "C1", "2024-05-01 10:00:00", "completed", "2024-05-02 10:00:00", orders_file(2)),
        # O2: newest in delivery 1; an older version with other lines arrives late (3)
        ("O2", "C1", "2024-05-01 10:00:00", "completed", "2024-05-05 10:00:00", orders_file(1)),
        ("O2", "C1", "2024-05-01 10:00:00", "pending", "2024-05-01 10:00:00", orders_file(3)),
        # O3: status-only update in delivery 2 (no lines re-sent): lines of delivery 1 stay
        ("O3", "C2", "2024-05-01 10:00:00", "pending", "2024-05-01 10:00:00", orders_file(1)),
        ("O3", "C2", "2024-05-01 10:00:00", "completed", "2024-05-03 10:00:00", orders_file(2)),
    ])
    raw_items = raw_frame(spark, order_items.REQUIRED, [
        ("O1", "1", "P1", "1", "10.00", "0", items_file(1)),
        ("O1", "2", "P2", "1", "20.00", "0", items_file(1)),
        ("O1", "1", "P1", "1", "10.00", "0", items_file(2)),
        ("O2", "1", "P1", "1", "10.00", "0", items_file(1)),
        ("O2", "1", "P9", "9", "99.00", "0", items_file(3)),
        ("O2", "2", "P9", "9", "99.00", "0", items_file(3)),
        ("O3", "1", "P3", "2", "7.00", "1.00", items_file(1)),
        ("O4", "1", "P3", "1", "7.00", "0", items_file(2)),  # no order delivered: kept
    ])
    versions = orders.order_versions(accepted_rows(orders.standardise_orders(raw_orders, ts,
                                                                             status, BOUNDS)))
    lines = order_items.lines_of_latest_orders(
        order_items.delivered_lines(accepted_rows(order_items.standardise_order_items(raw_items))),
        versions,
    )
    expected = spark.createDataFrame(
        [
            ("O1", 1, "P1", 1, Decimal("10.00"), Decimal("0.00"), Decimal("10.00")),
            ("O2", 1, "P1", 1, Decimal("10.00"), Decimal("0.00"), Decimal("10.00")),
            ("O3", 1, "P3", 2, Decimal("7.00"), Decimal("1.00"), Decimal("13.00")),
            ("O4", 1, "P3", 1, Decimal("7.00"), Decimal("0.00"), Decimal("7.00")),
        ],
        ITEM_SCHEMA,
    )
    assert_df_equality(lines, expected, ignore_row_order=True, ignore_nullable=True)

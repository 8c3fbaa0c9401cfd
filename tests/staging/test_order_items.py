import datetime as dt
import random
from decimal import Decimal

from chispa import assert_df_equality

from rfm_spark.staging import order_items, orders
from rfm_spark.staging.cleansing import accepted_rows, as_logged, quarantine_rows
from tests.helpers import BOUNDS, raw_frame

ITEM_SCHEMA = ("order_id string, line_no int, product_id string, quantity int, "
               "unit_price decimal(18,2), discount decimal(18,2), line_amount decimal(18,2)")


VERSIONS = ("order_id string, customer_id string, updated_at timestamp, _delivery string, "
            "_source_file string")
LINES = f"{ITEM_SCHEMA}, _delivery string, _source_file string"


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
    assert_df_equality(accepted_rows(as_logged(validated)), expected, ignore_row_order=True,
                       ignore_nullable=True)
    reasons = sorted(
        (r["order_id"], r["line_no"] or "", r["_dq_reasons"])
        for r in quarantine_rows(as_logged(validated), "r").collect()
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
    versions = accepted_rows(orders.order_versions(
        orders.standardise_orders(raw_orders, ts, status, BOUNDS)))
    lines = order_items.lines_of_latest_orders(
        accepted_rows(order_items.delivered_lines(order_items.standardise_order_items(raw_items))),
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


def expected_line_sets(version_rows: list[tuple], line_rows: list[tuple]) -> list[tuple]:
    """The module doc's rule in plain Python: per order, the set of the delivery whose paired
    version is newest (a set without a paired version only when none has one), newest
    delivery name on ties; a line_no delivered twice in one set: the greater row (compared
    column by column), identical lines once."""
    paired: dict[tuple[str, str], dt.datetime] = {}
    for order, _customer, updated_at, delivery, _file in version_rows:
        key = (order, delivery)
        paired[key] = max(updated_at, paired.get(key, updated_at))
    sets: dict[str, set[str]] = {}
    for row in line_rows:
        sets.setdefault(row[0], set()).add(row[7])

    def rank(order: str, delivery: str) -> tuple:
        when = paired.get((order, delivery))
        return (when is not None, when or dt.datetime.min, delivery)

    chosen = {order: max(deliveries, key=lambda d, o=order: rank(o, d))
              for order, deliveries in sets.items()}
    kept: dict[tuple[str, int], tuple] = {}
    for row in line_rows:
        if chosen[row[0]] == row[7]:
            kept[row[:2]] = max(row[:7], kept.get(row[:2], row[:7]))
    return sorted(kept.values())


def test_line_choice_equals_the_rule_on_random_deliveries(spark):
    """Many orders, deliveries and tied times: the one-pass windows choose what the rule
    says (ties on updated_at, sets without their order, versions sent twice in one
    delivery, a line delivered twice in one set, identical or not)."""
    rng = random.Random(17)
    deliveries = [f"delivery_{n:04d}.csv" for n in range(1, 6)]
    version_rows, line_rows = [], []
    for n in range(60):
        order = f"O{n}"
        for delivery in rng.sample(deliveries, rng.randint(0, 3)):
            for _ in range(rng.choice((1, 1, 2))):  # sometimes two versions in one file
                when = dt.datetime(2024, 3, 1, rng.choice((8, 9, 9, 10)))
                version_rows.append((order, "C1", when, delivery, f"orders/{delivery}"))
        for delivery in rng.sample(deliveries, rng.randint(1, 3)):
            for no in rng.sample((1, 2, 3), rng.randint(1, 3)):
                qty = rng.randint(1, 4)
                price = Decimal(rng.choice(("2.00", "3.50")))
                row = (order, no, "P1", qty, price, Decimal("0.00"), price * qty, delivery,
                       f"order_items/{delivery}")
                line_rows += [row, row] if rng.random() < 0.1 else [row]
                if rng.random() < 0.1:  # the same line_no again, other content
                    other = qty + rng.choice((-1, 1)) or 2
                    line_rows.append((*row[:3], other, price, row[5], price * other, *row[7:]))
    versions = spark.createDataFrame(version_rows, VERSIONS)
    lines = spark.createDataFrame(line_rows, LINES)
    expected = spark.createDataFrame(expected_line_sets(version_rows, line_rows), ITEM_SCHEMA)
    assert_df_equality(order_items.lines_of_latest_orders(lines, versions), expected,
                       ignore_row_order=True, ignore_nullable=True)

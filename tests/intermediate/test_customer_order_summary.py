import datetime as dt
from decimal import Decimal as D

from chispa import assert_df_equality

from rfm_spark.intermediate.customer_order_summary import customer_order_summary

ORDERS = ("order_id string, customer_id string, order_ts timestamp, order_date date, "
          "status string, updated_at timestamp")
ITEMS = ("order_id string, line_no int, product_id string, quantity int, "
         "unit_price decimal(18,2), discount decimal(18,2), line_amount decimal(18,2)")
AS_OF = dt.date(2024, 12, 31)
SUMMARY = ("customer_id string, first_order_date date, last_order_date date, order_count int, "
           "net_amount decimal(18,2), purchase_days int, first_day_amount decimal(18,2), "
           "as_of_date date")


def order(oid, cid, day, status):
    ts = dt.datetime.combine(day, dt.time(12))
    return (oid, cid, ts, day, status, ts)


def item(oid, line, qty, price, discount):
    amount = D(qty) * D(price) - D(discount)
    return (oid, line, "P1", qty, D(price), D(discount), amount.quantize(D("0.01")))


def test_counts_only_completed_orders_up_to_as_of(spark):
    orders = spark.createDataFrame([
        order("O1", "C1", dt.date(2024, 12, 1), "completed"),
        order("O2", "C1", dt.date(2024, 12, 20), "completed"),
        order("O3", "C1", dt.date(2024, 12, 25), "cancelled"),
        order("O4", "C1", dt.date(2025, 1, 5), "completed"),   # after as_of: ignored
        order("O5", "C2", dt.date(2024, 6, 1), "returned"),    # C2 has nothing that counts
        order("O6", "C3", dt.date(2024, 11, 30), "completed"),  # no valid lines: amount 0
        order("O7", "C4", AS_OF, "completed"),                  # fully discounted: 0
        order("O8", "C5", dt.date(2024, 12, 2), "completed"),   # two orders on one day:
        order("O9", "C5", dt.date(2024, 12, 2), "completed"),   # one purchase day
        order("OA", "C5", dt.date(2024, 12, 9), "completed"),
    ], ORDERS)
    items = spark.createDataFrame([
        item("O1", 1, 2, "10.00", "0.00"),
        item("O1", 2, 1, "5.50", "0.50"),
        item("O2", 1, 3, "33.33", "0.99"),
        item("O3", 1, 1, "500.00", "0.00"),
        item("O4", 1, 1, "100.00", "0.00"),
        item("O7", 1, 1, "10.00", "10.00"),
        item("O8", 1, 1, "3.00", "0.00"),
        item("O9", 1, 1, "4.00", "0.00"),
        item("OA", 1, 1, "5.00", "0.00"),
    ], ITEMS)
    expected = spark.createDataFrame([
        ("C1", dt.date(2024, 12, 1), dt.date(2024, 12, 20), 2, D("124.00"), 2, D("25.00"),
         AS_OF),
        ("C3", dt.date(2024, 11, 30), dt.date(2024, 11, 30), 1, D("0.00"), 1, D("0.00"), AS_OF),
        ("C4", AS_OF, AS_OF, 1, D("0.00"), 1, D("0.00"), AS_OF),
        ("C5", dt.date(2024, 12, 2), dt.date(2024, 12, 9), 3, D("12.00"), 2, D("7.00"), AS_OF),
    ], SUMMARY)
    got = customer_order_summary(orders, items, AS_OF, "completed")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_earlier_as_of_replays_history(spark):
    orders = spark.createDataFrame([
        order("O1", "C1", dt.date(2024, 3, 1), "completed"),
        order("O2", "C1", dt.date(2024, 9, 1), "completed"),
    ], ORDERS)
    items = spark.createDataFrame([item("O1", 1, 1, "10.00", "0"),
                                   item("O2", 1, 1, "20.00", "0")], ITEMS)
    as_of = dt.date(2024, 6, 30)
    expected = spark.createDataFrame(
        [("C1", dt.date(2024, 3, 1), dt.date(2024, 3, 1), 1, D("10.00"), 1, D("10.00"), as_of)],
        SUMMARY)
    got = customer_order_summary(orders, items, as_of, "completed")
    assert_df_equality(got, expected, ignore_nullable=True)

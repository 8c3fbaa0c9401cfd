import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality

from rfm_spark.staging import products
from rfm_spark.staging.cleansing import accepted_rows, as_logged, quarantine_rows
from tests.helpers import BOUNDS, raw_frame

TS = ["yyyy-MM-dd HH:mm:ss"]


def test_standardise_and_latest_products(spark):
    raw = raw_frame(spark, products.REQUIRED, [
        (" p1 ", " Phone  X ", "electronics", "199.999", "2024-01-01 00:00:00"),
        ("P1", "Phone X", "Electronics", "179.00", "2024-06-01 00:00:00"),
        ("P2", "Mug", "home & kitchen", "-5", "2024-01-01 00:00:00"),
        ("P3", "Book", "Books", "abc", "2024-01-01 00:00:00"),
        ("", "Ghost", "Books", "1", ""),
    ])
    validated = products.standardise_products(raw, TS, BOUNDS)
    expected = spark.createDataFrame(
        [("P1", "Phone X", "Electronics", Decimal("179.00"), dt.datetime(2024, 6, 1))],
        "product_id string, product_name string, category string, list_price decimal(18,2), "
        "updated_at timestamp",
    )
    assert_df_equality(products.latest_products(accepted_rows(as_logged(validated))), expected,
                       ignore_nullable=True)
    reasons = {r["product_id"]: r["_dq_reasons"]
               for r in quarantine_rows(as_logged(validated), "r").collect()}
    assert reasons == {"P2": ["negative_list_price"], "P3": ["unparsable_list_price"],
                       "": ["missing_product_id", "missing_updated_at"]}

import datetime as dt

from chispa import assert_df_equality

from rfm_spark.staging import customers
from rfm_spark.staging.cleansing import accepted_rows, as_logged, quarantine_rows
from tests.helpers import BOUNDS, raw_frame

COLUMNS = (*customers.REQUIRED, *customers.OPTIONAL)
TS = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssXXX"]
DATES = ["yyyy-MM-dd", "yyyy/MM/dd"]
EMAIL = r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
D1 = "file:/l/customers/delivery_0001.csv"
D2 = "file:/l/customers/delivery_0002.csv"

RAW = [
    # padded, mixed case, upper-case email: cleaned, kept
    (" c001 ", " Ann ", "Lee  Smith", " Ann.Lee@Example.COM ", "  new   york ", "us",
     "2024/01/02", "2024-01-02 10:00:00", "", D1),
    # a later version of C001 in a later file
    ("C001", "Ann", "Lee", "ann@example.com", "Boston", "US", "2024-01-02",
     "2024-03-01T09:00:00Z", "false", D2),
    # an older version arriving late: loses to the newer one
    ("C001", "Ann", "Old", "ann@example.com", "Austin", "US", "2024-01-02",
     "2024-02-01 00:00:00", "false", D2),
    # bad email: kept, flagged
    ("C002", "Bo", "Ng", "not-an-email", "Paris", "fr", "2024-01-03", "2024-01-03 00:00:00",
     "TRUE", D1),
    # missing key, unparsable updated_at and signup, bad is_deleted: quarantined, every reason
    ("  ", "X", "Y", "x@y.zz", "Rome", "IT", "31/31/2024", "yesterday", "maybe", D1),
    # missing updated_at
    ("C003", "Cy", "Do", "cy@do.org", "Oslo", "NO", "", "", None, D1),
]


def test_standardise_and_split(spark):
    raw = raw_frame(spark, COLUMNS, RAW)
    validated = customers.standardise_customers(raw, TS, DATES, EMAIL, BOUNDS)

    expected_accepted = spark.createDataFrame(
        [
            ("C001", "Ann", "Lee Smith", "ann.lee@example.com", True, "New York", "US",
             dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 10), False, D1),
            ("C001", "Ann", "Lee", "ann@example.com", True, "Boston", "US",
             dt.date(2024, 1, 2), dt.datetime(2024, 3, 1, 9), False, D2),
            ("C001", "Ann", "Old", "ann@example.com", True, "Austin", "US",
             dt.date(2024, 1, 2), dt.datetime(2024, 2, 1), False, D2),
            ("C002", "Bo", "Ng", "not-an-email", False, "Paris", "FR",
             dt.date(2024, 1, 3), dt.datetime(2024, 1, 3), True, D1),
        ],
        "customer_id string, first_name string, last_name string, email string, "
        "is_valid_email boolean, city string, country string, signup_date date, "
        "updated_at timestamp, is_deleted boolean, _source_file string",
    )
    assert_df_equality(accepted_rows(as_logged(validated)), expected_accepted,
                       ignore_row_order=True, ignore_nullable=True)

    expected_quarantine = spark.createDataFrame(
        [
            ("  ", "X", "Y", "x@y.zz", "Rome", "IT", "31/31/2024", "yesterday", "maybe", D1,
             ["missing_customer_id", "unparsable_updated_at", "unparsable_signup_date",
              "unparsable_is_deleted"], "run-1"),
            ("C003", "Cy", "Do", "cy@do.org", "Oslo", "NO", "", "", None, D1,
             ["missing_updated_at"], "run-1"),
        ],
        ", ".join(f"{c} string" for c in (*COLUMNS, "_source_file"))
        + ", _dq_reasons array<string>, _run_id string",
    )
    assert_df_equality(quarantine_rows(as_logged(validated), "run-1"), expected_quarantine,
                       ignore_row_order=True, ignore_nullable=True)


def test_latest_version_wins_whatever_the_file_order(spark):
    raw = raw_frame(spark, COLUMNS, RAW)
    validated = customers.standardise_customers(raw, TS, DATES, EMAIL, BOUNDS)
    latest = customers.latest_customers(accepted_rows(as_logged(validated)))
    expected = spark.createDataFrame(
        [
            ("C001", "Ann", "Lee", "ann@example.com", True, "Boston", "US",
             dt.date(2024, 1, 2), dt.datetime(2024, 3, 1, 9), False),
            ("C002", "Bo", "Ng", "not-an-email", False, "Paris", "FR",
             dt.date(2024, 1, 3), dt.datetime(2024, 1, 3), True),
        ],
        "customer_id string, first_name string, last_name string, email string, "
        "is_valid_email boolean, city string, country string, signup_date date, "
        "updated_at timestamp, is_deleted boolean",
    )
    assert_df_equality(latest, expected, ignore_row_order=True, ignore_nullable=True)


def test_malformed_line_is_quarantined(spark):
    raw = raw_frame(spark, COLUMNS, [RAW[1]], malformed=True)
    validated = customers.standardise_customers(raw, TS, DATES, EMAIL, BOUNDS)
    reasons = [r["_dq_reasons"] for r in quarantine_rows(as_logged(validated), "r").collect()]
    assert reasons == [["malformed_row"]]

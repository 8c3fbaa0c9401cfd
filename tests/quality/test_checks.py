"""Each rule type on small frames: passing and failing cases, NULLs, composite keys,
thresholds. Results are compared as whole DataFrames with chispa."""

import datetime as dt

from chispa import assert_df_equality

from rfm_spark.audit_schemas import QUALITY_RESULTS as RESULTS_SCHEMA
from rfm_spark.config import QualityRule, QualityTable
from rfm_spark.quality.checks import check_table, results_rows
from rfm_spark.quality.quarantine import with_quarantine_rules

AS_OF = dt.date(2024, 12, 31)
RUN_TIME = dt.datetime(2025, 1, 10, 12)
CHECKED_AT = dt.datetime(2025, 1, 10, 12)
ORDERS = "order_id string, line_no int, customer_id string, status string, qty int, ts date"


def orders(spark):
    return spark.createDataFrame([
        ("O1", 1, "C1", "completed", 1, dt.date(2024, 12, 30)),
        ("O1", 2, "C1", "completed", 0, dt.date(2024, 12, 30)),
        ("O2", 1, None, "lost", 5, dt.date(2024, 12, 1)),
        ("O2", 1, "C9", None, None, None),
        ("O3", 1, "C2", "cancelled", 500, dt.date(2024, 12, 20)),
    ], ORDERS)


def customers(spark):
    return spark.createDataFrame([("C1",), ("C2",)], "customer_id string")


def run(spark, rules, key=("order_id", "line_no"), df=None):
    spec = QualityTable(key=list(key), rules=rules)
    results, _ = check_table(df if df is not None else orders(spark), "staging.orders", spec,
                             as_of=AS_OF, run_time=RUN_TIME,
                             lookup=lambda name: customers(spark))
    return spark.createDataFrame(results_rows("r1", results, CHECKED_AT), RESULTS_SCHEMA)


def expected(spark, rows):
    return spark.createDataFrame(
        [("r1", "staging.orders", *row, CHECKED_AT) for row in rows], RESULTS_SCHEMA)


def test_row_rules_in_one_pass(spark):
    got = run(spark, [
        QualityRule("not_null", column="customer_id"),
        QualityRule("accepted_values", column="status", values=["completed", "cancelled"],
                    severity="warn"),
        QualityRule("range", column="qty", min=1, max=100),
        QualityRule("regex", column="customer_id", pattern="^C[0-9]$"),
    ])
    assert_df_equality(got, expected(spark, [
        ("not_null_customer_id", "customer_id", "error", "error", 1, 5, False, ["O2|1"], ""),
        # NULL status passes accepted_values (not_null is its own rule)
        ("accepted_values_status", "status", "warn", "warn", 1, 5, False, ["O2|1"], ""),
        ("range_qty", "qty", "error", "error", 2, 5, False, ["O1|2", "O3|1"], ""),
        ("regex_customer_id", "customer_id", "error", "pass", 0, 5, True, [], ""),
    ]), ignore_nullable=True)


def test_unique_single_and_composite(spark):
    got = run(spark, [
        QualityRule("unique", columns=["order_id"], severity="warn"),
        QualityRule("unique", columns=["order_id", "line_no"]),
        QualityRule("unique", columns=["ts"], name="one_order_per_day", severity="warn"),
    ])
    assert_df_equality(got, expected(spark, [
        ("unique_order_id", "order_id", "warn", "warn", 4, 5, False, ["O1", "O2"],
         "2 duplicated key(s)"),
        ("unique_order_id_line_no", "order_id,line_no", "error", "error", 2, 5, False,
         ["O2|1"], "1 duplicated key(s)"),
        # NULL groups like any other value, as GROUP BY does
        ("one_order_per_day", "ts", "warn", "warn", 2, 5, False, ["2024-12-30"],
         "1 duplicated key(s)"),
    ]), ignore_nullable=True)


def test_relationships_ignore_nulls(spark):
    got = run(spark, [QualityRule("relationships", column="customer_id",
                                  to="staging.customers", field="customer_id",
                                  severity="warn")])
    assert_df_equality(got, expected(spark, [
        ("relationships_customer_id", "customer_id", "warn", "warn", 1, 5, False, ["O2|1"],
         "customer_id not found in staging.customers.customer_id"),
    ]), ignore_nullable=True)


def test_relationships_in_the_one_pass_with_the_other_rules(spark):
    """Two relationships rules next to a row rule and a unique rule, in the one pass: a
    parent holding a key twice does not count a row twice; with no table key, the sample
    is the value not found."""
    products = spark.createDataFrame([("completed",), ("completed",), ("cancelled",)],
                                     "status string")
    rules = [
        QualityRule("relationships", column="customer_id", to="staging.customers",
                    field="customer_id", severity="warn"),
        QualityRule("unique", columns=["order_id", "line_no"], severity="warn"),
        QualityRule("relationships", column="status", to="staging.statuses", field="status",
                    severity="warn"),
        QualityRule("not_null", column="customer_id", severity="warn"),
    ]
    parents = {"staging.customers": customers(spark).unionAll(customers(spark)),
               "staging.statuses": products}
    for key, samples in (
            (("order_id", "line_no"), (["O2|1"], ["O2|1"], ["O2|1"])),
            ((), (["C9"], [], ["lost"]))):
        spec = QualityTable(key=list(key), rules=rules)
        results, rows = check_table(orders(spark), "staging.orders", spec, as_of=AS_OF,
                                    run_time=RUN_TIME, lookup=parents.__getitem__)
        got = spark.createDataFrame(results_rows("r1", results, CHECKED_AT), RESULTS_SCHEMA)
        assert rows == 5
        assert_df_equality(got, expected(spark, [
            ("relationships_customer_id", "customer_id", "warn", "warn", 1, 5, False,
             samples[0], "customer_id not found in staging.customers.customer_id"),
            ("unique_order_id_line_no", "order_id,line_no", "warn", "warn", 2, 5, False,
             ["O2|1"], "1 duplicated key(s)"),
            ("relationships_status", "status", "warn", "warn", 1, 5, False, samples[2],
             "status not found in staging.statuses.status"),
            ("not_null_customer_id", "customer_id", "warn", "warn", 1, 5, False,
             samples[1], ""),
        ]), ignore_nullable=True)


def test_row_count_and_freshness(spark):
    got = run(spark, [
        QualityRule("row_count", min=5),
        QualityRule("row_count", min=6, name="at_least_six", severity="warn"),
        QualityRule("freshness", column="ts", max_age_days=1),
        QualityRule("freshness", column="ts", max_age_days=7, relative_to="run_time",
                    name="fresh_vs_run"),
    ])
    assert_df_equality(got, expected(spark, [
        ("row_count", "", "error", "pass", 0, 1, True, [], "5 rows, at least 5 expected"),
        ("at_least_six", "", "warn", "warn", 1, 1, False, [], "5 rows, at least 6 expected"),
        ("freshness_ts", "ts", "error", "pass", 0, 1, True, [],
         "latest ts 2024-12-30, 1 day(s) before as_of 2024-12-31 (max 1)"),
        ("fresh_vs_run", "ts", "error", "error", 1, 1, False, [],
         "latest ts 2024-12-30, 11 day(s) before run_time 2025-01-10 (max 7)"),
    ]), ignore_nullable=True)


def test_thresholds_count_and_percent(spark):
    got = run(spark, [
        # 2 of 5 rows fail the range: 40%
        QualityRule("range", column="qty", min=1, max=100, name="r_over_2",
                    error_if="> 2"),
        QualityRule("range", column="qty", min=1, max=100, name="r_at_least_2",
                    error_if=">= 2"),
        QualityRule("range", column="qty", min=1, max=100, name="r_pct",
                    error_if="> 50%", warn_if="> 10%"),
        QualityRule("range", column="qty", min=1, max=100, name="r_warn_quiet",
                    severity="warn", warn_if="> 3"),
    ])
    assert_df_equality(got.select("rule", "status", "failed_rows"), spark.createDataFrame(
        [("r_over_2", "warn", 2), ("r_at_least_2", "error", 2), ("r_pct", "warn", 2),
         ("r_warn_quiet", "pass", 2)], "rule string, status string, failed_rows long"),
        ignore_nullable=True)


def test_no_key_gives_no_sample(spark):
    got = run(spark, [QualityRule("not_null", column="status")], key=())
    assert got.first()["failing_keys_sample"] == []


def test_quarantine_rules_add_their_names(spark):
    df = spark.createDataFrame(
        [("O1", 0, ["missing_x"]), ("O2", 5, []), ("O3", None, [])],
        "order_id string, qty int, _dq_reasons array<string>",
    )
    rules = [QualityRule("range", column="qty", min=1, severity="quarantine"),
             QualityRule("not_null", column="qty", severity="quarantine", name="qty_given"),
             QualityRule("range", column="qty", min=100, severity="warn")]
    got = with_quarantine_rules(df, rules)
    assert_df_equality(got, spark.createDataFrame(
        [("O1", 0, ["missing_x", "range_qty"]), ("O2", 5, []), ("O3", None, ["qty_given"])],
        "order_id string, qty int, _dq_reasons array<string>",
    ), ignore_nullable=True)


def test_unique_with_row_rules_and_freshness_in_one_pass_and_on_no_rows(spark):
    """The first unique rule shares the row rules' aggregation (grouped by its columns):
    the same results as each rule alone; on an empty table every count is 0."""
    rules = [
        QualityRule("not_null", column="customer_id"),
        QualityRule("unique", columns=["order_id", "line_no"]),
        QualityRule("range", column="qty", min=1, max=100),
        QualityRule("unique", columns=["order_id"], severity="warn"),
        QualityRule("freshness", column="ts", max_age_days=1),
        QualityRule("row_count", min=1, severity="warn"),
    ]
    assert_df_equality(run(spark, rules), expected(spark, [
        ("not_null_customer_id", "customer_id", "error", "error", 1, 5, False, ["O2|1"], ""),
        ("unique_order_id_line_no", "order_id,line_no", "error", "error", 2, 5, False,
         ["O2|1"], "1 duplicated key(s)"),
        ("range_qty", "qty", "error", "error", 2, 5, False, ["O1|2", "O3|1"], ""),
        ("unique_order_id", "order_id", "warn", "warn", 4, 5, False, ["O1", "O2"],
         "2 duplicated key(s)"),
        ("freshness_ts", "ts", "error", "pass", 0, 1, True, [],
         "latest ts 2024-12-30, 1 day(s) before as_of 2024-12-31 (max 1)"),
        ("row_count", "", "warn", "pass", 0, 1, True, [], "5 rows, at least 1 expected"),
    ]), ignore_nullable=True)
    empty = orders(spark).limit(0)
    assert_df_equality(run(spark, rules[:4], df=empty), expected(spark, [
        ("not_null_customer_id", "customer_id", "error", "pass", 0, 0, True, [], ""),
        ("unique_order_id_line_no", "order_id,line_no", "error", "pass", 0, 0, True, [], ""),
        ("range_qty", "qty", "error", "pass", 0, 0, True, [], ""),
        ("unique_order_id", "order_id", "warn", "pass", 0, 0, True, [], ""),
    ]), ignore_nullable=True)


def test_history_invariants_name_each_break_and_count_the_rows(spark):
    """One key per kind of break next to a clean key; a table checked only for its history
    invariants gets its row count from that one windowed pass."""
    d = dt.date
    history = spark.createDataFrame([
        ("C1", d(2024, 1, 1), d(2024, 2, 1), False, "h1"),  # clean: two versions
        ("C1", d(2024, 2, 1), None, True, "h2"),
        ("C2", d(2024, 3, 1), d(2024, 3, 1), False, "a"),  # empty interval
        ("C3", d(2024, 1, 1), d(2024, 3, 1), False, "a"),  # overlap (second row)
        ("C3", d(2024, 2, 1), None, True, "b"),
        ("C4", d(2024, 1, 1), None, True, "a"),  # two current rows (the second overlaps)
        ("C4", d(2024, 2, 1), None, True, "b"),
        ("C5", d(2024, 1, 1), None, False, "a"),  # open interval not flagged current
        ("C6", d(2024, 1, 1), d(2024, 2, 1), False, "x"),  # same version twice in a row
        ("C6", d(2024, 2, 1), None, True, "x"),
    ], "customer_id string, valid_from date, valid_to date, is_current boolean, "
       "row_hash string")
    rule = QualityRule("scd2", columns=["customer_id"], name="scd2_invariants",
                       severity="warn")
    key = ("customer_id", "valid_from")
    assert_df_equality(run(spark, [rule], key=key, df=history), expected(spark, [
        ("scd2_invariants", "customer_id", "warn", "warn", 6, 10, False,
         ["C2|2024-03-01", "C6|2024-02-01"],
         "empty_interval 1, overlap 2, several_current 2, current_flag 1, repeated_version 1"),
    ]), ignore_nullable=True)
    assert_df_equality(run(spark, [rule], key=key, df=history.where("customer_id = 'C1'")),
                       expected(spark, [("scd2_invariants", "customer_id", "warn", "pass", 0, 2,
                                         True, [], "")]), ignore_nullable=True)
    _, rows = check_table(history, "snapshots.h", QualityTable(key=list(key), rules=[rule]),
                          as_of=AS_OF, run_time=RUN_TIME, lookup=lambda name: customers(spark))
    assert rows == 10

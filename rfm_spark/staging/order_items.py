"""staging/order_items: typed order lines that belong to the latest version of their order.

Order lines carry no `updated_at`. A delivery writes `orders/<name>.csv` and
`order_items/<name>.csv` together, so lines pair with the order version delivered in
the file of the same name. An order's lines are the set delivered with its newest
accepted version that came with lines; a set delivered without its order is used only
when no set was paired with one (newest delivery name first). So an order re-sent with
fewer lines loses the old lines, and a late file carrying an older version of the
order does not replace the newer lines.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from rfm_spark.functions import (
    canonical_id,
    is_unparsable,
    parse_decimal,
    parse_int,
    row_order,
    trimmed,
)
from rfm_spark.staging.cleansing import (
    delivery_name,
    dq_reasons,
    log_rows,
    parsed_once,
    with_raw,
)

REQUIRED = ("order_id", "line_no", "product_id", "quantity", "unit_price", "discount")
OPTIONAL: tuple[str, ...] = ()
KEYS = ("order_id", "line_no")
COLUMNS = ("order_id", "line_no", "product_id", "quantity", "unit_price", "discount",
           "line_amount")


def standardise_order_items(raw: DataFrame) -> DataFrame:
    """Typed order lines with `_dq_reasons`, the raw row in `_raw` and its file in
    `_source_file`."""
    raw, parsed = parsed_once(raw, {
        "order_id": canonical_id("order_id"),
        "product_id": canonical_id("product_id"),
        "line_no": parse_int("line_no"),
        "quantity": parse_int("quantity"),
        "unit_price": parse_decimal("unit_price"),
        "discount": parse_decimal("discount"),
    })
    line_no, quantity, unit_price = parsed["line_no"], parsed["quantity"], parsed["unit_price"]
    discount_parsed = parsed["discount"]
    discount = F.coalesce(discount_parsed, F.lit(0).cast("decimal(18,2)"))
    # try_cast: under ANSI mode a line amount beyond decimal(18,2) would abort the whole run;
    # here it is NULL and the line is quarantined `line_amount_out_of_range`.
    # (the line amount reads the gross: computed one after the other)
    raw, computed = parsed_once(raw, {"gross": (quantity * unit_price).try_cast("decimal(18,2)")})
    gross = computed["gross"]
    raw, computed = parsed_once(raw, {"line_amount": (gross - discount).try_cast("decimal(18,2)")})
    line_amount = computed["line_amount"]
    representable = (quantity.isNull() | unit_price.isNull()
                     | (gross.isNotNull() & line_amount.isNotNull()))
    checks = [
        (parsed["order_id"].isNull(), "missing_order_id"),
        (trimmed("line_no").isNull(), "missing_line_no"),
        (is_unparsable("line_no", line_no) | (line_no < 1), "invalid_line_no"),
        (parsed["product_id"].isNull(), "missing_product_id"),
        (trimmed("quantity").isNull(), "missing_quantity"),
        (is_unparsable("quantity", quantity), "unparsable_quantity"),
        (quantity <= 0, "non_positive_quantity"),
        (trimmed("unit_price").isNull(), "missing_unit_price"),
        (is_unparsable("unit_price", unit_price), "unparsable_unit_price"),
        (unit_price < 0, "negative_unit_price"),
        (is_unparsable("discount", discount_parsed), "unparsable_discount"),
        (discount_parsed < 0, "negative_discount"),
        ((quantity > 0) & (unit_price >= 0) & (discount > gross), "discount_exceeds_line_amount"),
        (~representable, "line_amount_out_of_range"),
    ]
    return raw.select(
        parsed["order_id"].alias("order_id"),
        line_no.alias("line_no"),
        parsed["product_id"].alias("product_id"),
        quantity.alias("quantity"),
        unit_price.alias("unit_price"),
        discount.alias("discount"),
        line_amount.alias("line_amount"),
        dq_reasons(checks, REQUIRED),
        *with_raw(REQUIRED),
    )


VERSION_COLUMNS = (*COLUMNS, "_delivery", "_source_file")


def delivered_lines(checked: DataFrame) -> DataFrame:
    """The order-lines log: every delivered line (rejected ones with their reasons,
    cleansing.as_logged) with the delivery it came in."""
    return log_rows(checked.withColumn("_delivery", delivery_name()), VERSION_COLUMNS)


def lines_of_latest_orders(lines: DataFrame, versions: DataFrame) -> DataFrame:
    """Keep, per order, the line set of the delivery chosen as described in the module doc;
    then one row per (order_id, line_no).

    One shuffle: lines and order versions (as markers carrying their `updated_at`) are
    partitioned by `order_id` together. Two sorts inside those partitions: one gives each
    line the newest version delivered with its set; one orders an order's lines by set
    (newest paired version first, then delivery name), then `line_no`, then the greater row
    (functions.row_order, as latest_per_key): the first row's delivery is the chosen set, and
    within it the first row of each `line_no` is kept.

    `lines`, `versions`: the accepted rows (cleansing.accepted_rows) of delivered_lines()
    and orders.order_versions() (any subset of orders, as long as both hold every row of
    the orders they have).
    """
    markers = versions.select("order_id", "_delivery",
                              F.col("updated_at").alias("_paired_updated_at"),
                              F.lit(False).alias("_is_line"))
    together = (
        lines.select(*COLUMNS, "_delivery", F.lit(True).alias("_is_line"))
        .unionByName(markers, allowMissingColumns=True)
        .repartition("order_id")
    )
    paired = F.max("_paired_updated_at").over(W.partitionBy("order_id", "_delivery"))
    by_set = W.partitionBy("order_id").orderBy(
        F.col("_paired").desc_nulls_last(), F.col("_delivery").desc(), F.col("line_no"),
        row_order(COLUMNS).desc())
    ranked = (
        together.withColumn("_paired", paired)
        .where(F.col("_is_line"))
        .select(*COLUMNS, "_delivery",
                F.first("_delivery").over(by_set).alias("_chosen"),
                F.lag("line_no").over(by_set).alias("_previous_line_no"))
    )
    # the chosen set's rows come first in their order (one delivery shares one `_paired`), so
    # the row before a chosen row is of the same set, or there is none
    first_of_its_line_no = ~F.col("_previous_line_no").eqNullSafe(F.col("line_no"))
    return (ranked.where((F.col("_delivery") == F.col("_chosen")) & first_of_its_line_no)
            .select(*COLUMNS))

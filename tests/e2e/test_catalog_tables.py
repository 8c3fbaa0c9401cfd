"""Catalog mode: tables written and MERGEd through the Spark catalog by name, equal to path
mode. The catalog runs compile generated code (`spark.interpreted_below_mb: 0` on a session
that compiles: the `compiled` fixture); the path build of the same small landing is evaluated
interpreted: the two modes agree."""

from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality

from rfm_spark.cli import main
from tests.e2e.test_incremental import deliver

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TABLES = ("customers", "products", "orders", "order_items")


def test_catalog_tables_equal_path_tables(spark, compiled, sample_landing, sample_build,
                                          tmp_path, capsys):
    """Both ways of changing a table by name: small staging tables MERGEd, order lines (as
    many orders as files) rewritten, a catalog table overwritten from a read of itself."""
    source = sample_landing
    config = tmp_path / "catalog.yaml"
    config.write_text(yaml.safe_dump({
        "inherits": str(REPO / "conf" / "base.yaml"),
        "spark": {"interpreted_below_mb": 0},
        "warehouse": {"dir": str(tmp_path / "lockdir"), "catalog_schema": "rfm_cat",
                      "tables": {"marts.top_customers": "rfm_marts.top_customers"}},
    }))
    raw = tmp_path / "raw"
    for deliveries in ((1, 2), (3, 4)):  # the second run MERGEs into existing tables
        for delivery in deliveries:
            for table in TABLES:
                deliver(source, raw, table, delivery)
        assert main(["run", "--config", str(config), "--raw-dir", str(raw)]) == 0
    assert "expressions interpreted" not in capsys.readouterr().err  # both runs compiled
    assert spark.catalog.tableExists("rfm_cat.marts_customer_segmentation")
    assert spark.catalog.tableExists("rfm_marts.top_customers")
    def operations(table):
        history = spark.sql(f"DESCRIBE HISTORY {table}").orderBy("version").collect()
        return [row["operation"] for row in history]

    assert operations("rfm_cat.staging_orders") == ["CREATE OR REPLACE TABLE AS SELECT",
                                                    "MERGE"]
    assert operations("rfm_cat.staging_order_items")[1:] == ["CREATE OR REPLACE TABLE AS SELECT"]

    for catalog_name, path in (("rfm_cat.marts_customer_segmentation",
                                "marts/customer_segmentation"),
                               ("rfm_marts.top_customers", "marts/top_customers"),
                               ("rfm_cat.staging_order_items", "staging/order_items")):
        assert_df_equality(spark.read.table(catalog_name),
                           spark.read.format("delta").load(str(sample_build / path)),
                           ignore_row_order=True)

"""The CLV stage of `rfm-spark run`: the mart and the fitted models of the sample build, a
landing too small to fit (exit 1, on record, nothing published), CLV switched off, and
p_alive_band in the segment history (the README's query; a history from before bands)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from pyspark.sql import functions as F

from rfm_spark.cli import main
from tests.helpers import EARLIER_AS_OF
from tests.hostile.landings import clean_delivery

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def read(spark, warehouse: Path, name: str):
    return spark.read.format("delta").load(str(warehouse / name))


def config(tmp_path: Path, **overrides) -> str:
    path = tmp_path / "clv.yaml"
    path.write_text(yaml.safe_dump({"inherits": str(REPO / "conf" / "base.yaml"),
                                    **overrides}))
    return str(path)


def test_the_sample_build_scores_every_customer_with_converged_models(spark, sample_build):
    clv = read(spark, sample_build, "marts/customer_lifetime_value")
    segmentation = read(spark, sample_build, "marts/customer_segmentation")
    assert sorted(clv.columns) == sorted([
        "customer_id", "as_of_date", "repeat_purchases", "recency_weeks", "tenure_weeks",
        "avg_repeat_spend", "p_alive", "expected_purchases", "horizon_weeks",
        "expected_avg_spend", "clv", "p_alive_band"])
    # the customers with counted orders at as_of: the scored ones, each once
    assert sorted(r[0] for r in clv.select("customer_id").collect()) == \
        sorted(r[0] for r in segmentation.select("customer_id").collect())
    joined = clv.join(segmentation.select("customer_id", "frequency", "as_of_date"),
                      ["customer_id", "as_of_date"])
    totals = joined.agg(
        F.count(F.lit(1)).alias("rows"),
        # a purchase occasion is a day: never more occasions than counted orders
        F.sum((F.col("repeat_purchases") + 1 > F.col("frequency")).cast("int")).alias("more"),
        F.sum(((F.col("p_alive") < 0) | (F.col("p_alive") > 1)).cast("int")).alias("bad_p"),
        F.sum((F.col("clv") < 0).cast("int")).alias("negative"),
        F.countDistinct("p_alive_band").alias("bands"),
    ).first()
    assert totals["rows"] == segmentation.count()
    assert (totals["more"], totals["bad_p"], totals["negative"]) == (0, 0, 0)
    assert totals["bands"] >= 2
    fits = {r["model"]: r for r in read(spark, sample_build, "audit/clv_models").collect()}
    assert set(fits) == {"bgnbd", "gamma_gamma"}
    assert all(f["converged"] for f in fits.values())
    assert set(fits["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    assert fits["bgnbd"]["customers"] == clv.count()
    results = read(spark, sample_build, "audit/dq_results").where(
        F.col("table") == "marts.customer_lifetime_value")
    assert {r["rule"]: r["status"] for r in results.collect()}["bgnbd_converged"] == "pass"


def test_a_landing_too_small_to_fit_stops_the_run_with_the_fits_on_record(
        spark, tmp_path, capsys):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    clean_delivery(raw)  # two customers, one order each
    code = main(["run", "--config", config(tmp_path), "--raw-dir", str(raw),
                 "--warehouse", str(warehouse)])
    assert code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "bgnbd_converged" in last and "marts were not published" in last
    fits = read(spark, warehouse, "audit/clv_models").collect()
    assert {(f["model"], f["converged"]) for f in fits} == {("bgnbd", False),
                                                            ("gamma_gamma", False)}
    detail = read(spark, warehouse, "audit/dq_results").where(
        F.col("rule") == "bgnbd_converged").first()["detail"]
    assert "did not converge" in detail and "clv.enabled: false" in detail
    assert not (warehouse / "marts").exists()  # nothing published


def test_clv_switched_off_writes_no_mart_and_fits_nothing(clean_base):
    """The shared clean build (tests/conftest.py) runs with `clv.enabled: false`."""
    _, _, warehouse = clean_base
    assert (warehouse / "marts" / "customer_segmentation").exists()
    assert not (warehouse / "marts" / "customer_lifetime_value").exists()
    assert not (warehouse / "audit" / "clv_models").exists()


def test_clv_validate_fits_both_models_and_appends_the_comparison(
        spark, sample_build, sample_config, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    shutil.copytree(sample_build, warehouse)  # the shared build is never written to
    code = main(["clv-validate", "--calibration-end", "2024-09-30", "--holdout-end",
                 "2024-12-31", "--config", sample_config, "--warehouse", str(warehouse)])
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith("better: ")
    rows = read(spark, warehouse, "audit/clv_validation")
    assert {r["model"] for r in rows.collect()} == {"bgnbd", "pareto_nbd"}
    everyone = rows.where(F.col("bucket") == "all").collect()
    assert len(everyone) == 2 and all(r["correlation"] is not None for r in everyone)
    buckets = rows.where((F.col("bucket") != "all") & (F.col("model") == "bgnbd"))
    assert buckets.agg(F.sum("customers")).first()[0] == everyone[0]["customers"]
    weekly = read(spark, warehouse, "audit/clv_validation_tracking")
    for model in ("bgnbd", "pareto_nbd"):
        points = weekly.where(F.col("model") == model).orderBy("week_end").collect()
        at = {str(p["week_end"]): p for p in points}
        actual = next(r for r in everyone if r["model"] == model)["actual_purchases"]
        assert at["2024-12-31"]["actual_cumulative"] - at["2024-09-30"]["actual_cumulative"] \
            == actual  # the holdout's repeat purchases, week by week
    assert main(["clv-validate", "--calibration-end", "2024-12-31", "--holdout-end",
                 "2024-09-30", "--config", sample_config, "--warehouse", str(warehouse)]) == 2
    assert "--holdout-end" in capsys.readouterr().err


def readme_query(about: str) -> str:
    """The README's SQL block that follows the sentence containing `about`."""
    text = (REPO / "README.md").read_text()
    found = re.search(re.escape(about) + r".*?```sql\n(.*?)```", text, re.S)
    assert found, about
    return found.group(1).strip().rstrip(";")


def lapsed(spark, warehouse: Path) -> set[str]:
    mart = read(spark, warehouse, "marts/customer_lifetime_value")
    return {r[0] for r in mart.where("p_alive_band = 'Likely Lapsed'")
            .select("customer_id").collect()}


def test_the_segment_history_answers_who_became_likely_lapsed(
        spark, sample_build_earlier, sample_build, sample_config, sample_landing, tmp_path):
    warehouse = tmp_path / "wh"
    shutil.copytree(sample_build_earlier, warehouse)  # as_of EARLIER_AS_OF, then the latest
    assert main(["run", "--config", sample_config, "--raw-dir", str(sample_landing),
                 "--warehouse", str(warehouse)]) == 0
    history = read(spark, warehouse, "snapshots/customer_segment_history")
    current = {r[0]: r[1] for r in history.where("is_current")
               .select("customer_id", "p_alive_band").collect()}
    mart = read(spark, warehouse, "marts/customer_lifetime_value")
    assert current == {r[0]: r[1] for r in mart.select("customer_id", "p_alive_band").collect()}

    query = readme_query("Which customers became Likely Lapsed since")
    assert EARLIER_AS_OF in query
    became = spark.sql(query.replace("data/warehouse", str(warehouse)))
    answer = {r["customer_id"] for r in became.collect()}
    expected = lapsed(spark, sample_build) - lapsed(spark, sample_build_earlier)
    assert answer == expected and answer  # the two marts, full refreshes at both dates


def drop_columns(spark, table: str, *columns: str) -> None:
    """Rewrite a Delta table without `columns`, as an earlier version wrote it."""
    old = spark.read.format("delta").load(table).drop(*columns).localCheckpoint()
    old.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(table)


def test_tables_from_before_the_clv_columns_are_upgraded_by_the_next_run(spark, tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    clean_delivery(raw)
    off = config(tmp_path, clv={"enabled": False})
    assert main(["run", "--config", off, "--raw-dir", str(raw), "--warehouse", str(warehouse),
                 "--as-of", "2024-06-30"]) == 0
    history = str(warehouse / "snapshots" / "customer_segment_history")
    summary = str(warehouse / "intermediate" / "customer_order_summary")
    drop_columns(spark, history, "p_alive_band")
    drop_columns(spark, summary, "purchase_days", "first_day_amount")
    assert main(["run", "--config", off, "--raw-dir", str(raw), "--warehouse", str(warehouse),
                 "--as-of", "2024-07-31"]) == 0
    rows = {(r.customer_id, str(r.valid_from), r.p_alive_band)
            for r in spark.read.format("delta").load(history).collect()}
    assert {(c, "2024-06-30", None) for c in ("C1", "C2")} <= rows  # the old rows kept
    rebuilt = {r.customer_id: (r.purchase_days, float(r.first_day_amount))
               for r in spark.read.format("delta").load(summary).collect()}
    assert rebuilt == {"C1": (1, 5.0), "C2": (1, 2.5)}  # recomputed for every customer

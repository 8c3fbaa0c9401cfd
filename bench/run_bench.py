"""`make bench` / `make bench-quick`: measure the pipeline side by side with DuckDB.

In one process and one run, on the same generated data:
  (a) full refresh from raw CSV to all tables;
  (b) a delivery with ~1% new and changed orders, then the incremental run;
  (c) RFM scoring from staged orders to intermediate/rfm_scores, and DuckDB computing the
      same columns with SQL on the same orders exported to Parquet; both results compared;
  (d) the CLV stage as a run builds it (customer order summary -> statistics -> fits ->
      scores -> marts/customer_lifetime_value), its share of (a), and the per-customer CLV
      statistics from staged orders computed by rfm_spark and by DuckDB, compared;
  (e) (a) again at each size of --scale, to show how cost grows;
  (f) staging of orders and order lines, raw CSV to typed and deduplicated tables, by
      rfm_spark and by DuckDB (a floor: staging_yardstick.py).
Prints a table (stage, rows, seconds, rows/s, ratio) and writes it as JSON under
bench/results/. Timings are reported, never asserted. DuckDB is a bench-only dependency
(`pip install -e '.[bench]'`). Counters: bench/counters.py; the DuckDB side: yardstick.py
and staging_yardstick.py.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import platform
import random
import shutil
from pathlib import Path

from counters import Counted, Row, counted
from pyspark.sql import SparkSession
from staging_yardstick import staging_side_by_side
from yardstick import clv_side_by_side, rfm_side_by_side

from rfm_spark.io.warehouse import Warehouse
from rfm_spark.logs import setup_logging
from rfm_spark.registry import load_settings
from rfm_spark.runner.pipeline import RunOptions, run_pipeline
from rfm_spark.session import get_spark
from rfm_spark.tools.sample import SampleSpec, generate_landing

EXTRA = "delivery_9001.csv"


def landing_for(root: Path, orders: int) -> Path:
    """A generated landing for `orders` (cached between bench runs, same seed)."""
    folder = root / f"landing_{orders}"
    marker = folder / "_complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        generate_landing(folder, SampleSpec(customers=max(orders // 10, 100), orders=orders,
                                            seed=42, dirty_rate=0.01))
        marker.write_text("ok")
    for table in ("orders", "order_items"):
        (folder / table / EXTRA).unlink(missing_ok=True)
    return folder


def add_delivery(landing: Path, orders: int, fraction: float = 0.01, seed: int = 7) -> int:
    """Write orders/ and order_items/ delivery_9001.csv: fraction/2 new orders and fraction/2
    existing orders re-sent as returned with a later updated_at. Returns the orders written."""
    rng = random.Random(seed)
    changed_wanted = int(orders * fraction / 2)
    sample: list[list[str]] = []
    seen = 0
    for path in sorted((landing / "orders").glob("delivery_000*.csv")):
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                if not row["order_id"].strip() or row["status"].strip().lower() not in (
                        "completed", "complete", "delivered"):
                    continue
                seen += 1
                pick = [row["order_id"], row["customer_id"], row["order_ts"]]
                if len(sample) < changed_wanted:
                    sample.append(pick)
                elif rng.random() < changed_wanted / seen:
                    sample[rng.randrange(changed_wanted)] = pick
    later = "2025-01-02 10:00:00"
    new_orders = int(orders * fraction) - len(sample)
    with open(landing / "orders" / EXTRA, "w", newline="") as o, \
            open(landing / "order_items" / EXTRA, "w", newline="") as i:
        ow, iw = csv.writer(o, lineterminator="\n"), csv.writer(i, lineterminator="\n")
        ow.writerow(["order_id", "customer_id", "order_ts", "status", "updated_at"])
        iw.writerow(["order_id", "line_no", "product_id", "quantity", "unit_price", "discount"])
        for oid, cid, ts in sample:
            ow.writerow([oid, cid, ts, "returned", later])
            iw.writerow([oid.strip().upper(), 1, "P00001", 1, "10.00", "0.00"])
        customers = max(orders // 10, 100)
        for k in range(new_orders):
            oid = f"N{k:09d}"
            day = dt.date(2024, 12, 31) - dt.timedelta(days=rng.randrange(14))
            ow.writerow([oid, f"C{rng.randrange(1, customers + 1):07d}", f"{day} 12:00:00",
                         "completed", later])
            for line in range(1, rng.choice([1, 1, 2, 3]) + 1):
                iw.writerow([oid, line, f"P{rng.randrange(1, 50):05d}", rng.choice([1, 1, 2]),
                             f"{rng.uniform(5, 200):.2f}", "0.00"])
    return len(sample) + new_orders


def timed_run(spark: SparkSession, settings, full: bool, warehouse: Path) -> Counted:
    with counted(spark, warehouse) as done:
        run_pipeline(spark, settings, RunOptions(full_refresh=full))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rfm-spark-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000, help="main size, (a)-(c)")
    parser.add_argument("--scale", default="1000000,3000000,10000000",
                        help="sizes for (d), comma separated")
    parser.add_argument("--work", default="bench/work", help="generated data and warehouses")
    parser.add_argument("--results", default="bench/results")
    parser.add_argument("--no-staging-yardstick", action="store_true",
                        help="skip staging side by side with DuckDB (at 10M orders it stages "
                             "the landing a second time)")
    parser.add_argument("--no-clv", action="store_true",
                        help="runs without the CLV stage (clv.enabled: false)")
    args = parser.parse_args(argv)
    setup_logging()
    work, results = Path(args.work), Path(args.results)
    work.mkdir(parents=True, exist_ok=True)
    settings0 = load_settings()
    spark = get_spark(settings0.spark)
    rows: list[Row] = []
    sizes = sorted({int(s) for s in args.scale.split(",") if s} | {args.orders})
    per_order: dict[int, float] = {}
    for size in sizes:
        landing = landing_for(work, size)
        warehouse = work / f"warehouse_{size}"
        shutil.rmtree(warehouse, ignore_errors=True)
        settings = load_settings(overrides={"raw.dir": str(landing),
                                            "warehouse.dir": str(warehouse),
                                            "clv.enabled": not args.no_clv})
        full = timed_run(spark, settings, True, warehouse)
        per_order[size] = full.seconds / size
        clv = " (no CLV)" if args.no_clv else ""
        rows.append(Row(f"full refresh from raw CSV, {size:,} orders{clv}", size, full.seconds,
                        jobs=full.jobs, commits=full.commits, rows_written=full.rows_written))
        if size != args.orders:
            continue
        if not args.no_staging_yardstick:
            rows += staging_side_by_side(spark, load_settings(overrides={
                "raw.dir": str(landing), "warehouse.dir": str(work / "bench_staging")}), work)
        added = add_delivery(landing, size)
        incr = timed_run(spark, settings, False, warehouse)
        rows.append(Row(f"incremental run, +{added:,} new/changed orders (1%){clv}", added,
                        incr.seconds, f"{incr.seconds / full.seconds:.2f}x full refresh",
                        incr.jobs, incr.commits, incr.rows_written))
        wh = Warehouse(spark, settings.warehouse)
        rows += rfm_side_by_side(spark, wh, settings, work)
        if not args.no_clv:
            rows += clv_side_by_side(spark, wh, settings, work, full.seconds)
        for table in ("orders", "order_items"):
            (landing / table / EXTRA).unlink(missing_ok=True)
    smallest = min(per_order)
    for row in rows:
        if row.stage.startswith("full refresh") and not row.ratio:
            size = row.rows
            row.ratio = f"{per_order[size] / per_order[smallest]:.2f}x cost/order of {smallest:,}"
    print(f"\n{'stage':<64} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'jobs':>6} "
          f"{'commits':>7} {'rows written':>13}  ratio")
    for row in rows:
        print(f"{row.stage:<64} {row.rows:>12,} {row.seconds:>9.1f} {row.rows_per_s:>12,.0f} "
              f"{_count(row.jobs):>6} {_count(row.commits):>7} {_count(row.rows_written):>13}"
              f"  {row.ratio}")
    results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {"when": stamp, "machine": {"cpus": __import__("os").cpu_count(),
                                         "python": platform.python_version(),
                                         "spark": spark.version},
              "rows": [{**dataclasses.asdict(r), "rows_per_s": r.rows_per_s} for r in rows]}
    path = results / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {path}")
    return 0


def _count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


if __name__ == "__main__":
    raise SystemExit(main())

"""The end-of-run summary a person reads: reconciliation, scored customers, segments, top 5.

Only aggregates and the (bounded) top 5 reach the driver.
"""

from __future__ import annotations

from collections import Counter

from pyspark.sql import DataFrame, SparkSession

from rfm_spark import registry
from rfm_spark.config import Settings
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.quality.checks import RuleResult, render_failures
from rfm_spark.runner.runs import RunResult

CUSTOMER_SEGMENTATION = registry.table("marts.customer_segmentation").name
TOP_CUSTOMERS = registry.table("marts.top_customers").name


def render_checks(results: list[RuleResult]) -> str:
    """One line for a clean bill of health, else the compact table of rules not passed."""
    if not results:
        return "Data quality: no rules configured."
    failures = render_failures(results)
    passed = sum(1 for r in results if r.passed)
    head = f"Data quality: {passed} of {len(results)} rules passed"
    return f"{head}." if not failures else f"{head}; not passed:\n{failures}"


BREAKDOWNS = (("Churn status", "churn_status"), ("Behavioural segment", "behavioral_segment"),
              ("RFM segment", "rfm_segment"))


def segment_counts(seg: DataFrame) -> dict[str, list[tuple[str | None, int]]]:
    """Customers per value of each breakdown column, most first (ties by name, nulls
    first): one job over the combinations, which are few, summed per column here."""
    columns = [column for _, column in BREAKDOWNS]
    combinations = seg.groupBy(*columns).count().collect()
    out = {}
    for column in columns:
        totals = Counter()
        for row in combinations:
            totals[row[column]] += int(row["count"])
        out[column] = sorted(totals.items(),
                             key=lambda kv: (-kv[1], kv[0] is not None, kv[0] or ""))
    return out


def render_summary(spark: SparkSession, settings: Settings, result: RunResult) -> str:
    wh = Warehouse(spark, settings.warehouse)
    lines = [f"Run {result.run_id}: {result.status}, as of {result.as_of}"]
    lines.append("")
    lines.append(f"{'raw table':<12} {'read':>10} {'quarantined':>12} {'accepted':>10} "
                 f"{'in staging':>11}  reconciles")
    for c in result.staging:
        ok = "yes" if c.rows_read == c.rows_quarantined + c.rows_accepted else "NO"
        keys = "-" if c.keys_in_staging is None else f"{c.keys_in_staging:,}"
        lines.append(f"{c.table:<12} {c.rows_read:>10,} {c.rows_quarantined:>12,} "
                     f"{c.rows_accepted:>10,} {keys:>11}  {ok}")
    if result.missing_files:
        lines.append(f"{len(result.missing_files)} processed raw file(s) are no longer in the "
                     "landing (their rows stay staged): "
                     + ", ".join(result.missing_files[:5])
                     + (" ..." if len(result.missing_files) > 5 else ""))
    lines += ["", render_checks(result.dq_results)]
    if CUSTOMER_SEGMENTATION not in result.rows_written:
        return "\n".join(lines)
    seg = wh.read(CUSTOMER_SEGMENTATION)
    scored = result.rows_written[CUSTOMER_SEGMENTATION]
    lines += ["", f"Customers scored: {scored:,}"]
    if scored == 0:
        lines.append("No completed orders on or before as_of: nothing to segment.")
        return "\n".join(lines)
    counts = segment_counts(seg)
    for title, column in BREAKDOWNS:
        lines.append(f"{title}:")
        lines += [f"  {name:<22} {count:>8,}" for name, count in counts[column]]
    top = (wh.read(TOP_CUSTOMERS).orderBy("top_rank").limit(5).collect())
    lines.append(f"Top {len(top)} customers (of {settings.top_customers.n} in "
                 "marts.top_customers):")
    lines.append(f"  {'#':>2} {'customer':<10} {'monetary':>12} {'share':>7} {'orders':>6} "
                 f"{'rfm':>4}  status")
    for r in top:
        share = f"{r['revenue_share']:.1%}" if r["revenue_share"] is not None else "-"
        lines.append(f"  {r['top_rank']:>2} {r['customer_id']:<10} {r['monetary']:>12,.2f} "
                     f"{share:>7} {r['frequency']:>6} {r['rfm_score']:>4}  "
                     f"{r['activity_status']}, {r['churn_status']}")
    return "\n".join(lines)


def print_summary(spark: SparkSession, settings: Settings, result: RunResult) -> None:
    print(render_summary(spark, settings, result))

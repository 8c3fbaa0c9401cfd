"""The report's RFM part: cards, charts per segment, the R x F grid, churn, revenue
concentration, segment migration, the top N and the winback list.

Only aggregates reach the driver: counts per segment, an R x F grid, a 100-point revenue
concentration curve, the top N (bounded by config) and a winback list capped at
WINBACK_LIMIT rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.config import Settings
from rfm_spark.intermediate.ntile import monotone_bin, position, rank_in_groups
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.report import html
from rfm_spark.runner.runs import read_published

CUSTOMER_SEGMENTATION = registry.table("marts.customer_segmentation").name
SEGMENT_MIGRATION = registry.table("marts.segment_migration").name
TOP_CUSTOMERS = registry.table("marts.top_customers").name

WINBACK_LIMIT = 200
SEGMENT_ORDER = ["Champions", "Loyal Customers", "Potential Loyalists", "New Customers",
                 "Promising", "Need Attention", "About to Sleep", "At Risk",
                 "Can't Lose Them", "Hibernating"]
SEGMENT_COLOURS = ["#1a9850", "#66bd63", "#a6d96a", "#3288bd", "#66c2a5", "#fee08b",
                   "#fdae61", "#f46d43", "#d73027", "#878787"]
CHURN_COLOURS = {"Active": "#1a9850", "At Risk": "#fdae61", "Churned": "#d73027"}


def segment_colours(segments: list[str]) -> list[str]:
    """The same colour for a segment in every chart (grey for one not in SEGMENT_ORDER)."""
    by_name = dict(zip(SEGMENT_ORDER, SEGMENT_COLOURS, strict=True))
    return [by_name.get(segment, "#999") for segment in segments]


def segment_position(segment: str) -> int:
    """Charts and tables list segments best first; unknown ones last."""
    return SEGMENT_ORDER.index(segment) if segment in SEGMENT_ORDER else len(SEGMENT_ORDER)


@dataclass
class ReportData:
    as_of: dt.date | None
    customers: int
    revenue: float
    top_share: float
    top_n: int
    churn: dict[str, int]
    segments: list[tuple[str, int, float]]  # segment, customers, revenue
    grid: dict[tuple[int, int], int]
    churn_by_behaviour: list[tuple[str, str, int]]
    concentration: list[tuple[float, float]]  # share of customers, share of revenue
    top: list[dict]
    winback: list[dict]
    migration: list[tuple[str, str, int]] = field(default_factory=list)
    migration_dates: tuple[dt.date, dt.date] | None = None


def collect(wh: Warehouse, settings: Settings, versions: dict[str, int]) -> ReportData:
    """The figures, from the marts as the latest succeeded run published them."""

    def read(name: str):
        return read_published(wh, name, versions)

    seg = read(CUSTOMER_SEGMENTATION)
    head = seg.agg(F.count(F.lit(1)).alias("n"), F.sum("monetary").alias("revenue"),
                   F.max("as_of_date").alias("as_of")).first()
    n, revenue = int(head["n"]), float(head["revenue"] or 0)
    top = [r.asDict() for r in read(TOP_CUSTOMERS).orderBy("top_rank").collect()]
    top_share = sum(r["revenue_share"] or 0 for r in top)
    churn = {r["churn_status"]: int(r["count"]) for r in seg.groupBy("churn_status").count()
             .collect()}
    segments = [(r["rfm_segment"], int(r["customers"]), float(r["revenue"] or 0)) for r in
                seg.groupBy("rfm_segment").agg(F.count(F.lit(1)).alias("customers"),
                                               F.sum("monetary").alias("revenue")).collect()]
    segments.sort(key=lambda s: segment_position(s[0]))
    grid = {(r["r_score"], r["f_score"]): int(r["count"])
            for r in seg.groupBy("r_score", "f_score").count().collect()}
    churn_by_behaviour = [(r["churn_status"], r["behavioral_segment"], int(r["count"]))
                          for r in seg.groupBy("churn_status", "behavioral_segment").count()
                          .collect()]
    concentration = _concentration(seg, n, revenue)
    high = settings.top_customers.high_value_min_monetary
    winback = [r.asDict() for r in (
        seg.where((F.col("monetary") >= F.lit(high).cast("decimal(18,2)"))
                  & F.col("churn_status").isin("At Risk", "Churned"))
        .orderBy(F.col("monetary").desc(), F.col("customer_id"))
        .select("customer_id", "monetary", "frequency", "last_order_date", "recency_days",
                "churn_status", "rfm_segment", "rfm_score")
        .limit(WINBACK_LIMIT).collect())]
    data = ReportData(head["as_of"], n, revenue, top_share, len(top), churn, segments, grid,
                      churn_by_behaviour, concentration, top, winback)
    if wh.exists(SEGMENT_MIGRATION):
        moves = read(SEGMENT_MIGRATION).collect()
        if moves:
            data.migration = [(r["from_segment"], r["to_segment"], int(r["customers"]))
                              for r in moves]
            data.migration_dates = (moves[0]["from_as_of"], moves[0]["to_as_of"])
    return data


def _concentration(seg, n: int, revenue: float) -> list[tuple[float, float]]:
    """Share of revenue held by the top x% of customers, at 100 points."""
    if n == 0 or revenue <= 0:
        return [(0.0, 0.0), (1.0, 1.0)]
    ranked = rank_in_groups(seg.select("customer_id", "monetary"),
                            [position(monotone_bin(F.col("monetary")), descending=True)],
                            [F.col("monetary").desc(), F.col("customer_id").asc()], "_rank")
    per_point = (ranked.withColumn("_pct", F.ceil(F.col("_rank") * 100 / F.lit(n)).cast("int"))
                 .groupBy("_pct").agg(F.sum("monetary").alias("m")).collect())
    by_pct = {r["_pct"]: float(r["m"]) for r in per_point}
    points, running = [(0.0, 0.0)], 0.0
    for pct in range(1, 101):
        running += by_pct.get(pct, 0.0)
        points.append((pct / 100, running / revenue))
    return points


def _figures(data: ReportData) -> list[tuple[str, str, object]]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [s[0] for s in data.segments]
    seg_fig = make_subplots(rows=1, cols=2, subplot_titles=("Customers", "Revenue"))
    seg_fig.add_bar(x=names, y=[s[1] for s in data.segments], row=1, col=1, name="customers",
                    marker_color=segment_colours(names))
    seg_fig.add_bar(x=names, y=[s[2] for s in data.segments], row=1, col=2, name="revenue",
                    marker_color=segment_colours(names))
    seg_fig.update_yaxes(title_text="customers", row=1, col=1)
    seg_fig.update_yaxes(title_text="revenue (currency units)", row=1, col=2)
    seg_fig.update_layout(title="Customers and revenue per RFM segment", showlegend=False)

    scores = sorted({k for cell in data.grid for k in cell} | {1, 5})
    grid_fig = go.Figure(go.Heatmap(
        x=[f"F{f}" for f in scores], y=[f"R{r}" for r in scores],
        z=[[data.grid.get((r, f), 0) for f in scores] for r in scores],
        colorscale="Blues", colorbar={"title": "customers"},
        text=[[str(data.grid.get((r, f), 0)) for f in scores] for r in scores],
        texttemplate="%{text}"))
    grid_fig.update_layout(title="Customers on the R x F grid (5 = best)",
                           xaxis_title="frequency score", yaxis_title="recency score")

    behaviours = sorted({b for _, b, _ in data.churn_by_behaviour})
    churn_fig = go.Figure()
    for status in ("Active", "At Risk", "Churned"):
        counts = {b: c for s, b, c in data.churn_by_behaviour if s == status}
        churn_fig.add_bar(name=status, x=behaviours, y=[counts.get(b, 0) for b in behaviours],
                          marker_color=CHURN_COLOURS[status])
    churn_fig.update_layout(barmode="stack", title="Churn status by behavioural segment",
                            xaxis_title="behavioural segment", yaxis_title="customers")

    curve = go.Figure()
    curve.add_scatter(x=[p[0] * 100 for p in data.concentration],
                      y=[p[1] * 100 for p in data.concentration], mode="lines",
                      name="customers by revenue")
    curve.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name="equal share",
                      line={"dash": "dot", "color": "#888"})
    curve.update_layout(title="Revenue concentration",
                        xaxis_title="top customers (% of customers)",
                        yaxis_title="share of revenue (%)")
    figures = [("segments", "Segments", seg_fig), ("grid", "R x F grid", grid_fig),
               ("churn", "Churn", churn_fig), ("concentration", "Concentration", curve)]
    if data.migration:
        rows = [s for s in SEGMENT_ORDER + ["(not scored)"]
                if any(m[0] == s or m[1] == s for m in data.migration)]
        counts = {(a, b): c for a, b, c in data.migration}
        mig = go.Figure(go.Heatmap(
            x=rows, y=rows, z=[[counts.get((a, b), 0) for b in rows] for a in rows],
            colorscale="Purples", colorbar={"title": "customers"},
            text=[[str(counts.get((a, b), 0)) for b in rows] for a in rows],
            texttemplate="%{text}"))
        start, end = data.migration_dates
        mig.update_layout(title=f"Segment migration from {start} (rows) to {end} (columns)",
                          xaxis_title=f"segment on {end}", yaxis_title=f"segment on {start}")
        figures.append(("migration", "Migration", mig))
    return figures


def body(data: ReportData) -> str:
    churn = " · ".join(f"{k}: {data.churn.get(k, 0):,}" for k in ("Active", "At Risk", "Churned"))
    cards = html.cards([("Customers scored", f"{data.customers:,}"),
                        ("Revenue", f"{data.revenue:,.2f}"),
                        (f"Revenue from the top {data.top_n}", f"{data.top_share:.1%}"),
                        ("Churn status", churn)])
    charts = "".join(html.chart(key, title, fig) for key, title, fig in _figures(data))
    top_cols = ["top_rank", "customer_id", "monetary", "revenue_share",
                "cumulative_revenue_share", "frequency", "recency_days", "activity_status",
                "value_tier", "churn_status", "rfm_score", "behavioral_segment"]
    win_cols = ["customer_id", "monetary", "frequency", "last_order_date", "recency_days",
                "churn_status", "rfm_segment", "rfm_score"]
    winback_note = (f"High-value customers now At Risk or Churned, by revenue (at most "
                    f"{WINBACK_LIMIT}).")
    return f"""{cards}
{charts}
<section><h2>Top {data.top_n} customers</h2>{html.table(data.top, top_cols)}</section>
<section id="winback"><h2>Winback list</h2><p>{winback_note}</p>
{html.csv_link(data.winback, win_cols, "winback.csv")}
{html.table(data.winback, win_cols)}</section>"""

"""The report's CLV part (CONTRACT section 4): P(alive) per RFM segment, customer lifetime
value per segment, the top customers by CLV and, when `rfm-spark clv-validate` has run, its
tracking chart and per-bucket comparison of actual and predicted repeat purchases.

Only aggregates reach the driver: a segments x 10 grid of P(alive), one row per segment,
the top TOP_BY_CLV customers, and the rows of the latest validation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import functions as F

from rfm_spark import registry
from rfm_spark.clv.predictions import WEEKS_PER_MONTH
from rfm_spark.io.warehouse import Warehouse
from rfm_spark.report import html
from rfm_spark.report.rfm import segment_colours, segment_position
from rfm_spark.runner.runs import read_published

CLV = registry.table("marts.customer_lifetime_value").name
SEGMENTATION = registry.table("marts.customer_segmentation").name
VALIDATION = registry.table("audit.clv_validation").name
TRACKING = registry.table("audit.clv_validation_tracking").name
TOP_BY_CLV = 20
BINS = 10  # P(alive) in tenths
BANDS = ("Likely Alive", "Uncertain", "Likely Lapsed")
MODEL_COLOURS = {"bgnbd": "#3288bd", "pareto_nbd": "#f46d43"}
TOP_COLUMNS = ["customer_id", "rfm_segment", "p_alive", "p_alive_band", "expected_purchases",
               "expected_avg_spend", "clv"]


@dataclass
class Validation:
    run_id: str
    calibration_end: dt.date
    holdout_end: dt.date
    buckets: list[dict]  # model, bucket, customers, actual/predicted purchases, mae, ...
    tracking: list[dict]  # model, week_end, actual_cumulative, predicted_cumulative


@dataclass
class ClvData:
    as_of: dt.date | None
    customers: int
    total_clv: float
    expected_purchases: float
    horizon_weeks: float | None
    bands: dict[str, int]
    p_alive_grid: dict[tuple[str, int], int]  # (segment, tenth of P(alive)) -> customers
    segments: list[tuple[str, int, float]]  # segment, customers, total clv
    top: list[dict]
    validation: Validation | None = None
    stale_as_of: dt.date | None = field(default=None)  # a mart left by an earlier as_of


def collect(wh: Warehouse, versions: dict[str, int], as_of: dt.date | None) -> ClvData | None:
    """The CLV figures at the report's as_of; None when there is no CLV mart. A mart of an
    earlier as_of (CLV switched off since) is reported as such, without its figures."""
    if not wh.exists(CLV):
        return None
    clv = read_published(wh, CLV, versions)
    head = clv.agg(F.count(F.lit(1)).alias("n"), F.sum("clv").alias("clv"),
                   F.sum("expected_purchases").alias("purchases"),
                   F.max("horizon_weeks").alias("horizon"), F.max("as_of_date").alias("as_of")
                   ).first()
    if head["n"] and head["as_of"] != as_of:
        return ClvData(as_of, 0, 0.0, 0.0, None, {}, {}, [], [], stale_as_of=head["as_of"])
    segments = read_published(wh, SEGMENTATION, versions).select("customer_id", "rfm_segment")
    scored = clv.join(segments, "customer_id", "left").withColumn(
        "rfm_segment", F.coalesce("rfm_segment", F.lit("(not scored)")))
    tenth = F.least(F.floor(F.col("p_alive") * BINS), F.lit(BINS - 1)).cast("int")
    cells = scored.groupBy("rfm_segment", tenth.alias("tenth")).agg(
        F.count(F.lit(1)).alias("n"), F.sum("clv").alias("clv")).collect()
    grid = {(r["rfm_segment"], r["tenth"]): int(r["n"]) for r in cells}
    totals: dict[str, tuple[int, float]] = {}
    for r in cells:  # per segment: the sum of its cells
        n, value = totals.get(r["rfm_segment"], (0, 0.0))
        totals[r["rfm_segment"]] = (n + int(r["n"]), value + float(r["clv"] or 0))
    per_segment = sorted(((name, n, value) for name, (n, value) in totals.items()),
                         key=lambda s: segment_position(s[0]))
    bands = {r["p_alive_band"]: int(r["count"])
             for r in clv.groupBy("p_alive_band").count().collect()}
    top = [r.asDict() for r in scored.orderBy(F.col("clv").desc(), F.col("customer_id"))
           .select(*TOP_COLUMNS).limit(TOP_BY_CLV).collect()]
    return ClvData(head["as_of"], int(head["n"]), float(head["clv"] or 0),
                   float(head["purchases"] or 0), head["horizon"], bands, grid, per_segment,
                   [_readable(row) for row in top], latest_validation(wh))


def latest_validation(wh: Warehouse) -> Validation | None:
    """The rows of the latest `clv-validate` run (run ids start with their UTC time)."""
    if not wh.exists(VALIDATION):
        return None
    rows = wh.read(VALIDATION)
    last = rows.agg(F.max("run_id")).first()[0]
    if last is None:
        return None
    buckets = [r.asDict() for r in rows.where(F.col("run_id") == last).collect()]
    weekly = []
    if wh.exists(TRACKING):
        weekly = [r.asDict() for r in wh.read(TRACKING).where(F.col("run_id") == last)
                  .orderBy("model", "week_end").collect()]
    first = buckets[0]
    return Validation(last, first["calibration_end"], first["holdout_end"], buckets, weekly)


def _readable(row: dict) -> dict:
    """Table cells: P(alive) as a share, expected purchases as a number (not a share)."""
    return {**row, "expected_purchases": f"{row['expected_purchases']:.2f}"}


# ----------------------------------------------------------------------------- figures


def _figures(data: ClvData) -> list[tuple[str, str, object]]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [s[0] for s in data.segments]
    labels = [f"{t / BINS:.1f}-{(t + 1) / BINS:.1f}" for t in range(BINS)]
    sizes = {s[0]: s[1] for s in data.segments}
    share = [[100 * data.p_alive_grid.get((name, t), 0) / max(sizes[name], 1)
              for t in range(BINS)] for name in names]
    p_alive = go.Figure(go.Heatmap(
        x=labels, y=names, z=share, colorscale="Greens", colorbar={"title": "% of segment"},
        text=[[f"{data.p_alive_grid.get((name, t), 0):,}" for t in range(BINS)]
              for name in names], texttemplate="%{text}"))
    p_alive.update_layout(title="P(alive) per RFM segment (customers; colour: share of the "
                                "segment)", xaxis_title="P(alive)", yaxis_title="RFM segment")

    value = make_subplots(rows=1, cols=2, subplot_titles=("Total CLV", "CLV per customer"))
    value.add_bar(x=names, y=[s[2] for s in data.segments], row=1, col=1,
                  marker_color=segment_colours(names))
    value.add_bar(x=names, y=[s[2] / max(s[1], 1) for s in data.segments], row=1, col=2,
                  marker_color=segment_colours(names))
    value.update_yaxes(title_text="currency units")
    value.update_layout(title="Customer lifetime value per RFM segment", showlegend=False)
    figures = [("clv-p-alive", "P(alive) by segment", p_alive),
               ("clv-segments", "CLV by segment", value)]
    if data.validation is not None:
        figures += _validation_figures(data.validation)
    return figures


def _validation_figures(v: Validation) -> list[tuple[str, str, object]]:
    """The per-bucket bars, and the tracking chart when the validation has its weekly rows
    (a validation from before audit/clv_validation_tracking has none)."""
    import plotly.graph_objects as go

    models = sorted({b["model"] for b in v.buckets})
    figures = [("clv-buckets", "Holdout by frequency", _bucket_bars(v, models))]
    if not v.tracking:
        return figures
    tracking = go.Figure()
    actual = [r for r in v.tracking if r["model"] == models[0]]
    tracking.add_scatter(x=[r["week_end"] for r in actual],
                         y=[r["actual_cumulative"] for r in actual], name="actual",
                         mode="lines", line={"color": "#222", "width": 3})
    for model in models:
        rows = [r for r in v.tracking if r["model"] == model]
        tracking.add_scatter(x=[r["week_end"] for r in rows],
                             y=[r["predicted_cumulative"] for r in rows], mode="lines",
                             name=f"{model} predicted",
                             line={"dash": "dash", "color": MODEL_COLOURS.get(model)})
    tracking.add_vline(x=dt.datetime.combine(v.calibration_end, dt.time()).timestamp() * 1000,
                       line_dash="dot", line_color="#888",
                       annotation_text="calibration end")
    tracking.update_layout(title=f"Cumulative repeat purchases: calibration to "
                                 f"{v.calibration_end}, holdout to {v.holdout_end}",
                           xaxis_title="week ending", yaxis_title="repeat purchases")
    return [("clv-tracking", "Holdout tracking", tracking), *figures]


def _bucket_bars(v: Validation, models: list[str]):
    import plotly.graph_objects as go

    buckets = [b for b in v.buckets if b["bucket"] != "all"]
    order = sorted({b["bucket"] for b in buckets}, key=lambda k: (k == "7+", k))
    bars = go.Figure()
    first = {b["bucket"]: b for b in buckets if b["model"] == models[0]}
    bars.add_bar(x=order, y=[first[k]["actual_purchases"] for k in order], name="actual",
                 marker_color="#222")
    for model in models:
        by = {b["bucket"]: b for b in buckets if b["model"] == model}
        bars.add_bar(x=order, y=[by[k]["predicted_purchases"] for k in order],
                     name=f"{model} predicted", marker_color=MODEL_COLOURS.get(model))
    bars.update_layout(barmode="group", title="Holdout repeat purchases per calibration "
                                              "repeat purchases", xaxis_title="repeat purchases "
                       "in the calibration", yaxis_title="repeat purchases in the holdout")
    return bars


def body(data: ClvData | None) -> str:
    if data is None:
        return ""
    if data.stale_as_of is not None:
        return (f'<section id="clv"><h2>Customer lifetime value</h2><p>The CLV mart is of '
                f"{data.stale_as_of}, not of this report's as_of (clv.enabled is false "
                "since): not shown.</p></section>")
    months = (f"{data.horizon_weeks / WEEKS_PER_MONTH:.0f} months" if data.horizon_weeks
              else "horizon")
    alive = data.bands.get("Likely Alive", 0) / max(data.customers, 1)
    cards = html.cards([
        (f"Customer lifetime value ({months})", f"{data.total_clv:,.2f}"),
        (f"Repeat purchases expected ({months})", f"{data.expected_purchases:,.0f}"),
        ("Likely alive", f"{alive:.1%}"),
        ("P(alive) bands", " · ".join(f"{b}: {data.bands.get(b, 0):,}" for b in BANDS))])
    charts = "".join(html.chart(key, title, fig) for key, title, fig in _figures(data))
    note = ""
    if data.validation is None:
        note = ("<p>No holdout validation yet: <code>rfm-spark clv-validate "
                "--calibration-end DATE --holdout-end DATE</code> adds its charts here.</p>")
    return f"""<section id="clv"><h2>Customer lifetime value</h2>{cards}{note}</section>
{charts}
<section id="clv-top"><h2>Top {len(data.top)} customers by CLV</h2>
{html.csv_link(data.top, TOP_COLUMNS, "top_clv.csv")}
{html.table(data.top, TOP_COLUMNS)}</section>"""

"""The report opens offline in headless Chromium: every chart draws (the RFM part and the
CLV part with a holdout validation), no network request, and its figures agree with the
marts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from rfm_spark.cli import main

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory, sample_landing, sample_config, sample_build):
    root = tmp_path_factory.mktemp("report")
    config, warehouse = sample_config, root / "wh"
    shutil.copytree(sample_build, warehouse)  # built at as_of 2024-12-31
    # a later as_of (no new files): scores move on, the migration chart appears
    assert main(["run", "--config", config, "--raw-dir", str(sample_landing), "--warehouse",
                 str(warehouse), "--as-of", "2025-02-15"]) == 0
    # a holdout validation: the CLV part draws its tracking and per-bucket charts
    assert main(["clv-validate", "--calibration-end", "2024-09-30", "--holdout-end",
                 "2024-12-31", "--config", config, "--warehouse", str(warehouse)]) == 0
    out = root / "report.html"
    assert main(["report", "--config", str(config), "--warehouse", str(warehouse),
                 "--out", str(out)]) == 0
    return out, warehouse


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_report_draws_every_chart_offline(report, tmp_path):
    from playwright.sync_api import sync_playwright

    out, _ = report
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 9")
        charts = page.eval_on_selector_all(
            ".js-plotly-plot",
            "els => els.map(e => [e.id, e.querySelectorAll('svg.main-svg').length, "
            "e.querySelectorAll('.point, .bars path, .heatmaplayer image, .scatterlayer path')"
            ".length])")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    ids = {c[0] for c in charts}
    assert ids == {"chart-segments", "chart-grid", "chart-churn", "chart-concentration",
                   "chart-migration", "chart-clv-p-alive", "chart-clv-segments",
                   "chart-clv-tracking", "chart-clv-buckets"}
    assert all(svgs > 0 and marks > 0 for _, svgs, marks in charts), charts
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_report_figures_agree_with_the_marts(spark, report):
    out, warehouse = report
    page = out.read_text()
    top = spark.read.format("delta").load(str(warehouse / "marts/top_customers"))
    share = top.agg(F.sum("revenue_share")).first()[0]
    assert f"Revenue from the top 20</div><div class=\"v\">{share:.1%}</div>" in page
    seg = spark.read.format("delta").load(str(warehouse / "marts/customer_segmentation"))
    assert f"Customers scored</div><div class=\"v\">{seg.count():,}</div>" in page
    assert re.search(r'download="winback.csv" href="data:text/csv;base64,', page)
    assert "cdn" not in page.lower().split("<script>")[0]  # nothing loaded from elsewhere


def test_report_clv_part_agrees_with_the_mart(spark, report):
    out, warehouse = report
    page = out.read_text()
    clv = spark.read.format("delta").load(str(warehouse / "marts/customer_lifetime_value"))
    total = clv.agg(F.sum("clv")).first()[0]
    assert f"Customer lifetime value (12 months)</div><div class=\"v\">{total:,.2f}</div>" \
        in page
    best = clv.orderBy(F.col("clv").desc(), "customer_id").first()
    top = page.split('id="clv-top"')[1]
    assert f"<td>{best['customer_id']}</td>" in top.split("</tr>")[1]  # first row
    assert 'download="top_clv.csv"' in top
    assert "No holdout validation yet" not in page

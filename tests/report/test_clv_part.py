"""The report's CLV part without Spark: no mart, a mart of an earlier as_of, an empty mart
(an empty landing) and a validation without tracking rows all render."""

from __future__ import annotations

import datetime as dt

from rfm_spark.report import clv

AS_OF = dt.date(2024, 12, 31)


def data(**changes) -> clv.ClvData:
    base = clv.ClvData(AS_OF, 0, 0.0, 0.0, None, {}, {}, [], [])
    return clv.ClvData(**{**base.__dict__, **changes})


def test_no_mart_no_part():
    assert clv.body(None) == ""


def test_a_mart_of_an_earlier_as_of_is_named_not_drawn():
    page = clv.body(data(stale_as_of=dt.date(2024, 6, 30)))
    assert "2024-06-30" in page and "chart-" not in page


def test_an_empty_mart_renders_with_the_validation_hint():
    page = clv.body(data())
    assert "Top 0 customers by CLV" in page
    assert "rfm-spark clv-validate" in page  # no validation yet
    assert 'id="chart-clv-p-alive"' in page and 'id="chart-clv-tracking"' not in page


def test_segments_bands_and_a_validation_draw_every_chart():
    validation = clv.Validation(
        "20240101T000000Z-x", dt.date(2024, 9, 30), AS_OF,
        [{"model": "bgnbd", "bucket": b, "customers": 2, "actual_purchases": 1,
          "predicted_purchases": 1.5, "mae": 0.5, "correlation": None} for b in ("0", "7+")],
        [{"model": "bgnbd", "week_end": d, "actual_cumulative": n,
          "predicted_cumulative": n + 0.5} for d, n in ((dt.date(2024, 9, 30), 3), (AS_OF, 5))])
    page = clv.body(data(
        customers=3, total_clv=120.0, expected_purchases=4.0, horizon_weeks=52.14,
        bands={"Likely Alive": 1, "Likely Lapsed": 2},
        p_alive_grid={("Champions", 9): 1, ("At Risk", 0): 2},
        segments=[("Champions", 1, 100.0), ("At Risk", 2, 20.0)],
        top=[{"customer_id": "C1", "clv": 100.0}], validation=validation))
    assert "Customer lifetime value (12 months)" in page and "120.00" in page
    assert "33.3%" in page  # one of three customers likely alive
    for key in ("clv-p-alive", "clv-segments", "clv-tracking", "clv-buckets"):
        assert f'id="chart-{key}"' in page


def test_a_validation_without_weekly_rows_still_draws_its_buckets():
    validation = clv.Validation(
        "20240101T000000Z-x", dt.date(2024, 9, 30), AS_OF,
        [{"model": "bgnbd", "bucket": "0", "customers": 2, "actual_purchases": 1,
          "predicted_purchases": 1.5, "mae": 0.5, "correlation": None}], [])
    page = clv.body(data(validation=validation))
    assert 'id="chart-clv-buckets"' in page and 'id="chart-clv-tracking"' not in page

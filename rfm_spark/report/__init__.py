"""`rfm-spark report`: the offline HTML report (page.py), its RFM part (rfm.py), its CLV
part (clv.py) and their HTML pieces (html.py)."""

from rfm_spark.report.page import collect, write_report

__all__ = ["collect", "write_report"]

"""`rfm-spark report`: the offline HTML report (page.py), its RFM part (rfm.py), its CLV
part (clv.py) and their HTML pieces (html.py)."""

from rfm_spark.report.page import write_report

__all__ = ["write_report"]

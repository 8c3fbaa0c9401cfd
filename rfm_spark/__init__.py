"""rfm_spark: RFM segmentation, churn tagging and top-customer analysis on Spark + Delta Lake."""

__version__ = "0.1.0"

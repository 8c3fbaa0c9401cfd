"""Small builders shared by the tests."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from rfm_spark.staging.cleansing import TimeBounds

# What a run on 2026-01-01 accepts with the shipped defaults (1990-01-01, one day ahead).
BOUNDS = TimeBounds.of("1990-01-01", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1)


def raw_frame(
    spark: SparkSession,
    columns: tuple[str, ...],
    rows: list[tuple],
    source: str = "file:/landing/t/delivery_0001.csv",
    malformed: bool = False,
) -> DataFrame:
    """A raw landing frame as the reader returns it: string columns, `_source_file`,
    `_malformed`. Rows may carry their own source file as an extra last value."""
    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in columns]
        + [T.StructField("_source_file", T.StringType()),
           T.StructField("_malformed", T.BooleanType())]
    )
    full = [
        (*r, source, malformed) if len(r) == len(columns) else (*r, malformed) for r in rows
    ]
    return spark.createDataFrame(full, schema)

"""The package speaks only the DataFrame / SQL API, which classic sessions, Spark Connect and
Databricks serverless all accept; JVM access lives in one classic-only helper."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rfm_spark"
CLASSIC_ONLY = PACKAGE / "io" / "classic_only.py"
BACK_DOORS = re.compile(r"sparkContext|\b_jvm\b|\b_jsc\b|\.rdd\b|delta\.tables|DeltaTable\.")


def test_no_jvm_back_doors_outside_the_classic_only_helper():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == CLASSIC_ONLY:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if BACK_DOORS.search(code):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_check_finds_a_back_door(tmp_path):
    assert BACK_DOORS.search("spark.sparkContext.setLogLevel('INFO')")
    assert BACK_DOORS.search("fs = spark._jvm.org.apache.hadoop.fs")
    assert BACK_DOORS.search("df.rdd.map(f)")
    assert not BACK_DOORS.search("spark.read.format('delta')")

"""One Spark session for the whole suite, built by the project's own session builder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rfm_spark.registry import load_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def settings():
    return load_settings(str(REPO / "conf" / "local.yaml"))


@pytest.fixture(scope="session")
def spark(settings, tmp_path_factory):
    from rfm_spark.session import get_spark

    test_conf = {
        **settings.spark.conf,
        "spark.sql.shuffle.partitions": "2",
        "spark.databricks.delta.snapshotPartitions": "1",
        "spark.driver.memory": "2g",
        "spark.ui.enabled": "false",
        # catalog-mode tests create managed tables: keep them out of the working tree
        "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse")),
    }
    session = get_spark(
        dataclasses.replace(settings.spark, master="local[2]", conf=test_conf, log_level="ERROR")
    )
    yield session
    session.stop()

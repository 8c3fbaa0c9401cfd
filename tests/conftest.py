"""One Spark session for the whole suite, built by the project's own session builder, and
one sample landing with its full build, shared by the tests that only read them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from rfm_spark.cli import main
from rfm_spark.registry import load_settings
from rfm_spark.tools.sample import SampleSpec, generate_landing
from tests.helpers import EARLIER_AS_OF

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


# ---- one generated landing and one full build, shared by every test that only reads them
SAMPLE = SampleSpec(customers=150, orders=1500, seed=5, dirty_rate=0.05)


@pytest.fixture(scope="session")
def sample_config(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sample-conf") / "base.yaml"
    path.write_text(yaml.safe_dump({"inherits": str(REPO / "conf" / "base.yaml")}))
    return str(path)


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory) -> Path:
    """Four deliveries of every raw table; never written to by a test."""
    folder = tmp_path_factory.mktemp("sample-landing")
    generate_landing(folder, SAMPLE)
    return folder


@pytest.fixture(scope="session")
def sample_build(spark, sample_landing, sample_config, tmp_path_factory) -> Path:
    """The warehouse of one full refresh of the sample landing; never written to by a test
    (copy it first: the copy reads the same landing, so its checkpoint holds)."""
    warehouse = tmp_path_factory.mktemp("sample-build")
    assert main(["run", "--config", sample_config, "--raw-dir", str(sample_landing),
                 "--warehouse", str(warehouse), "--full-refresh"]) == 0
    return warehouse



@pytest.fixture(scope="session")
def sample_build_earlier(spark, sample_landing, sample_config, tmp_path_factory) -> Path:
    """The warehouse of one full refresh of the sample landing at EARLIER_AS_OF; never
    written to by a test."""
    warehouse = tmp_path_factory.mktemp("sample-build-earlier")
    assert main(["run", "--config", sample_config, "--raw-dir", str(sample_landing),
                 "--warehouse", str(warehouse), "--full-refresh", "--as-of", EARLIER_AS_OF]) == 0
    return warehouse

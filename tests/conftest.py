"""One Spark session for the whole suite, built by the project's own session builder, and
one sample landing with its full build, shared by the tests that only read them."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from rfm_spark.cli import main
from rfm_spark.registry import load_settings
from rfm_spark.tools.sample import SampleSpec, generate_landing
from tests.helpers import COMPILED, EARLIER_AS_OF
from tests.hostile.landings import clean_delivery

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def settings():
    return load_settings(str(REPO / "conf" / "local.yaml"))


@pytest.fixture(scope="session")
def spark(settings, tmp_path_factory):
    from rfm_spark.session import INTERPRETED, get_spark

    # Tests evaluate expressions interpreted, as a run over a small landing does
    # (session.INTERPRETED): their frames are tiny and each test plans new queries, whose
    # generated code costs more to compile than it saves. Measured on the tests that start
    # no pipeline of their own (282), alternating: 171 / 164 s against 192 / 180 s compiled;
    # the whole suite in place 677 / 673 s against 760 s.
    # The catalog-mode test compiles (the `compiled` fixture), so the pipeline runs end to
    # end both ways; tests/test_session.py compares the two on one plan.
    test_conf = {
        **settings.spark.conf,
        **INTERPRETED,
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


@pytest.fixture
def compiled(spark):
    """The session with Spark's default evaluation (generated code) within the test."""
    before = {key: spark.conf.get(key) for key in COMPILED}
    for key, value in COMPILED.items():
        spark.conf.set(key, value)
    yield spark
    for key, value in before.items():
        spark.conf.set(key, value)


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


# ---- one clean delivery (two customers, one order each) built once, without CLV
@pytest.fixture(scope="session")
def base_config(tmp_path_factory) -> str:
    """The defaults without CLV: these landings hold a handful of customers, from which no
    CLV model can be fitted (a fit that does not converge stops a run: tests/clv,
    tests/e2e/test_clv.py). Every staging table keeps its failing rows, however small, so
    that hostile keys go through the incremental checks too."""
    path = tmp_path_factory.mktemp("hostile-conf") / "base.yaml"
    path.write_text(yaml.safe_dump({"inherits": str(REPO / "conf" / "base.yaml"),
                                    "clv": {"enabled": False},
                                    "quality": {"kept_failures_from_mb": 0}}))
    return str(path)


@pytest.fixture(scope="session")
def clean_base(base_config, tmp_path_factory) -> tuple[Path, Path, Path]:
    """One run on the clean delivery d1: (landing, its pristine copy, warehouse)."""
    base = tmp_path_factory.mktemp("clean-base")
    raw, warehouse = base / "raw", base / "wh"
    clean_delivery(raw)
    assert main(["run", "--config", base_config, "--raw-dir", str(raw),
                 "--warehouse", str(warehouse)]) == 0
    shutil.copytree(raw, base / "raw-pristine")  # file times kept (copy2)
    return raw, base / "raw-pristine", warehouse

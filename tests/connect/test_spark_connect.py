"""The whole pipeline through a real Spark Connect server (as Databricks serverless and
standard-access clusters run it) gives the tables of a classic local session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality

from tests.helpers import RAW_TABLES, assert_same_tables, cli_env

pytestmark = [pytest.mark.connect, pytest.mark.e2e]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def connect_server(spark):
    """Spark's own Spark Connect service (the gRPC server `SparkConnectServer`, and
    `start-connect-server.sh`, start), on 127.0.0.1, inside the JVM of this suite's session,
    which has Delta's extension and catalog: started here (test code, classic only), stopped
    at the end. Each client session is a new session of that JVM, configured from its
    SparkConf alone; the client is a separate Python process that speaks only Connect.
    Hosted here it shares the suite's warm JVM instead of starting and JIT-compiling its own
    (the test alone, side by side: 179 -> 132 s)."""
    port = free_port()
    conf = spark._jsc.sc().conf()  # the live SparkConf the service reads its binding from
    conf.set("spark.connect.grpc.binding.address", "127.0.0.1")
    conf.set("spark.connect.grpc.binding.port", str(port))
    service = spark._jvm.org.apache.spark.sql.connect.service.SparkConnectService
    service.start(spark._jsc.sc())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"Spark Connect service did not listen on 127.0.0.1:{port}")
        yield f"sc://127.0.0.1:{port}"
    finally:
        no_timeout = spark._jvm.scala.Option.empty()
        service.stop(no_timeout, no_timeout)


def deliver(landing: Path, raw: Path, deliveries: tuple[int, ...]) -> None:
    for table in RAW_TABLES:
        (raw / table).mkdir(parents=True, exist_ok=True)
        for number in deliveries:
            name = f"delivery_{number:04d}.csv"
            shutil.copy2(landing / table / name, raw / table / name)


def test_pipeline_through_spark_connect_equals_classic(spark, connect_server, sample_landing,
                                                      sample_config, sample_build, tmp_path):
    """Two runs through Connect (a full build, then an incremental delivery) give the tables
    of the classic full build of the same landing."""
    landing, config = sample_landing, sample_config
    raw, via_connect = tmp_path / "raw", tmp_path / "connect"
    env = {**cli_env(one_run_jvm=False), "SPARK_REMOTE": connect_server}
    for deliveries in ((1, 2), (3, 4)):  # a full build, then an incremental delivery
        deliver(landing, raw, deliveries)
        proc = subprocess.run(
            [sys.executable, "-m", "rfm_spark", "run", "--config", str(config), "--raw-dir",
             str(raw), "--warehouse", str(via_connect)],
            env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Customers scored:" in proc.stdout
    assert "incremental: customers 2 new file(s)" in proc.stderr
    assert_same_tables(spark, sample_build, via_connect)
    # the segment history's current rows are the marts; the migration counts every customer
    history = spark.read.format("delta").load(
        str(via_connect / "snapshots/customer_segment_history"))
    mart = spark.read.format("delta").load(str(via_connect / "marts/customer_segmentation"))
    current = history.where("is_current").drop("valid_from", "valid_to", "is_current",
                                                 "row_hash")
    clv = spark.read.format("delta").load(str(via_connect / "marts/customer_lifetime_value"))
    expected = mart.join(clv.select("customer_id", "p_alive_band"), "customer_id", "left")
    assert_df_equality(current, expected.select(*current.columns), ignore_row_order=True,
                       ignore_nullable=True)
    moves = spark.read.format("delta").load(str(via_connect / "marts/segment_migration"))
    assert moves.agg({"customers": "sum"}).first()[0] >= mart.count()

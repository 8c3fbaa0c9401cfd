"""The whole pipeline through a real Spark Connect server (as Databricks serverless and
standard-access clusters run it) gives the tables of a classic local session."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest
from chispa import assert_df_equality

from rfm_spark.session import cached_delta_jars, delta_ivy_dir
from tests.helpers import RAW_TABLES, assert_same_tables, cli_env

pytestmark = [pytest.mark.connect, pytest.mark.e2e]
REPO = Path(__file__).resolve().parents[2]
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def connect_server(spark, tmp_path_factory):
    """pyspark's own Spark Connect server with Delta's jars (cached by the session fixture),
    on 127.0.0.1; stopped at the end."""
    jars = cached_delta_jars(delta_ivy_dir())
    assert jars, "Delta jars are resolved by the session fixture"
    port = free_port()
    log_path = tmp_path_factory.mktemp("connect") / "server.log"
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    settings = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.databricks.delta.snapshotPartitions": "1",
        "spark.sql.session.timeZone": "UTC",
    }
    command = [str(submit), "--class", SERVER_CLASS, "--master", "local[2]",
               "--jars", ",".join(jars)]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    env = {**cli_env(one_run_jvm=False), "SPARK_LOCAL_IP": "127.0.0.1"}
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, log_path.read_text()[-3000:]
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(1)
        else:
            pytest.fail("Spark Connect server did not start:\n" + log_path.read_text()[-3000:])
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


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

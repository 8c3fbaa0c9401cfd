"""spark-submit on a real Spark standalone cluster (a master and two workers on 127.0.0.1),
with the package shipped as a wheel and Delta's jars passed to driver and executors; the
marts must equal those of a local run on the same data."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest
import yaml
from chispa import assert_df_equality

from rfm_spark.session import cached_delta_jars, delta_ivy_dir
from tests.helpers import jvm_env

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


def alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as r:
            return int(json.load(r).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    logs = tmp_path_factory.mktemp("cluster")
    env = {**jvm_env(os.environ), "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1"}
    port, ui = free_port(), free_port()
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(port), "--webui-port", str(ui)],
            env=env, stdout=open(logs / "master.log", "w"), stderr=subprocess.STDOUT))
        for i in (1, 2):
            procs.append(subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                 "--work-dir", str(logs / f"worker{i}"), f"spark://127.0.0.1:{port}"],
                env=env, stdout=open(logs / f"worker{i}.log", "w"), stderr=subprocess.STDOUT))
        wait_for(lambda: alive_workers(ui) == 2, 120, "two workers to register")
        yield {"url": f"spark://127.0.0.1:{port}", "ui": ui, "env": env, "logs": logs}
    finally:
        for proc in procs:  # stop what we started, by pid, whatever happened
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_spark_submit_on_cluster_equals_local_run(spark, cluster, sample_landing, sample_build,
                                                  tmp_path):
    landing = sample_landing
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump({"inherits": str(REPO / "conf" / "cluster.yaml")}))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(dist), str(REPO)], check=True, capture_output=True)
    wheel = next(dist.glob("rfm_spark-*.whl"))
    jars = cached_delta_jars(delta_ivy_dir())
    assert jars, "the session fixture resolves Delta's jars first"
    submit = [
        str(SPARK_HOME / "bin" / "spark-submit"), "--master", cluster["url"],
        "--jars", ",".join(jars),
        "--conf", "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
        "--conf", "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "--conf", "spark.executor.memory=512m", "--conf", "spark.cores.max=2",
        "--conf", "spark.sql.shuffle.partitions=4",
        "--py-files", str(wheel),
        str(REPO / "jobs" / "rfm_pipeline.py"), "--config", str(config),
        "--raw-dir", str(landing), "--warehouse", str(tmp_path / "on_cluster"),
    ]
    env = {k: v for k, v in cluster["env"].items() if not k.startswith("PYSPARK_GATEWAY")}
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    proc = subprocess.run(submit, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Customers scored:" in proc.stdout

    # the work ran on the workers: each registered executor ran tasks
    executor_logs = list((cluster["logs"]).glob("worker*/app-*/*/stderr"))
    assert len(executor_logs) >= 2

    for mart in ("marts/customer_segmentation", "marts/top_customers"):  # the local build
        on_cluster = spark.read.format("delta").load(str(tmp_path / "on_cluster" / mart))
        local = spark.read.format("delta").load(str(sample_build / mart))
        assert_df_equality(on_cluster, local, ignore_row_order=True)
    shutil.rmtree(dist)

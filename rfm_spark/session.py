"""The one place that builds (or finds) the SparkSession.

- An active session (pytest, a notebook) is returned as it is.
- Under spark-submit or on Databricks the platform owns the session: we call
  getOrCreate() and only fill in Delta settings the platform left unset.
- With `SPARK_REMOTE` (pyspark's own convention) or `spark.remote` in the config, the
  session is a Spark Connect client of that server (Delta must be on the server).
- Locally we check Java, start Spark with the configured master and add Delta Lake,
  whose jars are resolved from Maven Central once and cached by Ivy (~/.ivy2*).

Nothing here runs at import time.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from rfm_spark.config import SparkSettings
from rfm_spark.errors import EnvironmentProblem, root_cause

log = logging.getLogger("rfm_spark.session")
MIN_JAVA = 17
DELTA_SETTINGS = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def under_spark_submit() -> bool:
    # spark-submit's PythonRunner starts the JVM first and hands Python its gateway.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def java_major_version(java: str) -> int | None:
    """Major version of the given java binary, or None when it cannot be run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def check_java() -> None:
    """Fail with one clear sentence when Java is missing or older than Spark 4 needs."""
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        raise EnvironmentProblem(
            f"Java {MIN_JAVA} or newer is needed to run Spark, and no 'java' was found "
            "(install a JDK 17, e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME)."
        )
    version = java_major_version(java)
    if version is None or version < MIN_JAVA:
        raise EnvironmentProblem(
            f"Java {MIN_JAVA} or newer is needed to run Spark, but {java} is "
            f"{'of unknown version' if version is None else f'Java {version}'} "
            "(install a JDK 17 and point JAVA_HOME at it)."
        )


# Runtime settings the pipeline's reading depends on, set on whatever session it gets.
# With CSV column pruning on, Spark tokenises only the selected columns and never sees that
# a line has too few or too many fields; with it off such lines fill _corrupt_record,
# which is how a malformed line reaches quarantine.
PIPELINE_SQL_CONF = {"spark.sql.csv.parser.columnPruning.enabled": "false"}

SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
MIN_SHUFFLE_PARTITIONS = 2
# Spark compiles each query's operators (whole-stage code generation) and expressions to
# Java, then the JIT compiles that code: worth it for large inputs, more than the work
# itself for small ones. With these the same plans are evaluated interpreted.
INTERPRETED = {"spark.sql.codegen.wholeStage": "false",
               "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def shuffle_partitions_for(input_bytes: int, partition_mb: int, ceiling: int) -> int:
    """One shuffle partition per `partition_mb` MB of input, at least 2, at most `ceiling`."""
    wanted = math.ceil(input_bytes / (partition_mb * 2**20))
    return max(min(MIN_SHUFFLE_PARTITIONS, ceiling), min(ceiling, wanted))


def settings_for_input(input_bytes: int | None, shuffle_ceiling: str | None,
                       sizing: SparkSettings) -> dict[str, str]:
    """The runtime settings a run over `input_bytes` of raw files gets:
    - shuffle partitions sized to the input (shuffle_partitions_for, the session's value
      `shuffle_ceiling` as the ceiling), unless `shuffle_partition_mb` is 0 or the
      session's value is hidden or not a number (a platform's `auto`);
    - expressions evaluated interpreted below `interpreted_below_mb` MB.
    Nothing when the size is unknown (a Delta or catalog source)."""
    if input_bytes is None:
        return {}
    wanted = {}
    if sizing.shuffle_partition_mb and str(shuffle_ceiling).isdigit():
        wanted[SHUFFLE_PARTITIONS] = str(shuffle_partitions_for(
            input_bytes, sizing.shuffle_partition_mb, int(shuffle_ceiling)))
    if input_bytes < sizing.interpreted_below_mb * 2**20:
        wanted.update(INTERPRETED)
    return wanted


def _conf_value(spark: SparkSession, key: str) -> str | None:
    try:
        return spark.conf.get(key)
    except Exception:  # noqa: BLE001 - a platform may hide it: left as it is
        return None


@contextlib.contextmanager
def sized_to_input(spark: SparkSession, input_bytes: int | None,
                   sizing: SparkSettings, announce: bool = True) -> Iterator[None]:
    """Within the block, the session's runtime settings for a run over `input_bytes` of raw
    files (settings_for_input); each put back after it. A setting the session hides or
    refuses (a platform may pin it) is left as it is, with a warning. `announce`: log the
    settings (a run does; its summary and the report do not repeat them).

    Measured side by side: adaptive execution coalesces many small shuffles, not all, so
    the 10k-order sample's warm full refresh took 25-27 s with 64 partitions and 17-18 s
    with 2; interpreted, the 1,500-order test sample's runs took 0.8x the time."""
    shuffle = _conf_value(spark, SHUFFLE_PARTITIONS)
    wanted = settings_for_input(input_bytes, shuffle, sizing)
    restore: dict[str, str] = {}
    try:
        for key, value in wanted.items():
            before = shuffle if key == SHUFFLE_PARTITIONS else _conf_value(spark, key)
            if before is None:
                log.warning("kept %s as the session has it (its value is hidden)", key)
                continue
            try:
                spark.conf.set(key, value)
            except Exception as exc:  # noqa: BLE001 - a platform may pin it
                log.warning("kept %s = %s (%s)", key, before, root_cause(exc)[:200])
                continue
            restore[key] = before
        mb = (input_bytes or 0) / 2**20
        if announce and SHUFFLE_PARTITIONS in restore:
            log.info("%s = %s for %.1f MB of raw files (at most %s)", SHUFFLE_PARTITIONS,
                     wanted[SHUFFLE_PARTITIONS], mb, restore[SHUFFLE_PARTITIONS])
        if announce and INTERPRETED.keys() & restore.keys():
            log.info("expressions interpreted, no generated code, for %.1f MB of raw files "
                     "(below spark.interpreted_below_mb = %d)", mb, sizing.interpreted_below_mb)
        yield
    finally:
        for key, before in restore.items():
            try:
                spark.conf.set(key, before)
            except Exception as exc:  # noqa: BLE001 - a session gone must not hide why
                log.warning("could not put back %s = %s (%s)", key, before,
                            root_cause(exc)[:200])


def get_spark(settings: SparkSettings, input_bytes: int | None = None) -> SparkSession:
    """The session to use (a local Delta-enabled one only when none exists), with the
    runtime settings the pipeline relies on. `input_bytes`: what the one command of a new
    local JVM will read (a run: the raw landing; a report: the warehouse), when known
    before it starts (client_compiler_conf)."""
    spark = _session(settings, input_bytes)
    for key, value in PIPELINE_SQL_CONF.items():
        spark.conf.set(key, value)
    return spark


def starts_local_session(settings: SparkSettings) -> bool:
    """Whether get_spark will start a local session whose paths without a scheme are local
    files (no active session, platform, Spark Connect server or Hadoop configuration)."""
    return (SparkSession.getActiveSession() is None and not remote_url(settings)
            and not on_databricks() and not under_spark_submit()
            and "HADOOP_CONF_DIR" not in os.environ)


def _session(settings: SparkSettings, input_bytes: int | None) -> SparkSession:
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    url = remote_url(settings)
    if url and not on_databricks():
        return _remote_session(settings, url)
    if on_databricks() or under_spark_submit():
        return _platform_session(settings)
    return _local_session(settings, input_bytes)


def _platform_session(settings: SparkSettings) -> SparkSession:
    """Take the platform's session; add Delta settings only where the platform set none
    (spark-submit). Databricks' session is taken as it is: serverless speaks only Spark
    Connect, where a SparkConf has nothing to read."""
    builder = SparkSession.builder.appName(settings.app_name)
    if not on_databricks():
        from pyspark import SparkConf  # classic spark-submit: the launcher's settings

        platform_conf = SparkConf()
        for key, value in DELTA_SETTINGS.items():
            if not platform_conf.contains(key):
                builder = builder.config(key, value)
    return builder.getOrCreate()


def remote_url(settings: SparkSettings) -> str | None:
    return os.environ.get("SPARK_REMOTE") or settings.remote


def _remote_session(settings: SparkSettings, url: str) -> SparkSession:
    """A Spark Connect session. Only runtime SQL settings can be set from a client; a
    server that refuses one (Databricks serverless allows a few) keeps its own value."""
    try:
        spark = SparkSession.builder.remote(url).getOrCreate()
    except ImportError as exc:
        raise EnvironmentProblem(f"Spark Connect needs pyspark's connect extras ({exc}); "
                                 "install rfm_spark[connect]") from None
    for key, value in settings.conf.items():
        if key.startswith("spark.sql."):
            try:
                spark.conf.set(key, value)
            except Exception as exc:  # noqa: BLE001 - the server decides what it allows
                log.warning("Spark Connect server kept its own %s (%s)", key,
                            str(exc).splitlines()[0][:200])
    return spark


def delta_ivy_dir() -> Path:
    """Ivy cache that holds only Delta's jars for the installed delta-spark version."""
    base = Path(os.environ.get("RFM_SPARK_CACHE", Path.home() / ".cache" / "rfm_spark"))
    return base / f"ivy-delta-{importlib.metadata.version('delta-spark')}"


def cached_delta_jars(ivy_dir: Path) -> list[str]:
    """Jars a previous resolution left in the cache, or [] when Delta is not among them."""
    jars = sorted(str(p) for p in (ivy_dir / "jars").glob("*.jar"))
    return jars if any("delta-spark_" in Path(j).name for j in jars) else []


DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
# With C1 alone the JVM reserves a 48 MB code cache, which a run fills (the JVM then stops
# compiling, and has died after it): the code cache of the tiered default.
CLIENT_COMPILER = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"


def client_compiler_conf(conf: Mapping[str, str], input_bytes: int | None,
                         sizing: SparkSettings) -> dict[str, str]:
    """The driver's JVM options for a new local JVM whose one command reads `input_bytes`:
    below `client_compiler_below_mb` MB, the client compiler (C1) only, after the
    configured options. Such a JVM ends before the optimising compiler's (C2) code pays
    back the CPU it takes to compile it. Nothing when the size is unknown."""
    if input_bytes is None or input_bytes >= sizing.client_compiler_below_mb * 2**20:
        return {}
    return {DRIVER_JAVA_OPTIONS: " ".join(filter(None, [conf.get(DRIVER_JAVA_OPTIONS),
                                                        CLIENT_COMPILER]))}


def _local_session(settings: SparkSettings, input_bytes: int | None) -> SparkSession:
    check_java()
    # Bind to loopback unless told otherwise: a laptop's changing address should not matter.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(settings.app_name).master(settings.master or "local[*]")
    # spark.log.level: the log level from the start, without reaching for the SparkContext
    defaults = {**DELTA_SETTINGS, "spark.ui.enabled": "false",
                "spark.log.level": settings.log_level}
    conf = {**defaults, **settings.conf}
    one_run = client_compiler_conf(conf, input_bytes, settings)
    if one_run:
        log.info("JVM with the client compiler only (-XX:TieredStopAtLevel=1) for %.1f MB "
                 "of input (below spark.client_compiler_below_mb = %d)",
                 (input_bytes or 0) / 2**20, settings.client_compiler_below_mb)
    for key, value in {**conf, **one_run}.items():
        builder = builder.config(key, value)
    if settings.delta_from_maven:
        ivy_dir = delta_ivy_dir()
        jars = cached_delta_jars(ivy_dir)
        if jars:  # resolved before: no Ivy round trip, works offline
            builder = builder.config("spark.jars", ",".join(jars))
        else:  # first run: Ivy fetches io.delta:delta-spark_2.13 and its deps from Maven Central
            from delta import configure_spark_with_delta_pip

            builder = configure_spark_with_delta_pip(
                builder.config("spark.jars.ivy", str(ivy_dir))
            )
    return builder.getOrCreate()

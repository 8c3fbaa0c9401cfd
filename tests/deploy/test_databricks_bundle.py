"""The Databricks bundle names things that exist: the wheel's entry point, a config that
loads, a package that is built."""

import tomllib
from pathlib import Path

import yaml

from rfm_spark.cli import build_parser
from rfm_spark.registry import load_settings

REPO = Path(__file__).resolve().parents[2]


def test_bundle_job_runs_an_existing_entry_point_with_a_loadable_config():
    bundle = yaml.safe_load((REPO / "databricks.yml").read_text())
    job_files = [p for pattern in bundle["include"] for p in REPO.glob(pattern)]
    assert job_files
    jobs = {}
    for path in job_files:
        jobs.update(yaml.safe_load(path.read_text())["resources"]["jobs"])
    task = jobs["rfm_pipeline"]["tasks"][0]["python_wheel_task"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert task["package_name"] == project["name"]
    assert task["entry_point"] in project["scripts"]
    assert project["scripts"][task["entry_point"]] == "rfm_spark.cli:main"

    params = task["parameters"]
    build_parser().parse_args(params)  # the CLI accepts the job's parameters
    config_var = params[params.index("--config") + 1]
    assert config_var == "${var.config_path}"
    default = bundle["variables"]["config_path"]["default"]
    config_file = default.replace("${workspace.file_path}/", "")
    assert any(REPO.glob(config_file)) and config_file in [
        str(p.relative_to(REPO)) for inc in bundle["sync"]["include"] for p in REPO.glob(inc)]
    settings = load_settings(str(REPO / config_file))
    assert settings.spark.delta_from_maven is False  # Databricks brings its own Delta
    assert settings.warehouse.catalog_schema  # tables go to Unity Catalog
    assert settings.raw.dir.startswith("/Volumes/")


def test_bundle_builds_the_wheel_it_installs():
    bundle = yaml.safe_load((REPO / "databricks.yml").read_text())
    artifact = bundle["artifacts"]["rfm_spark_wheel"]
    assert artifact["type"] == "whl" and "wheel" in artifact["build"]
    job = yaml.safe_load((REPO / "resources" / "rfm_job.yml").read_text())
    deps = job["resources"]["jobs"]["rfm_pipeline"]["environments"][0]["spec"]["dependencies"]
    assert deps == ["../dist/*.whl"]

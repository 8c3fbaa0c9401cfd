"""A clean one-delivery warehouse built once; tests that change it work on a copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rfm_spark.cli import main
from tests.hostile.landings import clean_delivery

REPO = Path(__file__).resolve().parents[2]


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


def run(config: str, raw: Path, warehouse: Path, *extra: str) -> int:
    return main(["run", "--config", config, "--raw-dir", str(raw), "--warehouse",
                 str(warehouse), *extra])


@pytest.fixture(scope="session")
def clean_base(base_config, tmp_path_factory) -> tuple[Path, Path, Path]:
    """One run on the clean delivery d1: (landing, its pristine copy, warehouse)."""
    base = tmp_path_factory.mktemp("clean-base")
    raw, warehouse = base / "raw", base / "wh"
    clean_delivery(raw)
    assert run(base_config, raw, warehouse) == 0
    shutil.copytree(raw, base / "raw-pristine")  # file times kept (copy2)
    return raw, base / "raw-pristine", warehouse


@pytest.fixture
def clean_built(clean_base, tmp_path) -> tuple[Path, Path]:
    """(landing, warehouse) as after one run on d1, for a test to change. The checkpoint
    records absolute paths and file times: the landing is restored at the same path with
    the same times (tests run one at a time), the warehouse is a fresh copy."""
    raw, pristine, built = clean_base
    shutil.rmtree(raw)
    shutil.copytree(pristine, raw)
    warehouse = tmp_path / "wh"
    shutil.copytree(built, warehouse)
    return raw, warehouse

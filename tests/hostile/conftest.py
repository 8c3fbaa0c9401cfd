"""Tests that change the clean one-delivery warehouse (tests/conftest.py: clean_base) work on
a copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rfm_spark.cli import main


def run(config: str, raw: Path, warehouse: Path, *extra: str) -> int:
    return main(["run", "--config", config, "--raw-dir", str(raw), "--warehouse",
                 str(warehouse), *extra])


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

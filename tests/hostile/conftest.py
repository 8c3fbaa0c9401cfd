"""A clean one-delivery warehouse built once; tests that change it work on a copy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rfm_spark.cli import main
from tests.hostile.landings import clean_delivery

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def base_config(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("hostile-conf") / "base.yaml"
    path.write_text(yaml.safe_dump({"inherits": str(REPO / "conf" / "base.yaml")}))
    return str(path)


def run(config: str, raw: Path, warehouse: Path, *extra: str) -> int:
    return main(["run", "--config", config, "--raw-dir", str(raw), "--warehouse",
                 str(warehouse), *extra])


@pytest.fixture
def clean_built(base_config, tmp_path) -> tuple[Path, Path]:
    """(landing, warehouse) after one run on the clean delivery d1. Built per test: the
    checkpoint records absolute file paths, so a copied landing would be a new landing."""
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    clean_delivery(raw)
    assert run(base_config, raw, warehouse) == 0
    return raw, warehouse

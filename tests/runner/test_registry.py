"""The declarations: a run order that respects every input, one home for every name."""

from __future__ import annotations

import subprocess
import sys

from rfm_spark import registry
from rfm_spark.model import Overwrite
from rfm_spark.runner.models import marts_of_the_scores


def test_every_input_is_declared_and_comes_first():
    order = [m.name for m in registry.run_order()]
    sources = {s.name for s in registry.SOURCES}
    for model in registry.MODELS:
        for name in model.inputs:
            assert name in registry.TABLES or name in sources, (model.name, name)
            if name in registry.TABLES and name != model.name:
                assert order.index(name) < order.index(model.name), (model.name, name)


def test_layers_of_the_warehouse():
    layers = {m.layer for m in registry.MODELS}
    assert layers == {"staging", "quarantine", "intermediate", "marts", "snapshots", "audit"}
    assert len(registry.TABLES) == len(registry.MODELS)  # no name declared twice


def test_checkable_tables_are_the_published_ones():
    checkable = set(registry.CATALOG.checkable)
    assert "marts.customer_segmentation" in checkable
    assert not any(name.startswith(("audit.", "quarantine.")) for name in checkable)
    assert "staging.order_versions" not in checkable


def test_describe_lists_every_table_once():
    lines = registry.describe().splitlines()
    assert len(lines) == len(registry.MODELS)
    assert any(line.startswith("staging.orders") and "upsert on order_id" in line
               for line in lines)


def test_the_configuration_imports_no_model():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, rfm_spark.config; "
         "print(' '.join(m for m in sys.modules if m.startswith('rfm_spark.')))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert "rfm_spark.config.loading" in loaded
    assert not [m for m in loaded if m.split(".")[1] in (
        "registry", "staging", "intermediate", "marts", "snapshots", "runner", "quality")]


def test_marts_of_the_scores_are_whole_table_overwrites_in_run_order():
    names = [m.name for m in marts_of_the_scores()]
    assert names == ["marts.customer_segmentation", "marts.top_customers"]
    assert all(isinstance(m.write, Overwrite) for m in marts_of_the_scores())


def test_statistics_are_kept_on_keys_and_the_columns_writes_find_rows_by():
    expected = {
        "staging.orders": ("order_id",),  # key, MERGE key
        "staging.order_items": ("order_id", "line_no"),  # key; groups by order_id
        "staging.order_versions": ("_source_file",),  # rows replaced per raw file
        "quarantine.order_items": ("_source_file",),
        "intermediate.customer_order_summary": ("customer_id",),
        "snapshots.customer_segment_history": ("customer_id", "valid_from"),
        "marts.top_customers": ("top_rank",),
        "audit.pipeline_runs": ("run_id",),
        "audit.dq_results": (),  # appended, never looked up: Delta's default
    }
    assert {name: registry.stats_columns(name) for name in expected} == expected
    for model in registry.MODELS:  # every one is a column of its table
        assert set(model.stats_columns) <= set(model.columns) or not model.columns, model.name

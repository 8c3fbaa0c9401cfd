"""Configuration is validated at start-up: every kind of mistake names its key (exit 2)."""

from pathlib import Path

import pytest
import yaml

from rfm_spark.cli import main
from rfm_spark.config import SegmentCell, validate_segment_grid
from rfm_spark.errors import ConfigError
from rfm_spark.registry import load_settings

REPO = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, overlay: dict) -> str:
    base = (REPO / "conf" / "base.yaml").read_text()
    (tmp_path / "base.yaml").write_text(base)
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump({"inherits": "base.yaml", **overlay}))
    return str(path)


def test_shipped_configs_load():
    for name in ("local.yaml", "cluster.yaml", "databricks.yaml", "base.yaml"):
        settings = load_settings(str(REPO / "conf" / name))
        assert settings.rfm.ntile == 5
    assert load_settings(str(REPO / "conf" / "local.yaml")).staging.future_tolerance_days == 1


@pytest.mark.parametrize(
    "overlay, key",
    [
        ({"rfm": {"ntlie": 5}}, "rfm.ntlie"),  # unknown key
        ({"spark": {"conf": {"x": [1]}}}, "spark.conf.x"),  # wrong type
        ({"rfm": {"ntile": "five"}}, "rfm.ntile"),
        ({"rfm": {"ntile": 12}}, "rfm.ntile"),
        ({"top_customers": {"n": 0}}, "top_customers.n"),
        ({"rfm": {"churn": {"active_max_days": 100}}}, "rfm.churn"),
        ({"rfm": {"churn": {"active_max_days": None}}}, "rfm.churn.active_max_days"),
        ({"staging": {"status_map": {"shipped": ["x"]}}}, "staging.status_map.shipped"),
        ({"staging": {"status_map": {"cancelled": ["completed"]}}}, "staging.status_map"),
        ({"staging": {"email_pattern": "("}}, "staging.email_pattern"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"raw": {"tables": {"orders": {"format": "xlsx"}}}}, "raw.tables.orders.format"),
        ({"raw": {"tables": {"invoices": {}}}}, "raw.tables.invoices"),
        ({"warehouse": {"tables": {"marts.nope": "a.b"}}}, "warehouse.tables.marts.nope"),
        ({"sample": {"dirty_rate": 0.9}}, "sample.dirty_rate"),
        ({"sample": {"start": "2024-13-01"}}, "sample.start"),
        ({"rfm": {"behavioral_segments": [{"name": "X"}]}}, "rfm.behavioral_segments[0]"),
        # a canonical name listed under another status would re-map every such order
        ({"staging": {"status_map": {"completed": ["done"], "cancelled": ["completed"]}}},
         "staging.status_map.cancelled"),
        # Python accepts these patterns, Spark's Java engine does not
        ({"staging": {"email_pattern": "^(?P<user>[a-z]+)@x$"}}, "staging.email_pattern"),
        ({"staging": {"email_pattern": "^a{,3}$"}}, "staging.email_pattern"),
        ({"staging": {"email_pattern": "^a{b$"}}, "staging.email_pattern"),
        ({"top_customers": {"high_value_min_monetary": float("nan")}},
         "top_customers.high_value_min_monetary"),
        ({"rfm": {"behavioral_segments": [{"name": "X", "min_monetary": float("inf")}]}},
         "rfm.behavioral_segments[0].min_monetary"),
        ({"quality": {"tables": {"staging.orders": {"rules": [
            {"type": "range", "column": "order_id", "min": float("-inf")}]}}}},
         "quality.tables.staging.orders.rules[0].min"),
        ({"warehouse": {"catalog_schema": "main.rfm`; DROP TABLE x; --"}},
         "warehouse.catalog_schema"),
        ({"warehouse": {"tables": {"marts.top_customers": "a.b`c"}}},
         "warehouse.tables.marts.top_customers"),
        ({"raw": {"tables": {"orders": {"format": "table", "path": "x;y"}}}},
         "raw.tables.orders.path"),
        ({"sample": {"generate_if_empty": True}}, "sample.generate_if_empty"),
        ({"staging": {"earliest_date": "1990-13-01"}}, "staging.earliest_date"),
        ({"staging": {"future_tolerance_days": -1}}, "staging.future_tolerance_days"),
        ({"spark": {"shuffle_partition_mb": -8}}, "spark.shuffle_partition_mb"),
        ({"quality": {"kept_failures_from_mb": -1}}, "quality.kept_failures_from_mb"),
        ({"spark": {"client_compiler_below_mb": -1}}, "spark.client_compiler_below_mb"),
        ({"clv": {"model": "lifetimes"}}, "clv.model"),
        ({"clv": {"horizon_months": 0}}, "clv.horizon_months"),
        ({"clv": {"discount_rate_monthly": 1.5}}, "clv.discount_rate_monthly"),
        ({"clv": {"p_alive_bands": {"likely_lapsed": 0.8, "likely_alive": 0.7}}},
         "clv.p_alive_bands"),
        ({"clv": {"enable": False}}, "clv.enable"),
    ],
)
def test_bad_config_names_the_key(tmp_path, overlay, key):
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, overlay))
    assert f"'{key}" in str(err.value)


def test_missing_key_is_named(tmp_path):
    path = tmp_path / "lonely.yaml"
    path.write_text(yaml.safe_dump({"as_of": "latest_order"}))
    with pytest.raises(ConfigError, match="missing config key 'spark'"):
        load_settings(str(path))


def test_missing_parent_and_bad_yaml(tmp_path):
    (tmp_path / "a.yaml").write_text("inherits: nowhere.yaml\n")
    with pytest.raises(ConfigError, match="inherits"):
        load_settings(str(tmp_path / "a.yaml"))
    (tmp_path / "b.yaml").write_text("rfm: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(str(tmp_path / "b.yaml"))


def test_overlay_overrides_base_and_cli_overrides_overlay(tmp_path):
    path = write_config(tmp_path, {"top_customers": {"n": 10}, "raw": {"dir": "/a"}})
    settings = load_settings(path, overrides={"raw.dir": "/b", "warehouse.dir": None})
    assert settings.top_customers.n == 10
    assert settings.top_customers.activity.active_max_days == 30  # kept from base
    assert settings.raw.dir == "/b"


def test_default_segment_grid_covers_every_cell_once():
    settings = load_settings(str(REPO / "conf" / "base.yaml"))
    owners = {}
    for seg in settings.rfm.segments:
        for r in range(seg.r[0], seg.r[1] + 1):
            for f in range(seg.f[0], seg.f[1] + 1):
                owners.setdefault((r, f), []).append(seg.name)
    assert sorted(owners) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert all(len(names) == 1 for names in owners.values())


def test_segment_grid_overlap_and_gap_are_rejected():
    full = [SegmentCell("all", [1, 5], [1, 5])]
    validate_segment_grid(full, 5)
    with pytest.raises(ConfigError, match="overlaps 'all' at R1/F1"):
        validate_segment_grid(full + [SegmentCell("dup", [1, 1], [1, 1])], 5)
    with pytest.raises(ConfigError, match="not covered.*R5/F5"):
        validate_segment_grid([SegmentCell("most", [1, 5], [1, 4]),
                               SegmentCell("row", [1, 4], [5, 5])], 5)


def test_cli_exit_code_2_for_bad_config(tmp_path, capsys):
    path = write_config(tmp_path, {"rfm": {"segments": [{"name": "x", "r": [1, 5], "f": [1, 4]}]}})
    assert main(["run", "--config", path]) == 2
    assert "rfm.segments" in capsys.readouterr().err


def test_cli_exit_code_2_for_bad_usage(capsys):
    with pytest.raises(SystemExit) as err:
        main(["run", "--as-of", "31/12/2024"])
    assert err.value.code == 2
    assert "--as-of" in capsys.readouterr().err
    assert main(["run", "--config", "/no/such.yaml"]) == 2


def _rules(table: str, *rules: dict) -> dict:
    return {"quality": {"tables": {table: {"rules": list(rules)}}}}


@pytest.mark.parametrize(
    "overlay, key",
    [
        (_rules("staging.orders", {"type": "is_cool", "column": "status"}),
         "quality.tables.staging.orders.rules[0].type"),
        (_rules("staging.orders", {"type": "not_null", "column": "colour"}),
         "quality.tables.staging.orders.rules[0].column"),
        (_rules("staging.orders", {"type": "not_null", "column": "status", "severity": "loud"}),
         "quality.tables.staging.orders.rules[0].severity"),
        (_rules("staging.orders", {"type": "unique", "columns": ["order_id"],
                                   "severity": "quarantine"}),
         "quality.tables.staging.orders.rules[0].severity"),
        (_rules("marts.top_customers", {"type": "not_null", "column": "customer_id",
                                        "severity": "quarantine"}),
         "quality.tables.marts.top_customers.rules[0].severity"),
        (_rules("staging.nope", {"type": "not_null", "column": "x"}),
         "quality.tables.staging.nope"),
        (_rules("staging.orders", {"type": "not_null", "column": "status", "error_if": "lots"}),
         "quality.tables.staging.orders.rules[0].error_if"),
        (_rules("staging.orders", {"type": "relationships", "column": "customer_id",
                                   "to": "staging.customers"}),
         "quality.tables.staging.orders.rules[0].field"),
        (_rules("staging.orders", {"type": "relationships", "column": "customer_id",
                                   "to": "staging.customers", "field": "cid"}),
         "quality.tables.staging.orders.rules[0].field"),
        (_rules("staging.orders", {"type": "not_null", "column": "status"},
                {"type": "not_null", "column": "status"}),
         "quality.tables.staging.orders.rules[1]"),
        (_rules("staging.orders", {"type": "not_null", "column": "status", "colour": "red"}),
         "quality.tables.staging.orders.rules[0].colour"),
    ],
)
def test_bad_quality_rule_names_the_key(tmp_path, overlay, key):
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, overlay))
    assert f"'{key}" in str(err.value)


def test_thresholds_accept_numbers(tmp_path):
    overlay = _rules("staging.orders", {"type": "not_null", "column": "status", "error_if": 10})
    rule = load_settings(write_config(tmp_path, overlay)).quality.tables["staging.orders"].rules[0]
    assert rule.error_if == "10"


def test_config_file_that_is_not_utf8_exits_2(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("# café\nas_of: latest_order\n".encode("latin-1"))
    assert main(["run", "--config", str(path)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_key_given_twice_exits_2_naming_it(tmp_path, capsys):
    write_config(tmp_path, {})
    path = tmp_path / "twice.yaml"
    path.write_text("inherits: base.yaml\nrfm:\n  ntile: 5\n  ntile: 4\n")
    assert main(["run", "--config", str(path)]) == 2
    assert "'ntile' is given twice (line 4)" in capsys.readouterr().err


def test_removed_sample_key_says_what_to_do_instead(tmp_path):
    with pytest.raises(ConfigError, match="rfm-spark generate --out DIR"):
        load_settings(write_config(tmp_path, {"sample": {"generate_if_empty": True}}))

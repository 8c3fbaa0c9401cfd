"""Load conf/*.yaml once, merge the environment overlay onto base.yaml, validate it.

The schema is the dataclasses of rfm_spark/config/schema.py: an unknown key, a wrong type or
a missing value raises ConfigError naming the key (exit code 2). Business rules and the
names of tables and columns are checked by rfm_spark/config/rules.py against the table
catalog it is given (the registry's), so a bad map never reaches Spark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from rfm_spark.config.guards import REMOVED_KEYS, load_yaml_text, require_finite
from rfm_spark.config.rules import TableCatalog, validate_settings
from rfm_spark.config.schema import DEFAULT_CONFIG, Settings
from rfm_spark.errors import ConfigError


def packaged_conf_dir() -> Path | resources.abc.Traversable:
    """conf/ as shipped: `rfm_spark._conf` in a wheel, the repository's conf/ in a checkout."""
    try:
        return resources.files("rfm_spark._conf")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "conf"


def resolve_config_path(path: str | None) -> Path | resources.abc.Traversable:
    """The config file to load: the given path, else ./conf/local.yaml, else the packaged copy."""
    if path:
        candidate = Path(path)
        if not candidate.is_file():
            raise ConfigError(f"--config: no such file: {path}")
        return candidate
    local = Path("conf") / DEFAULT_CONFIG
    if local.is_file():
        return local
    return packaged_conf_dir() / DEFAULT_CONFIG


def _read_yaml(source: Any, label: str) -> dict:
    data = load_yaml_text(source.read_bytes(), label) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: the top level must be a mapping of keys")
    return data


def _load_with_parents(source: Any, label: str, seen: tuple[str, ...] = ()) -> dict:
    data = _read_yaml(source, label)
    parent_name = data.pop("inherits", None)
    if parent_name is None:
        return data
    if not isinstance(parent_name, str):
        raise ConfigError(f"{label}: key 'inherits' must be a file name")
    if parent_name in seen:
        raise ConfigError(f"{label}: key 'inherits' makes a cycle through {parent_name}")
    parent = source.parent / parent_name if isinstance(source, Path) else None
    if parent is None:  # packaged copy: siblings live in the same package folder
        parent = packaged_conf_dir() / parent_name
    if not parent.is_file():
        raise ConfigError(f"{label}: key 'inherits' names a missing file: {parent_name}")
    return deep_merge(_load_with_parents(parent, str(parent), seen + (parent_name,)), data)


def deep_merge(base: dict, overlay: dict) -> dict:
    """Overlay wins key by key; nested mappings merge, everything else is replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(catalog: TableCatalog, path: str | None = None,
                  overrides: dict | None = None) -> Settings:
    """Load, merge and validate the configuration against the registry's `catalog`;
    `overrides` are CLI flags (dotted keys)."""
    source = resolve_config_path(path)
    data = _load_with_parents(source, str(source))
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    settings = settings_from_dict(data, catalog)
    return dataclasses.replace(settings, source=str(source))


def settings_from_dict(data: dict, catalog: TableCatalog) -> Settings:
    settings = _build(Settings, data, "")
    validate_settings(settings, catalog)
    return settings


# ------------------------------------------------------------------ typed validation


def _type_name(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "null")


def _build(tp: Any, value: Any, key: str) -> Any:
    """Turn YAML data into the annotated type `tp`, or raise ConfigError naming `key`."""
    where = key or "the top level"
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        inner = [t for t in options if t is not type(None)]
        return _build(inner[0], value, key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{where}': expected a mapping, got {value!r}")
        hints = typing.get_type_hints(tp)
        known = {f.name: f for f in dataclasses.fields(tp) if f.name != "source"}
        unknown = sorted(set(value) - set(known))
        if unknown:
            name = f"{key}.{unknown[0]}" if key else unknown[0]
            hint = f": {REMOVED_KEYS[name]}" if name in REMOVED_KEYS else ""
            raise ConfigError(f"unknown config key '{name}'{hint}")
        kwargs = {}
        for name, fld in known.items():
            sub = f"{key}.{name}" if key else name
            if name in value:
                kwargs[name] = _build(hints[name], value[name], sub)
            elif (
                fld.default is dataclasses.MISSING
                and fld.default_factory is dataclasses.MISSING
            ):
                raise ConfigError(f"missing config key '{sub}'")
        return tp(**kwargs)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key '{where}': expected a list, got {value!r}")
        return [_build(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{where}': expected a mapping, got {value!r}")
        return {str(k): _build(item, v, f"{key}.{k}") for k, v in value.items()}
    # Spark settings, thresholds and accepted values are text; accept 8 for "8".
    textual = key.startswith("spark.conf.") or key.endswith(("error_if", "warn_if", "]"))
    if tp is str and textual and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if tp is str and isinstance(value, bool) and key.endswith("]"):
        return str(value).lower()  # accepted values: [true] means "true"
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, float):
        return require_finite(value, where)
    if tp is str and isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(
            f"config key '{where}': expected {_type_name(tp)}, got {value!r}"
        )
    return value

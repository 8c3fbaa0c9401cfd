"""Checks on configuration values that a type alone cannot make: the YAML file itself
(UTF-8, no key given twice), numbers that must be finite, catalog identifiers that are
interpolated into SQL, and regular expressions that Spark (Java) must accept as well as
Python. Each failure is a ConfigError naming the key (exit 2), raised before Spark starts.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from rfm_spark.errors import ConfigError

# Keys that existed once; naming them says what to do instead of "unknown key".
REMOVED_KEYS = {
    "sample.generate_if_empty": "`rfm-spark run` never writes into a landing; create the "
                                "sample with `rfm-spark generate --out DIR` (`make run` "
                                "does it when ./data/raw is missing)",
}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise ConfigError(f"config key '{key}' is given twice (line {line}); keep one")
        seen[key] = key_node
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _mapping_without_duplicates)


def load_yaml_text(raw: bytes, label: str) -> Any:
    """Parse a config file's bytes: UTF-8 only, duplicate keys refused."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text (byte {exc.start}); save the config "
                          "file as UTF-8") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML: {exc}") from None


def require_finite(value: float, key: str) -> float:
    if not math.isfinite(value):
        raise ConfigError(f"config key '{key}': expected a finite number, got {value!r}")
    return value


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_catalog_name(name: str, key: str, parts: tuple[int, ...] = (1, 2, 3)) -> None:
    """A catalog name is 1-3 dot-separated plain identifiers (letters, digits, `_`); the
    pipeline quotes each part when it writes SQL."""
    pieces = name.split(".")
    if len(pieces) not in parts or not all(_IDENTIFIER.match(p) for p in pieces):
        bad = next((p for p in pieces if not _IDENTIFIER.match(p)), name)
        raise ConfigError(f"config key '{key}': {name!r} is not a catalog name of "
                          f"{' or '.join(map(str, parts))} plain identifier(s) "
                          f"(letters, digits, _); offending part {bad!r}")


def quote_name(name: str) -> str:
    """`a`.`b`.`c` for a dotted catalog name (parts validated by check_catalog_name)."""
    return ".".join(f"`{part.replace('`', '``')}`" for part in name.split("."))


# Constructs Python's `re` accepts that java.util.regex rejects or reads differently.
_PYTHON_ONLY = (
    (re.compile(r"\(\?P[<=>]"), "Python named groups (?P<...>): Java writes (?<name>...)"),
    (re.compile(r"\(\?#"), "inline comments (?#...)"),
    (re.compile(r"\(\?\("), "conditional groups (?(...))"),
    (re.compile(r"(?<!\\)\{,\d*\}"), "a repetition {,n} without a lower bound"),
)


def check_java_regex(pattern: str, key: str) -> None:
    """Python must compile it, and it must avoid what Java's regex engine does not take."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"config key '{key}': bad regular expression: {exc}") from None
    for finder, what in _PYTHON_ONLY:
        if finder.search(pattern):
            raise ConfigError(f"config key '{key}': Spark (Java) does not accept {what}")
    if _unescaped_brace_not_repetition(pattern):
        raise ConfigError(f"config key '{key}': a literal '{{' must be escaped as '\\{{' "
                          "for Spark (Java)")


def _unescaped_brace_not_repetition(pattern: str) -> bool:
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "{" and not in_class and not re.match(r"\{\d+(,\d*)?\}", pattern[i:]):
            return True
        i += 1
    return False

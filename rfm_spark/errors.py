"""Errors a user can act on, each with the process exit code the contract gives it."""

from __future__ import annotations

import re


class RfmError(Exception):
    """Base class: a failure with a message meant for a person, never a bare traceback."""

    exit_code = 3


class ConfigError(RfmError):
    """Bad usage or bad configuration. The message names the option or the key."""

    exit_code = 2


class DataQualityError(RfmError):
    """An error-severity data-quality rule failed; marts were not published."""

    exit_code = 1


class PipelineError(RfmError):
    """Any other failure, with the table that was being written when it happened."""

    exit_code = 3

    def __init__(self, message: str, table: str | None = None):
        self.table = table
        super().__init__(f"{message} (while writing {table})" if table else message)


class EnvironmentProblem(RfmError):
    """The machine cannot run Spark (no Java, an old Java)."""

    exit_code = 3


_CAUSE = re.compile(r"^(?:Caused by: |: )?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+"
                    r"(?:Exception|Error|Throwable)): ?(.*)$")


def root_cause(exc: BaseException) -> str:
    """One line for a person: the deepest cause in a (Java) exception's text, then the
    outermost message when it adds something ("No space left on device (IOException);
    Job aborted ..."). A Python exception gives its own first line."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    causes = []
    for line in text.splitlines():
        match = _CAUSE.match(line.strip())
        if match and match.group(2).strip():
            causes.append((match.group(1).rsplit(".", 1)[-1], match.group(2).strip()))
    first = next((ln.strip() for ln in text.splitlines()
                  if ln.strip() and not ln.startswith("An error occurred while calling")),
                 text.splitlines()[0])
    first = _CAUSE.sub(r"\2", first) if _CAUSE.match(first) else first
    if not causes:
        return first[:500]
    kind, message = causes[-1]
    deepest = f"{message[:300]} ({kind})"
    return deepest if first.startswith(message[:80]) else f"{deepest}; {first[:200]}"


def write_failure(exc: BaseException) -> str:
    """A failed write's root cause; a commit Delta refused because another writer committed
    first says so."""
    first = root_cause(exc)
    if "Concurrent" in first or "concurrent" in type(exc).__name__.lower():
        return ("another run changed this table at the same time (Delta refused the commit); "
                f"run again when it has finished [{first[:200]}]")
    return first

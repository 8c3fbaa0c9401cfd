"""Errors a user can act on, each with the process exit code the contract gives it."""

from __future__ import annotations


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

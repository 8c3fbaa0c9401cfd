"""Console logging a person can follow: one line per stage and table."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager

log = logging.getLogger("rfm_spark")


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("rfm_spark")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    # py4j chatters at INFO about every gateway call.
    logging.getLogger("py4j").setLevel(logging.WARNING)


@contextmanager
def timed():
    """Yields a function that returns the seconds elapsed since the block started."""
    start = time.perf_counter()
    yield lambda: time.perf_counter() - start


def fmt_count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"

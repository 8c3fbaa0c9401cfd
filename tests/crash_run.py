"""`python -m tests.crash_run TABLE ARGS...`: `rfm-spark ARGS...` in a process that dies
(exit 70, no cleanup, as a power cut would) right after TABLE's write commits, to prove the
next run recovers. The hook lives here, not in the writer."""

from __future__ import annotations

import os
import sys

from rfm_spark.cli import main
from rfm_spark.io.warehouse import Warehouse


def die_after(table: str) -> None:
    for method in ("_write", "_merge"):
        original = getattr(Warehouse, method)

        def committed_then_killed(self, *args, _original=original, _method=method, **kwargs):
            commit = _original(self, *args, **kwargs)
            name = args[0] if _method == "_merge" else args[1]
            if name == table:
                os._exit(70)
            return commit

        setattr(Warehouse, method, committed_then_killed)


if __name__ == "__main__":
    die_after(sys.argv[1])
    sys.exit(main(sys.argv[2:]))

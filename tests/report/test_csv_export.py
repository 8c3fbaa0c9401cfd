"""The winback CSV cannot carry a spreadsheet formula (OWASP CSV injection)."""

from __future__ import annotations

import base64
import csv
import io
import re
from decimal import Decimal

from rfm_spark.report.html import csv_link as _csv_link


def test_cells_a_spreadsheet_would_run_are_neutralised():
    rows = [{"customer_id": cid, "monetary": Decimal("10.00"), "frequency": -1}
            for cid in ("=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tTAB",
                        "\rCR", "C0001")]
    link = _csv_link(rows, ["customer_id", "monetary", "frequency"], "winback.csv")
    payload = re.search(r"base64,([^\"]+)\"", link).group(1)
    parsed = list(csv.reader(io.StringIO(base64.b64decode(payload).decode())))
    assert parsed == [
        ["customer_id", "monetary", "frequency"],
        ["'=HYPERLINK(\"http://x\")", "10.00", "-1"],
        ["'+1+1", "10.00", "-1"],
        ["'-2", "10.00", "-1"],
        ["'@SUM(A1)", "10.00", "-1"],
        ["'\tTAB", "10.00", "-1"],
        ["'\rCR", "10.00", "-1"],
        ["C0001", "10.00", "-1"],
    ]

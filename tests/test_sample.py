"""The synthetic landing: deterministic, realistic, dirty at the asked rate."""

import csv
import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path

import pytest

from rfm_spark.errors import ConfigError
from rfm_spark.tools.sample import SampleSpec, generate_landing
from rfm_spark.tools.sample_vocabulary import COLUMNS

SPEC = SampleSpec(customers=300, orders=3000, seed=7, start=dt.date(2024, 1, 1),
                  end=dt.date(2024, 6, 30), dirty_rate=0.05)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.csv"))}


def rows(folder: Path, table: str) -> list[dict]:
    out = []
    for path in sorted((folder / table).glob("*.csv")):
        with open(path, newline="") as handle:
            out += [dict(r, _file=path.name) for r in csv.DictReader(handle)]
    return out


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    generate_landing(tmp_path / "a", SPEC)
    generate_landing(tmp_path / "b", SPEC)
    generate_landing(tmp_path / "c", SampleSpec(**{**SPEC.__dict__, "seed": 8}))
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_layout_skew_updates_and_dirt(tmp_path):
    counts = generate_landing(tmp_path, SPEC)
    for table, columns in COLUMNS.items():
        files = sorted((tmp_path / table).glob("*.csv"))
        assert [f.name for f in files] == [f"delivery_{i:04d}.csv" for i in range(1, 5)]
        with open(files[0], newline="") as handle:
            assert next(csv.reader(handle)) == columns
    orders = rows(tmp_path, "orders")
    assert len(orders) == counts["orders"] >= SPEC.orders
    # heavy buyers and a long tail: the top 5% of customers place far more than 5% of orders
    per_customer = Counter(o["customer_id"].strip().upper() for o in orders)
    top = sum(n for _, n in per_customer.most_common(len(per_customer) // 20))
    assert top / len(orders) > 0.2
    assert sum(1 for n in per_customer.values() if n == 1) > len(per_customer) * 0.1
    # orders updated across deliveries, one of them late with an older updated_at
    by_id: dict[str, list] = {}
    for o in orders:
        by_id.setdefault(o["order_id"], []).append(o)
    multi = [v for k, v in by_id.items() if k and len(v) > 1]
    assert multi
    assert any(v[-1]["_file"] > v[0]["_file"] and v[-1]["updated_at"] < v[0]["updated_at"]
               for v in multi)
    # dirty rows of the kinds the contract names
    statuses = {o["status"] for o in orders}
    assert {"Delivered", "COMPLETE", "canceled"} <= statuses
    assert any(o["order_id"] == "" for o in orders)
    assert any(o["order_ts"] in ("2024-13-45", "yesterday", "31/31/2024", "n/a",
                                 "2024-02-30 10:00:00") for o in orders)
    items = rows(tmp_path, "order_items")
    assert any(i["unit_price"] in ("-12.50", "abc", "1.2.3") for i in items)
    assert any(o["order_id"] != o["order_id"].strip() for o in orders)  # padded ids
    customers = rows(tmp_path, "customers")
    assert any("@" not in c["email"] or c["email"].startswith("@") for c in customers)


def test_refuses_to_write_over_a_landing(tmp_path):
    generate_landing(tmp_path, SampleSpec(customers=5, orders=5))
    with pytest.raises(ConfigError, match="already holds a landing"):
        generate_landing(tmp_path, SampleSpec(customers=5, orders=5))

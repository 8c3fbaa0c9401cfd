"""Small landings for the hostile-input tests: one clean delivery, one hostile one."""

from __future__ import annotations

from pathlib import Path

HEADERS = {
    "customers": "customer_id,first_name,last_name,email,city,country,signup_date,updated_at",
    "products": "product_id,product_name,category,list_price,updated_at",
    "orders": "order_id,customer_id,order_ts,status,updated_at",
    "order_items": "order_id,line_no,product_id,quantity,unit_price,discount",
}
# Every character a file name may hold that Hadoop globs or URL-encodes, and a capital suffix.
HOSTILE_NAME = "d2 it's é [x] {a,b} *?\\ \"q\" 100%+1.CSV"
WIDE = ",".join(["x"] * 30_000)  # more fields than Spark's default reader limit (20,480)


def write(path: Path, header: str, lines: list[str], raw: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode("utf-8") + raw)
    return path


def clean_delivery(raw_dir: Path, name: str = "d1.csv") -> None:
    write(raw_dir / "customers" / name, HEADERS["customers"], [
        "C1,Ann,Lee,ann@example.com,Oslo,NO,2024-01-01,2024-01-01 00:00:00",
        "C2,Bob,Ray,bob@example.com,Rome,IT,2024-01-02,2024-01-02 00:00:00",
    ])
    write(raw_dir / "products" / name, HEADERS["products"],
          ["P1,Pen,Office,2.50,2024-01-01 00:00:00"])
    write(raw_dir / "orders" / name, HEADERS["orders"], [
        "O1,C1,2024-02-01 10:00:00,completed,2024-02-01 10:00:00",
        "O2,C2,2024-03-01 10:00:00,completed,2024-03-01 10:00:00",
    ])
    write(raw_dir / "order_items" / name, HEADERS["order_items"],
          ["O1,1,P1,2,2.50,0", "O2,1,P1,1,2.50,0"])


def hostile_delivery(raw_dir: Path, name: str = HOSTILE_NAME) -> None:
    """Look-alike ids, a quoted line break, out-of-range times, bytes that are not UTF-8,
    a line wider than the reader's default limit, an overflowing line amount."""
    write(raw_dir / "customers" / name, HEADERS["customers"], [
        "C3\u200b,Cy,Zed,cy@example.com,Oslo,NO,2024-01-03,2024-01-03 00:00:00",
        "\uff23\uff13,Cy,Zed,cy@new.example.com,Oslo,NO,2024-01-03,2024-01-05 00:00:00",
        'c\u00a04,"Multi\nLine",Doe,d@example.com,Bergen,NO,2024-01-04,2024-01-04 00:00:00',
        "Caf\u00e9,Cafe,Owner,c@example.com,Oslo,NO,2024-01-05,2024-01-05 00:00:00",
        "C5,Old,Timer,o@example.com,Oslo,NO,1900-01-01,2024-01-04 00:00:00",
        "C6,Far,Future,f@example.com,Oslo,NO,2024-01-04,9999-12-31 00:00:00",
        "C8,Wide,Line,w@example.com,Oslo,NO,2024-01-04,2024-01-04 00:00:00," + WIDE,
    ], raw=b"C7,Bad,Bytes,b@example.com,Os\xff\xfelo,NO,2024-01-04,2024-01-04 00:00:00\n")
    write(raw_dir / "products" / name, HEADERS["products"],
          ["P2,Clock,Home,9.00,9999-12-31 00:00:00"])
    write(raw_dir / "orders" / name, HEADERS["orders"], [
        "o3,C3,2024-03-05 10:00:00,pending,2024-03-05 10:00:00",
        "\uff2f\uff13,c\uff13,2024-03-05 10:00:00,completed,2024-03-06 10:00:00",
        "O4,cafe\u0301,2024-03-07 10:00:00,completed,2024-03-07 10:00:00",
        "O9,C1,9999-12-31 00:00:00,completed,2024-03-08 00:00:00",
        "O8,C1,1899-01-01 00:00:00,completed,2024-03-08 00:00:00",
        "O7,C2,2024-03-08 00:00:00,completed,9999-01-01 00:00:00",
    ])
    write(raw_dir / "order_items" / name, HEADERS["order_items"], [
        "O3,1,P1,1,2.50,0",
        "O3\u200b,2,p1,5,9999999999999999.99,0",
        "O4,1,P1,4,2.50,1.00",
    ])
    # not deliveries: skipped with a log line
    (raw_dir / "orders" / "_partial.csv").write_text(HEADERS["orders"] + "\n")
    (raw_dir / "orders" / ".hidden.csv").write_text(HEADERS["orders"] + "\n")
    (raw_dir / "orders" / "archive").mkdir(exist_ok=True)

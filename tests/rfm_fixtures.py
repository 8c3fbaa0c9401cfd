"""A hand-computed RFM case shared by the intermediate and mart tests.

Seven customers, as_of 2024-12-31, ntile(5) -> bucket sizes 2, 2, 1, 1, 1.
R by recency desc: G(213) E(91) | D(90) C(31) | B(30) | A(0) | F(0)
F by frequency asc: A(1) D(1) | E(1) G(2) | F(3) | C(9) | B(10)
M by monetary asc:  E(0) A(10) | D(50) F(300) | C(999.99) | B(1000) | G(2000)
"""

import datetime as dt
from decimal import Decimal as D

AS_OF = dt.date(2024, 12, 31)
SUMMARY_SCHEMA = ("customer_id string, first_order_date date, last_order_date date, "
                  "order_count int, net_amount decimal(18,2), as_of_date date")
SUMMARY = [
    ("A", dt.date(2024, 12, 31), dt.date(2024, 12, 31), 1, D("10.00"), AS_OF),
    ("B", dt.date(2024, 1, 1), dt.date(2024, 12, 1), 10, D("1000.00"), AS_OF),
    ("C", dt.date(2024, 2, 1), dt.date(2024, 11, 30), 9, D("999.99"), AS_OF),
    ("D", dt.date(2024, 10, 2), dt.date(2024, 10, 2), 1, D("50.00"), AS_OF),
    ("E", dt.date(2024, 10, 1), dt.date(2024, 10, 1), 1, D("0.00"), AS_OF),
    ("F", dt.date(2024, 3, 1), dt.date(2024, 12, 31), 3, D("300.00"), AS_OF),
    ("G", dt.date(2024, 5, 1), dt.date(2024, 6, 1), 2, D("2000.00"), AS_OF),
]
SCORES_SCHEMA = (
    "customer_id string, as_of_date date, first_order_date date, last_order_date date, "
    "recency_days int, frequency int, monetary decimal(18,2), avg_order_value decimal(18,2), "
    "r_score int, f_score int, m_score int, rfm_score string, rfm_total int, rfm_rank int"
)
# (id, recency, avg, r, f, m, rfm_score, total, rank)
SCORED = {
    "A": (0, D("10.00"), 4, 1, 1, "411", 6, 5),
    "B": (30, D("100.00"), 3, 5, 4, "354", 12, 1),
    "C": (31, D("111.11"), 2, 4, 3, "243", 9, 3),
    "D": (90, D("50.00"), 2, 1, 2, "212", 5, 6),
    "E": (91, D("0.00"), 1, 2, 1, "121", 4, 7),
    "F": (0, D("100.00"), 5, 3, 2, "532", 10, 2),
    "G": (213, D("1000.00"), 1, 2, 5, "125", 8, 4),
}


def scores_rows():
    rows = []
    for cid, first, last, count, net, _ in SUMMARY:
        recency, avg, r, f, m, score, total, rank = SCORED[cid]
        rows.append((cid, AS_OF, first, last, recency, count, net, avg, r, f, m, score, total,
                     rank))
    return rows

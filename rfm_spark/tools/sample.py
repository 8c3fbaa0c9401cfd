"""`rfm-spark generate`: a deterministic synthetic raw landing with realistic skew and dirt.

Same spec and seed, same bytes. Rows stream to the delivery files as they are made, so
memory stays flat however many orders are asked for (only per-customer arrays are kept).

What it makes:
- products in several categories with log-normal prices; a few price updates later on;
- customers with heavy-tailed buying rates (a few heavy buyers, a long tail of one-time
  buyers) and an active period each, so recency spreads over the date range;
- orders delivered by date in `deliveries` files; some first arrive as pending and are
  completed in a later delivery, some are re-sent with fewer lines, and some older
  versions arrive late (a later file with an older `updated_at`);
- customer updates (moves, new emails), one of them arriving late with an older
  `updated_at`, late-delivered customers (their orders arrive first), deletions;
- at `dirty_rate`, dirty rows of every kind the contract names: padded or mixed-case ids,
  status spelled many ways, bad emails, unparsable dates, negative or non-numeric
  amounts, missing keys, unknown statuses, malformed lines, orders of unknown customers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
import math
import random
from contextlib import ExitStack
from pathlib import Path

from rfm_spark.errors import ConfigError
from rfm_spark.tools.sample_files import Landing
from rfm_spark.tools.sample_vocabulary import (
    CATEGORIES,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    LINES,
    PLACES,
    QUANTITIES,
    STATUS_SPELLINGS,
    UNKNOWN_STATUSES,
    SampleSpec,
)

log = logging.getLogger("rfm_spark.sample")

class _Generator:
    def __init__(self, spec: SampleSpec):
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.start = dt.datetime.combine(spec.start, dt.time())
        self.span_s = ((spec.end - spec.start).days + 1) * 86400

    # helpers ---------------------------------------------------------------
    def dirty(self) -> bool:
        return self.rng.random() < self.spec.dirty_rate

    def delivery_of(self, moment: dt.datetime) -> int:
        offset = (moment - self.start).total_seconds() / self.span_s
        return min(self.spec.deliveries, max(1, int(offset * self.spec.deliveries) + 1))

    def messy_id(self, value: str) -> str:
        """Ids arrive padded or lower-case now and then (staging makes them canonical)."""
        roll = self.rng.random()
        if roll < 0.03:
            return f"  {value} "
        if roll < 0.06:
            return value.lower()
        return value

    def ts(self, moment: dt.datetime) -> str:
        roll = self.rng.random()
        if roll < 0.85:
            return moment.strftime("%Y-%m-%d %H:%M:%S")
        if roll < 0.95:
            return moment.strftime("%Y-%m-%dT%H:%M:%S")
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def bad_date(self) -> str:
        return self.rng.choice(["2024-13-45", "yesterday", "31/31/2024", "2024-02-30 10:00:00",
                                "n/a"])

    # tables ----------------------------------------------------------------
    def products(self, landing: Landing) -> list[tuple[str, float, float]]:
        n = max(20, min(1000, self.spec.customers // 5))
        catalogue = []
        names = list(CATEGORIES)
        for i in range(1, n + 1):
            category = names[i % len(names)]
            price = round(CATEGORIES[category] * math.exp(self.rng.gauss(0, 0.6)), 2)
            popularity = self.rng.paretovariate(1.5)
            pid = f"P{i:05d}"
            created = self.start - dt.timedelta(days=30)
            row = [self.messy_id(pid), f"{category} item {i}",
                   category.lower() if self.rng.random() < 0.05 else category,
                   f"{price:.2f}", self.ts(created)]
            if self.dirty():
                row[self.rng.choice([3, 3, 4])] = self.rng.choice(["-5.00", "abc", "12,5", ""])
            landing.write("products", 1, row)
            if self.rng.random() < 0.05:  # a price change later in the year
                moment = self.start + dt.timedelta(seconds=self.rng.random() * self.span_s)
                new_price = round(price * self.rng.uniform(0.8, 1.2), 2)
                landing.write("products", self.delivery_of(moment),
                              [pid, f"{category} item {i}", category, f"{new_price:.2f}",
                               self.ts(moment)])
            catalogue.append((pid, price, popularity))
        return catalogue

    def customers(self, landing: Landing) -> tuple[list[float], list[tuple[float, float]]]:
        """Writes customers; returns cumulative buying weights and active windows (seconds)."""
        rng, spec = self.rng, self.spec
        cumulative: list[float] = []
        windows: list[tuple[float, float]] = []
        total = 0.0
        for i in range(1, spec.customers + 1):
            cid = f"C{i:07d}"
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            city, country = rng.choice(PLACES)
            email = f"{first}.{last}{i}@{rng.choice(DOMAINS)}".lower()
            signup_s = rng.uniform(-0.5, 0.9) * self.span_s
            active_from = max(0.0, signup_s)
            stays = rng.random() < 0.35
            active_to = self.span_s if stays else min(
                self.span_s, active_from + rng.expovariate(1 / (0.3 * self.span_s)) + 86400)
            weight = min(rng.paretovariate(1.2), 60.0)
            total += weight
            cumulative.append(total)
            windows.append((active_from, active_to))
            signup = self.start + dt.timedelta(seconds=signup_s)
            updated = signup + dt.timedelta(hours=1)
            delivery = self.delivery_of(max(signup, self.start))
            if rng.random() < 0.03:  # delivered late: its first orders arrive before it does
                delivery = min(spec.deliveries, delivery + 1)
            row = [self.messy_id(cid), first, last, email, city, country,
                   signup.strftime("%Y-%m-%d") if rng.random() < 0.9 else
                   signup.strftime("%Y/%m/%d"), self.ts(updated), "false"]
            if rng.random() < 0.05:
                row[4] = f"  {city.lower()} "
            if self.dirty():
                kind = rng.randrange(5)
                if kind == 0:
                    row[3] = rng.choice(["not-an-email", f"{first}@", "@example.com", ""])
                elif kind == 1:
                    row[6] = self.bad_date()
                elif kind == 2:
                    row[7] = self.bad_date()
                elif kind == 3:
                    row[0] = ""
                else:
                    row[8] = "maybe"
            landing.write("customers", delivery, row)
            if rng.random() < 0.1 and delivery < spec.deliveries:  # moves house later
                later = rng.randint(delivery + 1, spec.deliveries)
                moved_to, moved_country = rng.choice(PLACES)
                moved = updated + dt.timedelta(days=rng.randint(1, 60))
                landing.write("customers", later,
                              [cid, first, last, email, moved_to, moved_country,
                               signup.strftime("%Y-%m-%d"), self.ts(moved), "false"])
                if later < spec.deliveries and rng.random() < 0.2:
                    # an older version arrives even later, with its older updated_at
                    landing.write("customers", spec.deliveries,
                                  [cid, first, last, email, city, country,
                                   signup.strftime("%Y-%m-%d"),
                                   self.ts(updated + dt.timedelta(minutes=5)), "false"])
            elif rng.random() < 0.005:  # asks to be deleted at the end
                gone = self.start + dt.timedelta(seconds=self.span_s - 3600)
                landing.write("customers", spec.deliveries,
                              [cid, first, last, email, city, country,
                               signup.strftime("%Y-%m-%d"), self.ts(gone), "true"])
        return cumulative, windows

    def status_text(self, canonical: str) -> str:
        return self.rng.choice(STATUS_SPELLINGS[canonical])

    def final_status(self, moment_s: float) -> str:
        if moment_s > self.span_s - 5 * 86400 and self.rng.random() < 0.5:
            return "in_progress"
        roll = self.rng.random()
        return ("completed" if roll < 0.86 else "cancelled" if roll < 0.94
                else "returned" if roll < 0.98 else "in_progress")

    def lines(self, catalogue, popularity_cum) -> list[list[str]]:
        rng = self.rng
        rows = []
        for line_no in range(1, rng.choice(LINES) + 1):
            pick = bisect.bisect_left(popularity_cum, rng.random() * popularity_cum[-1])
            pid, price, _ = catalogue[min(pick, len(catalogue) - 1)]
            quantity = rng.choice(QUANTITIES)
            unit_price = round(price * (0.9 if rng.random() < 0.1 else 1.0), 2)
            discount = 0.0
            if rng.random() < 0.15:
                discount = round(quantity * unit_price * rng.uniform(0.05, 0.2), 2)
            rows.append([str(line_no), pid, str(quantity), f"{unit_price:.2f}",
                         f"{discount:.2f}" if discount or rng.random() < 0.7 else ""])
        if rng.random() < 0.002:  # fully discounted order: monetary 0
            for row in rows:
                row[4] = f"{int(row[2]) * float(row[3]):.2f}"
        return rows

    def dirty_line(self, row: list[str]) -> None:
        """row: order_id, line_no, product_id, quantity, unit_price, discount."""
        kind = self.rng.randrange(6)
        if kind == 0:
            row[3] = self.rng.choice(["-1", "two", "0"])
        elif kind == 1:
            row[4] = self.rng.choice(["-12.50", "abc", "", "1.2.3"])
        elif kind == 2:
            row[5] = self.rng.choice(["-1.00", "free"])
        elif kind == 3:
            row[2] = ""
        elif kind == 4:
            row[1] = "x"
        else:
            row[3] = "3.5"

    def orders(self, landing: Landing, catalogue, cumulative, windows) -> None:
        rng, spec = self.rng, self.spec
        popularity_cum = list(itertools.accumulate(p for _, _, p in catalogue))
        for o in range(1, spec.orders + 1):
            if o % 1_000_000 == 0:
                log.info("generated %s of %s orders", f"{o:,}", f"{spec.orders:,}")
            oid = f"O{o:09d}"
            c = bisect.bisect_left(cumulative, rng.random() * cumulative[-1])
            c = min(c, len(cumulative) - 1)
            cid = f"C{c + 1:07d}"
            lo, hi = windows[c]
            moment_s = rng.uniform(lo, hi)
            moment = self.start + dt.timedelta(seconds=min(moment_s, self.span_s - 1))
            delivery = self.delivery_of(moment)
            status = self.final_status(moment_s)
            updated = moment + dt.timedelta(minutes=rng.randint(1, 600))
            lines = self.lines(catalogue, popularity_cum)
            order = [self.messy_id(oid), self.messy_id(cid), self.ts(moment),
                     self.status_text(status), self.ts(updated)]
            if self.dirty():
                kind = rng.randrange(6)
                if kind == 0:
                    order[2] = self.bad_date()
                elif kind == 1:
                    order[3] = rng.choice(UNKNOWN_STATUSES)
                elif kind == 2:
                    order[0] = ""
                elif kind == 3:
                    order[1] = rng.choice(["", f"C{spec.customers + rng.randint(1, 999):07d}"])
                elif kind == 4:
                    order[4] = self.bad_date()
                else:
                    order = order + ["unexpected"]  # a malformed line
            later = rng.randint(delivery + 1, spec.deliveries) if delivery < spec.deliveries else 0
            roll = rng.random()
            if later and status == "completed" and roll < 0.10:
                # first seen as pending; completed (re-sent with its lines) in a later delivery
                self._write_order(landing, delivery, [oid, cid, order[2], "pending", self.ts(
                    moment + dt.timedelta(minutes=1))], lines)
                self._write_order(landing, later, order, lines)
            elif later and len(lines) > 1 and roll < 0.12:
                # re-sent later with one line fewer
                self._write_order(landing, delivery, [oid, cid, order[2], "processing",
                                                      self.ts(moment)], lines)
                self._write_order(landing, later, order, lines[:-1])
            elif later and roll < 0.13:
                # the current version first, an older one arriving late
                self._write_order(landing, delivery, order, lines)
                self._write_order(landing, later, [oid, cid, order[2], "pending", self.ts(
                    moment - dt.timedelta(minutes=5))], lines)
            else:
                self._write_order(landing, delivery, order, lines)

    def _write_order(self, landing: Landing, delivery: int, order: list, lines) -> None:
        landing.write("orders", delivery, order)
        oid = order[0].strip().upper() or f"?{landing.rows['orders']}"
        for line in lines:
            row = [oid, *line]
            if self.dirty():
                row = list(row)
                self.dirty_line(row)
            landing.write("order_items", delivery, row)


def generate_landing(out: Path, spec: SampleSpec) -> dict[str, int]:
    """Write the landing under `out`; returns rows written per table."""
    out = Path(out)
    existing = [p for p in out.glob("*/*.csv")] if out.exists() else []
    if existing:
        raise ConfigError(f"--out: {out} already holds a landing ({len(existing)} CSV files); "
                          "choose an empty folder")
    generator = _Generator(spec)
    with ExitStack() as stack:
        landing = Landing(out, spec.deliveries, stack)
        catalogue = generator.products(landing)
        cumulative, windows = generator.customers(landing)
        generator.orders(landing, catalogue, cumulative, windows)
    log.info("sample landing in %s: %s", out,
             ", ".join(f"{t} {n:,} rows" for t, n in landing.rows.items()))
    return dict(landing.rows)

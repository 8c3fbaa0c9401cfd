"""What the synthetic landing is made of: its columns, names, places, categories, the ways
a status is spelled, and the spec of one landing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

COLUMNS = {
    "customers": ["customer_id", "first_name", "last_name", "email", "city", "country",
                  "signup_date", "updated_at", "is_deleted"],
    "products": ["product_id", "product_name", "category", "list_price", "updated_at"],
    "orders": ["order_id", "customer_id", "order_ts", "status", "updated_at"],
    "order_items": ["order_id", "line_no", "product_id", "quantity", "unit_price", "discount"],
}
FIRST_NAMES = ["Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines",
               "Jonas", "Kemi", "Liam", "Maya", "Noah", "Olga", "Pablo", "Qi", "Rosa",
               "Sami", "Tara", "Umar", "Vera", "Wen", "Yara", "Zoe"]
LAST_NAMES = ["Smith", "Garcia", "Muller", "Rossi", "Kowalski", "Nguyen", "Okafor", "Silva",
              "Jensen", "Dubois", "Novak", "Ivanova", "Tanaka", "Haddad", "Brown", "Lopez"]
PLACES = [("Berlin", "DE"), ("Munich", "DE"), ("Paris", "FR"), ("Lyon", "FR"),
          ("Madrid", "ES"), ("Milan", "IT"), ("Warsaw", "PL"), ("Amsterdam", "NL"),
          ("London", "GB"), ("Dublin", "IE"), ("Lisbon", "PT"), ("Vienna", "AT"),
          ("New York", "US"), ("Austin", "US"), ("Toronto", "CA")]
DOMAINS = ["example.com", "mail.test", "shop.example", "post.example.org"]
CATEGORIES = {"Electronics": 120.0, "Home & Kitchen": 45.0, "Books": 14.0, "Clothing": 35.0,
              "Beauty": 18.0, "Sports": 40.0, "Toys": 25.0, "Grocery": 8.0}
STATUS_SPELLINGS = {
    "completed": ["completed", "Completed", "COMPLETE", "delivered", "Delivered", " completed "],
    "cancelled": ["cancelled", "canceled", "Cancelled", "closed"],
    "returned": ["returned", "refunded", "Returned"],
    "in_progress": ["pending", "processing", "shipped", "In Transit", "in_transit"],
}
UNKNOWN_STATUSES = ["lost", "???", "on the moon", "unknown"]
LINES = [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5]
QUANTITIES = [1] * 14 + [2] * 4 + [3] + [5]


@dataclass(frozen=True)
class SampleSpec:
    customers: int = 1000
    orders: int = 10000
    seed: int = 42
    start: dt.date = dt.date(2024, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)
    dirty_rate: float = 0.02
    deliveries: int = 4

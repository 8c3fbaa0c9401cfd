"""Data quality: rules from conf/ (rules.py), their evaluation (checks.py)."""

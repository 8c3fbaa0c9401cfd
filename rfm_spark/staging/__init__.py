"""Staging: one module per raw table, plus the shared cleansing steps in cleansing.py."""

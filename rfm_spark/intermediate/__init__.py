"""Intermediate models: per-customer order summary and RFM scores."""

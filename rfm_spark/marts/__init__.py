"""Marts: customer_segmentation and top_customers."""

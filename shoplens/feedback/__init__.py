"""Behaviour log (impressions, clicks, add-to-cart...) in a UBI-shaped SQLite table."""

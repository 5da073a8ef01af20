"""Quota use cases."""

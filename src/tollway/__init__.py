"""Tollway: a self-hosted billing engine for SaaS products."""

__version__ = "0.1.0"

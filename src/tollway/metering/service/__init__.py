"""Metering use cases: ingestion (``ingest``) and queries (``query``)."""

"""The REST API (``/v1``)."""

from tollway.api.app import create_app

__all__ = ["create_app"]

"""Metering problem types."""

from __future__ import annotations

from tollway.kernel.errors import TollwayError


class MalformedBody(TollwayError):
    """The request body is not JSON (bodies are parsed by hand for exact decimals)."""

    status = 400
    code = "malformed_json"
    title = "Malformed JSON"

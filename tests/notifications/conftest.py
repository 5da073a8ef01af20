"""Notification tests run with a real SMTP server on loopback behind TOLLWAY_SMTP_URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from outbound_kit import SmtpServer
from tollway.kernel.settings import Settings

ROOT_KEY = "sk_test_root"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def settings(database_url: str, engine: object, smtp: SmtpServer) -> Settings:
    return Settings(
        database_url=database_url,
        api_key=ROOT_KEY,  # type: ignore[arg-type]
        test_mode=True,
        smtp_url=smtp.url,
        smtp_from="billing@acme.example.com",
    )

"""Fixtures of the billing stories (helpers live in ``story``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from story import Story

# the Stripe and Asaas stand-ins of tests/payments serve the payment stories too
sys.path.append(str(Path(__file__).resolve().parents[1] / "payments"))


@pytest.fixture
def story(client: TestClient) -> Story:
    return Story(client)

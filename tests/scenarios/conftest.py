"""Fixtures of the billing stories (helpers live in ``story``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from story import Story


@pytest.fixture
def story(client: TestClient) -> Story:
    return Story(client)

"""Standard Webhooks signing, patterns and the retry schedule (pure)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from tollway.webhooks import RETRY_SCHEDULE, generate_secret, matches, sign
from tollway.webhooks.signing import retry_delay, secret_problem, signature_header


def test_generated_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second
    assert secret_problem(first) is None


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("abc", "must start with 'whsec_'"),
        ("whsec_!!!", "must be whsec_ followed by base64"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "must encode 24 to 64 bytes"),
    ],
)
def test_unusable_secrets_are_named(secret: str, problem: str) -> None:
    assert secret_problem(secret) == problem


def test_signature_is_what_the_standardwebhooks_library_computes() -> None:
    secret = generate_secret()
    at = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)
    body = '{"type":"invoice.paid","timestamp":"2026-03-01T10:00:00Z","data":{"id":"in_1"}}'
    ours = sign(secret, "msg_1", int(at.timestamp()), body)
    assert ours == Webhook(secret).sign("msg_1", at, body)
    assert ours.startswith("v1,")


def test_rotation_header_carries_one_signature_per_secret() -> None:
    old, new = generate_secret(), generate_secret()
    header = signature_header([new, old], "msg_2", 1_700_000_000, "{}")
    at = 1_700_000_000
    assert header.split(" ") == [sign(new, "msg_2", at, "{}"), sign(old, "msg_2", at, "{}")]


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "anything.at_all", True),
        (["subscription.*"], "subscription.created", True),
        (["subscription.*"], "subscription", False),
        (["subscription.*"], "subscriptions.created", False),
        (["invoice.paid"], "invoice.paid", True),
        (["invoice.paid"], "invoice.voided", False),
        (["quota.*", "invoice.paid"], "quota.exceeded", True),
    ],
)
def test_patterns(patterns: list[str], event_type: str, expected: bool) -> None:
    assert matches(patterns, event_type) is expected


def test_retry_schedule_is_immediately_then_5s_5min_30min_2h_5h_10h_10h() -> None:
    assert [d.total_seconds() for d in RETRY_SCHEDULE] == [
        0,
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]
    assert retry_delay(1, 0.0) == timedelta(seconds=5)
    assert retry_delay(2, 0.0) == timedelta(minutes=5)
    assert retry_delay(7, 0.0) == timedelta(hours=10)
    assert retry_delay(8, 0.0) is None


def test_jitter_lengthens_a_delay_by_at_most_ten_percent() -> None:
    assert retry_delay(2, 0.5) == timedelta(minutes=5, seconds=15)
    assert retry_delay(4, 0.999) < timedelta(hours=2, minutes=12)

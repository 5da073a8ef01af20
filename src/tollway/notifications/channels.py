"""The outside channels: email over SMTP, the customer's alert webhook, Slack."""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tollway.kernel.outbound import Refused, http_client, post
from tollway.notifications.render import Email


class ChannelError(RuntimeError):
    """A channel refused or failed; the job retries with backoff."""


@dataclass(frozen=True)
class Outbound:
    """Where and how notifications leave: SMTP, and limits for HTTP channels."""

    smtp_url: str | None
    smtp_from: str | None
    timeout_seconds: float
    allow_private: bool


def send_email(outbound: Outbound, *, sender: str, recipient: str, mail: Email) -> None:
    """Send ``mail`` through ``TOLLWAY_SMTP_URL`` with plain text and HTML parts."""
    if outbound.smtp_url is None:
        raise ChannelError("TOLLWAY_SMTP_URL is not set")
    parts = urlsplit(outbound.smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ChannelError("TOLLWAY_SMTP_URL must look like smtp://user:pass@host:port")
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    message["To"] = recipient
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            parts.hostname,
            port,
            timeout=outbound.timeout_seconds,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=outbound.timeout_seconds)
    with client:
        if starttls:
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def post_json(outbound: Outbound, url: str, body: dict[str, Any]) -> int:
    """POST ``body`` to ``url`` (checked against private targets); 2xx or ChannelError."""
    content = json.dumps(body).encode()
    try:
        with http_client(outbound.timeout_seconds) as client:
            response = post(
                client,
                url,
                allow_private=outbound.allow_private,
                content=content,
                headers={"content-type": "application/json"},
                deadline_seconds=outbound.timeout_seconds,
            )
    except Refused as exc:
        raise ChannelError(f"not sent: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"{url} answered HTTP {response.status_code}")
    return response.status_code

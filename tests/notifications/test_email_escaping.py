"""Branded emails escape everything that customers or event data control."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from notes import emit

from outbound_kit import SmtpServer, settle
from tollway.kernel.context import Context

HOSTILE_BRANDING = """
version: 1
branding:
  billing:
    company_name: "<b>Acme</b>"
    support_email: 'x@acme.example.com"><script>alert(1)</script>'
    invoice_footer: "<img src=x onerror=alert(1)>"
"""
LINK = '<a href="https://evil.example/login">Your account is locked</a>'


def html_of(smtp: SmtpServer) -> str:
    [(_, _, mail)] = smtp.messages
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    content: str = part.get_content()
    return content


def test_a_customer_cannot_put_html_into_the_email_through_its_name(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    client.post(
        "/v1/customers",
        json={"external_id": "globex", "name": "Globex", "email": "ops@globex.example.com"},
    )
    key = client.post("/v1/customers/globex/keys", json={"name": "portal"}).json()["key"]
    renamed = client.patch(
        "/v1/customers/globex", json={"name": LINK}, headers={"Authorization": f"Bearer {key}"}
    )
    assert renamed.status_code == 200, renamed.text
    emit(
        ctx,
        "globex",
        "payment.failed",
        {"amount": 100, "currency": "USD", "failure_message": "<i>declined</i>"},
    )
    settle(app)
    html = html_of(smtp)
    assert "<a href=" not in html.replace('<a href="mailto:', "")
    assert "&lt;a href=&#34;https://evil.example/login&#34;&gt;" in html
    assert "&lt;i&gt;declined&lt;/i&gt;" in html
    assert "<i>" not in html


def test_branding_values_are_escaped_in_the_html_part(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    imported = client.post(
        "/v1/catalog/import", content=HOSTILE_BRANDING, headers={"Content-Type": "application/yaml"}
    )
    assert imported.status_code == 200, imported.text
    client.post("/v1/customers", json={"external_id": "globex", "email": "ops@globex.example.com"})
    emit(ctx, "globex", "payment.failed", {"amount": 100, "currency": "USD"})
    settle(app)
    html = html_of(smtp)
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>Acme</b>" not in html
    assert "&lt;b&gt;Acme&lt;/b&gt;" in html
    assert "x@acme.example.com&#34;&gt;&lt;script&gt;" in html


def test_the_products_logo_heads_the_html_email(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    branding = """
version: 1
branding:
  billing:
    company_name: "Acme Billing"
    invoice_logo: "https://cdn.acme.example.com/logo.png?v=1&s=2"
"""
    imported = client.post(
        "/v1/catalog/import", content=branding, headers={"Content-Type": "application/yaml"}
    )
    assert imported.status_code == 200, imported.text
    client.post("/v1/customers", json={"external_id": "globex", "email": "ops@globex.example.com"})
    emit(ctx, "globex", "payment.failed", {"amount": 100, "currency": "USD"})
    settle(app)
    assert (
        '<img src="https://cdn.acme.example.com/logo.png?v=1&amp;s=2" alt="Acme Billing"'
        in html_of(smtp)
    )


def test_a_logo_that_is_not_https_is_left_out(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    branding = """
version: 1
branding:
  billing:
    invoice_logo: "javascript:alert(1)"
"""
    imported = client.post(
        "/v1/catalog/import", content=branding, headers={"Content-Type": "application/yaml"}
    )
    assert imported.status_code == 200, imported.text
    client.post("/v1/customers", json={"external_id": "globex", "email": "ops@globex.example.com"})
    emit(ctx, "globex", "payment.failed", {"amount": 100, "currency": "USD"})
    settle(app)
    assert "<img" not in html_of(smtp)

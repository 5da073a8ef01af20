"""``GET /v1/invoices/{id}/pdf``: the invoice as its customer reads it, branded."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from pdf_kit import pdf_text

BRANDING = """\
branding:
  billing:
    company_name: Nimbus Cloud
    support_email: billing@nimbus.example
    invoice_footer: Thank you for your business.
    locale: pt_BR
"""


def _invoice(client: TestClient) -> str:
    assert (
        client.post(
            "/v1/customers", json={"external_id": "acme", "name": "Acme Ltda", "currency": "BRL"}
        ).status_code
        == 201
    )
    body = {
        "customer_id": "acme",
        "items": [{"description": "Implantação", "quantity": 2, "unit_amount": 123456}],
        "auto_finalize": True,
    }
    response = client.post("/v1/invoices", json=body)
    assert response.status_code == 201, response.text
    invoice_id: str = response.json()["id"]
    return invoice_id


def test_the_pdf_shows_the_branded_invoice_in_the_products_locale(
    client: TestClient, tmp_path: Path
) -> None:
    imported = client.post(
        "/v1/catalog/import",
        content=BRANDING.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert imported.status_code == 200, imported.text
    invoice_id = _invoice(client)
    response = client.get(f"/v1/invoices/{invoice_id}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="INV-2026-0001.pdf"'
    text = pdf_text(response.content, tmp_path)
    for expected in (
        "Nimbus Cloud",
        "INV-2026-0001",
        "Acme Ltda",
        "Implantação",
        "R$ 2.469,12",  # 2 x 1.234,56, in minor units 246912
        "billing@nimbus.example",
        "Thank you for your business.",
    ):
        assert expected in text, expected


def test_without_branding_the_company_is_the_products_name(
    client: TestClient, tmp_path: Path
) -> None:
    invoice_id = _invoice(client)
    text = pdf_text(client.get(f"/v1/invoices/{invoice_id}/pdf").content, tmp_path)
    product = client.get("/v1/product").json()
    assert product["name"] in text
    assert "R$2,469.12" in text  # en_US formatting of BRL


def test_a_customer_key_reads_only_its_own_invoice_pdfs(
    client: TestClient, anonymous: TestClient
) -> None:
    invoice_id = _invoice(client)
    assert client.post("/v1/customers", json={"external_id": "other"}).status_code == 201
    key = client.post("/v1/customers/other/keys", json={"name": "app"}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert anonymous.get(f"/v1/invoices/{invoice_id}/pdf", headers=headers).status_code == 404
    assert client.get("/v1/invoices/inv_missing/pdf").status_code == 404

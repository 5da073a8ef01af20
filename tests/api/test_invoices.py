"""Manual invoices over HTTP: the lifecycle, numbers, credit notes, errors and scope."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _customer(client: TestClient, external_id: str = "acme", **extra: Any) -> None:
    response = client.post("/v1/customers", json={"external_id": external_id, **extra})
    assert response.status_code == 201, response.text


def _one_off(client: TestClient, customer: str = "acme", **extra: Any) -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "items": [
            {"description": "Setup", "unit_amount": 5000},
            {"description": "Training hours", "quantity": 3, "unit_amount": 1250},
        ],
        **extra,
    }
    response = client.post("/v1/invoices", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _post(client: TestClient, path: str, status: int = 200, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def _types(client: TestClient, prefix: str) -> list[str]:
    data = client.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e["type"] for e in reversed(data) if e["type"].startswith(prefix)]


def test_a_one_off_invoice_is_a_draft_until_finalized(client: TestClient) -> None:
    _customer(client)
    draft = _one_off(client)
    assert (draft["status"], draft["number"], draft["issued_at"]) == ("draft", None, None)
    assert [
        (i["description"], i["quantity"], i["unit_amount"], i["amount"])
        for i in draft["line_items"]
    ] == [
        ("Setup", "1", "5000", 5000),
        ("Training hours", "3", "1250", 3750),
    ]
    assert (draft["subtotal"], draft["total"], draft["amount_due"], draft["currency"]) == (
        8750,
        8750,
        8750,
        "USD",
    )
    issued = _post(client, f"/v1/invoices/{draft['id']}/finalize")
    assert (issued["status"], issued["number"], issued["overdue"]) == (
        "open",
        "INV-2026-0001",
        False,
    )
    assert issued["issued_at"].startswith("2026-01-15T12:00")
    assert issued["due_date"].startswith("2026-02-14T12:00")  # net 30
    paid = _post(client, f"/v1/invoices/{draft['id']}/pay")
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", 8750, 0)
    assert _types(client, "invoice.") == ["invoice.created", "invoice.finalized", "invoice.paid"]
    finalized = next(
        e for e in client.get("/v1/events", params={"type": "invoice.finalized"}).json()["data"]
    )
    assert {k: finalized["data"][k] for k in ("total", "amount_due", "currency", "number")} == {
        "total": 8750,
        "amount_due": 8750,
        "currency": "USD",
        "number": "INV-2026-0001",
    }


def test_numbers_follow_finalization_order_without_gaps(client: TestClient) -> None:
    _customer(client)
    first, second, third = (_one_off(client) for _ in range(3))
    _post(client, f"/v1/invoices/{third['id']}/finalize")
    _post(client, f"/v1/invoices/{first['id']}/void")  # a voided draft takes no number
    _post(client, f"/v1/invoices/{second['id']}/finalize")
    numbers = [
        client.get(f"/v1/invoices/{i['id']}").json()["number"] for i in (first, second, third)
    ]
    assert numbers == [None, "INV-2026-0002", "INV-2026-0001"]
    auto = _one_off(client, auto_finalize=True)
    assert (auto["status"], auto["number"]) == ("open", "INV-2026-0003")


def test_illegal_transitions_are_409_and_change_nothing(client: TestClient) -> None:
    _customer(client)
    invoice = _one_off(client)
    path = f"/v1/invoices/{invoice['id']}"
    for action in ("pay", "mark-uncollectible"):
        problem = _post(client, f"{path}/{action}", 409)
        assert (problem["type"].rsplit("/", 1)[1], problem["status_from"]) == (
            "invalid_transition",
            "draft",
        )
    _post(client, f"{path}/credit-notes", 409, reason="draft")
    _post(client, f"{path}/finalize")
    _post(client, f"{path}/finalize", 409)
    _post(client, f"{path}/mark-uncollectible")
    _post(client, f"{path}/pay")
    _post(client, f"{path}/void", 409)
    assert client.get(path).json()["status"] == "paid"


def test_void_keeps_the_number_and_owes_nothing(client: TestClient) -> None:
    _customer(client)
    invoice = _one_off(client, auto_finalize=True)
    voided = _post(client, f"/v1/invoices/{invoice['id']}/void")
    assert (voided["status"], voided["number"], voided["amount_due"]) == (
        "void",
        "INV-2026-0001",
        0,
    )
    assert voided["voided_at"] is not None
    assert "invoice.voided" in _types(client, "invoice.")


def test_credit_notes_lower_what_is_due_then_give_money_back(client: TestClient) -> None:
    _customer(client)
    invoice = _one_off(client, auto_finalize=True)  # 8750 due
    path = f"/v1/invoices/{invoice['id']}/credit-notes"
    partial = _post(
        client, path, 201, amount=1250, reason="one training hour not held", refund=False
    )
    assert {k: partial[k] for k in ("number", "amount", "due_reduction", "returned")} == {
        "number": "INV-2026-0001-CN1",
        "amount": 1250,
        "due_reduction": 1250,
        "returned": 0,
    }
    after = client.get(f"/v1/invoices/{invoice['id']}").json()
    assert (after["status"], after["amount_due"], after["amount_credited"]) == ("open", 7500, 1250)
    _post(client, f"/v1/invoices/{invoice['id']}/pay")
    problem = _post(client, path, 422, amount=7501, reason="too much")
    assert problem["errors"][0]["field"] == "amount"
    rest = _post(client, path, 201, reason="cancelled engagement", refund=True)
    assert {k: rest[k] for k in ("number", "amount", "due_reduction", "returned", "outcome")} == {
        "number": "INV-2026-0001-CN2",
        "amount": 7500,
        "due_reduction": 0,
        "returned": 7500,
        "outcome": "refunded",
    }
    _post(client, path, 422, reason="nothing left")
    notes = client.get(path).json()["data"]
    assert [n["amount"] for n in notes] == [1250, 7500]
    assert _types(client, "credit_note.") == ["credit_note.created", "credit_note.created"]


def test_a_credit_note_for_all_that_is_due_settles_an_open_invoice(client: TestClient) -> None:
    _customer(client)
    invoice = _one_off(client, auto_finalize=True)
    _post(client, f"/v1/invoices/{invoice['id']}/credit-notes", 201, reason="goodwill")
    after = client.get(f"/v1/invoices/{invoice['id']}").json()
    assert (after["status"], after["amount_due"], after["amount_paid"]) == ("paid", 0, 0)


def test_bad_input_is_422_naming_the_field(client: TestClient) -> None:
    _customer(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"customer_id": "acme"}, "items"),
        ({"customer_id": "acme", "items": []}, "items"),
        (
            {"customer_id": "acme", "items": [{"description": "x", "unit_amount": -1}]},
            "items[0].unit_amount",
        ),
        (
            {
                "customer_id": "acme",
                "items": [{"description": "x", "unit_amount": 1, "quantity": 0}],
            },
            "items[0].quantity",
        ),
        (
            {
                "customer_id": "acme",
                "items": [{"description": "x", "unit_amount": 1}],
                "period_start": "2026-01-01T00:00:00Z",
            },
            "period_start",
        ),
        ({"customer_id": "acme", "subscription_id": "sub_missing"}, "subscription_id"),
        (
            {
                "customer_id": "acme",
                "subscription_id": "sub_missing",
                "period_start": "2026-01-01T00:00:00Z",
            },
            "period_end",
        ),
        (
            {
                "customer_id": "acme",
                "items": [{"description": "x", "unit_amount": 1}],
                "currency": "XXX1",
            },
            "currency",
        ),
    ]
    for body, field in cases:
        response = client.post("/v1/invoices", json=body)
        assert response.status_code == 422, (body, response.text)
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f.endswith(field) for f in fields), (body, fields)
    assert (
        client.post(
            "/v1/invoices",
            json={"customer_id": "nobody", "items": [{"description": "x", "unit_amount": 1}]},
        ).status_code
        == 404
    )
    assert client.get("/v1/customers/acme/invoices").json()["data"] == []


def test_amounts_beyond_the_largest_amount_are_422_not_a_crash(client: TestClient) -> None:
    """Each line and the invoice's total stay within 10^15 minor units."""
    _customer(client)
    huge = {"description": "x", "quantity": 10**9, "unit_amount": 10**15}
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([{"description": "ok", "unit_amount": 1}, huge], "items[1].unit_amount"),
        ([{"description": "x", "unit_amount": 10**15}] * 100, "items"),
        (
            [{"description": "x", "quantity": 2, "unit_amount": 5 * 10**14 + 1}],
            "items[0].unit_amount",
        ),
    ]
    for items, field in cases:
        response = client.post("/v1/invoices", json={"customer_id": "acme", "items": items})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]
    at_limit = [{"description": "x", "quantity": 2, "unit_amount": 5 * 10**14}]
    response = client.post("/v1/invoices", json={"customer_id": "acme", "items": at_limit})
    assert (response.status_code, response.json()["total"]) == (201, 10**15)
    assert len(client.get("/v1/customers/acme/invoices").json()["data"]) == 1


def test_customer_keys_see_only_their_own_invoices_and_cannot_write(
    client: TestClient, anonymous: TestClient
) -> None:
    _customer(client)
    _customer(client, "other")
    mine = _one_off(client, auto_finalize=True)
    theirs = _one_off(client, "other", auto_finalize=True)
    key = client.post("/v1/customers/acme/keys", json={"name": "app"}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert anonymous.get(f"/v1/invoices/{mine['id']}", headers=headers).status_code == 200
    assert anonymous.get(f"/v1/invoices/{theirs['id']}", headers=headers).status_code == 404
    assert anonymous.get("/v1/customers/other/invoices", headers=headers).status_code == 404
    listed = anonymous.get("/v1/customers/acme/invoices", headers=headers).json()["data"]
    assert [i["id"] for i in listed] == [mine["id"]]
    assert (
        anonymous.post(f"/v1/invoices/{mine['id']}/void", json={}, headers=headers).status_code
        == 403
    )
    assert client.get(f"/v1/invoices/{mine['id']}").json()["status"] == "open"


def test_tax_settings_apply_to_new_invoices(client: TestClient) -> None:
    settings = {
        "invoicing": {
            "seller_country": "DE",
            "net_terms_days": 14,
            "tax_rates": [
                {"rate": "19", "label": "MwSt", "country": "DE"},
                {"rate": "10", "label": "Sales tax"},
            ],
        }
    }
    assert client.patch("/v1/product/settings", json=settings).status_code == 200
    _customer(client, "berlin", country="DE")
    _customer(client, "paris", country="FR", tax_id="FR40303265045")
    _customer(client, "austin", country="US")
    german = _one_off(client, "berlin", auto_finalize=True)
    assert (german["tax_label"], german["tax_rate"], german["tax"], german["total"]) == (
        "MwSt",
        "19",
        1662,  # 8750 x 19 % = 1662.5, half-even
        10412,
    )
    french = _one_off(client, "paris", auto_finalize=True)
    assert (french["tax"], french["total"], french["tax_rate"]) == (0, 8750, "0")
    assert french["notes"].startswith("Reverse charge")
    american = _one_off(client, "austin", auto_finalize=True)
    assert (american["tax"], american["total"]) == (875, 9625)
    assert american["due_date"][:10] == "2026-01-29"
    bad = client.patch("/v1/product/settings", json={"invoicing": {"tax_rates": [{"rate": "101"}]}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("invoicing.tax_rates")


def test_a_one_off_invoice_is_in_the_customers_currency_which_it_then_locks(
    client: TestClient,
) -> None:
    _customer(client, currency="EUR")
    response = client.post(
        "/v1/invoices",
        json={
            "customer_id": "acme",
            "currency": "USD",
            "items": [{"description": "X", "unit_amount": 1}],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "currency"
    assert client.get("/v1/customers/acme").json()["currency_locked"] is False
    assert _one_off(client)["currency"] == "EUR"
    assert client.get("/v1/customers/acme").json()["currency_locked"] is True
    assert client.patch("/v1/customers/acme", json={"currency": "USD"}).status_code == 409

"""A local stand-in for the Asaas API v3: JSON in and out, with the documented
shapes of customers, payments (CREDIT_CARD, BOLETO, PIX), their PIX QR code and
boleto identification field, refunds, subscriptions and list pages."""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal
from typing import Any

from local_api import Answer, LocalApi, Request

API_KEY = "$aact_test_tollway"
TOKENS = {"cc_tok_visa": ("VISA", "4242"), "cc_tok_declined": ("MASTERCARD", "0002")}
DECLINED = "cc_tok_declined"
PIX_PAYLOAD = "00020101021226820014br.gov.bcb.pix2560qrpix-h.bradesco.com.br/9d36b84f"
BOLETO_LINE = "00190000090275928800021932978170187890000004900"


def _errors(status: int, code: str, description: str) -> Answer:
    return status, {"errors": [{"code": code, "description": description}]}


class AsaasApi(LocalApi):
    failure: Answer = (500, {})

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(5219613)
        self.items: dict[str, dict[str, dict[str, Any]]] = {
            "customers": {},
            "payments": {},
            "subscriptions": {},
        }

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):012d}"

    def handle(self, request: Request) -> Answer:
        if request.headers.get("access_token") != API_KEY:
            return 401, {}
        if not request.headers.get("user-agent"):
            return _errors(400, "invalid_user_agent", "User-Agent obrigatório")
        path = request.path.removeprefix("/v3/")
        if request.method == "GET" and path in self.items:
            return self.listing(path, request.query)
        creations = {
            "customers": self.create_customer,
            "payments": self.create_payment,
            "subscriptions": self.create_subscription,
        }
        if request.method == "POST" and path in creations:
            return creations[path](_body(request))
        match = re.fullmatch(r"payments/([^/]+)(?:/(pixQrCode|identificationField|refund))?", path)
        if match is None or match[1] not in self.items["payments"]:
            return _errors(404, "not_found", "Recurso não encontrado")
        return self.payment_action(self.items["payments"][match[1]], match[2], request)

    def payment_action(
        self, payment: dict[str, Any], action: str | None, request: Request
    ) -> Answer:
        if request.method == "DELETE":
            return self.delete_payment(payment)
        if action == "pixQrCode":
            return 200, {
                "encodedImage": "iVBORw0KGgoAAAANSUhEUgAAAYsAAAGLCAIAAAC5gincAAAN",
                "payload": PIX_PAYLOAD,
                "expirationDate": f"{payment['dueDate']} 23:59:59",
            }
        if action == "identificationField":
            return 200, {
                "identificationField": BOLETO_LINE,
                "nossoNumero": "6543",
                "barCode": "00191878900000049000000002759288002193297817",
            }
        return self.refund(payment, _body(request))

    def listing(self, collection: str, query: dict[str, str]) -> Answer:
        wanted = query.get("externalReference")
        data = [
            item
            for item in self.items[collection].values()
            if wanted is None or item.get("externalReference") == wanted
        ]
        limit = int(query.get("limit", "10"))
        return 200, {
            "object": "list",
            "hasMore": len(data) > limit,
            "totalCount": len(data),
            "limit": limit,
            "offset": 0,
            "data": data[:limit],
        }

    def create_customer(self, body: dict[str, Any]) -> Answer:
        if not body.get("cpfCnpj"):
            return _errors(400, "invalid_cpfCnpj", "O CPF/CNPJ deve ser informado.")
        customer = {
            "object": "customer",
            "id": self.new_id("cus"),
            "dateCreated": "2026-01-15",
            "name": body["name"],
            "email": body.get("email"),
            "cpfCnpj": body["cpfCnpj"],
            "externalReference": body.get("externalReference"),
            "notificationDisabled": False,
            "deleted": False,
        }
        self.items["customers"][customer["id"]] = customer
        return 200, customer

    def create_payment(self, body: dict[str, Any]) -> Answer:
        if body["customer"] not in self.items["customers"]:
            return _errors(400, "invalid_customer", "Cliente inexistente.")
        payment_id = self.new_id("pay")
        payment: dict[str, Any] = {
            "object": "payment",
            "id": payment_id,
            "dateCreated": "2026-01-15",
            "customer": body["customer"],
            "value": body["value"],
            "netValue": body["value"] - Decimal("0.99"),
            "billingType": body["billingType"],
            "status": "PENDING",
            "dueDate": body["dueDate"],
            "description": body.get("description"),
            "externalReference": body.get("externalReference"),
            "invoiceUrl": f"https://sandbox.asaas.com/i/{payment_id}",
            "invoiceNumber": "06898322",
            "bankSlipUrl": None,
            "creditCard": None,
            "refunds": None,
            "deleted": False,
        }
        if body["billingType"] == "CREDIT_CARD":
            token = body.get("creditCardToken")
            if token not in TOKENS or token == DECLINED:
                return _errors(
                    400,
                    "invalid_creditCard",
                    "Transação não autorizada. Verifique os dados do cartão de crédito.",
                )
            brand, last4 = TOKENS[token]
            payment["status"] = "CONFIRMED"
            payment["creditCard"] = {
                "creditCardNumber": last4,
                "creditCardBrand": brand,
                "creditCardToken": token,
            }
        elif body["billingType"] == "BOLETO":
            payment["bankSlipUrl"] = f"https://sandbox.asaas.com/b/pdf/{payment_id}"
        self.items["payments"][payment_id] = payment
        return 200, payment

    def delete_payment(self, payment: dict[str, Any]) -> Answer:
        if payment["status"] not in {"PENDING", "OVERDUE"} or payment["deleted"]:
            return _errors(400, "invalid_action", "Só é possível remover cobranças pendentes.")
        payment["deleted"] = True
        return 200, {"deleted": True, "id": payment["id"]}

    def pay(self, payment_id: str) -> dict[str, Any]:
        """The customer pays a pending payment (a boleto); refused when it was removed."""
        payment = self.items["payments"][payment_id]
        assert not payment["deleted"], "a removed payment cannot be paid"
        payment["status"] = "RECEIVED"
        return payment

    def refund(self, payment: dict[str, Any], body: dict[str, Any]) -> Answer:
        if payment["status"] not in {"CONFIRMED", "RECEIVED"}:
            return _errors(400, "invalid_action", "Cobrança não pode ser estornada.")
        value = body.get("value", payment["value"])
        refunds = payment["refunds"] or []
        refunds.append({"status": "DONE", "value": value, "description": body.get("description")})
        payment["refunds"] = refunds
        if sum(r["value"] for r in refunds) >= payment["value"]:
            payment["status"] = "REFUNDED"
        return 200, payment

    def create_subscription(self, body: dict[str, Any]) -> Answer:
        subscription = {
            "object": "subscription",
            "id": self.new_id("sub"),
            "dateCreated": "2026-01-15",
            "customer": body["customer"],
            "billingType": body["billingType"],
            "cycle": body["cycle"],
            "value": body["value"],
            "nextDueDate": body["nextDueDate"],
            "description": body.get("description"),
            "externalReference": body.get("externalReference"),
            "status": "ACTIVE",
            "deleted": False,
        }
        self.items["subscriptions"][subscription["id"]] = subscription
        return 200, subscription


def _body(request: Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(request.body or b"{}", parse_float=Decimal)
    return parsed

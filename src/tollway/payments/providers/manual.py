"""Manual bank transfer: nothing is charged automatically.

A charge is ``pending`` with transfer instructions (the reference to quote and the
product's account text) until an admin marks the invoice paid; refunds are paid
back by hand and stay ``pending``. There are no stored payment methods, hosted
checkout or portal pages, and no inbound webhooks: those raise
:class:`~tollway.payments.providers.base.Unsupported`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from tollway.payments.providers.base import (
    BankTransferInstructions,
    ChargeRequest,
    ChargeResult,
    CheckoutRequest,
    CheckoutSession,
    NewCustomer,
    PaymentMethod,
    PortalRequest,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    Unsupported,
)


class ManualProvider:
    """Bank transfer, settled by an admin (``provider=manual``)."""

    name = "manual"

    def __init__(self, instructions: str | None = None) -> None:
        self.instructions = instructions
        """The account to pay into, shown with every charge (e.g. IBAN and holder)."""

    def create_customer(self, customer: NewCustomer) -> str:
        """A local reference: there is no remote record."""
        return f"manual_{customer.operation_id}"

    def attach_payment_method(
        self, *, operation_id: str, customer_ref: str, token: str
    ) -> PaymentMethod:
        raise self._unsupported("stored payment methods")

    def list_payment_methods(self, customer_ref: str) -> list[PaymentMethod]:
        return []

    def detach_payment_method(self, payment_method_ref: str) -> None:
        raise self._unsupported("stored payment methods")

    def charge(self, request: ChargeRequest) -> ChargeResult:
        reference = f"manual_{request.operation_id}"
        return ChargeResult(
            "pending",
            reference,
            instructions=BankTransferInstructions(reference, self.instructions),
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult("pending", f"manual_{request.operation_id}")

    def cancel_charge(self, provider_payment_id: str) -> None:
        """Nothing waits at a provider: the transfer reference is simply not expected."""

    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        raise self._unsupported("hosted checkout")

    def create_portal_session(self, request: PortalRequest) -> str:
        raise self._unsupported("a customer portal")

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        raise self._unsupported("inbound webhooks")

    def _unsupported(self, what: str) -> Unsupported:
        return Unsupported(
            f"manual bank transfer has no {what}; an admin marks invoices paid",
            provider=self.name,
        )

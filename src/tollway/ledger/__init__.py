"""The credit ledger: grants, append-only entries, plan allocations that burn live
from usage, credits paying invoices, and expiry on time."""

from tollway.ledger.errors import CreditsExhausted
from tollway.ledger.models import CreditEntry, CreditGrant
from tollway.ledger.schemas import (
    CreditGrantIn,
    CreditsOut,
    CreditsSettings,
    EntryOut,
    GrantOut,
)
from tollway.ledger.service.allocations import (
    Settlement,
    allocation_remaining,
    ensure_usage_allowed,
    preview_settlement,
    settle_allocation,
)
from tollway.ledger.service.common import SECTION, credit_settings
from tollway.ledger.service.grants import (
    SOURCES,
    credit_summary,
    grant_credits,
    grant_from_api,
    refund_to_balance,
)
from tollway.ledger.service.invoices import (
    InvoicePayment,
    apply_to_invoice,
    apply_to_invoices,
    release_invoice,
)

__all__ = [
    "SECTION",
    "SOURCES",
    "CreditEntry",
    "CreditGrant",
    "CreditGrantIn",
    "CreditsExhausted",
    "CreditsOut",
    "CreditsSettings",
    "EntryOut",
    "GrantOut",
    "InvoicePayment",
    "Settlement",
    "allocation_remaining",
    "apply_to_invoice",
    "apply_to_invoices",
    "credit_settings",
    "credit_summary",
    "ensure_usage_allowed",
    "grant_credits",
    "grant_from_api",
    "preview_settlement",
    "refund_to_balance",
    "release_invoice",
    "settle_allocation",
]

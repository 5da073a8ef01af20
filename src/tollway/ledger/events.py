"""Event types the ledger records."""

CREDITS_GRANTED = "credits.granted"
CREDITS_EXPIRED = "credits.expired"
CREDITS_LOW_BALANCE = "credits.low_balance"

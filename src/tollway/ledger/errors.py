"""Ledger problems."""

from tollway.kernel.errors import TollwayError


class CreditsExhausted(TollwayError):
    """A consume refused because the plan allocation paying its metric is used up and
    the product blocks overage (429)."""

    status = 429
    code = "credits_exhausted"
    title = "Credits exhausted"

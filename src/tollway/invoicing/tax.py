"""Which tax an invoice bears: the rate that applies to a customer, and EU reverse
charge for businesses with a valid VAT id in another EU country (pure, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tollway.invoicing.settings import TaxRate

# Syntax of each EU member state's VAT number after its prefix (Greece uses "EL").
_VAT_SYNTAX: dict[str, str] = {
    "AT": r"U\d{8}",
    "BE": r"[01]\d{9}",
    "BG": r"\d{9,10}",
    "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}",
    "DE": r"\d{9}",
    "DK": r"\d{8}",
    "EE": r"\d{9}",
    "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}",
    "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}",
    "HR": r"\d{11}",
    "HU": r"\d{8}",
    "IE": r"\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W]",
    "IT": r"\d{11}",
    "LT": r"\d{9}|\d{12}",
    "LU": r"\d{8}",
    "LV": r"\d{11}",
    "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}",
    "PT": r"\d{9}",
    "RO": r"[1-9]\d{1,9}",
    "SE": r"\d{12}",
    "SI": r"\d{8}",
    "SK": r"\d{10}",
}
_VAT = {prefix: re.compile(pattern) for prefix, pattern in _VAT_SYNTAX.items()}
EU_COUNTRIES = frozenset(("GR" if prefix == "EL" else prefix) for prefix in _VAT_SYNTAX)
"""ISO 3166 codes of the EU member states."""


def vat_country(tax_id: str | None) -> str | None:
    """The ISO country of a syntactically valid EU VAT id, else ``None``.

    Spaces, dots and dashes are ignored; ``EL`` (Greece) is ``GR``."""
    if not tax_id:
        return None
    compact = re.sub(r"[\s.\-]", "", tax_id).upper()
    prefix, number = compact[:2], compact[2:]
    pattern = _VAT.get(prefix)
    if pattern is None or not pattern.fullmatch(number):
        return None
    return "GR" if prefix == "EL" else prefix


def reverse_charge(seller_country: str | None, tax_id: str | None) -> bool:
    """Whether EU reverse charge applies: an EU seller, and a customer VAT id valid
    for another EU member state."""
    if seller_country is None or seller_country.upper() not in EU_COUNTRIES:
        return False
    country = vat_country(tax_id)
    return country is not None and country != seller_country.upper()


@dataclass(frozen=True)
class TaxTreatment:
    """The tax an invoice bears: ``rate`` percent, inclusive or not, or reverse charge.

    ``net_of`` is the inclusive rate (percent) the prices hold but the invoice does
    not charge (reverse charge): its tax is taken out of them."""

    rate: Decimal
    label: str
    inclusive: bool = False
    note: str | None = None
    net_of: Decimal = Decimal(0)


NO_TAX = TaxTreatment(rate=Decimal(0), label="Tax")


def rate_for(
    rates: Sequence[TaxRate], *, customer_external_id: str | None, country: str | None
) -> TaxRate | None:
    """The most specific rate: the customer's own, else its country's, else the default
    (``customer_external_id`` ``None``: the rate of anyone in ``country``)."""
    by_customer = [
        r for r in rates if r.customer_id is not None and r.customer_id == customer_external_id
    ]
    by_country = [
        r for r in rates if r.customer_id is None and country and r.country == country.upper()
    ]
    default = [r for r in rates if r.customer_id is None and r.country is None]
    for found in (by_customer, by_country, default):
        if found:
            return found[0]
    return None


def treatment(
    rates: Sequence[TaxRate],
    *,
    customer_external_id: str,
    country: str | None,
    tax_id: str | None,
    seller_country: str | None,
    reverse_charge_note: str,
) -> TaxTreatment:
    """The tax of a customer's invoice: reverse charge (no tax, a note) for an EU
    business abroad in the EU, else the most specific configured rate, else none.

    An invoice that charges no tax (reverse charge, or the customer's own 0% rate: an
    exempt customer) does not keep the tax its prices include: when the rate those
    prices hold (the customer's, else its country's, else the default) is inclusive,
    they are reduced to net (``net_of``)."""
    rate = rate_for(rates, customer_external_id=customer_external_id, country=country)
    anyone = rate_for(rates, customer_external_id=None, country=country)
    held = next((r.rate for r in (rate, anyone) if r is not None and r.inclusive), Decimal(0))
    if reverse_charge(seller_country, tax_id):
        label = rate.label if rate is not None else "VAT"
        return TaxTreatment(rate=Decimal(0), label=label, note=reverse_charge_note, net_of=held)
    if rate is None:
        return NO_TAX
    if not rate.rate and held:
        return TaxTreatment(rate=rate.rate, label=rate.label, net_of=held)
    return TaxTreatment(rate=rate.rate, label=rate.label, inclusive=rate.inclusive)

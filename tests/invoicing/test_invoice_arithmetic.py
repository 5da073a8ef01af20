"""Invoice arithmetic, tax rules and numbers: pure functions, to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tollway.invoicing.numbering import credit_note_number, invoice_number
from tollway.invoicing.settings import TaxRate
from tollway.invoicing.tax import NO_TAX, TaxTreatment, reverse_charge, treatment, vat_country
from tollway.invoicing.totals import Line, amount_due, compute_totals, line_discount

NOTE = "Reverse charge"


def rates() -> list[TaxRate]:
    return [
        TaxRate(rate=Decimal(10), label="Sales tax"),
        TaxRate(rate=Decimal(19), label="MwSt", country="DE"),
        TaxRate(rate=Decimal(20), label="TVA", country="FR", inclusive=True),
        TaxRate(rate=Decimal(0), label="Exempt", customer_id="charity"),
    ]


def tax_for(customer: str, country: str | None, tax_id: str | None = None) -> TaxTreatment:
    return treatment(
        rates(),
        customer_external_id=customer,
        country=country,
        tax_id=tax_id,
        seller_country="DE",
        reverse_charge_note=NOTE,
    )


def test_the_most_specific_rate_applies() -> None:
    assert tax_for("acme", "US") == TaxTreatment(Decimal(10), "Sales tax")
    assert tax_for("acme", "de") == TaxTreatment(Decimal(19), "MwSt")
    assert tax_for("acme", "FR") == TaxTreatment(Decimal(20), "TVA", inclusive=True)
    assert tax_for("charity", "DE") == TaxTreatment(Decimal(0), "Exempt")
    assert (
        treatment(
            [],
            customer_external_id="a",
            country="DE",
            tax_id=None,
            seller_country=None,
            reverse_charge_note=NOTE,
        )
        == NO_TAX
    )


@pytest.mark.parametrize(
    ("tax_id", "country"),
    [
        ("FR40303265045", "FR"),
        ("FR 40 303 265 045", "FR"),
        ("NL123456789B01", "NL"),
        ("EL123456789", "GR"),
        ("ATU12345678", "AT"),
        ("IE1234567T", "IE"),
        ("DE123456789", "DE"),
        ("FR4030326504", None),  # one digit short
        ("ATX12345678", None),
        ("US123456789", None),
        ("", None),
        (None, None),
    ],
)
def test_vat_ids_are_checked_by_syntax(tax_id: str | None, country: str | None) -> None:
    assert vat_country(tax_id) == country


def test_reverse_charge_needs_an_eu_seller_and_a_valid_id_of_another_member_state() -> None:
    assert reverse_charge("DE", "FR40303265045")
    assert not reverse_charge("DE", "DE123456789")  # domestic: normal VAT
    assert not reverse_charge("US", "FR40303265045")  # seller outside the EU
    assert not reverse_charge(None, "FR40303265045")
    assert not reverse_charge("DE", "FR-invalid")
    french_business = tax_for("acme", "FR", "FR40303265045")
    assert (french_business.rate, french_business.note) == (Decimal(0), NOTE)


def test_prices_that_include_a_tax_not_charged_are_reduced_to_net() -> None:
    """Reverse charge, or an exempt customer, on prices that include VAT: the invoice
    bills their net (11900 with 19% included is 10000), no tax."""
    inclusive = [
        TaxRate(rate=Decimal(19), label="MwSt", inclusive=True),
        TaxRate(rate=Decimal(0), label="Exempt", customer_id="charity"),
    ]

    def tax(customer: str, tax_id: str | None = None) -> TaxTreatment:
        return treatment(
            inclusive,
            customer_external_id=customer,
            country="FR",
            tax_id=tax_id,
            seller_country="DE",
            reverse_charge_note=NOTE,
        )

    for treated in (tax("paris", "FR40303265045"), tax("charity")):
        totals = compute_totals(lines((11900, 0)), treated)
        assert totals.__dict__ == {"subtotal": 11900, "discount": 0, "tax": 0, "total": 10000}
    assert compute_totals(lines((11900, 0)), tax("berlin")).__dict__ == {
        "subtotal": 11900,
        "discount": 0,
        "tax": 1900,
        "total": 11900,
    }
    exclusive = compute_totals(lines((11900, 0)), tax_for("acme", "DE", "FR40303265045"))
    assert (exclusive.tax, exclusive.total) == (0, 11900)  # exclusive prices are net already
    assert compute_totals(lines((11900, 0)), tax_for("charity", "FR")).total == 9917  # 20% held


def test_line_discounts_round_half_even_once_and_follow_the_sign() -> None:
    assert line_discount(2999, {"percent_off": "50"}) == 1500  # 1499.5 -> 1500 (even)
    assert line_discount(2997, {"percent_off": "50"}) == 1498  # 1498.5 -> 1498 (even)
    assert line_discount(-1984, {"percent_off": "50"}) == -992
    assert line_discount(3000, {"percent_off": "6.25"}) == 188  # 187.5 -> 188
    assert line_discount(3000, {"percent_off": None, "amount_off": 500}) == 500
    assert line_discount(300, {"percent_off": None, "amount_off": 500}) == 300
    assert line_discount(-300, {"percent_off": None, "amount_off": 500}) == -300
    assert line_discount(3000, None) == 0


def lines(*amounts: tuple[int, int]) -> list[Line]:
    return [Line(kind="plan", description="x", amount=a, discount=d) for a, d in amounts]


def test_exclusive_tax_is_added_to_the_discounted_subtotal() -> None:
    totals = compute_totals(lines((6000, 600), (-1000, 0)), TaxTreatment(Decimal(19), "VAT"))
    # taxable 4400, tax 836
    assert totals.__dict__ == {"subtotal": 5000, "discount": 600, "tax": 836, "total": 5236}


def test_inclusive_tax_is_taken_out_of_the_total() -> None:
    totals = compute_totals(lines((12000, 0)), TaxTreatment(Decimal(20), "TVA", inclusive=True))
    assert totals.__dict__ == {"subtotal": 12000, "discount": 0, "tax": 2000, "total": 12000}
    odd = compute_totals(lines((999, 0)), TaxTreatment(Decimal(19), "MwSt", inclusive=True))
    assert (odd.tax, odd.total) == (160, 999)  # net 839.50... -> 839 (half-even of 839.4957)


def test_amount_due_is_what_credits_and_payments_leave() -> None:
    assert amount_due(140, 140, 0) == 0
    assert amount_due(5236, 1000, 0) == 4236
    assert amount_due(-500, 0, 0) == 0


def test_numbers() -> None:
    assert invoice_number("INV", 2026, 1) == "INV-2026-0001"
    assert invoice_number("INV", 2026, 12345) == "INV-2026-12345"
    assert credit_note_number("INV-2026-0001", 2) == "INV-2026-0001-CN2"

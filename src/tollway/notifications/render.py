"""Rendering notifications: titles, messages and emails from Jinja2 templates.

Pure: no I/O beyond reading the package's templates. Event data from domains not
built yet may lack fields; missing values render empty rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import InvalidOperation
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from tollway.kernel.money import UnknownCurrency, to_major
from tollway.notifications import events as types


def money(amount: Any, currency: Any) -> str:
    """``4900, "USD"`` -> ``49.00 USD``; anything unusable is shown as given."""
    try:
        return f"{to_major(int(amount), str(currency))} {str(currency).upper()}"
    except (TypeError, ValueError, UnknownCurrency, InvalidOperation):
        return "" if amount is None else str(amount)


def _environment(env: Environment) -> Environment:
    env.filters["money"] = money
    return env


_MESSAGES = _environment(SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False))
_EMAILS = _environment(
    Environment(
        loader=PackageLoader("tollway.notifications", "templates"),
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True),
        undefined=ChainableUndefined,
        keep_trailing_newline=True,
    )
)

TEMPLATES: dict[str, tuple[str, str]] = {
    types.QUOTA_WARNING: (
        "{{ data.metric }} usage at {{ data.threshold }}%",
        "You have used {{ data.used }} of your {{ data.limit }} {{ data.metric }} "
        "this period ({{ data.threshold }}% of the limit).",
    ),
    types.QUOTA_EXCEEDED: (
        "{{ data.metric }} quota exceeded",
        "You have used {{ data.used }} of your {{ data.limit }} {{ data.metric }} "
        "this period: the limit is reached.",
    ),
    types.GRACE_PERIOD_STARTED: (
        "Grace period started",
        "You are over your {{ data.metric or 'plan' }} limit. The limit will be enforced "
        "{% if data.grace_ends %}from {{ data.grace_ends }}{% else %}when the grace "
        "period ends{% endif %} unless you upgrade.",
    ),
    types.PAYMENT_FAILED: (
        "Payment failed",
        "We could not collect {{ data.amount | money(data.currency) }}"
        "{% if data.invoice_number %} for invoice {{ data.invoice_number }}{% endif %}."
        "{% if data.failure_message %} Reason: {{ data.failure_message }}.{% endif %}"
        " Please update your payment method.",
    ),
    types.PAYMENT_SUCCEEDED: (
        "Payment received",
        "We received your payment of {{ data.amount | money(data.currency) }}"
        "{% if data.invoice_number %} for invoice {{ data.invoice_number }}{% endif %}. "
        "Thank you.",
    ),
    types.TRIAL_ENDING: (
        "Your trial ends soon",
        "Your trial of {{ data.plan_id or 'your plan' }} ends on {{ data.trial_end }}.",
    ),
    types.SUBSCRIPTION_EXPIRING: (
        "Your subscription is expiring",
        "Your subscription to {{ data.plan_id or 'your plan' }} expires on "
        "{{ data.current_period_end or data.expires_at }}.",
    ),
    types.INVOICE_ISSUED: (
        "Invoice {{ data.number }} issued",
        "Invoice {{ data.number }} for {{ data.total | money(data.currency) }} is due "
        "{% if data.due_date %}on {{ data.due_date }}{% else %}now{% endif %}.",
    ),
    types.DUNNING_STARTED: (
        "Payment overdue: invoice {{ data.invoice_number }}",
        "We could not collect {{ data.amount | money(data.currency) }} for invoice "
        "{{ data.invoice_number }}. Please pay it or update your payment method"
        "{% if data.next_action_at %} before {{ data.next_action_at }}: then your service "
        "{% if data.next_action == 'suspend' %}will be suspended"
        "{% elif data.next_action == 'downgrade' %}will move to the free plan"
        "{% else %}will be canceled{% endif %}{% endif %}.",
    ),
    types.DUNNING_SUSPENDED: (
        "Service suspended: invoice {{ data.invoice_number }} unpaid",
        "Invoice {{ data.invoice_number }} for {{ data.amount | money(data.currency) }} is "
        "still unpaid, so your service is suspended. Paying it restores service at once"
        "{% if data.next_action_at %}; on {{ data.next_action_at }} your subscription "
        "{% if data.next_action == 'downgrade' %}moves to the free plan"
        "{% else %}will be canceled{% endif %}{% endif %}.",
    ),
    types.DUNNING_DOWNGRADED: (
        "Moved to the free plan: invoice {{ data.invoice_number }} unpaid",
        "Invoice {{ data.invoice_number }} for {{ data.amount | money(data.currency) }} is "
        "still unpaid, so your subscription was moved to the free plan.",
    ),
    types.DUNNING_CANCELED: (
        "Subscription canceled: invoice {{ data.invoice_number }} unpaid",
        "Invoice {{ data.invoice_number }} for {{ data.amount | money(data.currency) }} is "
        "still unpaid, so your subscription was canceled.",
    ),
    types.DUNNING_RECOVERED: (
        "{% if data.status == 'voided' %}Invoice {{ data.invoice_number }} voided"
        "{% else %}Invoice {{ data.invoice_number }} paid{% endif %}",
        "{% if data.status == 'voided' %}Invoice {{ data.invoice_number }} was voided"
        "{% else %}We received {{ data.amount | money(data.currency) }} for invoice "
        "{{ data.invoice_number }}{% endif %}. Your account is in good standing again"
        "{% if data.suspension_lifted %} and your service is restored{% endif %}.",
    ),
    types.WEBHOOK_ENDPOINT_DISABLED: (
        "Webhook endpoint disabled",
        "The webhook endpoint {{ data.url }} was disabled: {{ data.reason }}.",
    ),
}


@dataclass(frozen=True)
class Brand:
    """The product's branding as notifications use it."""

    company_name: str
    support_email: str | None
    invoice_footer: str | None
    logo_url: str | None = None
    """``branding.billing.invoice_logo`` (else ``branding.logo_url``), https only."""

    @classmethod
    def of(cls, product_name: str, company: str | None, branding: dict[str, Any]) -> Brand:
        billing = branding.get("billing") or {}
        logo = billing.get("invoice_logo") or branding.get("logo_url")
        return cls(
            company_name=billing.get("company_name") or company or product_name,
            support_email=billing.get("support_email"),
            invoice_footer=billing.get("invoice_footer"),
            logo_url=logo if isinstance(logo, str) and logo.startswith("https://") else None,
        )


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def message(notification_type: str, data: dict[str, Any]) -> tuple[str, str]:
    """The (title, message) of a notification."""
    title, body = TEMPLATES[notification_type]
    context = {"data": data}
    rendered_title = _MESSAGES.from_string(title).render(context).strip()
    rendered_body = _MESSAGES.from_string(body).render(context).strip()
    return rendered_title[:300], rendered_body


def email(
    *, title: str, body: str, brand: Brand, recipient_name: str | None, data: dict[str, Any]
) -> Email:
    """The email of a notification: subject, plain text and HTML parts, branded."""
    context = {
        "title": title,
        "message": body,
        "brand": brand,
        "recipient_name": recipient_name,
        "data": data,
    }
    subject = " ".join(f"[{brand.company_name}] {title}".split())  # no header injection
    return Email(
        subject=subject,
        text=_EMAILS.get_template("email.txt.j2").render(context),
        html=_EMAILS.get_template("email.html.j2").render(context),
    )

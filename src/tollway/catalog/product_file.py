"""The ``.product`` YAML format (General Bots), parsed and checked without I/O.

A file holds ``version: 1``, ``product`` (name, company), ``plans``, ``branding``
and ``reseller``, plus two Tollway sections, ``metrics`` (the API's metric shape)
and, per plan, ``quotas`` and ``charges`` (the API's shapes, amounts in minor
units). Plan prices (``price_monthly``, ``price_quarterly``, ``price_annual``,
``price_lifetime``) and ``minimum_commitment`` (the least a period's usage charges
come to) are in MAJOR units of the product currency (``29`` is $29.00, ¥29 in JPY).
``included_credits`` counts credits, and a credit is one minor unit (2000 credits
are worth $20.00), as everywhere in Tollway. Plan features map as follows:

- numeric ``max_<metric>``: a quota on ``<metric>`` for the period ``total``, hard;
- numeric ``<metric>_per_<hour|day|month>``: a quota for that period, hard;
- anything else stays a feature (an entitlement: boolean, integer or text).

YAML decimals are read as exact ``Decimal`` values, never floats. Every problem
is reported with its path in the file (``plans[1].price_monthly``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
)

from tollway.catalog.schemas import (
    UNLIMITED,
    Charges,
    Description,
    FeatureKey,
    Interval,
    MetricCreate,
    MinimumSpec,
    PlanCreate,
    PriceSpec,
    QuotaPeriod,
    Quotas,
    QuotaSpec,
)
from tollway.kernel.errors import FieldError, ValidationFailed
from tollway.kernel.money import to_minor
from tollway.kernel.validation import INPUT_CONFIG, Code, Count, Currency, Name

PRICE_KEYS: dict[str, Interval] = {
    "price_monthly": "monthly",
    "price_quarterly": "quarterly",
    "price_annual": "annual",
    "price_lifetime": "lifetime",
}
_PER_PERIOD: dict[str, QuotaPeriod] = {"hour": "hourly", "day": "daily", "month": "monthly"}
_MAX_RE = re.compile(r"max_(?P<metric>.+)")
_PER_RE = re.compile(r"(?P<metric>.+)_per_(?P<period>hour|day|month)")
_CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")


MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32


class _Loader(yaml.SafeLoader):
    """Safe YAML with decimals as ``Decimal`` (a float never exists).

    Aliases are refused (no "billion laughs"), and so is nesting deeper than
    ``MAX_DEPTH``: a catalog never needs either.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in .product files", mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nesting deeper than {MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal | str:
    assert isinstance(node, yaml.ScalarNode)
    text = loader.construct_scalar(node)
    try:
        number = Decimal(text.replace("_", ""))
    except InvalidOperation:
        return text  # .inf, .nan, sexagesimal: refused later as "not an amount"
    return number if number.is_finite() else text


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _major_amount(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError("must be an amount in major units, such as 29 or 29.90")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None
    if not number.is_finite() or number < 0:
        raise ValueError("must be a non-negative amount in major units")
    return number


MajorAmount = Annotated[Decimal, BeforeValidator(_major_amount)]
Percent = Annotated[Decimal, BeforeValidator(_major_amount), Field(le=100)]


def _file_feature(value: object) -> bool | int | str:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if value < UNLIMITED:
            raise ValueError("a numeric feature is an integer >= 0, or -1 for unlimited")
        return value
    if isinstance(value, Decimal):
        raise ValueError("fractional numbers are not features; quote the value to keep it as text")
    raise ValueError("must be a boolean, an integer (-1 = unlimited) or a string")


def _decimals_as_text(value: Any) -> Any:
    """YAML decimals as the strings the API's decimal fields take (``0.25`` -> ``"0.25"``)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [_decimals_as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimals_as_text(v) for k, v in value.items()}
    return value


class FilePlan(BaseModel):
    """One entry of ``plans``; ``id`` becomes the plan code."""

    model_config = INPUT_CONFIG

    id: Code
    name: Name
    description: Description | None = None
    price_monthly: MajorAmount | None = None
    price_quarterly: MajorAmount | None = None
    price_annual: MajorAmount | None = None
    price_lifetime: MajorAmount | None = None
    minimum_commitment: MajorAmount | None = None
    trial_days: Count = 0
    included_credits: Count = 0
    custom_pricing: StrictBool = False
    is_default: StrictBool = False
    features: dict[FeatureKey, Annotated[bool | int | str, PlainValidator(_file_feature)]] = Field(
        default_factory=dict, max_length=100
    )
    quotas: Quotas = Field(default_factory=list)
    charges: Charges = Field(default_factory=list)

    @field_validator("quotas", "charges", mode="before")
    @classmethod
    def _text_decimals(cls, value: Any) -> Any:
        return _decimals_as_text(value)


class FileProduct(BaseModel):
    model_config = INPUT_CONFIG

    name: Name | None = None
    company: Annotated[str, StringConstraints(max_length=200)] | None = None


class BillingBranding(BaseModel):
    """``branding.billing``: what invoices show, and the product currency."""

    model_config = INPUT_CONFIG

    company_name: str | None = Field(default=None, max_length=200)
    support_email: str | None = Field(default=None, max_length=320)
    invoice_logo: str | None = Field(default=None, max_length=2000)
    invoice_footer: str | None = Field(default=None, max_length=2000)
    currency: Currency | None = None
    tax_id_label: str | None = Field(default=None, max_length=100)


class Branding(BaseModel):
    """``branding``: ``billing`` is checked; other keys (colours, logos) are kept as given."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    billing: BillingBranding | None = None


class Reseller(BaseModel):
    """``reseller``: reseller mode settings, percentages as exact decimals."""

    model_config = INPUT_CONFIG

    enabled: StrictBool = False
    commission_percent: Percent | None = None
    min_markup_percent: Percent | None = None
    allow_custom_pricing: StrictBool = False
    billing_relationship: str | None = Field(default=None, max_length=50)


class ProductFile(BaseModel):
    """A whole ``.product`` document."""

    model_config = INPUT_CONFIG

    version: Literal[1] = 1
    product: FileProduct | None = None
    metrics: list[MetricCreate] = Field(default_factory=list, max_length=200)
    plans: list[FilePlan] = Field(default_factory=list, max_length=200)
    branding: Branding | None = None
    reseller: Reseller | None = None

    @field_validator("metrics", mode="before")
    @classmethod
    def _text_decimals(cls, value: Any) -> Any:
        return _decimals_as_text(value)

    @property
    def currency(self) -> str | None:
        """``branding.billing.currency``, upper-cased, when the file sets it."""
        billing = self.branding.billing if self.branding else None
        return billing.currency if billing else None


@dataclass(frozen=True)
class CatalogDraft:
    """What a file asks for, ready to apply: plans as API input, in file order, and the
    metrics that plan features refer to (``max_members`` refers to ``members``)."""

    document: ProductFile
    plans: list[PlanCreate]
    feature_metrics: dict[str, str] = field(default_factory=dict)
    """Metric code -> path of the feature that refers to it."""


def _path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _pydantic_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    return [
        FieldError(prefix + _path(e["loc"]) if e["loc"] else prefix.rstrip(".") or "body", e["msg"])
        for e in exc.errors()
    ]


def load_document(text: str) -> ProductFile:
    """Parse and check a ``.product`` document, or :class:`ValidationFailed`."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise ValidationFailed.field("body", f"a .product file is at most {MAX_FILE_BYTES} bytes")
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ValidationFailed.field("body", f"not valid YAML: {problem}{where}") from None
    if not isinstance(raw, dict):
        raise ValidationFailed.field("body", "a .product file is a YAML mapping (version, plans…)")
    try:
        document = ProductFile.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(_pydantic_errors(exc)) from None
    errors = []
    for kind, codes in (
        ("plans", [p.id for p in document.plans]),
        ("metrics", [m.code for m in document.metrics]),
    ):
        key = "id" if kind == "plans" else "code"
        errors += [
            FieldError(f"{kind}[{i}].{key}", f"{code!r} appears twice")
            for i, code in enumerate(codes)
            if code in codes[:i]
        ]
    defaults = [i for i, p in enumerate(document.plans) if p.is_default]
    errors += [
        FieldError(f"plans[{i}].is_default", "only one plan may be the default")
        for i in defaults[1:]
    ]
    if errors:
        raise ValidationFailed(errors)
    return document


def _split_features(
    features: dict[str, bool | int | str],
) -> tuple[list[tuple[str, QuotaSpec]], dict[str, bool | int | str]]:
    """Quotas named by ``max_x`` / ``x_per_period`` features (with their keys), and the rest."""
    quotas: list[tuple[str, QuotaSpec]] = []
    kept: dict[str, bool | int | str] = {}
    for key, value in features.items():
        numeric = isinstance(value, int) and not isinstance(value, bool)
        max_match = _MAX_RE.fullmatch(key)
        per_match = _PER_RE.fullmatch(key)
        if numeric and max_match and _CODE_RE.fullmatch(max_match["metric"]):
            quota = QuotaSpec(metric=max_match["metric"], limit=value, period="total")
        elif numeric and per_match and _CODE_RE.fullmatch(per_match["metric"]):
            period = _PER_PERIOD[per_match["period"]]
            quota = QuotaSpec(metric=per_match["metric"], limit=value, period=period)
        else:
            kept[key] = value
            continue
        quotas.append((key, quota))
    return quotas, kept


def _plan_draft(
    index: int, plan: FilePlan, currency: str, feature_metrics: dict[str, str]
) -> PlanCreate:
    prefix = f"plans[{index}]."
    errors: list[FieldError] = []
    prices = []
    for key, interval in PRICE_KEYS.items():
        major = getattr(plan, key)
        if major is None:
            continue
        try:
            prices.append(PriceSpec(interval=interval, amount=to_minor(major, currency)))
        except ValueError as exc:
            errors.append(FieldError(prefix + key, str(exc)))
    minimums = []
    if plan.minimum_commitment is not None:
        try:
            minimums.append(MinimumSpec(amount=to_minor(plan.minimum_commitment, currency)))
        except ValueError as exc:
            errors.append(FieldError(prefix + "minimum_commitment", str(exc)))
    derived, features = _split_features(plan.features)
    taken = {(q.metric, q.period): key for key, q in derived}
    for i, quota in enumerate(plan.quotas):
        if (quota.metric, quota.period) in taken:
            feature = taken[(quota.metric, quota.period)]
            errors.append(
                FieldError(
                    f"{prefix}quotas[{i}].metric", f"repeats the quota of features.{feature}"
                )
            )
    if errors:
        raise ValidationFailed(errors)
    for key, quota in derived:
        feature_metrics.setdefault(quota.metric, f"{prefix}features.{key}")
    try:
        return PlanCreate(
            code=plan.id,
            name=plan.name,
            description=plan.description,
            currency=currency,
            prices=prices,
            trial_days=plan.trial_days,
            features=features,
            quotas=[q for _, q in derived] + plan.quotas,
            included_credits=plan.included_credits,
            charges=plan.charges,
            minimum_commitment=minimums,
            custom_pricing=plan.custom_pricing,
            is_default=plan.is_default,
        )
    except ValidationError as exc:
        raise ValidationFailed(_pydantic_errors(exc, prefix)) from None


def draft_catalog(document: ProductFile, *, currency: str) -> CatalogDraft:
    """The plans of ``document`` priced in ``currency``, or :class:`ValidationFailed`
    listing every problem of every plan."""
    plans: list[PlanCreate] = []
    feature_metrics: dict[str, str] = {}
    errors: list[FieldError] = []
    for index, plan in enumerate(document.plans):
        try:
            plans.append(_plan_draft(index, plan, currency, feature_metrics))
        except ValidationFailed as exc:
            errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    return CatalogDraft(document=document, plans=plans, feature_metrics=feature_metrics)


def humanize(code: str) -> str:
    """A metric name from its code: ``api_calls`` -> ``Api calls``."""
    return re.sub(r"[_.\-]+", " ", code).strip().capitalize() or code

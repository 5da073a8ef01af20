"""``tollway demo``: a sample catalog, sample customers and a fresh secret key.

Seeding is idempotent: run it again and the catalog and customers stay as they
are; only a new key is made. Usage events, subscriptions and invoices join the
demo as those domains land.
"""

from __future__ import annotations

from importlib.resources import files

from tollway import auth, catalog, customers
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound

SAMPLE_PRODUCT = "sample.product"
SAMPLE_CUSTOMERS = (
    customers.CustomerCreate(
        external_id="org_acme", name="Acme Corp", email="billing@acme.example", country="US"
    ),
    customers.CustomerCreate(
        external_id="org_globex",
        name="Globex GmbH",
        email="finance@globex.example",
        currency="EUR",
        timezone="Europe/Berlin",
        country="DE",
    ),
    customers.CustomerCreate(
        external_id="org_initech",
        name="Initech Ltda",
        email="contas@initech.example",
        currency="BRL",
        timezone="America/Sao_Paulo",
        country="BR",
    ),
)


def sample_product_text() -> str:
    """The packaged sample ``.product`` document (free, pro and enterprise plans)."""
    return files("tollway.cli").joinpath(SAMPLE_PRODUCT).read_text(encoding="utf-8")


def seed(ctx: Context) -> str:
    """Import the sample catalog, create the sample customers that are missing, and
    return the plaintext of a new secret key (shown once)."""
    catalog.import_product_file(ctx, sample_product_text())
    for data in SAMPLE_CUSTOMERS:
        try:
            customers.get_customer(ctx, data.external_id)
        except NotFound:
            customers.create_customer(ctx, data)
    return auth.create_secret_key(ctx, name="demo").secret

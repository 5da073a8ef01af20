"""Every table's model, imported so that ``Base.metadata`` knows them all."""

from tollway.auth import models as auth_models
from tollway.catalog import models as catalog_models
from tollway.customers import models as customer_models
from tollway.dunning import models as dunning_models
from tollway.invoicing import models as invoicing_models
from tollway.kernel import audit, clock, idempotency, jobs, outbox, relay, tenancy
from tollway.kernel.db import Base
from tollway.ledger import models as ledger_models
from tollway.metering import models as metering_models
from tollway.notifications import models as notification_models
from tollway.payments import models as payment_models
from tollway.quotas import models as quota_models
from tollway.subscriptions import models as subscription_models
from tollway.webhooks import models as webhook_models

MODULES = (
    auth_models,
    catalog_models,
    customer_models,
    invoicing_models,
    metering_models,
    quota_models,
    audit,
    clock,
    idempotency,
    jobs,
    outbox,
    relay,
    tenancy,
    subscription_models,
    notification_models,
    webhook_models,
    ledger_models,
    payment_models,
    dunning_models,
)
metadata = Base.metadata

"""Every table's model, imported so that ``Base.metadata`` knows them all."""

from tollway.auth import models as auth_models
from tollway.catalog import models as catalog_models
from tollway.customers import models as customer_models
from tollway.kernel import audit, clock, idempotency, jobs, outbox, tenancy
from tollway.kernel.db import Base
from tollway.metering import models as metering_models
from tollway.quotas import models as quota_models
from tollway.subscriptions import models as subscription_models

MODULES = (
    auth_models,
    catalog_models,
    customer_models,
    metering_models,
    quota_models,
    audit,
    clock,
    idempotency,
    jobs,
    outbox,
    tenancy,
    subscription_models,
)
metadata = Base.metadata

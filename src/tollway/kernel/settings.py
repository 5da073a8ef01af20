"""Process-wide settings, read from ``TOLLWAY_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment configures."""

    model_config = SettingsConfigDict(env_prefix="TOLLWAY_", env_file=None, extra="ignore")

    database_url: str = "sqlite:///./tollway.db"
    api_key: SecretStr | None = None
    test_mode: bool = False
    saas_mode: bool = True
    default_product_code: str = "default"
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    job_lease_seconds: int = Field(default=300, gt=0)
    relay_shards: int = Field(default=1, ge=1, le=64)
    """How many relay jobs split the outbox by customer, so that as many workers relay
    (and run invoices) at once; every worker must use the same count. More than one
    pays off on PostgreSQL (SQLite runs one writer at a time)."""
    max_request_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    smtp_url: str | None = None
    """``smtp://user:password@host:port`` (``smtps://`` for TLS, ``?starttls=true``);
    unset, email notifications are not sent."""
    smtp_from: str | None = None
    """The From address of notification emails (default: the product's support email)."""
    webhook_allow_private_targets: bool = False
    """Let webhooks and alert channels reach loopback and private addresses (always
    allowed in test mode). Off in production: webhooks must not probe the network."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    """The signing secret (``whsec_...``) of the Stripe webhook endpoint."""
    stripe_api_base: str | None = None
    """Another Stripe API address (a local fake in tests); unset, Stripe itself."""
    asaas_api_key: SecretStr | None = None
    asaas_webhook_token: SecretStr | None = None
    """The authentication token set on the Asaas webhook (sent as ``asaas-access-token``)."""
    asaas_env: Literal["sandbox", "production"] = "sandbox"
    asaas_api_base: str | None = None
    """Another Asaas API address (a local fake in tests); unset, the one of ``asaas_env``."""

    @property
    def allow_private_targets(self) -> bool:
        """Whether outgoing HTTP may reach loopback and private addresses."""
        return self.test_mode or self.webhook_allow_private_targets


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached; tests build their own ``Settings``)."""
    return Settings()

"""Process-wide settings, read from ``TOLLWAY_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment configures. Provider settings join as providers land."""

    model_config = SettingsConfigDict(env_prefix="TOLLWAY_", env_file=None, extra="ignore")

    database_url: str = "sqlite:///./tollway.db"
    api_key: SecretStr | None = None
    test_mode: bool = False
    saas_mode: bool = True
    default_product_code: str = "default"
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    job_lease_seconds: int = Field(default=300, gt=0)
    max_request_bytes: int = Field(default=16 * 1024 * 1024, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached; tests build their own ``Settings``)."""
    return Settings()

"""API keys and authentication."""

from tollway.auth.models import ApiKey
from tollway.auth.service import (
    IssuedKey,
    Principal,
    authenticate,
    create_customer_key,
    create_secret_key,
    env_principal,
    has_secret_keys,
)

__all__ = [
    "ApiKey",
    "IssuedKey",
    "Principal",
    "authenticate",
    "create_customer_key",
    "create_secret_key",
    "env_principal",
    "has_secret_keys",
]

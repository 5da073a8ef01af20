"""The payment providers of one process, each built once, on first use."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from tollway.kernel.settings import Settings
from tollway.payments.providers import (
    NotConfigured,
    PaymentProvider,
    provider_for,
    require_allowed,
)


class Providers:
    """Builds each provider once (adapters hold connection pools; the fake holds its
    cards in memory) and refuses them all in self-hosted mode."""

    def __init__(
        self, settings: Settings, *, instances: Mapping[str, PaymentProvider] | None = None
    ) -> None:
        self.settings = settings
        self._built: dict[str, PaymentProvider] = dict(instances or {})
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether payments exist at all (``TOLLWAY_SAAS_MODE``)."""
        return self.settings.saas_mode

    def get(self, name: str) -> PaymentProvider:
        """Provider ``name``; :class:`NotConfigured` (422 on ``provider``) in
        self-hosted mode or when it lacks its settings."""
        if not self.enabled:
            raise _on_provider(
                "payments are off in self-hosted mode (TOLLWAY_SAAS_MODE=false): "
                "nothing is charged and no provider is called"
            )
        with self._lock:
            try:
                require_allowed(name, self.settings)
                if name not in self._built:
                    self._built[name] = provider_for(name, self.settings)
            except NotConfigured as exc:
                raise _on_provider(exc.detail) from exc
            return self._built[name]


def _on_provider(detail: str) -> NotConfigured:
    """The refusal as a problem naming ``provider`` (the body field, the settings'
    ``payments.provider`` or the webhook path's provider)."""
    return NotConfigured(detail, errors=[{"field": "provider", "message": detail}])

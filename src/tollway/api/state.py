"""What the application holds for its lifetime: settings, database, clock, jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tollway.jobs import Registry
from tollway.kernel.clock import Clock
from tollway.kernel.settings import Settings


@dataclass
class AppState:
    """Shared by every request of one application instance."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    clock: Clock
    registry: Registry
    default_product_id: str
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    """Run in order when the server stops, before the engine is disposed (``tollway
    serve`` stops its embedded job worker there)."""

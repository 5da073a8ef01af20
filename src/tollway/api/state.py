"""What the application holds for its lifetime: settings, database, clock, jobs."""

from __future__ import annotations

from dataclasses import dataclass

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

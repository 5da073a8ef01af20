"""Alembic migrations shipped inside the package, and the code that applies them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from tollway.kernel.db import make_engine

SCRIPT_LOCATION = str(Path(__file__).parent)


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url`` using the packaged scripts."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (the latest by default)."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()

"""The ``tollway`` command line."""

from tollway.cli.main import main

__all__ = ["main"]

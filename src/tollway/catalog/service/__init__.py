"""Catalog use cases, one module per resource, plus the ``.product`` file import.

Every write requires full access (secret keys, CLI, jobs), records its event in the
outbox and never commits.
"""

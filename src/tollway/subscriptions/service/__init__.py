"""Subscription use cases, one module per concern.

Every write requires full access, records its audit record and event in the
caller's transaction and never commits.
"""

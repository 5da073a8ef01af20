"""Dunning use cases: cases opened and closed by payment events, escalation steps, reads."""

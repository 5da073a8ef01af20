"""The kernel: database, clock, money, errors, outbox, jobs table, ids, pagination.

Kernel modules are imported directly (``tollway.kernel.money``); each is small and
names what it holds.
"""

"""Dunning: what happens when a subscription's invoice goes unpaid.

The first failed payment of a subscription's invoice opens a case (``past_due``, a
grace period); the product's steps then suspend the customer, move it to the free
plan or cancel; a paid or voided invoice closes the case and restores service. It
reacts to ``payment.*`` and ``invoice.*`` events and never calls a provider.
"""

from tollway.dunning.models import DunningCase
from tollway.dunning.schemas import CustomerDunningOut, DunningCaseOut
from tollway.dunning.service.reads import customer_dunning
from tollway.dunning.settings import SECTION, DunningSettings, DunningStep, dunning_settings

__all__ = [
    "SECTION",
    "CustomerDunningOut",
    "DunningCase",
    "DunningCaseOut",
    "DunningSettings",
    "DunningStep",
    "customer_dunning",
    "dunning_settings",
]

"""Customers: the billed entities, addressed by their external id."""

from tollway.customers.models import Customer
from tollway.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from tollway.customers.service import (
    create_customer,
    find_customers,
    get_customer,
    get_customer_by_id,
    list_customers,
    lock_currency,
    lock_customer,
    update_customer,
)

__all__ = [
    "Customer",
    "CustomerCreate",
    "CustomerOut",
    "CustomerUpdate",
    "create_customer",
    "find_customers",
    "get_customer",
    "get_customer_by_id",
    "list_customers",
    "lock_currency",
    "lock_customer",
    "update_customer",
]

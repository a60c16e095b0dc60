"""Roles, and their memberships, belong to the whole PostgreSQL server, not to one database:
an advisory lock (a database's own) does not keep sessions on two databases from creating the
same role at once. The second then fails on the role's name or on the catalog's key; its
transaction, tried again, finds the role there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from psycopg import errors

# The catalog's keys of a role's name and of a membership.
ROLE_CATALOG_KEYS = ("pg_authid_rolname_index", "pg_auth_members_role_member_index")
ATTEMPTS = 3
T = TypeVar("T")


def _another_database_came_first(error: errors.DuplicateObject | errors.UniqueViolation) -> bool:
    return isinstance(error, errors.DuplicateObject) or error.diag.constraint_name in ROLE_CATALOG_KEYS


def again_if_another_database_came_first(transaction: Callable[[], T]) -> T:
    """Run `transaction` (one whole transaction, which creates roles if missing) again when a
    session on another database created one of them first."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return transaction()
        except (errors.DuplicateObject, errors.UniqueViolation) as error:
            if attempt == ATTEMPTS or not _another_database_came_first(error):
                raise
    raise AssertionError("unreachable")

"""A database router sending the ORM's unrouted queries to the database in use."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

ACTIVE: ContextVar[str] = ContextVar("django_gym_database", default="default")
"""The alias that querysets without ``.using(...)`` go to (tests switch it)."""


class ActiveDatabase:
    """Routes reads and writes to :data:`ACTIVE`; migrations go everywhere."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return ACTIVE.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return ACTIVE.get()

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

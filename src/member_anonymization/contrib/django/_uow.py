"""A unit of work driving one explicit Django transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

from django.db import DEFAULT_DB_ALIAS, transaction

from member_anonymization.contrib.django._signals import member_anonymized
from member_anonymization.errors import MemberAnonymizationError

__all__ = ["DjangoUnitOfWork", "OuterTransactionError", "SqliteModeError"]


class OuterTransactionError(MemberAnonymizationError, RuntimeError):
    """A unit of work was entered inside an ``atomic`` block (or ``ATOMIC_REQUESTS``).

    There, its commit would only release a savepoint: the outer block decides
    whether anything is written. Run the operation outside of any ``atomic`` block
    (for a view under ``ATOMIC_REQUESTS``, decorate it with
    ``transaction.non_atomic_requests``).
    """

    def __init__(self, using: str) -> None:
        self.using = using
        super().__init__(f"a unit of work cannot run inside an atomic block (database {using!r})")


class SqliteModeError(MemberAnonymizationError, RuntimeError):
    """A SQLite database without ``OPTIONS={"transaction_mode": "IMMEDIATE"}``.

    Django ignores ``select_for_update`` on SQLite: the only lock is the write lock
    that ``BEGIN IMMEDIATE`` takes when the transaction begins.
    """

    def __init__(self, using: str) -> None:
        self.using = using
        super().__init__(
            f'database {using!r} needs OPTIONS={{"transaction_mode": "IMMEDIATE"}} on SQLite'
        )


class DjangoUnitOfWork:
    """The base of a Django host's unit of work: one explicit transaction.

    The transaction begins lazily, on the first call of :meth:`begin` (every
    repository method calls it, or uses :attr:`db`), so that a unit entered but
    unused costs nothing, and after :meth:`commit` or :meth:`rollback` the next
    use begins a new one. Leaving the ``with`` block rolls back what was not
    committed. Subclasses add the repositories of
    :class:`~member_anonymization.ports.UnitOfWork`.

    Args:
        using: The database alias.
    """

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS) -> None:
        self.using = using
        self._atomic: Any = None
        self._entered = False

    @property
    def connection(self) -> Any:
        """The Django connection of :attr:`using`."""
        return transaction.get_connection(self.using)

    @property
    def db(self) -> str:
        """The database alias, after beginning the transaction (for ``.using(...)``)."""
        self.begin()
        return self.using

    @property
    def vendor(self) -> str:
        """The database vendor (``"sqlite"``, ``"postgresql"``, ...)."""
        return str(self.connection.vendor)

    def __enter__(self) -> Self:
        """Check that no transaction is open; the transaction itself begins lazily."""
        connection = self.connection
        if connection.in_atomic_block or not connection.get_autocommit():
            raise OuterTransactionError(self.using)
        if connection.vendor == "sqlite":
            mode = connection.settings_dict.get("OPTIONS", {}).get("transaction_mode")
            if str(mode).upper() != "IMMEDIATE":
                raise SqliteModeError(self.using)
        self._entered = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Roll back what was not committed; the locks end with the transaction."""
        self.rollback()
        self._entered = False

    def begin(self) -> None:
        """Begin the transaction unless it is open (``BEGIN IMMEDIATE`` on SQLite)."""
        if self._atomic is not None:
            return
        if not self._entered:
            raise RuntimeError("use the unit of work in a with block")
        atomic = transaction.atomic(using=self.using)
        atomic.__enter__()
        self._atomic = atomic

    def commit(self) -> None:
        """Commit the transaction; ``on_commit`` callbacks run now."""
        atomic, self._atomic = self._atomic, None
        if atomic is not None:
            atomic.__exit__(None, None, None)

    def rollback(self) -> None:
        """Discard every change since the transaction began."""
        atomic, self._atomic = self._atomic, None
        if atomic is not None:
            transaction.set_rollback(True, using=self.using)
            atomic.__exit__(None, None, None)

    def lock_rows(self, queryset: Any, *, skip_locked: bool = False) -> list[Any]:
        """Evaluate ``queryset`` holding its rows until the transaction ends.

        PostgreSQL: ``SELECT ... FOR UPDATE`` (``SKIP LOCKED`` on request). SQLite
        has no row locks: ``BEGIN IMMEDIATE`` holds the database's write lock
        from the first statement, so another writer waits for this unit.
        """
        queryset = queryset.using(self.db)
        if self.connection.features.has_select_for_update:
            queryset = queryset.select_for_update(skip_locked=skip_locked)
        return list(queryset)

    def on_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` after the commit (never on rollback); its errors are logged."""
        self.begin()
        transaction.on_commit(callback, using=self.using, robust=True)

    def delete_files_on_commit(self, files: Iterable[Any]) -> None:
        """Delete stored files (``FieldFile`` values) once the commit has succeeded."""
        stored = [(f.storage, f.name) for f in files if f]
        if stored:
            self.on_commit(lambda: [storage.delete(name) for storage, name in stored])

    def notify_anonymized(self, member_ids: Sequence[str]) -> None:
        """Send :data:`member_anonymized` after the commit, with the members' ids."""
        ids = tuple(member_ids)
        if ids:
            self.on_commit(lambda: member_anonymized.send(type(self), member_ids=ids))

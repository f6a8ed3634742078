"""Errors of the SQL adapter.

Messages name tables and ids (a member's is pseudonymous), never other personal
data.
"""

from __future__ import annotations

from member_anonymization.errors import MemberAnonymizationError

__all__ = [
    "DatabaseBusyError",
    "DatabaseUrlError",
    "EmptyDatabaseError",
    "SchemaMissingError",
    "SchemaVersionError",
    "SqlAdapterError",
]


class SqlAdapterError(MemberAnonymizationError):
    """Base class of the SQL adapter's errors."""


class DatabaseBusyError(SqlAdapterError):
    """Another connection held the database (or a row) longer than the adapter waits.

    SQLite: the write lock stayed taken for the whole busy timeout. PostgreSQL:
    a lock stayed taken for the whole ``lock_timeout`` (SQLSTATE ``55P03``).
    Nothing was changed; try again later.
    """

    def __init__(self) -> None:
        super().__init__("the database is busy: another process holds it")


class DatabaseUrlError(SqlAdapterError, ValueError):
    """The database URL or path is not usable."""


class SchemaMissingError(SqlAdapterError):
    """The database holds no reference schema yet (create it first)."""

    def __init__(self) -> None:
        super().__init__("the database has no member-anonymization schema: create it first")


class SchemaVersionError(SqlAdapterError):
    """The database's schema version is not the one this release works with.

    Attributes:
        found: The version recorded in the database.
        expected: The version of this release.
    """

    def __init__(self, found: int, expected: int) -> None:
        self.found = found
        self.expected = expected
        if found > expected:
            reason = "a newer release wrote it; upgrade member-anonymization"
        else:
            reason = "create_schema() migrates it"
        super().__init__(f"the database schema is version {found}, not {expected}: {reason}")


class EmptyDatabaseError(SqlAdapterError):
    """The database holds no network yet, so there is nothing to dump."""

    def __init__(self) -> None:
        super().__init__("the database holds no network yet: load a dataset first")

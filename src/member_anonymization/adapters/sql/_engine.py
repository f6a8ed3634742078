"""Engines configured as the adapter needs them, and the adapter's own connections.

* SQLite: foreign keys on, write-ahead logging, ``secure_delete`` on (deleted
  content is overwritten with zeros instead of lingering in free pages), a
  busy timeout, and transactions that begin with ``BEGIN IMMEDIATE``.
* PostgreSQL: a ``lock_timeout`` on every connection, so that a unit of work
  waiting for a row or table lock gives up instead of waiting for ever.
* Both: bound parameters hidden from every error message, and a busy or
  locked database reported as :class:`DatabaseBusyError` on the adapter's own
  connections (the host's queries on the same engine keep SQLAlchemy's errors).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from member_anonymization.adapters.sql._errors import DatabaseBusyError
from member_anonymization.adapters.sql._url import database_url, is_memory_sqlite

__all__ = [
    "ADAPTER_CONNECTION",
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_LOCK_TIMEOUT",
    "SQLITE_BEGIN",
    "adapter_connection",
    "busy_errors",
    "create_sql_engine",
    "is_busy",
    "prepare_engine",
]

DEFAULT_BUSY_TIMEOUT: Final = 30.0
"""Seconds a SQLite connection waits for another one's write lock before failing."""

DEFAULT_LOCK_TIMEOUT: Final = 30.0
"""Seconds a PostgreSQL statement waits for a lock (``lock_timeout``) before failing."""

ADAPTER_CONNECTION: Final = "member_anonymization_adapter"
"""Execution option marking the adapter's own connections (their busy errors are translated)."""

SQLITE_BEGIN: Final = "member_anonymization_sqlite_begin"
"""Execution option naming the SQLite ``BEGIN`` mode of a connection (default IMMEDIATE)."""

_BEGIN_MODES: Final = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
_SQLITE_BUSY: Final = frozenset({5, 6})
"""SQLITE_BUSY and SQLITE_LOCKED: the primary result codes of a database held by another."""
_PG_LOCK_NOT_AVAILABLE: Final = "55P03"


def is_busy(error: BaseException | None) -> bool:
    """Whether a driver error means another connection holds the database or a lock.

    SQLite: ``database is locked`` / ``busy`` (``SQLITE_BUSY``, ``SQLITE_LOCKED``
    and their extended codes) after the busy timeout. PostgreSQL: SQLSTATE
    ``55P03`` (``lock_not_available``), raised when ``lock_timeout`` expires.
    """
    if isinstance(error, DBAPIError):
        error = error.orig
    if error is None:
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_BUSY
    if getattr(error, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE:
        return True
    if type(error).__module__ == "sqlite3":
        text = str(error)
        return text.startswith("database is locked") or "is busy" in text
    return False


@contextmanager
def busy_errors() -> Iterator[None]:
    """Turn a busy or locked database inside the block into :class:`DatabaseBusyError`.

    For calls outside SQLAlchemy's statement execution (connecting, the raw
    driver connection). As on every path, the error's cause is the driver's
    own exception, never SQLAlchemy's, which would repeat the statement.
    """
    try:
        yield
    except DatabaseBusyError:
        raise
    except Exception as exc:
        if not is_busy(exc):
            raise
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        raise DatabaseBusyError() from cause


def _translate_busy(context: ExceptionContext) -> None:
    """``handle_error``: a busy database on an adapter connection is a typed error.

    SQLAlchemy chains the raised error to the driver's exception (which holds
    no statement and no parameter), not to its own statement error.
    """
    connection = context.connection
    if connection is None or not connection.get_execution_options().get(ADAPTER_CONNECTION):
        return
    if is_busy(context.original_exception):
        raise DatabaseBusyError()


def adapter_connection(engine: Engine) -> Connection:
    """A pooled connection marked as the adapter's own (busy errors become typed)."""
    with busy_errors():
        connection = engine.connect()
    connection.execution_options(**{ADAPTER_CONNECTION: True})
    return connection


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Hand transaction control to SQLAlchemy; foreign keys, WAL, secure delete on."""
    del connection_record
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted rows and freed pages are overwritten with zeros, whatever the
        # build's default (SQLite's own is off): no removed value lingers there.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Begin with the write lock (``BEGIN IMMEDIATE``) unless told otherwise."""
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
    if mode not in _BEGIN_MODES:
        raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


class _PgLockTimeout:
    """``connect`` hook: ``SET lock_timeout`` for the session of each new connection."""

    def __init__(self, milliseconds: int) -> None:
        self.milliseconds = milliseconds

    def __call__(self, dbapi_connection: Any, connection_record: Any) -> None:
        del connection_record
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {self.milliseconds}")
        finally:
            dbapi_connection.autocommit = autocommit


def _milliseconds(seconds: float, name: str) -> int:
    if isinstance(seconds, bool) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name} must be a number of seconds, zero or more")
    return max(1, round(seconds * 1000)) if seconds > 0 else 0


def prepare_engine(engine: Engine) -> None:
    """Add the adapter's hooks to an engine (idempotent)."""
    if not event.contains(engine, "handle_error", _translate_busy):
        event.listen(engine, "handle_error", _translate_busy)
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _sqlite_connect):
        event.listen(engine, "connect", _sqlite_connect)
        engine.dispose()
    if not event.contains(engine, "begin", _sqlite_begin):
        event.listen(engine, "begin", _sqlite_begin)


def create_sql_engine(
    target: str | os.PathLike[str] | URL,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    echo: bool = False,
    **options: Any,
) -> Engine:
    """An engine configured as the adapter needs it.

    Bound parameters are hidden from every error message (they may be personal
    data). On SQLite: foreign keys on, write-ahead logging, ``secure_delete``
    on, a busy timeout, and transactions that begin with ``BEGIN IMMEDIATE``;
    an in-memory database is one shared connection. On PostgreSQL: every
    connection's ``lock_timeout``.

    Args:
        target: A SQLAlchemy URL, or a file path meaning SQLite (see
            :func:`~member_anonymization.adapters.sql.database_url`).
        busy_timeout: SQLite only: seconds to wait for the write lock before
            :class:`DatabaseBusyError`.
        lock_timeout: PostgreSQL only: seconds a statement waits for a lock
            before :class:`DatabaseBusyError` (``0``: for ever; ``None``: the
            server's or role's setting).
        echo: Log every statement (without its parameters).
        options: More keyword arguments for :func:`sqlalchemy.create_engine`.

    Raises:
        ValueError: A negative or non-finite timeout.
    """
    url = database_url(target)
    _milliseconds(busy_timeout, "busy_timeout")
    lock_ms = None if lock_timeout is None else _milliseconds(lock_timeout, "lock_timeout")
    options.setdefault("hide_parameters", True)
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, echo=echo, **options)
        if lock_ms is not None:
            event.listen(engine, "connect", _PgLockTimeout(lock_ms))
        prepare_engine(engine)
        return engine
    connect_args = {"timeout": busy_timeout, "check_same_thread": False}
    connect_args.update(options.pop("connect_args", {}))
    if is_memory_sqlite(url):
        options.setdefault("poolclass", StaticPool)
    engine = create_engine(url, echo=echo, connect_args=connect_args, **options)
    prepare_engine(engine)
    return engine

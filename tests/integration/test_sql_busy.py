"""A database held by another connection gives :class:`DatabaseBusyError`, not a driver error."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from member_anonymization import Anonymized, Anonymizer
from member_anonymization.adapters.sql import (
    DEFAULT_LOCK_TIMEOUT,
    DatabaseBusyError,
    SqlAdapterError,
    SqlStore,
    create_sql_engine,
)
from member_anonymization.testing import FixedClock
from tests import builders as b
from tests.backends import PgServer
from tests.integration.sql_support import members_with_profiles

CLOCK = FixedClock(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))
MESSAGE = "the database is busy: another process holds it"


def anonymize_m1(store: SqlStore) -> object:
    """A manual anonymization of ``m1`` by ``e1``."""
    return Anonymizer(store.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1", as_of=b.TODAY)


def assert_busy(info: pytest.ExceptionInfo[DatabaseBusyError]) -> None:
    """The adapter's own error, its fixed message, caused by the driver's bare exception.

    Never by SQLAlchemy's statement error, which would carry the statement (and,
    without ``hide_parameters``, its parameters).
    """
    assert isinstance(info.value, SqlAdapterError)
    assert str(info.value) == MESSAGE
    cause = info.value.__cause__
    assert cause is not None
    assert not isinstance(cause, SQLAlchemyError)
    assert type(cause).__module__.split(".")[0] in ("sqlite3", "psycopg")
    assert "SQL" not in str(cause)


# --------------------------------------------------------------------------- SQLite


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SqlStore:
    """A SQLite file holding two members with full profiles (m1 can be anonymized)."""
    store = SqlStore.open(tmp_path / "club.sqlite")
    store.create_schema()
    store.load(members_with_profiles(2))
    store.dispose()
    return store


def test_sqlite_write_lock_held_elsewhere_is_database_busy(sqlite_store: SqlStore) -> None:
    """Another process holding the write lock past the busy timeout: DatabaseBusyError."""
    path = sqlite_store.engine.url.database
    assert path is not None
    impatient = SqlStore.open(path, busy_timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusyError) as info:
            anonymize_m1(impatient)
        assert_busy(info)
        with pytest.raises(DatabaseBusyError) as info:
            impatient.load(members_with_profiles(1))
        assert_busy(info)
        holder.execute("ROLLBACK")
        assert isinstance(anonymize_m1(impatient), Anonymized)
    finally:
        holder.close()
        impatient.dispose()


def test_sqlite_host_queries_keep_sqlalchemy_errors(sqlite_store: SqlStore) -> None:
    """Only the adapter's own connections translate: the host's queries see the driver's error."""
    path = sqlite_store.engine.url.database
    assert path is not None
    impatient = SqlStore.open(path, busy_timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert impatient.engine.hide_parameters
        with (
            pytest.raises(OperationalError, match="locked"),
            impatient.engine.begin() as conn,
        ):
            conn.exec_driver_sql("SELECT 1")
    finally:
        holder.close()
        impatient.dispose()


def test_sqlite_compact_while_another_process_writes_is_database_busy(
    sqlite_store: SqlStore,
) -> None:
    """``compact`` needs the write lock too."""
    path = sqlite_store.engine.url.database
    assert path is not None
    impatient = SqlStore.open(path, busy_timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusyError) as info:
            impatient.compact()
        assert_busy(info)
    finally:
        holder.close()
        impatient.dispose()


def test_timeouts_are_checked() -> None:
    """A negative or non-finite timeout is refused before anything is opened."""
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lock_timeout"):
            create_sql_engine(":memory:", lock_timeout=bad)
        with pytest.raises(ValueError, match="busy_timeout"):
            SqlStore.open(":memory:", busy_timeout=bad)


# --------------------------------------------------------------------------- PostgreSQL


def _loaded(server: PgServer, *, lock_timeout: float) -> SqlStore:
    """A store with ``lock_timeout`` on a new schema holding two members.

    The schema is created through a patient store: ``create_schema`` waits for
    a lock that other sessions of the same database may hold meanwhile.
    """
    patient = server.open_blank()
    patient.create_schema()
    patient.load(members_with_profiles(2))
    patient.dispose()
    return SqlStore.open(patient.engine.url, lock_timeout=lock_timeout)


@pytest.mark.postgres
def test_postgres_lock_timeout_is_set_on_every_connection(postgres_server: PgServer) -> None:
    """``lock_timeout`` defaults to 30 s; ``None`` leaves the server's setting."""
    assert DEFAULT_LOCK_TIMEOUT == 30.0
    for options, expected in (({}, "30s"), ({"lock_timeout": 0.2}, "200ms")):
        store = postgres_server.open_blank(**options)
        with store.engine.connect() as a, store.engine.connect() as b_:
            assert a.exec_driver_sql("SHOW lock_timeout").scalar_one() == expected
            assert b_.exec_driver_sql("SHOW lock_timeout").scalar_one() == expected
        store.dispose()
    store = postgres_server.open_blank(lock_timeout=None)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar_one() == "0"
    store.dispose()


@pytest.mark.postgres
def test_postgres_row_lock_held_elsewhere_is_database_busy(postgres_server: PgServer) -> None:
    """Anonymizing a member whose row another connection holds: DatabaseBusyError after 0.2 s."""
    store = _loaded(postgres_server, lock_timeout=0.2)
    with store.engine.connect() as holder:
        holder.exec_driver_sql("SELECT id FROM members WHERE id = 'm1' FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError) as info:
            anonymize_m1(store)
        assert time.monotonic() - started < 10
        assert_busy(info)
        # Another member is not held: its anonymization goes through meanwhile.
        other = Anonymizer(store.unit_of_work, clock=CLOCK).anonymize(
            "m2", actor="e1", as_of=b.TODAY
        )
        assert isinstance(other, Anonymized)
        holder.rollback()
    assert isinstance(anonymize_m1(store), Anonymized)
    store.dispose()


@pytest.mark.postgres
def test_postgres_compact_waits_at_most_lock_timeout(postgres_server: PgServer) -> None:
    """``VACUUM FULL`` needs an exclusive lock: a reader in a transaction makes it busy."""
    store = _loaded(postgres_server, lock_timeout=0.2)
    with store.engine.connect() as holder:
        holder.exec_driver_sql("SELECT COUNT(*) FROM documents")
        with pytest.raises(DatabaseBusyError) as info:
            store.compact()
        assert_busy(info)
        holder.rollback()
    assert store.compact().tables[0] == "members"
    store.dispose()

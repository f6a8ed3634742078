"""The entry point of the SQL adapter: :class:`SqlStore`."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Self, final

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from member_anonymization.adapters.sql._dataset import (
    LoadResult,
    dump_dataset,
    load_dataset,
    load_dataset_file,
)
from member_anonymization.adapters.sql._engine import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    SQLITE_BEGIN,
    adapter_connection,
    create_sql_engine,
    prepare_engine,
)
from member_anonymization.adapters.sql._repositories import SqlUnitOfWork
from member_anonymization.adapters.sql._residue import (
    SNAPSHOT_WAIT,
    CheckpointResult,
    CompactReport,
    checkpoint,
    compact,
    wal_status,
)
from member_anonymization.adapters.sql._schema import (
    LOAD_LOCK_KEY,
    create_schema,
    read_schema_version,
    require_schema,
)
from member_anonymization.adapters.sql._url import describe_url
from member_anonymization.ports import ReadOnlyUnitOfWorkFactory, UnitOfWork, UnitOfWorkFactory
from member_anonymization.serialization import Dataset

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_LOCK_TIMEOUT",
    "SqlStore",
    "SqlUnitOfWorkFactory",
    "create_sql_engine",
]


@final
class SqlUnitOfWorkFactory:
    """:attr:`SqlStore.unit_of_work`: opens units of work, plain or read-only.

    Calling it opens a unit of work as the services need for a change
    (``BEGIN IMMEDIATE`` on SQLite); :meth:`read_only` opens one that only
    reads, from one snapshot, without any lock a writer would wait for. It
    is a :class:`~member_anonymization.ports.ReadOnlyUnitOfWorkFactory`.
    """

    __slots__ = ("_store",)

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __call__(self) -> SqlUnitOfWork:
        """A new unit of work.

        Raises:
            SchemaMissingError: There is no schema (checked once per store).
            SchemaVersionError: The database holds another schema version.
        """
        self._store.check_schema()
        return SqlUnitOfWork(self._store.engine)

    def read_only(self) -> SqlUnitOfWork:
        """A new read-only unit of work.

        On SQLite it begins ``DEFERRED`` (WAL mode: it neither waits for the
        writer nor holds it up) and refuses writes (``PRAGMA query_only``);
        on PostgreSQL it is ``REPEATABLE READ READ ONLY``. Either way every
        read sees the same snapshot.

        Raises:
            SchemaMissingError: There is no schema (checked once per store).
            SchemaVersionError: The database holds another schema version.
        """
        self._store.check_schema()
        return SqlUnitOfWork(self._store.engine, read_only=True)

    def __repr__(self) -> str:
        return f"{self._store!r}.unit_of_work"


@final
class SqlStore:
    """A database holding the reference schema, and the adapter's entry point.

    Open one per database and process; it is safe to share between threads
    (each unit of work takes its own pooled connection)::

        store = SqlStore.open("club.sqlite")      # or "postgresql://..."
        store.create_schema()
        store.load_file("clubs.json")
        anonymizer = Anonymizer(store.unit_of_work)
        ...
        store.dispose()

    Args:
        engine: An engine, preferably made by :func:`create_sql_engine` (an
            engine made otherwise gets the adapter's hooks, except PostgreSQL's
            ``lock_timeout``).
    """

    def __init__(self, engine: Engine) -> None:
        prepare_engine(engine)
        self._engine = engine
        self._schema_checked = False
        self._units = SqlUnitOfWorkFactory(self)

    @classmethod
    def open(
        cls,
        target: str | os.PathLike[str] | URL,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
        echo: bool = False,
    ) -> SqlStore:
        """Open the database at a SQLAlchemy URL or a SQLite file path.

        Nothing is read or created yet; see :meth:`create_schema`.

        Args:
            target: A SQLAlchemy URL, or a file path meaning SQLite.
            busy_timeout: SQLite only: seconds to wait for the write lock.
            lock_timeout: PostgreSQL only: seconds a statement waits for a lock
                (``0``: for ever; ``None``: the server's setting).
            echo: Log every statement (without its parameters).

        Raises:
            DatabaseUrlError: The URL is invalid or names an unsupported database.
            ValueError: A negative timeout.
        """
        engine = create_sql_engine(
            target, busy_timeout=busy_timeout, lock_timeout=lock_timeout, echo=echo
        )
        return cls(engine)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for event listeners, or the host's own queries)."""
        return self._engine

    @property
    def url(self) -> str:
        """The database URL, its password hidden."""
        return describe_url(self._engine.url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"

    def _connect(self, *, read_only: bool = False) -> Connection:
        conn = adapter_connection(self._engine)
        if read_only:
            if self.dialect == "sqlite":
                conn.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
            else:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        return conn

    def create_schema(self) -> bool:
        """Create the reference schema, or migrate it to this release's version.

        Idempotent, and safe when several processes call it at once.

        Returns:
            Whether anything was created or migrated.

        Raises:
            SchemaVersionError: The database holds a newer schema version.
        """
        with self._connect() as conn, conn.begin():
            changed = create_schema(conn)
        self._schema_checked = True
        return changed

    def schema_version(self) -> int | None:
        """The schema version recorded in the database, or ``None`` without a schema."""
        with self._connect(read_only=True) as conn, conn.begin():
            return read_schema_version(conn)

    def check_schema(self) -> None:
        """Check that the database holds this release's schema version.

        Raises:
            SchemaMissingError: There is no schema yet.
            SchemaVersionError: The database holds another version.
        """
        if self._schema_checked:
            return
        with self._connect(read_only=True) as conn, conn.begin():
            require_schema(conn)
        self._schema_checked = True

    @property
    def unit_of_work(self) -> SqlUnitOfWorkFactory:
        """The factory to hand to the services: ``store.unit_of_work()`` opens a unit of work.

        ``store.unit_of_work.read_only()`` opens a read-only one, which the
        services use where they only read (see :class:`SqlUnitOfWorkFactory`).
        Opening either checks the schema (once per store) and may raise
        :class:`SchemaMissingError` or :class:`SchemaVersionError`.
        """
        return self._units

    def load(self, source: Dataset | Mapping[str, Any]) -> LoadResult:
        """Add a dataset file's records, all or nothing.

        References may point at records already in the database. Any problem
        (an invalid value, an id that already exists, a dangling reference, a
        network other than the database's, ...) rejects the whole file and
        nothing is written.

        Args:
            source: The parsed JSON object of a dataset file (see
                :func:`~member_anonymization.serialization.parse_json`), or a
                :class:`Dataset`.

        Raises:
            DatasetError: Listing every problem of the file, in file order.
        """
        self.check_schema()
        with self._connect() as conn, conn.begin():
            self._lock_loads(conn)
            return load_dataset(conn, source)

    def load_file(self, source: str | os.PathLike[str] | bytes | IO[bytes]) -> LoadResult:
        """Add the records of a dataset file, all or nothing, streaming it.

        Like :meth:`load`, with the same checks and the same problems, but the
        file is never held whole in memory: it is read twice, record by record
        (once to check it, once to insert it in chunks), so that a file of
        hundreds of megabytes loads in a small, steady amount of memory. The
        JSON is read as strictly as by
        :func:`~member_anonymization.serialization.parse_json`.

        Args:
            source: The file's path, its bytes, or a binary stream, read from
                its current position (a stream that cannot seek, such as a
                pipe, or one not at its start is first read into memory).

        Raises:
            DatasetError: Listing every problem of the file, in file order.
            OSError: The file cannot be read.
        """
        self.check_schema()
        if isinstance(source, bytes):
            return self._load_stream(io.BytesIO(source))
        if isinstance(source, str | os.PathLike):
            with Path(source).open("rb") as file:
                return self._load_stream(file)
        if not source.seekable() or source.tell():
            copy = io.BytesIO()
            shutil.copyfileobj(source, copy)
            copy.seek(0)
            return self._load_stream(copy)
        return self._load_stream(source)

    def _load_stream(self, stream: IO[bytes]) -> LoadResult:
        with self._connect() as conn, conn.begin():
            self._lock_loads(conn)
            return load_dataset_file(conn, stream)

    def _lock_loads(self, conn: Connection) -> None:
        if self.dialect == "postgresql":
            # One load at a time: the checks must still hold at the insert.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOAD_LOCK_KEY})")

    def dump(self) -> Dataset:
        """The whole database as one dataset, from a single consistent snapshot.

        Raises:
            EmptyDatabaseError: Nothing was loaded yet.
        """
        self.check_schema()
        with self._connect(read_only=True) as conn, conn.begin():
            return dump_dataset(conn)

    def checkpoint(self) -> CheckpointResult:
        """Copy SQLite's write-ahead log into the database file and truncate it.

        The units of work do this after every commit that removed personal
        data; call it again when :attr:`checkpoint_pending` says one could not
        complete (a connection was inside a read transaction). Tried briefly,
        never for long. On PostgreSQL there is nothing to do.

        Returns:
            Whether the log is now empty, and how many pages it held.
        """
        return checkpoint(self._engine)

    @property
    def checkpoint_pending(self) -> bool:
        """Whether removed personal data may still be in SQLite's write-ahead log.

        ``True`` from a commit that removed personal data until a checkpoint
        completes after it (as seen by this process). Always ``False`` on PostgreSQL.
        """
        return wal_status(self._engine).pending

    @property
    def last_checkpoint(self) -> CheckpointResult | None:
        """The outcome of this engine's latest checkpoint (``None``: none yet)."""
        return wal_status(self._engine).last

    def compact(self, *, snapshot_wait: float = SNAPSHOT_WAIT) -> CompactReport:
        """Rewrite the tables so that no old copy of removed personal data stays in them.

        SQLite: ``VACUUM`` then a checkpoint. PostgreSQL: ``VACUUM (FULL,
        ANALYZE)`` of each table an anonymization touches (members, their
        photos, documents, log entries, notes, measurements, exercises), one
        at a time; each holds an ``ACCESS EXCLUSIVE`` lock on its table while
        it is rewritten, so run it when the club is quiet (nightly, after the
        sweep). See ``docs/security.md``.

        Args:
            snapshot_wait: PostgreSQL: seconds to wait, in all, for transactions
                older than the removal to end (their snapshot keeps removed rows
                alive through a rewrite); what still held it back is counted in
                :attr:`CompactReport.held_back`.

        Raises:
            DatabaseBusyError: Another connection held the database or a table
                longer than the busy timeout or ``lock_timeout``.
        """
        return compact(self._engine, snapshot_wait=snapshot_wait)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()


def _conforms(
    store: SqlStore, uow: SqlUnitOfWork
) -> tuple[UnitOfWorkFactory, ReadOnlyUnitOfWorkFactory, UnitOfWork]:
    """Static proof (checked by mypy) that the adapter implements the ports."""
    return store.unit_of_work, store.unit_of_work, uow

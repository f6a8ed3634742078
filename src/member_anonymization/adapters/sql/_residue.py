"""Old copies of removed personal data in the database's files, and the adapter's remedies.

An anonymization overwrites and deletes rows, but a database keeps old versions
of pages for a while (``docs/security.md`` measures where and for how long):

* SQLite: ``secure_delete`` (set by every connection of the adapter) zeroes
  freed space, but the write-ahead log keeps the old pages until a checkpoint
  copies the log into the database file and truncates it. The unit of work
  checkpoints after every commit that removed personal data
  (:func:`checkpoint_after_erasure`); a reader in an open transaction can
  prevent it, which is logged and kept as a queryable status per engine
  (:class:`WalStatus`).
* PostgreSQL: updated and deleted row versions stay in the table files (plain
  ``VACUUM`` marks their space reusable without erasing it) until the table
  is rewritten: :func:`compact` runs ``VACUUM FULL`` on the tables that an
  anonymization touches.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final, final
from weakref import WeakKeyDictionary

import attrs
from sqlalchemy import Connection, Engine

from member_anonymization.adapters.sql import _schema as s
from member_anonymization.adapters.sql._engine import adapter_connection, busy_errors, is_busy

__all__ = [
    "CHECKPOINT_ATTEMPTS",
    "CHECKPOINT_WAIT",
    "COMPACTED_TABLES",
    "SNAPSHOT_WAIT",
    "CheckpointResult",
    "CompactReport",
    "WalStatus",
    "checkpoint",
    "checkpoint_after_erasure",
    "compact",
    "wal_status",
]

_log = logging.getLogger("member_anonymization.adapters.sql")

CHECKPOINT_ATTEMPTS: Final = 3
"""How many times a checkpoint is tried before it is reported as incomplete."""

CHECKPOINT_WAIT: Final = 0.05
"""Seconds each attempt waits for other connections to leave (SQLite's busy handler)."""

COMPACTED_TABLES: Final = (
    s.members,
    s.member_photos,
    s.documents,
    s.log_entries,
    s.notes,
    s.measurements,
    s.exercises,
)
"""The tables an anonymization overwrites or deletes rows of: what :func:`compact` rewrites."""


@final
@attrs.frozen(kw_only=True)
class CheckpointResult:
    """What a checkpoint of SQLite's write-ahead log achieved.

    Attributes:
        completed: Every page of the log is in the database file and the log is
            truncated to zero bytes. Also ``True`` when there is no log of the
            adapter's to empty (PostgreSQL, an in-memory or rollback-journal
            SQLite database).
        wal_frames: Pages in the log when the last attempt ended (``0`` once
            it is emptied; ``-1``: there is no log).
        checkpointed_frames: Of those, the pages already copied into the
            database file (the rest are newer than a reader's snapshot).
        attempts: How many times it was tried (``0``: nothing to do).
    """

    completed: bool
    wal_frames: int
    checkpointed_frames: int
    attempts: int


@final
@attrs.frozen(kw_only=True)
class CompactReport:
    """What :meth:`SqlStore.compact` did.

    Attributes:
        dialect: ``"sqlite"`` or ``"postgresql"``.
        tables: The tables rewritten (SQLite's ``VACUUM`` rewrites every table;
            on PostgreSQL :data:`COMPACTED_TABLES`, and ``pg_catalog.pg_statistic``
            when the role is a superuser).
        seconds: How long it took.
        bytes_before: The size of the reference tables before, with their
            indexes and TOAST (SQLite: the database file's pages).
        bytes_after: Their size after.
        checkpoint: SQLite: the checkpoint that followed ``VACUUM``; ``None`` on PostgreSQL.
        skipped: Tables that may hold old copies but that this role may not
            rewrite (PostgreSQL's ``pg_catalog.pg_statistic`` without superuser
            rights): ask the database administrator to ``VACUUM FULL`` them.
        held_back: PostgreSQL: how many other transactions (open, prepared, or
            held by a replication slot) were older than the removal when a table
            was rewritten, after waiting ``snapshot_wait`` seconds for them. Their
            snapshot may still see the removed rows, so ``VACUUM FULL`` copies
            those rows into the new file: run ``compact`` again once they have
            ended. ``0``: nothing held the rewrite back (always on SQLite).
    """

    dialect: str
    tables: tuple[str, ...]
    seconds: float
    bytes_before: int
    bytes_after: int
    checkpoint: CheckpointResult | None
    skipped: tuple[str, ...] = ()
    held_back: int = 0


_PG_STATISTIC: Final = "pg_catalog.pg_statistic"

SNAPSHOT_WAIT: Final = 30.0
"""Seconds :func:`compact` waits, on PostgreSQL, for older transactions to end."""

_SNAPSHOT_POLL: Final = 0.05

_OLDER_THAN_MARKER: Final = """
SELECT
  (SELECT count(*) FROM pg_stat_activity
    WHERE pid <> pg_backend_pid()
      AND (datname = current_database() OR datname IS NULL)
      AND ((backend_xmin IS NOT NULL AND age(backend_xmin) > age(%(marker)s::xid))
        OR (backend_xid IS NOT NULL AND age(backend_xid) > age(%(marker)s::xid))))
+ (SELECT count(*) FROM pg_prepared_xacts
    WHERE database = current_database() AND age(transaction) > age(%(marker)s::xid))
+ (SELECT count(*) FROM pg_replication_slots
    WHERE (database = current_database() OR database IS NULL)
      AND ((xmin IS NOT NULL AND age(xmin) > age(%(marker)s::xid))
        OR (catalog_xmin IS NOT NULL AND age(catalog_xmin) > age(%(marker)s::xid))))
"""
"""How many transactions, prepared transactions and replication slots may still
see rows that were removed before the transaction ``marker`` began."""

_NOTHING_TO_DO: Final = CheckpointResult(
    completed=True, wal_frames=-1, checkpointed_frames=-1, attempts=0
)


@final
class WalStatus:
    """One engine's state, in this process: may removed data still be in the log?

    Every commit that removed personal data counts as an erasure; a completed
    checkpoint that began after it clears it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._erasures = 0
        self._clean_upto = 0
        self.last: CheckpointResult | None = None

    @property
    def pending(self) -> bool:
        """Whether an erasure was committed and no checkpoint has completed since."""
        with self._lock:
            return self._clean_upto < self._erasures

    def erased(self) -> None:
        """A commit removed personal data."""
        with self._lock:
            self._erasures += 1

    def begin(self) -> int:
        """A checkpoint begins: what it can clear if it completes."""
        with self._lock:
            return self._erasures

    def finish(self, covers: int, result: CheckpointResult) -> None:
        """A checkpoint that began at ``covers`` ended with ``result``."""
        with self._lock:
            self.last = result
            if result.completed:
                self._clean_upto = max(self._clean_upto, covers)


_STATUSES: WeakKeyDictionary[Engine, WalStatus] = WeakKeyDictionary()
_STATUSES_LOCK: Final = threading.Lock()


def wal_status(engine: Engine) -> WalStatus:
    """The engine's :class:`WalStatus` (shared by its store and units of work)."""
    with _STATUSES_LOCK:
        status = _STATUSES.get(engine)
        if status is None:
            status = _STATUSES[engine] = WalStatus()
        return status


def _checkpoint_wal(driver_connection: Any, *, attempts: int, wait: float) -> CheckpointResult:
    """``PRAGMA wal_checkpoint(TRUNCATE)``, tried ``attempts`` times, each waiting ``wait``.

    The connection must not be in a transaction (its own read lock would block
    the checkpoint). Its busy timeout is lowered for the attempts, then restored.
    """
    cursor = driver_connection.cursor()
    try:
        (previous,) = cursor.execute("PRAGMA busy_timeout").fetchone()
        cursor.execute(f"PRAGMA busy_timeout = {max(1, round(wait * 1000))}")
        try:
            busy, frames, copied = 1, -1, -1
            for attempt in range(1, attempts + 1):
                try:
                    busy, frames, copied = cursor.execute(
                        "PRAGMA wal_checkpoint(TRUNCATE)"
                    ).fetchone()
                except Exception as exc:
                    if not is_busy(exc):
                        raise
                    busy = 1
                if not busy:
                    return CheckpointResult(
                        completed=True,
                        wal_frames=frames,
                        checkpointed_frames=copied,
                        attempts=attempt,
                    )
                if attempt < attempts:
                    time.sleep(wait / 2)
            return CheckpointResult(
                completed=False, wal_frames=frames, checkpointed_frames=copied, attempts=attempts
            )
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
    finally:
        cursor.close()


def _driver(connection: Connection) -> Any:
    """The driver's own connection behind a SQLAlchemy one (outside SQLAlchemy's transactions)."""
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - only after the connection was invalidated
        raise RuntimeError("the connection is closed")
    return driver


def _run_checkpoint(
    engine: Engine, connection: Connection, *, attempts: int, wait: float
) -> CheckpointResult:
    """Checkpoint, record the outcome in the engine's status, and warn when incomplete."""
    status = wal_status(engine)
    covers = status.begin()
    try:
        result = _checkpoint_wal(_driver(connection), attempts=attempts, wait=wait)
    except Exception as exc:
        result = CheckpointResult(
            completed=False, wal_frames=-1, checkpointed_frames=-1, attempts=1
        )
        reason = f"it failed ({type(exc).__name__})"
    else:
        reason = (
            f"another connection is reading or writing ({max(result.checkpointed_frames, 0)} "
            f"of {max(result.wal_frames, 0)} pages copied)"
        )
    status.finish(covers, result)
    if not result.completed:
        _log.warning(
            "removed personal data may remain in the SQLite write-ahead log: the checkpoint "
            "could not complete because %s; SqlStore.checkpoint() or SqlStore.compact() "
            "retries it",
            reason,
        )
    return result


def checkpoint_after_erasure(engine: Engine, connection: Connection) -> CheckpointResult | None:
    """After a commit that removed personal data: empty SQLite's write-ahead log.

    Never raises: the commit stands whatever happens here. An incomplete
    checkpoint is logged (without personal data) and left pending in
    :func:`wal_status`. Returns ``None`` on PostgreSQL (nothing to do).
    """
    if engine.dialect.name != "sqlite":
        return None
    wal_status(engine).erased()
    return _run_checkpoint(engine, connection, attempts=CHECKPOINT_ATTEMPTS, wait=CHECKPOINT_WAIT)


def checkpoint(
    engine: Engine, *, attempts: int = CHECKPOINT_ATTEMPTS, wait: float = CHECKPOINT_WAIT
) -> CheckpointResult:
    """Empty SQLite's write-ahead log now (on PostgreSQL: nothing to do)."""
    if engine.dialect.name != "sqlite":
        return _NOTHING_TO_DO
    with adapter_connection(engine) as connection:
        return _run_checkpoint(engine, connection, attempts=attempts, wait=wait)


def compact(engine: Engine, *, snapshot_wait: float = SNAPSHOT_WAIT) -> CompactReport:
    """Rewrite the tables so that no old copy of a removed value stays in their files.

    SQLite: ``VACUUM`` (the whole file), then a write-ahead log checkpoint.
    PostgreSQL: ``VACUUM (FULL, ANALYZE)`` of each of :data:`COMPACTED_TABLES`,
    one at a time; each holds an ``ACCESS EXCLUSIVE`` lock on its table (no
    reads, no writes) while it is rewritten, and waits at most ``lock_timeout``
    for it. Then, for a superuser, ``VACUUM FULL pg_catalog.pg_statistic``
    (the planner's statistics, which sample column values): it locks the
    statistics of the whole database, so planning any query waits meanwhile.

    ``VACUUM FULL`` keeps every row version that an open transaction may still
    see, so on PostgreSQL each rewrite first waits, at most ``snapshot_wait``
    seconds, until every transaction older than the removal has ended; what
    still held it back is counted in :attr:`CompactReport.held_back`.

    Raises:
        DatabaseBusyError: Another connection held the database or a table too long.
    """
    started = time.perf_counter()
    if engine.dialect.name == "sqlite":
        return _compact_sqlite(engine, started)
    return _compact_postgresql(engine, started, snapshot_wait=snapshot_wait)


def _report(
    dialect: str, tables: tuple[str, ...], started: float, sizes: tuple[int, int], **rest: Any
) -> CompactReport:
    """The report of a compaction that began at ``started`` (``time.perf_counter``)."""
    rest.setdefault("checkpoint", None)
    return CompactReport(
        dialect=dialect,
        tables=tables,
        seconds=time.perf_counter() - started,
        bytes_before=sizes[0],
        bytes_after=sizes[1],
        **rest,
    )


def _sqlite_size(driver_connection: Any) -> int:
    (pages,) = driver_connection.execute("PRAGMA page_count").fetchone()
    (size,) = driver_connection.execute("PRAGMA page_size").fetchone()
    return int(pages) * int(size)


def _compact_sqlite(engine: Engine, started: float) -> CompactReport:
    with adapter_connection(engine) as connection:
        raw = _driver(connection)
        with busy_errors():
            tables = tuple(
                name
                for (name,) in raw.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
                )
            )
            before = _sqlite_size(raw)
            raw.execute("VACUUM")
            after = _sqlite_size(raw)
        result = _run_checkpoint(
            engine, connection, attempts=CHECKPOINT_ATTEMPTS, wait=CHECKPOINT_WAIT
        )
    return _report("sqlite", tables, started, (before, after), checkpoint=result)


def _older_transactions(connection: Connection, *, wait: float) -> int:
    """Wait until no transaction older than now may see removed rows; how many still do.

    The marker is a new transaction id: every row removed before it began is
    invisible to each snapshot taken after it, so only older ones matter.
    """
    marker = connection.exec_driver_sql("SELECT pg_current_xact_id()::xid::text").scalar_one()
    deadline = time.monotonic() + wait
    while True:
        older = int(connection.exec_driver_sql(_OLDER_THAN_MARKER, {"marker": marker}).scalar_one())
        if older == 0 or time.monotonic() >= deadline:
            if older:
                _log.warning(
                    "compaction held back by %d older transaction(s); run it again later", older
                )
            return older
        time.sleep(_SNAPSHOT_POLL)


def _compact_postgresql(engine: Engine, started: float, *, snapshot_wait: float) -> CompactReport:
    with adapter_connection(engine) as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + snapshot_wait

        def older() -> int:
            return _older_transactions(connection, wait=max(0.0, deadline - time.monotonic()))

        preparer = connection.dialect.identifier_preparer
        names = [preparer.format_table(table) for table in COMPACTED_TABLES]

        def size() -> int:
            total = 0
            for name in names:
                total += connection.exec_driver_sql(
                    "SELECT pg_total_relation_size(%(t)s::regclass)", {"t": name}
                ).scalar_one()
            return total

        before = size()
        held_back = older()
        for name in names:
            # ANALYZE too: the planner's statistics (pg_statistic) sample column
            # values, names and e-mail addresses among them; replace them.
            connection.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {name}")
        after = size()
        tables = tuple(table.name for table in COMPACTED_TABLES)
        skipped: tuple[str, ...] = ()
        superuser = connection.exec_driver_sql("SELECT current_setting('is_superuser')")
        if superuser.scalar_one() == "on":
            # The replaced statistics stay in pg_statistic's file as dead rows,
            # removed by the ANALYZE above: wait for the snapshots older than it.
            held_back = max(held_back, older())
            connection.exec_driver_sql(f"VACUUM FULL {_PG_STATISTIC}")
            tables = (*tables, _PG_STATISTIC)
        else:
            skipped = (_PG_STATISTIC,)
    return _report(
        "postgresql", tables, started, (before, after), skipped=skipped, held_back=held_back
    )

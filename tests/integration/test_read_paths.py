"""Paths that only read: no write lock, one snapshot, each kind read once.

``check``, the export's reading, dry runs, counting due members and the
request register read in read-only units of work (``DEFERRED`` on SQLite,
``REPEATABLE READ READ ONLY`` on PostgreSQL), so writers go on meanwhile; the
export then writes its audit entry in a short unit of its own. A ZIP export
reads every kind once, so its JSON and its CSV files cannot disagree.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import attrs
import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from member_anonymization import (
    Anonymized,
    Anonymizer,
    RequestDesk,
    RetentionSweep,
)
from member_anonymization.adapters.sql import DatabaseBusyError, SqlStore
from member_anonymization.adapters.sql._rows import visit_row
from member_anonymization.adapters.sql._schema import visits
from member_anonymization.domain import (
    AuditAction,
    AuditEntry,
    ErasureRequest,
    Permission,
    RequestChannel,
)
from member_anonymization.export import Exported, Exporter, ExportFormat, read_export
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock
from tests import builders as b
from tests.backends import MakeSqlStore, MakeStore, SqlTestStore
from tests.integration.sql_support import members_with_profiles

CLOCK: Final = FixedClock(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))
WAIT: Final = 30.0
"""Seconds a test waits for another thread before it declares it stuck."""
IMPATIENT: Final = 2.0
"""The busy timeout (SQLite) and lock timeout (PostgreSQL) of the writers that must not wait."""

REPOSITORIES: Final = frozenset(
    {
        "members",
        "facts",
        "records",
        "reminders",
        "audit",
        "clubs",
        "employees",
        "accounting",
        "profile",
        "retention",
        "requests",
        "outbox",
    }
)


# --------------------------------------------------------------------------- a slow reader


class Pause:
    """Stops the first call of ``repository.method`` until :attr:`release` is set."""

    def __init__(self, repository: str, method: str) -> None:
        self.repository = repository
        self.method = method
        self.reached = threading.Event()
        self.release = threading.Event()
        self._used = False

    def hold(self) -> None:
        if self._used:
            return
        self._used = True
        self.reached.set()
        if not self.release.wait(WAIT):
            raise TimeoutError(f"{self.repository}.{self.method} was never released")


class _PausingRepository:
    def __init__(self, inner: Any, pauses: list[Pause]) -> None:
        self._inner = inner
        self._pauses = pauses

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        pauses = [p for p in self._pauses if p.method == name]
        if not pauses:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            for pause in pauses:
                pause.hold()
            return target(*args, **kwargs)

        return call


class _PausingUnit:
    def __init__(self, inner: Any, pauses: tuple[Pause, ...]) -> None:
        self._inner = inner
        self._pauses = pauses

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name in REPOSITORIES:
            return _PausingRepository(value, [p for p in self._pauses if p.repository == name])
        return value

    def __enter__(self) -> _PausingUnit:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()


class PausingFactory:
    """A factory (plain and read-only) whose units stop at the given calls."""

    def __init__(self, factory: Any, *pauses: Pause) -> None:
        self._factory = factory
        self._pauses = pauses

    def __call__(self) -> _PausingUnit:
        return _PausingUnit(self._factory(), self._pauses)

    def read_only(self) -> _PausingUnit:
        return _PausingUnit(self._factory.read_only(), self._pauses)


def impatient(store: SqlTestStore) -> SqlStore:
    """A second store on the same database that waits at most :data:`IMPATIENT` for a lock."""
    return SqlStore.open(store.sql.engine.url, busy_timeout=IMPATIENT, lock_timeout=IMPATIENT)


def export_of(out: io.BytesIO) -> Any:
    return read_export(out.getvalue())


# --------------------------------------------------------------------------- the export


def test_writers_go_on_while_an_export_reads(make_sql_store: MakeSqlStore) -> None:
    """While the export reads, other members and the exported member are anonymized at once.

    The export shows the snapshot taken when it started, and its audit entry is
    written after the file.
    """
    store = make_sql_store(members_with_profiles(2))
    pause = Pause("profile", "visits_of")
    exporter = Exporter(PausingFactory(store.sql.unit_of_work, pause), clock=CLOCK)
    out = io.BytesIO()
    writer = impatient(store)
    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(exporter.export, "m1", out, actor="e1")
            try:
                assert pause.reached.wait(WAIT)
                started = time.monotonic()
                for member_id in ("m2", "m1"):
                    done = Anonymizer(writer.unit_of_work, clock=CLOCK).anonymize(
                        member_id, actor="e1", as_of=b.TODAY
                    )
                    assert isinstance(done, Anonymized), member_id
                assert time.monotonic() - started < IMPATIENT
                assert not running.done()
            finally:
                pause.release.set()
            result = running.result(WAIT)
    finally:
        writer.dispose()
    assert isinstance(result, Exported)
    exported = export_of(out)
    assert exported.member.personal.first_name == b.FIRST_NAME
    assert [d.id for d in exported.documents] == ["d-m1"]
    after = store.sql.dump()
    assert all(m.is_anonymized for m in after.members)
    (entry,) = [e for e in after.audit if e.action is AuditAction.EXPORT]
    assert (entry.id, entry.member_id, entry.actor_id) == (result.audit_entry_id, "m1", "e1")


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_a_zip_export_reads_every_kind_once(make_store: MakeStore, fmt: ExportFormat) -> None:
    """Each reader of the profile, the accounting and the facts is called once."""
    store = make_store(members_with_profiles(2))
    start = len(store.calls)
    result = Exporter(store.unit_of_work, clock=CLOCK).export(
        "m1", io.BytesIO(), actor="e1", format=fmt
    )
    assert isinstance(result, Exported)
    calls = store.calls[start:]
    readers = [
        "facts.load_facts",
        "accounting.invoices_of",
        "accounting.receipts_of",
        *(
            f"profile.{kind}_of"
            for kind in (
                "visits",
                "class_bookings",
                "measurements",
                "exercises",
                "notes",
                "log_entries",
                "documents",
            )
        ),
    ]
    assert {name: calls.count(name) for name in readers} == dict.fromkeys(readers, 1)
    assert "members.lock" not in calls
    assert calls[-2:] == ["audit.add", "uow.commit"]


def _visit_ids(archive_bytes: bytes) -> tuple[list[str], list[str]]:
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        in_json = [v.id for v in read_export(archive_bytes).visits]
        text = archive.read("visits.csv").decode("utf-8-sig")
    in_csv = [row["id"] for row in csv.DictReader(io.StringIO(text))]
    return in_json, in_csv


def _add_visits(store: SqlStore, *ids: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(visits), [visit_row(b.visit(i, member_id="m1")) for i in ids])


def test_a_zip_export_is_one_snapshot_while_visits_are_added(
    make_sql_store: MakeSqlStore,
) -> None:
    """Visits committed before and during the JSON's visits are in neither the JSON nor the CSV."""
    store = make_sql_store(members_with_profiles(1))
    before = [v.id for v in store.sql.dump().visits]
    early = Pause("accounting", "receipts_of")
    late = Pause("profile", "class_bookings_of")
    exporter = Exporter(PausingFactory(store.sql.unit_of_work, early, late), clock=CLOCK)
    out = io.BytesIO()
    writer = impatient(store)
    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(exporter.export, "m1", out, actor="e1", format=ExportFormat.ZIP)
            try:
                assert early.reached.wait(WAIT)
                _add_visits(writer, "v-early-1", "v-early-2")
                early.release.set()
                assert late.reached.wait(WAIT)
                _add_visits(writer, "v-late")
            finally:
                early.release.set()
                late.release.set()
            assert isinstance(running.result(WAIT), Exported)
    finally:
        writer.dispose()
    in_json, in_csv = _visit_ids(out.getvalue())
    assert in_json == in_csv == before
    assert len(store.sql.dump().visits) == len(before) + 3


# --------------------------------------------------------------------------- no write lock


def _register_dataset() -> Dataset:
    """m1 with a profile, due for retention, and an open erasure request."""
    received = CLOCK.now() - dt.timedelta(days=2)
    request = ErasureRequest.receive(
        id="rq1",
        member_id="m1",
        club_id="c1",
        received_at=received,
        received_on=received.date(),
        channel=RequestChannel.DESK,
        registered_by="e1",
    )
    data = b.dataset(
        b.club(retention_months=24),
        b.employee(permissions=list(Permission)),
        b.member(),
        *b.profile_records("m1"),
    )
    return attrs.evolve(data, erasure_requests=(request,))


def _export(factory: Any) -> Any:
    return Exporter(factory, clock=CLOCK).export("m1", io.BytesIO(), actor="e1")


READERS: Final[dict[str, Callable[[Any], Any]]] = {
    "check": lambda factory: Anonymizer(factory, clock=CLOCK).check("m1"),
    "request show": lambda factory: RequestDesk(factory, clock=CLOCK).show("rq1"),
    "request register": lambda factory: RequestDesk(factory, clock=CLOCK).register(),
    "count due": lambda factory: RetentionSweep(factory, clock=CLOCK).count_due(),
    "sweep dry run": lambda factory: RetentionSweep(factory, clock=CLOCK).run(dry_run=True),
}
"""Everything that only reads, each run through a unit-of-work factory."""


@pytest.mark.parametrize("reader", list(READERS))
def test_sqlite_reading_takes_no_write_lock(make_sqlite_store: MakeSqlStore, reader: str) -> None:
    """Another connection holding ``BEGIN IMMEDIATE`` does not hold up a path that only reads."""
    store = make_sqlite_store(_register_dataset())
    expected = READERS[reader](store.sql.unit_of_work)
    path = store.sql.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    reading = SqlStore.open(path, busy_timeout=0.2)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        assert READERS[reader](reading.unit_of_work) == expected
        assert time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()
        reading.dispose()


def test_sqlite_an_export_waits_only_for_its_audit_entry(make_sqlite_store: MakeSqlStore) -> None:
    """Under another connection's write lock the export reads, then waits for its audit alone.

    Busy: the file is removed again and nothing is audited.
    """
    store = make_sqlite_store(_register_dataset())
    path = store.sql.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    reading = SqlStore.open(path, busy_timeout=0.2)
    target = Path(path).with_suffix(".export.json")
    calls: list[str] = []
    factory = _Recording(reading.unit_of_work, calls)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusyError):
            Exporter(factory, clock=CLOCK).export("m1", target, actor="e1")
    finally:
        holder.rollback()
        holder.close()
        reading.dispose()
    assert calls == ["read_only", "plain"]
    assert not target.exists()
    assert store.sql.dump().audit == ()


class _Recording:
    """A factory that records which kind of unit each operation opened."""

    def __init__(self, factory: Any, calls: list[str]) -> None:
        self._factory = factory
        self._calls = calls

    def __call__(self) -> Any:
        self._calls.append("plain")
        return self._factory()

    def read_only(self) -> Any:
        self._calls.append("read_only")
        return self._factory.read_only()


@pytest.mark.parametrize("reader", list(READERS))
def test_reading_paths_use_the_read_only_variant(make_store: MakeStore, reader: str) -> None:
    """Every path that only reads opens read-only units, and nothing else."""
    store = make_store(_register_dataset())
    calls: list[str] = []
    READERS[reader](_Recording(store.unit_of_work, calls))
    assert calls
    assert set(calls) == {"read_only"}


def test_a_factory_without_a_read_only_variant_still_works(make_store: MakeStore) -> None:
    """A host's plain factory (no ``read_only``) gets plain units for every path."""
    store = make_store(_register_dataset())
    plain = store.unit_of_work.__call__
    for reader in READERS.values():
        reader(plain)
    assert isinstance(_export(plain), Exported)


def test_a_check_does_not_wait_for_a_unit_that_writes(make_store: MakeStore) -> None:
    """While another thread holds a unit of work open, a check answers (memory, SQLite)."""
    store = make_store(_register_dataset())
    entered = threading.Event()
    leave = threading.Event()

    def hold() -> None:
        with store.unit_of_work():
            entered.set()
            leave.wait(WAIT)

    with ThreadPoolExecutor(2) as pool:
        holding = pool.submit(hold)
        try:
            assert entered.wait(WAIT)
            checking = pool.submit(Anonymizer(store.unit_of_work, clock=CLOCK).check, "m1")
            assert checking.result(timeout=10).member_id == "m1"
        finally:
            leave.set()
        holding.result(WAIT)


# --------------------------------------------------------------------------- read-only units


def test_a_read_only_unit_refuses_writes(make_sql_store: MakeSqlStore) -> None:
    """A write in a read-only unit fails; the pooled connection then writes again."""
    store = make_sql_store(members_with_profiles(1))
    entry = AuditEntry(
        id="a-ro",
        member_id="m1",
        actor_id="e1",
        at=CLOCK.now(),
        mode=None,
        removed=None,
        action=AuditAction.EXPORT,
    )
    with store.sql.unit_of_work.read_only() as uow:
        assert uow.read_only
        with pytest.raises(DBAPIError):
            uow.audit.add([entry])
    idle = store.sql.engine.pool.checkedin()
    assert idle >= 1
    with contextlib.ExitStack() as stack:  # every pooled connection, at once
        for _ in range(idle):
            conn = stack.enter_context(store.sql.engine.connect())
            assert _settings(conn) == ("writable", "read committed")
    for n in range(3):
        with store.sql.unit_of_work() as uow:
            assert not uow.read_only
            uow.audit.add([attrs.evolve(entry, id=f"a-{n}")])
            uow.commit()
    assert len(store.sql.dump().audit) == 3


def _settings(conn: Any) -> tuple[str, str]:
    """Whether the connection refuses writes, and its isolation level (SQLite: none)."""
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        (query_only,) = driver.execute("PRAGMA query_only").fetchone()
        return ("read-only" if query_only else "writable", "read committed")
    read_only = conn.exec_driver_sql("SHOW transaction_read_only").scalar_one()
    isolation = conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
    conn.rollback()
    return ("read-only" if read_only == "on" else "writable", isolation)


@pytest.mark.postgres
def test_postgres_new_paths_wait_at_most_lock_timeout(make_pg_store: MakeSqlStore) -> None:
    """A table another session holds exclusively: the check and the export's audit give up."""
    store = make_pg_store(members_with_profiles(1))
    short = SqlStore.open(store.sql.engine.url, lock_timeout=0.3)
    try:
        for table, run in (
            ("members", lambda: Anonymizer(short.unit_of_work, clock=CLOCK).check("m1")),
            ("audit_entries", lambda: _export(short.unit_of_work)),
        ):
            with store.sql.engine.connect() as holder:
                holder.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                started = time.monotonic()
                with pytest.raises(DatabaseBusyError):
                    run()
                assert time.monotonic() - started < 10, table
                holder.rollback()
    finally:
        short.dispose()
    assert store.sql.dump().audit == ()

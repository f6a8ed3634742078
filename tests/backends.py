"""The stores that the behavioural tests run against.

Every behavioural test and invariant takes the ``make_store`` fixture and runs
once per backend: in memory, SQLite and PostgreSQL. A backend turns a
:class:`~member_anonymization.serialization.Dataset` into a fresh :class:`Store`.

* ``sqlite``: SQLite files in a temporary folder of the session.
* ``postgres``: the server on 127.0.0.1:5432, database ``test`` (or the URL in
  ``MEMBER_ANONYMIZATION_TEST_POSTGRES``), in schemas that the session creates
  and drops at its end. Under ``CI`` the server must answer, or every
  PostgreSQL test fails loudly; elsewhere those tests are skipped with the
  reason. They carry the ``postgres`` marker.

Each SQL store is a database holding the schema and exactly the given dataset.
The databases are reused from test to test (emptied first: opening a new one
costs more than filling one), so a test may hold up to :data:`LIVE_STORES`
stores at once; a further store empties and refills the oldest of them.
Tests that add event listeners to a store's engine must remove them.

Under pytest-xdist every worker is a session of its own: its temporary folders
are its own, and its schemas are named after the worker and its process
(``ma_test_gw1_<pid>_<random>_<n>``), so workers never share a database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import pytest

from member_anonymization.serialization import Dataset
from member_anonymization.testing import FaultInjector, InMemoryStore

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from member_anonymization.adapters.sql import SqlStore


class Store(Protocol):
    """What a test needs from a backend holding one dataset."""

    calls: list[str]

    def unit_of_work(self) -> Any:
        """A fresh unit of work (possibly wrapped for fault injection)."""
        ...

    def snapshot(self) -> Dataset:
        """The committed content, in canonical order."""
        ...

    def fail_on_call(self, n: int) -> None:
        """Make the n-th repository call from now on raise."""
        ...

    def heal(self) -> None:
        """Stop injecting failures."""
        ...


MakeStore = Callable[[Dataset], Store]

BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Iterator[MakeStore]]] = {}
BACKEND_MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {}

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIVE_STORES = 4


def _memory(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    del request
    yield InMemoryStore


BACKENDS["memory"] = _memory


class SqlTestStore:
    """A :class:`SqlStore` holding one dataset, seen through a :class:`FaultInjector`.

    Attributes:
        sql: The store itself (for the adapter's own tests).
        calls: Every repository call made through :meth:`unit_of_work`.
    """

    def __init__(self, sql: SqlStore, *, alive: Callable[[], bool] = lambda: True) -> None:
        self.sql = sql
        self._alive = alive
        self._injector = FaultInjector(_CheckedFactory(self))
        self.calls: list[str] = self._injector.calls

    def _check(self) -> None:
        if not self._alive():
            raise RuntimeError(
                f"this store's database was emptied for a newer store: a test may hold "
                f"at most {LIVE_STORES} SQL stores at once"
            )

    @property
    def unit_of_work(self) -> FaultInjector:
        """The factory of fresh units of work (plain or read-only), wrapped for fault injection."""
        return self._injector

    def snapshot(self) -> Dataset:
        """The committed content, in canonical order."""
        self._check()
        return self.sql.dump()

    def fail_on_call(self, n: int) -> None:
        """Make the n-th repository call from now on raise."""
        self._injector.fail_on_call(n)

    def heal(self) -> None:
        """Stop injecting failures."""
        self._injector.heal()


class _CheckedFactory:
    """The store's factory of units of work, plain and read-only, refusing a reused database."""

    def __init__(self, store: SqlTestStore) -> None:
        self._store = store

    def __call__(self) -> Any:
        self._store._check()
        return self._store.sql.unit_of_work()

    def read_only(self) -> Any:
        self._store._check()
        return self._store.sql.unit_of_work.read_only()


MakeSqlStore = Callable[[Dataset | None], SqlTestStore]
"""Makes a SQL store holding the dataset (``None``: an empty schema)."""


# --------------------------------------------------------------------------- SQL slots


class _Slot:
    """A database (a SQLite file, or a PostgreSQL schema) with a store opened on it."""

    def __init__(self, sql: SqlStore) -> None:
        self.sql = sql
        self.dirty = False
        self.generation = 0

    def reset(self) -> None:
        """Delete every row (except the schema version)."""
        from member_anonymization.adapters.sql import metadata

        if not self.dirty:
            return
        tables = [t for t in reversed(metadata.sorted_tables) if t.name != "schema_version"]
        with self.sql.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # One round trip instead of one per table.
                conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in tables))
            else:
                for table in tables:
                    conn.execute(table.delete())
        self.dirty = False
        self.generation += 1


class SlotPool:
    """The session's SQL databases, reused from test to test.

    Opening a store costs more than filling one (every statement is compiled
    anew for a new engine), so each backend keeps a few databases with the
    schema for the whole session and empties one whenever a test needs a store.
    """

    def __init__(self, open_blank: Callable[[], SqlStore]) -> None:
        self.open_blank = open_blank
        self._slots: list[_Slot] = []
        self._free: list[_Slot] = []

    def take(self) -> _Slot:
        """An empty slot holding the schema."""
        if self._free:
            slot = self._free.pop()
        else:
            sql = self.open_blank()
            sql.create_schema()
            slot = _Slot(sql)
            self._slots.append(slot)
        slot.reset()
        return slot

    def give_back(self, slot: _Slot) -> None:
        """Make the slot available to later tests."""
        self._free.append(slot)

    def close(self) -> None:
        """Dispose every store."""
        for slot in self._slots:
            slot.sql.dispose()


def _maker(pool: SlotPool) -> Iterator[MakeSqlStore]:
    held: list[_Slot] = []

    def make(dataset: Dataset | None) -> SqlTestStore:
        if len(held) < LIVE_STORES:
            slot = pool.take()
        else:
            slot = held.pop(0)
            slot.reset()
        held.append(slot)
        slot.dirty = True
        if dataset is not None:
            slot.sql.load(dataset)
        generation = slot.generation
        return SqlTestStore(slot.sql, alive=lambda: slot.generation == generation)

    try:
        yield make
    finally:
        for slot in held:
            pool.give_back(slot)


# --------------------------------------------------------------------------- SQLite


class SqliteFiles:
    """Blank SQLite files of this session (each a new file in a temporary folder)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._count = 0

    def open_blank(self, **options: Any) -> SqlStore:
        """A store on a new, empty SQLite file (no schema yet)."""
        from member_anonymization.adapters.sql import SqlStore

        self._count += 1
        return SqlStore.open(self.folder / f"db-{self._count}.sqlite", **options)


@pytest.fixture(scope="session")
def sqlite_files(tmp_path_factory: pytest.TempPathFactory) -> SqliteFiles:
    """Makes blank SQLite databases."""
    pytest.importorskip("sqlalchemy")
    return SqliteFiles(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def sqlite_pool(sqlite_files: SqliteFiles) -> Iterator[SlotPool]:
    """The session's SQLite databases for ``make_store``."""
    pool = SlotPool(sqlite_files.open_blank)
    try:
        yield pool
    finally:
        pool.close()


def _sqlite_sql(request: pytest.FixtureRequest) -> Iterator[MakeSqlStore]:
    yield from _maker(request.getfixturevalue("sqlite_pool"))


# --------------------------------------------------------------------------- PostgreSQL


def worker_id() -> str:
    """The name of this test process: ``gw0``, ``gw1``, ... under pytest-xdist, else ``main``."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class PgServer:
    """The session's PostgreSQL schemas, each dropped at the end of the session."""

    def __init__(self, url: str, admin: Engine) -> None:
        self.url = url
        self._admin = admin
        self._prefix = f"ma_test_{worker_id()}_{os.getpid()}_{secrets.token_hex(3)}"
        self._schemas: list[str] = []
        self._stores: list[SqlStore] = []

    def open_blank(self, **options: Any) -> SqlStore:
        """A store on a brand-new, empty schema of this session (no tables)."""
        from sqlalchemy.engine import make_url

        from member_anonymization.adapters.sql import SqlStore

        schema = f"{self._prefix}_{len(self._schemas)}"
        with self._admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        self._schemas.append(schema)
        url = make_url(self.url).update_query_dict(
            # Commits need not wait for the log to reach the disk: these tests never
            # crash the server, and every commit still happens in order.
            {"options": f"-csearch_path={schema} -csynchronous_commit=off"}
        )
        store = SqlStore.open(url, **options)
        self._stores.append(store)
        return store

    def close(self) -> None:
        """Dispose every store and drop every schema of the session."""
        for store in self._stores:
            store.dispose()
        # One transaction per schema: dropping them all at once can exceed the
        # server's lock table (max_locks_per_transaction).
        for schema in self._schemas:
            with self._admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    """The PostgreSQL server; fails under CI and skips elsewhere when none answers."""
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    from sqlalchemy.exc import OperationalError

    from member_anonymization.adapters.sql import create_sql_engine

    url = os.environ.get("MEMBER_ANONYMIZATION_TEST_POSTGRES", PG_DEFAULT_URL)
    admin = create_sql_engine(url, connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError:
        admin.dispose()
        where = admin.url.render_as_string(hide_password=True)
        if _ci():
            pytest.fail(f"CI needs the PostgreSQL server, but none answers at {where}")
        pytest.skip(f"no PostgreSQL server answers at {where} (it is required under CI)")
    server = PgServer(url, admin)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_pool(postgres_server: PgServer) -> SlotPool:
    """The session's PostgreSQL schemas for ``make_store``."""
    return SlotPool(postgres_server.open_blank)


def _postgres_sql(request: pytest.FixtureRequest) -> Iterator[MakeSqlStore]:
    yield from _maker(request.getfixturevalue("postgres_pool"))


SQL_BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Iterator[MakeSqlStore]]] = {
    "sqlite": _sqlite_sql,
    "postgres": _postgres_sql,
}
BACKEND_MARKS["postgres"] = (pytest.mark.postgres,)


def _as_make_store(
    sql_backend: Callable[[pytest.FixtureRequest], Iterator[MakeSqlStore]],
) -> Callable[[pytest.FixtureRequest], Iterator[MakeStore]]:
    def backend(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
        pytest.importorskip("sqlalchemy")
        yield from sql_backend(request)

    return backend


for _name, _backend in SQL_BACKENDS.items():
    BACKENDS[_name] = _as_make_store(_backend)


LOCAL_BACKENDS: Final = ["memory", "sqlite"]
"""The backends of ``make_store`` that need no server (for ``parametrize(..., indirect=True)``)."""

FAULT_EXAMPLES_ON_POSTGRES: Final = 10
"""Examples of a property that fails each repository call in turn, on PostgreSQL.

Each example is dozens of runs there (one per call of the operation), so a
third of the profile's examples keeps such a test's time in line with the
others; memory and SQLite run the profile's count, and the ``thorough``
profile runs 1,000 everywhere (``tests/conftest.py``).
"""


def _params(names: list[str]) -> list[Any]:
    return [pytest.param(name, marks=BACKEND_MARKS.get(name, ())) for name in names]


@pytest.fixture(params=_params(sorted(BACKENDS, key=lambda n: n != "memory")))
def make_store(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """A factory of fresh stores on each backend (memory first)."""
    yield from BACKENDS[request.param](request)


@pytest.fixture(params=_params(list(SQL_BACKENDS)))
def make_sql_store(request: pytest.FixtureRequest) -> Iterator[MakeSqlStore]:
    """A factory of fresh SQL stores (``None``: an empty schema), on SQLite and PostgreSQL."""
    pytest.importorskip("sqlalchemy")
    yield from SQL_BACKENDS[request.param](request)

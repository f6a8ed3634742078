"""Fixtures of the SQL adapter's own tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.backends import BACKEND_MARKS

if TYPE_CHECKING:
    from member_anonymization.adapters.sql import SqlStore

OpenBlank = Callable[..., "SqlStore"]
"""Opens a store on a new, empty database (no schema); keyword options go to ``open``."""


@pytest.fixture(
    params=[pytest.param(n, marks=BACKEND_MARKS.get(n, ())) for n in ("sqlite", "postgres")]
)
def open_blank(request: pytest.FixtureRequest) -> Iterator[OpenBlank]:
    """Opens stores on new, empty databases of the backend; disposes them afterwards."""
    pytest.importorskip("sqlalchemy")
    source = request.getfixturevalue(
        "sqlite_files" if request.param == "sqlite" else "postgres_server"
    )
    opened: list[SqlStore] = []

    def open_blank(**options: Any) -> SqlStore:
        store: SqlStore = source.open_blank(**options)
        opened.append(store)
        return store

    try:
        yield open_blank
    finally:
        for store in opened:
            store.dispose()


@pytest.fixture
def make_sqlite_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory of SQLite stores only (for SQLite's own locking behaviour)."""
    pytest.importorskip("sqlalchemy")
    from tests.backends import SQL_BACKENDS

    yield from SQL_BACKENDS["sqlite"](request)


@pytest.fixture
def make_pg_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory of PostgreSQL stores only; mark its tests with ``postgres``."""
    pytest.importorskip("sqlalchemy")
    from tests.backends import SQL_BACKENDS

    yield from SQL_BACKENDS["postgres"](request)

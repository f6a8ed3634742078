"""The library's adapter contract, run against the reference SQL adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from member_anonymization.adapters.sql import SqlStore
from member_anonymization.contract import AdapterContract, AdapterHarness
from member_anonymization.ports import UnitOfWork
from member_anonymization.serialization import Dataset
from tests.backends import PgServer


class SqlHarness:
    """Builds the contract's data in a fresh reference schema."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """Create the schema, load the dataset, hand out the store's factory."""
        self._store.create_schema()
        self._store.load(dataset)
        return self._store.unit_of_work

    def snapshot(self) -> Dataset:
        """The whole database, read back as a dataset."""
        return self._store.dump().sorted()


class TestSqliteAdapter(AdapterContract):
    """Every guarantee of the contract holds for the SQL adapter on SQLite."""

    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[AdapterHarness]:
        """A harness over a new SQLite file."""
        with SqlStore.open(tmp_path / "contract.sqlite") as store:
            yield SqlHarness(store)


@pytest.mark.postgres
class TestPostgresAdapter(AdapterContract):
    """Every guarantee of the contract holds for the SQL adapter on PostgreSQL."""

    @pytest.fixture
    def harness(self, postgres_server: PgServer) -> Iterator[AdapterHarness]:
        """A harness over a new, empty PostgreSQL schema (its connections closed after)."""
        store = postgres_server.open_blank()
        try:
            yield SqlHarness(store)
        finally:
            store.dispose()

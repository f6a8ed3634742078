"""The reference schema: creation, its version, and opening databases by URL or path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import inspect, update

from member_anonymization import structure_dataset, unstructure_dataset
from member_anonymization.adapters.sql import (
    SCHEMA_VERSION,
    DatabaseUrlError,
    EmptyDatabaseError,
    SchemaMissingError,
    SchemaVersionError,
    SqlStore,
    database_url,
    metadata,
)
from member_anonymization.adapters.sql._schema import schema_version
from tests.integration.conftest import OpenBlank

EXAMPLE = Path(__file__).parent.parent / "data" / "spec_example.json"


def test_create_schema_is_idempotent_and_records_the_version(open_blank: OpenBlank) -> None:
    """The first call creates every table and records the version; later calls change nothing."""
    store = open_blank()
    assert store.schema_version() is None
    assert store.create_schema() is True
    assert store.schema_version() == SCHEMA_VERSION
    assert store.create_schema() is False
    assert SqlStore(store.engine).create_schema() is False
    tables = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_create_schema_keeps_the_data(open_blank: OpenBlank) -> None:
    """Creating the schema again on a filled database keeps every record."""
    store = open_blank()
    store.create_schema()
    store.load(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    before = store.dump()
    store.create_schema()
    assert store.dump() == before


def test_a_newer_schema_version_is_refused(open_blank: OpenBlank) -> None:
    """A database written by a newer release is neither used nor changed."""
    store = open_blank()
    store.create_schema()
    with store.engine.begin() as conn:
        conn.execute(update(schema_version).values(version=SCHEMA_VERSION + 1))
    fresh = SqlStore(store.engine)
    with pytest.raises(SchemaVersionError, match="newer release") as caught:
        fresh.create_schema()
    assert (caught.value.found, caught.value.expected) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    with pytest.raises(SchemaVersionError):
        fresh.unit_of_work()
    with pytest.raises(SchemaVersionError):
        fresh.load(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert fresh.schema_version() == SCHEMA_VERSION + 1


def test_a_database_without_the_schema_is_refused(open_blank: OpenBlank) -> None:
    """Using a database before creating the schema says so instead of failing on a table."""
    store = open_blank()
    with pytest.raises(SchemaMissingError):
        store.unit_of_work()
    with pytest.raises(SchemaMissingError):
        store.dump()
    with pytest.raises(SchemaMissingError):
        store.load(json.loads(EXAMPLE.read_text(encoding="utf-8")))


def test_dumping_an_empty_database_is_an_error(open_blank: OpenBlank) -> None:
    """A database with the schema but no network has nothing to dump."""
    store = open_blank()
    store.create_schema()
    with pytest.raises(EmptyDatabaseError):
        store.dump()


def test_every_member_table_is_indexed_by_member() -> None:
    """Every per-member table can find a member's rows by index (or by primary key)."""
    for table in metadata.sorted_tables:
        if "member_id" not in table.c:
            continue
        leading = {next(c.name for c in index.columns) for index in table.indexes}
        first_key = next(iter(table.primary_key.columns)).name
        assert "member_id" in leading or first_key == "member_id", table.name


def test_every_column_is_documented() -> None:
    """docs/reference-schema.md names every table and column of the schema."""
    text = (Path(__file__).parents[2] / "docs" / "reference-schema.md").read_text("utf-8")
    for table in metadata.sorted_tables:
        assert f"`{table.name}`" in text, table.name
        for column in table.c:
            assert f"`{column.name}`" in text, f"{table.name}.{column.name}"


# --------------------------------------------------------------------------- URLs and paths


def test_a_plain_path_means_sqlite(tmp_path: Path) -> None:
    """A path (text or Path) is a SQLite file, created when missing."""
    path = tmp_path / "club data.sqlite"
    assert database_url(str(path)).render_as_string() == f"sqlite:///{path}"
    assert database_url(path) == database_url(str(path))
    with SqlStore.open(path) as store:
        assert store.dialect == "sqlite"
        store.create_schema()
    assert path.exists()


def test_a_relative_path_is_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`member-anonymization.sqlite` is a file in the current folder."""
    monkeypatch.chdir(tmp_path)
    with SqlStore.open("member-anonymization.sqlite") as store:
        store.create_schema()
    assert (tmp_path / "member-anonymization.sqlite").exists()


def test_urls_are_kept_and_postgresql_uses_psycopg() -> None:
    """SQLAlchemy URLs pass through; bare postgresql:// and postgres:// get psycopg 3."""
    assert database_url("sqlite:///x.db").render_as_string() == "sqlite:///x.db"
    assert database_url("sqlite+pysqlite:///x.db").drivername == "sqlite+pysqlite"
    for text in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        url = database_url(text)
        assert url.drivername == "postgresql+psycopg"
        assert (url.username, url.host, url.database) == ("u", "h", "db")


def test_memory_database_works_end_to_end() -> None:
    """`:memory:` is a private in-memory SQLite database that keeps its data while open."""
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    with SqlStore.open(":memory:") as store:
        store.create_schema()
        store.load(raw)
        assert unstructure_dataset(store.dump()) == unstructure_dataset(
            structure_dataset(raw).sorted()
        )


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("mysql://u:s3cret-pw@h/db", "unsupported database 'mysql'"),
        ("postgresql://u:s3cret-pw@h:notaport/db", "not a valid database URL"),
        ("", "a URL or a file path"),
    ],
)
def test_unusable_urls_are_refused_without_the_password(target: str, reason: str) -> None:
    """An unsupported or malformed URL is a clear error that never repeats the password."""
    with pytest.raises(DatabaseUrlError) as caught:
        database_url(target)
    assert reason in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_the_store_shows_its_url_without_the_password() -> None:
    """`SqlStore.url` and its repr hide the password."""
    pytest.importorskip("psycopg", reason="a PostgreSQL URL needs the psycopg driver")
    store = SqlStore.open("postgresql://member:s3cret-pw@127.0.0.1:1/none")
    try:
        assert "s3cret" not in store.url
        assert "s3cret" not in repr(store)
        assert store.url.startswith("postgresql+psycopg://member:***@")
    finally:
        store.dispose()

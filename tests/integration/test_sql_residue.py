"""No copy of an anonymized member's personal data stays in the database's files.

Each test loads a member whose personal values are long random strings and
bytes, anonymizes them, and then reads the database's files byte by byte for
every value (as UTF-8, and the raw bytes of the photo and document). Values are
searched in slices of :data:`SLICE` bytes, so that a value split over two pages
(SQLite overflow pages, PostgreSQL TOAST chunks) is still found. Before the
anonymization the same scan must find every value: a scan that cannot find
anything proves nothing.

``docs/security.md`` explains what is measured here and what stays out of reach.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import Engine, UniqueConstraint, event

from member_anonymization import Anonymized, Anonymizer
from member_anonymization.adapters.sql import COMPACTED_TABLES, SqlStore, metadata
from member_anonymization.domain import BinaryContent
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock
from tests import builders as b
from tests.backends import PgServer

CLOCK = FixedClock(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))
SLICE = 16
"""Bytes per searched slice of a value."""


def _token(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(20)}"


@attrs.frozen
class Secrets:
    """The distinctive personal values of one member, ``m1``."""

    last_name: str = attrs.field(factory=lambda: "Żółkiewska-" + _token("surname"))
    email: str = attrs.field(factory=lambda: _token("mail") + "@example.org")
    log_text: str = attrs.field(factory=lambda: _token("log line about the member"))
    health_note: str = attrs.field(factory=lambda: _token("knee injury, asthma"))
    document_name: str = attrs.field(factory=lambda: _token("identity card scan"))
    photo: bytes = attrs.field(factory=lambda: secrets.token_bytes(6000))
    document: bytes = attrs.field(factory=lambda: secrets.token_bytes(9000))

    def probes(self) -> dict[str, bytes]:
        """Each value as the bytes to look for."""
        return {
            name: value.encode() if isinstance(value, str) else value
            for name, value in attrs.asdict(self).items()
        }

    def dataset(self, *, others: int = 0) -> Dataset:
        """``m1`` with these values, and ``others`` more members with records of their own."""
        records: list[Any] = [
            b.club(),
            b.employee(),
            b.member(
                "m1",
                personal_data=b.personal(last_name=self.last_name, email=self.email),
                photo_content=BinaryContent(content_type="image/jpeg", data=self.photo),
            ),
            b.log_entry("l-m1", text=self.log_text),
            b.note("n-m1", text=self.health_note),
            attrs.evolve(b.document("d-m1", name=self.document_name), data=self.document),
        ]
        for n in range(2, others + 2):
            member_id = f"m{n}"
            records += [
                b.member(member_id, personal_data=b.personal(last_name=_token("other"))),
                b.log_entry(f"l-{member_id}", member_id=member_id, text=_token("other log")),
                b.note(f"n-{member_id}", member_id=member_id, text=_token("other note")),
                attrs.evolve(
                    b.document(f"d-{member_id}", member_id=member_id),
                    data=secrets.token_bytes(9000),
                ),
            ]
        return b.dataset(*records)


def _slices(value: bytes) -> list[bytes]:
    return [value[i : i + SLICE] for i in range(0, len(value) - SLICE + 1, SLICE)]


def residue(probes: Mapping[str, bytes], files: Iterable[Path]) -> dict[str, list[str]]:
    """Which values have at least one slice in which of the files (missing files: none)."""
    found: dict[str, list[str]] = {}
    for path in files:
        if not path.exists():
            continue
        content = path.read_bytes()
        for name, value in probes.items():
            if any(piece in content for piece in _slices(value)):
                found.setdefault(name, []).append(path.name)
    return found


def anonymize_m1(store: SqlStore) -> None:
    """A manual anonymization of ``m1``, which must succeed."""
    result = Anonymizer(store.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1", as_of=b.TODAY)
    assert isinstance(result, Anonymized)


# --------------------------------------------------------------------------- SQLite


def sqlite_files(path: Path) -> list[Path]:
    """The database file and its write-ahead log (the ``-shm`` index holds no row data)."""
    return [path, Path(f"{path}-wal")]


def secure_delete_off(dbapi_connection: Any, connection_record: Any) -> None:
    """A ``connect`` hook turning SQLite's ``secure_delete`` off (the upstream default)."""
    del connection_record
    dbapi_connection.execute("PRAGMA secure_delete = OFF")


def loaded_sqlite(path: Path, values: Secrets, **options: Any) -> SqlStore:
    """A store on a new SQLite file holding ``values`` (checked to be in the files)."""
    store = SqlStore.open(path, **options)
    store.create_schema()
    store.load(values.dataset(others=2))
    assert residue(values.probes(), sqlite_files(path)).keys() == values.probes().keys()
    return store


def test_sqlite_removed_values_do_not_stay_in_free_pages(tmp_path: Path) -> None:
    """``secure_delete`` is on whatever the build's default: freed space holds no old value.

    A ``connect`` hook placed before the adapter's sets the upstream default
    (off), as on a SQLite built without Debian's setting.
    """
    values = Secrets()
    path = tmp_path / "club.sqlite"
    store = SqlStore.open(path)
    event.listen(store.engine, "connect", secure_delete_off, insert=True)
    try:
        store.create_schema()
        store.load(values.dataset(others=2))
        assert residue(values.probes(), sqlite_files(path)).keys() == values.probes().keys()
        anonymize_m1(store)
    finally:
        store.dispose()
    assert residue(values.probes(), sqlite_files(path)) == {}
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    store.dispose()


def test_sqlite_write_ahead_log_is_emptied_while_a_reader_is_connected(tmp_path: Path) -> None:
    """With another connection open (not inside a transaction), the log is checkpointed.

    While any connection is open SQLite keeps the ``-wal`` file, with the pages
    of earlier transactions in it; the unit of work truncates it after the
    commit that removed the member's data.
    """
    values = Secrets()
    path = tmp_path / "club.sqlite"
    store = loaded_sqlite(path, values)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        assert reader.execute("SELECT COUNT(*) FROM members").fetchone() == (3,)
        anonymize_m1(store)
        assert residue(values.probes(), sqlite_files(path)) == {}
        assert Path(f"{path}-wal").stat().st_size == 0
        assert store.last_checkpoint is not None
        assert store.last_checkpoint.completed
        assert not store.checkpoint_pending
        assert reader.execute("SELECT COUNT(*) FROM members").fetchone() == (3,)
    finally:
        reader.close()
        store.dispose()


def test_sqlite_open_read_transaction_blocks_the_checkpoint_and_it_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader inside a transaction keeps the old pages; the commit stands, and it is said.

    The checkpoint cannot copy pages that the reader's snapshot still needs:
    it is tried briefly, logged as a warning without personal data, and
    reported as pending until :meth:`SqlStore.checkpoint` completes.
    """
    values = Secrets()
    path = tmp_path / "club.sqlite"
    store = loaded_sqlite(path, values)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM members").fetchone() == (3,)
        with caplog.at_level(logging.WARNING, logger="member_anonymization"):
            anonymize_m1(store)
        assert store.dump().members[0].personal.display_name == "Anonymized Member"
        last = store.last_checkpoint
        assert last is not None
        assert not last.completed
        assert last.attempts > 1
        assert store.checkpoint_pending
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("write-ahead log" in message for message in warnings)
        for message in warnings:
            for value in (values.last_name, values.email, values.log_text, values.health_note):
                assert value not in message
        # The reader's snapshot still shows the member as they were.
        row = reader.execute("SELECT last_name FROM members WHERE id = 'm1'").fetchone()
        assert row == (values.last_name,)
        assert residue(values.probes(), sqlite_files(path)) != {}

        reader.execute("COMMIT")
        result = store.checkpoint()
        assert result.completed
        assert store.last_checkpoint == result
        assert not store.checkpoint_pending
        assert residue(values.probes(), sqlite_files(path)) == {}
    finally:
        reader.close()
        store.dispose()


def test_sqlite_compact_leaves_no_removed_value(tmp_path: Path) -> None:
    """``compact`` (``VACUUM`` and a checkpoint) clears old values even without secure delete.

    Here a hook placed *after* the adapter's turns ``secure_delete`` off again,
    so the anonymization leaves the values in free space; ``compact`` must
    remove them all the same.
    """
    values = Secrets()
    path = tmp_path / "club.sqlite"
    store = SqlStore.open(path)
    event.listen(store.engine, "connect", secure_delete_off)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        store.create_schema()
        store.load(values.dataset(others=2))
        anonymize_m1(store)
        assert residue(values.probes(), sqlite_files(path)) != {}
        report = store.compact()
        assert report.dialect == "sqlite"
        assert {"members", "member_photos", "documents", "notes"} <= set(report.tables)
        assert report.bytes_after < report.bytes_before
        assert report.checkpoint is not None
        assert report.checkpoint.completed
        assert report.seconds >= 0
        assert report.skipped == ()
        assert residue(values.probes(), sqlite_files(path)) == {}
    finally:
        reader.close()
        store.dispose()
    assert residue(values.probes(), sqlite_files(path)) == {}


def test_no_index_holds_a_personal_column() -> None:
    """Personal values are never index keys (an index would keep them in its own pages)."""
    personal = {
        "members": {
            "first_name",
            "last_name",
            "email",
            "phone",
            "birth_date",
            "national_id",
            "address_street",
            "address_postal_code",
            "address_city",
            "address_country",
        },
        "member_photos": {"data", "content_type"},
        "documents": {"name", "data"},
        "log_entries": {"text"},
        "notes": {"text"},
        "measurements": {"kind", "value"},
        "exercises": {"name"},
    }
    assert {t.name for t in COMPACTED_TABLES} == set(personal)
    for table in metadata.sorted_tables:
        keys = [index.columns for index in table.indexes]
        keys += [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
        keys.append(table.primary_key.columns)
        for columns in keys:
            assert not {c.name for c in columns} & personal.get(table.name, set()), table.name


# --------------------------------------------------------------------------- PostgreSQL


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _autocommit(engine: Engine, *statements: str) -> None:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            conn.exec_driver_sql(statement)


RELATION_FILES = """
WITH t AS (
    SELECT c.oid, c.reltoastrelid FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
), rel AS (
    SELECT oid FROM t
    UNION ALL SELECT reltoastrelid FROM t WHERE reltoastrelid <> 0
    UNION ALL SELECT i.indexrelid FROM pg_index i JOIN t ON i.indrelid = t.oid
    UNION ALL SELECT i.indexrelid FROM pg_index i JOIN t ON i.indrelid = t.reltoastrelid
    UNION ALL SELECT 'pg_catalog.pg_statistic'::regclass::oid
)
SELECT pg_relation_filepath(oid) FROM rel
"""
"""Every table of the schema, its TOAST table, their indexes, and the planner's statistics."""


def relation_files(engine: Engine) -> list[Path]:
    """The files of every relation of the store's schema (each segment of each)."""
    with engine.connect() as conn:
        root = Path(conn.exec_driver_sql("SELECT current_setting('data_directory')").scalar_one())
        relative = conn.exec_driver_sql(RELATION_FILES).scalars().all()
    files: list[Path] = []
    for name in relative:
        main = root / name
        files.append(main)
        files.extend(main.parent.glob(f"{main.name}.[0-9]*"))
    return files


@pytest.fixture
def pg_blank(postgres_server: PgServer) -> SqlStore:
    """A store on a new schema of its own, with the data directory readable (or a skip)."""
    store = postgres_server.open_blank()
    with store.engine.connect() as conn:
        root = conn.exec_driver_sql("SELECT current_setting('data_directory')").scalar_one()
        superuser = conn.exec_driver_sql("SELECT current_setting('is_superuser')").scalar_one()
    readable = os.access(Path(root) / "base", os.R_OK | os.X_OK)
    if superuser != "on" or not readable:
        reason = "reading the server's files needs a local superuser and a readable data directory"
        if _ci():
            pytest.fail(f"CI needs this test to run: {reason} ({root})")
        pytest.skip(reason)
    return store


@pytest.mark.postgres
def test_postgres_old_row_versions_stay_until_compact(pg_blank: SqlStore) -> None:
    """Plain ``VACUUM`` leaves removed values in the files; ``compact`` leaves none.

    ``ANALYZE`` first, as autovacuum does on a busy database: the planner's
    statistics (``pg_statistic``) then hold sampled names and e-mail addresses.
    """
    values = Secrets()
    store = pg_blank
    store.create_schema()
    store.load(values.dataset(others=3))
    tables = ", ".join(t.name for t in COMPACTED_TABLES)
    _autocommit(store.engine, f"ANALYZE {tables}", "CHECKPOINT")
    probes = values.probes()
    assert residue(probes, relation_files(store.engine)).keys() == probes.keys()

    anonymize_m1(store)
    _autocommit(store.engine, f"VACUUM {tables}", "CHECKPOINT")
    # Space of deleted rows is only marked reusable: m1's document is still
    # there, in TOAST pages that the next members' documents keep in the file.
    left = residue(probes, relation_files(store.engine))
    assert "document" in left, left

    before = relation_files(store.engine)
    report = store.compact()
    assert report.dialect == "postgresql"
    assert report.tables == (*(t.name for t in COMPACTED_TABLES), "pg_catalog.pg_statistic")
    assert report.skipped == ()
    assert report.checkpoint is None
    assert 0 < report.bytes_after < report.bytes_before
    _autocommit(store.engine, "CHECKPOINT")
    assert residue(probes, relation_files(store.engine)) == {}
    # The rewritten tables' old files are gone (unlinked at the checkpoint).
    assert residue(probes, before) == {}
    assert store.dump().members[0].personal.display_name == "Anonymized Member"


@pytest.mark.postgres
def test_postgres_compact_waits_for_an_older_snapshot(pg_blank: SqlStore) -> None:
    """A snapshot older than the removal keeps it through ``compact``: counted, then cleared."""
    values = Secrets()
    store = pg_blank
    store.create_schema()
    store.load(values.dataset(others=3))
    probes = values.probes()
    reader = store.engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        # The reader's snapshot is taken at its first query, before the anonymization
        # (of a table that is not compacted: a lock on one would hold the rewrite).
        assert reader.exec_driver_sql("SELECT count(*) FROM clubs").scalar_one() == 1
        anonymize_m1(store)
        held = store.compact(snapshot_wait=0.2)
        assert held.held_back >= 1
        _autocommit(store.engine, "CHECKPOINT")
        # The reader may still see m1's old row, so VACUUM FULL copied it.
        assert "last_name" in residue(probes, relation_files(store.engine))
    finally:
        reader.rollback()
        reader.close()
    report = store.compact()
    assert report.held_back == 0
    _autocommit(store.engine, "CHECKPOINT")
    assert residue(probes, relation_files(store.engine)) == {}

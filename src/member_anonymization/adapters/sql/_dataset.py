"""Loading a dataset file into the reference schema, and dumping it back.

:func:`load_dataset` is all or nothing. It first looks for every problem of the
file: invalid records, duplicate ids, ids that already exist in the database,
references to records that exist neither in the file nor in the database, a
network other than the database's, and values the schema cannot hold. Any
problem rejects the whole file with one :class:`~member_anonymization.errors.DatasetError`
listing them all (collection, record, field; never a value), and the caller's
transaction is rolled back so that nothing is written. Records go in with bulk
``executemany`` inserts in chunks.

:func:`load_dataset_file` does the same for a file it streams: it reads the
file twice, record by record, keeping only the records' ids and references
between the passes, so that a file of any size loads in little memory. Both
report the same problems, in file order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final, final

import attrs
from sqlalchemy import Column, ColumnElement, Connection, Row, Select, Table, insert, select
from sqlalchemy.exc import StatementError

from member_anonymization._json import JsonProblem, JsonReader
from member_anonymization.adapters.sql import _rows as rows
from member_anonymization.adapters.sql import _schema as s
from member_anonymization.adapters.sql._errors import EmptyDatabaseError
from member_anonymization.adapters.sql._repositories import member_select
from member_anonymization.domain import InvoiceLine, Network
from member_anonymization.errors import DatasetError, DatasetProblem
from member_anonymization.serialization import (
    COLLECTIONS,
    KINDS,
    RECORD_KINDS,
    RECORD_TYPES,
    Dataset,
    DatasetScan,
    KnownIds,
    converter,
    scan_file,
    scan_mapping,
    shown_id,
)

__all__ = ["INSERT_CHUNK", "LoadResult", "dump_dataset", "load_dataset", "load_dataset_file"]

INSERT_CHUNK: Final = 2000
"""Rows per ``executemany`` when loading."""

_LOOKUP_CHUNK: Final = 1000


@final
@attrs.frozen
class _SqlKind:
    """How one kind of record is stored: its table, its rows, and its child rows."""

    table: Table
    to_row: Callable[[Any], dict[str, Any]]
    from_row: Callable[[Row[Any]], Any] | None = None
    """Builds a record from a row of ``table``; ``None``: dumped apart (children)."""
    child: tuple[Table, Callable[[Any], Iterable[dict[str, Any]]]] | None = None


def _photo_rows(member: Any) -> list[dict[str, Any]]:
    row = rows.photo_row(member)
    return [] if row is None else [row]


_SQL_KINDS: Final[Mapping[str, _SqlKind]] = {
    "clubs": _SqlKind(s.clubs, rows.club_row, rows.club_from),
    "employees": _SqlKind(
        s.employees, rows.employee_row, child=(s.employee_permissions, rows.permission_rows)
    ),
    "members": _SqlKind(s.members, rows.member_row, child=(s.member_photos, _photo_rows)),
    "contracts": _SqlKind(s.contracts, rows.contract_row, rows.contract_from),
    "wallets": _SqlKind(s.wallets, rows.wallet_row, rows.wallet_from),
    "collection_cases": _SqlKind(
        s.collection_cases, rows.collection_case_row, rows.collection_case_from
    ),
    "installments": _SqlKind(s.installments, rows.installment_row, rows.installment_from),
    "purchases": _SqlKind(s.purchases, rows.purchase_row, rows.purchase_from),
    "invoices": _SqlKind(
        s.invoices, rows.invoice_row, child=(s.invoice_lines, rows.invoice_line_rows)
    ),
    "receipts": _SqlKind(s.receipts, rows.receipt_row, rows.receipt_from),
    "visits": _SqlKind(s.visits, rows.visit_row, rows.visit_from),
    "class_bookings": _SqlKind(s.class_bookings, rows.class_booking_row, rows.class_booking_from),
    "measurements": _SqlKind(s.measurements, rows.measurement_row, rows.measurement_from),
    "exercises": _SqlKind(s.exercises, rows.exercise_row, rows.exercise_from),
    "notes": _SqlKind(s.notes, rows.note_row, rows.note_from),
    "log_entries": _SqlKind(s.log_entries, rows.log_entry_row, rows.log_entry_from),
    "documents": _SqlKind(s.documents, rows.document_row, rows.document_from),
    "reminders": _SqlKind(s.reminders, rows.reminder_row, rows.reminder_from),
    "audit": _SqlKind(s.audit_entries, rows.audit_row, rows.audit_from),
    "erasure_requests": _SqlKind(
        s.erasure_requests, rows.erasure_request_row, rows.erasure_request_from
    ),
    "outbox": _SqlKind(s.outbox_messages, rows.outbox_row, rows.outbox_from),
}
"""Every kind of record of the dataset, as the reference schema stores it."""

_missing = sorted(set(COLLECTIONS) - set(_SQL_KINDS))
if _missing:  # pragma: no cover - a new kind must say how it is stored
    raise TypeError(f"the SQL adapter does not store: {', '.join(_missing)}")


@final
@attrs.frozen(kw_only=True)
class LoadResult:
    """What a load added.

    Attributes:
        network_id: The network the database holds.
        counts: How many records of each collection were added.
    """

    network_id: str
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        """Every record added."""
        return sum(self.counts.values())


def _existing(
    conn: Connection,
    column: Column[Any],
    values: Iterable[str],
    *where: ColumnElement[bool],
) -> set[str]:
    """Which of ``values`` are stored in ``column`` (chunked ``IN`` lookups)."""
    wanted = sorted(set(values))
    found: set[str] = set()
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        statement = select(column).where(column.in_(chunk), *where)
        found.update(conn.execute(statement).scalars())
    return found


def _stored(conn: Connection, scan: DatasetScan) -> KnownIds:
    """What the database holds of the ids that the file holds or refers to."""
    stored: dict[str, set[str]] = {}
    for name, table in s.COLLECTION_TABLES.items():
        column = table.c[KINDS[name].key_fields[0]]
        stored[name] = _existing(conn, column, scan.keys[name] | scan.references[name])
    requests = s.erasure_requests
    open_members = _existing(
        conn, requests.c.member_id, scan.open_request_members, requests.c.status == "open"
    )
    return KnownIds(**stored, open_request_members=open_members)


def _network_problems(conn: Connection, network: Network | None) -> list[DatasetProblem]:
    """The file's network against the one the database holds."""
    stored = conn.execute(select(s.network)).first()
    if stored is None or network is None:
        return []
    return [
        DatasetProblem(
            collection="network",
            field=field,
            message="must name the network the database already holds",
        )
        for field in ("id", "name")
        if getattr(network, field) != getattr(stored, field)
    ]


def _text_problem(value: str) -> str | None:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (no lone surrogates)"
    return None


class _Writer:
    """Buffers rows per table and writes them in chunks while no problem is known."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._buffers: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        self.problems: list[DatasetProblem] = []

    def check(self, name: str, index: int, record_id: str | None, row: dict[str, Any]) -> bool:
        ok = True
        for column, value in row.items():
            if isinstance(value, str):
                reason = _text_problem(value)
                if reason is not None:
                    self.problems.append(
                        DatasetProblem(
                            collection=name,
                            index=index,
                            record_id=shown_id(record_id),
                            field=rows.DATASET_FIELDS.get(column, column),
                            message=reason,
                        )
                    )
                    ok = False
        return ok

    def add(self, table: Table, row: dict[str, Any]) -> None:
        if not self.problems:
            self._buffers[table].append(row)

    def flush(self, *tables: Table) -> None:
        for table in tables:
            buffer = self._buffers.pop(table, [])
            if buffer and not self.problems:
                self._conn.execute(insert(table), buffer)


def _write(writer: _Writer, name: str, records: Iterable[tuple[int, Any]]) -> None:
    sql_kind = _SQL_KINDS[name]
    table, to_row, child = sql_kind.table, sql_kind.to_row, sql_kind.child
    key = KINDS[name].key_fields[0]
    tables = (table,) if child is None else (table, child[0])
    for written, (index, record) in enumerate(records, start=1):
        record_id = getattr(record, key)
        try:
            row = to_row(record)
        except rows.FieldError as exc:
            writer.problems.append(
                DatasetProblem(
                    collection=name,
                    index=index,
                    record_id=shown_id(record_id),
                    field=exc.field,
                    message=exc.reason,
                )
            )
            continue
        if not writer.check(name, index, record_id, row):
            continue
        writer.add(table, row)
        if child is not None:
            for child_row in child[1](record):
                if writer.check(name, index, record_id, child_row):
                    writer.add(child[0], child_row)
        if written % INSERT_CHUNK == 0:
            writer.flush(*tables)
    writer.flush(*tables)


Records = Callable[[str, bool], Iterator[tuple[int, Any]]]
"""The valid records of a collection with their positions, read again for each call
(``True``: to insert them, when every record must be valid)."""


def _load(conn: Connection, scan: DatasetScan, records: Records) -> LoadResult:
    """Check what only the database can tell, then insert every record, all or nothing."""
    for problem in _network_problems(conn, scan.network):
        scan.add_problem(problem)
    existing = _stored(conn, scan)
    if not scan.keep and scan.needs_cross_check(existing):
        for name in COLLECTIONS:
            for index, record in records(name, False):
                scan.cross_check(name, index, record, existing)
    problems = scan.problems(existing)
    if problems or scan.network is None:
        raise DatasetError(problems)
    network = scan.network
    writer = _Writer(conn)
    if conn.execute(select(s.network.c.id)).first() is None:
        writer.check("network", 0, network.id, rows.network_row(network))
        if not writer.problems:
            conn.execute(insert(s.network), rows.network_row(network))
    for name in s.COLLECTION_TABLES:  # referenced records first
        try:
            _write(writer, name, records(name, True))
        except StatementError as exc:
            reason = type(getattr(exc, "orig", None) or exc).__name__
            raise DatasetError(
                [
                    DatasetProblem(
                        collection=name, message=f"the database refused the records ({reason})"
                    )
                ]
            ) from None
    if writer.problems:
        raise DatasetError(writer.problems)
    return LoadResult(network_id=network.id, counts=dict(scan.counts))


def load_dataset(conn: Connection, source: Dataset | Mapping[str, Any]) -> LoadResult:
    """Add a dataset's records inside the connection's transaction.

    Args:
        conn: A connection in a transaction; roll it back when this raises.
        source: A parsed dataset file, or a :class:`Dataset`.

    Raises:
        DatasetError: With every problem of the file in file order; nothing
            was written once the transaction is rolled back.
    """
    scan = DatasetScan(keep=True)
    if isinstance(source, Dataset):
        scan.network = source.network
        for record_kind in RECORD_KINDS:
            for index, record in enumerate(source.records(record_kind)):
                scan.add(record_kind.collection, index, record)
    else:
        scan_mapping(source, scan)
    return _load(conn, scan, lambda name, _: scan.records(name))


def load_dataset_file(conn: Connection, stream: IO[bytes]) -> LoadResult:
    """Add a dataset file's records inside the connection's transaction, streaming it.

    The file is read twice, record by record: once to check it (keeping only
    the ids and references of its records), once to insert it in chunks. It
    is never held whole in memory, parsed or not.

    Args:
        conn: A connection in a transaction; roll it back when this raises.
        stream: The file, open for binary reading and seekable.

    Raises:
        DatasetError: With every problem of the file in file order (a file
            that is not valid JSON: that one problem); nothing was written
            once the transaction is rolled back.
    """
    reader = JsonReader(stream)
    scan = DatasetScan(keep=False)
    marks = scan_file(reader, scan)

    def records(name: str, inserting: bool) -> Iterator[tuple[int, Any]]:
        mark = marks.get(name)
        if mark is None:
            return
        reader.seek(mark)
        try:
            for index, raw in enumerate(reader.items(2)):
                try:
                    record = converter.structure(raw, RECORD_TYPES[name])
                except Exception:
                    if inserting:
                        raise _changed(name) from None
                    continue
                yield index, record
        except JsonProblem:
            raise _changed(name) from None

    return _load(conn, scan, records)


def _changed(name: str) -> DatasetError:
    return DatasetError(
        [DatasetProblem(collection=name, message="the file changed while it was being loaded")]
    )


def _all(
    conn: Connection, statement: Select[Any], build: Callable[[Row[Any]], Any]
) -> Iterator[Any]:
    result = conn.execution_options(yield_per=5000).execute(statement)
    with result:
        for row in result:
            yield build(row)


def dump_dataset(conn: Connection) -> Dataset:
    """Every record of the database, as one sorted :class:`Dataset`.

    Run it in one transaction that sees a single snapshot (a deferred
    transaction on SQLite, ``REPEATABLE READ`` on PostgreSQL).

    Raises:
        EmptyDatabaseError: The database holds no network yet.
    """
    stored = conn.execute(select(s.network).order_by(s.network.c.id)).first()
    if stored is None:
        raise EmptyDatabaseError()
    collections: dict[str, tuple[Any, ...]] = {}
    for name, sql_kind in _SQL_KINDS.items():
        if sql_kind.from_row is None:
            continue
        key = sql_kind.table.c[KINDS[name].key_fields[0]]
        statement = select(sql_kind.table).order_by(key)
        collections[name] = tuple(_all(conn, statement, sql_kind.from_row))

    permissions: dict[str, list[str]] = defaultdict(list)
    for employee_id, permission in conn.execute(select(s.employee_permissions)):
        permissions[employee_id].append(permission)
    collections["employees"] = tuple(
        _all(
            conn,
            select(s.employees).order_by(s.employees.c.id),
            lambda row: rows.employee_from(row, permissions.get(row.id, ())),
        )
    )
    collections["members"] = tuple(
        _all(conn, member_select().order_by(s.members.c.id), rows.member_from)
    )
    lines: dict[str, list[InvoiceLine]] = defaultdict(list)
    line_order = (s.invoice_lines.c.invoice_id, s.invoice_lines.c.position)
    for row in _all(conn, select(s.invoice_lines).order_by(*line_order), lambda r: r):
        lines[row.invoice_id].append(rows.invoice_line_from(row))
    collections["invoices"] = tuple(
        _all(
            conn,
            select(s.invoices).order_by(s.invoices.c.id),
            lambda row: rows.invoice_from(row, lines.get(row.id, ())),
        )
    )
    return Dataset(network=rows.network_from(stored), **collections).sorted()

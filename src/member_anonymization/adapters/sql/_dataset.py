"""Loading a dataset file into the reference schema, and dumping it back.

:func:`load_dataset` is all or nothing. It first looks for every problem of the
file: invalid records, duplicate ids, ids that already exist in the database,
references to records that exist neither in the file nor in the database, a
network other than the database's, and values the schema cannot hold. Any
problem rejects the whole file with one :class:`~member_anonymization.errors.DatasetError`
listing them all (collection, record, field; never a value), and the caller's
transaction is rolled back so that nothing is written. Records go in with bulk
``executemany`` inserts in chunks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, final

import attrs
from sqlalchemy import Column, ColumnElement, Connection, Row, Select, Table, insert, select
from sqlalchemy.exc import StatementError

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
    KnownIds,
    converter,
    dataset_problems,
    structure_dataset,
)

__all__ = ["INSERT_CHUNK", "LoadResult", "dump_dataset", "load_dataset"]

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


def _references(dataset: Dataset) -> dict[str, set[str]]:
    """Every id the dataset refers to, per target collection."""
    refs: dict[str, set[str]] = defaultdict(set)
    for record_kind in RECORD_KINDS:
        for record in dataset.records(record_kind):
            for field, target in record_kind.references:
                value = getattr(record, field)
                if value is not None:
                    refs[target].add(value)
    return refs


_TARGETS: Final = tuple(dict.fromkeys(target for k in RECORD_KINDS for _, target in k.references))
"""The collections that records refer to, whose stored ids a load must know."""


@attrs.frozen
class _Partial:
    """The records of an invalid file that are valid, and the ids of the others."""

    dataset: Dataset
    network_valid: bool
    invalid_ids: Mapping[str, frozenset[str]]


def _partial(source: Any) -> _Partial | None:
    """The valid part of a file that failed to structure (``None``: nothing to check)."""
    if not isinstance(source, Mapping):
        return None
    try:
        network = converter.structure(source.get("network"), Network)
        network_valid = True
    except Exception:
        network, network_valid = Network(id="-", name="-"), False
    collections: dict[str, tuple[Any, ...]] = {}
    invalid: dict[str, frozenset[str]] = {}
    for name, cls in RECORD_TYPES.items():
        raw_list = source.get(name, [])
        valid: list[Any] = []
        failed: set[str] = set()
        for raw in raw_list if isinstance(raw_list, list) else []:
            try:
                valid.append(converter.structure(raw, cls))
            except Exception:
                raw_id = raw.get("id", raw.get("member_id")) if isinstance(raw, Mapping) else None
                if isinstance(raw_id, str):
                    failed.add(raw_id)
        collections[name] = tuple(valid)
        invalid[name] = frozenset(failed)
    return _Partial(Dataset(network=network, **collections), network_valid, invalid)


def _stored_problems(
    conn: Connection,
    dataset: Dataset,
    *,
    check_network: bool = True,
    invalid_ids: Mapping[str, frozenset[str]] | None = None,
) -> list[DatasetProblem]:
    """Problems that only the database can tell: ids taken, references, network.

    Args:
        conn: The connection.
        dataset: The (valid part of the) file.
        check_network: Compare the file's network with the database's.
        invalid_ids: Ids of the file's invalid records, which references may
            point at without being reported as dangling (their records already
            are reported).
    """
    problems: list[DatasetProblem] = []
    stored = conn.execute(select(s.network)).first()
    if stored is not None and check_network:
        for field in ("id", "name"):
            if getattr(dataset.network, field) != getattr(stored, field):
                problems.append(
                    DatasetProblem(
                        collection="network",
                        field=field,
                        message="must name the network the database already holds",
                    )
                )
    refs = _references(dataset)
    known: dict[str, frozenset[str]] = {}
    for name in _TARGETS:
        ids = {r.id for r in getattr(dataset, name)}
        stored_ids = _existing(conn, s.COLLECTION_TABLES[name].c.id, ids | refs[name])
        known[name] = frozenset(stored_ids | (invalid_ids or {}).get(name, frozenset()))
    requests = s.erasure_requests
    open_members = _existing(
        conn,
        requests.c.member_id,
        (r.member_id for r in dataset.erasure_requests if r.is_open),
        requests.c.status == "open",
    )
    existing = KnownIds(**known, open_request_members=open_members)
    problems.extend(dataset_problems(dataset, existing=existing))
    for name, table in s.COLLECTION_TABLES.items():
        if name in known:
            continue
        records = getattr(dataset, name)
        key = KINDS[name].key_fields[0]
        taken = _existing(conn, table.c[key], (getattr(r, key) for r in records))
        for index, record in enumerate(records):
            value = getattr(record, key)
            if value in taken:
                problems.append(
                    DatasetProblem(
                        collection=name,
                        index=index,
                        record_id=value,
                        field=key,
                        message="the member already has a wallet"
                        if name == "wallets"
                        else "id already exists",
                    )
                )
    return problems


def _in_file_order(problems: list[DatasetProblem]) -> list[DatasetProblem]:
    order = {name: position for position, name in enumerate(("format", "network", *COLLECTIONS))}
    return sorted(
        problems, key=lambda p: (order.get(p.collection, -1), -1 if p.index is None else p.index)
    )


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
                            record_id=record_id,
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


def _write(writer: _Writer, name: str, records: Sequence[Any]) -> None:
    sql_kind = _SQL_KINDS[name]
    table, to_row, child = sql_kind.table, sql_kind.to_row, sql_kind.child
    key = KINDS[name].key_fields[0]
    tables = (table,) if child is None else (table, child[0])
    for index, record in enumerate(records):
        record_id = getattr(record, key)
        try:
            row = to_row(record)
        except rows.FieldError as exc:
            writer.problems.append(
                DatasetProblem(
                    collection=name,
                    index=index,
                    record_id=record_id,
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
        if index % INSERT_CHUNK == INSERT_CHUNK - 1:
            writer.flush(*tables)
    writer.flush(*tables)


def load_dataset(conn: Connection, source: Dataset | Mapping[str, Any]) -> LoadResult:
    """Add a dataset's records inside the connection's transaction.

    Args:
        conn: A connection in a transaction; roll it back when this raises.
        source: A parsed dataset file, or a :class:`Dataset`.

    Raises:
        DatasetError: With every problem of the file; nothing was written
            once the transaction is rolled back.
    """
    if isinstance(source, Dataset):
        dataset = source
    else:
        try:
            dataset = structure_dataset(source, check_references=False)
        except DatasetError as invalid:
            # Report what the database can tell about the valid records too.
            partial = _partial(source)
            if partial is None:
                raise
            more = _stored_problems(
                conn,
                partial.dataset,
                check_network=partial.network_valid,
                invalid_ids=partial.invalid_ids,
            )
            raise DatasetError(_in_file_order([*invalid.problems, *more])) from None
    problems = _stored_problems(conn, dataset)
    if problems:
        raise DatasetError(_in_file_order(problems))
    writer = _Writer(conn)
    if conn.execute(select(s.network.c.id)).first() is None:
        writer.check("network", 0, dataset.network.id, rows.network_row(dataset.network))
        if not writer.problems:
            conn.execute(insert(s.network), rows.network_row(dataset.network))
    for name in s.COLLECTION_TABLES:  # referenced records first
        try:
            _write(writer, name, getattr(dataset, name))
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
        raise DatasetError(_in_file_order(writer.problems))
    return LoadResult(
        network_id=dataset.network.id,
        counts={name: len(getattr(dataset, name)) for name in COLLECTIONS},
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

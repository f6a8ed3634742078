"""The repositories of :mod:`member_anonymization.ports` over the reference schema.

Every repository reads and writes through the connection of its
:class:`SqlUnitOfWork`, inside that unit's single transaction. Batches are
set-based: one statement per record kind for a whole chunk of member ids
(``WHERE member_id IN (...)``), never one statement per member.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Self, TypeVar, final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Engine,
    Select,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    null,
    select,
    update,
)

from member_anonymization.adapters.sql import _rows as rows
from member_anonymization.adapters.sql import _schema as s
from member_anonymization.adapters.sql._bulk import in_values, insert_rows
from member_anonymization.adapters.sql._engine import SQLITE_BEGIN, adapter_connection
from member_anonymization.adapters.sql._registers import SqlOutbox, SqlRequests, anonymizations
from member_anonymization.adapters.sql._residue import CheckpointResult, checkpoint_after_erasure
from member_anonymization.adapters.sql._types import split_instant
from member_anonymization.domain import (
    AuditEntry,
    ClassBooking,
    Club,
    ClubId,
    Document,
    Employee,
    EmployeeId,
    Exercise,
    Invoice,
    InvoiceLine,
    LogEntry,
    Measurement,
    Member,
    MemberId,
    Note,
    NoteType,
    PersonalData,
    Receipt,
    Reminder,
    Visit,
)
from member_anonymization.policy import MemberFacts

__all__ = ["BATCH_SIZE", "STREAM_BUFFER", "SqlUnitOfWork", "member_select"]

T = TypeVar("T")

BATCH_SIZE: Final = 1000
"""Member ids per ``IN (...)`` list; larger batches are split into chunks of this size."""

STREAM_BUFFER: Final = 500
"""Rows fetched at a time when a profile reader streams (a server-side cursor on PostgreSQL)."""


def _chunks(values: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _unique(values: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(values))


def member_select() -> Select[Any]:
    """Members joined with their photo (``photo_content_type``, ``photo_data``)."""
    return select(
        s.members,
        s.member_photos.c.content_type.label("photo_content_type"),
        s.member_photos.c.data.label("photo_data"),
    ).select_from(
        s.members.outerjoin(s.member_photos, s.member_photos.c.member_id == s.members.c.id)
    )


class _Repository:
    """Base of the repositories: the unit's connection."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    @property
    def _conn(self) -> Connection:
        return self._uow.connection

    def _stream(self, statement: Select[Any], build: Callable[[Any], T]) -> Iterator[T]:
        """Run ``statement`` now; yield its rows as records while the caller reads."""
        result = self._conn.execute(statement, execution_options={"yield_per": STREAM_BUFFER})

        def records() -> Iterator[T]:
            with result:
                for row in result:
                    yield build(row)

        return records()

    def _delete_counted(
        self, table: Table, member_ids: Sequence[MemberId], *where: ColumnElement[bool]
    ) -> dict[MemberId, int]:
        """Delete the members' rows of ``table``; count them per member.

        On PostgreSQL the database counts: one row per member comes back, not
        one per deleted record.
        """
        if member_ids:
            self._uow.removing_personal_data()
        counts: Counter[MemberId] = Counter()
        column = table.c.member_id
        for chunk in _chunks(_unique(member_ids)):
            condition = and_(in_values(self._conn, column, chunk), *where)
            if self._conn.dialect.name == "postgresql":
                removed = delete(table).where(condition).returning(column).cte("removed")
                grouped = select(removed.c.member_id, func.count()).group_by(removed.c.member_id)
                counts.update({row[0]: row[1] for row in self._conn.execute(grouped)})
            elif self._conn.dialect.delete_returning:
                result = self._conn.execute(delete(table).where(condition).returning(column))
                counts.update(result.scalars())
            else:  # pragma: no cover - every supported database has DELETE ... RETURNING
                grouped = select(column, func.count()).where(condition).group_by(column)
                counts.update({row[0]: row[1] for row in self._conn.execute(grouped)})
                self._conn.execute(delete(table).where(condition))
        return dict(counts)


@final
class SqlMembers(_Repository):
    """Members: reading, row locks, and the changes anonymization makes."""

    def get(self, member_id: MemberId) -> Member | None:
        """The member as stored now, or ``None``; takes no lock."""
        row = self._conn.execute(member_select().where(s.members.c.id == member_id)).first()
        return None if row is None else rows.member_from(row)

    def lock(
        self, member_ids: Sequence[MemberId], *, skip_locked: bool = False
    ) -> Sequence[MemberId]:
        """Lock the members' rows until the unit ends; return the ids locked.

        PostgreSQL: ``SELECT ... FOR UPDATE`` (``SKIP LOCKED`` when asked), in
        id order so that two batches never deadlock. SQLite: the unit already
        holds the database's write lock (``BEGIN IMMEDIATE``), so this only
        tells which members exist.
        """
        found: set[MemberId] = set()
        for chunk in _chunks(sorted(set(member_ids))):
            statement = (
                select(s.members.c.id)
                .where(in_values(self._conn, s.members.c.id, chunk))
                .order_by(s.members.c.id)
                .with_for_update(skip_locked=skip_locked)
            )
            found.update(self._conn.execute(statement).scalars())
        return [m for m in _unique(member_ids) if m in found]

    def replace_personal_data(self, replacements: Mapping[MemberId, PersonalData]) -> None:
        """Overwrite every personal column of each member.

        Members getting the same replacement (the default placeholder gives
        everyone the same) are updated by one set-based statement.
        """
        if replacements:
            self._uow.removing_personal_data()
        groups: dict[PersonalData, list[MemberId]] = {}
        for member_id, personal in replacements.items():
            groups.setdefault(personal, []).append(member_id)
        for personal, member_ids in groups.items():
            values = rows.personal_columns(personal)
            for chunk in _chunks(_unique(member_ids)):
                self._conn.execute(
                    update(s.members)
                    .where(in_values(self._conn, s.members.c.id, chunk))
                    .values(**values)
                )

    def delete_photos(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' photos; count them per member."""
        return self._delete_counted(s.member_photos, member_ids)

    def mark_anonymized(self, member_ids: Sequence[MemberId], at: dt.datetime) -> None:
        """Record the anonymization instant (and its offset) on the members."""
        utc, offset = split_instant(at)
        for chunk in _chunks(_unique(member_ids)):
            self._conn.execute(
                update(s.members)
                .where(in_values(self._conn, s.members.c.id, chunk))
                .values(anonymized_at=utc, anonymized_at_offset=offset)
            )


@final
class SqlFacts(_Repository):
    """The policy's facts: six queries per chunk of members, whatever its size."""

    def load_facts(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, MemberFacts]:
        """Each existing member's facts, network-wide; unknown ids left out."""
        out: dict[MemberId, MemberFacts] = {}
        for chunk in _chunks(_unique(member_ids)):
            out.update(self._load_chunk(chunk))
        return out

    def _load_chunk(self, chunk: Sequence[MemberId]) -> dict[MemberId, MemberFacts]:
        conn = self._conn
        found = [
            rows.member_from(r)
            for r in conn.execute(member_select().where(in_values(conn, s.members.c.id, chunk)))
        ]
        if not found:
            return {}
        ids = [m.id for m in found]

        def of(table: Table, build: Callable[[Any], T]) -> dict[MemberId, list[T]]:
            by_member: dict[MemberId, list[T]] = defaultdict(list)
            key = table.c.id if "id" in table.c else table.c.member_id
            where = in_values(conn, table.c.member_id, ids)
            statement = select(table).where(where).order_by(key)
            for row in conn.execute(statement):
                by_member[row.member_id].append(build(row))
            return by_member

        contracts = of(s.contracts, rows.contract_from)
        cases = of(s.collection_cases, rows.collection_case_from)
        wallets = of(s.wallets, rows.wallet_from)
        installments = of(s.installments, rows.installment_from)
        purchases = of(s.purchases, rows.purchase_from)
        return {
            m.id: MemberFacts(
                member=m,
                contracts=tuple(contracts.get(m.id, ())),
                collection_cases=tuple(cases.get(m.id, ())),
                wallets=tuple(wallets.get(m.id, ())),
                installments=tuple(installments.get(m.id, ())),
                purchases=tuple(purchases.get(m.id, ())),
            )
            for m in found
        }


@final
class SqlRecords(_Repository):
    """The records anonymization deletes; one ``DELETE ... RETURNING`` per kind and chunk."""

    def delete_log_entries(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' log entries; count them per member."""
        return self._delete_counted(s.log_entries, member_ids)

    def delete_documents(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' documents and their content; count them per member."""
        return self._delete_counted(s.documents, member_ids)

    def delete_measurements(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' measurements; count them per member."""
        return self._delete_counted(s.measurements, member_ids)

    def delete_exercises(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' exercises; count them per member."""
        return self._delete_counted(s.exercises, member_ids)

    def delete_notes(
        self, member_ids: Sequence[MemberId], *, note_types: Collection[NoteType] | None
    ) -> Mapping[MemberId, int]:
        """Delete the members' notes of ``note_types`` (``None``: of every type)."""
        if note_types is None:
            return self._delete_counted(s.notes, member_ids)
        if not note_types:
            return {}
        values = sorted(t.value for t in note_types)
        return self._delete_counted(s.notes, member_ids, s.notes.c.note_type.in_(values))


@final
class SqlReminders(_Repository):
    """Reminders for the clubs' staff."""

    def add(self, reminders: Sequence[Reminder]) -> None:
        """Insert the reminders (one statement)."""
        insert_rows(self._conn, s.reminders, [rows.reminder_row(r) for r in reminders])


@final
class SqlAudit(_Repository):
    """The audit trail."""

    def add(self, entries: Sequence[AuditEntry]) -> None:
        """Insert the entries (one statement)."""
        insert_rows(self._conn, s.audit_entries, [rows.audit_row(e) for e in entries])

    def anonymizations(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[AuditEntry]:
        """Entries of anonymizations (not exports), ordered by id, after ``after``."""
        return anonymizations(self._conn, after=after, limit=limit)


@final
class SqlClubs(_Repository):
    """The network's clubs."""

    def network_clubs(self) -> Mapping[ClubId, Club]:
        """Every club, by id."""
        statement = select(s.clubs).order_by(s.clubs.c.id)
        return {row.id: rows.club_from(row) for row in self._conn.execute(statement)}


@final
class SqlEmployees(_Repository):
    """Employees and their permissions."""

    def get(self, employee_id: EmployeeId) -> Employee | None:
        """The employee with their permissions (one query), or ``None``."""
        permissions = s.employee_permissions
        statement = (
            select(s.employees, permissions.c.permission)
            .select_from(
                s.employees.outerjoin(permissions, permissions.c.employee_id == s.employees.c.id)
            )
            .where(s.employees.c.id == employee_id)
        )
        found = self._conn.execute(statement).all()
        if not found:
            return None
        granted = [r.permission for r in found if r.permission is not None]
        return rows.employee_from(found[0], granted)


@final
class SqlAccounting(_Repository):
    """Invoices and receipts, read-only: nothing here writes."""

    def invoices_of(self, member_id: MemberId) -> Iterable[Invoice]:
        """The member's invoices with their lines (two queries)."""
        invoices = self._conn.execute(
            select(s.invoices).where(s.invoices.c.member_id == member_id).order_by(s.invoices.c.id)
        ).all()
        if not invoices:
            return []
        lines: dict[str, list[InvoiceLine]] = defaultdict(list)
        statement = (
            select(s.invoice_lines)
            .join(s.invoices, s.invoices.c.id == s.invoice_lines.c.invoice_id)
            .where(s.invoices.c.member_id == member_id)
            .order_by(s.invoice_lines.c.invoice_id, s.invoice_lines.c.position)
        )
        for row in self._conn.execute(statement):
            lines[row.invoice_id].append(rows.invoice_line_from(row))
        return [rows.invoice_from(row, lines.get(row.id, ())) for row in invoices]

    def receipts_of(self, member_id: MemberId) -> Iterable[Receipt]:
        """The member's receipts, streamed."""
        table = s.receipts
        statement = select(table).where(table.c.member_id == member_id).order_by(table.c.id)
        return self._stream(statement, rows.receipt_from)


@final
class SqlProfile(_Repository):
    """The rest of the profile, for the export; every reader streams its rows."""

    def _of(self, table: Table, member_id: MemberId, build: Callable[[Any], T]) -> Iterator[T]:
        statement = select(table).where(table.c.member_id == member_id).order_by(table.c.id)
        return self._stream(statement, build)

    def visits_of(self, member_id: MemberId) -> Iterable[Visit]:
        """The member's visits."""
        return self._of(s.visits, member_id, rows.visit_from)

    def class_bookings_of(self, member_id: MemberId) -> Iterable[ClassBooking]:
        """The member's class bookings."""
        return self._of(s.class_bookings, member_id, rows.class_booking_from)

    def measurements_of(self, member_id: MemberId) -> Iterable[Measurement]:
        """The member's measurements."""
        return self._of(s.measurements, member_id, rows.measurement_from)

    def exercises_of(self, member_id: MemberId) -> Iterable[Exercise]:
        """The member's exercises."""
        return self._of(s.exercises, member_id, rows.exercise_from)

    def notes_of(self, member_id: MemberId) -> Iterable[Note]:
        """The member's notes, of every type."""
        return self._of(s.notes, member_id, rows.note_from)

    def log_entries_of(self, member_id: MemberId) -> Iterable[LogEntry]:
        """The member's log entries."""
        return self._of(s.log_entries, member_id, rows.log_entry_from)

    def documents_of(self, member_id: MemberId) -> Iterable[Document]:
        """The member's documents, with their content."""
        return self._of(s.documents, member_id, rows.document_from)


@final
class SqlRetention(_Repository):
    """The retention job's query."""

    def due_members(
        self,
        *,
        thresholds: Mapping[ClubId, dt.date],
        after: MemberId | None = None,
        limit: int = 1000,
    ) -> Sequence[MemberId]:
        """Ids of the members due for retention, ordered by id, in one query.

        See :meth:`member_anonymization.ports.RetentionReader.due_members`.
        """
        if not thresholds or limit <= 0:
            return []
        # Walk the members in id order and look each one's contracts up through
        # the member_id index: a page costs what it returns, not the whole table.
        m = s.members.c
        c = s.contracts.c
        effective_end = case(
            (c.terminated_on.is_(None), c.end_on),
            (c.end_on.is_(None), c.terminated_on),
            (c.terminated_on < c.end_on, c.terminated_on),
            else_=c.end_on,
        )
        cancelled = and_(c.terminated_on.is_not(None), c.terminated_on < c.start_on)
        live = and_(c.member_id == m.id, ~cancelled)
        last_end = select(func.max(effective_end)).where(live).scalar_subquery()
        threshold = case(
            *(
                (m.home_club_id == club_id, literal(day, Date))
                for club_id, day in sorted(thresholds.items())
            ),
            else_=null(),
        )
        statement = (
            select(m.id)
            .where(
                m.anonymized_at.is_(None),
                ~exists().where(live, effective_end.is_(None)),
                func.coalesce(last_end, m.registered_on) <= threshold,
            )
            .order_by(m.id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(m.id > after)
        return list(self._conn.execute(statement).scalars())


@final
class SqlUnitOfWork:
    """One connection and one transaction over every repository.

    Entering it checks out a connection and begins the transaction (on SQLite
    with ``BEGIN IMMEDIATE``: the database's write lock is held from the
    start). :meth:`commit` makes the changes permanent; leaving the ``with``
    block rolls back whatever was not committed and returns the connection.

    A **read-only** unit (``read_only=True``, what
    ``SqlStore.unit_of_work.read_only()`` opens) reads one consistent snapshot
    and takes no lock that a writer waits for: on SQLite it begins
    ``DEFERRED`` (in WAL mode a reader and the writer do not block each
    other; the snapshot is taken at its first read) with ``PRAGMA
    query_only`` on; on PostgreSQL it is ``REPEATABLE READ READ ONLY``. Any
    write in it fails.

    A database held by another connection for longer than the busy timeout
    (SQLite) or ``lock_timeout`` (PostgreSQL) raises :class:`DatabaseBusyError`.

    On SQLite, a commit that overwrote or deleted personal data is followed by
    a checkpoint that empties the write-ahead log (see :attr:`last_checkpoint`
    and :meth:`SqlStore.checkpoint`).

    Args:
        engine: The engine to take the connection from.
        read_only: Open a read-only unit.

    Attributes:
        last_checkpoint: The checkpoint after this unit's latest commit that
            removed personal data (``None``: none, or PostgreSQL).
    """

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: Connection | None = None
        self._removing = False
        self.last_checkpoint: CheckpointResult | None = None
        self.members = SqlMembers(self)
        self.facts = SqlFacts(self)
        self.records = SqlRecords(self)
        self.reminders = SqlReminders(self)
        self.audit = SqlAudit(self)
        self.clubs = SqlClubs(self)
        self.employees = SqlEmployees(self)
        self.accounting = SqlAccounting(self)
        self.profile = SqlProfile(self)
        self.retention = SqlRetention(self)
        self.requests = SqlRequests(self)
        self.outbox = SqlOutbox(self)

    @property
    def read_only(self) -> bool:
        """Whether this unit only reads (one snapshot, no write lock)."""
        return self._read_only

    @property
    def connection(self) -> Connection:
        """The unit's connection (only inside the ``with`` block)."""
        if self._connection is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use")
        connection = adapter_connection(self._engine)
        self._removing = False
        try:
            if self._read_only:
                _begin_reading(connection)
            connection.begin()
        except BaseException:
            _end_reading(connection, self._read_only)
            raise
        self._connection = connection
        return self

    def __exit__(self, *exc_info: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            _end_reading(connection, self._read_only)

    def removing_personal_data(self) -> None:
        """Note that this transaction overwrites or deletes personal data."""
        self._removing = True

    def commit(self) -> None:
        """Commit every change of this unit (a later statement begins anew).

        After a commit that removed personal data, SQLite's write-ahead log is
        checkpointed; that step never raises (an incomplete checkpoint is
        logged, and reported by :attr:`last_checkpoint`).
        """
        connection = self.connection
        connection.commit()
        if self._removing:
            self._removing = False
            self.last_checkpoint = checkpoint_after_erasure(self._engine, connection)

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        self._removing = False
        self.connection.rollback()


def _begin_reading(connection: Connection) -> None:
    """Make the connection's next transaction a read-only snapshot."""
    if connection.dialect.name == "sqlite":
        connection.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
        # Outside a transaction (the driver is in autocommit mode until BEGIN).
        connection.connection.driver_connection.execute("PRAGMA query_only = ON")  # type: ignore[union-attr]
    else:
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def _end_reading(connection: Connection, read_only: bool) -> None:
    """Close the connection; a read-only SQLite one goes back writable, or is dropped."""
    if read_only and connection.dialect.name == "sqlite" and not connection.invalidated:
        try:
            driver = connection.connection.driver_connection
            driver.execute("PRAGMA query_only = OFF")  # type: ignore[union-attr]
        except Exception:
            # Never hand a connection that refuses writes to the next unit of work.
            connection.invalidate()
    connection.close()

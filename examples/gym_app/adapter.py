"""Every protocol of :mod:`member_anonymization.ports` over the gym application's schema.

Hand :meth:`GymDatabase.unit_of_work` to the library's services::

    database = GymDatabase("gym.sqlite")
    anonymizer = Anonymizer(database.unit_of_work)
    result = anonymizer.anonymize("K-1001", actor="P-01")

How it meets the protocols' rules:

* **One transaction.** A :class:`GymUnitOfWork` opens one connection and runs
  ``BEGIN IMMEDIATE`` on entering, so it holds SQLite's write lock from the
  start: a second unit waits (up to the connection's timeout) until the first
  ends. Every repository executes through the unit's connection.
* **Nothing sticks without commit.** Leaving the ``with`` block runs
  ``ROLLBACK`` if a transaction is still open, then closes the connection.
* **Locks.** With the database's write lock held, :meth:`GymMembers.lock` only
  has to tell which members exist (SQLite has no row locks; ``skip_locked``
  never skips anything).
* **Batches.** Deletions are one ``DELETE ... WHERE osoba_id IN (...)
  RETURNING osoba_id`` per chunk of ids, counted per member; ``load_facts``
  runs six queries per chunk of members, whatever its size; ``due_members`` is
  one query; so are ``requests.open_for`` and ``outbox.mark_delivered`` per
  chunk of ids.
* **One open request per member**: a partial unique index on
  ``wnioski_rodo (osoba_id) WHERE status = 'OTWARTY'``.
* **Invoices and receipts** are only ever read.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections import Counter, defaultdict
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from examples.gym_app import mapping as m
from examples.gym_app.app import connect
from member_anonymization.domain import (
    AuditAction,
    AuditEntry,
    ClassBooking,
    Club,
    ClubId,
    Document,
    Employee,
    EmployeeId,
    ErasureRequest,
    Exercise,
    Invoice,
    LogEntry,
    Measurement,
    Member,
    MemberId,
    Note,
    NoteType,
    OutboxMessage,
    PersonalData,
    Receipt,
    Reminder,
    RequestStatus,
    Visit,
)
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork

__all__ = ["CHUNK", "GymDatabase", "GymUnitOfWork"]

T = TypeVar("T")

CHUNK: Final = 500
"""Member ids per ``IN (...)`` list (SQLite limits the number of parameters)."""

_IS_MEMBER: Final = f"rola = '{m.MEMBER}'"
_IS_EMPLOYEE: Final = f"rola = '{m.EMPLOYEE}'"


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _unique(values: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(values))


def _marks(values: Sized) -> str:
    return ", ".join("?" * len(values))


class _Repository:
    """Base of the repositories: statements through the unit's connection."""

    def __init__(self, uow: GymUnitOfWork) -> None:
        self._uow = uow

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._uow.execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = self._execute(sql, params).fetchall()
        return rows

    def _of(self, table: str, member_id: MemberId, read: Callable[[sqlite3.Row], T]) -> list[T]:
        """The member's rows of ``table`` as records, ordered by id."""
        rows = self._rows(f"SELECT * FROM {table} WHERE osoba_id = ? ORDER BY id", [member_id])
        return [read(row) for row in rows]

    def _delete_counted(
        self,
        table: str,
        member_ids: Sequence[MemberId],
        where: str = "",
        params: Sequence[Any] = (),
    ) -> dict[MemberId, int]:
        """Delete the members' rows of ``table`` (set-based); count them per member."""
        counts: Counter[MemberId] = Counter()
        for chunk in _chunks(_unique(member_ids)):
            sql = (
                f"DELETE FROM {table} WHERE osoba_id IN ({_marks(chunk)}){where} RETURNING osoba_id"
            )
            counts.update(row[0] for row in self._rows(sql, [*chunk, *params]))
        return dict(counts)


class GymMembers(_Repository):
    """Members: the ``people`` rows whose ``rola`` is ``klubowicz``."""

    def get(self, member_id: MemberId) -> Member | None:
        """The member as stored now, or ``None``."""
        rows = self._rows(f"SELECT * FROM people WHERE id = ? AND {_IS_MEMBER}", [member_id])
        return m.member_from(rows[0]) if rows else None

    def lock(
        self, member_ids: Sequence[MemberId], *, skip_locked: bool = False
    ) -> Sequence[MemberId]:
        """The unit holds the database's write lock already: return the existing ids."""
        del skip_locked
        found: set[MemberId] = set()
        for chunk in _chunks(_unique(member_ids)):
            sql = f"SELECT id FROM people WHERE {_IS_MEMBER} AND id IN ({_marks(chunk)})"
            found.update(row[0] for row in self._rows(sql, chunk))
        return [member_id for member_id in _unique(member_ids) if member_id in found]

    def replace_personal_data(self, replacements: Mapping[MemberId, PersonalData]) -> None:
        """Overwrite every personal column of ``people`` (one executemany)."""
        assignments = ", ".join(f"{column} = :{column}" for column in m.PERSONAL_COLUMNS)
        self._uow.executemany(
            f"UPDATE people SET {assignments} WHERE id = :member_id AND {_IS_MEMBER}",
            [
                {**m.personal_columns(personal), "member_id": member_id}
                for member_id, personal in replacements.items()
            ],
        )

    def delete_photos(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Clear the photo columns (``secure_delete`` zeroes the old bytes); count per member."""
        counts: Counter[MemberId] = Counter()
        for chunk in _chunks(_unique(member_ids)):
            sql = (
                "UPDATE people SET zdjecie = NULL, zdjecie_mime = NULL"
                f" WHERE {_IS_MEMBER} AND zdjecie IS NOT NULL AND id IN ({_marks(chunk)})"
                " RETURNING id"
            )
            counts.update(row[0] for row in self._rows(sql, chunk))
        return dict(counts)

    def mark_anonymized(self, member_ids: Sequence[MemberId], at: dt.datetime) -> None:
        """Store the instant as epoch seconds and offset."""
        utc, tz = m.epoch(at)
        for chunk in _chunks(_unique(member_ids)):
            self._execute(
                "UPDATE people SET zanonimizowano_utc = ?, zanonimizowano_tz = ?"
                f" WHERE {_IS_MEMBER} AND id IN ({_marks(chunk)})",
                [utc, tz, *chunk],
            )


class GymFacts(_Repository):
    """The policy's facts: six queries per chunk of members."""

    _KINDS: Final = (
        ("contracts", "umowy", m.contract_from),
        ("collection_cases", "windykacja", m.collection_case_from),
        ("wallets", "portfele", m.wallet_from),
        ("installments", "payments_plan", m.installment_from),
        ("purchases", "zakupy", m.purchase_from),
    )

    def load_facts(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, MemberFacts]:
        """Each existing member's facts in every club; unknown ids left out."""
        out: dict[MemberId, MemberFacts] = {}
        for chunk in _chunks(_unique(member_ids)):
            marks = _marks(chunk)
            members = [
                m.member_from(row)
                for row in self._rows(
                    f"SELECT * FROM people WHERE {_IS_MEMBER} AND id IN ({marks})", chunk
                )
            ]
            records: dict[str, defaultdict[MemberId, list[Any]]] = {}
            for name, table, read in self._KINDS:
                grouped: defaultdict[MemberId, list[Any]] = defaultdict(list)
                sql = f"SELECT * FROM {table} WHERE osoba_id IN ({marks}) ORDER BY osoba_id"
                for row in self._rows(sql, chunk):
                    grouped[row["osoba_id"]].append(read(row))
                records[name] = grouped
            for member in members:
                out[member.id] = MemberFacts(
                    member=member,
                    **{name: tuple(records[name][member.id]) for name, _, _ in self._KINDS},
                )
        return out


class GymRecords(_Repository):
    """The records anonymization deletes."""

    def delete_log_entries(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete ``log_profilu`` rows."""
        return self._delete_counted("log_profilu", member_ids)

    def delete_documents(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete ``dokumenty`` rows with their content."""
        return self._delete_counted("dokumenty", member_ids)

    def delete_measurements(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete ``pomiary`` rows."""
        return self._delete_counted("pomiary", member_ids)

    def delete_exercises(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete ``cwiczenia`` rows."""
        return self._delete_counted("cwiczenia", member_ids)

    def delete_notes(
        self, member_ids: Sequence[MemberId], *, note_types: Collection[NoteType] | None
    ) -> Mapping[MemberId, int]:
        """Delete ``notatki`` rows of the types given (``None``: of every type)."""
        if note_types is None:
            return self._delete_counted("notatki", member_ids)
        codes = sorted({m.NOTE_TYPES[kind] for kind in note_types})
        if not codes:
            return {}
        return self._delete_counted("notatki", member_ids, f" AND typ IN ({_marks(codes)})", codes)


def _limited(limit: int | None) -> tuple[str, list[Any]]:
    """A ``LIMIT`` clause and its parameter (SQLite reads a negative limit as none)."""
    return ("", []) if limit is None else (" LIMIT ?", [max(limit, 0)])


class GymReminders(_Repository):
    """Reminders (``przypomnienia``)."""

    def add(self, reminders: Sequence[Reminder]) -> None:
        """Insert the reminders."""
        self._uow.executemany(
            "INSERT INTO przypomnienia VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [m.reminder_columns(reminder) for reminder in reminders],
        )


class GymAudit(_Repository):
    """The audit trail (``audyt``)."""

    def add(self, entries: Sequence[AuditEntry]) -> None:
        """Insert the entries."""
        self._uow.executemany(
            "INSERT INTO audyt VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [m.audit_columns(entry) for entry in entries],
        )

    def anonymizations(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[AuditEntry]:
        """Entries of anonymizations (``akcja = 'ANONIMIZACJA'``) by id, after ``after``."""
        action = m.ACTIONS[AuditAction.ANONYMIZE]
        clause, params = _limited(limit)
        rows = self._rows(
            "SELECT * FROM audyt WHERE akcja = ? AND (? IS NULL OR id > ?) ORDER BY id" + clause,
            [action, after, after, *params],
        )
        return [m.audit_from(row) for row in rows]


class GymRequests(_Repository):
    """The register of erasure requests (``wnioski_rodo``)."""

    _OPEN: Final = m.STATUSES[RequestStatus.OPEN]

    def get(self, request_id: str) -> ErasureRequest | None:
        """The request, or ``None``."""
        rows = self._rows("SELECT * FROM wnioski_rodo WHERE id = ?", [request_id])
        return m.request_from(rows[0]) if rows else None

    def open_for(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, ErasureRequest]:
        """The open request of each member that has one (one query per chunk of ids)."""
        out: dict[MemberId, ErasureRequest] = {}
        for chunk in _chunks(_unique(member_ids)):
            sql = f"SELECT * FROM wnioski_rodo WHERE status = ? AND osoba_id IN ({_marks(chunk)})"
            for row in self._rows(sql, [self._OPEN, *chunk]):
                out[row["osoba_id"]] = m.request_from(row)
        return out

    def add(self, requests: Sequence[ErasureRequest]) -> None:
        """Insert the requests (the unique index refuses a second open one per member)."""
        columns = ", ".join(m.REQUEST_COLUMNS)
        marks = ", ".join(f":{column}" for column in m.REQUEST_COLUMNS)
        self._uow.executemany(
            f"INSERT INTO wnioski_rodo ({columns}) VALUES ({marks})",
            [m.request_columns(request) for request in requests],
        )

    def update(self, requests: Sequence[ErasureRequest]) -> None:
        """Overwrite every column of the stored requests, matched by id."""
        assignments = ", ".join(f"{c} = :{c}" for c in m.REQUEST_COLUMNS if c != "id")
        for request in requests:
            cursor = self._uow.execute(
                f"UPDATE wnioski_rodo SET {assignments} WHERE id = :id",
                m.request_columns(request),
            )
            if cursor.rowcount != 1:
                raise KeyError(f"no erasure request {request.id!r}")

    def open_requests(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[ErasureRequest]:
        """Open requests by id, after ``after`` (one query, on ``wnioski_rodo_status``)."""
        clause, params = _limited(limit)
        rows = self._rows(
            "SELECT * FROM wnioski_rodo WHERE status = ? AND (? IS NULL OR id > ?) ORDER BY id"
            + clause,
            [self._OPEN, after, after, *params],
        )
        return [m.request_from(row) for row in rows]

    def all(self, *, status: RequestStatus | None = None) -> Iterable[ErasureRequest]:
        """Every request (of ``status``), by id."""
        code = None if status is None else m.STATUSES[status]
        rows = self._rows(
            "SELECT * FROM wnioski_rodo WHERE ? IS NULL OR status = ? ORDER BY id", [code, code]
        )
        return [m.request_from(row) for row in rows]


class GymOutbox(_Repository):
    """Events and notices the application delivers (``do_wyslania``)."""

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Insert the messages."""
        self._uow.executemany(
            "INSERT INTO do_wyslania VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [m.message_columns(message) for message in messages],
        )

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, or ``None``."""
        rows = self._rows("SELECT * FROM do_wyslania WHERE id = ?", [message_id])
        return m.message_from(rows[0]) if rows else None

    def pending(self, *, limit: int | None = None) -> Sequence[OutboxMessage]:
        """Messages not yet delivered, oldest first (UTC epoch seconds, then id)."""
        clause, params = _limited(limit)
        rows = self._rows(
            "SELECT * FROM do_wyslania WHERE dostarczono_utc IS NULL"
            " ORDER BY utworzono_utc, id" + clause,
            params,
        )
        return [m.message_from(row) for row in rows]

    def of_request(self, request_id: str) -> Sequence[OutboxMessage]:
        """The request's messages, delivered or not, oldest first."""
        rows = self._rows(
            "SELECT * FROM do_wyslania WHERE wniosek_id = ? ORDER BY utworzono_utc, id",
            [request_id],
        )
        return [m.message_from(row) for row in rows]

    def mark_delivered(self, message_ids: Sequence[str], at: dt.datetime) -> Sequence[str]:
        """Stamp the pending ones among ``message_ids``; return those, in the order given."""
        utc, tz = m.epoch(at)
        wanted = _unique(message_ids)
        done: set[str] = set()
        for chunk in _chunks(wanted):
            sql = (
                "UPDATE do_wyslania SET dostarczono_utc = ?, dostarczono_tz = ?"
                f" WHERE dostarczono_utc IS NULL AND id IN ({_marks(chunk)}) RETURNING id"
            )
            done.update(row[0] for row in self._rows(sql, [utc, tz, *chunk]))
        return [message_id for message_id in wanted if message_id in done]


class GymClubs(_Repository):
    """Clubs (``kluby``)."""

    def network_clubs(self) -> Mapping[ClubId, Club]:
        """Every club by id."""
        return {row["id"]: m.club_from(row) for row in self._rows("SELECT * FROM kluby")}


class GymEmployees(_Repository):
    """Employees: the ``people`` rows whose ``rola`` is ``pracownik``."""

    def get(self, employee_id: EmployeeId) -> Employee | None:
        """The employee with the permissions the library knows, or ``None``."""
        rows = self._rows(f"SELECT * FROM people WHERE id = ? AND {_IS_EMPLOYEE}", [employee_id])
        if not rows:
            return None
        codes = self._rows("SELECT uprawnienie FROM uprawnienia WHERE osoba_id = ?", [employee_id])
        return m.employee_from(rows[0], (row[0] for row in codes))


class GymAccounting(_Repository):
    """Invoices and receipts, read-only."""

    def invoices_of(self, member_id: MemberId) -> Iterable[Invoice]:
        """The member's invoices with their lines (two queries)."""
        lines: defaultdict[str, list[sqlite3.Row]] = defaultdict(list)
        for line in self._rows(
            "SELECT p.* FROM faktury_pozycje p JOIN faktury f ON f.id = p.faktura_id"
            " WHERE f.osoba_id = ? ORDER BY p.faktura_id, p.lp",
            [member_id],
        ):
            lines[line["faktura_id"]].append(line)
        return [
            m.invoice_from(row, lines[row["id"]])
            for row in self._rows(
                "SELECT * FROM faktury WHERE osoba_id = ? ORDER BY id", [member_id]
            )
        ]

    def receipts_of(self, member_id: MemberId) -> Iterable[Receipt]:
        """The member's receipts."""
        return self._of("paragony", member_id, m.receipt_from)


class GymProfile(_Repository):
    """The rest of the profile, for the export (each a list ordered by id)."""

    def visits_of(self, member_id: MemberId) -> Iterable[Visit]:
        """``wejscia``."""
        return self._of("wejscia", member_id, m.visit_from)

    def class_bookings_of(self, member_id: MemberId) -> Iterable[ClassBooking]:
        """``rezerwacje``."""
        return self._of("rezerwacje", member_id, m.class_booking_from)

    def measurements_of(self, member_id: MemberId) -> Iterable[Measurement]:
        """``pomiary``."""
        return self._of("pomiary", member_id, m.measurement_from)

    def exercises_of(self, member_id: MemberId) -> Iterable[Exercise]:
        """``cwiczenia``."""
        return self._of("cwiczenia", member_id, m.exercise_from)

    def notes_of(self, member_id: MemberId) -> Iterable[Note]:
        """``notatki`` of every type."""
        return self._of("notatki", member_id, m.note_from)

    def log_entries_of(self, member_id: MemberId) -> Iterable[LogEntry]:
        """``log_profilu``."""
        return self._of("log_profilu", member_id, m.log_entry_from)

    def documents_of(self, member_id: MemberId) -> Iterable[Document]:
        """``dokumenty`` with their content."""
        return self._of("dokumenty", member_id, m.document_from)


_DUE: Final = """
WITH progi (klub_id, prog) AS (VALUES {thresholds}),
konce AS (
    SELECT osoba_id,
           MAX(CASE WHEN wypowiedziano IS NOT NULL
                         AND (do_dnia IS NULL OR wypowiedziano < do_dnia)
                    THEN wypowiedziano ELSE do_dnia END) AS ostatni_koniec,
           MAX(do_dnia IS NULL AND wypowiedziano IS NULL) AS bezterminowa
    FROM umowy
    WHERE wypowiedziano IS NULL OR wypowiedziano >= od_dnia
    GROUP BY osoba_id
)
SELECT p.id
FROM people p
JOIN progi ON progi.klub_id = p.klub_id
LEFT JOIN konce k ON k.osoba_id = p.id
WHERE p.rola = 'klubowicz'
  AND p.zanonimizowano_utc IS NULL
  AND COALESCE(k.bezterminowa, 0) = 0
  AND COALESCE(k.ostatni_koniec, p.zarejestrowano) <= progi.prog
  AND (? IS NULL OR p.id > ?)
ORDER BY p.id
LIMIT ?
"""
"""Due members in one query. A contract terminated before its start was
cancelled and is left out; the effective end is the earlier of ``do_dnia`` and
``wypowiedziano``; days compare as ``YYYY-MM-DD`` text."""


class GymRetention(_Repository):
    """The retention job's query."""

    def due_members(
        self,
        *,
        thresholds: Mapping[ClubId, dt.date],
        after: MemberId | None = None,
        limit: int = 1000,
    ) -> Sequence[MemberId]:
        """Ids of the members due for retention, ordered by id, in one query."""
        if not thresholds or limit <= 0:
            return []
        pairs = sorted(thresholds.items())
        params: list[Any] = [value for club, day in pairs for value in (club, day.isoformat())]
        sql = _DUE.format(thresholds=", ".join("(?, ?)" for _ in pairs))
        return [row[0] for row in self._rows(sql, [*params, after, after, limit])]


class GymUnitOfWork:
    """One connection, one transaction (``BEGIN IMMEDIATE``), every repository.

    Args:
        open_connection: Opens a new connection (closed when the unit ends).
    """

    def __init__(self, open_connection: Callable[[], sqlite3.Connection]) -> None:
        self._open = open_connection
        self._connection: sqlite3.Connection | None = None
        self.members = GymMembers(self)
        self.facts = GymFacts(self)
        self.records = GymRecords(self)
        self.reminders = GymReminders(self)
        self.audit = GymAudit(self)
        self.clubs = GymClubs(self)
        self.employees = GymEmployees(self)
        self.accounting = GymAccounting(self)
        self.profile = GymProfile(self)
        self.retention = GymRetention(self)
        self.requests = GymRequests(self)
        self.outbox = GymOutbox(self)

    @property
    def connection(self) -> sqlite3.Connection:
        """The unit's connection (only inside the ``with`` block)."""
        if self._connection is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._connection

    def _in_transaction(self) -> sqlite3.Connection:
        """The connection, with a transaction open (a new one after a commit or rollback)."""
        connection = self.connection
        if not connection.in_transaction:
            connection.execute("BEGIN IMMEDIATE")
        return connection

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        """Run one statement inside the unit's transaction."""
        return self._in_transaction().execute(sql, params)

    def executemany(self, sql: str, params: Iterable[Sequence[Any] | Mapping[str, Any]]) -> None:
        """Run one statement for many parameter sets inside the unit's transaction."""
        self._in_transaction().executemany(sql, params)

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use")
        connection = self._open()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        finally:
            connection.close()

    def commit(self) -> None:
        """Make the unit's changes permanent."""
        connection = self.connection
        if connection.in_transaction:
            connection.execute("COMMIT")

    def rollback(self) -> None:
        """Discard the unit's changes."""
        connection = self.connection
        if connection.in_transaction:
            connection.execute("ROLLBACK")


class GymDatabase:
    """The gym application's database file, as the library's services see it.

    Args:
        path: The SQLite file holding the application's schema.
        timeout: Seconds a unit of work waits for another one's write lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout

    def unit_of_work(self) -> GymUnitOfWork:
        """A new unit of work (the factory to hand to the services)."""
        return GymUnitOfWork(lambda: connect(self.path, timeout=self.timeout))


def _conforms(uow: GymUnitOfWork) -> UnitOfWork:
    """Static proof (checked by mypy) that the adapter implements the ports."""
    return uow

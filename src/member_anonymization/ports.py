"""The repository protocols a host application implements.

The library never touches a database itself: the services (the anonymizer, the
exporter, the retention sweep) work only through these :class:`typing.Protocol`
classes, which a host implements over its own schema. ``member_anonymization.testing``
implements all of them in memory, and ``member_anonymization.adapters.sql`` over
a reference SQL schema: both are worked examples.

Rules every implementation must follow:

* **One transaction.** Every repository reached through one :class:`UnitOfWork`
  reads and writes inside that unit's single transaction.
* **Nothing sticks without commit.** Leaving the ``with`` block without
  :meth:`UnitOfWork.commit` rolls everything back, also after an exception.
* **Locks last until the unit ends.** :meth:`MemberRepository.lock` holds the
  members' rows until commit or rollback, so that a second worker waits (or skips
  them) and a contract committed by another transaction is either seen by the
  re-check or waits for it.
* **Batches.** Methods take several member ids so that an adapter can use one
  set-based statement for a whole batch; the manual path passes one id. Counts
  come back per member id; a member with nothing to delete may be absent.
* **Invoices and receipts are read-only.** :class:`AccountingReader` has no
  method that writes, and nothing in the library writes them.

A factory may also offer **read-only units of work** (an optional capability,
:class:`ReadOnlyUnitOfWorkFactory`): its ``read_only()`` opens a unit that
reads one consistent snapshot and takes no write lock and no row lock. The
services use it where they only read (checks, the export's reading, dry runs,
counting due members, listing and showing erasure requests) and fall back to
the plain factory when it has no ``read_only``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Protocol, Self

from member_anonymization.domain import (
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

__all__ = [
    "AccountingReader",
    "AuditLog",
    "Clock",
    "ClubReader",
    "EmployeeReader",
    "ErasableRecords",
    "ErasureRequestRegister",
    "FactsReader",
    "MemberRepository",
    "Outbox",
    "ProfileReader",
    "ReadOnlyUnitOfWorkFactory",
    "ReminderWriter",
    "RetentionReader",
    "UnitOfWork",
    "UnitOfWorkFactory",
]


class Clock(Protocol):
    """The current time."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


class ClubReader(Protocol):
    """The clubs of the network (read-only)."""

    def network_clubs(self) -> Mapping[ClubId, Club]:
        """Every club of the network, by id."""
        ...


class EmployeeReader(Protocol):
    """Employees and their permissions (read-only)."""

    def get(self, employee_id: EmployeeId) -> Employee | None:
        """The employee, or ``None`` when there is no such employee."""
        ...


class MemberRepository(Protocol):
    """Members: reading, locking, and the changes anonymization makes to them."""

    def get(self, member_id: MemberId) -> Member | None:
        """The member as stored now, or ``None``; takes no lock."""
        ...

    def lock(
        self, member_ids: Sequence[MemberId], *, skip_locked: bool = False
    ) -> Sequence[MemberId]:
        """Lock the members' rows until the unit of work ends.

        Args:
            member_ids: The members to lock.
            skip_locked: Skip members another transaction holds instead of
                waiting for them (for several bulk workers at once).

        Returns:
            The ids that exist and are now locked by this unit of work.
        """
        ...

    def replace_personal_data(self, replacements: Mapping[MemberId, PersonalData]) -> None:
        """Overwrite every personal field of each member with the given values."""
        ...

    def delete_photos(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' photos; return how many were deleted per member."""
        ...

    def mark_anonymized(self, member_ids: Sequence[MemberId], at: dt.datetime) -> None:
        """Record that the members were anonymized at ``at``."""
        ...


class FactsReader(Protocol):
    """What the blocker policy needs, in every club of the network."""

    def load_facts(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, MemberFacts]:
        """Each member's facts in every club of the network; unknown ids left out.

        The facts are the member with their contracts, collection cases,
        wallets, installments and purchases. An adapter answers a batch in a
        fixed number of queries, never one query per member per record kind.
        """
        ...


class ErasableRecords(Protocol):
    """The records anonymization deletes (Log, Documents, training and health)."""

    def delete_log_entries(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' log entries; return the counts per member."""
        ...

    def delete_documents(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' documents and their content; return the counts."""
        ...

    def delete_measurements(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' measurements; return the counts per member."""
        ...

    def delete_exercises(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' exercises; return the counts per member."""
        ...

    def delete_notes(
        self, member_ids: Sequence[MemberId], *, note_types: Collection[NoteType] | None
    ) -> Mapping[MemberId, int]:
        """Delete the members' notes of ``note_types`` (``None``: of every type)."""
        ...


class ReminderWriter(Protocol):
    """Reminders (Przypomnienia) for the clubs' staff."""

    def add(self, reminders: Sequence[Reminder]) -> None:
        """Store the reminders."""
        ...


class AuditLog(Protocol):
    """The audit trail. Entries hold no personal data beyond the member's pseudonymous id."""

    def add(self, entries: Sequence[AuditEntry]) -> None:
        """Store the entries."""
        ...

    def anonymizations(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[AuditEntry]:
        """Entries of anonymizations (not exports), ordered by id, after ``after``.

        The erasure ledger is read from here, page by page.
        """
        ...


class ErasureRequestRegister(Protocol):
    """The register of erasure requests (the club's evidence).

    A request holds no personal data beyond the member's pseudonymous id.

    A member has at most one open request. Requests are replaced whole by
    :meth:`update`; the services never change a closed one.
    """

    def get(self, request_id: str) -> ErasureRequest | None:
        """The request, or ``None`` when there is no such request."""
        ...

    def open_for(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, ErasureRequest]:
        """The open request of each member that has one (one query for a batch)."""
        ...

    def add(self, requests: Sequence[ErasureRequest]) -> None:
        """Store new requests."""
        ...

    def update(self, requests: Sequence[ErasureRequest]) -> None:
        """Replace stored requests (matched by id) with these versions."""
        ...

    def open_requests(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[ErasureRequest]:
        """Open requests ordered by id, after the id ``after`` (for paging)."""
        ...

    def all(self, *, status: RequestStatus | None = None) -> Iterable[ErasureRequest]:
        """Every request (of ``status``, when given), ordered by id; may be lazy."""
        ...


class Outbox(Protocol):
    """Events and notices for the host to deliver (written in the same transaction)."""

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Store new messages, pending."""
        ...

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, or ``None`` when there is no such message."""
        ...

    def pending(self, *, limit: int | None = None) -> Sequence[OutboxMessage]:
        """Pending messages, oldest first (by ``created_at``, then id)."""
        ...

    def of_request(self, request_id: str) -> Sequence[OutboxMessage]:
        """Every message of an erasure request, delivered or not, oldest first."""
        ...

    def mark_delivered(self, message_ids: Sequence[str], at: dt.datetime) -> Sequence[str]:
        """Mark pending messages delivered at ``at``; return the ids that were pending.

        Unknown ids and messages delivered already are left as they are.
        """
        ...


class AccountingReader(Protocol):
    """Invoices and receipts: read-only, by design.

    Results may be streamed like those of :class:`ProfileReader`.
    """

    def invoices_of(self, member_id: MemberId) -> Iterable[Invoice]:
        """The member's invoices, exactly as issued."""
        ...

    def receipts_of(self, member_id: MemberId) -> Iterable[Receipt]:
        """The member's receipts, exactly as issued."""
        ...


class ProfileReader(Protocol):
    """The rest of a member's profile, for the export.

    Results may be streamed (a lazy iterable); a lazy result yields records
    ordered by id, and each call starts a new iteration.
    """

    def visits_of(self, member_id: MemberId) -> Iterable[Visit]:
        """The member's visits."""
        ...

    def class_bookings_of(self, member_id: MemberId) -> Iterable[ClassBooking]:
        """The member's class bookings."""
        ...

    def measurements_of(self, member_id: MemberId) -> Iterable[Measurement]:
        """The member's measurements."""
        ...

    def exercises_of(self, member_id: MemberId) -> Iterable[Exercise]:
        """The member's exercises."""
        ...

    def notes_of(self, member_id: MemberId) -> Iterable[Note]:
        """The member's notes, of every type."""
        ...

    def log_entries_of(self, member_id: MemberId) -> Iterable[LogEntry]:
        """The member's log entries."""
        ...

    def documents_of(self, member_id: MemberId) -> Iterable[Document]:
        """The member's documents, with their content."""
        ...


class RetentionReader(Protocol):
    """Finds the members the retention job must anonymize."""

    def due_members(
        self,
        *,
        thresholds: Mapping[ClubId, dt.date],
        after: MemberId | None = None,
        limit: int = 1000,
    ) -> Sequence[MemberId]:
        """Ids of the members due for retention, ordered by id (the host's order of its ids).

        A member is due when they are not anonymized, their home club is a key
        of ``thresholds``, and their last contract end is on or before that
        club's threshold date. The last contract end is the latest effective end
        (the earlier of end and termination) of their contracts in every club
        of the network, ignoring contracts cancelled before their start; a
        member with an open-ended contract has none and is never due; a member
        without any (non-cancelled) contract counts from their registration date.

        Args:
            thresholds: Per home club, the latest last-contract-end that is due.
            after: Return only ids after this one in that order (for paging).
            limit: Return at most this many ids.

        An adapter answers with one query, never by loading every member.
        """
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository; rolls back unless committed.

    Use it as a context manager; :meth:`commit` makes the changes permanent and
    leaving the block without it (normally or by an exception) rolls back.
    """

    @property
    def members(self) -> MemberRepository:
        """Members."""
        ...

    @property
    def facts(self) -> FactsReader:
        """The policy's facts."""
        ...

    @property
    def records(self) -> ErasableRecords:
        """Records that anonymization deletes."""
        ...

    @property
    def reminders(self) -> ReminderWriter:
        """Reminders."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit trail."""
        ...

    @property
    def clubs(self) -> ClubReader:
        """The network's clubs."""
        ...

    @property
    def employees(self) -> EmployeeReader:
        """Employees."""
        ...

    @property
    def accounting(self) -> AccountingReader:
        """Invoices and receipts, read-only."""
        ...

    @property
    def profile(self) -> ProfileReader:
        """The rest of the profile, for the export."""
        ...

    @property
    def retention(self) -> RetentionReader:
        """The retention job's queries."""
        ...

    @property
    def requests(self) -> ErasureRequestRegister:
        """The register of erasure requests."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Events and notices for the host to deliver."""
        ...

    def __enter__(self) -> Self:
        """Begin the transaction."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        """Roll back unless committed; release the locks."""
        ...

    def commit(self) -> None:
        """Make every change of this unit permanent, atomically."""
        ...

    def rollback(self) -> None:
        """Discard every change of this unit."""
        ...


class UnitOfWorkFactory(Protocol):
    """Opens a fresh :class:`UnitOfWork` (one per operation)."""

    def __call__(self) -> UnitOfWork:
        """A new, not yet entered unit of work."""
        ...


class ReadOnlyUnitOfWorkFactory(UnitOfWorkFactory, Protocol):
    """A factory that also opens read-only units of work (optional).

    The services look for ``read_only`` on the factory they are given and use
    it where they only read: :meth:`~member_anonymization.Anonymizer.check`,
    the export's reading (its audit entry is then written in a short unit of
    its own), a dry run of the retention sweep and its ``count_due``, and
    listing and showing erasure requests. A factory without it gets plain
    units of work for those too.
    """

    def read_only(self) -> UnitOfWork:
        """A new, not yet entered unit of work that only reads.

        Everything it reads comes from one consistent snapshot of committed
        data, taken no later than its first read (``REPEATABLE READ READ
        ONLY`` on PostgreSQL; a ``DEFERRED`` transaction in WAL mode on
        SQLite). It takes no write lock and no row lock, so writers go on
        meanwhile; the services never write in it, never lock in it and
        never commit it. Leaving the ``with`` block ends it.
        """
        ...

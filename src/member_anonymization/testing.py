"""In-memory implementations of every port, for tests (yours and ours).

:class:`InMemoryStore` holds a whole :class:`~member_anonymization.serialization.Dataset`
and opens transactional units of work over it: a unit works on a private copy
and only :meth:`~InMemoryUnitOfWork.commit` publishes it, so a rollback (or an
exception) restores everything. One unit runs at a time (a store-wide lock),
which makes member locks trivially safe. A read-only unit
(``store.unit_of_work.read_only()``) takes no lock: it reads the data
committed when it began, while other units go on, and cannot commit.

It can also make any repository call fail, to prove atomicity::

    store = InMemoryStore(dataset)
    store.fail_on_call(3)          # the third repository call raises
    store.fail_on("records.delete_documents")
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, Self, TypeVar, final

import attrs

from member_anonymization.domain import (
    AuditEntry,
    ClassBooking,
    Club,
    ClubId,
    Contract,
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
from member_anonymization.ports import Clock, ReadOnlyUnitOfWorkFactory, UnitOfWork
from member_anonymization.retention import last_contract_end
from member_anonymization.serialization import RECORD_KINDS, Dataset

__all__ = [
    "FaultInjector",
    "FixedClock",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
    "InjectedFailure",
]

P = ParamSpec("P")
R = TypeVar("R")


class InjectedFailure(RuntimeError):
    """The failure :meth:`InMemoryStore.fail_on_call` and ``fail_on`` inject."""


@final
class FixedClock:
    """A clock that says what it is told. ``advance`` moves it on."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.at = at

    def now(self) -> dt.datetime:
        """The set instant."""
        return self.at

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock by ``delta``."""
        self.at += delta


@attrs.define
class _Tables:
    """Every record, by its kind's key (its id; a wallet: its member's id)."""

    dataset_network: Any
    data: dict[str, dict[str, Any]]

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> _Tables:
        data = {
            kind.collection: {kind.key(r): r for r in dataset.records(kind)}
            for kind in RECORD_KINDS
        }
        return cls(dataset.network, data)

    def copy(self) -> _Tables:
        return _Tables(self.dataset_network, {k: dict(v) for k, v in self.data.items()})

    def to_dataset(self) -> Dataset:
        return Dataset(
            network=self.dataset_network,
            **{
                kind.collection: tuple(self.data[kind.collection].values()) for kind in RECORD_KINDS
            },
        ).sorted()

    def of(self, collection: str, member_id: MemberId) -> list[Any]:
        return sorted(
            (r for r in self.data[collection].values() if r.member_id == member_id),
            key=lambda r: r.id,
        )

    def delete_where(
        self,
        collection: str,
        member_ids: Sequence[MemberId],
        keep: Callable[[Any], bool] | None = None,
    ) -> dict[MemberId, int]:
        wanted = set(member_ids)
        table = self.data[collection]
        counts: dict[MemberId, int] = {}
        for key, record in list(table.items()):
            if record.member_id in wanted and not (keep is not None and keep(record)):
                del table[key]
                counts[record.member_id] = counts.get(record.member_id, 0) + 1
        return counts


class _Repository:
    """Base of the in-memory repositories: tracked calls on the unit's tables."""

    _name = ""

    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _t(self) -> _Tables:
        return self._uow._tables()

    def _call(self, method: str) -> None:
        self._uow._store._before_call(f"{self._name}.{method}")


def _tracked(method: Callable[P, R]) -> Callable[P, R]:
    name = method.__name__

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        self = args[0]
        assert isinstance(self, _Repository)
        self._call(name)
        return method(*args, **kwargs)

    wrapper.__name__ = name
    wrapper.__doc__ = method.__doc__
    return wrapper


@final
class _Members(_Repository):
    _name = "members"

    @_tracked
    def get(self, member_id: MemberId) -> Member | None:
        """The member, or ``None``."""
        member: Member | None = self._t.data["members"].get(member_id)
        return member

    @_tracked
    def lock(
        self, member_ids: Sequence[MemberId], *, skip_locked: bool = False
    ) -> Sequence[MemberId]:
        """Every unit holds the store lock already: return the existing ids."""
        del skip_locked
        return [m for m in member_ids if m in self._t.data["members"]]

    @_tracked
    def replace_personal_data(self, replacements: Mapping[MemberId, PersonalData]) -> None:
        """Overwrite the members' personal data."""
        table = self._t.data["members"]
        for member_id, personal in replacements.items():
            table[member_id] = attrs.evolve(table[member_id], personal=personal)

    @_tracked
    def delete_photos(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete the members' photos."""
        table = self._t.data["members"]
        counts: dict[MemberId, int] = {}
        for member_id in member_ids:
            if table[member_id].photo is not None:
                table[member_id] = attrs.evolve(table[member_id], photo=None)
                counts[member_id] = 1
        return counts

    @_tracked
    def mark_anonymized(self, member_ids: Sequence[MemberId], at: dt.datetime) -> None:
        """Record the anonymization time."""
        table = self._t.data["members"]
        for member_id in member_ids:
            table[member_id] = attrs.evolve(table[member_id], anonymized_at=at)


@final
class _Facts(_Repository):
    _name = "facts"

    @_tracked
    def load_facts(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, MemberFacts]:
        """The policy's facts for each existing member."""
        t = self._t
        out: dict[MemberId, MemberFacts] = {}
        for member_id in member_ids:
            member = t.data["members"].get(member_id)
            if member is None:
                continue
            wallet = t.data["wallets"].get(member_id)
            out[member_id] = MemberFacts(
                member=member,
                contracts=tuple(t.of("contracts", member_id)),
                collection_cases=tuple(t.of("collection_cases", member_id)),
                wallets=() if wallet is None else (wallet,),
                installments=tuple(t.of("installments", member_id)),
                purchases=tuple(t.of("purchases", member_id)),
            )
        return out


@final
class _Records(_Repository):
    _name = "records"

    @_tracked
    def delete_log_entries(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete log entries."""
        return self._t.delete_where("log_entries", member_ids)

    @_tracked
    def delete_documents(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete documents."""
        return self._t.delete_where("documents", member_ids)

    @_tracked
    def delete_measurements(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete measurements."""
        return self._t.delete_where("measurements", member_ids)

    @_tracked
    def delete_exercises(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, int]:
        """Delete exercises."""
        return self._t.delete_where("exercises", member_ids)

    @_tracked
    def delete_notes(
        self, member_ids: Sequence[MemberId], *, note_types: Collection[NoteType] | None
    ) -> Mapping[MemberId, int]:
        """Delete notes of the given types (``None``: all)."""
        if note_types is None:
            return self._t.delete_where("notes", member_ids)
        types = frozenset(note_types)
        return self._t.delete_where("notes", member_ids, keep=lambda n: n.note_type not in types)


@final
class _Reminders(_Repository):
    _name = "reminders"

    @_tracked
    def add(self, reminders: Sequence[Reminder]) -> None:
        """Store reminders."""
        table = self._t.data["reminders"]
        for reminder in reminders:
            if reminder.id in table:
                raise ValueError(f"duplicate reminder id {reminder.id!r}")
            table[reminder.id] = reminder


@final
class _Audit(_Repository):
    _name = "audit"

    @_tracked
    def add(self, entries: Sequence[AuditEntry]) -> None:
        """Store audit entries."""
        table = self._t.data["audit"]
        for entry in entries:
            if entry.id in table:
                raise ValueError(f"duplicate audit entry id {entry.id!r}")
            table[entry.id] = entry

    @_tracked
    def anonymizations(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[AuditEntry]:
        """Anonymization entries by id, after ``after``."""
        entries = sorted(
            (
                e
                for e in self._t.data["audit"].values()
                if e.is_anonymization and (after is None or e.id > after)
            ),
            key=lambda e: e.id,
        )
        return entries[:limit]


@final
class _Requests(_Repository):
    _name = "requests"

    @_tracked
    def get(self, request_id: str) -> ErasureRequest | None:
        """The request, or ``None``."""
        request: ErasureRequest | None = self._t.data["erasure_requests"].get(request_id)
        return request

    @_tracked
    def open_for(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, ErasureRequest]:
        """The open request of each member that has one."""
        wanted = set(member_ids)
        return {
            r.member_id: r
            for r in self._t.data["erasure_requests"].values()
            if r.is_open and r.member_id in wanted
        }

    @_tracked
    def add(self, requests: Sequence[ErasureRequest]) -> None:
        """Store new requests."""
        table = self._t.data["erasure_requests"]
        for request in requests:
            if request.id in table:
                raise ValueError(f"duplicate erasure request id {request.id!r}")
            if request.is_open and any(
                r.is_open and r.member_id == request.member_id for r in table.values()
            ):
                raise ValueError(f"member {request.member_id!r} has an open request already")
            table[request.id] = request

    @_tracked
    def update(self, requests: Sequence[ErasureRequest]) -> None:
        """Replace stored requests by id."""
        table = self._t.data["erasure_requests"]
        for request in requests:
            if request.id not in table:
                raise KeyError(f"no erasure request {request.id!r}")
            table[request.id] = request

    @_tracked
    def open_requests(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[ErasureRequest]:
        """Open requests by id, after ``after``."""
        found = sorted(
            (
                r
                for r in self._t.data["erasure_requests"].values()
                if r.is_open and (after is None or r.id > after)
            ),
            key=lambda r: r.id,
        )
        return found[:limit]

    @_tracked
    def all(self, *, status: RequestStatus | None = None) -> Iterable[ErasureRequest]:
        """Every request (of ``status``), by id."""
        return sorted(
            (
                r
                for r in self._t.data["erasure_requests"].values()
                if status is None or r.status is status
            ),
            key=lambda r: r.id,
        )


def _outbox_order(message: OutboxMessage) -> tuple[dt.datetime, str]:
    return (message.created_at, message.id)


@final
class _Outbox(_Repository):
    _name = "outbox"

    @_tracked
    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Store new messages."""
        table = self._t.data["outbox"]
        for message in messages:
            if message.id in table:
                raise ValueError(f"duplicate outbox message id {message.id!r}")
            table[message.id] = message

    @_tracked
    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, or ``None``."""
        message: OutboxMessage | None = self._t.data["outbox"].get(message_id)
        return message

    @_tracked
    def pending(self, *, limit: int | None = None) -> Sequence[OutboxMessage]:
        """Pending messages, oldest first."""
        found = sorted(
            (m for m in self._t.data["outbox"].values() if m.is_pending), key=_outbox_order
        )
        return found if limit is None else found[:limit]

    @_tracked
    def of_request(self, request_id: str) -> Sequence[OutboxMessage]:
        """The request's messages, oldest first."""
        return sorted(
            (m for m in self._t.data["outbox"].values() if m.request_id == request_id),
            key=_outbox_order,
        )

    @_tracked
    def mark_delivered(self, message_ids: Sequence[str], at: dt.datetime) -> Sequence[str]:
        """Mark pending messages delivered."""
        table = self._t.data["outbox"]
        done: list[str] = []
        for message_id in dict.fromkeys(message_ids):
            message = table.get(message_id)
            if message is not None and message.is_pending:
                table[message_id] = message.delivered(at)
                done.append(message_id)
        return done


@final
class _Clubs(_Repository):
    _name = "clubs"

    @_tracked
    def network_clubs(self) -> Mapping[ClubId, Club]:
        """Every club by id."""
        return dict(self._t.data["clubs"])


@final
class _Employees(_Repository):
    _name = "employees"

    @_tracked
    def get(self, employee_id: EmployeeId) -> Employee | None:
        """The employee, or ``None``."""
        employee: Employee | None = self._t.data["employees"].get(employee_id)
        return employee


@final
class _Accounting(_Repository):
    _name = "accounting"

    @_tracked
    def invoices_of(self, member_id: MemberId) -> Iterable[Invoice]:
        """The member's invoices."""
        return self._t.of("invoices", member_id)

    @_tracked
    def receipts_of(self, member_id: MemberId) -> Iterable[Receipt]:
        """The member's receipts."""
        return self._t.of("receipts", member_id)


@final
class _Profile(_Repository):
    _name = "profile"

    @_tracked
    def visits_of(self, member_id: MemberId) -> Iterable[Visit]:
        """Visits."""
        return self._t.of("visits", member_id)

    @_tracked
    def class_bookings_of(self, member_id: MemberId) -> Iterable[ClassBooking]:
        """Class bookings."""
        return self._t.of("class_bookings", member_id)

    @_tracked
    def measurements_of(self, member_id: MemberId) -> Iterable[Measurement]:
        """Measurements."""
        return self._t.of("measurements", member_id)

    @_tracked
    def exercises_of(self, member_id: MemberId) -> Iterable[Exercise]:
        """Exercises."""
        return self._t.of("exercises", member_id)

    @_tracked
    def notes_of(self, member_id: MemberId) -> Iterable[Note]:
        """Notes."""
        return self._t.of("notes", member_id)

    @_tracked
    def log_entries_of(self, member_id: MemberId) -> Iterable[LogEntry]:
        """Log entries."""
        return self._t.of("log_entries", member_id)

    @_tracked
    def documents_of(self, member_id: MemberId) -> Iterable[Document]:
        """Documents."""
        return self._t.of("documents", member_id)


@final
class _Retention(_Repository):
    _name = "retention"

    @_tracked
    def due_members(
        self,
        *,
        thresholds: Mapping[ClubId, dt.date],
        after: MemberId | None = None,
        limit: int = 1000,
    ) -> Sequence[MemberId]:
        """Members due for retention, by id."""
        t = self._t
        contracts: dict[MemberId, list[Contract]] = {}
        for contract in t.data["contracts"].values():
            contracts.setdefault(contract.member_id, []).append(contract)
        due: list[MemberId] = []
        for member in t.data["members"].values():
            threshold = thresholds.get(member.home_club_id)
            if threshold is None or member.anonymized_at is not None:
                continue
            if after is not None and member.id <= after:
                continue
            end = last_contract_end(member, contracts.get(member.id, ()))
            if end is not None and end <= threshold:
                due.append(member.id)
        return sorted(due)[:limit]


@final
class InMemoryUnitOfWork:
    """A transaction over an :class:`InMemoryStore`; rolls back unless committed.

    Args:
        store: The store.
        read_only: Read the data committed when the unit begins, without the
            store's lock (other units go on meanwhile); it cannot commit.
    """

    def __init__(self, store: InMemoryStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._working: _Tables | None = None
        self.members = _Members(self)
        self.facts = _Facts(self)
        self.records = _Records(self)
        self.reminders = _Reminders(self)
        self.audit = _Audit(self)
        self.clubs = _Clubs(self)
        self.employees = _Employees(self)
        self.accounting = _Accounting(self)
        self.profile = _Profile(self)
        self.retention = _Retention(self)
        self.requests = _Requests(self)
        self.outbox = _Outbox(self)

    def _tables(self) -> _Tables:
        if self._working is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._working

    @property
    def read_only(self) -> bool:
        """Whether this unit only reads (no lock; it cannot commit)."""
        return self._read_only

    def __enter__(self) -> Self:
        if self._working is not None:
            raise RuntimeError("this unit of work is already in use")
        if self._read_only:
            # The committed tables are never changed once published (a commit
            # publishes the writer's copy), so reading them needs no lock.
            self._working = self._store._tables.copy()
            return self
        self._store._lock.acquire()
        self._working = self._store._tables.copy()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._working is None:
            return
        self._working = None
        if not self._read_only:
            self._store._lock.release()

    def commit(self) -> None:
        """Publish every change of this unit.

        Raises:
            RuntimeError: The unit is read-only.
        """
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        self._store._before_call("uow.commit")
        self._store._tables = self._tables()
        self._working = self._store._tables.copy()
        self._store.commits += 1

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        self._tables()
        self._working = self._store._tables.copy()


class _FailurePlan:
    """Records calls by name and makes chosen ones raise :class:`InjectedFailure`."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._fail_at: int | None = None
        self._fail_names: set[str] = set()

    def fail_on_call(self, n: int) -> None:
        """Make the ``n``-th call from now on (1-based) raise :class:`InjectedFailure`."""
        if n < 1:
            raise ValueError("n counts from 1")
        self._fail_at = len(self.calls) + n

    def fail_on(self, name: str) -> None:
        """Make every call of ``"repository.method"`` raise until :meth:`heal`."""
        self._fail_names.add(name)

    def heal(self) -> None:
        """Stop injecting failures."""
        self._fail_at = None
        self._fail_names.clear()

    def _before_call(self, name: str) -> None:
        self.calls.append(name)
        if name in self._fail_names or self._fail_at == len(self.calls):
            raise InjectedFailure(f"injected failure in {name}")


@final
class InMemoryStore(_FailurePlan):
    """A whole dataset in memory, behind transactional units of work.

    Args:
        dataset: The initial content.

    Attributes:
        calls: Every repository call made, as ``"repository.method"``, in order.
        commits: How many units committed.
    """

    def __init__(self, dataset: Dataset) -> None:
        self._tables = _Tables.from_dataset(dataset)
        self._lock = threading.RLock()
        self.commits = 0
        super().__init__()

    @property
    def unit_of_work(self) -> InMemoryUnitOfWorkFactory:
        """The factory to hand to the services: ``store.unit_of_work()`` opens a unit of work.

        ``store.unit_of_work.read_only()`` opens a read-only one.
        """
        return InMemoryUnitOfWorkFactory(self)

    def snapshot(self) -> Dataset:
        """The committed content, every collection in canonical order."""
        with self._lock:
            return self._tables.to_dataset()

    def iter_members(self) -> Iterator[Member]:
        """Every committed member (for tests)."""
        with self._lock:
            return iter(sorted(self._tables.data["members"].values(), key=lambda m: m.id))


@final
class InMemoryUnitOfWorkFactory:
    """:attr:`InMemoryStore.unit_of_work`: opens units of work, plain or read-only.

    A :class:`~member_anonymization.ports.ReadOnlyUnitOfWorkFactory`.
    """

    __slots__ = ("_store",)

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def __call__(self) -> InMemoryUnitOfWork:
        """A new unit of work."""
        return InMemoryUnitOfWork(self._store)

    def read_only(self) -> InMemoryUnitOfWork:
        """A new read-only unit of work: no lock, no commit."""
        return InMemoryUnitOfWork(self._store, read_only=True)


_REPOSITORIES = (
    "members",
    "facts",
    "records",
    "reminders",
    "audit",
    "clubs",
    "employees",
    "accounting",
    "profile",
    "retention",
    "requests",
    "outbox",
)


class _FailingRepository:
    """Forwards to a repository; every method call first asks the injector."""

    def __init__(self, injector: FaultInjector, name: str, inner: Any) -> None:
        self._injector = injector
        self._name = name
        self._inner = inner

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._inner, attribute)
        if not callable(target):
            return target
        label = f"{self._name}.{attribute}"

        def call(*args: Any, **kwargs: Any) -> Any:
            self._injector._before_call(label)
            return target(*args, **kwargs)

        return call


class _FailingUnitOfWork:
    """Wraps any unit of work so that the injector sees every repository call."""

    def __init__(self, injector: FaultInjector, inner: Any) -> None:
        self._injector = injector
        self._inner = inner

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._inner, attribute)
        if attribute in _REPOSITORIES:
            return _FailingRepository(self._injector, attribute, value)
        return value

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._inner.__exit__(*exc_info)

    def commit(self) -> None:
        self._injector._before_call("uow.commit")
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()


@final
class FaultInjector(_FailurePlan):
    """Wraps any unit-of-work factory to record and fail repository calls.

    Use it to prove that *your* adapter is atomic: run an operation once to
    learn its calls, then once per call with that call failing, and check that
    the store is unchanged each time::

        injector = FaultInjector(my_adapter.unit_of_work)
        anonymizer = Anonymizer(injector, clock=clock)
        injector.fail_on_call(3)

    Attributes:
        calls: Every call seen, as ``"repository.method"`` (and ``"uow.commit"``).
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        super().__init__()

    def __call__(self) -> Any:
        """A new wrapped unit of work."""
        return _FailingUnitOfWork(self, self._factory())

    def read_only(self) -> Any:
        """A new wrapped read-only unit of work (a plain one when the factory has none)."""
        read_only = getattr(self._factory, "read_only", None)
        return _FailingUnitOfWork(self, (read_only if callable(read_only) else self._factory)())


def _conforms(
    store: InMemoryStore, uow: InMemoryUnitOfWork, clock: FixedClock
) -> tuple[ReadOnlyUnitOfWorkFactory, UnitOfWork, Clock]:
    """Static proof (checked by mypy) that the fakes implement the ports."""
    return store.unit_of_work, uow, clock

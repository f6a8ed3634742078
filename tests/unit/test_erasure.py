"""RequestDesk and RequestProcessor: erasure requests over time, through every store backend."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any, Final

import attrs
import pytest

from member_anonymization import (
    AnonymizationOptions,
    Anonymized,
    Anonymizer,
    UnknownEmployeeError,
    UnknownMemberError,
    generic_placeholder,
)
from member_anonymization.domain import (
    AnonymizationMode,
    AuditEntry,
    ErasureRequest,
    ExtensionReason,
    Member,
    Notice,
    NoticeKind,
    OutboxKind,
    OutboxMessage,
    Permission,
    RejectionReason,
    Reminder,
    RequestChannel,
    RequestStateError,
    RequestStatus,
)
from member_anonymization.erasure import (
    NEAR_DEADLINE_DAYS,
    RequestAlreadyOpen,
    RequestCompleted,
    RequestDesk,
    RequestExtended,
    RequestNotPermitted,
    RequestProcessor,
    RequestReceived,
    RequestRejected,
    RequestUnchanged,
    RequestWithdrawn,
)
from member_anonymization.errors import FutureDateError, UnknownClubError, UnknownRequestError
from member_anonymization.retention import RetentionSweep
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FaultInjector, FixedClock, InjectedFailure
from tests import builders as b
from tests.backends import MakeStore, Store
from tests.strategies import Traces, find_traces, personal_strings

D = dt.date
NOW: Final = b.NOON_UTC
"""Noon UTC on 2026-11-27: the same day in Warsaw (c1) and in New York (c2)."""
TODAY: Final = b.TODAY
DEADLINE: Final = D(2026, 12, 27)
"""The deadline of a request received today."""
LATEST: Final = D(2027, 2, 27)
"""Three months after today: the default extended deadline."""

CLUB_NAME: Final = "Fit Centrum"
OTHER_CLUB_NAME: Final = "Fit Brooklyn"
EVERY_PERMISSION: Final = tuple(Permission)

LIBRARY_COLLECTIONS: Final = ("erasure_requests", "outbox", "reminders", "audit")
"""The collections the library writes."""


# ----------------------------------------------------------------------------- helpers


def noon(day: D, hour: int = 12, minute: int = 0) -> dt.datetime:
    """An instant on ``day`` UTC (noon unless told otherwise)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def requests_dataset(*records: Any, member: Member | None = None) -> Dataset:
    """Clubs c1 (Warsaw) and c2 (New York), three employees, member m1 and ``records``.

    e1 holds every permission, e2 may only handle erasure requests, e3 may
    anonymize and export but not handle requests. m1 has a photo, a
    "training and health" note and a log entry, and nothing that blocks.
    """
    return b.dataset(
        b.club("c1", name=CLUB_NAME),
        b.club("c2", name=OTHER_CLUB_NAME, tz="America/New_York"),
        b.employee("e1", permissions=EVERY_PERMISSION),
        b.employee("e2", permissions=[Permission.HANDLE_ERASURE_REQUESTS]),
        b.employee("e3"),
        member if member is not None else b.member("m1"),
        b.note("n-m1"),
        b.log_entry("l-m1"),
        *records,
    )


@attrs.define
class Env:
    """A store with a clock and options shared by every service of the test."""

    store: Store
    clock: FixedClock
    options: AnonymizationOptions

    def on(self, when: D | dt.datetime) -> Env:
        """Set the clock to ``when`` (a day means its noon UTC)."""
        self.clock.at = when if isinstance(when, dt.datetime) else noon(when)
        return self

    def desk(self) -> RequestDesk:
        """The request desk."""
        return RequestDesk(self.store.unit_of_work, clock=self.clock, options=self.options)

    def processor(self) -> RequestProcessor:
        """The processing run."""
        return RequestProcessor(self.store.unit_of_work, clock=self.clock, options=self.options)

    def anonymizer(self) -> Anonymizer:
        """The manual path."""
        return Anonymizer(self.store.unit_of_work, clock=self.clock, options=self.options)

    def sweep(self) -> RetentionSweep:
        """The retention sweep."""
        return RetentionSweep(self.store.unit_of_work, clock=self.clock, options=self.options)

    def receive(self, member_id: str = "m1", **options: Any) -> RequestReceived:
        """Register a request for ``member_id`` by e1 that stays open."""
        result = self.desk().receive(member_id, actor=options.pop("actor", "e1"), **options)
        assert isinstance(result, RequestReceived)
        return result

    def snapshot(self) -> Dataset:
        """The committed content."""
        return self.store.snapshot()


def setup(
    make_store: MakeStore,
    *records: Any,
    member: Member | None = None,
    at: dt.datetime = NOW,
    language: str = "en",
) -> Env:
    """An environment over :func:`requests_dataset`, with counted ids (``id-0001``, ...)."""
    counter = itertools.count(1)
    options = AnonymizationOptions(
        id_factory=lambda: f"id-{next(counter):04d}", notice_language=language
    )
    store = make_store(requests_dataset(*records, member=member))
    return Env(store=store, clock=FixedClock(at), options=options)


def request_in(data: Dataset, request_id: str) -> ErasureRequest:
    """The request with that id in a snapshot."""
    (found,) = [r for r in data.erasure_requests if r.id == request_id]
    return found


def member_in(data: Dataset, member_id: str = "m1") -> Member:
    """The member with that id in a snapshot."""
    (found,) = [m for m in data.members if m.id == member_id]
    return found


def notices_in(data: Dataset, kind: NoticeKind | None = None) -> list[OutboxMessage]:
    """The notice messages of a snapshot (of ``kind``), oldest first."""
    return sorted(
        (
            m
            for m in data.outbox
            if m.kind is OutboxKind.NOTICE
            and m.notice is not None
            and (kind is None or m.notice.kind is kind)
        ),
        key=lambda m: (m.created_at, m.id),
    )


def notice_in(data: Dataset, kind: NoticeKind) -> Notice:
    """The one notice of ``kind`` in a snapshot."""
    (message,) = notices_in(data, kind)
    assert message.notice is not None
    return message.notice


def events_in(data: Dataset) -> list[OutboxMessage]:
    """The ``member_anonymized`` events of a snapshot."""
    return [m for m in data.outbox if m.kind is OutboxKind.MEMBER_ANONYMIZED]


def reminders_in(data: Dataset, kind: str) -> list[Reminder]:
    """The reminders of ``kind`` in a snapshot."""
    return [r for r in data.reminders if r.kind == kind]


def the_audit_entry(data: Dataset) -> AuditEntry:
    """The one audit entry of a snapshot."""
    (entry,) = data.audit
    return entry


def traces_of(member: Member) -> Traces:
    """The member's personal strings and photo (the country code aside: "PL" is in "PLN")."""
    strings = personal_strings(member) - {member.personal.address.country}  # type: ignore[union-attr]
    return Traces(strings=strings, photo=None if member.photo is None else member.photo.data)


def assert_no_traces(data: Dataset, traces: Traces) -> None:
    """None of ``traces`` appears in what the library wrote."""
    outside = tuple(name for name in Dataset.__annotations__ if name not in LIBRARY_COLLECTIONS)
    assert find_traces(data, traces, outside=outside) == []


def assert_no_personal_value(notice: Notice) -> None:
    """Neither subject nor body holds a personal value of the default member."""
    for value in (*b.PERSONAL_VALUES, b.POSTAL_CODE, b.FULL_NAME):
        assert value not in notice.subject
        assert value not in notice.body


# The blockers, one scenario each: (member, records).
RUNNING = b.contract("k-run", start=D(2026, 1, 1), end=D(2027, 3, 31))
NEXT = b.contract("k-next", start=D(2027, 1, 1), end=D(2027, 12, 31))
OPEN_CASE = b.collection_case("w-open", opened_on=D(2026, 5, 1), closed_on=None)
FUNDS = b.wallet("25.50")
LATE = b.installment("i-late", due_on=D(2026, 10, 10), amount="99.00")

BLOCKED_BY: Final[dict[str, tuple[Member | None, tuple[Any, ...]]]] = {
    "active_contract": (None, (RUNNING,)),
    "future_contract": (None, (NEXT,)),
    "open_collection_case": (None, (OPEN_CASE,)),
    "wallet_funds": (None, (FUNDS,)),
    "processing_restricted": (b.member("m1", restrict_processing=True), ()),
    "arrears_under_collection": (None, (LATE,)),
}
"""Every blocker a request can meet (an anonymized member's request is completed at once)."""

STAFF_ACTION: Final = (
    "open_collection_case",
    "wallet_funds",
    "processing_restricted",
    "arrears_under_collection",
)

REASONS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "en": {
        "active_contract": (
            "your membership contract k-run runs until 2027-03-31.",
            "This clears by itself once the contract has ended.",
        ),
        "future_contract": (
            "your membership contract k-next starts on 2027-01-01.",
            "This clears once that contract has ended or has been cancelled.",
        ),
        "open_collection_case": (
            "a debt-collection case (w-open) is open.",
            "This clears once the case is closed.",
        ),
        "wallet_funds": (
            "your wallet holds 25.50 PLN.",
            "This clears once the money has been refunded to you or used.",
        ),
        "processing_restricted": (
            "you asked us to restrict the processing of your data",
            "This clears once the restriction is lifted.",
        ),
        "arrears_under_collection": (
            "installments of 99.00 PLN are overdue and handled by debt collection.",
            "This clears once they are settled.",
        ),
    },
    "pl": {
        "active_contract": (
            "Twoja umowa k-run obowiązuje do 2027-03-31.",
            "Ta przeszkoda ustąpi sama po zakończeniu umowy.",
        ),
        "future_contract": (
            "Twoja umowa k-next zaczyna się 2027-01-01.",
            "Ta przeszkoda ustąpi po zakończeniu lub anulowaniu tej umowy.",
        ),
        "open_collection_case": (
            "prowadzona jest sprawa windykacyjna (w-open).",
            "Ta przeszkoda ustąpi po zamknięciu sprawy.",
        ),
        "wallet_funds": (
            "w Twoim Portfelu są środki: 25.50 PLN.",
            "Ta przeszkoda ustąpi po zwrocie lub wykorzystaniu środków.",
        ),
        "processing_restricted": (
            "ograniczyliśmy przetwarzanie Twoich danych",
            "Ta przeszkoda ustąpi po zniesieniu ograniczenia.",
        ),
        "arrears_under_collection": (
            "zaległe raty na kwotę 99.00 PLN są przedmiotem windykacji.",
            "Ta przeszkoda ustąpi po ich uregulowaniu.",
        ),
    },
}
"""Each blocker's reason and what clears it, as a notice words them."""

SUPERVISORY_AUTHORITY: Final = {
    "en": ("President of the Personal Data Protection Office", "PUODO", "judicial remedy"),
    "pl": ("Prezesa Urzędu Ochrony Danych Osobowych", "organu nadzorczego", "przed sądem"),
}
"""What names the supervisory authority and the judicial remedy, by language."""

LANGUAGES: Final = ("en", "pl")


def blocked(make_store: MakeStore, code: str, **options: Any) -> Env:
    """An environment whose member m1 is blocked by ``code`` only."""
    member, records = BLOCKED_BY[code]
    return setup(make_store, *records, member=member, **options)


# ----------------------------------------------------------------------------- receive


def test_receive_blocked_stays_open(make_store: MakeStore) -> None:
    """A blocked member's request stays open with its deadline, blockers and a received notice."""
    env = setup(make_store, RUNNING)
    result = env.desk().receive("m1", actor="e1", channel=RequestChannel.EMAIL, anonymize=True)
    assert isinstance(result, RequestReceived)
    assert result.status == "open"
    request = result.request
    assert (request.member_id, request.club_id, request.registered_by) == ("m1", "c1", "e1")
    assert (request.received_at, request.received_on, request.deadline) == (NOW, TODAY, DEADLINE)
    assert request.channel is RequestChannel.EMAIL
    assert request.status is RequestStatus.OPEN
    assert result.eligibility.blocker_codes == ("active_contract",)
    assert result.eligibility.as_of == TODAY
    assert result.expected_on == D(2027, 4, 1)
    (notice,) = result.notices
    assert notice.kind is NoticeKind.RECEIVED
    data = env.snapshot()
    assert request_in(data, request.id) == request
    assert [m.notice for m in notices_in(data)] == [notice]
    assert member_in(data).anonymized_at is None
    assert data.audit == ()
    assert events_in(data) == []


def test_receive_eligible_without_anonymize_stays_open(make_store: MakeStore) -> None:
    """Without ``anonymize`` an eligible member's request waits for the next run."""
    env = setup(make_store)
    result = env.receive()
    assert result.eligibility.eligible
    assert result.expected_on is None
    assert [n.kind for n in result.notices] == [NoticeKind.RECEIVED]
    data = env.snapshot()
    assert request_in(data, result.request.id).is_open
    assert member_in(data).anonymized_at is None
    assert data.audit == ()
    assert data.reminders == ()


def test_receive_with_anonymize_completes_at_once(make_store: MakeStore) -> None:
    """With ``anonymize`` and both permissions the member is anonymized and the request done."""
    env = setup(make_store)
    result = env.desk().receive("m1", actor="e1", anonymize=True)
    assert isinstance(result, RequestCompleted)
    assert result.status == "completed"
    assert result.eligibility.eligible
    assert isinstance(result.anonymized, Anonymized)
    assert result.anonymized.as_of == TODAY
    assert result.anonymized.at == NOW
    data = env.snapshot()
    entry = the_audit_entry(data)
    assert (entry.mode, entry.actor_id, entry.as_of, entry.at) == (
        AnonymizationMode.MANUAL,
        "e1",
        TODAY,
        NOW,
    )
    assert result.anonymized.audit_entry_id == entry.id
    assert result.anonymized.request_id == result.request.id
    request = request_in(data, result.request.id)
    assert request == result.request
    assert request.status is RequestStatus.COMPLETED
    assert (request.audit_entry_id, request.closed_at, request.closed_by) == (entry.id, NOW, "e1")
    (event,) = events_in(data)
    assert (event.member_id, event.request_id, event.mode) == (
        "m1",
        request.id,
        AnonymizationMode.MANUAL,
    )
    assert [m.notice.kind for m in notices_in(data) if m.notice] == [NoticeKind.COMPLETED]
    assert all(m.request_id == request.id for m in notices_in(data))
    assert member_in(data).anonymized_at == NOW
    assert member_in(data).personal == generic_placeholder("m1")


@pytest.mark.parametrize(
    ("actor", "anonymize", "missing"),
    [
        ("e3", False, Permission.HANDLE_ERASURE_REQUESTS),
        ("e3", True, Permission.HANDLE_ERASURE_REQUESTS),
        ("e2", True, Permission.ANONYMIZE_MEMBER),
    ],
)
def test_receive_not_permitted_changes_nothing(
    make_store: MakeStore, actor: str, anonymize: bool, missing: Permission
) -> None:
    """Without the permission it needs the actor is refused, naming it, and nothing changes."""
    env = setup(make_store)
    before = env.snapshot()
    result = env.desk().receive("m1", actor=actor, anonymize=anonymize)
    assert result == RequestNotPermitted(actor_id=actor, permission=missing)
    assert result.status == "not_permitted"
    assert env.snapshot() == before


def test_receive_not_permitted_reveals_no_member(make_store: MakeStore) -> None:
    """An actor without the permission learns nothing, not even whether the member exists."""
    env = setup(make_store)
    result = env.desk().receive("m404", actor="e3")
    assert isinstance(result, RequestNotPermitted)


def test_second_request_is_already_open(make_store: MakeStore) -> None:
    """A member with an open request gets it back, and nothing changes."""
    env = setup(make_store, FUNDS)
    first = env.receive()
    before = env.snapshot()
    again = env.desk().receive("m1", actor="e2", channel=RequestChannel.LETTER)
    assert again == RequestAlreadyOpen(request=first.request)
    assert again.status == "already_open"
    assert env.desk().receive("m1", actor="e1", anonymize=True) == again
    assert env.snapshot() == before


def test_new_request_after_a_closed_one(make_store: MakeStore) -> None:
    """Once the first request is closed, the member may ask again."""
    env = setup(make_store, FUNDS)
    first = env.receive()
    env.desk().withdraw(first.request.id, actor="e2")
    second = env.receive()
    assert second.request.id != first.request.id
    assert {r.status for r in env.snapshot().erasure_requests} == {
        RequestStatus.WITHDRAWN,
        RequestStatus.OPEN,
    }


@pytest.mark.parametrize("anonymize", [False, True])
def test_member_anonymized_before_completes_at_once(make_store: MakeStore, anonymize: bool) -> None:
    """A member anonymized before gets a completed request, without a new anonymization."""
    erased_at = noon(D(2025, 6, 1))
    gone = b.member(
        "m1", personal_data=generic_placeholder("m1"), with_photo=False, anonymized_at=erased_at
    )
    env = setup(make_store, member=gone)
    before = env.snapshot()
    result = env.desk().receive("m1", actor="e1", anonymize=anonymize)
    assert isinstance(result, RequestCompleted)
    assert result.anonymized is None
    assert result.eligibility.blocker_codes == ("already_anonymized",)
    request = result.request
    assert request.status is RequestStatus.COMPLETED
    assert (request.audit_entry_id, request.closed_at, request.closed_by) == (None, NOW, "e1")
    data = env.snapshot()
    assert request_in(data, request.id) == request
    assert data.audit == before.audit
    assert events_in(data) == []
    assert member_in(data) == member_in(before)
    notice = notice_in(data, NoticeKind.COMPLETED)
    assert "2025-06-01" in notice.body
    assert notices_in(data)[0].request_id == request.id


def test_receive_needs_only_handle_permission_to_register(make_store: MakeStore) -> None:
    """An employee who may not anonymize can still register a request."""
    env = setup(make_store)
    result = env.receive(actor="e2")
    assert result.request.registered_by == "e2"


def test_receive_unknown_member_or_employee(make_store: MakeStore) -> None:
    """Unknown members and employees raise their typed errors and change nothing."""
    env = setup(make_store)
    before = env.snapshot()
    with pytest.raises(UnknownMemberError) as member:
        env.desk().receive("m404", actor="e1")
    assert member.value.member_id == "m404"
    with pytest.raises(UnknownEmployeeError) as employee:
        env.desk().receive("m1", actor="e404")
    assert employee.value.employee_id == "e404"
    assert env.snapshot() == before


def test_receive_refuses_a_future_receipt(make_store: MakeStore) -> None:
    """A request cannot have been received after now."""
    env = setup(make_store)
    before = env.snapshot()
    with pytest.raises(FutureDateError):
        env.desk().receive("m1", actor="e1", received_at=NOW + dt.timedelta(minutes=1))
    assert env.snapshot() == before


# ----------------------------------------------------------------------------- extend


@pytest.mark.parametrize("reason", list(ExtensionReason))
def test_extend(make_store: MakeStore, reason: ExtensionReason) -> None:
    """Extending moves the deadline to three months after receipt and tells the member why."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.on(TODAY + dt.timedelta(days=3))
    result = env.desk().extend(request.id, actor="e2", reason=reason)
    assert isinstance(result, RequestExtended)
    assert result.status == "extended"
    extended = result.request
    assert extended.extension is not None
    assert (extended.extension.deadline, extended.extension.reason) == (LATEST, reason)
    assert (extended.extension.at, extended.extension.by) == (env.clock.at, "e2")
    assert extended.deadline == DEADLINE
    assert extended.current_deadline == LATEST
    assert result.notice.kind is NoticeKind.EXTENDED
    data = env.snapshot()
    assert request_in(data, request.id) == extended
    assert notice_in(data, NoticeKind.EXTENDED) == result.notice
    assert notices_in(data, NoticeKind.EXTENDED)[0].request_id == request.id
    assert LATEST.isoformat() in result.notice.body


def test_extend_to_a_chosen_date(make_store: MakeStore) -> None:
    """``until`` sets the new deadline within three months of receipt."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    result = env.desk().extend(
        request.id, actor="e1", reason=ExtensionReason.COMPLEXITY, until=D(2027, 1, 15)
    )
    assert isinstance(result, RequestExtended)
    assert result.request.current_deadline == D(2027, 1, 15)


def test_extend_twice_is_refused(make_store: MakeStore) -> None:
    """A second extension is refused as ``already_extended`` and changes nothing."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.desk().extend(request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    before = env.snapshot()
    result = env.desk().extend(request.id, actor="e1", reason=ExtensionReason.NUMBER_OF_REQUESTS)
    assert isinstance(result, RequestUnchanged)
    assert result.status == "unchanged"
    assert result.reason == "already_extended"
    assert result.request == request_in(before, request.id)
    assert env.snapshot() == before


def test_extend_after_the_deadline_is_refused(make_store: MakeStore) -> None:
    """The day after the deadline an extension is refused as ``deadline_passed``."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    before = env.snapshot()
    env.on(DEADLINE + dt.timedelta(days=1))
    result = env.desk().extend(request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    assert isinstance(result, RequestUnchanged)
    assert result.reason == "deadline_passed"
    assert env.snapshot() == before


def test_extend_a_closed_request_is_refused(make_store: MakeStore) -> None:
    """A closed request is never extended (``closed``)."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.desk().withdraw(request.id, actor="e1")
    before = env.snapshot()
    result = env.desk().extend(request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    assert isinstance(result, RequestUnchanged)
    assert result.reason == "closed"
    assert env.snapshot() == before


def test_extend_not_permitted(make_store: MakeStore) -> None:
    """An employee without ``handle_erasure_requests`` cannot extend; nothing changes."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    before = env.snapshot()
    result = env.desk().extend(request.id, actor="e3", reason=ExtensionReason.COMPLEXITY)
    assert result == RequestNotPermitted(
        actor_id="e3", permission=Permission.HANDLE_ERASURE_REQUESTS
    )
    assert env.snapshot() == before


# ----------------------------------------------------------------------------- withdraw, reject


def test_withdraw(make_store: MakeStore) -> None:
    """A withdrawn request is closed, writes no notice, and no later run carries it out."""
    env = setup(make_store)
    request = env.receive().request
    env.on(TODAY + dt.timedelta(days=1))
    result = env.desk().withdraw(request.id, actor="e2")
    assert isinstance(result, RequestWithdrawn)
    assert result.status == "withdrawn"
    withdrawn = result.request
    assert withdrawn.status is RequestStatus.WITHDRAWN
    assert (withdrawn.closed_at, withdrawn.closed_by) == (env.clock.at, "e2")
    data = env.snapshot()
    assert request_in(data, request.id) == withdrawn
    assert [m.notice.kind for m in notices_in(data) if m.notice] == [NoticeKind.RECEIVED]
    env.on(TODAY + dt.timedelta(days=2))
    report = env.processor().run()
    assert report.completed == ()
    assert report.still_open == ()
    after = env.snapshot()
    assert after == data
    assert member_in(after).anonymized_at is None


def test_withdraw_twice_is_unchanged(make_store: MakeStore) -> None:
    """A closed request stays as it was."""
    env = setup(make_store)
    request = env.receive().request
    env.desk().withdraw(request.id, actor="e1")
    before = env.snapshot()
    result = env.desk().withdraw(request.id, actor="e1")
    assert isinstance(result, RequestUnchanged)
    assert result.reason == "closed"
    assert env.snapshot() == before


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_reject(make_store: MakeStore, reason: RejectionReason) -> None:
    """A rejected request is closed with its reason and a notice naming it and the rights."""
    env = setup(make_store)
    request = env.receive().request
    result = env.desk().reject(request.id, actor="e2", reason=reason)
    assert isinstance(result, RequestRejected)
    assert result.status == "rejected"
    rejected = result.request
    assert rejected.status is RequestStatus.REJECTED
    assert (rejected.rejection_reason, rejected.closed_at, rejected.closed_by) == (
        reason,
        NOW,
        "e2",
    )
    assert result.notice.kind is NoticeKind.REJECTED
    data = env.snapshot()
    assert request_in(data, request.id) == rejected
    assert notice_in(data, NoticeKind.REJECTED) == result.notice
    assert "President of the Personal Data Protection Office" in result.notice.body
    assert "judicial remedy" in result.notice.body
    assert env.processor().run().completed == ()
    assert member_in(env.snapshot()).anonymized_at is None
    again = env.desk().reject(request.id, actor="e2", reason=reason)
    assert isinstance(again, RequestUnchanged)
    assert again.reason == "closed"


@pytest.mark.parametrize("action", ["withdraw", "reject"])
def test_close_not_permitted(make_store: MakeStore, action: str) -> None:
    """Closing needs ``handle_erasure_requests``; without it nothing changes."""
    env = setup(make_store)
    request = env.receive().request
    before = env.snapshot()
    desk = env.desk()
    if action == "withdraw":
        result = desk.withdraw(request.id, actor="e3")
    else:
        result = desk.reject(request.id, actor="e3", reason=RejectionReason.EXCESSIVE)
    assert result == RequestNotPermitted(
        actor_id="e3", permission=Permission.HANDLE_ERASURE_REQUESTS
    )
    assert env.snapshot() == before


CHANGES: Final[dict[str, Callable[[RequestDesk, str, str], object]]] = {
    "extend": lambda desk, rid, actor: desk.extend(
        rid, actor=actor, reason=ExtensionReason.COMPLEXITY
    ),
    "withdraw": lambda desk, rid, actor: desk.withdraw(rid, actor=actor),
    "reject": lambda desk, rid, actor: desk.reject(
        rid, actor=actor, reason=RejectionReason.EXCESSIVE
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_unknown_request_or_employee(make_store: MakeStore, change: str) -> None:
    """An unknown request or employee raises its typed error and changes nothing."""
    env = setup(make_store)
    request = env.receive().request
    before = env.snapshot()
    with pytest.raises(UnknownRequestError) as unknown:
        CHANGES[change](env.desk(), "rq-404", "e1")
    assert unknown.value.request_id == "rq-404"
    with pytest.raises(UnknownEmployeeError):
        CHANGES[change](env.desk(), request.id, "e404")
    assert env.snapshot() == before


def test_receive_at_an_unknown_club(make_store: MakeStore) -> None:
    """An unknown receiving club raises UnknownClubError and changes nothing."""
    env = setup(make_store)
    before = env.snapshot()
    with pytest.raises(UnknownClubError):
        env.desk().receive("m1", actor="e1", club_id="c404")
    assert env.snapshot() == before


def test_extend_beyond_three_months_raises(make_store: MakeStore) -> None:
    """A chosen date beyond three months after receipt, or not after the deadline, is an error."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    before = env.snapshot()
    for until in (LATEST + dt.timedelta(days=1), DEADLINE):
        with pytest.raises(RequestStateError):
            env.desk().extend(
                request.id, actor="e1", reason=ExtensionReason.COMPLEXITY, until=until
            )
    assert env.snapshot() == before


def test_show_unknown_request(make_store: MakeStore) -> None:
    """Showing an unknown request raises UnknownRequestError."""
    env = setup(make_store)
    with pytest.raises(UnknownRequestError):
        env.desk().show("rq-404")


# ----------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("received_at", "received_on", "deadline", "latest"),
    [
        (noon(D(2026, 1, 31)), D(2026, 1, 31), D(2026, 2, 28), D(2026, 4, 30)),
        (noon(D(2028, 1, 31)), D(2028, 1, 31), D(2028, 2, 29), D(2028, 4, 30)),
        (noon(D(2026, 3, 31)), D(2026, 3, 31), D(2026, 4, 30), D(2026, 6, 30)),
        (noon(D(2028, 2, 29)), D(2028, 2, 29), D(2028, 3, 29), D(2028, 5, 29)),
        (noon(D(2026, 11, 30)), D(2026, 11, 30), D(2026, 12, 30), D(2027, 2, 28)),
        (noon(D(2026, 1, 31), 23, 30), D(2026, 2, 1), D(2026, 3, 1), D(2026, 5, 1)),
        (noon(D(2026, 12, 31), 23, 30), D(2027, 1, 1), D(2027, 2, 1), D(2027, 4, 1)),
    ],
    ids=["31st", "31st-leap", "31st-to-30", "29-feb", "30th", "late-utc", "new-year"],
)
def test_deadline_follows_the_clubs_local_date(
    make_store: MakeStore, received_at: dt.datetime, received_on: D, deadline: D, latest: D
) -> None:
    """The deadline is a month after the local date of receipt, clamped to the month's end."""
    env = setup(make_store, FUNDS, at=received_at)
    result = env.receive()
    assert (result.request.received_on, result.request.deadline) == (received_on, deadline)
    assert result.eligibility.as_of == received_on
    assert deadline.isoformat() in result.notices[0].body
    assert received_on.isoformat() in result.notices[0].body
    extended = env.desk().extend(result.request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    assert isinstance(extended, RequestExtended)
    assert extended.request.current_deadline == latest


def test_received_at_in_the_past(make_store: MakeStore) -> None:
    """A request received earlier (by letter) counts from that day."""
    env = setup(make_store, FUNDS)
    when = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)  # 1 November in Warsaw
    result = env.receive(received_at=when, channel=RequestChannel.LETTER)
    assert result.request.received_at == when
    assert (result.request.received_on, result.request.deadline) == (
        D(2026, 11, 1),
        D(2026, 12, 1),
    )
    assert result.eligibility.as_of == TODAY


def test_receiving_club_dates_the_request(make_store: MakeStore) -> None:
    """Another receiving club dates the request in its own time zone and signs the notice."""
    late = noon(D(2026, 1, 31), 23, 30)  # 1 February in Warsaw, 31 January in New York
    env = setup(make_store, FUNDS, at=late)
    result = env.receive(club_id="c2")
    request = result.request
    assert (request.club_id, request.received_on, request.deadline) == (
        "c2",
        D(2026, 1, 31),
        D(2026, 2, 28),
    )
    assert result.eligibility.as_of == D(2026, 2, 1)  # the blockers: the home club's today
    assert OTHER_CLUB_NAME in result.notices[0].body
    assert CLUB_NAME not in result.notices[0].body


def test_extension_allowed_on_the_deadline_day(make_store: MakeStore) -> None:
    """Extending on the deadline day itself is allowed."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.on(noon(DEADLINE, 22, 30))  # 23:30 in Warsaw: still the deadline day
    result = env.desk().extend(request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    assert isinstance(result, RequestExtended)
    assert result.request.current_deadline == LATEST


def test_extension_refused_the_day_after_in_local_time(make_store: MakeStore) -> None:
    """At 23:30 UTC on the deadline day it is the next day in Warsaw: too late."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.on(noon(DEADLINE, 23, 30))
    result = env.desk().extend(request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    assert isinstance(result, RequestUnchanged)
    assert result.reason == "deadline_passed"


# ----------------------------------------------------------------------------- expected_on


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ((b.contract("k", start=D(2026, 1, 1), end=D(2027, 3, 31)),), D(2027, 4, 1)),
        (
            (
                b.contract(
                    "k", start=D(2026, 1, 1), end=D(2027, 3, 31), terminated_on=D(2027, 1, 15)
                ),
            ),
            D(2027, 1, 16),
        ),
        (
            (
                b.contract("k1", start=D(2026, 1, 1), end=D(2027, 3, 31)),
                b.contract("k2", start=D(2026, 6, 1), end=D(2027, 5, 31), club_id="c2"),
            ),
            D(2027, 6, 1),
        ),
        (
            (
                b.contract("k1", start=D(2026, 1, 1), end=D(2027, 3, 31)),
                b.contract("k2", start=D(2027, 4, 1), end=D(2027, 9, 30)),
            ),
            D(2027, 10, 1),
        ),
        ((b.contract("k", start=D(2027, 1, 1), end=D(2027, 12, 31)),), D(2028, 1, 1)),
        ((b.contract("k", start=D(2026, 1, 1), end=None),), None),
        (
            (
                b.contract("k1", start=D(2026, 1, 1), end=D(2027, 3, 31)),
                b.contract("k2", start=D(2027, 4, 1), end=None),
            ),
            None,
        ),
        ((b.contract("k", start=D(2026, 1, 1), end=D(2027, 3, 31)), FUNDS), None),
        ((b.contract("k", start=D(2026, 1, 1), end=D(2027, 3, 31)), OPEN_CASE), None),
        ((), None),
    ],
    ids=[
        "running",
        "terminated",
        "two-running",
        "running-then-future",
        "future",
        "open-ended",
        "future-open-ended",
        "contract-and-wallet",
        "contract-and-case",
        "nothing",
    ],
)
def test_expected_on(make_store: MakeStore, records: tuple[Any, ...], expected: D | None) -> None:
    """The expected date is the day after the latest contract end, when only contracts block."""
    env = setup(make_store, *records)
    result = env.receive()
    assert result.expected_on == expected
    body = result.notices[0].body
    if expected is None:
        assert "We expect to carry it out" not in body
    else:
        assert f"We expect to carry it out on {expected.isoformat()}" in body
    (view,) = env.desk().register()
    assert view.expected_on == expected


# ----------------------------------------------------------------------------- reason codes


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", sorted(BLOCKED_BY))
def test_each_blocker_in_the_received_and_refused_notices(
    make_store: MakeStore, code: str, language: str
) -> None:
    """Each blocker appears with its reason and what clears it in both notices."""
    env = blocked(make_store, code, language=language)
    result = env.receive()
    assert result.eligibility.blocker_codes == (code,)
    reason, clears = REASONS[language][code]
    received = result.notices[0]
    assert reason in received.body
    assert clears in received.body
    env.on(DEADLINE - dt.timedelta(days=1))
    report = env.processor().run()
    assert report.notices == 1
    refused = notice_in(env.snapshot(), NoticeKind.REFUSED)
    assert refused.language == language
    assert reason in refused.body
    assert clears in refused.body
    for mention in SUPERVISORY_AUTHORITY[language]:
        assert mention in refused.body


@pytest.mark.parametrize("code", sorted(BLOCKED_BY))
def test_request_action_reminder_for_each_staff_action(make_store: MakeStore, code: str) -> None:
    """A blocker that needs staff gets one reminder naming it; a contract gets none."""
    env = blocked(make_store, code)
    request = env.receive(club_id="c2").request
    reminders = reminders_in(env.snapshot(), "request_action")
    if code in STAFF_ACTION:
        (reminder,) = reminders
        assert (reminder.action, reminder.request_id) == (code, request.id)
        assert (reminder.member_id, reminder.club_id, reminder.created_at) == ("m1", "c2", NOW)
    else:
        assert reminders == []
    assert env.snapshot().reminders == tuple(reminders)


def test_every_staff_action_reminded_once(make_store: MakeStore) -> None:
    """Every staff-action blocker at once: one reminder each, however many of its kind."""
    env = setup(
        make_store,
        RUNNING,
        OPEN_CASE,
        b.collection_case("w-open-2", club_id="c2", opened_on=D(2026, 7, 1), closed_on=None),
        FUNDS,
        LATE,
        b.installment("i-late-2", club_id="c2", due_on=D(2026, 9, 10)),
        member=b.member("m1", restrict_processing=True),
    )
    request = env.receive().request
    data = env.snapshot()
    reminders = reminders_in(data, "request_action")
    assert sorted(r.action or "" for r in reminders) == sorted(STAFF_ACTION)
    assert {(r.request_id, r.club_id) for r in reminders} == {(request.id, "c1")}
    assert len(data.reminders) == len(STAFF_ACTION)
    body = notice_in(data, NoticeKind.RECEIVED).body
    for code in BLOCKED_BY:
        assert REASONS["en"][code][0].split(" k-")[0] in body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("reason", "texts"),
    [
        (ExtensionReason.COMPLEXITY, ("the request is complex", "skomplikowany charakter")),
        (
            ExtensionReason.NUMBER_OF_REQUESTS,
            ("a large number of requests", "dużą liczbę żądań"),
        ),
    ],
)
def test_extension_reason_texts(
    make_store: MakeStore, reason: ExtensionReason, texts: tuple[str, str], language: str
) -> None:
    """The extended notice names the reason in the notice's language."""
    env = setup(make_store, FUNDS, language=language)
    request = env.receive().request
    result = env.desk().extend(request.id, actor="e1", reason=reason)
    assert isinstance(result, RequestExtended)
    assert texts[LANGUAGES.index(language)] in result.notice.body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("reason", "texts"),
    [
        (
            RejectionReason.IDENTITY_NOT_VERIFIED,
            ("could not confirm your identity", "potwierdzić Twojej tożsamości"),
        ),
        (
            RejectionReason.MANIFESTLY_UNFOUNDED,
            ("manifestly unfounded", "ewidentnie nieuzasadnione"),
        ),
        (RejectionReason.EXCESSIVE, ("excessive", "nadmierne")),
    ],
)
def test_rejection_reason_texts(
    make_store: MakeStore, reason: RejectionReason, texts: tuple[str, str], language: str
) -> None:
    """The rejected notice names the reason and the rights in the notice's language."""
    env = setup(make_store, language=language)
    request = env.receive().request
    result = env.desk().reject(request.id, actor="e1", reason=reason)
    assert isinstance(result, RequestRejected)
    assert texts[LANGUAGES.index(language)] in result.notice.body
    for mention in SUPERVISORY_AUTHORITY[language]:
        assert mention in result.notice.body


# ----------------------------------------------------------------------------- notices


SUBJECTS: Final = {
    "en": {
        NoticeKind.RECEIVED: "received",
        NoticeKind.EXTENDED: "deadline extended",
        NoticeKind.REFUSED: "cannot be carried out yet",
        NoticeKind.REJECTED: "rejected",
        NoticeKind.COMPLETED: "done",
    },
    "pl": {
        NoticeKind.RECEIVED: "przyjęte",
        NoticeKind.EXTENDED: "przedłużenie terminu",
        NoticeKind.REFUSED: "nie może być jeszcze wykonane",
        NoticeKind.REJECTED: "odrzucone",
        NoticeKind.COMPLETED: "wykonane",
    },
}


def every_notice(make_store: MakeStore, language: str) -> tuple[Env, Traces, dict[str, str]]:
    """A store where m1's request went through every notice but ``rejected``, and m2's was rejected.

    m1's request (received today, its contract ending 2027-02-26) is extended,
    refused the day before its new deadline, and completed the day after.
    """
    m2 = b.member("m2", personal_data=b.personal(first_name="Ksawery", last_name="Wąsowicz"))
    ends = b.contract("k-m1", start=D(2026, 1, 1), end=D(2027, 2, 26))
    env = setup(make_store, ends, m2, language=language)
    before = env.snapshot()
    m1_traces, m2_traces = traces_of(member_in(before, "m1")), traces_of(member_in(before, "m2"))
    traces = Traces(strings=m1_traces.strings | m2_traces.strings, photo=m1_traces.photo)
    first = env.receive().request
    second = env.receive("m2").request
    env.on(D(2026, 12, 1))
    env.desk().extend(first.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    env.desk().reject(second.id, actor="e1", reason=RejectionReason.IDENTITY_NOT_VERIFIED)
    env.on(D(2027, 2, 26))
    env.processor().run()
    env.on(D(2027, 2, 27))
    assert env.processor().run().completed == (first.id,)
    return env, traces, {"m1": first.id, "m2": second.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_notices_in_each_language(make_store: MakeStore, language: str) -> None:
    """Each notice has its subject and body in the language, with id, dates and club name."""
    env, traces, ids = every_notice(make_store, language)
    data = env.snapshot()
    messages = notices_in(data)
    kinds = [(m.member_id, m.notice.kind) for m in messages if m.notice]
    assert sorted(kinds, key=str) == sorted(
        [("m1", kind) for kind in NoticeKind if kind is not NoticeKind.REJECTED]
        + [("m2", NoticeKind.RECEIVED), ("m2", NoticeKind.REJECTED)],
        key=str,
    )
    dates = {
        NoticeKind.RECEIVED: (TODAY, DEADLINE),
        NoticeKind.EXTENDED: (TODAY, LATEST),
        NoticeKind.REFUSED: (TODAY,),
        NoticeKind.REJECTED: (TODAY,),
        NoticeKind.COMPLETED: (TODAY, D(2027, 2, 27)),
    }
    for message in messages:
        notice = message.notice
        assert notice is not None
        kind, owner = notice.kind, message.member_id
        assert message.request_id == ids[owner]
        assert notice.language == language
        assert SUBJECTS[language][kind] in notice.subject
        assert ids[owner] in notice.subject
        assert ids[owner] in notice.body
        assert CLUB_NAME in notice.body
        for day in dates[kind]:
            assert day.isoformat() in notice.body
        assert_no_personal_value(notice)
        if language == "pl":
            assert SUBJECTS["en"][kind] not in notice.subject
    assert_no_traces(data, traces)


@pytest.mark.parametrize("language", LANGUAGES)
def test_rights_only_in_refused_and_rejected(make_store: MakeStore, language: str) -> None:
    """The refused and rejected notices name the supervisory authority and the court; others not."""
    env, _, _ = every_notice(make_store, language)
    for message in notices_in(env.snapshot()):
        notice = message.notice
        assert notice is not None
        has_rights = SUPERVISORY_AUTHORITY[language][0] in notice.body
        assert has_rights == (notice.kind in (NoticeKind.REFUSED, NoticeKind.REJECTED))
        if has_rights:
            for mention in SUPERVISORY_AUTHORITY[language]:
                assert mention in notice.body


def test_no_personal_value_in_what_the_library_writes(make_store: MakeStore) -> None:
    """Requests, reminders, audit entries and outbox messages hold no personal value."""
    env = setup(
        make_store,
        RUNNING,
        FUNDS,
        OPEN_CASE,
        LATE,
        member=b.member("m1", restrict_processing=True),
    )
    traces = traces_of(member_in(env.snapshot()))
    request = env.receive().request
    env.desk().extend(request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    env.on(LATEST - dt.timedelta(days=1))
    env.processor().run()
    env.on(LATEST + dt.timedelta(days=1))
    env.processor().run()
    data = env.snapshot()
    assert len(data.outbox) == 3
    assert len(data.reminders) == 6
    assert_no_traces(data, traces)


# ----------------------------------------------------------------------------- processing


def test_run_completes_the_day_after_the_contract_ends(make_store: MakeStore) -> None:
    """The run on the day after the contract's end anonymizes the member and completes it."""
    env = setup(make_store, b.contract("k", start=D(2026, 1, 1), end=D(2026, 12, 10)))
    request = env.receive().request
    env.on(D(2026, 12, 10))
    report = env.processor().run()
    assert report.completed == ()
    (still,) = report.still_open
    assert (still.request_id, still.blockers, still.deadline, still.overdue) == (
        request.id,
        ("active_contract",),
        DEADLINE,
        False,
    )
    assert member_in(env.snapshot()).anonymized_at is None
    env.on(D(2026, 12, 11))
    report = env.processor().run()
    assert report.as_of == D(2026, 12, 11)
    assert report.completed == (request.id,)
    assert report.still_open == ()
    assert report.notices == 1
    data = env.snapshot()
    entry = the_audit_entry(data)
    assert (entry.mode, entry.actor_id, entry.as_of, entry.at) == (
        AnonymizationMode.REQUEST,
        None,
        D(2026, 12, 11),
        env.clock.at,
    )
    done = request_in(data, request.id)
    assert done.status is RequestStatus.COMPLETED
    assert (done.audit_entry_id, done.closed_at, done.closed_by) == (entry.id, env.clock.at, None)
    (event,) = events_in(data)
    assert (event.member_id, event.request_id, event.mode, event.created_at) == (
        "m1",
        request.id,
        AnonymizationMode.REQUEST,
        env.clock.at,
    )
    completed = notice_in(data, NoticeKind.COMPLETED)
    assert "2026-12-11" in completed.body
    assert member_in(data).anonymized_at == env.clock.at
    assert member_in(data).photo is None
    assert data.log_entries == ()
    assert report.as_json() == {
        "as_of": "2026-12-11",
        "completed": [request.id],
        "still_open": [],
        "reminders": 0,
        "notices": 1,
    }


def test_run_uses_the_home_clubs_local_date(make_store: MakeStore) -> None:
    """At 23:30 UTC on the contract's last day it is already the day after in Warsaw."""
    env = setup(make_store, b.contract("k", start=D(2026, 1, 1), end=D(2026, 12, 10)))
    request = env.receive().request
    env.on(noon(D(2026, 12, 10), 23, 30))
    report = env.processor().run()
    assert report.completed == (request.id,)
    assert the_audit_entry(env.snapshot()).as_of == D(2026, 12, 11)


def test_run_completes_an_eligible_request(make_store: MakeStore) -> None:
    """A request received without ``anonymize`` is completed by the next run."""
    env = setup(make_store)
    request = env.receive().request
    report = env.processor().run()
    assert report.completed == (request.id,)
    assert request_in(env.snapshot(), request.id).status is RequestStatus.COMPLETED


def test_second_run_on_the_same_day_changes_nothing(make_store: MakeStore) -> None:
    """Running twice a day does the work once."""
    env = setup(make_store, b.contract("k", start=D(2026, 1, 1), end=D(2026, 12, 10)), FUNDS)
    env.receive()
    env.on(DEADLINE - dt.timedelta(days=1))
    first = env.processor().run()
    assert (first.reminders, first.notices) == (1, 1)
    after = env.snapshot()
    second = env.processor().run()
    assert (second.completed, second.reminders, second.notices) == ((), 0, 0)
    assert second.still_open == first.still_open
    assert env.snapshot() == after


def test_second_run_after_completion_changes_nothing(make_store: MakeStore) -> None:
    """Once the request is completed, a second run finds nothing to do."""
    env = setup(make_store)
    env.receive()
    env.processor().run()
    after = env.snapshot()
    report = env.processor().run()
    assert (report.completed, report.still_open, report.reminders, report.notices) == (
        (),
        (),
        0,
        0,
    )
    assert env.snapshot() == after


def test_near_deadline_reminder_once(make_store: MakeStore) -> None:
    """A reminder when seven days or fewer remain, and only once."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.on(DEADLINE - dt.timedelta(days=NEAR_DEADLINE_DAYS + 1))
    assert env.processor().run().reminders == 0
    assert reminders_in(env.snapshot(), "request_deadline_near") == []
    env.on(DEADLINE - dt.timedelta(days=NEAR_DEADLINE_DAYS))
    assert env.processor().run().reminders == 1
    (reminder,) = reminders_in(env.snapshot(), "request_deadline_near")
    assert (reminder.request_id, reminder.member_id, reminder.club_id) == (request.id, "m1", "c1")
    assert reminder.created_at == env.clock.at
    assert request_in(env.snapshot(), request.id).reminded_near_deadline
    for days in (NEAR_DEADLINE_DAYS, 3, 0):
        env.on(DEADLINE - dt.timedelta(days=days))
        assert env.processor().run().reminders == 0
    assert len(reminders_in(env.snapshot(), "request_deadline_near")) == 1
    assert reminders_in(env.snapshot(), "request_overdue") == []


def test_near_deadline_on_the_deadline_day(make_store: MakeStore) -> None:
    """A first run on the deadline day itself still reminds of the near deadline."""
    env = setup(make_store, FUNDS)
    env.receive()
    env.on(DEADLINE)
    report = env.processor().run()
    assert report.reminders == 1
    assert len(reminders_in(env.snapshot(), "request_deadline_near")) == 1
    assert report.still_open[0].overdue is False


def test_overdue_reminder_once(make_store: MakeStore) -> None:
    """The day after the deadline an overdue reminder is created, once."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.on(DEADLINE + dt.timedelta(days=1))
    report = env.processor().run()
    assert report.still_open[0].overdue
    (reminder,) = reminders_in(env.snapshot(), "request_overdue")
    assert (reminder.request_id, reminder.club_id) == (request.id, "c1")
    assert reminders_in(env.snapshot(), "request_deadline_near") == []
    assert request_in(env.snapshot(), request.id).reminded_overdue
    env.on(DEADLINE + dt.timedelta(days=2))
    assert env.processor().run().reminders == 0
    assert len(reminders_in(env.snapshot(), "request_overdue")) == 1


def test_refused_notice_from_the_day_before_the_deadline(make_store: MakeStore) -> None:
    """No refused notice two days before; one the day before; never a second."""
    env = setup(make_store, RUNNING)
    request = env.receive().request
    env.on(DEADLINE - dt.timedelta(days=2))
    assert env.processor().run().notices == 0
    assert notices_in(env.snapshot(), NoticeKind.REFUSED) == []
    env.on(DEADLINE - dt.timedelta(days=1))
    assert env.processor().run().notices == 1
    (message,) = notices_in(env.snapshot(), NoticeKind.REFUSED)
    assert (message.request_id, message.member_id, message.created_at) == (
        request.id,
        "m1",
        env.clock.at,
    )
    assert message.notice is not None
    assert "We expect to carry it out on 2027-04-01" in message.notice.body
    assert request_in(env.snapshot(), request.id).refusal_noticed_at == env.clock.at
    for day in (DEADLINE, DEADLINE + dt.timedelta(days=5)):
        env.on(day)
        assert env.processor().run().notices == 0
    assert len(notices_in(env.snapshot(), NoticeKind.REFUSED)) == 1


def test_refused_notice_when_first_run_is_late(make_store: MakeStore) -> None:
    """A request still open after its deadline gets the missing refused notice at the next run."""
    env = setup(make_store, FUNDS)
    env.receive()
    env.on(DEADLINE + dt.timedelta(days=10))
    report = env.processor().run()
    assert (report.reminders, report.notices) == (1, 1)
    assert len(notices_in(env.snapshot(), NoticeKind.REFUSED)) == 1


def test_refused_notice_follows_the_extended_deadline(make_store: MakeStore) -> None:
    """After an extension the refused notice waits for the day before the new deadline."""
    env = setup(make_store, RUNNING)
    request = env.receive().request
    env.desk().extend(request.id, actor="e1", reason=ExtensionReason.COMPLEXITY)
    env.on(DEADLINE - dt.timedelta(days=1))
    assert env.processor().run().notices == 0
    env.on(LATEST - dt.timedelta(days=2))
    assert env.processor().run().notices == 0
    env.on(LATEST - dt.timedelta(days=1))
    assert env.processor().run().notices == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_run_completes_a_stored_request_of_a_member_anonymized_before(
    make_store: MakeStore, language: str
) -> None:
    """A request stored for a member anonymized before is completed, not reminded forever."""
    erased_at = noon(D(2025, 6, 1), 23, 30)  # 2 June in Warsaw
    gone = b.member(
        "m1", personal_data=generic_placeholder("m1"), with_photo=False, anonymized_at=erased_at
    )
    stored = ErasureRequest.receive(
        id="rq-app",
        member_id="m1",
        club_id="c1",
        received_at=noon(D(2026, 10, 1)),
        received_on=D(2026, 10, 1),
        channel=RequestChannel.APP,
        registered_by=None,
    )
    env = setup(make_store, stored, member=gone, language=language)
    before = env.snapshot()
    report = env.processor().run()
    assert (report.completed, report.still_open, report.reminders, report.notices) == (
        ("rq-app",),
        (),
        0,
        1,
    )
    data = env.snapshot()
    done = request_in(data, "rq-app")
    assert done.status is RequestStatus.COMPLETED
    assert (done.audit_entry_id, done.closed_at, done.closed_by) == (None, NOW, None)
    (message,) = notices_in(data)
    assert message.notice is not None
    assert message.notice.kind is NoticeKind.COMPLETED
    assert "2025-06-02" in message.notice.body
    assert (data.audit, data.reminders, events_in(data)) == ((), (), [])
    assert member_in(data) == member_in(before)
    assert env.processor().run() == attrs.evolve(report, completed=(), notices=0)


def test_run_leaves_closed_requests_alone(make_store: MakeStore) -> None:
    """Withdrawn and rejected requests get no reminder and no notice."""
    env = setup(make_store, FUNDS, b.member("m2"), b.wallet("1.00", member_id="m2"), b.member("m3"))
    first = env.receive().request
    second = env.receive("m2").request
    env.desk().withdraw(first.id, actor="e1")
    env.desk().reject(second.id, actor="e1", reason=RejectionReason.EXCESSIVE)
    before = env.snapshot()
    env.on(DEADLINE + dt.timedelta(days=1))
    report = env.processor().run()
    assert (report.completed, report.still_open, report.reminders, report.notices) == (
        (),
        (),
        0,
        0,
    )
    assert env.snapshot() == before


@pytest.mark.parametrize("batch_size", [1, 2, 200])
def test_run_over_many_requests(make_store: MakeStore, batch_size: int) -> None:
    """Every open request is handled whatever the batch size."""
    members = [b.member(f"m{i}") for i in range(2, 6)]
    env = setup(make_store, *members, b.wallet("1.00", member_id="m3"))
    ids = {m: env.receive(m).request.id for m in ("m1", "m2", "m3", "m4", "m5")}
    env.on(DEADLINE + dt.timedelta(days=1))
    processor = RequestProcessor(
        env.store.unit_of_work, clock=env.clock, options=env.options, batch_size=batch_size
    )
    report = processor.run()
    assert report.completed == tuple(sorted(ids[m] for m in ("m1", "m2", "m4", "m5")))
    assert [o.request_id for o in report.still_open] == [ids["m3"]]
    assert report.still_open[0].blockers == ("wallet_funds",)
    assert report.still_open[0].overdue
    assert (report.reminders, report.notices) == (1, 5)


# ----------------------------------------------------------------------------- as_of


def test_run_refuses_a_future_date(make_store: MakeStore) -> None:
    """A run dated after today is refused and changes nothing."""
    env = setup(make_store, b.contract("k", start=D(2026, 1, 1), end=D(2026, 12, 10)))
    env.receive()
    before = env.snapshot()
    with pytest.raises(FutureDateError):
        env.processor().run(as_of=D(2026, 12, 11))
    with pytest.raises(FutureDateError):
        env.processor().run(as_of=b.TOMORROW)
    assert env.snapshot() == before


def test_run_refuses_a_date_later_than_any_clubs_today(make_store: MakeStore) -> None:
    """At 23:30 UTC it is tomorrow in Warsaw but still today in New York: tomorrow is refused."""
    env = setup(make_store, at=noon(TODAY, 23, 30))
    env.receive()
    before = env.snapshot()
    with pytest.raises(FutureDateError) as info:
        env.processor().run(as_of=b.TOMORROW)
    assert info.value.club_id == "c2"
    assert env.snapshot() == before


def test_run_accepts_today_and_past_dates(make_store: MakeStore) -> None:
    """A run may be dated today or earlier; the audit records that date."""
    env = setup(make_store)
    request = env.receive().request
    report = env.processor().run(as_of=b.YESTERDAY)
    assert report.as_of == b.YESTERDAY
    assert report.completed == (request.id,)
    assert the_audit_entry(env.snapshot()).as_of == b.YESTERDAY


def test_check_and_dry_run_accept_any_date(make_store: MakeStore) -> None:
    """Asking about a future date is allowed and changes nothing."""
    env = setup(
        make_store,
        b.contract("k", start=D(2026, 1, 1), end=D(2026, 12, 10)),
    )
    before = env.snapshot()
    future = D(2030, 1, 1)
    verdict = env.anonymizer().check("m1", as_of=future)
    assert verdict.as_of == future
    assert verdict.eligible
    report = env.sweep().run(as_of=future, dry_run=True)
    assert report.as_of == future
    assert env.snapshot() == before


def test_anonymize_and_sweep_refuse_a_future_date(make_store: MakeStore) -> None:
    """Anonymizing and a real sweep dated after today are refused and change nothing."""
    env = retention_env(make_store)
    env.receive()
    before = env.snapshot()
    with pytest.raises(FutureDateError):
        env.anonymizer().anonymize("m1", actor="e1", as_of=b.TOMORROW)
    with pytest.raises(FutureDateError):
        env.sweep().run(as_of=b.TOMORROW)
    assert env.sweep().run(as_of=D(2030, 1, 1), dry_run=True).anonymized == ("m1",)
    assert env.snapshot() == before


def retention_env(make_store: MakeStore) -> Env:
    """One Warsaw club keeping data 12 months, e1 with every permission, m1 due long ago."""
    counter = itertools.count(1)
    options = AnonymizationOptions(id_factory=lambda: f"id-{next(counter):04d}")
    store = make_store(
        b.dataset(
            b.club("c1", name=CLUB_NAME, retention_months=12),
            b.employee("e1", permissions=EVERY_PERMISSION),
            b.member("m1"),
            b.contract("k", start=D(2019, 1, 1), end=D(2019, 12, 31)),
            b.note("n-m1"),
        )
    )
    return Env(store=store, clock=FixedClock(NOW), options=options)


PATHS: Final[dict[str, Callable[[Env, D], str | None]]] = {
    "manual": lambda env, day: _anonymized_request(
        env.anonymizer().anonymize("m1", actor="e1", as_of=day)
    ),
    "retention": lambda env, day: _swept(env.sweep().run(as_of=day)),
    "request": lambda env, day: _processed(env.processor().run(as_of=day)),
}


def _anonymized_request(result: object) -> str | None:
    assert isinstance(result, Anonymized)
    return result.request_id


def _swept(report: Any) -> None:
    assert report.anonymized == ("m1",)


def _processed(report: Any) -> None:
    assert len(report.completed) == 1


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_path_records_its_date_and_completes_the_request(
    make_store: MakeStore, path: str
) -> None:
    """Each path records the date D it used and completes the member's open request."""
    env = retention_env(make_store)
    request = env.receive().request
    day = D(2026, 11, 20)
    request_id = PATHS[path](env, day)
    if path == "manual":
        assert request_id == request.id
    data = env.snapshot()
    entry = the_audit_entry(data)
    assert entry.as_of == day
    assert entry.mode is AnonymizationMode(path)
    done = request_in(data, request.id)
    assert done.status is RequestStatus.COMPLETED
    assert done.audit_entry_id == entry.id
    assert done.closed_by == ("e1" if path == "manual" else None)
    (event,) = events_in(data)
    assert (event.request_id, event.mode) == (request.id, entry.mode)
    completed = notice_in(data, NoticeKind.COMPLETED).body
    assert f"erased on {TODAY.isoformat()}" in completed  # when it happened, not D
    assert day.isoformat() not in completed
    assert env.processor().run().completed == ()


def test_desk_records_today(make_store: MakeStore) -> None:
    """Completing a request at the desk records the home club's date today."""
    env = setup(make_store, at=noon(TODAY, 23, 30))
    env.desk().receive("m1", actor="e1", anonymize=True)
    assert the_audit_entry(env.snapshot()).as_of == b.TOMORROW


@pytest.mark.parametrize("path", ["manual", "retention"])
@pytest.mark.parametrize("failing", ["requests.update", "outbox.add", "uow.commit"])
def test_other_paths_complete_the_request_in_the_same_unit(
    make_store: MakeStore, path: str, failing: str
) -> None:
    """A failure while completing the request undoes the anonymization too."""
    env = retention_env(make_store)
    env.receive()
    before = env.snapshot()
    injector = FaultInjector(env.store.unit_of_work)
    injector.fail_on(failing)
    if path == "manual":
        with pytest.raises(InjectedFailure):
            Anonymizer(injector, clock=env.clock, options=env.options).anonymize("m1", actor="e1")
    else:
        report = RetentionSweep(injector, clock=env.clock, options=env.options).run()
        assert report.anonymized == ()
        assert [e.member_id for e in report.errors] == ["m1"]
    assert env.snapshot() == before


@pytest.mark.parametrize("failing", ["requests.update", "outbox.add", "uow.commit"])
def test_a_failing_run_changes_nothing(make_store: MakeStore, failing: str) -> None:
    """A run whose unit fails leaves the request open and the member as they were."""
    env = setup(make_store)
    request = env.receive().request
    before = env.snapshot()
    injector = FaultInjector(env.store.unit_of_work)
    injector.fail_on(failing)
    report = RequestProcessor(injector, clock=env.clock, options=env.options).run()
    assert report.completed == ()
    assert report.errors == ((request.id, "InjectedFailure"),)
    assert env.snapshot() == before
    assert env.processor().run().completed == (request.id,)


# ----------------------------------------------------------------------------- register, show


def register_env(make_store: MakeStore) -> tuple[Env, dict[str, str]]:
    """Five blocked members: m1 overdue, m2 and m3 open, m4 withdrawn, m5 rejected."""
    others = [b.member(f"m{i}") for i in range(2, 6)]
    wallets = [b.wallet("1.00", member_id=f"m{i}") for i in range(1, 6)]
    env = setup(make_store, *others, *wallets)
    received = {
        "m1": dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC),  # deadline 2026-11-01
        "m2": dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC),  # deadline 2026-12-20
        "m3": dt.datetime(2026, 11, 5, 9, tzinfo=dt.UTC),  # deadline 2026-12-05
        "m4": dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC),
        "m5": dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
    }
    ids = {m: env.receive(m, received_at=at).request.id for m, at in received.items()}
    env.desk().withdraw(ids["m4"], actor="e1")
    env.desk().reject(ids["m5"], actor="e1", reason=RejectionReason.EXCESSIVE)
    return env, ids


def test_register_order(make_store: MakeStore) -> None:
    """Overdue first, then the fewest days left, closed last."""
    env, ids = register_env(make_store)
    views = env.desk().register()
    assert [v.request.id for v in views[:3]] == [ids["m1"], ids["m3"], ids["m2"]]
    assert {v.request.id for v in views[3:]} == {ids["m4"], ids["m5"]}
    by_member = {v.request.member_id: v for v in views}
    assert (by_member["m1"].days_left, by_member["m1"].overdue) == (-26, True)
    assert (by_member["m3"].days_left, by_member["m3"].overdue) == (8, False)
    assert (by_member["m2"].days_left, by_member["m2"].overdue) == (23, False)
    assert [b.code for b in by_member["m2"].blockers] == ["wallet_funds"]
    assert by_member["m4"].blockers == ()
    assert by_member["m4"].overdue is False
    assert all(v.as_of == TODAY for v in views)


def test_register_filters(make_store: MakeStore) -> None:
    """``overdue`` keeps open requests past their deadline; ``status`` keeps that status."""
    env, ids = register_env(make_store)
    desk = env.desk()
    assert [v.request.id for v in desk.register(overdue=True)] == [ids["m1"]]
    assert [v.request.id for v in desk.register(status=RequestStatus.OPEN)] == [
        ids["m1"],
        ids["m3"],
        ids["m2"],
    ]
    assert [v.request.id for v in desk.register(status=RequestStatus.WITHDRAWN)] == [ids["m4"]]
    assert [v.request.id for v in desk.register(status=RequestStatus.REJECTED)] == [ids["m5"]]
    assert desk.register(status=RequestStatus.COMPLETED) == ()
    later = desk.register(overdue=True, as_of=D(2026, 12, 6))
    assert [v.request.id for v in later] == [ids["m1"], ids["m3"]]


def test_register_changes_nothing(make_store: MakeStore) -> None:
    """Reading the register and a request changes nothing."""
    env, ids = register_env(make_store)
    before = env.snapshot()
    env.desk().register()
    env.desk().show(ids["m1"])
    assert env.snapshot() == before


def test_show_history_and_messages(make_store: MakeStore) -> None:
    """A request's history, oldest first, and all of its outbox messages."""
    env = setup(make_store, b.contract("k", start=D(2026, 1, 1), end=D(2027, 2, 26)))
    request = env.receive().request
    extended_at = noon(D(2026, 12, 1))
    env.on(extended_at)
    env.desk().extend(request.id, actor="e1", reason=ExtensionReason.NUMBER_OF_REQUESTS)
    noticed_at = noon(D(2027, 2, 26))
    env.on(noticed_at)
    env.processor().run()
    open_details = env.desk().show(request.id)
    assert open_details.view.request.is_open
    assert [b.code for b in open_details.view.blockers] == ["active_contract"]
    assert open_details.view.expected_on == D(2027, 2, 27)
    assert open_details.view.days_left == 1
    completed_at = noon(D(2027, 2, 27))
    env.on(completed_at)
    env.processor().run()
    details = env.desk().show(request.id)
    assert details.history == (
        (NOW, "received"),
        (extended_at, "extended"),
        (noticed_at, "refusal_noticed"),
        (completed_at, "completed"),
    )
    assert details.view.request.status is RequestStatus.COMPLETED
    assert details.view.blockers == ()
    assert details.view.expected_on is None
    kinds = [m.notice.kind if m.notice else m.kind for m in details.messages]
    assert kinds == [
        NoticeKind.RECEIVED,
        NoticeKind.EXTENDED,
        NoticeKind.REFUSED,
        OutboxKind.MEMBER_ANONYMIZED,
        NoticeKind.COMPLETED,
    ]
    assert all(m.request_id == request.id for m in details.messages)


def test_register_and_show_judge_blockers_on_the_home_clubs_date(make_store: MakeStore) -> None:
    """Received in New York for a Warsaw member: blockers as of Warsaw's date, as at receipt."""
    late = noon(TODAY, 23, 30)  # 28 November in Warsaw, still 27 November in New York
    ending = b.contract("k", start=D(2026, 1, 1), end=TODAY)
    env = setup(make_store, ending, FUNDS, at=late)
    result = env.receive(club_id="c2")
    assert result.eligibility.blocker_codes == ("wallet_funds",)
    (view,) = env.desk().register()
    assert view.as_of == TODAY  # the receiving club's date: the deadline is counted there
    assert [blocker.code for blocker in view.blockers] == ["wallet_funds"]
    details = env.desk().show(result.request.id)
    assert [blocker.code for blocker in details.view.blockers] == ["wallet_funds"]
    (earlier,) = env.desk().register(as_of=TODAY)
    assert [blocker.code for blocker in earlier.blockers] == ["active_contract", "wallet_funds"]


def test_show_a_withdrawn_request(make_store: MakeStore) -> None:
    """A withdrawn request shows its receipt and withdrawal, and its one notice."""
    env = setup(make_store, FUNDS)
    request = env.receive().request
    env.on(D(2026, 11, 29))
    env.desk().withdraw(request.id, actor="e1")
    details = env.desk().show(request.id)
    assert details.history == ((NOW, "received"), (env.clock.at, "withdrawn"))
    assert [m.notice.kind for m in details.messages if m.notice] == [NoticeKind.RECEIVED]
    assert details.view.overdue is False

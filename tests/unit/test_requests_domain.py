"""Erasure requests, outbox messages and the audit's new shapes: deadlines, transitions, checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from member_anonymization.domain import (
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    ErasureRequest,
    ExtensionReason,
    InvalidRecordError,
    Notice,
    NoticeKind,
    OutboxKind,
    OutboxMessage,
    RejectionReason,
    Reminder,
    RemovalCounts,
    RequestChannel,
    RequestExtension,
    RequestStateError,
    RequestStatus,
)
from member_anonymization.domain.requests import latest_extension, request_deadline
from member_anonymization.errors import MemberAnonymizationError

D = dt.date
RECEIVED_ON = D(2026, 1, 31)
RECEIVED_AT = dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC)
LATER = RECEIVED_AT + dt.timedelta(days=3)


def instant(day: dt.date, hour: int = 12) -> dt.datetime:
    """Noon (or ``hour``) UTC on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def received(received_on: dt.date = RECEIVED_ON, **changes: Any) -> ErasureRequest:
    """An open request received on ``received_on``."""
    request = ErasureRequest.receive(
        id="rq1",
        member_id="m1",
        club_id="c1",
        received_at=instant(received_on, 22),
        received_on=received_on,
        channel=RequestChannel.DESK,
        registered_by="e1",
    )
    return attrs.evolve(request, **changes) if changes else request


def extended(request: ErasureRequest | None = None, **options: Any) -> ErasureRequest:
    """``request`` extended on its receipt day (to the latest date unless ``until`` is given)."""
    request = request or received()
    options = {
        "reason": ExtensionReason.COMPLEXITY,
        "at": request.received_at,
        "by": "e1",
        "on": request.received_on,
    } | options
    return request.extended(**options)


def record_fields(**fields: Any) -> dict[str, Any]:
    """The fields of a valid open request received on 31 January 2026, with ``fields`` changed."""
    return {
        "id": "rq1",
        "member_id": "m1",
        "club_id": "c1",
        "received_at": RECEIVED_AT,
        "received_on": RECEIVED_ON,
        "channel": RequestChannel.EMAIL,
        "registered_by": None,
        "deadline": D(2026, 2, 28),
    } | fields


def problem_fields(make: Callable[[], Any]) -> list[str]:
    """The fields ``make`` is refused for, sorted (each once per problem)."""
    with pytest.raises(InvalidRecordError) as info:
        make()
    return sorted(p.field for p in info.value.problems)


CLOSERS: dict[str, Callable[[ErasureRequest], ErasureRequest]] = {
    "completed": lambda r: r.completed(at=LATER, audit_entry_id="a1"),
    "completed_before": lambda r: r.completed(at=LATER, audit_entry_id=None, by="e2"),
    "withdrawn": lambda r: r.withdrawn(at=LATER, by="e2"),
    **{
        f"rejected_{reason.value}": (
            lambda r, reason=reason: r.rejected(at=LATER, by="e2", reason=reason)
        )
        for reason in RejectionReason
    },
}
"""Every way a request ends."""

TRANSITIONS: dict[str, Callable[[ErasureRequest], ErasureRequest]] = {
    "completed": lambda r: r.completed(at=LATER, audit_entry_id="a9"),
    "withdrawn": lambda r: r.withdrawn(at=LATER, by="e3"),
    "rejected": lambda r: r.rejected(at=LATER, by="e3", reason=RejectionReason.EXCESSIVE),
    "extended": lambda r: extended(r),
}
"""Every transition a request may go through while open."""


# ----------------------------------------------------------------------- calendar


def test_calendar_add_months_is_the_retention_rule_itself() -> None:
    """Deadlines and retention share one add_months: the very same function."""
    from member_anonymization import retention
    from member_anonymization.domain import calendar

    assert calendar.add_months is retention.add_months


@pytest.mark.parametrize(
    ("year", "month", "length"),
    [(2026, 1, 31), (2026, 2, 28), (2028, 2, 29), (2100, 2, 28), (2000, 2, 29), (2026, 4, 30)],
)
def test_month_length(year: int, month: int, length: int) -> None:
    """The number of days of a month, leap years included."""
    from member_anonymization.domain.calendar import month_length

    assert month_length(year, month) == length


# ----------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("received_on", "deadline", "latest"),
    [
        (D(2026, 1, 31), D(2026, 2, 28), D(2026, 4, 30)),
        (D(2028, 1, 31), D(2028, 2, 29), D(2028, 4, 30)),
        (D(2026, 3, 31), D(2026, 4, 30), D(2026, 6, 30)),
        (D(2026, 8, 31), D(2026, 9, 30), D(2026, 11, 30)),
        (D(2026, 10, 31), D(2026, 11, 30), D(2027, 1, 31)),
        (D(2028, 2, 29), D(2028, 3, 29), D(2028, 5, 29)),
        (D(2027, 2, 28), D(2027, 3, 28), D(2027, 5, 28)),
        (D(2026, 1, 28), D(2026, 2, 28), D(2026, 4, 28)),
        (D(2026, 1, 30), D(2026, 2, 28), D(2026, 4, 30)),
        (D(2028, 1, 30), D(2028, 2, 29), D(2028, 4, 30)),
        (D(2026, 11, 30), D(2026, 12, 30), D(2027, 2, 28)),
        (D(2027, 11, 30), D(2027, 12, 30), D(2028, 2, 29)),
        (D(2026, 12, 31), D(2027, 1, 31), D(2027, 3, 31)),
        (D(2026, 12, 1), D(2027, 1, 1), D(2027, 3, 1)),
    ],
)
def test_deadline_and_latest_extension_clamp_to_month_end(
    received_on: dt.date, deadline: dt.date, latest: dt.date
) -> None:
    """One month (three when extended) from the local date of receipt, clamped to the month."""
    assert request_deadline(received_on) == deadline
    assert latest_extension(received_on) == latest
    request = received(received_on)
    assert request.deadline == deadline
    assert request.current_deadline == deadline
    assert request.latest_extension == latest
    assert extended(request).current_deadline == latest


def test_receive_opens_a_request_with_nothing_else_set() -> None:
    """A received request is open, unextended, unreminded and has no ending."""
    request = received()
    assert request.status is RequestStatus.OPEN
    assert request.is_open
    assert request.extension is None
    assert request.closed_at is None
    assert request.closed_by is None
    assert request.rejection_reason is None
    assert request.audit_entry_id is None
    assert request.reminded_near_deadline is False
    assert request.reminded_overdue is False
    assert request.refusal_noticed_at is None


@pytest.mark.parametrize(
    ("day", "left", "overdue"),
    [
        (D(2026, 1, 31), 28, False),
        (D(2026, 2, 27), 1, False),
        (D(2026, 2, 28), 0, False),
        (D(2026, 3, 1), -1, True),
        (D(2026, 3, 31), -31, True),
    ],
)
def test_days_left_and_overdue_around_the_deadline(day: dt.date, left: int, overdue: bool) -> None:
    """Zero days left on the deadline is not overdue yet; the day after is."""
    request = received()
    assert request.days_left(day) == left
    assert request.is_overdue_on(day) is overdue


@pytest.mark.parametrize(
    ("day", "left", "overdue"),
    [
        (D(2026, 3, 1), 60, False),
        (D(2026, 4, 30), 0, False),
        (D(2026, 5, 1), -1, True),
    ],
)
def test_an_extension_moves_days_left_and_overdue(day: dt.date, left: int, overdue: bool) -> None:
    """Once extended, days left and overdue count to the extended deadline."""
    request = extended()
    assert request.deadline == D(2026, 2, 28)
    assert request.current_deadline == D(2026, 4, 30)
    assert request.days_left(day) == left
    assert request.is_overdue_on(day) is overdue


@pytest.mark.parametrize("close", list(CLOSERS.values()), ids=list(CLOSERS))
def test_a_closed_request_is_never_overdue(
    close: Callable[[ErasureRequest], ErasureRequest],
) -> None:
    """A request that ended is not overdue, however late it is."""
    request = close(received())
    assert not request.is_overdue_on(D(2027, 1, 1))


# ----------------------------------------------------------------------- extension


def test_extension_is_allowed_on_the_deadline_day_and_refused_the_day_after() -> None:
    """The deadline day itself still allows an extension; the next day does not."""
    request = received()
    assert request.extension_refusal(request.received_on) is None
    assert request.extension_refusal(request.deadline) is None
    assert request.extension_refusal(request.deadline + dt.timedelta(days=1)) == "deadline_passed"
    on_the_day = extended(request, on=request.deadline, at=instant(request.deadline))
    assert on_the_day.current_deadline == request.latest_extension
    with pytest.raises(RequestStateError) as info:
        extended(request, on=request.deadline + dt.timedelta(days=1))
    assert "deadline passed" in info.value.reason
    assert info.value.request_id == "rq1"


def test_a_second_extension_is_refused() -> None:
    """A deadline is extended once only, even when the first extension stopped short."""
    once = extended(until=D(2026, 3, 15))
    assert once.extension_refusal(once.received_on) == "already_extended"
    with pytest.raises(RequestStateError) as info:
        extended(once, until=D(2026, 4, 30))
    assert "already extended" in info.value.reason
    assert once.current_deadline == D(2026, 3, 15)


@pytest.mark.parametrize("close", list(CLOSERS.values()), ids=list(CLOSERS))
def test_extension_of_a_closed_request_is_refused(
    close: Callable[[ErasureRequest], ErasureRequest],
) -> None:
    """A closed request cannot be extended, whatever the day."""
    request = close(received())
    assert request.extension_refusal(request.received_on) == "closed"
    with pytest.raises(RequestStateError) as info:
        extended(request)
    assert "closed" in info.value.reason


def test_a_closed_extended_request_is_refused_as_closed() -> None:
    """Being closed is the reason given first, before an earlier extension."""
    request = extended().withdrawn(at=LATER, by="e1")
    assert request.extension_refusal(request.received_on) == "closed"


@pytest.mark.parametrize(
    "until",
    [D(2026, 1, 31), D(2026, 2, 27), D(2026, 2, 28), D(2026, 5, 1), D(2026, 7, 31)],
    ids=["received", "before", "deadline", "after_latest", "far"],
)
def test_extension_until_a_date_out_of_range_is_refused(until: dt.date) -> None:
    """An extension must end after the deadline and at most three months from receipt."""
    request = received()
    with pytest.raises(RequestStateError) as info:
        extended(request, until=until)
    assert "three months" in info.value.reason


@pytest.mark.parametrize("until", [D(2026, 3, 1), D(2026, 3, 31), D(2026, 4, 30)])
def test_extension_until_a_date_in_range_is_kept(until: dt.date) -> None:
    """The day after the deadline and the latest date are both allowed."""
    assert extended(until=until).current_deadline == until


def test_default_extension_reaches_exactly_the_latest_date() -> None:
    """Without ``until`` the deadline moves to three months from receipt, not one day less."""
    request = received(D(2028, 2, 29))
    assert extended(request).current_deadline == D(2028, 5, 29)
    assert extended(request).current_deadline == latest_extension(D(2028, 2, 29))


@pytest.mark.parametrize("reason", list(ExtensionReason))
def test_extended_records_the_extension_and_keeps_the_first_deadline(
    reason: ExtensionReason,
) -> None:
    """The extension holds its deadline, reason, instant and employee; the rest is unchanged."""
    request = received()
    at = instant(D(2026, 2, 10))
    result = request.extended(reason=reason, at=at, by="e7", on=D(2026, 2, 10))
    assert result.extension == RequestExtension(
        deadline=D(2026, 4, 30), reason=reason, at=at, by="e7"
    )
    assert attrs.evolve(result, extension=None) == request
    assert result.is_open
    assert request.extension is None


# ----------------------------------------------------------------------- transitions


def test_completed_records_the_anonymization() -> None:
    """Completing closes the request with the audit entry, and no employee for a run."""
    request = received()
    result = request.completed(at=LATER, audit_entry_id="a1")
    assert result.status is RequestStatus.COMPLETED
    assert not result.is_open
    assert result.closed_at == LATER
    assert result.closed_by is None
    assert result.audit_entry_id == "a1"
    assert result.rejection_reason is None
    assert attrs.evolve(result, status=RequestStatus.OPEN, closed_at=None, audit_entry_id=None) == (
        request
    )


def test_completed_without_an_anonymization_when_anonymized_before() -> None:
    """A member anonymized before the request arrived completes it with no audit entry."""
    result = received().completed(at=LATER, audit_entry_id=None, by="e2")
    assert result.status is RequestStatus.COMPLETED
    assert result.audit_entry_id is None
    assert result.closed_by == "e2"


def test_withdrawn_records_the_employee() -> None:
    """Withdrawing closes the request with who registered it and when."""
    result = received().withdrawn(at=LATER, by="e2")
    assert result.status is RequestStatus.WITHDRAWN
    assert (result.closed_at, result.closed_by) == (LATER, "e2")
    assert result.rejection_reason is None
    assert result.audit_entry_id is None


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_rejected_records_the_reason(reason: RejectionReason) -> None:
    """Rejecting closes the request with its reason and the employee."""
    result = received().rejected(at=LATER, by="e2", reason=reason)
    assert result.status is RequestStatus.REJECTED
    assert result.rejection_reason is reason
    assert (result.closed_at, result.closed_by) == (LATER, "e2")
    assert result.audit_entry_id is None


def test_an_extended_request_can_still_end() -> None:
    """Extension keeps a request open: it can then be completed and keeps its extension."""
    request = extended()
    result = request.completed(at=LATER, audit_entry_id="a1")
    assert result.status is RequestStatus.COMPLETED
    assert result.extension == request.extension


def test_closed_at_may_equal_received_at() -> None:
    """A request completed at the instant of receipt (``request add --anonymize``) is valid."""
    request = received()
    result = request.completed(at=request.received_at, audit_entry_id="a1")
    assert result.closed_at == result.received_at


@pytest.mark.parametrize("close", list(CLOSERS.values()), ids=list(CLOSERS))
@pytest.mark.parametrize("transition", list(TRANSITIONS.values()), ids=list(TRANSITIONS))
def test_a_closed_request_refuses_every_transition(
    close: Callable[[ErasureRequest], ErasureRequest],
    transition: Callable[[ErasureRequest], ErasureRequest],
) -> None:
    """Completed, withdrawn or rejected: the request never changes again."""
    request = close(received())
    before = attrs.evolve(request)
    with pytest.raises(RequestStateError) as info:
        transition(request)
    assert info.value.request_id == "rq1"
    assert request == before


def test_request_state_error_is_a_library_value_error() -> None:
    """RequestStateError is caught as the library's error and as a ValueError."""
    assert issubclass(RequestStateError, MemberAnonymizationError)
    assert issubclass(RequestStateError, ValueError)
    error = RequestStateError("rq1", "is rejected and cannot change")
    assert (error.request_id, error.reason) == ("rq1", "is rejected and cannot change")
    assert "rq1" in str(error)


def test_reminded_records_each_kind_once_and_never_forgets() -> None:
    """Reminder flags are set by kind and stay set."""
    request = received()
    assert request.reminded() == request
    near = request.reminded(near_deadline=True)
    assert (near.reminded_near_deadline, near.reminded_overdue) == (True, False)
    both = near.reminded(overdue=True)
    assert (both.reminded_near_deadline, both.reminded_overdue) == (True, True)
    assert both.reminded(near_deadline=False, overdue=False) == both
    assert attrs.evolve(both, reminded_near_deadline=False, reminded_overdue=False) == request


def test_refusal_noticed_records_the_instant() -> None:
    """The ``refused`` notice's instant is kept; nothing else changes."""
    request = received()
    at = instant(D(2026, 2, 27))
    result = request.refusal_noticed(at)
    assert result.refusal_noticed_at == at
    assert attrs.evolve(result, refusal_noticed_at=None) == request


# ----------------------------------------------------------------- record checks


def test_a_valid_record_of_each_status_builds() -> None:
    """Records read back from a store, with consistent fields, are accepted."""
    ext = RequestExtension(
        deadline=D(2026, 4, 30), reason=ExtensionReason.NUMBER_OF_REQUESTS, at=LATER, by="e1"
    )
    ErasureRequest(**record_fields(extension=ext))
    ErasureRequest(**record_fields(status=RequestStatus.COMPLETED, closed_at=LATER))
    ErasureRequest(
        **record_fields(
            status=RequestStatus.COMPLETED, closed_at=LATER, audit_entry_id="a1", closed_by="e1"
        )
    )
    ErasureRequest(**record_fields(status=RequestStatus.WITHDRAWN, closed_at=LATER, closed_by="e1"))
    ErasureRequest(
        **record_fields(
            status=RequestStatus.REJECTED,
            closed_at=LATER,
            closed_by="e1",
            rejection_reason=RejectionReason.EXCESSIVE,
        )
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"closed_at": LATER}, ["closed_at"]),
        ({"closed_by": "e1"}, ["closed_by"]),
        ({"rejection_reason": RejectionReason.EXCESSIVE}, ["rejection_reason"]),
        ({"audit_entry_id": "a1"}, ["audit_entry_id"]),
        ({"status": RequestStatus.REJECTED, "closed_at": LATER}, ["rejection_reason"]),
        ({"status": RequestStatus.REJECTED}, ["closed_at", "rejection_reason"]),
        ({"status": RequestStatus.COMPLETED}, ["closed_at"]),
        ({"status": RequestStatus.WITHDRAWN}, ["closed_at"]),
        (
            {"status": RequestStatus.WITHDRAWN, "closed_at": LATER, "audit_entry_id": "a1"},
            ["audit_entry_id"],
        ),
        (
            {
                "status": RequestStatus.COMPLETED,
                "closed_at": LATER,
                "rejection_reason": RejectionReason.EXCESSIVE,
            },
            ["rejection_reason"],
        ),
        (
            {"status": RequestStatus.COMPLETED, "closed_at": RECEIVED_AT - dt.timedelta(seconds=1)},
            ["closed_at"],
        ),
        ({"deadline": D(2026, 3, 3)}, ["deadline"]),
        ({"deadline": D(2026, 3, 1)}, ["deadline"]),
        ({"deadline": D(2026, 2, 27)}, ["deadline"]),
        ({"received_on": D(2026, 1, 27)}, ["deadline"]),
    ],
    ids=[
        "open_closed_at",
        "open_closed_by",
        "open_rejection_reason",
        "open_audit_entry",
        "rejected_without_reason",
        "rejected_without_anything",
        "completed_without_closed_at",
        "withdrawn_without_closed_at",
        "withdrawn_with_audit_entry",
        "completed_with_rejection_reason",
        "closed_before_received",
        "deadline_not_clamped",
        "deadline_day_after",
        "deadline_day_before",
        "received_on_other_month",
    ],
)
def test_an_inconsistent_request_is_refused_naming_the_fields(
    fields: dict[str, Any], expected: list[str]
) -> None:
    """A record whose fields contradict each other names each offending field."""
    assert problem_fields(lambda: ErasureRequest(**record_fields(**fields))) == expected


def test_every_problem_of_a_request_is_reported_at_once() -> None:
    """Several contradictions come in one error, with the request's id."""
    with pytest.raises(InvalidRecordError) as info:
        ErasureRequest(
            **record_fields(
                closed_at=LATER,
                closed_by="e1",
                rejection_reason=RejectionReason.EXCESSIVE,
                audit_entry_id="a1",
                deadline=D(2026, 3, 31),
                registered_by=" e1",
            )
        )
    error = info.value
    assert error.record_type == "ErasureRequest"
    assert error.record_id == "rq1"
    assert sorted(p.field for p in error.problems) == sorted(
        [
            "registered_by",
            "closed_at",
            "closed_by",
            "rejection_reason",
            "audit_entry_id",
            "deadline",
        ]
    )


@pytest.mark.parametrize(
    ("until", "valid"),
    [
        (D(2026, 2, 27), False),
        (D(2026, 2, 28), False),
        (D(2026, 3, 1), True),
        (D(2026, 4, 30), True),
        (D(2026, 5, 1), False),
    ],
)
def test_a_stored_extension_out_of_range_is_refused(until: dt.date, valid: bool) -> None:
    """A stored extension must end after the first deadline and within three months."""
    ext = RequestExtension(deadline=until, reason=ExtensionReason.COMPLEXITY, at=LATER, by="e1")
    if valid:
        assert ErasureRequest(**record_fields(extension=ext)).current_deadline == until
    else:
        assert problem_fields(lambda: ErasureRequest(**record_fields(extension=ext))) == [
            "extension"
        ]


def test_a_wrong_deadline_and_extension_are_both_reported() -> None:
    """The first deadline and the extension are checked against receipt, each on its own."""
    ext = RequestExtension(
        deadline=D(2026, 6, 1), reason=ExtensionReason.COMPLEXITY, at=LATER, by="e1"
    )
    fields = record_fields(deadline=D(2026, 3, 3), extension=ext)
    assert problem_fields(lambda: ErasureRequest(**fields)) == ["deadline", "extension"]


def test_an_extension_checks_its_own_fields() -> None:
    """A naive instant, a blank employee and a wrong reason are all reported."""
    naive = dt.datetime(2026, 2, 1, 12)
    make = lambda: RequestExtension(  # noqa: E731
        deadline=dt.datetime(2026, 4, 30, tzinfo=dt.UTC),
        reason="complexity",
        at=naive,
        by="",
    )
    assert problem_fields(make) == ["at", "by", "deadline", "reason"]


def test_a_request_refuses_an_extension_that_is_not_one() -> None:
    """The extension field holds a RequestExtension, nothing else."""
    fields = record_fields(extension={"deadline": D(2026, 4, 30)})
    assert problem_fields(lambda: ErasureRequest(**fields)) == ["extension"]


def test_enum_values_of_requests_and_outbox_are_the_documented_codes() -> None:
    """The codes of the spec, as the dataset file writes them."""
    assert {c.value for c in RequestChannel} == {"desk", "email", "letter", "app", "other"}
    assert {s.value for s in RequestStatus} == {"open", "completed", "withdrawn", "rejected"}
    assert {r.value for r in ExtensionReason} == {"complexity", "number_of_requests"}
    assert {r.value for r in RejectionReason} == {
        "identity_not_verified",
        "manifestly_unfounded",
        "excessive",
    }
    assert {k.value for k in NoticeKind} == {
        "received",
        "extended",
        "refused",
        "rejected",
        "completed",
    }
    assert {k.value for k in OutboxKind} == {"member_anonymized", "notice"}
    assert AnonymizationMode.REQUEST.value == "request"


# ------------------------------------------------------------------------- outbox


NOTICE = Notice(
    kind=NoticeKind.RECEIVED, language="en", subject="Request rq1", body="Deadline 2026-02-28."
)


def event(**changes: Any) -> OutboxMessage:
    """A pending member_anonymized event."""
    fields: dict[str, Any] = {
        "id": "o1",
        "kind": OutboxKind.MEMBER_ANONYMIZED,
        "member_id": "m1",
        "created_at": LATER,
        "mode": AnonymizationMode.MANUAL,
    }
    return OutboxMessage(**(fields | changes))


def notice_message(**changes: Any) -> OutboxMessage:
    """A pending notice of request ``rq1``."""
    fields: dict[str, Any] = {
        "id": "o2",
        "kind": OutboxKind.NOTICE,
        "member_id": "m1",
        "created_at": LATER,
        "request_id": "rq1",
        "notice": NOTICE,
    }
    return OutboxMessage(**(fields | changes))


@pytest.mark.parametrize("mode", list(AnonymizationMode))
def test_an_event_carries_its_mode_and_maybe_a_request(mode: AnonymizationMode) -> None:
    """A member_anonymized event has a mode, with or without a request id."""
    assert event(mode=mode).request_id is None
    assert event(mode=mode, request_id="rq1").request_id == "rq1"
    assert event(mode=mode).is_pending


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mode": None}, ["mode"]),
        ({"notice": NOTICE}, ["notice"]),
        ({"mode": None, "notice": NOTICE}, ["mode", "notice"]),
    ],
)
def test_an_event_needs_a_mode_and_no_notice(changes: dict[str, Any], expected: list[str]) -> None:
    """An event without a mode, or holding a notice, is refused."""
    assert problem_fields(lambda: event(**changes)) == expected


def test_a_notice_message_is_valid_with_notice_and_request() -> None:
    """A notice names its request and holds the notice, without a mode."""
    message = notice_message()
    assert message.notice == NOTICE
    assert message.mode is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"notice": None}, ["notice"]),
        ({"request_id": None}, ["request_id"]),
        ({"mode": AnonymizationMode.REQUEST}, ["mode"]),
        (
            {"notice": None, "request_id": None, "mode": AnonymizationMode.MANUAL},
            ["mode", "notice", "request_id"],
        ),
    ],
)
def test_a_notice_message_needs_notice_and_request_and_no_mode(
    changes: dict[str, Any], expected: list[str]
) -> None:
    """A notice without its notice or its request, or with a mode, is refused."""
    assert problem_fields(lambda: notice_message(**changes)) == expected


def test_an_outbox_message_refuses_a_notice_that_is_not_one() -> None:
    """The notice field holds a Notice."""
    assert problem_fields(lambda: notice_message(notice={"kind": "received"})) == ["notice"]


def test_a_notice_needs_every_field() -> None:
    """A blank subject or body, an empty language and a wrong kind are all reported."""
    make = lambda: Notice(kind="received", language="", subject=" ", body="")  # noqa: E731
    assert problem_fields(make) == ["body", "kind", "language", "subject"]


@pytest.mark.parametrize("make", [event, notice_message], ids=["event", "notice"])
def test_delivered_is_set_once_and_keeps_the_first_instant(
    make: Callable[[], OutboxMessage],
) -> None:
    """Marking delivered twice keeps the first instant; the pending message is unchanged."""
    pending = make()
    first = pending.delivered(LATER + dt.timedelta(hours=1))
    assert first.delivered_at == LATER + dt.timedelta(hours=1)
    assert not first.is_pending
    again = first.delivered(LATER + dt.timedelta(days=2))
    assert again == first
    assert again.delivered_at == LATER + dt.timedelta(hours=1)
    assert pending.is_pending
    assert attrs.evolve(first, delivered_at=None) == pending


def test_delivered_at_must_be_an_instant() -> None:
    """A naive delivery time is refused."""
    assert problem_fields(lambda: event(delivered_at=dt.datetime(2026, 2, 3))) == ["delivered_at"]


# -------------------------------------------------------------------------- audit


def audit(**changes: Any) -> AuditEntry:
    """An audit entry of a manual anonymization."""
    fields: dict[str, Any] = {
        "id": "a1",
        "member_id": "m1",
        "actor_id": "e1",
        "at": LATER,
        "mode": AnonymizationMode.MANUAL,
        "removed": RemovalCounts(personal_data=1, notes=2),
    }
    return AuditEntry(**(fields | changes))


def test_an_export_entry_has_no_mode_and_no_counts() -> None:
    """An export is recorded without a mode, counts or date."""
    entry = audit(action=AuditAction.EXPORT, mode=None, removed=None)
    assert (entry.mode, entry.removed, entry.as_of) == (None, None, None)
    assert not entry.is_anonymization


def test_an_export_entry_of_the_first_release_still_builds() -> None:
    """An export written as manual with zero counts is still a valid record."""
    entry = audit(action=AuditAction.EXPORT, removed=RemovalCounts())
    assert entry.mode is AnonymizationMode.MANUAL
    assert not entry.is_anonymization


@pytest.mark.parametrize("mode", [AnonymizationMode.RETENTION, AnonymizationMode.REQUEST])
def test_an_export_entry_with_an_anonymization_mode_is_refused(mode: AnonymizationMode) -> None:
    """Only no mode (or the first release's manual) fits an export."""
    assert problem_fields(lambda: audit(action=AuditAction.EXPORT, mode=mode, removed=None)) == [
        "mode"
    ]


def test_an_export_entry_with_counts_or_a_date_is_refused() -> None:
    """An export removes nothing and is evaluated on no date: each is reported."""
    make = lambda: audit(  # noqa: E731
        action=AuditAction.EXPORT,
        mode=AnonymizationMode.RETENTION,
        removed=RemovalCounts(photo=1),
        as_of=D(2026, 2, 3),
    )
    assert problem_fields(make) == ["as_of", "mode", "removed"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mode": None}, ["mode"]),
        ({"removed": None}, ["removed"]),
        ({"mode": None, "removed": None}, ["mode", "removed"]),
    ],
)
def test_an_anonymization_entry_needs_mode_and_counts(
    changes: dict[str, Any], expected: list[str]
) -> None:
    """An anonymization is recorded with how it was done and what it removed."""
    assert problem_fields(lambda: audit(**changes)) == expected


@pytest.mark.parametrize("mode", list(AnonymizationMode))
def test_an_anonymization_entry_keeps_its_as_of(mode: AnonymizationMode) -> None:
    """The date the rules were evaluated on is kept, for every mode."""
    actor = "e1" if mode is AnonymizationMode.MANUAL else None
    entry = audit(mode=mode, actor_id=actor, as_of=D(2026, 2, 3))
    assert entry.as_of == D(2026, 2, 3)
    assert entry.is_anonymization
    assert audit().as_of is None


def test_an_audit_as_of_must_be_a_date() -> None:
    """A datetime where the evaluation date belongs is refused."""
    assert problem_fields(lambda: audit(as_of=LATER)) == ["as_of"]


# ----------------------------------------------------------------------- reminder


def test_a_reminder_may_name_a_request_and_an_action() -> None:
    """An erasure-request reminder carries the request and the blocker to clear."""
    reminder = Reminder(
        id="rem1",
        member_id="m1",
        club_id="c1",
        kind="request_action",
        created_at=LATER,
        request_id="rq1",
        action="wallet_funds",
    )
    assert (reminder.request_id, reminder.action) == ("rq1", "wallet_funds")
    plain = Reminder(id="rem2", member_id="m1", club_id="c1", kind="arrears", created_at=LATER)
    assert (plain.request_id, plain.action) == (None, None)


def test_a_reminder_checks_request_and_action() -> None:
    """A blank request id or action is refused, each named."""
    make = lambda: Reminder(  # noqa: E731
        id="rem1",
        member_id="m1",
        club_id="c1",
        kind="request_action",
        created_at=LATER,
        request_id="",
        action=" wallet_funds",
    )
    assert problem_fields(make) == ["action", "request_id"]

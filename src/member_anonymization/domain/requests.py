"""Erasure requests (GDPR Art. 12 and 17): the member's request to be forgotten.

A request is the club's evidence (Art. 5(2)) and holds no personal data beyond
the member's pseudonymous id: ids, instants, dates, codes. It is ``open`` until
it ends exactly once as ``completed`` (the member was anonymized),
``withdrawn`` or ``rejected``; a closed request never changes again. Its
deadline is one month from the local date of receipt
(:func:`request_deadline`), and may be extended once, before it has passed, to
at most three months from receipt (:func:`latest_extension`).

The transitions are methods that return a new record; they raise
:class:`RequestStateError` when the rules forbid them, so a service checks
:meth:`ErasureRequest.extension_refusal` and :attr:`ErasureRequest.is_open` first
and reports a typed result instead.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Final, final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.calendar import add_months
from member_anonymization.domain.values import ClubId, EmployeeId, MemberId
from member_anonymization.errors import MemberAnonymizationError

__all__ = [
    "DEADLINE_MONTHS",
    "MAX_EXTENDED_MONTHS",
    "ErasureRequest",
    "ExtensionReason",
    "RejectionReason",
    "RequestChannel",
    "RequestExtension",
    "RequestStateError",
    "RequestStatus",
    "latest_extension",
    "request_deadline",
]

DEADLINE_MONTHS: Final = 1
"""Art. 12(3): a request is answered within one month of receipt."""

MAX_EXTENDED_MONTHS: Final = 3
"""Art. 12(3): an extension reaches at most three months from receipt."""


class RequestChannel(enum.Enum):
    """How the request reached the club."""

    DESK = "desk"
    EMAIL = "email"
    LETTER = "letter"
    APP = "app"
    OTHER = "other"


class RequestStatus(enum.Enum):
    """Where a request stands: open, or how it ended."""

    OPEN = "open"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"


class ExtensionReason(enum.Enum):
    """Why the deadline was extended (Art. 12(3))."""

    COMPLEXITY = "complexity"
    NUMBER_OF_REQUESTS = "number_of_requests"


class RejectionReason(enum.Enum):
    """Why a request was rejected (Art. 12(5) and 12(6))."""

    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"
    EXCESSIVE = "excessive"


class RequestStateError(MemberAnonymizationError, ValueError):
    """A transition the rules forbid (a closed request, a second extension, ...)."""

    def __init__(self, request_id: str, reason: str) -> None:
        self.request_id = request_id
        self.reason = reason
        super().__init__(f"erasure request {request_id!r}: {reason}")


def request_deadline(received_on: dt.date) -> dt.date:
    """The deadline of a request received on the local date ``received_on``."""
    return add_months(received_on, DEADLINE_MONTHS)


def latest_extension(received_on: dt.date) -> dt.date:
    """The latest date an extended deadline may reach."""
    return add_months(received_on, MAX_EXTENDED_MONTHS)


@final
@attrs.frozen(kw_only=True)
class RequestExtension:
    """The one extension of a request's deadline.

    Attributes:
        deadline: The new deadline.
        reason: Why it was extended.
        at: When it was extended.
        by: The employee who extended it.
    """

    deadline: dt.date = attrs.field(metadata=c.check(c.day))
    reason: ExtensionReason = attrs.field(metadata=c.check(c.member_of(ExtensionReason)))
    at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    by: EmployeeId = attrs.field(metadata=c.check(c.ident))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


def _closing_problems(request: ErasureRequest) -> list[c.FieldProblem]:
    """Fields that contradict the request's status."""
    problems: list[c.FieldProblem] = []
    status: object = request.status
    if not isinstance(status, RequestStatus):
        return problems  # reported by the field's own check
    is_open = request.status is RequestStatus.OPEN
    closed_at_valid = c.optional(c.instant)(request.closed_at) is None
    if closed_at_valid and is_open and request.closed_at is not None:
        problems.append(c.FieldProblem("closed_at", "must be empty while the request is open"))
    if closed_at_valid and not is_open and request.closed_at is None:
        problems.append(c.FieldProblem("closed_at", "must be set once the request is closed"))
    rejected = request.status is RequestStatus.REJECTED
    if rejected != (request.rejection_reason is not None):
        problems.append(
            c.FieldProblem("rejection_reason", "must be set exactly when the request is rejected")
        )
    if request.status is not RequestStatus.COMPLETED and request.audit_entry_id is not None:
        problems.append(
            c.FieldProblem("audit_entry_id", "must be empty unless the request is completed")
        )
    if is_open and request.closed_by is not None:
        problems.append(c.FieldProblem("closed_by", "must be empty while the request is open"))
    return problems


def _deadline_problems(request: ErasureRequest) -> list[c.FieldProblem]:
    """A deadline that is not one month from receipt, or an extension out of range."""
    problems: list[c.FieldProblem] = []
    if c.day(request.received_on) is not None or c.day(request.deadline) is not None:
        return problems  # reported by the fields' own checks
    try:
        first = request_deadline(request.received_on)
        latest = latest_extension(request.received_on)
    except ValueError:
        return problems  # beyond the calendar: no deadline to compare with
    if request.deadline != first:
        problems.append(c.FieldProblem("deadline", "must be one month after received_on"))
    ext = request.extension
    if isinstance(ext, RequestExtension) and not first < ext.deadline <= latest:
        problems.append(
            c.FieldProblem(
                "extension",
                "must move the deadline later, to at most three months after received_on",
            )
        )
    return problems


@final
@attrs.frozen(kw_only=True)
class ErasureRequest:
    """A member's request to be forgotten, from receipt to its end.

    Attributes:
        club_id: The club that received it (its time zone dates the receipt).
        received_at: When it was received.
        received_on: The receiving club's local date of ``received_at``.
        channel: How it reached the club.
        registered_by: The employee who registered it (``None``: the host's
            own system, such as a self-service app).
        status: Open, or how it ended.
        deadline: The first deadline, one month after ``received_on``.
        extension: The one extension, if the deadline was extended.
        closed_at: When it ended (``None`` while open).
        closed_by: The employee who closed it (``None`` for a processing run).
        rejection_reason: Why it was rejected (only when rejected).
        audit_entry_id: The anonymization that completed it (only when completed).
        reminded_near_deadline: A reminder was created for its near deadline.
        reminded_overdue: A reminder was created because it is overdue.
        refusal_noticed_at: When the ``refused`` notice was produced, if it was.
    """

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    received_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    received_on: dt.date = attrs.field(metadata=c.check(c.day))
    channel: RequestChannel = attrs.field(metadata=c.check(c.member_of(RequestChannel)))
    registered_by: EmployeeId | None = attrs.field(metadata=c.check(c.optional(c.ident)))
    deadline: dt.date = attrs.field(metadata=c.check(c.day))
    status: RequestStatus = attrs.field(
        default=RequestStatus.OPEN, metadata=c.check(c.member_of(RequestStatus))
    )
    extension: RequestExtension | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instance(RequestExtension)))
    )
    closed_at: dt.datetime | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instant))
    )
    closed_by: EmployeeId | None = attrs.field(default=None, metadata=c.check(c.optional(c.ident)))
    rejection_reason: RejectionReason | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.member_of(RejectionReason)))
    )
    audit_entry_id: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.ident)))
    reminded_near_deadline: bool = attrs.field(default=False, metadata=c.check(c.boolean))
    reminded_overdue: bool = attrs.field(default=False, metadata=c.check(c.boolean))
    refusal_noticed_at: dt.datetime | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instant))
    )

    def __attrs_post_init__(self) -> None:
        extra = [*_closing_problems(self), *_deadline_problems(self)]
        c.check_fields(self, *c.not_before(self, "closed_at", "received_at"), *extra)

    @classmethod
    def receive(
        cls,
        *,
        id: str,
        member_id: MemberId,
        club_id: ClubId,
        received_at: dt.datetime,
        received_on: dt.date,
        channel: RequestChannel,
        registered_by: EmployeeId | None,
    ) -> ErasureRequest:
        """A new, open request with its deadline one month after ``received_on``."""
        return cls(
            id=id,
            member_id=member_id,
            club_id=club_id,
            received_at=received_at,
            received_on=received_on,
            channel=channel,
            registered_by=registered_by,
            deadline=request_deadline(received_on),
        )

    @property
    def is_open(self) -> bool:
        """Not yet completed, withdrawn or rejected."""
        return self.status is RequestStatus.OPEN

    @property
    def current_deadline(self) -> dt.date:
        """The deadline in force: the extended one, if any."""
        return self.deadline if self.extension is None else self.extension.deadline

    @property
    def latest_extension(self) -> dt.date:
        """The latest date the deadline may be extended to."""
        return latest_extension(self.received_on)

    def days_left(self, day: dt.date) -> int:
        """Days from ``day`` to the deadline in force (negative once overdue)."""
        return (self.current_deadline - day).days

    def is_overdue_on(self, day: dt.date) -> bool:
        """Still open after the deadline in force."""
        return self.is_open and day > self.current_deadline

    def extension_refusal(self, day: dt.date) -> str | None:
        """Why the deadline cannot be extended on ``day``, or ``None`` when it can.

        Returns:
            ``"closed"``, ``"already_extended"`` or ``"deadline_passed"`` (the
            first deadline is before ``day``; extending on the deadline day
            itself is allowed).
        """
        if not self.is_open:
            return "closed"
        if self.extension is not None:
            return "already_extended"
        if day > self.deadline:
            return "deadline_passed"
        return None

    def extended(
        self,
        *,
        reason: ExtensionReason,
        at: dt.datetime,
        by: EmployeeId,
        on: dt.date,
        until: dt.date | None = None,
    ) -> ErasureRequest:
        """The request with its deadline extended (once, before it passed).

        Args:
            reason: Why.
            at: When.
            by: The employee.
            on: The receiving club's local date of ``at``.
            until: The new deadline; by default the latest allowed.

        Raises:
            RequestStateError: Closed, already extended, past its deadline, or
                ``until`` not after the deadline or beyond three months.
        """
        refusal = self.extension_refusal(on)
        if refusal is not None:
            raise RequestStateError(self.id, f"cannot be extended ({refusal.replace('_', ' ')})")
        new = self.latest_extension if until is None else until
        if not self.deadline < new <= self.latest_extension:
            raise RequestStateError(
                self.id, "an extension must end after the deadline and within three months"
            )
        extension = RequestExtension(deadline=new, reason=reason, at=at, by=by)
        return attrs.evolve(self, extension=extension)

    def _closed(self, status: RequestStatus, at: dt.datetime, **changes: object) -> ErasureRequest:
        if not self.is_open:
            raise RequestStateError(self.id, f"is {self.status.value} and cannot change")
        return attrs.evolve(self, status=status, closed_at=at, **changes)  # type: ignore[arg-type]

    def completed(
        self, *, at: dt.datetime, audit_entry_id: str | None, by: EmployeeId | None = None
    ) -> ErasureRequest:
        """The request completed by the anonymization ``audit_entry_id``.

        ``audit_entry_id`` is ``None`` when the member had been anonymized
        before the request arrived.

        Raises:
            RequestStateError: The request is closed already.
        """
        return self._closed(
            RequestStatus.COMPLETED, at, audit_entry_id=audit_entry_id, closed_by=by
        )

    def withdrawn(self, *, at: dt.datetime, by: EmployeeId) -> ErasureRequest:
        """The request withdrawn by the member (registered by ``by``).

        Raises:
            RequestStateError: The request is closed already.
        """
        return self._closed(RequestStatus.WITHDRAWN, at, closed_by=by)

    def rejected(
        self, *, at: dt.datetime, by: EmployeeId, reason: RejectionReason
    ) -> ErasureRequest:
        """The request rejected for ``reason``.

        Raises:
            RequestStateError: The request is closed already.
        """
        return self._closed(RequestStatus.REJECTED, at, closed_by=by, rejection_reason=reason)

    def reminded(self, *, near_deadline: bool = False, overdue: bool = False) -> ErasureRequest:
        """The open request with its deadline reminders recorded.

        Raises:
            RequestStateError: The request is closed already.
        """
        if not self.is_open:
            raise RequestStateError(self.id, f"is {self.status.value} and cannot change")
        return attrs.evolve(
            self,
            reminded_near_deadline=self.reminded_near_deadline or near_deadline,
            reminded_overdue=self.reminded_overdue or overdue,
        )

    def refusal_noticed(self, at: dt.datetime) -> ErasureRequest:
        """The open request with its ``refused`` notice recorded.

        Raises:
            RequestStateError: The request is closed already.
        """
        if not self.is_open:
            raise RequestStateError(self.id, f"is {self.status.value} and cannot change")
        return attrs.evolve(self, refusal_noticed_at=at)

"""Erasure requests over time: the request desk and the daily processing run.

A member asks to be forgotten, most often while a contract still runs or with
money in the wallet. :class:`RequestDesk` registers the request (GDPR Art. 12
and 17), evaluates the blockers at once, answers with the deadline, the
reasons and the expected date, and, when nothing blocks and the employee may
anonymize, carries it out in the same step. Staff can extend the deadline once,
record a withdrawal, or reject a request with a reason.

:class:`RequestProcessor` runs once a day (beside the retention sweep): it
anonymizes the member of every open request whose blockers have all cleared,
completes the request without a second request from the member, creates the
deadline reminders, and produces the ``refused`` notice that must reach the
member by the deadline. It is safe to run twice and from several workers.

Every change writes its notices to the outbox in the same unit of work, and
every anonymization, by any path, completes the member's open request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, TypeAlias, final

import attrs

from member_anonymization._access import actor_may, member_facts, not_after_today, reading
from member_anonymization._effects import apply_anonymization, outbox_message
from member_anonymization._notices import (
    STAFF_ACTION_CODES,
    completed_notice,
    expected_on,
    extended_notice,
    received_notice,
    refused_notice,
    rejected_notice,
)
from member_anonymization._service import BatchedService, Service, settle_batch
from member_anonymization.anonymizer import AnonymizationOptions, Anonymized, anonymize_now
from member_anonymization.domain import (
    AnonymizationMode,
    Club,
    ClubId,
    EmployeeId,
    ErasureRequest,
    ExtensionReason,
    MemberId,
    Notice,
    OutboxMessage,
    Permission,
    RejectionReason,
    Reminder,
    RequestChannel,
    RequestStatus,
)
from member_anonymization.errors import UnknownClubError, UnknownRequestError
from member_anonymization.policy import Blocker, Eligibility, MemberFacts, evaluate
from member_anonymization.ports import UnitOfWork

__all__ = [
    "NEAR_DEADLINE_DAYS",
    "CloseResult",
    "ExtendResult",
    "OpenRequest",
    "ProcessReport",
    "ReceiveResult",
    "RequestAlreadyOpen",
    "RequestCompleted",
    "RequestDesk",
    "RequestDetails",
    "RequestExtended",
    "RequestNotPermitted",
    "RequestProcessor",
    "RequestReceived",
    "RequestRejected",
    "RequestUnchanged",
    "RequestView",
    "RequestWithdrawn",
]

_log = logging.getLogger(__name__)

NEAR_DEADLINE_DAYS: Final = 7
"""A processing run reminds the club once an open request is this close to its deadline."""

DEFAULT_BATCH_SIZE: Final = 200
"""How many open requests one unit of work of a processing run handles."""


# --------------------------------------------------------------------------- results


@final
@attrs.frozen(kw_only=True)
class RequestReceived:
    """The request was registered and stays open (something blocks, or it waits for a run).

    Attributes:
        request: The request as stored.
        eligibility: The blockers and warnings on the day it was received.
        expected_on: The day the time-bound blockers clear (``None`` when a
            blocker needs staff action, a contract has no end, or nothing blocks).
        notices: The notices written to the outbox.
    """

    status: ClassVar[Literal["open"]] = "open"
    request: ErasureRequest
    eligibility: Eligibility
    expected_on: dt.date | None
    notices: tuple[Notice, ...] = ()


@final
@attrs.frozen(kw_only=True)
class RequestCompleted:
    """The request was registered and completed in the same step.

    Attributes:
        request: The completed request.
        eligibility: The verdict it was carried out on.
        anonymized: The anonymization (``None`` when the member had been
            anonymized before: the request is then completed at once).
    """

    status: ClassVar[Literal["completed"]] = "completed"
    request: ErasureRequest
    eligibility: Eligibility
    anonymized: Anonymized | None


@final
@attrs.frozen(kw_only=True)
class RequestAlreadyOpen:
    """The member has an open request already (one at a time); nothing changed."""

    status: ClassVar[Literal["already_open"]] = "already_open"
    request: ErasureRequest


@final
@attrs.frozen(kw_only=True)
class RequestNotPermitted:
    """The actor lacks a permission; nothing was changed or revealed."""

    status: ClassVar[Literal["not_permitted"]] = "not_permitted"
    actor_id: EmployeeId
    permission: Permission


@final
@attrs.frozen(kw_only=True)
class RequestExtended:
    """The deadline was extended and the ``extended`` notice written."""

    status: ClassVar[Literal["extended"]] = "extended"
    request: ErasureRequest
    notice: Notice


@final
@attrs.frozen(kw_only=True)
class RequestWithdrawn:
    """The member withdrew the request; it is closed without anonymizing."""

    status: ClassVar[Literal["withdrawn"]] = "withdrawn"
    request: ErasureRequest


@final
@attrs.frozen(kw_only=True)
class RequestRejected:
    """The request was rejected with a reason; the ``rejected`` notice was written."""

    status: ClassVar[Literal["rejected"]] = "rejected"
    request: ErasureRequest
    notice: Notice


@final
@attrs.frozen(kw_only=True)
class RequestUnchanged:
    """The rules forbid the change; nothing changed.

    Attributes:
        reason: ``"closed"`` (the request ended already), ``"already_extended"``
            or ``"deadline_passed"`` (an extension after the first deadline).
    """

    status: ClassVar[Literal["unchanged"]] = "unchanged"
    request: ErasureRequest
    reason: Literal["closed", "already_extended", "deadline_passed"]


ReceiveResult: TypeAlias = (
    RequestReceived | RequestCompleted | RequestAlreadyOpen | RequestNotPermitted
)
"""What :meth:`RequestDesk.receive` returns; ``match`` on it."""

ExtendResult: TypeAlias = RequestExtended | RequestUnchanged | RequestNotPermitted
"""What :meth:`RequestDesk.extend` returns."""

CloseResult: TypeAlias = RequestWithdrawn | RequestRejected | RequestUnchanged | RequestNotPermitted
"""What :meth:`RequestDesk.withdraw` and :meth:`RequestDesk.reject` return."""


@final
@attrs.frozen(kw_only=True)
class RequestView:
    """One line of the register: a request and where it stands on a date.

    Attributes:
        as_of: The date the view was taken on (the receiving club's today).
        days_left: Days to the deadline in force (negative: overdue).
        overdue: Open after its deadline.
        blockers: For an open request: what blocks its member today.
        expected_on: For an open request: the day its time-bound blockers clear.
    """

    request: ErasureRequest
    as_of: dt.date
    days_left: int
    overdue: bool
    blockers: tuple[Blocker, ...] = ()
    expected_on: dt.date | None = None

    @property
    def urgency(self) -> tuple[int, int, str]:
        """A sort key: open before closed, overdue and nearly due first."""
        return (0 if self.request.is_open else 1, self.days_left, self.request.id)


@final
@attrs.frozen(kw_only=True)
class RequestDetails:
    """One request with its history and its notices.

    Attributes:
        view: The request and where it stands.
        history: ``(instant, event)`` pairs, oldest first (``received``,
            ``extended``, ``refusal_noticed``, and how it ended).
        messages: Its outbox messages (notices and the anonymization event).
    """

    view: RequestView
    history: tuple[tuple[dt.datetime, str], ...]
    messages: tuple[OutboxMessage, ...]


@final
@attrs.frozen(kw_only=True)
class OpenRequest:
    """A request a processing run left open, and why."""

    request_id: str
    member_id: MemberId
    blockers: tuple[str, ...]
    deadline: dt.date
    overdue: bool


@final
@attrs.frozen(kw_only=True)
class ProcessReport:
    """What a processing run did.

    Attributes:
        as_of: The day of the run (the earliest local date of the clubs when
            none was given).
        completed: Requests completed (their members anonymized), by id.
        still_open: Requests left open, with their blockers, by id.
        reminders: Reminders created.
        notices: Notices written to the outbox.
        held_elsewhere: Requests whose member another worker held; the next
            run takes them.
        errors: Requests whose unit of work failed even alone (the error's
            class name only).
    """

    as_of: dt.date
    completed: tuple[str, ...] = ()
    still_open: tuple[OpenRequest, ...] = ()
    reminders: int = 0
    notices: int = 0
    held_elsewhere: tuple[str, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The report as the JSON object of ``request process --json``."""
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "completed": list(self.completed),
            "still_open": [
                {
                    "request_id": o.request_id,
                    "blockers": list(o.blockers),
                    "deadline": o.deadline.isoformat(),
                    "overdue": o.overdue,
                }
                for o in self.still_open
            ],
            "reminders": self.reminders,
            "notices": self.notices,
        }
        if self.held_elsewhere:
            out["held_elsewhere"] = list(self.held_elsewhere)
        if self.errors:
            out["errors"] = [{"request_id": r, "error": e} for r, e in self.errors]
        return out


# --------------------------------------------------------------------------- helpers


def _club(clubs: Mapping[ClubId, Club], club_id: ClubId) -> Club:
    try:
        return clubs[club_id]
    except KeyError:
        raise UnknownClubError(club_id) from None


def _request(uow: UnitOfWork, request_id: str) -> ErasureRequest:
    request = uow.requests.get(request_id)
    if request is None:
        raise UnknownRequestError(request_id)
    return request


def _reminder(
    options: AnonymizationOptions,
    request: ErasureRequest,
    kind: str,
    at: dt.datetime,
    action: str | None = None,
) -> Reminder:
    return Reminder(
        id=options.id_factory(),
        member_id=request.member_id,
        club_id=request.club_id,
        kind=kind,
        created_at=at,
        request_id=request.id,
        action=action,
    )


def _view(request: ErasureRequest, day: dt.date, verdict: Eligibility | None) -> RequestView:
    blockers = () if verdict is None or not request.is_open else verdict.blockers
    return RequestView(
        request=request,
        as_of=day,
        days_left=request.days_left(day),
        overdue=request.is_overdue_on(day),
        blockers=blockers,
        expected_on=expected_on(blockers) if request.is_open else None,
    )


def _history(request: ErasureRequest) -> tuple[tuple[dt.datetime, str], ...]:
    events: list[tuple[dt.datetime, str]] = [(request.received_at, "received")]
    if request.extension is not None:
        events.append((request.extension.at, "extended"))
    if request.refusal_noticed_at is not None:
        events.append((request.refusal_noticed_at, "refusal_noticed"))
    if request.closed_at is not None:
        events.append((request.closed_at, request.status.value))
    return tuple(sorted(events, key=lambda e: e[0]))


# --------------------------------------------------------------------------- the desk


@final
class RequestDesk(Service[AnonymizationOptions]):
    """Registers erasure requests and changes them on staff's behalf.

    Every change checks the actor's ``handle_erasure_requests`` permission
    (completing a request at once also needs ``anonymize_member``), runs in
    one unit of work, and writes its notices to the outbox.

    Args:
        unit_of_work: Opens a fresh unit of work for each operation.
        clock: The current time.
        options: The club's options (placeholders, notes, the notices' language).
    """

    _default_options = AnonymizationOptions

    def receive(
        self,
        member_id: MemberId,
        *,
        actor: EmployeeId,
        received_at: dt.datetime | None = None,
        channel: RequestChannel = RequestChannel.DESK,
        club_id: ClubId | None = None,
        anonymize: bool = False,
    ) -> ReceiveResult:
        """Register a member's request to be forgotten.

        The blockers are evaluated at once on the receiving club's date
        today. The request stays open when something blocks (the result says
        why and, for contracts, until when; staff get a reminder for every
        blocker that needs their action), or when ``anonymize`` is off: the
        next processing run then completes it. With ``anonymize`` and nothing
        blocking, the member is anonymized and the request completed now. A
        request for a member anonymized before is completed at once.

        Args:
            member_id: The member.
            actor: The employee registering it; needs ``handle_erasure_requests``
                (and ``anonymize_member`` with ``anonymize``).
            received_at: When it reached the club (default: now; never later).
            channel: How it reached the club.
            club_id: The receiving club (default: the member's home club).
            anonymize: Carry it out now when nothing blocks.

        Raises:
            UnknownEmployeeError: No such employee.
            UnknownMemberError: No such member (checked after the permission).
            UnknownClubError: ``club_id`` names no club of the network.
            FutureDateError: ``received_at`` is later than now.
        """
        with self._uow() as uow:
            if not actor_may(uow, actor, Permission.HANDLE_ERASURE_REQUESTS):
                return RequestNotPermitted(
                    actor_id=actor, permission=Permission.HANDLE_ERASURE_REQUESTS
                )
            if anonymize and not actor_may(uow, actor, Permission.ANONYMIZE_MEMBER):
                return RequestNotPermitted(actor_id=actor, permission=Permission.ANONYMIZE_MEMBER)
            facts = member_facts(uow, member_id, lock=True)
            existing = uow.requests.open_for([member_id]).get(member_id)
            if existing is not None:
                return RequestAlreadyOpen(request=existing)
            clubs = uow.clubs.network_clubs()
            club = _club(clubs, club_id if club_id is not None else facts.member.home_club_id)
            now = self._clock.now()
            when = now if received_at is None else received_at
            if when > now:
                raise _future_receipt(club, when, now)
            home = _club(clubs, facts.member.home_club_id)
            today = home.local_date(now)
            verdict = evaluate(facts, clubs=clubs, as_of=today)
            request = ErasureRequest.receive(
                id=self._options.id_factory(),
                member_id=member_id,
                club_id=club.id,
                received_at=when,
                received_on=club.local_date(when),
                channel=channel,
                registered_by=actor,
            )
            if facts.member.anonymized_at is not None:
                erased_on = club.local_date(facts.member.anonymized_at)
                return self._complete_anonymized(uow, request, verdict, club, now, actor, erased_on)
            uow.requests.add([request])
            if verdict.eligible and anonymize:
                anonymized, applied = anonymize_now(
                    uow, facts, verdict, actor=actor, at=now, options=self._options
                )
                assert applied.request is not None
                return RequestCompleted(
                    request=applied.request, eligibility=verdict, anonymized=anonymized
                )
            expected = expected_on(verdict.blockers)
            notice = received_notice(
                request,
                club_name=club.name,
                language=self._options.notice_language,
                blockers=verdict.blockers,
                expected=expected,
            )
            uow.outbox.add(
                [
                    outbox_message(
                        self._options.id_factory,
                        member_id=member_id,
                        at=now,
                        request_id=request.id,
                        notice=notice,
                    )
                ]
            )
            actions = dict.fromkeys(
                b.code for b in verdict.blockers if b.code in STAFF_ACTION_CODES
            )
            if actions:
                uow.reminders.add(
                    [
                        _reminder(self._options, request, "request_action", now, code)
                        for code in actions
                    ]
                )
            uow.commit()
        return RequestReceived(
            request=request, eligibility=verdict, expected_on=expected, notices=(notice,)
        )

    def _complete_anonymized(
        self,
        uow: UnitOfWork,
        request: ErasureRequest,
        verdict: Eligibility,
        club: Club,
        now: dt.datetime,
        actor: EmployeeId,
        erased_on: dt.date,
    ) -> RequestCompleted:
        done = request.completed(at=now, audit_entry_id=None, by=actor)
        uow.requests.add([done])
        notice = completed_notice(
            done, club_name=club.name, language=self._options.notice_language, on=erased_on
        )
        uow.outbox.add(
            [
                outbox_message(
                    self._options.id_factory,
                    member_id=request.member_id,
                    at=now,
                    request_id=request.id,
                    notice=notice,
                )
            ]
        )
        uow.commit()
        return RequestCompleted(request=done, eligibility=verdict, anonymized=None)

    def extend(
        self,
        request_id: str,
        *,
        actor: EmployeeId,
        reason: ExtensionReason,
        until: dt.date | None = None,
    ) -> ExtendResult:
        """Extend the deadline once, before it has passed (Art. 12(3)).

        Args:
            request_id: The request.
            actor: The employee; needs ``handle_erasure_requests``.
            reason: Why (the ``extended`` notice tells the member).
            until: The new deadline; by default three months after receipt.

        Raises:
            UnknownEmployeeError: No such employee.
            UnknownRequestError: No such request.
            RequestStateError: ``until`` is not after the deadline, or beyond
                three months after receipt.
        """
        with self._uow() as uow:
            if not actor_may(uow, actor, Permission.HANDLE_ERASURE_REQUESTS):
                return RequestNotPermitted(
                    actor_id=actor, permission=Permission.HANDLE_ERASURE_REQUESTS
                )
            request = self._locked_request(uow, request_id)
            club = _club(uow.clubs.network_clubs(), request.club_id)
            now = self._clock.now()
            refusal = request.extension_refusal(club.local_date(now))
            if refusal is not None:
                return RequestUnchanged(request=request, reason=refusal)  # type: ignore[arg-type]
            extended = request.extended(
                reason=reason, at=now, by=actor, on=club.local_date(now), until=until
            )
            notice = extended_notice(
                extended, club_name=club.name, language=self._options.notice_language
            )
            uow.requests.update([extended])
            uow.outbox.add(
                [
                    outbox_message(
                        self._options.id_factory,
                        member_id=request.member_id,
                        at=now,
                        request_id=request.id,
                        notice=notice,
                    )
                ]
            )
            uow.commit()
        return RequestExtended(request=extended, notice=notice)

    def withdraw(self, request_id: str, *, actor: EmployeeId) -> CloseResult:
        """Record that the member withdrew the request; it is never carried out.

        Raises:
            UnknownEmployeeError: No such employee.
            UnknownRequestError: No such request.
        """
        with self._uow() as uow:
            if not actor_may(uow, actor, Permission.HANDLE_ERASURE_REQUESTS):
                return RequestNotPermitted(
                    actor_id=actor, permission=Permission.HANDLE_ERASURE_REQUESTS
                )
            request = self._locked_request(uow, request_id)
            if not request.is_open:
                return RequestUnchanged(request=request, reason="closed")
            withdrawn = request.withdrawn(at=self._clock.now(), by=actor)
            uow.requests.update([withdrawn])
            uow.commit()
        return RequestWithdrawn(request=withdrawn)

    def reject(self, request_id: str, *, actor: EmployeeId, reason: RejectionReason) -> CloseResult:
        """Reject the request with a reason (Art. 12(5), 12(6)); it is never carried out.

        The ``rejected`` notice tells the member the reason and their right to
        complain to the supervisory authority and to a judicial remedy.

        Raises:
            UnknownEmployeeError: No such employee.
            UnknownRequestError: No such request.
        """
        with self._uow() as uow:
            if not actor_may(uow, actor, Permission.HANDLE_ERASURE_REQUESTS):
                return RequestNotPermitted(
                    actor_id=actor, permission=Permission.HANDLE_ERASURE_REQUESTS
                )
            request = self._locked_request(uow, request_id)
            if not request.is_open:
                return RequestUnchanged(request=request, reason="closed")
            now = self._clock.now()
            rejected = request.rejected(at=now, by=actor, reason=reason)
            club = _club(uow.clubs.network_clubs(), request.club_id)
            notice = rejected_notice(
                rejected,
                club_name=club.name,
                language=self._options.notice_language,
                reason=reason,
            )
            uow.requests.update([rejected])
            uow.outbox.add(
                [
                    outbox_message(
                        self._options.id_factory,
                        member_id=request.member_id,
                        at=now,
                        request_id=request.id,
                        notice=notice,
                    )
                ]
            )
            uow.commit()
        return RequestRejected(request=rejected, notice=notice)

    def _locked_request(self, uow: UnitOfWork, request_id: str) -> ErasureRequest:
        """The request, re-read after locking its member (changes wait for each other)."""
        request = _request(uow, request_id)
        uow.members.lock([request.member_id])
        return _request(uow, request_id)

    def show(self, request_id: str, *, as_of: dt.date | None = None) -> RequestDetails:
        """One request, where it stands, its history and its messages. Changes nothing.

        It reads in a read-only unit of work when the factory offers one.

        Raises:
            UnknownRequestError: No such request.
            UnknownClubError: The request's club (or its member's home club)
                is not in the network.
        """
        with reading(self._uow)() as uow:
            request = _request(uow, request_id)
            clubs = uow.clubs.network_clubs()
            day = as_of if as_of is not None else self._today(clubs, request.club_id)
            verdict = None
            if request.is_open:
                facts = uow.facts.load_facts([request.member_id]).get(request.member_id)
                if facts is not None:
                    home_day = as_of or self._today(clubs, facts.member.home_club_id)
                    verdict = evaluate(facts, clubs=clubs, as_of=home_day)
            messages = tuple(uow.outbox.of_request(request_id))
        return RequestDetails(
            view=_view(request, day, verdict), history=_history(request), messages=messages
        )

    def register(
        self,
        *,
        status: RequestStatus | None = None,
        overdue: bool = False,
        as_of: dt.date | None = None,
    ) -> tuple[RequestView, ...]:
        """The register: every request (or those of ``status``), most urgent first.

        Open requests come first, by days left (overdue ones first), each with
        what blocks its member today and the expected date. Changes nothing:
        it reads in a read-only unit of work when the factory offers one.

        Args:
            status: Only requests of this status.
            overdue: Only open requests past their deadline.
            as_of: The date to judge on (default: each receiving club's today).

        Raises:
            UnknownClubError: A request's club (or its member's home club) is
                not in the network.
        """
        with reading(self._uow)() as uow:
            clubs = uow.clubs.network_clubs()
            wanted = RequestStatus.OPEN if overdue else status
            requests = list(uow.requests.all(status=wanted))
            open_ids = [r.member_id for r in requests if r.is_open]
            facts: dict[MemberId, MemberFacts] = {}
            for start in range(0, len(open_ids), DEFAULT_BATCH_SIZE):
                facts.update(uow.facts.load_facts(open_ids[start : start + DEFAULT_BATCH_SIZE]))
            views: list[RequestView] = []
            for request in requests:
                day = as_of if as_of is not None else self._today(clubs, request.club_id)
                member_facts_ = facts.get(request.member_id) if request.is_open else None
                verdict = (
                    None
                    if member_facts_ is None
                    else evaluate(
                        member_facts_,
                        clubs=clubs,
                        as_of=as_of or self._today(clubs, member_facts_.member.home_club_id),
                    )
                )
                view = _view(request, day, verdict)
                if overdue and not view.overdue:
                    continue
                views.append(view)
        return tuple(sorted(views, key=lambda v: v.urgency))

    def _today(self, clubs: Mapping[ClubId, Club], club_id: ClubId) -> dt.date:
        return _club(clubs, club_id).local_date(self._clock.now())


def _future_receipt(club: Club, when: dt.datetime, now: dt.datetime) -> Exception:
    from member_anonymization.errors import FutureDateError

    return FutureDateError(when.isoformat(), now.isoformat(), club.id)


# --------------------------------------------------------------------------- processing


@attrs.define
class _Run:
    """What a processing run has done so far."""

    completed: list[str] = attrs.Factory(list)
    still_open: list[OpenRequest] = attrs.Factory(list)
    reminders: int = 0
    notices: int = 0
    held_elsewhere: list[str] = attrs.Factory(list)
    errors: list[tuple[str, str]] = attrs.Factory(list)

    def merge(self, other: _Run) -> None:
        self.completed.extend(other.completed)
        self.still_open.extend(other.still_open)
        self.reminders += other.reminders
        self.notices += other.notices
        self.held_elsewhere.extend(other.held_elsewhere)
        self.errors.extend(other.errors)

    def report(self, as_of: dt.date) -> ProcessReport:
        return ProcessReport(
            as_of=as_of,
            completed=tuple(sorted(self.completed)),
            still_open=tuple(sorted(self.still_open, key=lambda o: o.request_id)),
            reminders=self.reminders,
            notices=self.notices,
            held_elsewhere=tuple(sorted(self.held_elsewhere)),
            errors=tuple(sorted(self.errors)),
        )


@final
class RequestProcessor(BatchedService[AnonymizationOptions]):
    """The daily run over open erasure requests: deferred anonymizations and the deadline watch.

    On day ``D`` (each member's home club's local date, or the date given,
    never later than today), for every open request, in batches of one unit of
    work each: lock the member (skipping members another worker holds),
    re-read the request, evaluate the blockers; when none applies, anonymize
    the member (audit mode ``request``, no employee), which completes the
    request; otherwise create the reminder when its deadline is within
    :data:`NEAR_DEADLINE_DAYS` days and when it is overdue (each once), and
    the ``refused`` notice from the day before its deadline on (once). The
    request of a member anonymized before it was stored is completed at once.

    Args:
        unit_of_work: Opens a fresh unit of work for each batch.
        clock: The current time.
        options: The club's options, as for the other paths.
        batch_size: How many open requests one unit of work handles.
    """

    _default_options = AnonymizationOptions
    default_batch_size = DEFAULT_BATCH_SIZE

    def run(self, *, as_of: dt.date | None = None) -> ProcessReport:
        """Process every open request once.

        Args:
            as_of: The day ``D`` for every club; by default each home club's
                local date today. A date later than today is refused.

        Raises:
            FutureDateError: ``as_of`` is later than some club's date today.
        """
        now = self._clock.now()
        with reading(self._uow)() as uow:
            clubs = dict(uow.clubs.network_clubs())
        if as_of is not None:
            for club in clubs.values():
                not_after_today(as_of, club, now)
        dates = {cid: as_of or club.local_date(now) for cid, club in clubs.items()}
        report_day = as_of or (min(dates.values()) if dates else now.astimezone(dt.UTC).date())
        total = _Run()
        cursor: str | None = None
        while True:
            page, outcome = self._next_batch(cursor, dates)
            total.merge(outcome)
            if len(page) < self._batch_size or (cursor is not None and page[-1] <= cursor):
                break  # the last page, or an adapter that ignores ``after``: never loop
            cursor = page[-1]
        return total.report(report_day)

    def _next_batch(
        self, cursor: str | None, dates: Mapping[ClubId, dt.date]
    ) -> tuple[list[str], _Run]:
        def failed(outcome: _Run, request: ErasureRequest, exc: Exception) -> None:
            outcome.errors.append((request.id, type(exc).__name__))

        page, outcome = settle_batch(
            self._uow,
            lambda uow: list(uow.requests.open_requests(after=cursor, limit=self._batch_size)),
            lambda uow, some: self._settle(uow, some, dates),
            empty=_Run,
            failed=failed,
            what="erasure-request",
            log=_log,
        )
        return [r.id for r in page], outcome

    def _settle(
        self, uow: UnitOfWork, page: Sequence[ErasureRequest], dates: Mapping[ClubId, dt.date]
    ) -> _Run:
        run = _Run()
        wanted = [r.member_id for r in page]
        locked = set(uow.members.lock(wanted, skip_locked=True))
        run.held_elsewhere.extend(r.id for r in page if r.member_id not in locked)
        members = [m for m in wanted if m in locked]
        if not members:
            return run
        current = uow.requests.open_for(members)  # re-read under the lock
        facts = uow.facts.load_facts(list(current))
        clubs = uow.clubs.network_clubs()
        now = self._clock.now()
        eligible: list[tuple[MemberFacts, Eligibility]] = []
        changed: list[ErasureRequest] = []
        reminders: list[Reminder] = []
        messages: list[OutboxMessage] = []
        for member_id, request in sorted(current.items(), key=lambda item: item[1].id):
            member = facts.get(member_id)
            if member is None:
                continue
            day = dates.get(member.member.home_club_id)
            if day is None:
                continue
            if member.member.anonymized_at is not None:
                # Anonymized before the request was stored (a request loaded from the
                # host's own system): completed at once, as at the desk.
                club = _club(clubs, request.club_id)
                closed = request.completed(at=now, audit_entry_id=None)
                changed.append(closed)
                notice = completed_notice(
                    closed,
                    club_name=club.name,
                    language=self._options.notice_language,
                    on=club.local_date(member.member.anonymized_at),
                )
                messages.append(
                    outbox_message(
                        self._options.id_factory,
                        member_id=member_id,
                        at=now,
                        request_id=request.id,
                        notice=notice,
                    )
                )
                run.completed.append(request.id)
                continue
            verdict = evaluate(member, clubs=clubs, as_of=day)
            if verdict.eligible:
                eligible.append((member, verdict))
                continue
            updated = request
            deadline = request.current_deadline
            overdue = day > deadline
            if overdue and not request.reminded_overdue:
                reminders.append(_reminder(self._options, request, "request_overdue", now))
                updated = updated.reminded(overdue=True)
            elif (
                not overdue
                and (deadline - day).days <= NEAR_DEADLINE_DAYS
                and not request.reminded_near_deadline
            ):
                reminders.append(_reminder(self._options, request, "request_deadline_near", now))
                updated = updated.reminded(near_deadline=True)
            if request.refusal_noticed_at is None and day >= deadline - dt.timedelta(days=1):
                club = _club(clubs, request.club_id)
                notice = refused_notice(
                    request,
                    club_name=club.name,
                    language=self._options.notice_language,
                    blockers=verdict.blockers,
                    expected=expected_on(verdict.blockers),
                )
                messages.append(
                    outbox_message(
                        self._options.id_factory,
                        member_id=member_id,
                        at=now,
                        request_id=request.id,
                        notice=notice,
                    )
                )
                updated = updated.refusal_noticed(now)
            if updated != request:
                changed.append(updated)
            run.still_open.append(
                OpenRequest(
                    request_id=request.id,
                    member_id=member_id,
                    blockers=verdict.blocker_codes,
                    deadline=deadline,
                    overdue=overdue,
                )
            )
        if changed:
            uow.requests.update(changed)
        if reminders:
            uow.reminders.add(reminders)
        if messages:
            uow.outbox.add(messages)
        if eligible:
            done = apply_anonymization(
                uow,
                eligible,
                at=now,
                mode=AnonymizationMode.REQUEST,
                actor_id=None,
                options=self._options,
            )
            for applied in done.values():
                if applied.request is not None:
                    run.completed.append(applied.request.id)
            run.notices += len(done)  # one completed notice each
        run.reminders += len(reminders)
        run.notices += len(messages)
        if changed or reminders or messages or eligible:
            uow.commit()
        return run

"""The effects of an anonymization, shared by every path that anonymizes.

The manual path (a batch of one), the retention sweep and the processing of
erasure requests all call :func:`apply_anonymization`, so that they leave the
same end state: personal data replaced, photo and erasable records deleted,
the member marked, reminders for the warnings, one audit entry, the member's
open erasure request completed, and one ``member_anonymized`` event (plus the
request's ``completed`` notice) in the outbox, all in the caller's unit of work.

The replay of the erasure ledger (:mod:`member_anonymization.ledger`) has no
verdict to pass: it re-applies anonymizations decided earlier, each at its own
instant and in its own mode. It calls :func:`apply_planned`, which
:func:`apply_anonymization` calls too, so that both leave the same effects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, final

import attrs

from member_anonymization._notices import completed_notice
from member_anonymization.domain import (
    AnonymizationMode,
    AuditEntry,
    EmployeeId,
    ErasureRequest,
    MemberId,
    Notice,
    OutboxKind,
    OutboxMessage,
    Reminder,
    RemovalCounts,
)
from member_anonymization.policy import AnonymizationWarning, Eligibility, MemberFacts
from member_anonymization.ports import UnitOfWork

if TYPE_CHECKING:
    from member_anonymization.anonymizer import AnonymizationOptions

__all__ = ["Applied", "Planned", "apply_anonymization", "apply_planned", "outbox_message"]


@final
@attrs.frozen(kw_only=True)
class Applied:
    """What one member's anonymization wrote.

    Attributes:
        removed: How many records of each kind were removed.
        audit_entry_id: The audit entry.
        request: The erasure request it completed, if the member had one open.
    """

    removed: RemovalCounts
    audit_entry_id: str
    request: ErasureRequest | None = None


def outbox_message(
    id_factory: Callable[[], str],
    *,
    member_id: MemberId,
    at: dt.datetime,
    request_id: str | None = None,
    mode: AnonymizationMode | None = None,
    notice: Notice | None = None,
) -> OutboxMessage:
    """A new pending outbox message: a notice when ``notice`` is given, else an event."""
    return OutboxMessage(
        id=id_factory(),
        kind=OutboxKind.NOTICE if notice is not None else OutboxKind.MEMBER_ANONYMIZED,
        member_id=member_id,
        created_at=at,
        request_id=request_id,
        mode=mode,
        notice=notice,
    )


@final
@attrs.frozen(kw_only=True)
class Planned:
    """One member's anonymization, ready to apply.

    Attributes:
        member_id: The member, locked by the caller's unit of work.
        at: The anonymization instant.
        mode: Manual, retention or request.
        actor_id: The employee, or ``None``.
        as_of: The date recorded in the audit entry.
        warnings: Each becomes a reminder for its club.
        audit_entry_id: The audit entry's id; ``None`` for a new one.
    """

    member_id: MemberId
    at: dt.datetime
    mode: AnonymizationMode
    actor_id: EmployeeId | None
    as_of: dt.date | None
    warnings: tuple[AnonymizationWarning, ...] = ()
    audit_entry_id: str | None = None


def apply_anonymization(
    uow: UnitOfWork,
    batch: Sequence[tuple[MemberFacts, Eligibility]],
    *,
    at: dt.datetime,
    mode: AnonymizationMode,
    actor_id: EmployeeId | None,
    options: AnonymizationOptions,
) -> dict[MemberId, Applied]:
    """Apply every effect of an anonymization to eligible, locked members.

    It does not commit. Each member's audit entry records the date its
    verdict was reached on (``Eligibility.as_of``).

    Args:
        uow: The entered unit of work holding the members' locks.
        batch: Each member's facts and their (eligible) verdict.
        at: The anonymization instant.
        mode: Manual, retention or request.
        actor_id: The employee, or ``None`` for the bulk job and processing runs.
        options: The club's options.

    Returns:
        Per member id: what was removed, the audit entry, the request completed.
    """
    planned = [
        Planned(
            member_id=facts.member_id,
            at=at,
            mode=mode,
            actor_id=actor_id,
            as_of=verdict.as_of,
            warnings=verdict.warnings,
        )
        for facts, verdict in batch
    ]
    return apply_planned(uow, planned, options=options)


def apply_planned(
    uow: UnitOfWork, batch: Sequence[Planned], *, options: AnonymizationOptions
) -> dict[MemberId, Applied]:
    """Apply every effect of an anonymization to locked members, each as planned.

    It does not commit and evaluates nothing: the caller decided.

    Args:
        uow: The entered unit of work holding the members' locks.
        batch: Each member's anonymization (one per member).
        options: The club's options.

    Returns:
        Per member id: what was removed, the audit entry, the request completed.
    """
    if not batch:
        return {}
    ids = [plan.member_id for plan in batch]
    open_requests = uow.requests.open_for(ids)
    uow.members.replace_personal_data({mid: options.placeholder(mid) for mid in ids})
    photos = uow.members.delete_photos(ids)
    logs = uow.records.delete_log_entries(ids)
    documents = uow.records.delete_documents(ids)
    measurements = uow.records.delete_measurements(ids)
    exercises = uow.records.delete_exercises(ids)
    notes = uow.records.delete_notes(ids, note_types=options.deleted_note_types)
    instants: dict[dt.datetime, list[MemberId]] = {}
    for plan in batch:
        instants.setdefault(plan.at, []).append(plan.member_id)
    for at, marked in instants.items():
        uow.members.mark_anonymized(marked, at)

    reminders: list[Reminder] = []
    entries: list[AuditEntry] = []
    completed: list[ErasureRequest] = []
    messages: list[OutboxMessage] = []
    out: dict[MemberId, Applied] = {}
    clubs = uow.clubs.network_clubs() if open_requests else {}
    for plan in batch:
        mid, at, actor_id = plan.member_id, plan.at, plan.actor_id
        for warning in plan.warnings:
            reminders.append(
                Reminder(
                    id=options.id_factory(),
                    member_id=mid,
                    club_id=warning.club_id,
                    kind=warning.code,
                    created_at=at,
                    amount=warning.amount,
                    currency=warning.currency,
                )
            )
        removed = RemovalCounts(
            personal_data=1,
            photo=photos.get(mid, 0),
            log_entries=logs.get(mid, 0),
            documents=documents.get(mid, 0),
            measurements=measurements.get(mid, 0),
            exercises=exercises.get(mid, 0),
            notes=notes.get(mid, 0),
        )
        entry = AuditEntry(
            id=options.id_factory() if plan.audit_entry_id is None else plan.audit_entry_id,
            member_id=mid,
            actor_id=actor_id,
            at=at,
            mode=plan.mode,
            removed=removed,
            as_of=plan.as_of,
        )
        entries.append(entry)
        request = open_requests.get(mid)
        if request is not None:
            request = request.completed(at=at, audit_entry_id=entry.id, by=actor_id)
            completed.append(request)
        messages.append(
            outbox_message(
                options.id_factory,
                member_id=mid,
                at=at,
                request_id=None if request is None else request.id,
                mode=plan.mode,
            )
        )
        if request is not None:
            club = clubs.get(request.club_id)
            notice = completed_notice(
                request,
                club_name=request.club_id if club is None else club.name,
                language=options.notice_language,
                on=at.date() if club is None else club.local_date(at),
            )
            messages.append(
                outbox_message(
                    options.id_factory,
                    member_id=mid,
                    at=at,
                    request_id=request.id,
                    notice=notice,
                )
            )
        out[mid] = Applied(removed=removed, audit_entry_id=entry.id, request=request)
    if reminders:
        uow.reminders.add(reminders)
    uow.audit.add(entries)
    if completed:
        uow.requests.update(completed)
    uow.outbox.add(messages)
    return out

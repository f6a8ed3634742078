"""What the library writes: reminders and audit entries.

They hold no personal data beyond the member's pseudonymous id.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import (
    AnonymizationMode,
    AuditAction,
    ClubId,
    EmployeeId,
    MemberId,
)


@final
@attrs.frozen(kw_only=True)
class Reminder:
    """A reminder (Przypomnienie) for a club's staff.

    Attributes:
        kind: What it is about: a warning code (``unpaid_purchases``,
            ``arrears``) when money is still unpaid, or an erasure-request
            reminder (``request_action``, ``request_deadline_near``,
            ``request_overdue``).
        amount: The unpaid total, with ``currency``, when known.
        request_id: The erasure request it is about, if any.
        action: For ``request_action``: the blocker code whose clearing
            needs staff (``wallet_funds``: refund the wallet, ...).
    """

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    kind: str = attrs.field(metadata=c.check(c.ident))
    created_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    amount: Decimal | None = attrs.field(default=None, metadata=c.check(c.optional(c.decimal)))
    currency: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.currency)))
    request_id: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.ident)))
    action: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.ident)))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class RemovalCounts:
    """How many records of each kind an anonymization removed."""

    personal_data: int = attrs.field(default=0, metadata=c.check(c.count))
    photo: int = attrs.field(default=0, metadata=c.check(c.count))
    log_entries: int = attrs.field(default=0, metadata=c.check(c.count))
    documents: int = attrs.field(default=0, metadata=c.check(c.count))
    measurements: int = attrs.field(default=0, metadata=c.check(c.count))
    exercises: int = attrs.field(default=0, metadata=c.check(c.count))
    notes: int = attrs.field(default=0, metadata=c.check(c.count))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    @property
    def total(self) -> int:
        """All records removed, personal data included."""
        return sum(attrs.astuple(self))


@final
@attrs.frozen(kw_only=True)
class AuditEntry:
    """Who did what to which member id, when, and what was removed.

    An anonymization's entry has a ``mode`` and its ``removed`` counts; an
    export's has neither (entries written by the first release carry
    ``manual`` and zero counts, and still load).

    Attributes:
        actor_id: The employee for a manual action; ``None`` for retention
            and for a processing run of erasure requests.
        mode: Manual (an employee), retention (the bulk job) or request (a
            deferred erasure request); ``None`` for an export.
        removed: What an anonymization removed; ``None`` for an export.
        action: Anonymization or export.
        as_of: The date ``D`` the rules were evaluated on (anonymizations
            since this release; ``None`` before and for an export).
    """

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    actor_id: EmployeeId | None = attrs.field(metadata=c.check(c.optional(c.ident)))
    at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    mode: AnonymizationMode | None = attrs.field(
        metadata=c.check(c.optional(c.member_of(AnonymizationMode)))
    )
    removed: RemovalCounts | None = attrs.field(
        default=RemovalCounts(), metadata=c.check(c.optional(c.instance(RemovalCounts)))
    )
    action: AuditAction = attrs.field(
        default=AuditAction.ANONYMIZE, metadata=c.check(c.member_of(AuditAction))
    )
    as_of: dt.date | None = attrs.field(default=None, metadata=c.check(c.optional(c.day)))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self, *_action_problems(self))

    @property
    def is_anonymization(self) -> bool:
        """Whether the entry records an anonymization (not an export)."""
        return self.action is AuditAction.ANONYMIZE


def _action_problems(entry: AuditEntry) -> list[c.FieldProblem]:
    """Fields that contradict the entry's action."""
    problems: list[c.FieldProblem] = []
    if entry.action is AuditAction.ANONYMIZE:
        if entry.mode is None:
            problems.append(c.FieldProblem("mode", "must be set for an anonymization"))
        if entry.removed is None:
            problems.append(c.FieldProblem("removed", "must be set for an anonymization"))
    elif entry.action is AuditAction.EXPORT:
        if entry.mode not in (None, AnonymizationMode.MANUAL):
            problems.append(c.FieldProblem("mode", "must be empty for an export"))
        if isinstance(entry.removed, RemovalCounts) and entry.removed.total:
            problems.append(c.FieldProblem("removed", "must be empty for an export"))
        if entry.as_of is not None:
            problems.append(c.FieldProblem("as_of", "must be empty for an export"))
    return problems

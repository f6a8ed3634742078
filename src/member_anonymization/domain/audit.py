"""What the library writes: reminders and audit entries (never personal data)."""

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
    """A reminder (Przypomnienie) for a club that money is still unpaid.

    Attributes:
        kind: The warning code that caused it (``unpaid_purchases`` or ``arrears``).
        amount: The unpaid total, with ``currency``, when known.
    """

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    kind: str = attrs.field(metadata=c.check(c.ident))
    created_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    amount: Decimal | None = attrs.field(default=None, metadata=c.check(c.optional(c.decimal)))
    currency: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.currency)))

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

    Attributes:
        actor_id: The employee for a manual action, ``None`` for retention.
        mode: Manual (an employee) or retention (the bulk job).
        removed: What an anonymization removed (all zero for an export).
        action: Anonymization or export.
    """

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    actor_id: EmployeeId | None = attrs.field(metadata=c.check(c.optional(c.ident)))
    at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    mode: AnonymizationMode = attrs.field(metadata=c.check(c.member_of(AnonymizationMode)))
    removed: RemovalCounts = attrs.field(
        default=RemovalCounts(), metadata=c.check(c.instance(RemovalCounts))
    )
    action: AuditAction = attrs.field(
        default=AuditAction.ANONYMIZE, metadata=c.check(c.member_of(AuditAction))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

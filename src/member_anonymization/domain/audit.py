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

    id: str
    member_id: MemberId
    club_id: ClubId
    kind: str
    created_at: dt.datetime
    amount: Decimal | None = None
    currency: str | None = None

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("kind", c.ident),
                ("created_at", c.instant),
                ("amount", c.optional(c.decimal)),
                ("currency", c.optional(c.currency)),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class RemovalCounts:
    """How many records of each kind an anonymization removed."""

    personal_data: int = 0
    photo: int = 0
    log_entries: int = 0
    documents: int = 0
    measurements: int = 0
    exercises: int = 0
    notes: int = 0

    def __attrs_post_init__(self) -> None:
        c.validate(self, ((f.name, c.count) for f in attrs.fields(RemovalCounts)))

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

    id: str
    member_id: MemberId
    actor_id: EmployeeId | None
    at: dt.datetime
    mode: AnonymizationMode
    removed: RemovalCounts = RemovalCounts()
    action: AuditAction = AuditAction.ANONYMIZE

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("actor_id", c.optional(c.ident)),
                ("at", c.instant),
                ("mode", c.member_of(AnonymizationMode)),
                ("removed", c.instance(RemovalCounts)),
                ("action", c.member_of(AuditAction)),
            ),
        )

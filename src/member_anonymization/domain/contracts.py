"""Membership contracts."""

from __future__ import annotations

import datetime as dt
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import ClubId, ContractId, MemberId


@final
@attrs.frozen(kw_only=True)
class Contract:
    """A membership agreement (umowa) of a member with one club.

    Attributes:
        end: The last day of the contract, or ``None`` for an open-ended one.
        terminated_on: The day it was terminated early, if it was. A contract
            terminated before its start was cancelled and never ran.
    """

    id: ContractId = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    name: str = attrs.field(metadata=c.check(c.any_text))
    start: dt.date = attrs.field(metadata=c.check(c.day))
    end: dt.date | None = attrs.field(default=None, metadata=c.check(c.optional(c.day)))
    terminated_on: dt.date | None = attrs.field(default=None, metadata=c.check(c.optional(c.day)))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self, *c.not_before(self, "end", "start"))

    @property
    def is_cancelled(self) -> bool:
        """Terminated before its start: it never ran and blocks nothing."""
        return self.terminated_on is not None and self.terminated_on < self.start

    @property
    def effective_end(self) -> dt.date | None:
        """The earlier of the end and the termination date (``None``: open-ended)."""
        if self.terminated_on is None:
            return self.end
        if self.end is None:
            return self.terminated_on
        return min(self.end, self.terminated_on)

    def is_active_on(self, day: dt.date) -> bool:
        """Running on ``day``: started, and not yet past its effective end."""
        if self.is_cancelled or self.start > day:
            return False
        end = self.effective_end
        return end is None or end >= day

    def starts_after(self, day: dt.date) -> bool:
        """A future contract as seen on ``day`` (cancelled ones excluded)."""
        return not self.is_cancelled and self.start > day

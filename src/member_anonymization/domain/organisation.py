"""The network, its clubs and their employees."""

from __future__ import annotations

import datetime as dt
from typing import final
from zoneinfo import ZoneInfo

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import ClubId, EmployeeId, Permission


@final
@attrs.frozen(kw_only=True)
class Network:
    """A network of clubs: the scope of contracts and collection cases."""

    id: str = attrs.field(metadata=c.check(c.ident))
    name: str = attrs.field(metadata=c.check(c.any_text))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class RetentionSetting:
    """The retention rule: remove data X months after the end of the contract."""

    months_after_contract_end: int = attrs.field(metadata=c.check(c.positive_count))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Club:
    """A club of the network.

    Attributes:
        timezone: IANA name; "today" for the club's rules is its local date.
        uses_debt_collection: Whether overdue installments go to debt collection.
        retention: The bulk job's setting, or ``None`` to never anonymize by it.
    """

    id: ClubId = attrs.field(metadata=c.check(c.ident))
    name: str = attrs.field(metadata=c.check(c.any_text))
    timezone: str = attrs.field(metadata=c.check(c.timezone))
    uses_debt_collection: bool = attrs.field(metadata=c.check(c.boolean))
    retention: RetentionSetting | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instance(RetentionSetting)))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    @property
    def zone(self) -> ZoneInfo:
        """The club's time zone."""
        return ZoneInfo(self.timezone)

    def local_date(self, at: dt.datetime) -> dt.date:
        """The club's calendar date at the instant ``at``."""
        return at.astimezone(self.zone).date()


@final
@attrs.frozen(kw_only=True)
class Employee:
    """A club employee and what their role permits."""

    id: EmployeeId = attrs.field(metadata=c.check(c.ident))
    name: str = attrs.field(repr=False, metadata=c.check(c.any_text))
    permissions: frozenset[Permission] = attrs.field(
        default=frozenset(), metadata=c.check(c.frozenset_of(c.member_of(Permission)))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    def may(self, permission: Permission) -> bool:
        """Whether the employee holds ``permission``."""
        return permission in self.permissions

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

    id: str
    name: str

    def __attrs_post_init__(self) -> None:
        c.validate(self, (("id", c.ident), ("name", c.text)))


@final
@attrs.frozen(kw_only=True)
class RetentionSetting:
    """The retention rule: remove data X months after the end of the contract."""

    months_after_contract_end: int

    def __attrs_post_init__(self) -> None:
        problems: tuple[c.FieldProblem, ...] = ()
        value = self.months_after_contract_end
        if c.count(value) is None and value == 0:
            problems = (c.FieldProblem("months_after_contract_end", "must be at least 1"),)
        c.validate(self, (("months_after_contract_end", c.count),), *problems)


@final
@attrs.frozen(kw_only=True)
class Club:
    """A club of the network.

    Attributes:
        timezone: IANA name; "today" for the club's rules is its local date.
        uses_debt_collection: Whether overdue installments go to debt collection.
        retention: The bulk job's setting, or ``None`` to never anonymize by it.
    """

    id: ClubId
    name: str
    timezone: str
    uses_debt_collection: bool
    retention: RetentionSetting | None = None

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("name", c.text),
                ("timezone", c.timezone),
                ("uses_debt_collection", c.boolean),
                ("retention", c.optional(c.instance(RetentionSetting))),
            ),
        )

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

    id: EmployeeId
    name: str = attrs.field(repr=False)
    permissions: frozenset[Permission] = frozenset()

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("name", c.text),
                ("permissions", c.frozenset_of(c.member_of(Permission))),
            ),
        )

    def may(self, permission: Permission) -> bool:
        """Whether the employee holds ``permission``."""
        return permission in self.permissions

"""The first steps the services share: who may act, the member's facts, reading units."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from member_anonymization.domain import Club, EmployeeId, MemberId, Permission
from member_anonymization.errors import FutureDateError, UnknownEmployeeError, UnknownMemberError
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork


def reading(factory: Callable[[], UnitOfWork]) -> Callable[[], UnitOfWork]:
    """The factory's read-only variant when it offers one, else the factory itself.

    See :class:`~member_anonymization.ports.ReadOnlyUnitOfWorkFactory`.
    """
    read_only = getattr(factory, "read_only", None)
    if callable(read_only):
        opener: Callable[[], UnitOfWork] = read_only
        return opener
    return factory


def actor_may(uow: UnitOfWork, actor: EmployeeId, permission: Permission) -> bool:
    """Whether the employee ``actor`` holds ``permission``.

    Raises:
        UnknownEmployeeError: No such employee.
    """
    employee = uow.employees.get(actor)
    if employee is None:
        raise UnknownEmployeeError(actor)
    return employee.may(permission)


def member_facts(uow: UnitOfWork, member_id: MemberId, *, lock: bool = False) -> MemberFacts:
    """The member's facts, after locking their row when ``lock`` is set.

    Raises:
        UnknownMemberError: No such member.
    """
    if lock and not uow.members.lock([member_id]):
        raise UnknownMemberError(member_id)
    facts = uow.facts.load_facts([member_id]).get(member_id)
    if facts is None:
        raise UnknownMemberError(member_id)
    return facts


def not_after_today(as_of: dt.date, club: Club, now: dt.datetime) -> None:
    """Refuse a date later than the club's local date today (for operations that change data).

    Raises:
        FutureDateError: ``as_of`` is after the club's today.
    """
    today = club.local_date(now)
    if as_of > today:
        raise FutureDateError(as_of.isoformat(), today.isoformat(), club.id)

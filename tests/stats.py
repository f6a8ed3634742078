"""The club statistics that anonymization must never change, computed from a dataset.

* Active members per month: a member is active in a month when one of their
  non-cancelled contracts overlaps it (network-wide and per club).
* Visits per club per month (the club's local month of the entry).
* Class attendance: booked and attended per class, per club, per local month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from zoneinfo import ZoneInfo

import attrs

from member_anonymization.domain import Contract
from member_anonymization.serialization import Dataset

Month = tuple[int, int]


@attrs.frozen(kw_only=True)
class Statistics:
    """Every statistic, as plain mappings (equal when the numbers are equal).

    Attributes:
        active_members: Per month: the ids of the members active in it.
        active_members_per_club: Per (club, month): how many members were active.
        visits: Per (club, month): how many entries.
        attendance: Per (club, class, month): (booked, attended).
    """

    active_members: Mapping[Month, frozenset[str]]
    active_members_per_club: Mapping[tuple[str, Month], int]
    visits: Mapping[tuple[str, Month], int]
    attendance: Mapping[tuple[str, str, Month], tuple[int, int]]


def _months(first: dt.date, last: dt.date) -> Iterator[Month]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _running(contract: Contract, horizon: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days a contract runs (open-ended: up to ``horizon``), or None if cancelled."""
    if contract.terminated_on is not None and contract.terminated_on < contract.start:
        return None
    ends = [d for d in (contract.end, contract.terminated_on) if d is not None]
    return contract.start, min(ends) if ends else horizon


def _horizon(dataset: Dataset) -> dt.date:
    dates = [
        d for k in dataset.contracts for d in (k.start, k.end, k.terminated_on) if d is not None
    ]
    return max(dates, default=dt.date(2000, 1, 1))


def statistics(dataset: Dataset) -> Statistics:
    """Compute every statistic of ``dataset``."""
    zones = {club.id: ZoneInfo(club.timezone) for club in dataset.clubs}
    horizon = _horizon(dataset)

    active: dict[Month, set[str]] = {}
    active_in_club: dict[tuple[str, Month], set[str]] = {}
    for contract in dataset.contracts:
        days = _running(contract, horizon)
        if days is None:
            continue
        for month in _months(*days):
            active.setdefault(month, set()).add(contract.member_id)
            active_in_club.setdefault((contract.club_id, month), set()).add(contract.member_id)

    visits: Counter[tuple[str, Month]] = Counter()
    for visit in dataset.visits:
        local = visit.entered_at.astimezone(zones[visit.club_id])
        visits[(visit.club_id, (local.year, local.month))] += 1

    booked: Counter[tuple[str, str, Month]] = Counter()
    attended: Counter[tuple[str, str, Month]] = Counter()
    for booking in dataset.class_bookings:
        local = booking.starts_at.astimezone(zones[booking.club_id])
        key = (booking.club_id, booking.class_name, (local.year, local.month))
        booked[key] += 1
        attended[key] += int(booking.attended)

    return Statistics(
        active_members={month: frozenset(ids) for month, ids in active.items()},
        active_members_per_club={key: len(ids) for key, ids in active_in_club.items()},
        visits=dict(visits),
        attendance={key: (booked[key], attended[key]) for key in booked},
    )

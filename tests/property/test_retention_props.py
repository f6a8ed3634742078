"""Properties of the retention rule, and of the sweep on generated networks."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Final

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from member_anonymization import Anonymized, Anonymizer
from member_anonymization.domain import Employee, Permission
from member_anonymization.retention import (
    RetentionSweep,
    add_months,
    due_on,
    due_threshold,
    is_due,
)
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock, InjectedFailure
from tests.backends import MakeStore
from tests.oracle import expected_for
from tests.strategies import datasets
from tests.unit.test_retention import (
    Harness,
    Killed,
    assert_all_or_nothing,
    comparable,
    handled,
)

D = dt.date
STORES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

LAST_SAFE: Final = D(9978, 12, 31)
"""The latest date that 240 months (and a few days) can move without leaving the calendar."""

instants = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2031, 12, 31),
    timezones=st.just(dt.UTC),
)
"""Clock instants from before the generated contracts end to long after."""

STAFF = Employee(id="e-staff", name="Staff", permissions=frozenset({Permission.ANONYMIZE_MEMBER}))


def month_length(year: int, month: int) -> int:
    """The number of days of a month, from the first of the next one."""
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


@st.composite
def boundary_cases(draw: st.DrawFn) -> tuple[D, D, int]:
    """A last end, a date and months, the end often within days of the threshold."""
    months = draw(st.integers(1, 240))
    as_of = draw(st.dates(min_value=D(22, 1, 1), max_value=LAST_SAFE))
    near = add_months(as_of, -months) + dt.timedelta(days=draw(st.integers(-40, 40)))
    end = draw(st.one_of(st.just(near), st.dates(max_value=LAST_SAFE)))
    return end, as_of, months


def oracle_due_on(data: Dataset, member_id: str) -> D | None:
    """The first due date, straight from the rule and without the library's helpers."""
    (member,) = [m for m in data.members if m.id == member_id]
    (club,) = [c for c in data.clubs if c.id == member.home_club_id]
    if member.anonymized_at is not None or club.retention is None:
        return None
    ends: list[D] = []
    for k in data.contracts:
        if k.member_id != member_id or (k.terminated_on is not None and k.terminated_on < k.start):
            continue  # another member's, or cancelled before its start
        effective = [d for d in (k.end, k.terminated_on) if d is not None]
        if not effective:
            return None  # open-ended
        ends.append(min(effective))
    last = max(ends, default=member.registered_on)
    months = last.month - 1 + club.retention.months_after_contract_end
    year, month = last.year + months // 12, months % 12 + 1
    return D(year, month, min(last.day, month_length(year, month)))


def oracle_due(data: Dataset, at: dt.datetime) -> dict[str, D]:
    """Each member due at the instant ``at``, with their home club's date then."""
    clubs = {c.id: c for c in data.clubs}
    out: dict[str, D] = {}
    for member in data.members:
        day = clubs[member.home_club_id].local_date(at)
        due = oracle_due_on(data, member.id)
        if due is not None and day >= due:
            out[member.id] = day
    return out


@st.composite
def worlds(draw: st.DrawFn, *, anonymized_members: bool = True) -> tuple[Dataset, dt.datetime]:
    """A generated network and a clock instant, mostly within a day of someone's due date."""
    data = draw(datasets(anonymized_members=anonymized_members))
    due_dates = sorted({d for m in data.members if (d := oracle_due_on(data, m.id)) is not None})
    if not due_dates or draw(st.integers(0, 3)) == 0:
        return data, draw(instants)
    day = draw(st.sampled_from(due_dates)) + dt.timedelta(days=draw(st.integers(-1, 1)))
    hour = dt.time(draw(st.integers(0, 23)), draw(st.sampled_from((0, 30, 59))))
    return data, dt.datetime.combine(day, hour, tzinfo=dt.UTC)


# ------------------------------------------------------------------ the rule, pure


@given(boundary_cases())
def test_threshold_is_the_due_rule(case: tuple[D, D, int]) -> None:
    """``end <= due_threshold(D, X)`` exactly when ``D >= add_months(end, X)``."""
    end, as_of, months = case
    assert (end <= due_threshold(as_of, months)) == (as_of >= add_months(end, months))


@given(st.dates(min_value=D(22, 1, 1), max_value=LAST_SAFE), st.integers(0, 240))
def test_threshold_is_the_latest_due_end(as_of: D, months: int) -> None:
    """The threshold is due, and the day after it is not."""
    threshold = due_threshold(as_of, months)
    assert add_months(threshold, months) <= as_of
    assert add_months(threshold + dt.timedelta(days=1), months) > as_of


@given(st.dates(min_value=D(21, 1, 1), max_value=LAST_SAFE), st.integers(-240, 240))
def test_add_months_moves_whole_months_and_clamps(day: D, months: int) -> None:
    """The month moves by exactly ``months``; the day is kept or clamped to the month's end."""
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == min(day.day, month_length(result.year, result.month))


@given(
    st.dates(min_value=D(21, 1, 1), max_value=LAST_SAFE),
    st.dates(min_value=D(21, 1, 1), max_value=LAST_SAFE),
    st.integers(-240, 240),
)
def test_add_months_keeps_the_order(first: D, second: D, months: int) -> None:
    """Later dates never move to earlier ones."""
    low, high = sorted((first, second))
    assert add_months(low, months) <= add_months(high, months)


@given(st.dates(min_value=D(21, 1, 1), max_value=LAST_SAFE), st.integers(-240, 240))
def test_add_months_round_trips_below_the_29th(day: D, months: int) -> None:
    """Without clamping, moving back undoes moving forth."""
    day = day.replace(day=min(day.day, 28))
    assert add_months(add_months(day, months), -months) == day


@given(worlds())
def test_is_due_is_the_rule(world: tuple[Dataset, dt.datetime]) -> None:
    """The library's due rule agrees with the rule written out independently."""
    data, at = world
    clubs = {c.id: c for c in data.clubs}
    for member in data.members:
        club = clubs[member.home_club_id]
        contracts = [k for k in data.contracts if k.member_id == member.id]
        assert due_on(member, contracts, club) == oracle_due_on(data, member.id)
        day = club.local_date(at)
        assert is_due(member, contracts, club, day) == (member.id in oracle_due(data, at))


# ------------------------------------------------------------ the sweep, generated


@STORES
@given(world=worlds(), batch_size=st.integers(1, 4))
def test_sweep_follows_the_rule_and_the_policy(
    make_store: MakeStore, world: tuple[Dataset, dt.datetime], batch_size: int
) -> None:
    """Exactly the due members are handled; the blocked ones skipped with the oracle's codes."""
    data, at = world
    store = make_store(data)
    report = RetentionSweep(store.unit_of_work, clock=FixedClock(at), batch_size=batch_size).run()
    due = oracle_due(data, at)
    assert handled(report) == set(due)
    assert report.due == len(due)
    assert (report.errors, report.held_elsewhere) == ((), ())
    skipped = {s.member_id: set(s.codes) for s in report.skipped}
    for member_id, day in due.items():
        blockers = expected_for(data, member_id, day).blockers
        assert skipped.get(member_id, set()) == blockers
        assert (member_id in report.anonymized) == (not blockers)
    assert_all_or_nothing(data, store.snapshot())


@STORES
@given(world=worlds(), limit=st.integers(1, 3))
def test_due_query_pages_through_the_due_members(
    make_store: MakeStore, world: tuple[Dataset, dt.datetime], limit: int
) -> None:
    """The adapter's due query, given the thresholds, finds the oracle's members page by page."""
    data, at = world
    thresholds = {
        c.id: due_threshold(c.local_date(at), c.retention.months_after_contract_end)
        for c in data.clubs
        if c.retention is not None
    }
    store = make_store(data)
    pages: list[str] = []
    with store.unit_of_work() as uow:
        whole = list(uow.retention.due_members(thresholds=thresholds, limit=10_000))
        after: str | None = None
        while page := list(
            uow.retention.due_members(thresholds=thresholds, after=after, limit=limit)
        ):
            assert len(page) <= limit
            pages.extend(page)
            after = page[-1]
    assert whole == pages == sorted(oracle_due(data, at))


@STORES
@given(world=worlds(anonymized_members=False))
def test_sweep_leaves_what_manual_anonymization_leaves(
    make_store: MakeStore, world: tuple[Dataset, dt.datetime]
) -> None:
    """For the same members, retention and manual anonymization give the same store."""
    data, at = world
    data = attrs.evolve(data, employees=(*data.employees, STAFF))
    by_sweep = make_store(data)
    report = RetentionSweep(by_sweep.unit_of_work, clock=FixedClock(at), batch_size=3).run()
    by_hand = make_store(data)
    anonymizer = Anonymizer(by_hand.unit_of_work, clock=FixedClock(at))
    for member_id in report.anonymized:
        assert isinstance(anonymizer.anonymize(member_id, actor=STAFF.id), Anonymized)
    assert comparable(by_sweep.snapshot(), ignore_actor=True) == comparable(
        by_hand.snapshot(), ignore_actor=True
    )


@STORES
@given(world=worlds(), batch_size=st.integers(1, 5))
def test_dry_run_batches_and_repetition(
    make_store: MakeStore, world: tuple[Dataset, dt.datetime], batch_size: int
) -> None:
    """A dry run predicts the run; batch sizes agree; a second run changes nothing."""
    data, at = world
    clock = FixedClock(at)
    reference = make_store(data)
    expected = RetentionSweep(reference.unit_of_work, clock=clock).run()
    store = make_store(data)
    sweeper = RetentionSweep(store.unit_of_work, clock=clock, batch_size=batch_size)
    dry = sweeper.run(dry_run=True)
    assert store.snapshot() == data.sorted()
    assert dry == attrs.evolve(expected, dry_run=True)
    assert sweeper.run() == expected
    after = store.snapshot()
    assert comparable(after) == comparable(reference.snapshot())
    again = sweeper.run()
    assert store.snapshot() == after
    assert (again.anonymized, again.skipped) == ((), expected.skipped)


@STORES
@given(
    world=worlds(),
    batch_size=st.integers(1, 4),
    how=st.sampled_from(("fail", "kill")),
    n=st.integers(1, 80),
)
def test_interrupted_sweep_is_finished_by_the_next_run(
    make_store: MakeStore, world: tuple[Dataset, dt.datetime], batch_size: int, how: str, n: int
) -> None:
    """A failure or a kill at the n-th call, then a rerun, ends as one uninterrupted run."""
    data, at = world
    clock = FixedClock(at)
    reference = make_store(data)
    RetentionSweep(reference.unit_of_work, clock=clock, batch_size=batch_size).run()
    store = make_store(data)
    factory: Any = store.unit_of_work
    if how == "fail":
        store.fail_on_call(n)
    else:
        factory = Harness(store.unit_of_work, kill_at=n)
    with contextlib.suppress(InjectedFailure, Killed):
        RetentionSweep(factory, clock=clock, batch_size=batch_size).run()
    store.heal()
    assert_all_or_nothing(data, store.snapshot())
    RetentionSweep(store.unit_of_work, clock=clock, batch_size=batch_size).run()
    assert comparable(store.snapshot()) == comparable(reference.snapshot())

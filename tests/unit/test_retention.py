"""The retention rule (months, due dates, thresholds) and the bulk retention sweep."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Final

import attrs
import pytest

from member_anonymization import Anonymized, Anonymizer, UnknownClubError
from member_anonymization.domain import AnonymizationMode, Contract, Member, NoteType
from member_anonymization.errors import FutureDateError
from member_anonymization.retention import (
    DEFAULT_BATCH_SIZE,
    FailedMember,
    RetentionSweep,
    SkippedMember,
    SweepProgress,
    SweepReport,
    add_months,
    due_on,
    due_threshold,
    is_due,
    last_contract_end,
)
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FaultInjector, FixedClock, InjectedFailure
from tests import builders as b
from tests.backends import MakeStore, Store

D = dt.date
NOW: Final = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
"""2024-03-01 in every club of :func:`population`."""
AS_OF: Final = D(2024, 3, 1)
REGISTERED: Final = D(2010, 1, 1)

ERASED: Final = ("log_entries", "documents", "measurements", "exercises")
"""The collections anonymization empties for a member (notes are checked apart)."""


# ----------------------------------------------------------------------------- helpers


def sweep(
    store: Store,
    *,
    clock: FixedClock | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    factory: Callable[[], Any] | None = None,
) -> RetentionSweep:
    """A sweep over ``store`` (or over ``factory``, a wrapper of its units)."""
    return RetentionSweep(
        factory if factory is not None else store.unit_of_work,
        clock=clock if clock is not None else FixedClock(NOW),
        batch_size=batch_size,
    )


def on(day: D) -> FixedClock:
    """A clock at noon UTC of ``day``: a real run may not be dated later than today."""
    return FixedClock(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))


def handled(report: SweepReport) -> set[str]:
    """Every member the report names as due."""
    return (
        set(report.anonymized)
        | {s.member_id for s in report.skipped}
        | {e.member_id for e in report.errors}
        | set(report.held_elsewhere)
    )


def comparable(data: Dataset, *, ignore_actor: bool = False) -> tuple[Any, ...]:
    """The dataset with the generated ids of reminders, audit entries and messages left out.

    With ``ignore_actor`` the audit entries' actor and mode (and the events'
    mode) are left out too, so that a manual anonymization and a retention one
    compare equal.
    """
    reminders = sorted(
        (r.member_id, r.club_id, r.kind, r.currency or "", str(r.amount), r.created_at.timestamp())
        for r in data.reminders
    )
    audit = sorted(
        (
            a.member_id,
            a.action.value,
            a.at.timestamp(),
            attrs.astuple(a.removed) if a.removed is not None else (),
            ("", "") if ignore_actor or a.mode is None else (a.actor_id or "", a.mode.value),
        )
        for a in data.audit
    )
    outbox = sorted(
        (
            m.member_id,
            m.kind.value,
            m.request_id or "",
            "" if ignore_actor or m.mode is None else m.mode.value,
            m.created_at.timestamp(),
        )
        for m in data.outbox
    )
    return attrs.evolve(data, reminders=(), audit=(), outbox=()), reminders, audit, outbox


def own(records: Iterable[Any], member_id: str) -> list[Any]:
    """The records of one member."""
    return [r for r in records if r.member_id == member_id]


def assert_all_or_nothing(before: Dataset, after: Dataset) -> None:
    """Every member is either untouched or completely anonymized, with one audit entry."""
    before = before.sorted()
    old = {m.id: m for m in before.members}
    for member in after.members:
        if member.anonymized_at == old[member.id].anonymized_at:
            assert member == old[member.id]
            for name in (*ERASED, "notes", "reminders", "audit"):
                assert own(getattr(after, name), member.id) == own(getattr(before, name), member.id)
            continue
        assert member.photo is None
        assert member.personal != old[member.id].personal
        for name in ERASED:
            assert own(getattr(after, name), member.id) == []
        assert all(
            n.note_type is not NoteType.TRAINING_AND_HEALTH for n in own(after.notes, member.id)
        )
        assert len(own(after.audit, member.id)) == len(own(before.audit, member.id)) + 1


def one_member(
    *records: Any,
    months: int | None = 6,
    registered_on: D = REGISTERED,
    **member: Any,
) -> Dataset:
    """A club with retention after ``months`` and its member ``m1`` with ``records``."""
    return b.dataset(
        b.club("c1", retention_months=months),
        b.member("m1", registered_on=registered_on, **member),
        *records,
    )


def ended(end: D | None, *, club_id: str = "c1", cid: str = "k1", **kw: Any) -> Contract:
    """A contract of ``m1`` that started in 2000 and ended on ``end``."""
    return b.contract(cid, member_id="m1", club_id=club_id, start=D(2000, 1, 1), end=end, **kw)


def population() -> Dataset:
    """A network where, on 2024-03-01, nine of thirteen members are due.

    Clubs: ``c1`` keeps data 6 months and uses debt collection, ``c2`` has no
    retention and no debt collection, ``c3`` keeps data 12 months. Due and
    eligible: m01 (unpaid purchase), m02 (no contract, registered 2023-08-31),
    m08 (home c3, arrears in c2), m10 (latest end in c2), m12 (terminated early,
    plus a cancelled open-ended contract), m13 (due exactly today). Due but
    blocked: m03 (wallet), m04 (restricted), m11 (open case and arrears under
    collection). Not due: m05 (one day short), m06 (open-ended), m07 (already
    anonymized), m09 (home club without retention).
    """
    k = b.contract

    def m(mid: str, **kw: Any) -> Member:
        return b.member(mid, **kw)

    return b.dataset(
        b.club("c1", retention_months=6),
        b.club("c2", uses_debt_collection=False),
        b.club("c3", tz="America/New_York", uses_debt_collection=False, retention_months=12),
        b.employee("e1"),
        m("m01"),
        k("k01", member_id="m01", start=D(2022, 1, 1), end=D(2023, 6, 30)),
        b.purchase("p01", member_id="m01", paid=False),
        b.measurement("ms01", member_id="m01"),
        b.exercise("x01", member_id="m01"),
        b.note("nh01", member_id="m01"),
        b.note("ng01", member_id="m01", note_type=NoteType.GENERAL),
        b.log_entry("l01", member_id="m01"),
        b.document("d01", member_id="m01"),
        b.visit("v01", member_id="m01"),
        b.class_booking("bk01", member_id="m01"),
        b.invoice("f01", member_id="m01"),
        b.receipt("r01", member_id="m01"),
        m("m02", registered_on=D(2023, 8, 31)),
        b.log_entry("l02", member_id="m02"),
        m("m03"),
        k("k03", member_id="m03", start=D(2022, 2, 1), end=D(2023, 1, 31)),
        b.wallet("10.00", member_id="m03"),
        b.document("d03", member_id="m03"),
        m("m04", restrict_processing=True),
        k("k04", member_id="m04", start=D(2022, 2, 1), end=D(2023, 1, 31)),
        b.note("nh04", member_id="m04"),
        m("m05"),
        k("k05", member_id="m05", start=D(2023, 3, 1), end=D(2023, 9, 2)),
        b.measurement("ms05", member_id="m05"),
        m("m06"),
        k("k06", member_id="m06", start=D(2020, 1, 1), end=None),
        m("m07", anonymized_at=dt.datetime(2023, 5, 1, 10, tzinfo=dt.UTC), with_photo=False),
        k("k07", member_id="m07", start=D(2020, 1, 1), end=D(2020, 12, 31)),
        b.note("ng07", member_id="m07", note_type=NoteType.GENERAL),
        m("m08", home_club_id="c3"),
        k("k08", member_id="m08", club_id="c3", start=D(2022, 3, 1), end=D(2023, 2, 28)),
        b.installment("i08", member_id="m08", club_id="c2", due_on=D(2023, 1, 10)),
        m("m09", home_club_id="c2"),
        k("k09", member_id="m09", club_id="c2", start=D(2019, 1, 1), end=D(2019, 12, 31)),
        b.exercise("x09", member_id="m09"),
        m("m10"),
        k("k10a", member_id="m10", start=D(2021, 1, 1), end=D(2021, 12, 31)),
        k("k10b", member_id="m10", club_id="c2", start=D(2023, 1, 1), end=D(2023, 8, 31)),
        m("m11"),
        k("k11", member_id="m11", start=D(2021, 6, 1), end=D(2022, 5, 31)),
        b.collection_case(
            "w11", member_id="m11", club_id="c2", opened_on=D(2022, 6, 1), closed_on=None
        ),
        b.installment("i11", member_id="m11", due_on=D(2022, 5, 10)),
        m("m12"),
        k(
            "k12a",
            member_id="m12",
            start=D(2023, 1, 1),
            end=D(2023, 8, 31),
            terminated_on=D(2023, 3, 15),
        ),
        k("k12b", member_id="m12", start=D(2024, 5, 1), end=None, terminated_on=D(2024, 4, 1)),
        m("m13"),
        k("k13", member_id="m13", start=D(2022, 9, 2), end=D(2023, 9, 1)),
        b.document("d13", member_id="m13"),
    )


POPULATION_ANONYMIZED: Final = ("m01", "m02", "m08", "m10", "m12", "m13")
POPULATION_SKIPPED: Final = {
    "m03": ("wallet_funds",),
    "m04": ("processing_restricted",),
    "m11": ("open_collection_case", "arrears_under_collection"),
}


class Killed(BaseException):
    """Stands for the process being killed: no ``except Exception`` stops it."""


class Harness:
    """Wraps a store's unit-of-work factory to play the world around a sweep.

    It counts repository calls and commits, and can kill the run at the n-th,
    play another worker that holds some members' locks, make every unit that
    loads the facts of a "poisoned" member fail, or make the due query answer
    from a stale state by adding "stale" members to its pages.
    """

    REPOSITORIES: Final = frozenset(
        {"members", "facts", "records", "reminders", "audit", "clubs", "retention"}
    )

    def __init__(
        self,
        factory: Callable[[], Any],
        *,
        kill_at: int | None = None,
        held: Iterable[str] = (),
        poisoned: Iterable[str] = (),
        stale: Iterable[str] = (),
    ) -> None:
        self.factory = factory
        self.kill_at = kill_at
        self.held = frozenset(held)
        self.poisoned = frozenset(poisoned)
        self.stale = frozenset(stale)
        self.calls = 0

    def __call__(self) -> _HarnessUnit:
        return _HarnessUnit(self, self.factory())

    def before(self, name: str, args: tuple[Any, ...]) -> None:
        self.calls += 1
        if self.calls == self.kill_at:
            raise Killed(name)
        if name == "facts.load_facts" and self.poisoned.intersection(args[0]):
            raise LookupError("poisoned member")


class _HarnessRepository:
    def __init__(self, harness: Harness, name: str, inner: Any) -> None:
        self._harness = harness
        self._name = name
        self._inner = inner

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._inner, attribute)
        label = f"{self._name}.{attribute}"
        harness = self._harness

        def call(*args: Any, **kwargs: Any) -> Any:
            harness.before(label, args)
            result = target(*args, **kwargs)
            if label == "members.lock" and kwargs.get("skip_locked"):
                return [m for m in result if m not in harness.held]
            if label == "retention.due_members" and harness.stale:
                after = kwargs.get("after")
                extra = {m for m in harness.stale if after is None or m > after}
                return sorted(set(result) | extra)[: kwargs["limit"]]
            return result

        return call


class _HarnessUnit:
    def __init__(self, harness: Harness, inner: Any) -> None:
        self._harness = harness
        self._inner = inner

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._inner, attribute)
        if attribute in Harness.REPOSITORIES:
            return _HarnessRepository(self._harness, attribute, value)
        return value

    def __enter__(self) -> _HarnessUnit:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        self._harness.before("uow.commit", ())
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()


# -------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2023, 8, 31), 6, D(2024, 2, 29)),
        (D(2023, 8, 31), 18, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(1900, 1, 31), 1, D(1900, 2, 28)),
        (D(2000, 1, 31), 1, D(2000, 2, 29)),
        (D(2023, 10, 31), 1, D(2023, 11, 30)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 2, 29), 48, D(2028, 2, 29)),
        (D(2023, 12, 15), 1, D(2024, 1, 15)),
        (D(2023, 11, 30), 2, D(2024, 1, 30)),
        (D(2023, 12, 31), 12, D(2024, 12, 31)),
        (D(2023, 8, 31), 240, D(2043, 8, 31)),
        (D(2024, 6, 15), 0, D(2024, 6, 15)),
        (D(2024, 1, 15), -1, D(2023, 12, 15)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2023, 3, 31), -13, D(2022, 2, 28)),
        (D(2024, 5, 31), -3, D(2024, 2, 29)),
        (D(2024, 1, 1), -12, D(2023, 1, 1)),
        (D(1, 1, 31), 1, D(1, 2, 28)),
        (D(9999, 11, 30), 1, D(9999, 12, 30)),
    ],
)
def test_add_months(day: D, months: int, expected: D) -> None:
    """Calendar months, with the day clamped to the target month's length."""
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("day", "months"), [(D(9999, 12, 1), 1), (D(1, 1, 1), -1)])
def test_add_months_out_of_range(day: D, months: int) -> None:
    """Leaving the calendar is a ValueError."""
    with pytest.raises(ValueError, match="out of range"):
        add_months(day, months)


@pytest.mark.parametrize(
    ("as_of", "months", "expected"),
    [
        (D(2024, 2, 29), 6, D(2023, 8, 31)),
        (D(2024, 2, 28), 6, D(2023, 8, 28)),
        (D(2023, 2, 28), 6, D(2022, 8, 31)),
        (D(2023, 2, 27), 6, D(2022, 8, 27)),
        (D(2024, 3, 31), 1, D(2024, 2, 29)),
        (D(2024, 3, 30), 1, D(2024, 2, 29)),
        (D(2024, 3, 29), 1, D(2024, 2, 29)),
        (D(2024, 3, 28), 1, D(2024, 2, 28)),
        (D(2024, 4, 30), 2, D(2024, 2, 29)),
        (D(2024, 1, 31), 1, D(2023, 12, 31)),
        (D(2024, 1, 15), 12, D(2023, 1, 15)),
        (D(2024, 6, 30), 4, D(2024, 2, 29)),
        (D(2025, 2, 28), 12, D(2024, 2, 29)),
        (D(2024, 3, 1), 6, D(2023, 9, 1)),
    ],
)
def test_due_threshold(as_of: D, months: int, expected: D) -> None:
    """The threshold is the latest end that is due, month ends included."""
    threshold = due_threshold(as_of, months)
    assert threshold == expected
    assert add_months(threshold, months) <= as_of
    assert add_months(threshold + dt.timedelta(days=1), months) > as_of


# ------------------------------------------------------------------ the rule, pure


def test_last_contract_end_is_the_latest_effective_end() -> None:
    """The latest of the effective ends counts; cancelled contracts do not."""
    m = b.member("m1", registered_on=D(2010, 1, 1))
    contracts = [
        ended(D(2021, 12, 31), cid="k1"),
        ended(D(2023, 8, 31), cid="k2", club_id="c2", terminated_on=D(2023, 3, 15)),
        ended(D(2022, 6, 30), cid="k3"),
        b.contract("k4", start=D(2024, 5, 1), end=D(2025, 4, 30), terminated_on=D(2024, 4, 1)),
    ]
    assert last_contract_end(m, contracts) == D(2023, 3, 15)


def test_last_contract_end_registration_and_open_ended() -> None:
    """No contract: the registration date; an open-ended one: never."""
    m = b.member("m1", registered_on=D(2020, 5, 10))
    assert last_contract_end(m, []) == D(2020, 5, 10)
    cancelled = b.contract("k1", start=D(2024, 5, 1), end=None, terminated_on=D(2024, 4, 30))
    assert last_contract_end(m, [cancelled]) == D(2020, 5, 10)
    assert last_contract_end(m, [ended(D(2021, 1, 31)), ended(None, cid="k2")]) is None
    terminated = ended(None, terminated_on=D(2021, 2, 14))
    assert last_contract_end(m, [terminated]) == D(2021, 2, 14)


def test_due_on_and_is_due() -> None:
    """The due date is the last end moved by the home club's months."""
    m = b.member("m1")
    club = b.club("c1", retention_months=6)
    contracts = [ended(D(2023, 8, 31))]
    assert due_on(m, contracts, club) == D(2024, 2, 29)
    assert is_due(m, contracts, club, D(2024, 2, 29))
    assert is_due(m, contracts, club, D(2030, 1, 1))
    assert not is_due(m, contracts, club, D(2024, 2, 28))


def test_never_due() -> None:
    """No setting, an open-ended contract, or an anonymized member: never due."""
    contracts = [ended(D(2015, 1, 31))]
    far = D(2090, 1, 1)
    assert not is_due(b.member("m1"), contracts, b.club("c1"), far)
    club = b.club("c1", retention_months=1)
    assert not is_due(b.member("m1"), [*contracts, ended(None, cid="k2")], club, far)
    gone = b.member("m1", anonymized_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert due_on(gone, contracts, club) is None
    assert due_on(b.member("m1"), [ended(D(9999, 12, 31))], club) is None


def test_rule_refuses_foreign_records() -> None:
    """Another club than the home club, or another member's contract, is a mistake."""
    m = b.member("m1")
    with pytest.raises(ValueError, match="home club"):
        due_on(m, [], b.club("c2", retention_months=6))
    with pytest.raises(ValueError, match="not one of member"):
        last_contract_end(m, [b.contract("k9", member_id="m9")])


# ------------------------------------------------------------------ the due set


@pytest.mark.parametrize(
    ("end", "months", "as_of", "due"),
    [
        (D(2023, 1, 15), 12, D(2024, 1, 15), True),
        (D(2023, 1, 15), 12, D(2024, 1, 14), False),
        (D(2023, 8, 31), 6, D(2024, 2, 29), True),
        (D(2023, 8, 31), 6, D(2024, 2, 28), False),
        (D(2023, 8, 30), 6, D(2024, 2, 29), True),
        (D(2023, 8, 29), 6, D(2024, 2, 29), True),
        (D(2023, 8, 28), 6, D(2024, 2, 28), True),
        (D(2023, 8, 29), 6, D(2024, 2, 28), False),
        (D(2022, 8, 31), 6, D(2023, 2, 28), True),
        (D(2022, 8, 31), 6, D(2023, 2, 27), False),
        (D(2024, 2, 29), 12, D(2025, 2, 28), True),
        (D(2024, 2, 29), 12, D(2025, 2, 27), False),
        (D(2023, 12, 31), 1, D(2024, 1, 31), True),
        (D(2023, 12, 31), 1, D(2024, 1, 30), False),
        (D(2023, 7, 31), 5, D(2023, 12, 31), True),
        (D(2023, 7, 31), 5, D(2023, 12, 30), False),
        (D(2010, 1, 1), 240, D(2030, 1, 1), True),
        (D(2010, 1, 1), 240, D(2029, 12, 31), False),
    ],
)
def test_due_around_the_boundary(
    make_store: MakeStore, end: D, months: int, as_of: D, due: bool
) -> None:
    """A member is due on the day the months have passed, not a day earlier."""
    data = one_member(ended(end), months=months)
    report = sweep(make_store(data), clock=on(as_of)).run(as_of=as_of)
    assert report.anonymized == (("m1",) if due else ())
    assert report.due == int(due)
    (member,) = data.members
    assert is_due(member, data.contracts, data.clubs[0], as_of) is due


def test_member_without_contract_counts_from_registration(make_store: MakeStore) -> None:
    """Without contracts the registration date is the last end."""
    data = one_member(registered_on=D(2020, 5, 31), months=6)
    assert sweep(make_store(data), clock=on(D(2020, 11, 29))).run(as_of=D(2020, 11, 29)).due == 0
    assert sweep(make_store(data), clock=on(D(2020, 11, 30))).run(
        as_of=D(2020, 11, 30)
    ).anonymized == ("m1",)


def test_open_ended_contract_is_never_due(make_store: MakeStore) -> None:
    """An open-ended contract (not cancelled) keeps the member forever."""
    data = one_member(ended(D(2010, 1, 31)), ended(None, cid="k2"), months=1)
    store = make_store(data)
    report = sweep(store, clock=on(D(2099, 12, 31))).run(as_of=D(2099, 12, 31))
    assert report.due == 0
    assert store.snapshot() == data.sorted()


def test_terminated_contract_counts_from_its_termination(make_store: MakeStore) -> None:
    """The effective end is the earlier of the end and the termination date."""
    data = one_member(ended(None, terminated_on=D(2023, 3, 15)), months=6)
    assert sweep(make_store(data), clock=on(D(2023, 9, 14))).run(as_of=D(2023, 9, 14)).due == 0
    assert sweep(make_store(data), clock=on(D(2023, 9, 15))).run(
        as_of=D(2023, 9, 15)
    ).anonymized == ("m1",)


def test_cancelled_contracts_are_ignored(make_store: MakeStore) -> None:
    """A contract terminated before its start counts neither as an end nor as open-ended."""
    cancelled_open = b.contract(
        "k2", member_id="m1", start=D(2024, 5, 1), end=None, terminated_on=D(2024, 4, 1)
    )
    cancelled_late = b.contract(
        "k3", member_id="m1", start=D(2025, 1, 1), end=D(2025, 12, 31), terminated_on=D(2024, 4, 2)
    )
    data = one_member(ended(D(2023, 1, 31)), cancelled_open, cancelled_late, months=6)
    report = sweep(make_store(data), clock=on(D(2024, 4, 15))).run(as_of=D(2024, 4, 15))
    assert report.anonymized == ("m1",)


def test_latest_end_in_the_network_and_the_home_clubs_setting(make_store: MakeStore) -> None:
    """Contracts of every club count; only the home club's setting applies."""
    data = b.dataset(
        b.club("c1", retention_months=6),
        b.club("c2", retention_months=1),
        b.member("m1"),
        ended(D(2021, 12, 31), cid="k1"),
        ended(D(2023, 8, 31), cid="k2", club_id="c2"),
    )
    assert sweep(make_store(data), clock=on(D(2024, 2, 28))).run(as_of=D(2024, 2, 28)).due == 0
    assert sweep(make_store(data), clock=on(D(2024, 2, 29))).run(
        as_of=D(2024, 2, 29)
    ).anonymized == ("m1",)


def test_home_club_without_retention_is_never_swept(make_store: MakeStore) -> None:
    """Another club's setting never applies to a member of a club without one."""
    data = b.dataset(
        b.club("c1"),
        b.club("c2", retention_months=1),
        b.member("m1"),
        ended(D(2015, 1, 31), club_id="c2"),
    )
    store = make_store(data)
    assert sweep(store, clock=on(D(2030, 1, 1))).run(as_of=D(2030, 1, 1)).due == 0
    assert sweep(store, clock=on(D(2030, 1, 1))).run(as_of=D(2030, 1, 1), club_id="c1").due == 0
    assert store.snapshot() == data.sorted()


def test_population_report(make_store: MakeStore) -> None:
    """The whole network: who is anonymized, who is skipped with which codes, as JSON."""
    report = sweep(make_store(population()), batch_size=4).run()
    assert report.as_json() == {
        "as_of": "2024-03-01",
        "dry_run": False,
        "due": 9,
        "anonymized": list(POPULATION_ANONYMIZED),
        "skipped": [
            {"member_id": mid, "blockers": list(codes)}
            for mid, codes in sorted(POPULATION_SKIPPED.items())
        ],
    }
    assert json.loads(json.dumps(report.as_json())) == report.as_json()
    assert report.errors == ()
    assert report.held_elsewhere == ()


def test_population_end_state(make_store: MakeStore) -> None:
    """Due members are anonymized completely; everyone else is untouched."""
    before = population()
    store = make_store(before)
    sweep(store, batch_size=4).run()
    after = store.snapshot()
    assert_all_or_nothing(before, after)
    anonymized = {m.id for m in after.members if m.anonymized_at == NOW}
    assert anonymized == set(POPULATION_ANONYMIZED)
    entries = [a for a in after.audit if a.member_id in anonymized]
    assert {a.member_id for a in entries} == anonymized
    assert all(a.mode is AnonymizationMode.RETENTION and a.actor_id is None for a in entries)
    assert all(a.at == NOW for a in entries)
    assert {(r.member_id, r.club_id, r.kind) for r in after.reminders} == {
        ("m01", "c1", "unpaid_purchases"),
        ("m08", "c2", "arrears"),
    }
    for name in ("visits", "class_bookings", "invoices", "receipts", "contracts", "installments"):
        assert getattr(after, name) == getattr(before.sorted(), name)


def test_already_anonymized_member_is_never_due(make_store: MakeStore) -> None:
    """An anonymized member is neither due nor touched again."""
    gone = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    data = one_member(ended(D(2015, 1, 31)), months=1, anonymized_at=gone, with_photo=False)
    store = make_store(data)
    report = sweep(store, clock=on(D(2030, 1, 1))).run(as_of=D(2030, 1, 1))
    assert report.due == 0
    assert store.snapshot() == data.sorted()


def test_club_filter(make_store: MakeStore) -> None:
    """Only members whose home club is the given club are swept."""
    store = make_store(population())
    report = sweep(store).run(club_id="c3")
    assert (report.due, report.anonymized, report.skipped) == (1, ("m08",), ())
    assert sweep(store).run(club_id="c2").due == 0
    rest = sweep(store).run(club_id="c1")
    assert set(rest.anonymized) == set(POPULATION_ANONYMIZED) - {"m08"}


def test_unknown_club(make_store: MakeStore) -> None:
    """A club filter naming no club of the network is an error, and changes nothing."""
    store = make_store(population())
    with pytest.raises(UnknownClubError, match="c9"):
        sweep(store).run(club_id="c9")
    assert store.snapshot() == population().sorted()


def test_each_club_uses_its_own_local_date(make_store: MakeStore) -> None:
    """Without as_of, each club's members are judged on that club's own date.

    A real run refuses a date that is still in the future in one of its clubs.
    """
    data = b.dataset(
        b.club("c1", tz="Europe/Warsaw", retention_months=1),
        b.club("c2", tz="America/Los_Angeles", retention_months=1),
        b.member("m1"),
        b.member("m2", home_club_id="c2"),
        b.contract("k1", member_id="m1", start=D(2023, 2, 2), end=D(2024, 2, 1)),
        b.contract("k2", member_id="m2", club_id="c2", start=D(2023, 2, 2), end=D(2024, 2, 1)),
    )
    late = FixedClock(dt.datetime(2024, 2, 29, 23, 30, tzinfo=dt.UTC))
    report = sweep(make_store(data), clock=late).run()
    assert report.anonymized == ("m1",)
    assert report.as_of == D(2024, 2, 29)
    assert sweep(make_store(data), clock=late).run(club_id="c1").as_of == D(2024, 3, 1)
    both = sweep(make_store(data), clock=late).run(as_of=D(2024, 3, 1), dry_run=True)
    assert (both.as_of, both.anonymized) == (D(2024, 3, 1), ("m1", "m2"))
    with pytest.raises(FutureDateError, match="c2"):
        sweep(make_store(data), clock=late).run(as_of=D(2024, 3, 1))


def test_blockers_are_evaluated_on_the_home_clubs_date(make_store: MakeStore) -> None:
    """A case closed on the club's local today no longer blocks, as in the manual path."""
    data = b.dataset(
        b.club("c1", tz="Europe/Warsaw", retention_months=1),
        b.member("m1"),
        ended(D(2023, 1, 31)),
        b.collection_case(opened_on=D(2023, 6, 1), closed_on=D(2024, 3, 1)),
    )
    late = FixedClock(dt.datetime(2024, 2, 29, 23, 30, tzinfo=dt.UTC))
    assert sweep(make_store(data), clock=late).run().anonymized == ("m1",)
    early = FixedClock(dt.datetime(2024, 2, 29, 22, 30, tzinfo=dt.UTC))
    report = sweep(make_store(data), clock=early).run()
    assert [s.codes for s in report.skipped] == [("open_collection_case",)]


# ------------------------------------------------------------ blocked and restricted


@pytest.mark.parametrize(
    ("records", "member_kw", "codes"),
    [
        ((b.wallet("0.01"),), {}, ("wallet_funds",)),
        ((), {"restrict_processing": True}, ("processing_restricted",)),
        (
            (b.collection_case(club_id="c2", opened_on=D(2023, 6, 1), closed_on=None),),
            {},
            ("open_collection_case",),
        ),
        ((b.installment(due_on=D(2022, 12, 10)),), {}, ("arrears_under_collection",)),
        (
            (b.wallet("5.00"), b.collection_case(opened_on=D(2023, 6, 1), closed_on=None)),
            {"restrict_processing": True},
            ("open_collection_case", "wallet_funds", "processing_restricted"),
        ),
    ],
)
def test_blocked_members_are_skipped_and_untouched(
    make_store: MakeStore,
    records: tuple[Any, ...],
    member_kw: dict[str, Any],
    codes: tuple[str, ...],
) -> None:
    """A due member with blockers is reported with every code and nothing of theirs changes."""
    data = b.dataset(
        b.club("c1", retention_months=6),
        b.club("c2"),
        b.member("m1", **member_kw),
        ended(D(2023, 1, 31)),
        *records,
        b.visit(),
        b.measurement(),
        b.exercise(),
        b.note(),
        b.log_entry(),
        b.document(),
    )
    store = make_store(data)
    report = sweep(store).run(as_of=AS_OF)
    assert report.due == 1
    assert report.anonymized == ()
    assert [(s.member_id, s.codes) for s in report.skipped] == [("m1", codes)]
    assert report.as_json()["skipped"] == [{"member_id": "m1", "blockers": list(codes)}]
    assert store.snapshot() == data.sorted()


def test_warnings_do_not_stop_the_sweep(make_store: MakeStore) -> None:
    """Unpaid purchases and arrears without debt collection become reminders."""
    data = b.dataset(
        b.club("c1", retention_months=6, uses_debt_collection=False),
        b.member("m1"),
        ended(D(2023, 1, 31)),
        b.purchase(amount="4.00"),
        b.installment(due_on=D(2022, 12, 10), amount="129.00"),
    )
    store = make_store(data)
    assert sweep(store).run(as_of=AS_OF).anonymized == ("m1",)
    reminders = store.snapshot().reminders
    assert sorted((r.kind, str(r.amount)) for r in reminders) == [
        ("arrears", "129.00"),
        ("unpaid_purchases", "4.00"),
    ]
    assert all(r.created_at == NOW and r.member_id == "m1" for r in reminders)


# ------------------------------------------------------ the same end state as manual


def test_same_end_state_as_manual_anonymization(make_store: MakeStore) -> None:
    """Retention leaves exactly what manual anonymization of the same members leaves."""
    by_sweep = make_store(population())
    report = sweep(by_sweep, batch_size=4).run()
    by_hand = make_store(population())
    anonymizer = Anonymizer(by_hand.unit_of_work, clock=FixedClock(NOW))
    for member_id in report.anonymized:
        assert isinstance(anonymizer.anonymize(member_id, actor="e1"), Anonymized)
    swept, manual = by_sweep.snapshot(), by_hand.snapshot()
    assert comparable(swept, ignore_actor=True) == comparable(manual, ignore_actor=True)
    assert {a.mode for a in manual.audit} == {AnonymizationMode.MANUAL}
    assert {a.mode for a in swept.audit} == {AnonymizationMode.RETENTION}


# -------------------------------------------------------------- dry run, batches, twice


def test_dry_run_reports_the_real_run_and_changes_nothing(make_store: MakeStore) -> None:
    """A dry run's report equals the real run's; it writes nothing and takes no lock."""
    store = make_store(population())
    start = len(store.calls)
    dry = sweep(store, batch_size=4).run(dry_run=True)
    assert store.snapshot() == population().sorted()
    writes = {"uow.commit", "members.lock", "members.replace_personal_data", "audit.add"}
    assert writes.isdisjoint(store.calls[start:])
    real = sweep(store, batch_size=4).run()
    assert dry.dry_run
    assert not real.dry_run
    assert dry == attrs.evolve(real, dry_run=True)
    assert dry.as_json()["dry_run"] is True


@pytest.mark.parametrize("batch_size", [1, 2, 3, 8, 9, 10, 1000])
def test_batch_size_does_not_change_the_result(make_store: MakeStore, batch_size: int) -> None:
    """Any batch size gives the same report and the same end state."""
    reference = make_store(population())
    expected = sweep(reference).run()
    store = make_store(population())
    assert sweep(store, batch_size=batch_size).run() == expected
    assert comparable(store.snapshot()) == comparable(reference.snapshot())


@pytest.mark.parametrize(("batch_size", "queries"), [(4, 3), (3, 4), (9, 2), (10, 1)])
def test_one_due_query_per_page(make_store: MakeStore, batch_size: int, queries: int) -> None:
    """The sweep pages through the due members, and stops after a short page."""
    store = make_store(population())
    start = len(store.calls)
    sweep(store, batch_size=batch_size).run()
    assert store.calls[start:].count("retention.due_members") == queries


def test_progress_after_every_batch(make_store: MakeStore) -> None:
    """Progress comes after each batch, with growing counts that end at the report's."""
    seen: list[SweepProgress] = []
    report = sweep(make_store(population()), batch_size=2).run(progress=seen.append)
    assert len(seen) == 5
    assert [p.done for p in seen] == sorted({p.done for p in seen})
    assert all(a.anonymized <= z.anonymized for a, z in itertools.pairwise(seen))
    assert seen[-1] == SweepProgress(done=9, anonymized=6, skipped=3, failed=0)
    assert seen[-1].done == report.due


def test_second_run_changes_nothing(make_store: MakeStore) -> None:
    """Running twice: the second run anonymizes nobody and writes nothing."""
    store = make_store(population())
    first = sweep(store, batch_size=4).run()
    after_first = store.snapshot()
    second = sweep(store, batch_size=4).run()
    assert store.snapshot() == after_first
    assert second.anonymized == ()
    assert second.skipped == first.skipped
    assert second.due == len(first.skipped)


# --------------------------------------------------------------- failures and resuming


def baseline(make_store: MakeStore) -> tuple[SweepReport, tuple[Any, ...], int]:
    """The uninterrupted run on the population: report, end state, calls made."""
    store = make_store(population())
    harness = Harness(store.unit_of_work)
    report = sweep(store, batch_size=4, factory=harness).run()
    return report, comparable(store.snapshot()), harness.calls


def test_a_failure_at_any_call_is_retried_or_resumed(make_store: MakeStore) -> None:
    """One failing call anywhere: the batch is redone alone, or a rerun finishes the job."""
    expected_report, expected_state, calls = baseline(make_store)
    for n in range(1, calls + 1):
        store = make_store(population())
        store.fail_on_call(n)
        try:
            report = sweep(store, batch_size=4).run()
        except InjectedFailure:
            assert_all_or_nothing(population(), store.snapshot())
        else:
            assert report == expected_report, n
        store.heal()
        sweep(store, batch_size=4).run()
        assert comparable(store.snapshot()) == expected_state, n


def test_a_sweep_killed_at_any_call_is_finished_by_the_next_run(make_store: MakeStore) -> None:
    """Killed anywhere, each member is untouched or done, and the next run completes."""
    expected_report, expected_state, calls = baseline(make_store)
    for n in range(1, calls + 1):
        store = make_store(population())
        killer = Harness(store.unit_of_work, kill_at=n)
        with pytest.raises(Killed):
            sweep(store, batch_size=4, factory=killer).run()
        assert_all_or_nothing(population(), store.snapshot())
        rerun = sweep(store, batch_size=4).run()
        assert set(rerun.anonymized) <= set(expected_report.anonymized)
        assert rerun.skipped == expected_report.skipped
        assert comparable(store.snapshot()) == expected_state, n


def test_a_batch_failing_as_a_whole(make_store: MakeStore) -> None:
    """When every anonymization fails, the due members are errors and nothing changes."""
    store = make_store(population())
    injector = FaultInjector(store.unit_of_work)
    injector.fail_on("records.delete_documents")
    report = sweep(store, batch_size=4, factory=injector).run()
    assert report.anonymized == ()
    assert report.errors == tuple(
        FailedMember(member_id=m, error_type="InjectedFailure") for m in POPULATION_ANONYMIZED
    )
    assert [s.member_id for s in report.skipped] == sorted(POPULATION_SKIPPED)
    assert report.due == 9
    assert report.as_json()["errors"][0] == {"member_id": "m01", "error": "InjectedFailure"}
    assert store.snapshot() == population().sorted()
    injector.heal()
    assert sweep(store, batch_size=4, factory=injector).run().anonymized == POPULATION_ANONYMIZED


def test_one_bad_member_does_not_block_the_rest(make_store: MakeStore) -> None:
    """A member that always fails is an error; the rest of their batch is anonymized."""
    store = make_store(population())
    poisoned = Harness(store.unit_of_work, poisoned={"m10"})
    report = sweep(store, batch_size=4, factory=poisoned).run()
    assert report.errors == (FailedMember(member_id="m10", error_type="LookupError"),)
    assert report.anonymized == tuple(m for m in POPULATION_ANONYMIZED if m != "m10")
    assert report.due == 9
    assert "poisoned" not in json.dumps(report.as_json())
    after = {m.id: m for m in store.snapshot().members}
    assert after["m10"].anonymized_at is None
    assert sweep(store).run().anonymized == ("m10",)


def test_members_held_by_another_worker_are_left_for_later(make_store: MakeStore) -> None:
    """Members another worker holds are skipped this run, reported, and not touched."""
    store = make_store(population())
    other = Harness(store.unit_of_work, held={"m02", "m04"})
    report = sweep(store, batch_size=4, factory=other).run()
    assert report.held_elsewhere == ("m02", "m04")
    assert "m02" not in report.anonymized
    assert "m04" not in {s.member_id for s in report.skipped}
    assert report.due == 9
    assert report.as_json()["held_elsewhere"] == ["m02", "m04"]
    assert sweep(store).run().anonymized == ("m02",)


def test_members_no_longer_due_under_the_lock_are_left_out(make_store: MakeStore) -> None:
    """Members the query found but the locked re-check does not are neither touched nor reported."""
    store = make_store(population())
    stale = Harness(store.unit_of_work, stale={"m05", "m07"})
    report = sweep(store, batch_size=4, factory=stale).run()
    assert not {"m05", "m07"} & handled(report)
    assert report == sweep(make_store(population()), batch_size=4).run()
    after = {m.id: m for m in store.snapshot().members}
    before = {m.id: m for m in population().members}
    assert (after["m05"], after["m07"]) == (before["m05"], before["m07"])


# ---------------------------------------------------------------------- the report


def test_report_json_extra_keys_only_when_not_empty() -> None:
    """Errors and held members appear in the JSON only when there are some."""
    plain = SweepReport(as_of=AS_OF, dry_run=True, due=0)
    assert plain.as_json() == {
        "as_of": "2024-03-01",
        "dry_run": True,
        "due": 0,
        "anonymized": [],
        "skipped": [],
    }
    full = SweepReport(
        as_of=AS_OF,
        dry_run=False,
        due=4,
        anonymized=("m1",),
        skipped=(SkippedMember(member_id="m2", blockers=()),),
        errors=(FailedMember(member_id="m3", error_type="OperationalError"),),
        held_elsewhere=("m4",),
    )
    assert full.as_json() == {
        "as_of": "2024-03-01",
        "dry_run": False,
        "due": 4,
        "anonymized": ["m1"],
        "skipped": [{"member_id": "m2", "blockers": []}],
        "errors": [{"member_id": "m3", "error": "OperationalError"}],
        "held_elsewhere": ["m4"],
    }


@pytest.mark.parametrize("size", [0, -1, True, 2.0])
def test_batch_size_must_be_a_positive_whole_number(size: Any) -> None:
    """A batch size below one (or not a whole number) is refused."""
    with pytest.raises(ValueError, match="batch_size"):
        RetentionSweep(lambda: None, batch_size=size)  # type: ignore[arg-type,return-value]


def test_count_due_matches_a_run_and_changes_nothing(make_store: MakeStore) -> None:
    """count_due counts exactly the members a run finds due, and writes nothing."""
    data = b.dataset(
        b.club(id="c1", retention_months=6),
        b.member(id="m1", home_club_id="c1", registered_on=dt.date(2020, 1, 1)),
        b.member(id="m2", home_club_id="c1", registered_on=dt.date(2026, 11, 1)),
        b.member(id="m3", home_club_id="c1", registered_on=dt.date(2019, 1, 1)),
    )
    store = make_store(data)
    before = store.snapshot()
    sweep = RetentionSweep(store.unit_of_work, batch_size=1)
    assert sweep.count_due(as_of=dt.date(2026, 11, 27)) == 2
    assert store.snapshot() == before
    assert sweep.run(as_of=dt.date(2026, 11, 27)).due == 2

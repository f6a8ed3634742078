"""Properties of erasure requests: the desk, the processing run, and every path that anonymizes.

Every property goes through ``make_store`` and the public services, so it runs
on every backend. Days are simulated with a :class:`FixedClock` that only moves
forward, from no earlier than anything the generated network records.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from member_anonymization import (
    AnonymizationOptions,
    Anonymized,
    Anonymizer,
    RetentionSweep,
    SweepReport,
)
from member_anonymization.domain import (
    AnonymizationMode,
    AuditAction,
    ErasureRequest,
    NoticeKind,
    OutboxKind,
    OutboxMessage,
    RequestStatus,
)
from member_anonymization.erasure import (
    ProcessReport,
    RequestAlreadyOpen,
    RequestCompleted,
    RequestDesk,
    RequestProcessor,
    RequestReceived,
)
from member_anonymization.policy import MemberFacts, evaluate
from member_anonymization.serialization import COLLECTIONS, Dataset, unstructure_dataset
from member_anonymization.testing import FaultInjector, FixedClock, InjectedFailure, InMemoryStore
from tests.backends import FAULT_EXAMPLES_ON_POSTGRES, LOCAL_BACKENDS, MakeStore, Store
from tests.strategies import (
    DESK_ID,
    Advance,
    AnonymizeNow,
    Extend,
    Process,
    Receive,
    Reject,
    RequestStep,
    RequestWorld,
    RunWorld,
    Sweep,
    Withdraw,
    clock_instants,
    datasets,
    earliest_today,
    eligible_variant,
    home_club_date,
    member_day,
    request_worlds,
    run_worlds,
    with_desk,
    with_refusal_notices,
)

with_stores = settings(
    suppress_health_check=[
        *settings().suppress_health_check,
        HealthCheck.function_scoped_fixture,
    ]
)
"""The profile's settings, plus leave to use the ``make_store`` factory in @given."""

ID_FIELDS = {"reminders": "id", "audit": "id", "outbox": "id"}


# --------------------------------------------------------------------------- helpers


def open_store(make_store: MakeStore, dataset: Dataset) -> Store:
    """A store holding ``dataset``.

    A SQL store gets the reminders about requests in a second load: one load
    writes reminders before the requests they name and is refused (see
    ``REMINDER_LOAD_BUG`` in ``tests/integration/test_sql_migration.py``).
    """
    about = tuple(r for r in dataset.reminders if r.request_id is not None)
    if make_store is InMemoryStore or not about:
        return make_store(dataset)
    others = tuple(r for r in dataset.reminders if r.request_id is None)
    store = make_store(attrs.evolve(dataset, reminders=others))
    store.sql.load(Dataset(network=dataset.network, reminders=about))  # type: ignore[attr-defined]
    return store


def counter_ids() -> Callable[[], str]:
    """A deterministic id factory."""
    numbers = itertools.count(1)
    return lambda: f"gen{next(numbers)}"


def options(id_factory: Callable[[], str] | None = None) -> AnonymizationOptions:
    """The default options, with a deterministic id factory when given."""
    return (
        AnonymizationOptions()
        if id_factory is None
        else AnonymizationOptions(id_factory=id_factory)
    )


def facts_of(data: Dataset, member_id: str) -> MemberFacts:
    """The policy's facts about one member of ``data``."""
    (member,) = [m for m in data.members if m.id == member_id]
    return MemberFacts(
        member=member,
        contracts=own(data.contracts, member_id),
        collection_cases=own(data.collection_cases, member_id),
        wallets=own(data.wallets, member_id),
        installments=own(data.installments, member_id),
        purchases=own(data.purchases, member_id),
    )


def own(records: tuple[Any, ...], member_id: str) -> tuple[Any, ...]:
    """The records that belong to the member."""
    return tuple(r for r in records if r.member_id == member_id)


def records_of(data: Dataset, member_id: str) -> dict[str, tuple[Any, ...]]:
    """Every record of the member, by collection (the member's own row under ``members``)."""
    out: dict[str, tuple[Any, ...]] = {}
    for name in COLLECTIONS:
        records = getattr(data, name)
        if name == "members":
            out[name] = tuple(m for m in records if m.id == member_id)
        elif name not in ("clubs", "employees"):
            out[name] = own(records, member_id)
    return out


def _blank_ids(name: str, record: Any) -> Any:
    if name in ID_FIELDS:
        record = attrs.evolve(record, id="-")
    if isinstance(record, ErasureRequest):
        record = attrs.evolve(record, audit_entry_id=None)
    return record


def member_view(data: Dataset, member_id: str) -> dict[str, list[str]]:
    """Everything of one member, the generated ids (and the links made of them) aside."""
    return {
        name: sorted(repr(_blank_ids(name, r)) for r in records)
        for name, records in records_of(data, member_id).items()
    }


def file_form(data: Dataset, collection: str) -> dict[str, str]:
    """Each record of a collection as the dataset file writes it, by id."""
    written = unstructure_dataset(data).get(collection, [])
    return {r["id"]: json.dumps(r, sort_keys=True) for r in written}


def comparable(data: Dataset) -> tuple[Any, ...]:
    """The dataset without generated ids, modes, actors and notices' texts.

    Requests lose the audit entry that completed them and who closed them;
    audit entries their actor and mode; outbox messages their mode and keep
    only the kind of their notice. Everything else stays, dates included.
    """

    def stamp(value: dt.datetime | None) -> float:
        return -1.0 if value is None else value.timestamp()

    requests = tuple(
        attrs.evolve(r, audit_entry_id=None, closed_by=None) for r in data.erasure_requests
    )
    reminders = sorted(
        (
            r.member_id,
            r.club_id,
            r.kind,
            str(r.amount),
            r.currency or "",
            stamp(r.created_at),
            r.request_id or "",
            r.action or "",
        )
        for r in data.reminders
    )
    audit = sorted(
        (
            a.member_id,
            a.action.value,
            stamp(a.at),
            () if a.removed is None else attrs.astuple(a.removed),
            "" if a.as_of is None else a.as_of.isoformat(),
        )
        for a in data.audit
    )
    outbox = sorted(
        (
            m.member_id,
            m.kind.value,
            m.request_id or "",
            stamp(m.created_at),
            stamp(m.delivered_at),
            "" if m.notice is None else m.notice.kind.value,
        )
        for m in data.outbox
    )
    kept = attrs.evolve(data, erasure_requests=requests, reminders=(), audit=(), outbox=())
    return kept.sorted(), reminders, audit, outbox


def new_records(before: tuple[Any, ...], after: tuple[Any, ...]) -> list[Any]:
    """The records of ``after`` whose id ``before`` does not hold."""
    known = {r.id for r in before}
    return [r for r in after if r.id not in known]


def is_event(message: OutboxMessage) -> bool:
    """A ``member_anonymized`` event."""
    return message.kind is OutboxKind.MEMBER_ANONYMIZED


def notice_kind(message: OutboxMessage) -> NoticeKind | None:
    """The kind of a notice (``None`` for an event)."""
    return None if message.notice is None else message.notice.kind


# ------------------------------------------------------------------ running a life


@attrs.frozen
class Done:
    """One step, what it returned, and the store's content around it.

    Attributes:
        days: For a processing run: the day each member was judged on.
    """

    step: RequestStep
    result: Any
    before: Dataset
    after: Dataset
    days: dict[str, dt.date] = attrs.Factory(dict)


class Life:
    """Makes the steps of a :class:`RequestWorld` happen on a store, one by one."""

    def __init__(self, store: Store, start: dt.datetime) -> None:
        self.store = store
        self.clock = FixedClock(start)

    def desk(self) -> RequestDesk:
        return RequestDesk(self.store.unit_of_work, clock=self.clock)

    def steps(self, world: RequestWorld) -> Iterator[Done]:
        """Make every step, yielding each with the content before and after it."""
        before = self.store.snapshot()
        for step in world.steps:
            result, days = self.make(step, before)
            after = self.store.snapshot()
            event(f"step: {type(step).__name__} -> {describe(result)}")
            yield Done(step, result, before, after, days)
            before = after

    def make(self, step: RequestStep, data: Dataset) -> tuple[Any, dict[str, dt.date]]:
        """Make one step on the store whose content is ``data``."""
        now = self.clock.now()
        match step:
            case Receive():
                received_at = None if step.ago is None else now - step.ago
                return self.desk().receive(
                    step.member_id,
                    actor=step.actor_id,
                    received_at=received_at,
                    channel=step.channel,
                    anonymize=step.anonymize,
                ), {}
            case Extend():
                request = picked(data, step.pick, open_only=step.open_only)
                if request is None:
                    return "nothing to pick", {}
                until = None
                if step.days is not None:
                    until = min(
                        request.deadline + dt.timedelta(days=step.days), request.latest_extension
                    )
                return self.desk().extend(
                    request.id, actor=step.actor_id, reason=step.reason, until=until
                ), {}
            case Withdraw():
                request = picked(data, step.pick, open_only=step.open_only)
                if request is None:
                    return "nothing to pick", {}
                return self.desk().withdraw(request.id, actor=step.actor_id), {}
            case Reject():
                request = picked(data, step.pick, open_only=step.open_only)
                if request is None:
                    return "nothing to pick", {}
                return self.desk().reject(request.id, actor=step.actor_id, reason=step.reason), {}
            case Process():
                as_of = None
                if step.days_back is not None:
                    as_of = earliest_today(data, now) - dt.timedelta(days=step.days_back)
                processor = RequestProcessor(
                    self.store.unit_of_work, clock=self.clock, batch_size=step.batch_size
                )
                report = processor.run(as_of=as_of)
                days = {m.id: member_day(data, m.id, now, as_of) for m in data.members}
                return report, days
            case AnonymizeNow():
                anonymizer = Anonymizer(self.store.unit_of_work, clock=self.clock)
                return anonymizer.anonymize(step.member_id, actor=step.actor_id), {}
            case Sweep():
                return RetentionSweep(self.store.unit_of_work, clock=self.clock).run(), {}
            case Advance():
                self.clock.advance(step.by)
                return "advanced", {}
        raise AssertionError(step)


def describe(result: Any) -> str:
    """A short label of a step's result, for the statistics."""
    if isinstance(result, ProcessReport):
        handled = len(result.completed) + len(result.still_open)
        return f"run completing {len(result.completed)} of {handled}"
    if isinstance(result, SweepReport):
        return f"sweep anonymizing {len(result.anonymized)}"
    return str(getattr(result, "status", result))


def picked(data: Dataset, pick: int, *, open_only: bool) -> ErasureRequest | None:
    """The request a step picks (open ones only, when there are and it asks so)."""
    requests = list(data.erasure_requests)
    if open_only:
        requests = [r for r in requests if r.is_open] or requests
    return requests[pick % len(requests)] if requests else None


def live(make_store: MakeStore, world: RequestWorld) -> Iterator[Done]:
    """The world's steps on a new store holding its network."""
    return Life(open_store(make_store, world.dataset), world.start).steps(world)


# -------------------------------------------------------------------- the properties


@given(world=request_worlds())
@with_stores
def test_a_closed_request_never_changes(make_store: MakeStore, world: RequestWorld) -> None:
    """Whatever the desk and the processor do, a closed request stays byte-identical."""
    for done in live(make_store, world):
        closed = {r.id: r for r in done.before.erasure_requests if not r.is_open}
        now = {r.id: r for r in done.after.erasure_requests}
        assert {i: now.get(i) for i in closed} == closed
        written_before = file_form(done.before, "erasure_requests")
        written_after = file_form(done.after, "erasure_requests")
        assert {i: written_after.get(i) for i in closed} == {i: written_before[i] for i in closed}


@given(world=request_worlds())
@with_stores
def test_an_anonymized_member_never_has_an_open_request(
    make_store: MakeStore, world: RequestWorld
) -> None:
    """No step leaves an open request to a member who is anonymized; one open request at most."""
    for done in live(make_store, world):
        anonymized = {m.id for m in done.after.members if m.anonymized_at is not None}
        holders = Counter(r.member_id for r in done.after.erasure_requests if r.is_open)
        assert anonymized.isdisjoint(holders)
        assert all(n == 1 for n in holders.values()), holders


@given(world=run_worlds())
@with_stores
def test_processing_completes_exactly_the_eligible_open_requests(
    make_store: MakeStore, world: RunWorld
) -> None:
    """A run on D completes exactly the open requests whose members are eligible on D.

    Eligibility is the policy's verdict on the content before the run. The
    run anonymizes those members (mode ``request``, no employee, dated D) and
    touches no record of any other member beyond the deadline watch: their
    requests' reminder and notice marks, request reminders and ``refused``
    notices.
    """
    store = open_store(make_store, world.dataset)
    before = store.snapshot()
    clubs = {c.id: c for c in before.clubs}
    opened = {r.id: r for r in before.erasure_requests if r.is_open}
    days = {m.id: member_day(before, m.id, world.at, world.as_of) for m in before.members}
    verdicts = {
        rid: evaluate(facts_of(before, r.member_id), clubs=clubs, as_of=days[r.member_id])
        for rid, r in opened.items()
    }
    expected = {rid for rid, verdict in verdicts.items() if verdict.eligible}
    processor = RequestProcessor(
        store.unit_of_work, clock=FixedClock(world.at), batch_size=world.batch_size
    )
    report = processor.run(as_of=world.as_of)
    after = store.snapshot()
    event(f"completed {len(expected)} of {len(opened)}")

    assert set(report.completed) == expected
    assert len(report.completed) == len(expected)
    assert (report.errors, report.held_elsewhere) == ((), ())
    still = {o.request_id: o for o in report.still_open}
    assert set(still) == set(opened) - expected
    for rid, line in still.items():
        assert set(line.blockers) == set(verdicts[rid].blocker_codes)
        assert line.deadline == opened[rid].current_deadline

    requests = {r.id: r for r in after.erasure_requests}
    entries = {a.id: a for a in new_records(before.audit, after.audit)}
    done_members = {opened[rid].member_id for rid in expected}
    assert {a.member_id for a in entries.values()} == done_members
    for rid in expected:
        request, member_id = requests[rid], opened[rid].member_id
        assert request.status is RequestStatus.COMPLETED
        assert (request.closed_at, request.closed_by) == (world.at, None)
        assert request.audit_entry_id is not None
        entry = entries[request.audit_entry_id]
        assert (entry.member_id, entry.mode, entry.actor_id) == (
            member_id,
            AnonymizationMode.REQUEST,
            None,
        )
        assert (entry.at, entry.as_of) == (world.at, days[member_id])
        (member,) = [m for m in after.members if m.id == member_id]
        assert member.anonymized_at == world.at

    watch = {"request_deadline_near", "request_overdue"}
    for member in before.members:
        if member.id in done_members:
            continue
        was, now = records_of(before, member.id), records_of(after, member.id)
        for name in set(was) - {"reminders", "outbox", "erasure_requests"}:
            assert now[name] == was[name], (member.id, name)
        for old in was["erasure_requests"]:
            (new,) = [r for r in now["erasure_requests"] if r.id == old.id]
            marks = ("reminded_near_deadline", "reminded_overdue", "refusal_noticed_at")
            assert attrs.evolve(new, **{k: getattr(old, k) for k in marks}) == old
            assert old.is_open or new == old
        for reminder in new_records(was["reminders"], now["reminders"]):
            assert reminder.kind in watch
            assert reminder.request_id in opened
        for message in new_records(was["outbox"], now["outbox"]):
            assert notice_kind(message) is NoticeKind.REFUSED
            assert message.request_id in opened
        assert set(was["reminders"]) <= set(now["reminders"])
        assert set(was["outbox"]) <= set(now["outbox"])


@given(
    world=request_worlds(kinds=("process", "process", "advance", "advance", "receive", "extend"))
)
@with_stores
def test_no_open_request_past_its_deadline_without_a_refused_notice(
    make_store: MakeStore, world: RequestWorld
) -> None:
    """Once a run judged an open request on or after the day before its deadline, it has its notice.

    That run (or an earlier one) wrote the ``refused`` notice and marked the
    request; no run writes it twice.
    """
    due: set[str] = set()
    for done in live(make_store, world):
        if isinstance(done.result, ProcessReport):
            for r in done.before.erasure_requests:
                if r.is_open and done.days[r.member_id] >= r.current_deadline - dt.timedelta(
                    days=1
                ):
                    due.add(r.id)
            refused = Counter(
                m.request_id
                for m in new_records(done.before.outbox, done.after.outbox)
                if notice_kind(m) is NoticeKind.REFUSED
            )
            already = {r.id for r in done.before.erasure_requests if r.refusal_noticed_at}
            assert all(n == 1 for n in refused.values()), refused
            assert already.isdisjoint(refused)
        noticed = {m.request_id for m in done.after.outbox if notice_kind(m) is NoticeKind.REFUSED}
        for r in done.after.erasure_requests:
            if r.is_open and r.id in due:
                event("an open request past the day before its deadline")
                assert r.id in noticed
                assert r.refusal_noticed_at is not None


@given(
    world=request_worlds(
        kinds=("withdraw", "reject", "process", "receive", "advance"), open_request=True
    )
)
@with_stores
def test_withdrawn_and_rejected_requests_are_never_carried_out(
    make_store: MakeStore, world: RequestWorld
) -> None:
    """A withdrawn or rejected request gets no anonymization, event or ``completed`` notice.

    A processing run anonymizes only members who had an open request when it
    started, and completes only requests that were open then.
    """
    for done in live(make_store, world):
        ended = {
            r.id
            for r in done.after.erasure_requests
            if r.status in (RequestStatus.WITHDRAWN, RequestStatus.REJECTED)
        }
        for message in new_records(done.before.outbox, done.after.outbox):
            if message.request_id in ended:
                assert not is_event(message)
                assert notice_kind(message) is not NoticeKind.COMPLETED
        for r in done.after.erasure_requests:
            if r.id in ended:
                assert r.audit_entry_id is None
        if isinstance(done.result, ProcessReport):
            was_open = {r.id: r.member_id for r in done.before.erasure_requests if r.is_open}
            assert set(done.result.completed) <= set(was_open)
            for entry in new_records(done.before.audit, done.after.audit):
                assert entry.mode is AnonymizationMode.REQUEST
                assert entry.member_id in was_open.values()


@given(world=run_worlds())
@with_stores
def test_deferred_anonymization_leaves_the_manual_end_state(
    make_store: MakeStore, world: RunWorld
) -> None:
    """A processing run leaves what pressing "anonymize" on the same members, then a run, leaves.

    Generated ids, modes, actors and notices' texts aside.
    """
    clock = FixedClock(world.at)
    by_run = open_store(make_store, world.dataset)
    report = RequestProcessor(by_run.unit_of_work, clock=clock, batch_size=world.batch_size).run(
        as_of=world.as_of
    )
    by_hand = open_store(make_store, world.dataset)
    anonymizer = Anonymizer(by_hand.unit_of_work, clock=clock)
    members = {r.id: r.member_id for r in world.dataset.erasure_requests}
    for request_id in report.completed:
        member_id = members[request_id]
        day = member_day(world.dataset, member_id, world.at, world.as_of)
        assert isinstance(anonymizer.anonymize(member_id, actor=DESK_ID, as_of=day), Anonymized)
    then = RequestProcessor(by_hand.unit_of_work, clock=clock, batch_size=world.batch_size).run(
        as_of=world.as_of
    )
    event(f"anonymized {len(report.completed)}")
    assert then.completed == ()
    assert then.still_open == report.still_open
    assert then.reminders == report.reminders
    deferred, manual = by_run.snapshot(), by_hand.snapshot()
    assert comparable(deferred) == comparable(manual)
    made = new_records(world.dataset.audit, deferred.audit)
    assert {(a.mode, a.actor_id) for a in made} <= {(AnonymizationMode.REQUEST, None)}
    made = new_records(world.dataset.audit, manual.audit)
    assert {(a.mode, a.actor_id) for a in made} <= {(AnonymizationMode.MANUAL, DESK_ID)}


@given(
    world=request_worlds(
        kinds=("receive", "receive", "anonymize", "sweep", "process", "advance"), max_steps=7
    )
)
@with_stores
def test_exactly_one_member_anonymized_event_per_anonymization(
    make_store: MakeStore, world: RequestWorld
) -> None:
    """Manual, retention and request anonymizations each write exactly one event, in step.

    The event names the member, the mode, the instant of the audit entry and
    the request that anonymization completed (if any).
    """
    for done in live(make_store, world):
        entries = [
            a
            for a in new_records(done.before.audit, done.after.audit)
            if a.action is AuditAction.ANONYMIZE
        ]
        events = [m for m in new_records(done.before.outbox, done.after.outbox) if is_event(m)]
        completing = {r.audit_entry_id: r.id for r in done.after.erasure_requests}
        expected = Counter(
            (a.member_id, a.mode, a.at.timestamp(), completing.get(a.id)) for a in entries
        )
        found = Counter(
            (m.member_id, m.mode, m.created_at.timestamp(), m.request_id) for m in events
        )
        assert found == expected
        for a in entries:
            event(f"anonymized by {a.mode}")
        everyone = Counter(a.member_id for a in done.after.audit if a.is_anonymization)
        assert Counter(m.member_id for m in done.after.outbox if is_event(m)) == everyone


# ------------------------------------------------------------------------- failures


@st.composite
def receptions(draw: st.DrawFn) -> tuple[Dataset, dt.datetime, str]:
    """A small network, the clock, and a member without an open request (mostly eligible)."""
    dataset = with_desk(draw(datasets(max_members=2, requests=True, fresh_member=True)))
    dataset = with_refusal_notices(dataset)
    at = draw(clock_instants(dataset))
    holders = {r.member_id for r in dataset.erasure_requests if r.is_open}
    candidates = [m.id for m in dataset.members if m.id not in holders]
    member_id = draw(st.sampled_from(candidates or [m.id for m in dataset.members]))
    (member,) = [m for m in dataset.members if m.id == member_id]
    if member.anonymized_at is None and draw(st.integers(0, 3)) > 0:
        dataset = eligible_variant(dataset, member_id, home_club_date(dataset, member_id, at))
    return dataset, at, member_id


def _test_a_failure_at_any_call_changes_nothing(
    make_store: MakeStore, case: tuple[Dataset, dt.datetime, str]
) -> None:
    """Receiving with ``anonymize``: whichever repository call fails, nothing changes.

    Neither the anonymization, nor its event, nor the request or its notices
    and reminders are written; the store then gives the undisturbed answer.
    """
    dataset, at, member_id = case

    def receive(store: Store) -> Any:
        desk = RequestDesk(store.unit_of_work, clock=FixedClock(at), options=options(counter_ids()))
        return desk.receive(member_id, actor=DESK_ID, anonymize=True)

    probe = open_store(make_store, dataset)
    original = probe.snapshot()
    start = len(probe.calls)
    expected = receive(probe)
    calls = len(probe.calls) - start
    expected_end = probe.snapshot()
    assert isinstance(expected, RequestReceived | RequestCompleted | RequestAlreadyOpen)
    event(f"receive: {expected.status}")
    for k in range(1, calls + 1):
        store = open_store(make_store, dataset)
        store.fail_on_call(k)
        with pytest.raises(InjectedFailure):
            receive(store)
        store.heal()
        assert store.snapshot() == original, f"call {k} of {calls} left changes"
        assert receive(store) == expected
        assert store.snapshot() == expected_end


@given(case=receptions())
@with_stores
@pytest.mark.parametrize("make_store", LOCAL_BACKENDS, indirect=True)
def test_a_failure_at_any_call_changes_nothing(
    make_store: MakeStore, case: tuple[Dataset, dt.datetime, str]
) -> None:
    """Receiving with ``anonymize``: whichever repository call fails, nothing changes."""
    _test_a_failure_at_any_call_changes_nothing(make_store, case)


@given(case=receptions())
@settings(with_stores, max_examples=FAULT_EXAMPLES_ON_POSTGRES)
@pytest.mark.parametrize("make_store", ["postgres"], indirect=True)
def test_a_failure_at_any_call_changes_nothing_on_postgres(
    make_store: MakeStore, case: tuple[Dataset, dt.datetime, str]
) -> None:
    """The same on PostgreSQL, with fewer examples (each one fails every call in turn)."""
    _test_a_failure_at_any_call_changes_nothing(make_store, case)


def assert_whole(before: Dataset, after: Dataset, undisturbed: Dataset) -> None:
    """Each member with an open request is either as before or as the undisturbed run left them."""
    for request in before.erasure_requests:
        if request.is_open:
            view = member_view(after, request.member_id)
            assert view in (
                member_view(before, request.member_id),
                member_view(undisturbed, request.member_id),
            ), request.member_id


def _test_a_failure_at_any_call_of_a_processing_run_is_retried_or_left_whole(
    make_store: MakeStore, world: RunWorld
) -> None:
    """One failing repository call anywhere in a processing run.

    The rule proved: when the failing call belongs to a batch's unit of work,
    that unit is rolled back and its requests are retried one at a time, so
    the run does not raise and ends exactly as an undisturbed run (same
    report, same content, generated ids aside). Otherwise the failing call
    read the clubs or a page of open requests before any change of its batch:
    the run raises, each member is either untouched or completely processed
    (anonymization, audit entry, event, completed request and notice together),
    and a second run ends as the undisturbed one.
    """

    def run(store: Store) -> ProcessReport:
        processor = RequestProcessor(
            store.unit_of_work,
            clock=FixedClock(world.at),
            options=options(counter_ids()),
            batch_size=world.batch_size,
        )
        return processor.run(as_of=world.as_of)

    probe = open_store(make_store, world.dataset)
    before = probe.snapshot()
    start = len(probe.calls)
    expected = run(probe)
    names = probe.calls[start:]
    undisturbed = probe.snapshot()
    for k, name in enumerate(names, start=1):
        store = open_store(make_store, world.dataset)
        store.fail_on_call(k)
        try:
            report = run(store)
        except InjectedFailure:
            store.heal()
            assert name in ("clubs.network_clubs", "requests.open_requests"), name
            assert_whole(before, store.snapshot(), undisturbed)
            run(store)
            event("raised, then finished by a second run")
        else:
            store.heal()
            assert report == expected, f"call {k} ({name})"
            event("retried")
        assert comparable(store.snapshot()) == comparable(undisturbed), f"call {k} ({name})"


@given(world=run_worlds(max_members=2))
@with_stores
@pytest.mark.parametrize("make_store", LOCAL_BACKENDS, indirect=True)
def test_a_failure_at_any_call_of_a_processing_run_is_retried_or_left_whole(
    make_store: MakeStore, world: RunWorld
) -> None:
    """One failing repository call anywhere in a processing run."""
    _test_a_failure_at_any_call_of_a_processing_run_is_retried_or_left_whole(make_store, world)


@given(world=run_worlds(max_members=2))
@settings(with_stores, max_examples=FAULT_EXAMPLES_ON_POSTGRES)
@pytest.mark.parametrize("make_store", ["postgres"], indirect=True)
def test_a_failure_at_any_call_of_a_processing_run_is_retried_or_left_whole_on_postgres(
    make_store: MakeStore, world: RunWorld
) -> None:
    """The same on PostgreSQL, with fewer examples (each one fails every call in turn)."""
    _test_a_failure_at_any_call_of_a_processing_run_is_retried_or_left_whole(make_store, world)


def _test_a_request_whose_unit_keeps_failing_is_left_as_it_was(
    make_store: MakeStore, world: RunWorld
) -> None:
    """A repository method that always fails: the requests it fails are reported and untouched.

    The rule proved: a processing run retries a failed batch one request at a
    time; every request whose own unit of work still fails is reported in
    ``errors`` and its member keeps every record exactly as before (no
    anonymization, event, notice, reminder or request change); every other
    request ends as in an undisturbed run. Only a failure to read the clubs
    or the first page of open requests stops the run, before any change.
    """

    def run(factory: Callable[[], Any]) -> ProcessReport:
        processor = RequestProcessor(
            factory, clock=FixedClock(world.at), batch_size=world.batch_size
        )
        return processor.run(as_of=world.as_of)

    probe = open_store(make_store, world.dataset)
    before = probe.snapshot()
    spy = FaultInjector(probe.unit_of_work)
    expected = run(spy)
    undisturbed = probe.snapshot()
    opened = {r.id: r.member_id for r in before.erasure_requests if r.is_open}
    for name in sorted(set(spy.calls)):
        store = open_store(make_store, world.dataset)
        injector = FaultInjector(store.unit_of_work)
        injector.fail_on(name)
        try:
            report = run(injector)
        except InjectedFailure:
            assert name in ("clubs.network_clubs", "requests.open_requests"), name
            assert store.snapshot() == before
            continue
        after = store.snapshot()
        failed = {request_id for request_id, _ in report.errors}
        assert {error for _, error in report.errors} <= {"InjectedFailure"}
        assert failed <= set(opened)
        assert set(report.completed) == set(expected.completed) - failed
        assert {o.request_id for o in report.still_open} == {
            o.request_id for o in expected.still_open
        } - failed
        for request_id, member_id in opened.items():
            source = before if request_id in failed else undisturbed
            assert member_view(after, member_id) == member_view(source, member_id), (
                name,
                request_id,
            )
        event(f"failing {name}: {len(failed)} of {len(opened)} failed")


@given(world=run_worlds(max_members=2))
@with_stores
@pytest.mark.parametrize("make_store", LOCAL_BACKENDS, indirect=True)
def test_a_request_whose_unit_keeps_failing_is_left_as_it_was(
    make_store: MakeStore, world: RunWorld
) -> None:
    """A repository method that always fails: the requests it fails are reported and untouched."""
    _test_a_request_whose_unit_keeps_failing_is_left_as_it_was(make_store, world)


@given(world=run_worlds(max_members=2))
@settings(with_stores, max_examples=FAULT_EXAMPLES_ON_POSTGRES)
@pytest.mark.parametrize("make_store", ["postgres"], indirect=True)
def test_a_request_whose_unit_keeps_failing_is_left_as_it_was_on_postgres(
    make_store: MakeStore, world: RunWorld
) -> None:
    """The same on PostgreSQL, with fewer examples (each one fails every call in turn)."""
    _test_a_request_whose_unit_keeps_failing_is_left_as_it_was(make_store, world)

"""A club's life over simulated days, erasure requests included, checked after every step."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from member_anonymization import AnonymizationOptions, Anonymized, Anonymizer
from member_anonymization.domain import (
    AnonymizationMode,
    AuditAction,
    CollectionCase,
    Contract,
    ErasureRequest,
    ExtensionReason,
    Installment,
    Network,
    NoticeKind,
    OutboxKind,
    OutboxMessage,
    Permission,
    Purchase,
    RejectionReason,
    RequestStatus,
    Wallet,
)
from member_anonymization.domain.calendar import add_months
from member_anonymization.erasure import (
    RequestAlreadyOpen,
    RequestCompleted,
    RequestDesk,
    RequestExtended,
    RequestNotPermitted,
    RequestProcessor,
    RequestReceived,
    RequestRejected,
    RequestUnchanged,
    RequestWithdrawn,
)
from member_anonymization.serialization import Dataset, unstructure_dataset
from member_anonymization.testing import FixedClock, InMemoryStore
from tests.oracle import expected_for, expected_outcome, home_club_date
from tests.stats import statistics
from tests.strategies import (
    DESK_ID,
    TODAY,
    Attempt,
    Traces,
    as_of_days,
    datasets,
    days,
    earliest_today,
    eligible_variant,
    find_traces,
    instants,
    member_day,
    money,
    with_desk,
)

PICK = st.integers(min_value=0, max_value=63)
"""An index into whatever list a rule picks from (taken modulo its length)."""

OFFSET = st.integers(min_value=0, max_value=500)

ACTOR = st.integers(0, 3).flatmap(lambda n: st.none() if n else PICK)
"""The employee of a desk step: mostly ``None``, the front desk (every permission); else any."""

OPEN_ONLY = st.integers(0, 3).map(bool)
"""Mostly pick among the open requests (when there are)."""

TIMES_OF_DAY = st.sampled_from(
    tuple(dt.time(h, m, tzinfo=dt.UTC) for h, m in ((12, 0), (23, 30), (0, 30), (10, 15)))
)
"""The simulated clock's time of day (UTC): the local date is often the day after or before."""

RECEIVED_AGO = (
    st.none()
    | st.sampled_from((dt.timedelta(0), dt.timedelta(days=1), dt.timedelta(days=31)))
    | st.integers(0, 40 * 86_400).map(lambda s: dt.timedelta(seconds=s))
)
"""How long before now a request reached the club (``None``: now)."""

MAX_DAYS_AHEAD = 40
"""The most days one step of simulated time moves on."""


def _pick(records: tuple[Any, ...] | list[Any], index: int) -> Any:
    return records[index % len(records)]


def _local_date(data: Dataset, club_id: str, at: dt.datetime) -> dt.date:
    """The club's calendar date at ``at``."""
    (club,) = [c for c in data.clubs if c.id == club_id]
    return club.local_date(at)


def _notice_kind(message: OutboxMessage) -> NoticeKind | None:
    """The kind of a notice (``None`` for a ``member_anonymized`` event)."""
    return None if message.notice is None else message.notice.kind


def _new(before: tuple[Any, ...], after: tuple[Any, ...]) -> list[Any]:
    """The records of ``after`` whose id ``before`` does not hold."""
    known = {r.id for r in before}
    return [r for r in after if r.id not in known]


class ClubLife(RuleBasedStateMachine):
    """Contracts, payments, wallets, collection cases, anonymizations and erasure requests.

    Everything happens on a simulated clock that only moves forward, a day to
    :data:`MAX_DAYS_AHEAD` days at a time: requests are received, extended,
    withdrawn and rejected at the desk, and the daily processing run carries
    them out once nothing blocks.
    """

    def __init__(self) -> None:
        super().__init__()
        self.store = InMemoryStore(Dataset(network=Network(id="net-1", name="Network")))
        self.clock = FixedClock(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))
        self.initial: dict[str, Any] = {}
        self.initial_statistics = statistics(self.store.snapshot())
        self.traces: dict[str, Traces] = {}
        self.anonymized: set[str] = set()
        self.initially_anonymized: frozenset[str] = frozenset()
        self.closed: dict[str, ErasureRequest] = {}
        self.due: set[str] = set()
        self.serial = itertools.count(1)
        self._seen: tuple[InMemoryStore, int] | None = None
        self._traced: Dataset | None = None
        self._snapshot = self.store.snapshot()

    # ------------------------------------------------------------------ helpers

    def _data(self) -> Dataset:
        """The store's committed content (read again only after a commit or a new store)."""
        seen = (self.store, self.store.commits)
        if self._seen != seen:
            self._seen, self._snapshot = seen, self.store.snapshot()
        return self._snapshot

    def _edit(self, **changes: Any) -> None:
        """Replace collections of the store's content (what the host's other screens do)."""
        self.store = InMemoryStore(attrs.evolve(self._data(), **changes).sorted())

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}s{next(self.serial)}"

    def _options(self, *, delete_all_notes: bool = False) -> AnonymizationOptions:
        """The services' options, with ids from this machine's counter.

        Random ids would order the requests differently in every run of the
        same steps, and the rules pick requests by their position.
        """
        return AnonymizationOptions(
            delete_all_notes=delete_all_notes, id_factory=lambda: self._new_id("gen")
        )

    def _today(self) -> dt.date:
        """The simulated day (UTC)."""
        return self.clock.at.astimezone(dt.UTC).date()

    def _desk(self) -> RequestDesk:
        return RequestDesk(self.store.unit_of_work, clock=self.clock, options=self._options())

    def _actor(self, data: Dataset, actor: int | None) -> str:
        return DESK_ID if actor is None else _pick(data.employees, actor).id

    def _may(self, data: Dataset, actor_id: str, permission: Permission) -> bool:
        (employee,) = [e for e in data.employees if e.id == actor_id]
        return permission in employee.permissions

    def _request(self, data: Dataset, index: int, open_only: bool) -> ErasureRequest:
        requests = list(data.erasure_requests)
        if open_only:
            requests = [r for r in requests if r.is_open] or requests
        return _pick(requests, index)  # type: ignore[no-any-return]

    def _target_days(self, today: dt.date, aim: str) -> list[dt.date]:
        """Days ahead worth landing on: deadlines, month ends, or the ends of blocking contracts.

        Deadlines (the first and the one in force) and contract ends come with
        the day before and the day after.
        """
        data = self._data()
        last = today + dt.timedelta(days=MAX_DAYS_AHEAD)
        opened = [r for r in data.erasure_requests if r.is_open]
        if aim == "month_end":
            ahead = (today + dt.timedelta(days=n) for n in range(1, MAX_DAYS_AHEAD + 1))
            return [d for d in ahead if d.day >= 28 or d.day == 1]
        if aim == "deadline":
            edges = [d for r in opened for d in (r.deadline, r.current_deadline)]
        else:
            holders = {r.member_id for r in opened}
            edges = [
                d
                for k in data.contracts
                if k.member_id in holders
                for d in (k.end, k.terminated_on)
                if d is not None
            ]
        found = {d + dt.timedelta(days=shift) for d in edges for shift in (-1, 0, 1)}
        return sorted(d for d in found if today < d <= last)

    # -------------------------------------------------------------------- rules

    @initialize(
        dataset=datasets(max_members=5),
        time_of_day=TIMES_OF_DAY,
        asked=st.lists(st.tuples(PICK, RECEIVED_AGO), min_size=1, max_size=3),
    )
    def load(
        self,
        dataset: Dataset,
        time_of_day: dt.time,
        asked: list[tuple[int, dt.timedelta | None]],
    ) -> None:
        """Start on the day TODAY from a random network where some members asked to be forgotten."""
        self.store = InMemoryStore(with_desk(dataset))
        self.clock = FixedClock(dt.datetime.combine(TODAY, time_of_day))
        data = self._data()
        now = self.clock.now()
        fresh = [m.id for m in data.members if m.anonymized_at is None]
        for member, ago in asked if fresh else ():
            received_at = None if ago is None else now - ago
            self._desk().receive(_pick(fresh, member), actor=DESK_ID, received_at=received_at)
        data = self._data()
        self.initial = unstructure_dataset(data)
        self.initial_statistics = statistics(data)
        self.traces = {m.id: Traces.of(m) for m in data.members if m.anonymized_at is None}
        self.initially_anonymized = frozenset(
            m.id for m in data.members if m.anonymized_at is not None
        )

    @rule(
        member=PICK,
        club=PICK,
        when=st.sampled_from(("past", "current", "future")),
        offset=OFFSET,
        length=st.none() | st.integers(0, 400),
        installment_count=st.integers(0, 2),
    )
    def sign_contract(
        self,
        member: int,
        club: int,
        when: str,
        offset: int,
        length: int | None,
        installment_count: int,
    ) -> None:
        """Sign a past, current or future contract (from the simulated day), with installments."""
        data = self._data()
        member_id = _pick(data.members, member).id
        club_id = _pick(data.clubs, club).id
        span = dt.timedelta(days=length if length is not None else 30)
        today = self._today()
        if when == "past":
            start = today - dt.timedelta(days=offset + 1) - span
            end: dt.date | None = start + span
        elif when == "current":
            start = today - dt.timedelta(days=offset)
            end = None if length is None else today + span
        else:
            start = today + dt.timedelta(days=offset + 1)
            end = None if length is None else start + span
        contract = Contract(
            id=self._new_id("k"),
            member_id=member_id,
            club_id=club_id,
            name="Open 12M",
            start=start,
            end=end,
        )
        plan = tuple(
            Installment(
                id=self._new_id("i"),
                member_id=member_id,
                club_id=club_id,
                contract_id=contract.id,
                due_on=start + dt.timedelta(days=30 * n),
                amount=Decimal("129.00"),
                currency="PLN",
            )
            for n in range(installment_count)
        )
        self._edit(contracts=(*data.contracts, contract), installments=(*data.installments, *plan))

    @precondition(lambda self: self._data().contracts)
    @rule(contract=PICK, offset=OFFSET)
    def terminate_contract(self, contract: int, offset: int) -> None:
        """Terminate a contract early (on or after its start)."""
        data = self._data()
        chosen = _pick(data.contracts, contract)
        changed = attrs.evolve(chosen, terminated_on=chosen.start + dt.timedelta(days=offset))
        self._edit(contracts=tuple(changed if k is chosen else k for k in data.contracts))

    @precondition(lambda self: self._data().contracts)
    @rule(contract=PICK)
    def cancel_contract(self, contract: int) -> None:
        """Cancel a contract: terminated before its start."""
        data = self._data()
        chosen = _pick(data.contracts, contract)
        changed = attrs.evolve(chosen, terminated_on=chosen.start - dt.timedelta(days=1))
        self._edit(contracts=tuple(changed if k is chosen else k for k in data.contracts))

    @precondition(lambda self: self._data().installments)
    @rule(installment=PICK, delay=st.integers(-10, 90))
    def pay_installment(self, installment: int, delay: int) -> None:
        """Pay an installment, early or late."""
        data = self._data()
        chosen = _pick(data.installments, installment)
        changed = attrs.evolve(chosen, paid_on=chosen.due_on + dt.timedelta(days=delay))
        self._edit(installments=tuple(changed if i is chosen else i for i in data.installments))

    def _move_wallet(self, member: int, amount: Decimal) -> None:
        data = self._data()
        member_id = _pick(data.members, member).id
        wallet = next((w for w in data.wallets if w.member_id == member_id), None)
        others = tuple(w for w in data.wallets if w.member_id != member_id)
        if wallet is None:
            wallet = Wallet(member_id=member_id, balance=Decimal("0.00"), currency="PLN")
        self._edit(wallets=(*others, attrs.evolve(wallet, balance=wallet.balance + amount)))

    @rule(member=PICK, amount=money(1, 20_000))
    def top_up_wallet(self, member: int, amount: Decimal) -> None:
        """Put money into a member's wallet."""
        self._move_wallet(member, amount)

    @rule(member=PICK, amount=money(1, 20_000))
    def spend_from_wallet(self, member: int, amount: Decimal) -> None:
        """Spend from a member's wallet (it may go below zero: a debt)."""
        self._move_wallet(member, -amount)

    @rule(member=PICK, club=PICK, opened_on=days())
    def open_collection_case(self, member: int, club: int, opened_on: dt.date) -> None:
        """Open a debt-collection case."""
        data = self._data()
        case = CollectionCase(
            id=self._new_id("w"),
            member_id=_pick(data.members, member).id,
            club_id=_pick(data.clubs, club).id,
            opened_on=opened_on,
        )
        self._edit(collection_cases=(*data.collection_cases, case))

    @precondition(lambda self: self._data().collection_cases)
    @rule(case=PICK, offset=OFFSET)
    def close_collection_case(self, case: int, offset: int) -> None:
        """Close a collection case."""
        data = self._data()
        chosen = _pick(data.collection_cases, case)
        changed = attrs.evolve(chosen, closed_on=chosen.opened_on + dt.timedelta(days=offset))
        self._edit(
            collection_cases=tuple(changed if c is chosen else c for c in data.collection_cases)
        )

    @rule(member=PICK)
    def toggle_restrict_processing(self, member: int) -> None:
        """Switch "restrict processing" on or off."""
        data = self._data()
        chosen = _pick(data.members, member)
        changed = attrs.evolve(chosen, restrict_processing=not chosen.restrict_processing)
        self._edit(members=tuple(changed if m is chosen else m for m in data.members))

    @rule(member=PICK, club=PICK, bought_at=instants(), amount=money(0, 5_000), paid=st.booleans())
    def add_purchase(
        self, member: int, club: int, bought_at: dt.datetime, amount: Decimal, paid: bool
    ) -> None:
        """Sell something at the desk, paid or not."""
        data = self._data()
        purchase = Purchase(
            id=self._new_id("p"),
            member_id=_pick(data.members, member).id,
            club_id=_pick(data.clubs, club).id,
            bought_at=bought_at,
            description="water",
            amount=amount,
            currency="PLN",
            paid=paid,
        )
        self._edit(purchases=(*data.purchases, purchase))

    @rule(member=PICK, actor=PICK, data=st.data(), delete_all_notes=st.booleans())
    def anonymize(
        self, member: int, actor: int, data: st.DataObject, delete_all_notes: bool
    ) -> None:
        """Press "anonymize" on a member as some employee."""
        self._anonymize(self._attempt(member, actor, data, delete_all_notes))

    @rule(member=PICK, actor=PICK, data=st.data(), delete_all_notes=st.booleans())
    def settle_then_anonymize(
        self, member: int, actor: int, data: st.DataObject, delete_all_notes: bool
    ) -> None:
        """Settle what blocks a member (end contracts, close cases ...), then anonymize."""
        attempt = self._attempt(member, actor, data, delete_all_notes)
        if attempt.member_id not in self.anonymized and attempt.member_id in self.traces:
            content = self._data()
            day = attempt.day(content)
            self.store = InMemoryStore(eligible_variant(content, attempt.member_id, day))
        self._anonymize(attempt)

    def _attempt(
        self, member: int, actor: int, data: st.DataObject, delete_all_notes: bool
    ) -> Attempt:
        """An attempt now on the picked member by the picked employee, often on a boundary date."""
        content = self._data()
        member_id = _pick(content.members, member).id
        at = self.clock.now()
        as_of = data.draw(st.none() | as_of_days(content, member_id), label="as_of")
        if as_of is not None:
            # Never dated later than the home club's today (the library refuses that).
            as_of = min(as_of, home_club_date(content, member_id, at))
        return Attempt(
            member_id=member_id,
            actor_id=_pick(content.employees, actor).id,
            as_of=as_of,
            at=at,
            delete_all_notes=delete_all_notes,
        )

    def _anonymize(self, attempt: Attempt) -> None:
        """Make the attempt; check its outcome and that a refusal changed nothing."""
        before = self._data()
        anonymizer = Anonymizer(
            self.store.unit_of_work,
            clock=FixedClock(attempt.at),
            options=self._options(delete_all_notes=attempt.delete_all_notes),
        )
        result = anonymizer.anonymize(
            attempt.member_id, actor=attempt.actor_id, as_of=attempt.as_of
        )
        after = self._data()
        expected = expected_outcome(
            before,
            member_id=attempt.member_id,
            actor_id=attempt.actor_id,
            as_of=attempt.day(before),
        )
        assert result.status == expected
        event(f"anonymize: {result.status}")
        if isinstance(result, Anonymized):
            self.anonymized.add(attempt.member_id)
            assert statistics(after) == statistics(before)
        else:
            assert after == before
            assert unstructure_dataset(after) == unstructure_dataset(before)

    # ------------------------------------------------------ erasure requests

    @rule(
        member=PICK,
        actor=ACTOR,
        club=st.none() | PICK,
        ago=RECEIVED_AGO,
        anonymize=st.integers(0, 2).map(lambda n: n == 0),
    )
    def receive_request(
        self,
        member: int,
        actor: int | None,
        club: int | None,
        ago: dt.timedelta | None,
        anonymize: bool,
    ) -> None:
        """A member asks to be forgotten, now or some days ago, at home or at another club."""
        before = self._data()
        member_id = _pick(before.members, member).id
        actor_id = self._actor(before, actor)
        now = self.clock.now()
        result = self._desk().receive(
            member_id,
            actor=actor_id,
            received_at=None if ago is None else now - ago,
            club_id=None if club is None else _pick(before.clubs, club).id,
            anonymize=anonymize,
        )
        after = self._data()
        event(f"receive: {result.status}")
        opened = [r for r in before.erasure_requests if r.is_open and r.member_id == member_id]
        permitted = self._may(before, actor_id, Permission.HANDLE_ERASURE_REQUESTS) and (
            not anonymize or self._may(before, actor_id, Permission.ANONYMIZE_MEMBER)
        )
        assert isinstance(result, RequestNotPermitted) == (not permitted)
        if isinstance(result, RequestNotPermitted):
            assert after == before
            return
        if opened:
            assert result == RequestAlreadyOpen(request=opened[0])
            assert after == before
            return
        assert not isinstance(result, RequestAlreadyOpen)
        (request,) = _new(before.erasure_requests, after.erasure_requests)
        assert request == result.request
        if member_id in {m.id for m in before.members if m.anonymized_at is not None}:
            assert isinstance(result, RequestCompleted)
            assert result.anonymized is None
            assert after.members == before.members
            return
        blockers = expected_for(before, member_id, home_club_date(before, member_id, now)).blockers
        assert set(result.eligibility.blocker_codes) == blockers
        if anonymize and not blockers:
            assert isinstance(result, RequestCompleted)
            assert result.anonymized is not None
            self.anonymized.add(member_id)
            assert statistics(after) == statistics(before)
        else:
            assert isinstance(result, RequestReceived)
            assert request.is_open
            assert after.members == before.members
            kinds = [_notice_kind(m) for m in _new(before.outbox, after.outbox)]
            assert kinds == [NoticeKind.RECEIVED]

    @precondition(lambda self: self._data().erasure_requests)
    @rule(
        request=PICK,
        open_only=OPEN_ONLY,
        actor=ACTOR,
        reason=st.sampled_from(ExtensionReason),
        days=st.none() | st.integers(1, 92),
    )
    def extend_request(
        self,
        request: int,
        open_only: bool,
        actor: int | None,
        reason: ExtensionReason,
        days: int | None,
    ) -> None:
        """Staff extend a request's deadline (once, with a reason)."""
        before = self._data()
        chosen = self._request(before, request, open_only)
        actor_id = self._actor(before, actor)
        until = None
        if days is not None:
            until = min(
                chosen.deadline + dt.timedelta(days=days), add_months(chosen.received_on, 3)
            )
        result = self._desk().extend(chosen.id, actor=actor_id, reason=reason, until=until)
        after = self._data()
        event(f"extend: {result.status}")
        day = _local_date(before, chosen.club_id, self.clock.now())
        refusal = (
            "closed"
            if chosen.status is not RequestStatus.OPEN
            else "already_extended"
            if chosen.extension is not None
            else "deadline_passed"
            if day > chosen.deadline
            else None
        )
        if not self._may(before, actor_id, Permission.HANDLE_ERASURE_REQUESTS):
            assert isinstance(result, RequestNotPermitted)
        elif refusal is not None:
            assert result == RequestUnchanged(request=chosen, reason=refusal)  # type: ignore[arg-type]
        else:
            assert isinstance(result, RequestExtended)
            extension = result.request.extension
            assert extension is not None
            latest = add_months(chosen.received_on, 3)
            assert extension.deadline == (latest if until is None else until)
            assert chosen.deadline < extension.deadline <= latest
            assert (extension.reason, extension.by, extension.at) == (
                reason,
                actor_id,
                self.clock.now(),
            )
            assert result.request == attrs.evolve(chosen, extension=extension)
            assert {r.id: r for r in after.erasure_requests}[chosen.id] == result.request
            assert after.members == before.members
            kinds = [_notice_kind(m) for m in _new(before.outbox, after.outbox)]
            assert kinds == [NoticeKind.EXTENDED]
            return
        assert after == before

    @precondition(lambda self: self._data().erasure_requests)
    @rule(request=PICK, open_only=OPEN_ONLY, actor=ACTOR)
    def withdraw_request(self, request: int, open_only: bool, actor: int | None) -> None:
        """The member withdraws a request."""
        self._close(request, open_only, actor, None)

    @precondition(lambda self: self._data().erasure_requests)
    @rule(
        request=PICK,
        open_only=OPEN_ONLY,
        actor=ACTOR,
        reason=st.sampled_from(RejectionReason),
    )
    def reject_request(
        self, request: int, open_only: bool, actor: int | None, reason: RejectionReason
    ) -> None:
        """Staff reject a request with a reason."""
        self._close(request, open_only, actor, reason)

    def _close(
        self, request: int, open_only: bool, actor: int | None, reason: RejectionReason | None
    ) -> None:
        """Withdraw (no reason) or reject the picked request; check what changed."""
        before = self._data()
        chosen = self._request(before, request, open_only)
        actor_id = self._actor(before, actor)
        desk = self._desk()
        if reason is None:
            result = desk.withdraw(chosen.id, actor=actor_id)
        else:
            result = desk.reject(chosen.id, actor=actor_id, reason=reason)
        after = self._data()
        event(f"{'withdraw' if reason is None else 'reject'}: {result.status}")
        if not self._may(before, actor_id, Permission.HANDLE_ERASURE_REQUESTS):
            assert isinstance(result, RequestNotPermitted)
        elif chosen.status is not RequestStatus.OPEN:
            assert result == RequestUnchanged(request=chosen, reason="closed")
        else:
            status = RequestStatus.WITHDRAWN if reason is None else RequestStatus.REJECTED
            expected = attrs.evolve(
                chosen,
                status=status,
                closed_at=self.clock.now(),
                closed_by=actor_id,
                rejection_reason=reason,
            )
            assert isinstance(result, RequestWithdrawn if reason is None else RequestRejected)
            assert result.request == expected
            assert {r.id: r for r in after.erasure_requests}[chosen.id] == expected
            assert (after.members, after.audit) == (before.members, before.audit)
            kinds = [_notice_kind(m) for m in _new(before.outbox, after.outbox)]
            assert kinds == ([] if reason is None else [NoticeKind.REJECTED])
            return
        assert after == before

    @rule(member=PICK, then_anonymize=st.booleans(), delete_all_notes=st.booleans())
    def settle(self, member: int, then_anonymize: bool, delete_all_notes: bool) -> None:
        """Staff clear what blocks a member who asked to be forgotten; the run or the desk erases.

        With ``then_anonymize`` the front desk presses "anonymize" at once, which
        completes the open request; otherwise the next processing run does.
        """
        data = self._data()
        holders = sorted({r.member_id for r in data.erasure_requests if r.is_open})
        fresh = [m.id for m in data.members if m.anonymized_at is None]
        candidates = holders or fresh
        if not candidates:
            return
        member_id = _pick(candidates, member)
        now = self.clock.now()
        self.store = InMemoryStore(
            eligible_variant(data, member_id, home_club_date(data, member_id, now)).sorted()
        )
        if then_anonymize:
            self._anonymize(
                Attempt(
                    member_id=member_id,
                    actor_id=DESK_ID,
                    as_of=None,
                    at=now,
                    delete_all_notes=delete_all_notes,
                )
            )

    @rule(days_back=st.none() | st.sampled_from((0, 1, 3)), batch_size=st.sampled_from((1, 200)))
    def process_requests(self, days_back: int | None, batch_size: int) -> None:
        """A processing run now (a second one that day, or one dated a few days back)."""
        self._process(days_back, batch_size)

    @rule(
        aim=st.sampled_from(("month_end", "contract_end", "any")),
        pick=PICK,
        days=st.integers(1, MAX_DAYS_AHEAD),
        time=TIMES_OF_DAY,
        run=st.integers(0, 3).map(bool),
    )
    def next_days(self, aim: str, pick: int, days: int, time: dt.time, run: bool) -> None:
        """Days pass (1 to 40, often to a month's end or a contract's end), then mostly a run."""
        self._days_pass(aim, pick, days, time, run)

    @precondition(lambda self: any(r.is_open for r in self._data().erasure_requests))
    @rule(pick=PICK, days=st.integers(1, MAX_DAYS_AHEAD), time=TIMES_OF_DAY, run=st.booleans())
    def to_a_deadline(self, pick: int, days: int, time: dt.time, run: bool) -> None:
        """Days pass to an open request's deadline, the day before or the day after; a run."""
        self._days_pass("deadline", pick, days, time, run)

    def _days_pass(self, aim: str, pick: int, days: int, time: dt.time, run: bool) -> None:
        """Move the clock on to a day of ``aim`` (any day when there is none); maybe a run."""
        today = self._today()
        targets = [] if aim == "any" else self._target_days(today, aim)
        day = _pick(targets, pick) if targets else today + dt.timedelta(days=days)
        self.clock.at = dt.datetime.combine(day, time)
        event(f"days pass: to {aim if targets else 'any'} day")
        if run:
            self._process(None, 200)

    def _process(self, days_back: int | None, batch_size: int) -> None:
        """Run the processing; check it against the oracle and note the requests now due."""
        before = self._data()
        now = self.clock.now()
        as_of = None if days_back is None else earliest_today(before, now) - dt.timedelta(days_back)
        processor = RequestProcessor(
            self.store.unit_of_work,
            clock=self.clock,
            options=self._options(),
            batch_size=batch_size,
        )
        report = processor.run(as_of=as_of)
        after = self._data()
        opened = [r for r in before.erasure_requests if r.is_open]
        on = {r.id: member_day(before, r.member_id, now, as_of) for r in opened}
        eligible = {
            r.id for r in opened if not expected_for(before, r.member_id, on[r.id]).blockers
        }
        event(
            "process: "
            + ("completing some" if eligible else "completing none" if opened else "nothing open")
        )
        assert (report.errors, report.held_elsewhere) == ((), ())
        assert set(report.completed) == eligible
        assert {o.request_id for o in report.still_open} == {r.id for r in opened} - eligible
        done = {r.member_id for r in opened if r.id in eligible}
        self.anonymized |= done
        self.due |= {
            r.id
            for r in opened
            if r.id not in eligible and on[r.id] >= r.current_deadline - dt.timedelta(days=1)
        }
        if done:
            assert statistics(after) == statistics(before)
        else:
            assert (after.members, after.audit) == (before.members, before.audit)
        if any(_notice_kind(m) is NoticeKind.REFUSED for m in _new(before.outbox, after.outbox)):
            event("process: a refused notice")

    # --------------------------------------------------------------- invariants

    @invariant()
    def invoices_and_receipts_unchanged(self) -> None:
        """Invoices and receipts are exactly as at the start."""
        data = self._data()
        accounting = Dataset(network=data.network, invoices=data.invoices, receipts=data.receipts)
        now = unstructure_dataset(accounting)
        assert now["invoices"] == self.initial["invoices"]
        assert now["receipts"] == self.initial["receipts"]

    @invariant()
    def anonymized_members_hold_no_personal_value(self) -> None:
        """No original personal value of an anonymized member survives outside accounting."""
        data = self._data()
        if data is self._traced:
            return  # nothing changed since the last search
        for member_id in sorted(self.anonymized):
            assert find_traces(data, self.traces[member_id]) == []
        self._traced = data

    @invariant()
    def visits_and_attendance_unchanged(self) -> None:
        """Visit and class-attendance statistics are exactly as at the start."""
        now = statistics(self._data())
        assert now.visits == self.initial_statistics.visits
        assert now.attendance == self.initial_statistics.attendance

    @invariant()
    def one_audit_entry_per_anonymized_member(self) -> None:
        """Every anonymized member has exactly one anonymization audit entry."""
        data = self._data()
        entries = Counter(a.member_id for a in data.audit if a.action is AuditAction.ANONYMIZE)
        assert entries == Counter(m.id for m in data.members if m.anonymized_at is not None)

    @invariant()
    def closed_requests_never_change(self) -> None:
        """A closed erasure request never changes afterwards."""
        now = {r.id: r for r in self._data().erasure_requests}
        assert {i: now.get(i) for i in self.closed} == self.closed
        self.closed.update({i: r for i, r in now.items() if not r.is_open})

    @invariant()
    def anonymized_members_have_no_open_request(self) -> None:
        """An anonymized member never has an open request; nobody has two."""
        data = self._data()
        anonymized = {m.id for m in data.members if m.anonymized_at is not None}
        holders = Counter(r.member_id for r in data.erasure_requests if r.is_open)
        assert anonymized.isdisjoint(holders)
        assert all(n == 1 for n in holders.values()), holders

    @invariant()
    def refused_notice_by_the_deadline(self) -> None:
        """No request stays open past its deadline without a ``refused`` notice, once due.

        Due: a run judged it open on or after the day before its deadline. The
        notice is written once per request, and exactly for the requests that
        record it.
        """
        data = self._data()
        refused = Counter(
            m.request_id
            for m in data.outbox
            if m.notice is not None and m.notice.kind is NoticeKind.REFUSED
        )
        assert all(n == 1 for n in refused.values()), refused
        noticed = {r.id for r in data.erasure_requests if r.refusal_noticed_at is not None}
        assert set(refused) == noticed
        still_due = {r.id for r in data.erasure_requests if r.is_open and r.id in self.due}
        assert still_due <= noticed

    @invariant()
    def withdrawn_and_rejected_requests_are_never_carried_out(self) -> None:
        """No anonymization, event or ``completed`` notice for a withdrawn or rejected request.

        Every anonymization of mode ``request`` completed a request.
        """
        data = self._data()
        ended = {
            r.id: r
            for r in data.erasure_requests
            if r.status in (RequestStatus.WITHDRAWN, RequestStatus.REJECTED)
        }
        assert all(r.audit_entry_id is None for r in ended.values())
        for message in data.outbox:
            if message.request_id in ended:
                assert message.kind is OutboxKind.NOTICE
                assert message.notice is not None
                assert message.notice.kind is not NoticeKind.COMPLETED
        completing = {r.audit_entry_id for r in data.erasure_requests}
        for entry in data.audit:
            if entry.is_anonymization and entry.mode is AnonymizationMode.REQUEST:
                assert entry.id in completing

    @invariant()
    def one_member_anonymized_event_per_anonymized_member(self) -> None:
        """Exactly one ``member_anonymized`` event per member anonymized here, as its audit says."""
        data = self._data()
        anonymized = {m.id for m in data.members if m.anonymized_at is not None}
        assert anonymized - self.initially_anonymized == self.anonymized
        events = [m for m in data.outbox if m.kind is OutboxKind.MEMBER_ANONYMIZED]
        assert Counter(m.member_id for m in events) == Counter(self.anonymized)
        entries = {a.member_id: a for a in data.audit if a.is_anonymization}
        completing = {r.audit_entry_id: r.id for r in data.erasure_requests if r.audit_entry_id}
        for message in events:
            entry = entries[message.member_id]
            assert (message.mode, message.created_at) == (entry.mode, entry.at)
            assert message.request_id == completing.get(entry.id)


ClubLife.TestCase.settings = settings(stateful_step_count=20)
TestClubLife = ClubLife.TestCase

"""A club's life interleaved with anonymizations, with the invariants checked after every step."""

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
    AuditAction,
    CollectionCase,
    Contract,
    Installment,
    Network,
    Purchase,
    Wallet,
)
from member_anonymization.serialization import Dataset, unstructure_dataset
from member_anonymization.testing import FixedClock, InMemoryStore
from tests.oracle import expected_outcome
from tests.stats import statistics
from tests.strategies import (
    TODAY,
    Attempt,
    Traces,
    as_of_days,
    datasets,
    days,
    eligible_variant,
    find_traces,
    home_club_date,
    instants,
    money,
)

PICK = st.integers(min_value=0, max_value=63)
"""An index into whatever list a rule picks from (taken modulo its length)."""

OFFSET = st.integers(min_value=0, max_value=500)


def _pick(records: tuple[Any, ...], index: int) -> Any:
    return records[index % len(records)]


class ClubLife(RuleBasedStateMachine):
    """Contracts, payments, wallets, collection cases and anonymizations, interleaved."""

    def __init__(self) -> None:
        super().__init__()
        self.store = InMemoryStore(Dataset(network=Network(id="net-1", name="Network")))
        self.initial: dict[str, Any] = {}
        self.initial_statistics = statistics(self.store.snapshot())
        self.traces: dict[str, Traces] = {}
        self.anonymized: set[str] = set()
        self.serial = itertools.count(1)

    # ------------------------------------------------------------------ helpers

    def _data(self) -> Dataset:
        return self.store.snapshot()

    def _edit(self, **changes: Any) -> None:
        """Replace collections of the store's content (what the host's other screens do)."""
        self.store = InMemoryStore(attrs.evolve(self._data(), **changes).sorted())

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}s{next(self.serial)}"

    # -------------------------------------------------------------------- rules

    @initialize(dataset=datasets(max_members=5))
    def load(self, dataset: Dataset) -> None:
        """Start from a random network."""
        self.store = InMemoryStore(dataset)
        data = self._data()
        self.initial = unstructure_dataset(data)
        self.initial_statistics = statistics(data)
        self.traces = {m.id: Traces.of(m) for m in data.members if m.anonymized_at is None}

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
        """Sign a past, current or future contract, with unpaid installments."""
        data = self._data()
        member_id = _pick(data.members, member).id
        club_id = _pick(data.clubs, club).id
        span = dt.timedelta(days=length if length is not None else 30)
        if when == "past":
            start = TODAY - dt.timedelta(days=offset + 1) - span
            end: dt.date | None = start + span
        elif when == "current":
            start = TODAY - dt.timedelta(days=offset)
            end = None if length is None else TODAY + span
        else:
            start = TODAY + dt.timedelta(days=offset + 1)
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

    @rule(member=PICK, actor=PICK, data=st.data(), at=instants(), delete_all_notes=st.booleans())
    def anonymize(
        self, member: int, actor: int, data: st.DataObject, at: dt.datetime, delete_all_notes: bool
    ) -> None:
        """Press "anonymize" on a member as some employee."""
        self._anonymize(self._attempt(member, actor, data, at, delete_all_notes))

    @rule(member=PICK, actor=PICK, data=st.data(), at=instants(), delete_all_notes=st.booleans())
    def settle_then_anonymize(
        self, member: int, actor: int, data: st.DataObject, at: dt.datetime, delete_all_notes: bool
    ) -> None:
        """Settle what blocks a member (end contracts, close cases ...), then anonymize."""
        attempt = self._attempt(member, actor, data, at, delete_all_notes)
        if attempt.member_id not in self.anonymized and attempt.member_id in self.traces:
            content = self._data()
            day = attempt.day(content)
            self.store = InMemoryStore(eligible_variant(content, attempt.member_id, day))
        self._anonymize(attempt)

    def _attempt(
        self, member: int, actor: int, data: st.DataObject, at: dt.datetime, delete_all_notes: bool
    ) -> Attempt:
        """An attempt on the picked member by the picked employee, often on a boundary date."""
        content = self._data()
        member_id = _pick(content.members, member).id
        as_of = data.draw(st.none() | as_of_days(content, member_id), label="as_of")
        if as_of is not None:
            # Never dated later than the home club's today: move the clock on.
            ahead = (as_of - home_club_date(content, member_id, at)).days
            if ahead > 0:
                at += dt.timedelta(days=ahead)
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
            options=AnonymizationOptions(delete_all_notes=attempt.delete_all_notes),
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

    # --------------------------------------------------------------- invariants

    @invariant()
    def invoices_and_receipts_unchanged(self) -> None:
        """Invoices and receipts are exactly as at the start."""
        now = unstructure_dataset(self._data())
        assert now["invoices"] == self.initial["invoices"]
        assert now["receipts"] == self.initial["receipts"]

    @invariant()
    def anonymized_members_hold_no_personal_value(self) -> None:
        """No original personal value of an anonymized member survives outside accounting."""
        data = self._data()
        for member_id in sorted(self.anonymized):
            assert find_traces(data, self.traces[member_id]) == []

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


ClubLife.TestCase.settings = settings(stateful_step_count=20)
TestClubLife = ClubLife.TestCase

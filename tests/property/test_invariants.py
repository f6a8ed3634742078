"""The invariants of anonymization, over random datasets and sequences of attempts.

Every test goes through ``make_store`` and the public services, so it runs on
every backend.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from member_anonymization import (
    AnonymizationOptions,
    AnonymizationResult,
    Anonymized,
    Anonymizer,
    PlaceholderScheme,
    Refused,
    generic_placeholder,
    random_placeholder,
)
from member_anonymization.domain import Club, Member, Network, NoteType, PersonalData
from member_anonymization.policy import MemberFacts, evaluate
from member_anonymization.serialization import COLLECTIONS, Dataset, unstructure_dataset
from member_anonymization.testing import FixedClock, InjectedFailure
from tests.backends import FAULT_EXAMPLES_ON_POSTGRES, LOCAL_BACKENDS, MakeStore, Store
from tests.oracle import expected_for, expected_outcome
from tests.stats import statistics
from tests.strategies import (
    Attempt,
    Traces,
    as_of_days,
    attempts,
    boundary_days,
    datasets,
    days,
    find_traces,
    instants,
    permitted_actors,
    scenarios,
)

Scenario = tuple[Dataset, tuple[Attempt, ...]]

with_stores = settings(
    suppress_health_check=[
        *settings().suppress_health_check,
        HealthCheck.function_scoped_fixture,
    ]
)
"""The profile's settings, plus leave to use the ``make_store`` factory in @given."""


def run(
    store: Store,
    attempt: Attempt,
    *,
    placeholder: PlaceholderScheme = generic_placeholder,
    id_factory: Callable[[], str] | None = None,
) -> AnonymizationResult:
    """Make the attempt through the public service."""
    extra: dict[str, Any] = {} if id_factory is None else {"id_factory": id_factory}
    options = AnonymizationOptions(
        delete_all_notes=attempt.delete_all_notes, placeholder=placeholder, **extra
    )
    anonymizer = Anonymizer(store.unit_of_work, clock=FixedClock(attempt.at), options=options)
    result = anonymizer.anonymize(attempt.member_id, actor=attempt.actor_id, as_of=attempt.as_of)
    event(f"outcome: {result.status}")
    return result


@attrs.frozen
class Step:
    """One attempt with the store's content before and after it."""

    attempt: Attempt
    result: AnonymizationResult
    before: Dataset
    after: Dataset


def run_all(store: Store, plan: tuple[Attempt, ...]) -> list[Step]:
    """Make every attempt in turn, keeping the snapshots around each.

    Nothing touches the store between two attempts, so the snapshot after one
    is the snapshot before the next.
    """
    steps: list[Step] = []
    before = store.snapshot()
    for attempt in plan:
        result = run(store, attempt)
        after = store.snapshot()
        steps.append(Step(attempt, result, before, after))
        before = after
    return steps


def counter_ids() -> Callable[[], str]:
    """A deterministic id factory."""
    numbers = itertools.count(1)
    return lambda: f"gen{next(numbers)}"


def without_member(dataset: Dataset, member_id: str) -> Dataset:
    """The dataset with the member and every record of theirs left out."""
    changes: dict[str, Any] = {
        name: tuple(
            r
            for r in getattr(dataset, name)
            if (r.id if name == "members" else getattr(r, "member_id", None)) != member_id
        )
        for name in COLLECTIONS
    }
    return attrs.evolve(dataset, **changes)


def of_member(records: tuple[Any, ...], member_id: str) -> tuple[Any, ...]:
    """The records that belong to the member."""
    return tuple(r for r in records if r.member_id == member_id)


@given(scenario=scenarios())
@with_stores
def test_invoices_and_receipts_never_change(make_store: MakeStore, scenario: Scenario) -> None:
    """Invoices and receipts are exactly as issued, whatever is anonymized."""
    dataset, plan = scenario
    steps = run_all(make_store(dataset), plan)
    before, after = steps[0].before, steps[-1].after
    assert after.invoices == before.invoices
    assert after.receipts == before.receipts
    file_before, file_after = unstructure_dataset(before), unstructure_dataset(after)
    assert file_after["invoices"] == file_before["invoices"]
    assert file_after["receipts"] == file_before["receipts"]


@given(scenario=scenarios())
@with_stores
def test_refused_or_not_permitted_changes_nothing(
    make_store: MakeStore, scenario: Scenario
) -> None:
    """A refusal or a missing permission leaves every record as it was."""
    dataset, plan = scenario
    store = make_store(dataset)
    for step in run_all(store, plan):
        a = step.attempt
        expected = expected_outcome(
            step.before, member_id=a.member_id, actor_id=a.actor_id, as_of=a.day(step.before)
        )
        assert step.result.status == expected
        if not isinstance(step.result, Anonymized):
            assert step.after == step.before
            assert unstructure_dataset(step.after) == unstructure_dataset(step.before)


@given(scenario=scenarios())
@with_stores
def test_no_original_personal_value_survives(make_store: MakeStore, scenario: Scenario) -> None:
    """No personal value or photo byte of an anonymized member survives outside accounting."""
    dataset, plan = scenario
    steps = run_all(make_store(dataset), plan)
    original, final = steps[0].before, steps[-1].after
    traces = {m.id: Traces.of(m) for m in original.members}
    for step in steps:
        if not isinstance(step.result, Anonymized):
            continue
        mid = step.attempt.member_id
        assert find_traces(final, traces[mid]) == []
        (member,) = [m for m in final.members if m.id == mid]
        assert member.photo is None
        assert member.anonymized_at == step.attempt.at
        for name in ("log_entries", "documents", "measurements", "exercises"):
            assert of_member(getattr(final, name), mid) == ()
        kept = {n.note_type for n in of_member(final.notes, mid)}
        assert NoteType.TRAINING_AND_HEALTH not in kept
        if not step.attempt.delete_all_notes:
            general = [
                n for n in of_member(step.before.notes, mid) if n.note_type is NoteType.GENERAL
            ]
            assert list(of_member(step.after.notes, mid)) == general


@given(scenario=scenarios(personal_data_in_texts=True, first_eligible=True, delete_all_notes=True))
@with_stores
def test_delete_all_notes_removes_every_note(make_store: MakeStore, scenario: Scenario) -> None:
    """With delete_all_notes, no note survives, even one quoting personal data."""
    dataset, plan = scenario
    steps = run_all(make_store(dataset), plan)
    traces = {m.id: Traces.of(m) for m in steps[0].before.members}
    assert isinstance(steps[0].result, Anonymized)
    for step in steps:
        if isinstance(step.result, Anonymized):
            mid = step.attempt.member_id
            assert of_member(step.after.notes, mid) == ()
            assert find_traces(step.after, traces[mid]) == []


@given(scenario=scenarios(personal_data_in_texts=True, first_eligible=True, delete_all_notes=False))
@with_stores
def test_default_options_keep_general_notes(make_store: MakeStore, scenario: Scenario) -> None:
    """By default general notes stay as written (the documented risk of free text)."""
    dataset, plan = scenario
    store = make_store(dataset)
    first = run_all(store, plan[:1])[0]
    assert isinstance(first.result, Anonymized)
    mid = first.attempt.member_id
    general = tuple(
        n for n in of_member(first.before.notes, mid) if n.note_type is NoteType.GENERAL
    )
    assert of_member(first.after.notes, mid) == general


@given(scenario=scenarios())
@with_stores
def test_statistics_unchanged(make_store: MakeStore, scenario: Scenario) -> None:
    """Active members, visits and class attendance per month stay exactly the same."""
    dataset, plan = scenario
    steps = run_all(make_store(dataset), plan)
    assert statistics(steps[-1].after) == statistics(steps[0].before)


@given(dataset=datasets(), data=st.data())
def test_policy_agrees_with_oracle(dataset: Dataset, data: st.DataObject) -> None:
    """policy.evaluate reports exactly the codes of the rules' table, on every boundary date."""
    clubs = {c.id: c for c in dataset.clubs}
    for member in dataset.members:
        facts = MemberFacts(
            member=member,
            contracts=of_member(dataset.contracts, member.id),
            collection_cases=of_member(dataset.collection_cases, member.id),
            wallets=of_member(dataset.wallets, member.id),
            installments=of_member(dataset.installments, member.id),
            purchases=of_member(dataset.purchases, member.id),
        )
        some_day = data.draw(days(), label=f"as_of for {member.id}")
        for day in [some_day, *boundary_days(dataset, member.id)]:
            verdict = evaluate(facts, clubs=clubs, as_of=day)
            expected = expected_for(dataset, member.id, day)
            assert set(verdict.blocker_codes) == expected.blockers, day
            assert set(verdict.warning_codes) == expected.warnings, day
            assert verdict.eligible == (not expected.blockers)
            assert verdict.as_of == day


@given(dataset=datasets(), data=st.data())
@with_stores
def test_check_agrees_with_oracle(
    make_store: MakeStore, dataset: Dataset, data: st.DataObject
) -> None:
    """Anonymizer.check on a store agrees with the oracle, on the home club's date too."""
    store = make_store(dataset)
    before = store.snapshot()
    member_id = data.draw(st.sampled_from([m.id for m in dataset.members]))
    as_of = data.draw(st.none() | as_of_days(dataset, member_id))
    at = data.draw(instants())
    attempt = Attempt(member_id=member_id, actor_id="", as_of=as_of, at=at, delete_all_notes=False)
    verdict = Anonymizer(store.unit_of_work, clock=FixedClock(at)).check(member_id, as_of=as_of)
    day = attempt.day(dataset)
    expected = expected_for(dataset, member_id, day)
    assert verdict.as_of == day
    assert set(verdict.blocker_codes) == expected.blockers
    assert set(verdict.warning_codes) == expected.warnings
    assert store.snapshot() == before


def _test_failure_at_any_call_leaves_store_unchanged(
    make_store: MakeStore, scenario: Scenario
) -> None:
    """Whichever repository call fails, the store is exactly as before."""
    dataset, (attempt,) = scenario
    probe = make_store(dataset)
    # Every store below is loaded with the same dataset: the probe's content
    # before its run is what each of them holds before its failure.
    original = probe.snapshot()
    calls_before = len(probe.calls)
    expected = run(probe, attempt, id_factory=counter_ids())
    calls = len(probe.calls) - calls_before
    expected_end = probe.snapshot()
    assert calls > 0
    for k in range(1, calls + 1):
        store = make_store(dataset)
        store.fail_on_call(k)
        with pytest.raises(InjectedFailure):
            run(store, attempt, id_factory=counter_ids())
        store.heal()
        after_failure = store.snapshot()
        assert after_failure == original, f"call {k} of {calls} left changes"
        assert unstructure_dataset(after_failure) == unstructure_dataset(original)
        # The store is still usable and gives the undisturbed answer.
        assert run(store, attempt, id_factory=counter_ids()) == expected
        assert store.snapshot() == expected_end


@given(scenario=scenarios(max_attempts=1, max_members=3))
@with_stores
@pytest.mark.parametrize("make_store", LOCAL_BACKENDS, indirect=True)
def test_failure_at_any_call_leaves_store_unchanged(
    make_store: MakeStore, scenario: Scenario
) -> None:
    """Whichever repository call fails, the store is exactly as before."""
    _test_failure_at_any_call_leaves_store_unchanged(make_store, scenario)


@given(scenario=scenarios(max_attempts=1, max_members=3))
@settings(with_stores, max_examples=FAULT_EXAMPLES_ON_POSTGRES)
@pytest.mark.parametrize("make_store", ["postgres"], indirect=True)
def test_failure_at_any_call_leaves_store_unchanged_on_postgres(
    make_store: MakeStore, scenario: Scenario
) -> None:
    """The same on PostgreSQL, with fewer examples (each one fails every call in turn)."""
    _test_failure_at_any_call_leaves_store_unchanged(make_store, scenario)


@given(scenario=scenarios(max_attempts=1, first_eligible=True), data=st.data())
@with_stores
def test_second_anonymization_is_refused_already_anonymized(
    make_store: MakeStore, scenario: Scenario, data: st.DataObject
) -> None:
    """Anonymizing a member twice is refused with already_anonymized; nothing changes."""
    dataset, (attempt,) = scenario
    store = make_store(dataset)
    assert isinstance(run(store, attempt), Anonymized)
    once = store.snapshot()
    again = data.draw(
        attempts(once, member_ids=[attempt.member_id], actor_ids=permitted_actors(once))
    )
    result = run(store, again)
    assert isinstance(result, Refused)
    assert "already_anonymized" in {b.code for b in result.blockers}
    assert store.snapshot() == once


@given(scenario=scenarios())
@with_stores
def test_other_members_untouched(make_store: MakeStore, scenario: Scenario) -> None:
    """Anonymizing one member changes no record of any other member, club or employee."""
    dataset, plan = scenario
    store = make_store(dataset)
    for step in run_all(store, plan):
        if isinstance(step.result, Anonymized):
            mid = step.attempt.member_id
            assert without_member(step.after, mid) == without_member(step.before, mid)


def _seeded_placeholder(rnd: random.Random) -> PlaceholderScheme:
    def scheme(member_id: str) -> PersonalData:
        del member_id
        return PersonalData(first_name="Anonymized", last_name=f"Member {rnd.randrange(10**6)}")

    return scheme


@given(
    scenario=scenarios(max_attempts=1, first_eligible=True),
    rnd=st.randoms(use_true_random=False),
)
@with_stores
def test_end_state_does_not_depend_on_placeholder_randomness(
    make_store: MakeStore, scenario: Scenario, rnd: random.Random
) -> None:
    """Whatever names the placeholder scheme draws, the rest of the end state is the same."""
    dataset, (attempt,) = scenario
    neutral = PersonalData(first_name="X", last_name="X")
    ends: list[Dataset] = []
    for placeholder in (generic_placeholder, random_placeholder, _seeded_placeholder(rnd)):
        store = make_store(dataset)
        result = run(store, attempt, placeholder=placeholder, id_factory=counter_ids())
        assert isinstance(result, Anonymized)
        end = store.snapshot()
        members = tuple(
            attrs.evolve(m, personal=neutral) if m.id == attempt.member_id else m
            for m in end.members
        )
        ends.append(attrs.evolve(end, members=members))
    assert ends[1] == ends[0]
    assert ends[2] == ends[0]


def test_attempt_day_is_the_home_club_date() -> None:
    """An attempt without a date uses the home club's local date of the clock."""
    instant = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)
    attempt = Attempt(member_id="m1", actor_id="e1", as_of=None, at=instant, delete_all_notes=False)
    assert attempt.day(_one_member_dataset("Europe/Warsaw")) == dt.date(2026, 11, 28)
    assert attempt.day(_one_member_dataset("America/New_York")) == dt.date(2026, 11, 27)


def _one_member_dataset(timezone: str) -> Dataset:
    return Dataset(
        network=Network(id="n", name="N"),
        clubs=(Club(id="c1", name="C", timezone=timezone, uses_debt_collection=False),),
        members=(
            Member(
                id="m1",
                home_club_id="c1",
                registered_on=dt.date(2026, 1, 1),
                personal=PersonalData(first_name="A", last_name="B"),
            ),
        ),
    )

"""The SQL repositories answer exactly as the in-memory reference, in few statements."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from member_anonymization import AnonymizationOptions, Anonymizer
from member_anonymization.adapters.sql import DatabaseBusyError, SqlStore
from member_anonymization.domain import NoteType
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock, InMemoryStore
from tests import builders as b
from tests.backends import MakeSqlStore
from tests.integration.sql_support import count_statements, members_with_profiles
from tests.strategies import datasets, days

CLOCK_AT = dt.datetime(2026, 11, 27, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
"""Noon UTC: 2026-11-27 is today or past in every time zone, as an anonymization needs."""


def test_load_facts_answers_any_batch_in_six_queries(make_sql_store: MakeSqlStore) -> None:
    """One member or forty: one query per record kind, never one per member."""
    store = make_sql_store(members_with_profiles(40))
    ids = [f"m{n}" for n in range(1, 41)]
    with store.sql.unit_of_work() as uow:
        with count_statements(store.sql.engine) as one:
            single = uow.facts.load_facts(["m1"])
        with count_statements(store.sql.engine) as many:
            batch = uow.facts.load_facts([*ids, "nobody"])
    assert len(one) == len(many) == 6
    assert set(single) == {"m1"}
    assert set(batch) == set(ids)
    assert all(len(f.contracts) == 1 and len(f.wallets) == 1 for f in batch.values())
    assert all(" IN " in s.upper() or "= ANY (" in s.upper() for s in many)


def test_large_batches_are_chunked(make_sql_store: MakeSqlStore) -> None:
    """2,500 members take three chunks of six queries each."""
    people = [b.member(f"m{n:04}", with_photo=False) for n in range(2500)]
    contracts = [b.contract(f"k{n:04}", member_id=f"m{n:04}") for n in range(2500)]
    store = make_sql_store(b.dataset(*people, *contracts))
    with store.sql.unit_of_work() as uow, count_statements(store.sql.engine) as statements:
        facts = uow.facts.load_facts([p.id for p in people])
    assert len(facts) == 2500
    assert len(statements) == 18


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=datasets())
def test_reads_match_the_in_memory_reference(make_sql_store: MakeSqlStore, data: Dataset) -> None:
    """Facts, profile, accounting, clubs and employees read back as the reference reads them."""
    store = make_sql_store(data)
    reference = InMemoryStore(data)
    member_ids = [m.id for m in data.members]
    with store.sql.unit_of_work() as uow, reference.unit_of_work() as expected:
        assert uow.facts.load_facts(member_ids) == expected.facts.load_facts(member_ids)
        assert uow.clubs.network_clubs() == expected.clubs.network_clubs()
        for employee in data.employees:
            assert uow.employees.get(employee.id) == employee
        assert uow.employees.get("nobody") is None
        for member_id in member_ids:
            assert uow.members.get(member_id) == expected.members.get(member_id)
            for reader, name in _READERS:
                got = list(getattr(getattr(uow, reader), name)(member_id))
                assert got == list(getattr(getattr(expected, reader), name)(member_id)), name


_READERS = (
    ("accounting", "invoices_of"),
    ("accounting", "receipts_of"),
    ("profile", "visits_of"),
    ("profile", "class_bookings_of"),
    ("profile", "measurements_of"),
    ("profile", "exercises_of"),
    ("profile", "notes_of"),
    ("profile", "log_entries_of"),
    ("profile", "documents_of"),
)


def test_profile_readers_stream_while_other_statements_run(make_sql_store: MakeSqlStore) -> None:
    """A reader's rows can be consumed lazily, interleaved with other statements."""
    visits = [b.visit(f"v{n:04}") for n in range(1200)]
    store = make_sql_store(b.dataset(*visits))
    with store.sql.unit_of_work() as uow:
        stream = iter(uow.profile.visits_of("m1"))
        first = next(stream)
        assert uow.members.get("m1") is not None
        rest = list(stream)
    assert [first.id, *(v.id for v in rest)] == sorted(v.id for v in visits)


@st.composite
def retention_questions(draw: st.DrawFn) -> tuple[Dataset, dict[str, dt.date], str | None, int]:
    """A dataset, thresholds for some of its clubs, a paging cursor and a limit."""
    data = draw(datasets())
    clubs = draw(st.lists(st.sampled_from([c.id for c in data.clubs]), unique=True))
    thresholds = {club: draw(days()) for club in clubs}
    after = draw(st.none() | st.sampled_from([m.id for m in data.members]))
    return data, thresholds, after, draw(st.integers(1, 10))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=retention_questions())
def test_due_members_matches_the_reference_in_one_query(
    make_sql_store: MakeSqlStore,
    question: tuple[Dataset, dict[str, dt.date], str | None, int],
) -> None:
    """The retention query picks the reference's members, in order, with one statement."""
    data, thresholds, after, limit = question
    store = make_sql_store(data)
    with InMemoryStore(data).unit_of_work() as reference:
        expected = reference.retention.due_members(thresholds=thresholds, after=after, limit=limit)
    with store.sql.unit_of_work() as uow, count_statements(store.sql.engine) as statements:
        got = uow.retention.due_members(thresholds=thresholds, after=after, limit=limit)
    assert list(got) == list(expected)
    assert len(statements) == (1 if thresholds else 0)


def _counter() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"id-{next(numbers):04}"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=datasets(fresh_member=True), delete_all_notes=st.booleans())
def test_anonymization_ends_as_in_the_reference(
    make_sql_store: MakeSqlStore, data: Dataset, delete_all_notes: bool
) -> None:
    """An anonymization leaves the database exactly as it leaves the in-memory store."""
    store = make_sql_store(data)
    reference = InMemoryStore(data)
    actor = data.employees[0].id
    member_id = data.members[0].id
    outcomes = []
    for target in (store, reference):
        options = AnonymizationOptions(delete_all_notes=delete_all_notes, id_factory=_counter())
        anonymizer = Anonymizer(target.unit_of_work, clock=FixedClock(CLOCK_AT), options=options)
        outcomes.append(anonymizer.anonymize(member_id, actor=actor, as_of=b.TODAY))
    assert outcomes[0] == outcomes[1]
    assert store.snapshot() == reference.snapshot()


def test_anonymization_never_touches_visits(make_sql_store: MakeSqlStore) -> None:
    """No statement of an anonymization reads or writes the visits table."""
    store = make_sql_store(members_with_profiles(2))
    before = store.snapshot().visits
    anonymizer = Anonymizer(store.unit_of_work, clock=FixedClock(CLOCK_AT))
    with count_statements(store.sql.engine) as statements:
        anonymizer.anonymize("m1", actor="e1", as_of=b.TODAY)
    assert statements
    assert not [s for s in statements if "visits" in s.lower()]
    assert store.snapshot().visits == before


def test_deletions_count_per_member_in_one_statement_each(make_sql_store: MakeSqlStore) -> None:
    """A batch deletion is one statement per kind and counts the rows of each member."""
    extra = (b.log_entry("l-extra", member_id="m2"), b.note("n-extra", member_id="m2"))
    store = make_sql_store(members_with_profiles(3, extra=extra))
    with store.sql.unit_of_work() as uow:
        with count_statements(store.sql.engine) as statements:
            logs = uow.records.delete_log_entries(["m1", "m2", "nobody"])
        assert logs == {"m1": 1, "m2": 2}
        assert len(statements) == 1
        assert uow.records.delete_notes(["m2"], note_types=()) == {}
        health = uow.records.delete_notes(["m2"], note_types={NoteType.TRAINING_AND_HEALTH})
        assert health == {"m2": 2}
        assert uow.records.delete_notes(["m1", "m2"], note_types=None) == {"m1": 2, "m2": 1}
        assert uow.members.delete_photos(["m3", "m3"]) == {"m3": 1}
        assert uow.members.delete_photos(["m3"]) == {}
    assert len(store.snapshot().log_entries) == 4


# --------------------------------------------------------------------------- units of work


def delete_documents_then_fail(sql: SqlStore) -> None:
    """Delete m1's documents in a unit, then raise before committing."""
    with sql.unit_of_work() as uow:
        uow.records.delete_documents(["m1"])
        raise ZeroDivisionError


def test_nothing_sticks_without_commit(make_sql_store: MakeSqlStore) -> None:
    """Leaving a unit without commit, or by an exception, rolls everything back."""
    store = make_sql_store(members_with_profiles(1))
    before = store.snapshot()
    with store.sql.unit_of_work() as uow:
        uow.records.delete_documents(["m1"])
    assert store.snapshot() == before
    with pytest.raises(ZeroDivisionError):
        delete_documents_then_fail(store.sql)
    assert store.snapshot() == before
    with store.sql.unit_of_work() as uow:
        uow.records.delete_documents(["m1"])
        uow.rollback()
        uow.records.delete_log_entries(["m1"])
        uow.commit()
        uow.records.delete_measurements(["m1"])
    after = store.snapshot()
    assert after.documents == before.documents
    assert after.log_entries == ()
    assert after.measurements == before.measurements


def test_a_unit_is_used_inside_its_block_only(make_sql_store: MakeSqlStore) -> None:
    """Repositories refuse to work outside the `with` block, and a unit is entered once."""
    store = make_sql_store(members_with_profiles(1))
    uow = store.sql.unit_of_work()
    with pytest.raises(RuntimeError):
        uow.members.get("m1")
    with uow:
        with pytest.raises(RuntimeError), uow:
            pass
        assert uow.members.get("m1") is not None
    with pytest.raises(RuntimeError):
        uow.members.get("m1")


def test_lock_returns_the_existing_members_in_request_order(make_sql_store: MakeSqlStore) -> None:
    """`lock` answers with the ids that exist, as asked, without repeats."""
    store = make_sql_store(members_with_profiles(3))
    with store.sql.unit_of_work() as uow:
        assert list(uow.members.lock(["m3", "nobody", "m1", "m3"])) == ["m3", "m1"]
        assert list(uow.members.lock([], skip_locked=True)) == []


def test_sqlite_unit_holds_the_write_lock_from_the_start(make_sqlite_store: Any) -> None:
    """While a unit is open, a second one cannot even begin; afterwards it can."""
    store = make_sqlite_store(members_with_profiles(1))
    impatient = SqlStore.open(str(store.sql.engine.url.database), busy_timeout=0.2)
    try:
        with (
            store.sql.unit_of_work(),
            pytest.raises(DatabaseBusyError, match="busy"),
            impatient.unit_of_work(),
        ):
            pass
        with impatient.unit_of_work() as uow:
            assert uow.members.lock(["m1"]) == ["m1"]
    finally:
        impatient.dispose()


def test_a_recycled_test_store_refuses_to_be_used(make_sql_store: MakeSqlStore) -> None:
    """The test backend never lets a test read a store whose database now holds another one."""
    from tests.backends import LIVE_STORES

    stores = [make_sql_store(members_with_profiles(1)) for _ in range(LIVE_STORES + 1)]
    with pytest.raises(RuntimeError, match="at most"):
        stores[0].snapshot()
    with pytest.raises(RuntimeError, match="at most"):
        stores[0].unit_of_work()
    assert len(stores[-1].snapshot().members) == 1

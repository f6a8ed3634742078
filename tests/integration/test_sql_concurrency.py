"""Concurrent anonymizations and contract inserts on real, separate connections."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import insert, select

from member_anonymization import AnonymizationResult, Anonymized, Anonymizer, Refused
from member_anonymization.adapters.sql import SqlStore
from member_anonymization.adapters.sql._schema import contracts, members
from member_anonymization.testing import FixedClock
from tests import builders as b
from tests.integration.sql_support import members_with_profiles

CLOCK = FixedClock(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))
ACTIVE = {
    "id": "k-new",
    "member_id": "m1",
    "club_id": "c1",
    "name": "Open 12M",
    "start_on": dt.date(2026, 11, 1),
    "end_on": dt.date(2027, 10, 31),
    "terminated_on": None,
}


def race(workers: int, job: Callable[[], Any]) -> list[Any]:
    """Run ``job`` on ``workers`` threads released at the same moment; return the results."""
    gate = threading.Barrier(workers)

    def run() -> Any:
        gate.wait()
        return job()

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(run) for _ in range(workers)]
        return [f.result(timeout=60) for f in futures]


def anonymize(sql: SqlStore) -> AnonymizationResult:
    """A manual anonymization of ``m1`` by ``e1``."""
    return Anonymizer(sql.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1", as_of=b.TODAY)


def assert_one_anonymization(sql: SqlStore, results: list[AnonymizationResult]) -> None:
    """Exactly one worker anonymized; every other was refused as already anonymized."""
    done = [r for r in results if isinstance(r, Anonymized)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(done) == 1
    assert len(refused) == len(results) - 1
    assert all([x.code for x in r.blockers] == ["already_anonymized"] for r in refused)
    assert len(sql.dump().audit) == 1


@pytest.mark.postgres
def test_eight_workers_anonymize_a_member_exactly_once(make_pg_store: Any) -> None:
    """Eight concurrent anonymizations of one member: one succeeds, seven are refused."""
    store = make_pg_store(members_with_profiles(1))
    assert_one_anonymization(store.sql, race(8, lambda: anonymize(store.sql)))


def test_sqlite_racing_threads_anonymize_a_member_exactly_once(make_sqlite_store: Any) -> None:
    """Threads racing on SQLite: the write lock lets exactly one anonymize."""
    store = make_sqlite_store(members_with_profiles(1))
    assert_one_anonymization(store.sql, race(4, lambda: anonymize(store.sql)))


def guarded_contract_insert(sql: SqlStore) -> bool:
    """How a host adds a contract: lock the member row, check, insert. Returns whether it did."""
    with sql.engine.begin() as conn:
        anonymized_at = conn.execute(
            select(members.c.anonymized_at).where(members.c.id == "m1").with_for_update(read=True)
        ).scalar_one()
        if anonymized_at is not None:
            return False
        conn.execute(insert(contracts).values(**ACTIVE))
        return True


def race_contract_and_anonymization(sql: SqlStore) -> tuple[AnonymizationResult, bool]:
    """Start an anonymization and a guarded contract insert at once; return both outcomes."""
    jobs = iter([lambda: anonymize(sql), lambda: guarded_contract_insert(sql)])
    lock = threading.Lock()

    def next_job() -> Any:
        with lock:
            job = next(jobs)
        return job()

    first, second = race(2, next_job)
    return (first, second) if isinstance(second, bool) else (second, first)


@pytest.mark.postgres
def test_a_contract_racing_an_anonymization_never_leaves_both(make_pg_store: Any) -> None:
    """Either the contract blocks the anonymization or the anonymization blocks the contract."""
    for _ in range(12):
        store = make_pg_store(members_with_profiles(1))
        result, inserted = race_contract_and_anonymization(store.sql)
        snapshot = store.snapshot()
        anonymized = snapshot.members[0].anonymized_at is not None
        has_contract = any(k.id == "k-new" for k in snapshot.contracts)
        assert not (anonymized and has_contract)
        if isinstance(result, Anonymized):
            assert not inserted
        else:
            assert inserted
            assert isinstance(result, Refused)
            assert "active_contract" in [x.code for x in result.blockers]


def _in_background(job: Callable[[], Any]) -> Future[Any]:
    pool = ThreadPoolExecutor(1)
    future = pool.submit(job)
    pool.shutdown(wait=False)
    return future


@pytest.mark.postgres
def test_a_contract_insert_waits_for_the_anonymization_holding_the_lock(
    make_pg_store: Any,
) -> None:
    """A plain contract insert waits for the member's row lock until the unit ends."""
    store = make_pg_store(members_with_profiles(1))
    with store.sql.unit_of_work() as uow:
        assert uow.members.lock(["m1"]) == ["m1"]

        def plain_insert() -> None:
            with store.sql.engine.begin() as conn:
                conn.execute(insert(contracts).values(**ACTIVE))

        waiting = _in_background(plain_insert)
        time.sleep(0.5)
        assert not waiting.done()
        uow.members.mark_anonymized(["m1"], CLOCK.now())
        uow.commit()
        waiting.result(timeout=30)
    assert any(k.id == "k-new" for k in store.snapshot().contracts)


@pytest.mark.postgres
def test_the_anonymization_waits_for_a_contract_being_inserted_and_sees_it(
    make_pg_store: Any,
) -> None:
    """An anonymization waits for an uncommitted contract insert, then is refused by it."""
    store = make_pg_store(members_with_profiles(1))
    with store.sql.engine.connect() as conn:
        conn.begin()
        conn.execute(insert(contracts).values(**ACTIVE))
        waiting = _in_background(lambda: anonymize(store.sql))
        time.sleep(0.5)
        assert not waiting.done()
        conn.commit()
    result = waiting.result(timeout=30)
    assert isinstance(result, Refused)
    assert [x.code for x in result.blockers] == ["active_contract"]


@pytest.mark.postgres
def test_skip_locked_passes_over_members_another_unit_holds(make_pg_store: Any) -> None:
    """With `skip_locked`, a second unit gets only the members nobody holds, at once."""
    store = make_pg_store(members_with_profiles(3))
    with store.sql.unit_of_work() as first:
        assert first.members.lock(["m1", "m2"]) == ["m1", "m2"]
        with store.sql.unit_of_work() as second:
            started = time.monotonic()
            assert second.members.lock(["m1", "m2", "m3"], skip_locked=True) == ["m3"]
            assert time.monotonic() - started < 5
    with store.sql.unit_of_work() as third:
        assert third.members.lock(["m1", "m2"], skip_locked=True) == ["m1", "m2"]

"""A sweep killed with SIGKILL partway, on SQLite and PostgreSQL.

The sweep runs in a child process over a few thousand due members in small
batches and is killed once its progress shows some batches committed. Every
member must then be either completely anonymized or completely untouched, and
running the sweep again must leave exactly what one uninterrupted run leaves
on an identical copy of the data.
"""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import attrs
import pytest

from member_anonymization import RetentionSweep, generic_placeholder
from member_anonymization.domain import AnonymizationMode, NoteType, RemovalCounts
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock

pytest.importorskip("sqlalchemy")

from member_anonymization.adapters.sql import SqlStore
from tests.integration.test_sweep_concurrency import (
    AS_OF,
    DEADLINE,
    NOW,
    Expected,
    PgSchemas,
    Worker,
    comparable,
    population,
    url_text,
)

SIZE: Final = 3000
"""Members in the database: 2,100 of them due, 1,500 due and eligible."""
BATCH: Final = 10
KILL_AFTER: Final = 10
"""Batches the killed sweep must have reported before it is killed."""

KEPT: Final = (
    "clubs",
    "employees",
    "contracts",
    "wallets",
    "collection_cases",
    "installments",
    "purchases",
    "invoices",
    "receipts",
    "visits",
    "class_bookings",
)
"""Collections that anonymization never changes."""
ERASED: Final = ("log_entries", "documents", "measurements", "exercises")
"""Per-member collections that anonymization empties (notes are checked apart)."""
REMOVED: Final = RemovalCounts(
    personal_data=1, photo=1, log_entries=1, documents=1, measurements=1, exercises=1, notes=1
)
"""What anonymizing one member of the population removes."""


def by_member(records: Iterable[Any]) -> defaultdict[str, list[Any]]:
    """Records grouped by their member id."""
    grouped: defaultdict[str, list[Any]] = defaultdict(list)
    for record in records:
        grouped[record.member_id].append(record)
    return grouped


def anonymized_ids(data: Dataset) -> set[str]:
    """The members marked anonymized."""
    return {m.id for m in data.members if m.anonymized_at is not None}


def check_all_or_nothing(before: Dataset, after: Dataset, expected: Expected) -> None:
    """Every member fully anonymized (and eligible) or untouched; kept collections unchanged."""
    before, after = before.sorted(), after.sorted()
    for name in KEPT:
        assert getattr(after, name) == getattr(before, name), name
    old = {m.id: m for m in before.members}
    assert [m.id for m in after.members] == list(old)
    grouped = {
        name: (by_member(getattr(before, name)), by_member(getattr(after, name)))
        for name in (*ERASED, "notes", "reminders", "audit")
    }
    for member in after.members:
        mid = member.id
        then = {name: old_records[mid] for name, (old_records, _) in grouped.items()}
        now = {name: new_records[mid] for name, (_, new_records) in grouped.items()}
        if member.anonymized_at is None:
            assert member == old[mid]
            assert now == then, mid
            continue
        assert mid in expected.eligible
        assert member == attrs.evolve(
            old[mid], personal=generic_placeholder(mid), photo=None, anonymized_at=NOW
        )
        assert all(now[name] == [] for name in ERASED), mid
        assert now["notes"] == [n for n in then["notes"] if n.note_type is NoteType.GENERAL]
        assert len(now["audit"]) == 1, mid
        entry = now["audit"][0]
        assert (entry.mode, entry.actor_id, entry.at, entry.removed) == (
            AnonymizationMode.RETENTION,
            None,
            NOW,
            REMOVED,
        )
        kinds = [(r.kind, r.created_at) for r in now["reminders"]]
        assert kinds == ([("unpaid_purchases", NOW)] if mid in expected.warned else [])


@attrs.frozen(kw_only=True)
class Databases:
    """Empty databases of one backend for one test.

    Attributes:
        new: Makes an empty database and returns its URL (or SQLite path).
        settle: Waits until the connections of a killed process are gone.
    """

    new: Callable[[], str]
    settle: Callable[[], None]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Makes empty databases: SQLite files, or PostgreSQL schemas dropped afterwards."""
    if request.param == "sqlite":
        files = iter(range(1, 100))
        yield Databases(new=lambda: str(tmp_path / f"db-{next(files)}.sqlite"), settle=lambda: None)
        return
    schemas = PgSchemas(request.getfixturevalue("postgres_server").url)
    try:
        yield Databases(
            new=lambda: url_text(schemas.new()),
            settle=lambda: schemas.wait_for_backends(at_most=0),
        )
    finally:
        schemas.drop()


def loaded(url: str, data: Dataset) -> SqlStore:
    """A store at ``url`` holding the schema and ``data``."""
    store = SqlStore.open(url)
    store.create_schema()
    store.load(data)
    return store


def test_killed_sweep_leaves_members_whole_and_a_rerun_finishes_the_job(
    databases: Databases,
) -> None:
    """After SIGKILL each member is anonymized or untouched; a rerun equals one whole run."""
    data, expected = population(SIZE)
    url = databases.new()
    loaded(url, data).dispose()

    worker = Worker(url, batch_size=BATCH)
    try:
        deadline = time.monotonic() + DEADLINE
        while (progress := worker.message(deadline))["done"] < KILL_AFTER * BATCH:
            pass
        worker.kill()
        assert worker.process.returncode == -signal.SIGKILL
    finally:
        worker.close()
    databases.settle()

    with SqlStore.open(url) as store:
        interrupted = store.dump()
        check_all_or_nothing(data, interrupted, expected)
        finished = anonymized_ids(interrupted)
        assert progress["anonymized"] <= len(finished) < len(expected.eligible)

        rerun = RetentionSweep(store.unit_of_work, clock=FixedClock(NOW)).run(as_of=AS_OF)
        assert rerun.errors == ()
        assert rerun.held_elsewhere == ()
        assert set(rerun.anonymized) == expected.eligible - finished
        resumed = store.dump()

    with loaded(databases.new(), data) as copy:
        whole = RetentionSweep(copy.unit_of_work, clock=FixedClock(NOW)).run(as_of=AS_OF)
        uninterrupted = copy.dump()
    assert set(whole.anonymized) == expected.eligible
    check_all_or_nothing(data, resumed, expected)
    assert comparable(resumed) == comparable(uninterrupted)

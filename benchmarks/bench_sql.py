"""Figures of the SQL adapter, run by hand (not a test).

    .venv/bin/python benchmarks/bench_sql.py                 # SQLite in a temporary folder
    .venv/bin/python benchmarks/bench_sql.py --db postgresql://postgres@127.0.0.1/test

1. The median time of a manual anonymization of a member with 10,000 visits and
   1,000 log entries (target on SQLite: under 20 ms).
2. The load rate, in members per second, of a generated dataset of 100,000
   members with a few records each (structuring the JSON, and the database load).

On PostgreSQL the benchmark works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from member_anonymization import Anonymized, Anonymizer, structure_dataset, unstructure_dataset
from member_anonymization.adapters.sql import SqlStore
from member_anonymization.domain import (
    Club,
    Contract,
    Employee,
    LogEntry,
    Member,
    Network,
    Note,
    NoteType,
    Permission,
    PersonalData,
    Visit,
    Wallet,
)
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock

NOW = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
TZ = dt.timezone(dt.timedelta(hours=1))
BASE = dt.datetime(2019, 1, 1, 8, tzinfo=TZ)


def member(member_id: str) -> Member:
    return Member(
        id=member_id,
        home_club_id="c1",
        registered_on=dt.date(2018, 3, 1),
        personal=PersonalData(first_name="Jan", last_name=f"Nowak {member_id}", email="x@y.z"),
    )


def organisation() -> dict[str, Any]:
    return {
        "network": Network(id="net-1", name="Bench Network"),
        "clubs": (
            Club(id="c1", name="Club", timezone="Europe/Warsaw", uses_debt_collection=False),
        ),
        "employees": (
            Employee(id="e1", name="Anna", permissions=frozenset({Permission.ANONYMIZE_MEMBER})),
        ),
    }


def heavy_members(count: int, visits: int, logs: int) -> Dataset:
    """``count`` members, each with ``visits`` visits and ``logs`` log entries."""
    members, all_visits, all_logs, notes = [], [], [], []
    for n in range(count):
        mid = f"m{n:03}"
        members.append(member(mid))
        for v in range(visits):
            at = BASE + dt.timedelta(hours=v)
            all_visits.append(
                Visit(id=f"v{mid}-{v}", member_id=mid, club_id="c1", entered_at=at, left_at=at)
            )
        for i in range(logs):
            at = BASE + dt.timedelta(minutes=i)
            all_logs.append(LogEntry(id=f"l{mid}-{i}", member_id=mid, at=at, text="entry"))
        notes.append(
            Note(
                id=f"n{mid}",
                member_id=mid,
                note_type=NoteType.TRAINING_AND_HEALTH,
                created_at=BASE,
                text="note",
            )
        )
    return Dataset(
        **organisation(),
        members=tuple(members),
        visits=tuple(all_visits),
        log_entries=tuple(all_logs),
        notes=tuple(notes),
    )


def many_members(count: int) -> Dataset:
    """``count`` members, each with a contract, a wallet, two visits, a note and a log entry."""
    members, contracts, wallets, visits, notes, logs = [], [], [], [], [], []
    for n in range(count):
        mid = f"m{n:06}"
        members.append(member(mid))
        contracts.append(
            Contract(
                id=f"k{mid}",
                member_id=mid,
                club_id="c1",
                name="Open",
                start=dt.date(2019, 1, 1),
                end=dt.date(2019, 12, 31),
            )
        )
        wallets.append(Wallet(member_id=mid, balance=Decimal("0.00"), currency="PLN"))
        for v in range(2):
            at = BASE + dt.timedelta(days=v)
            visits.append(Visit(id=f"v{mid}-{v}", member_id=mid, club_id="c1", entered_at=at))
        notes.append(
            Note(id=f"n{mid}", member_id=mid, note_type=NoteType.GENERAL, created_at=BASE, text="x")
        )
        logs.append(LogEntry(id=f"l{mid}", member_id=mid, at=BASE, text="signed"))
    return Dataset(
        **organisation(),
        members=tuple(members),
        contracts=tuple(contracts),
        wallets=tuple(wallets),
        visits=tuple(visits),
        notes=tuple(notes),
        log_entries=tuple(logs),
    )


class Databases:
    """Fresh databases: SQLite files in a temporary folder, or PostgreSQL schemas."""

    def __init__(self, url: str | None, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.schemas: list[str] = []
        self.admin: SqlStore | None = SqlStore.open(url) if url else None

    def fresh(self, name: str) -> SqlStore:
        if self.admin is None:
            store = SqlStore.open(self.folder / f"{name}.sqlite")
        else:
            schema = f"bench_{name}_{secrets.token_hex(3)}"
            with self.admin.engine.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            self.schemas.append(schema)
            url = make_url(str(self.url)).update_query_dict({"options": f"-csearch_path={schema}"})
            store = SqlStore.open(url)
        store.create_schema()
        return store

    def close(self) -> None:
        if self.admin is not None:
            with self.admin.engine.begin() as conn:
                for schema in self.schemas:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            self.admin.dispose()


def bench_anonymization(databases: Databases, runs: int) -> None:
    data = heavy_members(runs, visits=10_000, logs=1_000)
    store = databases.fresh("anonymize")
    started = time.perf_counter()
    store.load(data)
    print(
        f"  loaded {runs} members with 10,000 visits and 1,000 log entries each "
        f"in {time.perf_counter() - started:.1f} s"
    )
    anonymizer = Anonymizer(store.unit_of_work, clock=FixedClock(NOW))
    timings = []
    for member_ in data.members:
        started = time.perf_counter()
        result = anonymizer.anonymize(member_.id, actor="e1")
        timings.append(time.perf_counter() - started)
        assert isinstance(result, Anonymized), result
        assert result.removed.log_entries == 1_000
    ms = [t * 1000 for t in timings]
    print(f"  first (cold) anonymization: {ms[0]:.1f} ms")
    print(
        f"  median of {runs}: {statistics.median(ms):.1f} ms (min {min(ms):.1f}, max {max(ms):.1f})"
    )
    assert len(store.dump().visits) == runs * 10_000
    store.dispose()


def bench_load(databases: Databases, count: int) -> None:
    started = time.perf_counter()
    data = many_members(count)
    raw = unstructure_dataset(data)
    print(f"  generated {count:,} members in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    structured = structure_dataset(raw, check_references=False)
    structuring = time.perf_counter() - started
    store = databases.fresh("load")
    started = time.perf_counter()
    result = store.load(structured)
    loading = time.perf_counter() - started
    records = result.total
    print(f"  structuring the JSON: {structuring:.1f} s ({count / structuring:,.0f} members/s)")
    print(
        f"  database load: {loading:.1f} s for {records:,} records "
        f"({count / loading:,.0f} members/s, {records / loading:,.0f} records/s)"
    )
    print(f"  file to database: {count / (structuring + loading):,.0f} members/s")
    store.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--runs", type=int, default=21, help="anonymizations to time")
    parser.add_argument("--members", type=int, default=100_000, help="members to load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        databases = Databases(args.db, Path(folder))
        try:
            print(f"database: {args.db or 'SQLite (temporary file)'}")
            print("manual anonymization, member with 10,000 visits and 1,000 log entries:")
            bench_anonymization(databases, args.runs)
            print(f"load of a generated dataset of {args.members:,} members:")
            bench_load(databases, args.members)
        finally:
            databases.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Two processing runs of erasure requests at once on PostgreSQL: each request is carried out once.

The runs work on the same schema, as two threads with their own engines or as
two OS processes. Each is held after its first batch until the other has done
one too, so that the rest of the two runs overlap for sure. Together they must
leave exactly what one run leaves: every eligible member anonymized once, with
one audit entry, one event and one ``completed`` notice, every such request
completed once, the deadline watch written once, and no errors.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
import pytest

from member_anonymization.domain import (
    AnonymizationMode,
    ErasureRequest,
    NoteType,
    NoticeKind,
    OutboxKind,
    RequestChannel,
    RequestStatus,
)
from member_anonymization.erasure import ProcessReport, RequestProcessor
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock, InMemoryStore
from tests import builders as b
from tests.property.test_request_props import comparable

pytest.importorskip("sqlalchemy")

from member_anonymization.adapters.sql import SqlStore
from tests.backends import PgServer
from tests.integration.test_sweep_concurrency import (
    _SRC,
    DEADLINE,
    PgSchemas,
    Worker,
    run_twice_side_by_side,
    url_text,
)

pytestmark = pytest.mark.postgres

NOW: Final = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
"""The instant both runs record (the home clubs' date is 2026-11-27)."""
TODAY: Final = dt.date(2026, 11, 27)
SIZE: Final = 200
BATCH: Final = 7

BLOCKERS: Final[Mapping[int, str]] = {
    5: "wallet_funds",
    6: "processing_restricted",
    7: "active_contract",
    8: "future_contract",
    9: "open_collection_case",
}
"""The blocker of each kind of member (the last digit of their number) that keeps them."""

RECEIVED_DAYS_AGO: Final = (3, 26, 61)
"""By the tens digit (modulo 3): received lately, near its deadline, or overdue."""


# ------------------------------------------------------------------------- population


@attrs.frozen(kw_only=True)
class Expected:
    """What a processing run on :data:`TODAY` must do to a :func:`population`.

    Attributes:
        eligible: The request of each member nothing blocks, by member.
        blocked: The request of each blocked member, by member, with its blocker.
        warned: The eligible members left with an ``unpaid_purchases`` reminder.
    """

    eligible: Mapping[str, str]
    blocked: Mapping[str, tuple[str, str]]
    warned: frozenset[str]


def population(size: int) -> tuple[Dataset, Expected]:
    """``size`` members with full profiles, each with an open erasure request.

    By the member number's last digit: 0, 1, 2, 4 eligible; 3 eligible with an
    unpaid purchase; 5 to 9 kept by one blocker each (:data:`BLOCKERS`). Home
    clubs alternate by tens between Warsaw and New York; by the tens digit the
    request was received 3, 26 or 61 days ago.
    """
    records: list[Any] = [
        b.club("c1"),
        b.club("c2", tz="America/New_York", uses_debt_collection=False),
        b.employee("e1"),
    ]
    eligible: dict[str, str] = {}
    blocked: dict[str, tuple[str, str]] = {}
    warned: set[str] = set()
    for i in range(size):
        kind, mid, rid = i % 10, f"m{i:05d}", f"rq{i:05d}"
        home = "c1" if (i // 10) % 2 == 0 else "c2"
        start, end = dt.date(2019, 1, 1), dt.date(2020, 12, 31)
        if kind == 7:
            end = dt.date(2027, 6, 30)
        elif kind == 8:
            start, end = dt.date(2027, 3, 1), dt.date(2028, 2, 29)
        records += [
            b.member(mid, home_club_id=home, restrict_processing=kind == 6),
            b.contract(f"k-{mid}", member_id=mid, club_id=home, start=start, end=end),
            b.visit(f"v-{mid}", member_id=mid, club_id=home),
            b.invoice(f"f-{mid}", member_id=mid, club_id=home),
            b.measurement(f"ms-{mid}", member_id=mid),
            b.exercise(f"x-{mid}", member_id=mid),
            b.note(f"nh-{mid}", member_id=mid),
            b.note(f"ng-{mid}", member_id=mid, note_type=NoteType.GENERAL),
            b.log_entry(f"l-{mid}", member_id=mid),
            b.document(f"d-{mid}", member_id=mid),
        ]
        received_at = NOW - dt.timedelta(days=RECEIVED_DAYS_AGO[(i // 10) % 3], hours=i % 7)
        zone = "Europe/Warsaw" if home == "c1" else "America/New_York"
        records.append(
            ErasureRequest.receive(
                id=rid,
                member_id=mid,
                club_id=home,
                received_at=received_at,
                received_on=received_at.astimezone(ZoneInfo(zone)).date(),
                channel=RequestChannel.EMAIL,
                registered_by="e1",
            )
        )
        if kind == 3:
            records.append(b.purchase(f"p-{mid}", member_id=mid, club_id=home))
            warned.add(mid)
        if kind == 5:
            records.append(b.wallet("25.00", member_id=mid))
        if kind == 9:
            records.append(
                b.collection_case(f"w-{mid}", member_id=mid, club_id=home, closed_on=None)
            )
        if kind in BLOCKERS:
            blocked[mid] = (rid, BLOCKERS[kind])
        else:
            eligible[mid] = rid
    expected = Expected(eligible=eligible, blocked=blocked, warned=frozenset(warned))
    return b.dataset(*records, check=False), expected


def single_run(data: Dataset) -> Dataset:
    """The end state of one undisturbed run over ``data`` (in memory)."""
    store = InMemoryStore(data)
    RequestProcessor(store.unit_of_work, clock=FixedClock(NOW)).run()
    return store.snapshot()


# ----------------------------------------------------------------------------- checks


def check_exactly_once(
    expected: Expected, reports: list[dict[str, Any]], before: Dataset, after: Dataset
) -> None:
    """Each eligible request carried out by exactly one run, once; the rest left open once."""
    for report in reports:
        assert "errors" not in report, report.get("errors")
        assert report["as_of"] == TODAY.isoformat()
    first, second = (set(r["completed"]) for r in reports)
    assert first.isdisjoint(second)
    assert first | second == set(expected.eligible.values())
    still = {o["request_id"]: o["blockers"] for r in reports for o in r["still_open"]}
    assert still == {rid: [code] for rid, code in expected.blocked.values()}

    requests = {r.member_id: r for r in after.erasure_requests}
    entries = {a.id: a for a in after.audit}
    assert Counter(a.member_id for a in after.audit) == Counter(list(expected.eligible))
    for member_id, request_id in expected.eligible.items():
        request = requests[member_id]
        assert (request.id, request.status) == (request_id, RequestStatus.COMPLETED)
        assert request.audit_entry_id is not None
        entry = entries[request.audit_entry_id]
        assert (entry.member_id, entry.mode, entry.actor_id) == (
            member_id,
            AnonymizationMode.REQUEST,
            None,
        )
        assert (entry.at, entry.as_of) == (NOW, TODAY)
    for member_id, (request_id, _) in expected.blocked.items():
        assert (requests[member_id].id, requests[member_id].status) == (
            request_id,
            RequestStatus.OPEN,
        )
    events = [m for m in after.outbox if m.kind is OutboxKind.MEMBER_ANONYMIZED]
    assert sorted((m.member_id, m.request_id, m.mode) for m in events) == sorted(
        (mid, rid, AnonymizationMode.REQUEST) for mid, rid in expected.eligible.items()
    )
    notices = Counter((m.request_id, m.notice.kind) for m in after.outbox if m.notice is not None)
    assert all(n == 1 for n in notices.values()), notices
    completed = {rid for rid, kind in notices if kind is NoticeKind.COMPLETED}
    assert completed == set(expected.eligible.values())
    watch = Counter((r.request_id, r.kind) for r in after.reminders if r.request_id is not None)
    assert watch
    assert all(n == 1 for n in watch.values()), watch
    unpaid = Counter(r.member_id for r in after.reminders if r.kind == "unpaid_purchases")
    assert unpaid == Counter(expected.warned)
    anonymized = {m.id for m in after.members if m.anonymized_at is not None}
    assert anonymized == set(expected.eligible)
    assert comparable(after) == comparable(single_run(before))


@pytest.fixture
def pg_schemas(postgres_server: PgServer) -> Iterator[PgSchemas]:
    """Schemas of their own for one test (fails under CI and skips elsewhere without a server)."""
    schemas = PgSchemas(postgres_server.url)
    try:
        yield schemas
    finally:
        schemas.drop()


def filled(url: Any, data: Dataset) -> SqlStore:
    """A store at ``url`` holding the schema and ``data``."""
    store = SqlStore.open(url)
    store.create_schema()
    store.load(data)
    return store


# ---------------------------------------------------------------------------- threads


class HeldAfterFirstBatch:
    """A unit-of-work factory that waits before the second batch of a run begins.

    A processing run opens one unit to read the clubs, then one per batch:
    the third unit is the second batch's.
    """

    def __init__(self, factory: Callable[[], Any], wait: Callable[[], Any]) -> None:
        self._factory = factory
        self._wait = wait
        self._count = 0

    def __call__(self) -> Any:
        self._count += 1
        if self._count == 3:
            self._wait()
        return self._factory()


def test_two_processing_threads_carry_out_each_request_exactly_once(
    pg_schemas: PgSchemas,
) -> None:
    """Two runs in threads, each with its own engine, share the open requests without overlap."""
    data, expected = population(SIZE)
    url = pg_schemas.new()
    setup = filled(url, data)
    rendezvous = threading.Barrier(2, timeout=DEADLINE)
    results: list[ProcessReport | BaseException] = []

    def run() -> None:
        with SqlStore.open(url) as store:
            factory = HeldAfterFirstBatch(store.unit_of_work, rendezvous.wait)
            processor = RequestProcessor(factory, clock=FixedClock(NOW), batch_size=BATCH)
            try:
                results.append(processor.run())
            except BaseException as exc:
                rendezvous.abort()
                results.append(exc)

    after = run_twice_side_by_side(run, setup, "processing")
    failures = [r for r in results if not isinstance(r, ProcessReport)]
    assert not failures, failures
    reports = [r.as_json() for r in results if isinstance(r, ProcessReport)]
    assert len(reports) == 2
    check_exactly_once(expected, reports, data, after)


# -------------------------------------------------------------------------- processes

PROCESSOR_SCRIPT: Final = """
import datetime as dt
import json
import sys

from member_anonymization.adapters.sql import SqlStore
from member_anonymization.erasure import RequestProcessor
from member_anonymization.testing import FixedClock

url, batch_size, now = sys.argv[1:]
store = SqlStore.open(url)
units = 0


def factory():
    global units
    units += 1
    if units == 3:
        print(json.dumps({"done": "first batch"}), flush=True)
        sys.stdin.readline()
    return store.unit_of_work()


processor = RequestProcessor(
    factory, clock=FixedClock(dt.datetime.fromisoformat(now)), batch_size=int(batch_size)
)
print(json.dumps({"report": processor.run().as_json()}), flush=True)
store.dispose()
"""
"""A processing run in a child process: a line after its first batch (then it waits for
one on stdin), and a line with the report."""


class ProcessorWorker(Worker):
    """A processing run in a child process, its output read line by line."""

    def __init__(self, url: str, *, batch_size: int) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, env.get("PYTHONPATH")) if p)
        self._errors: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-c", PROCESSOR_SCRIPT, url, str(batch_size), NOW.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_errors, daemon=True),
        ]
        for reader in self._readers:
            reader.start()


def test_two_processing_processes_carry_out_each_request_exactly_once(
    pg_schemas: PgSchemas,
) -> None:
    """Two runs in separate processes share the open requests without overlap."""
    data, expected = population(SIZE)
    url = pg_schemas.new()
    pair: list[ProcessorWorker] = []
    with filled(url, data) as store:
        try:
            deadline = time.monotonic() + DEADLINE
            pair = [ProcessorWorker(url_text(url), batch_size=BATCH) for _ in range(2)]
            for worker in pair:
                assert worker.message(deadline) == {"done": "first batch"}
            for worker in pair:
                worker.release()
            reports = [w.report(deadline) for w in pair]
        finally:
            for worker in pair:
                worker.close()
        after = store.dump()
    check_exactly_once(expected, reports, data, after)

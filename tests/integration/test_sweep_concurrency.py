"""Two retention sweeps at once on PostgreSQL: every due member is anonymized exactly once.

The sweeps run against the same schema either as two OS processes or as two
threads with their own engines. Both are held at their first batch until the
other has finished one too, so that the rest of the two runs overlap for sure.
The helpers here (the population, the worker process, the PostgreSQL schemas)
also serve ``test_sweep_kill.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import pytest

import member_anonymization
from member_anonymization import RetentionSweep, SweepProgress, SweepReport
from member_anonymization.domain import AnonymizationMode, NoteType
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock, InMemoryStore
from tests import builders as b

pytest.importorskip("sqlalchemy")

from sqlalchemy.engine import URL, make_url

from member_anonymization.adapters.sql import SqlStore, create_sql_engine
from tests.backends import PgServer

NOW: Final = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
"""The instant every sweep of these tests records."""
AS_OF: Final = dt.date(2026, 11, 27)
LONG_AGO: Final = dt.date(2020, 12, 31)
"""The end of every due member's contract: due under both clubs' settings."""
RECENTLY: Final = dt.date(2026, 6, 30)
"""The end of a contract that is not due yet under either setting."""

DEADLINE: Final = 45.0
"""Seconds a test waits for its sweeps before declaring them stuck."""

_SRC: Final = str(Path(member_anonymization.__file__).resolve().parents[1])


# ------------------------------------------------------------------------- population


@attrs.frozen(kw_only=True)
class Expected:
    """What a sweep on :data:`AS_OF` must do to a :func:`population`.

    Attributes:
        due: Every member whose retention time has passed.
        eligible: The due members that nothing blocks.
        blocked: The other due members, with the code that keeps each.
        warned: The eligible members left with an ``unpaid_purchases`` reminder.
    """

    due: frozenset[str]
    eligible: frozenset[str]
    blocked: Mapping[str, str]
    warned: frozenset[str]


def population(size: int) -> tuple[Dataset, Expected]:
    """``size`` members with full profiles; seven in ten are due, five in ten eligible.

    By the last digit of the member's number: 0, 1, 2, 4 due and eligible; 3 due
    and eligible with an unpaid purchase; 5 due but money in the wallet; 6 due
    but restricted; 9 due but an open collection case; 7 not due (contract
    ended recently); 8 not due (open-ended contract). Home clubs alternate by
    tens: ``c1`` keeps data 24 months, ``c2`` (in another time zone) 12.
    """
    records: list[Any] = [
        b.club("c1", retention_months=24),
        b.club("c2", tz="America/New_York", uses_debt_collection=False, retention_months=12),
        b.employee("e1"),
    ]
    due: set[str] = set()
    eligible: set[str] = set()
    blocked: dict[str, str] = {}
    warned: set[str] = set()
    for i in range(size):
        kind = i % 10
        mid = f"m{i:05d}"
        home = "c1" if (i // 10) % 2 == 0 else "c2"
        end: dt.date | None = {7: RECENTLY, 8: None}.get(kind, LONG_AGO)
        records += [
            b.member(mid, home_club_id=home, restrict_processing=kind == 6),
            b.contract(f"k-{mid}", member_id=mid, club_id=home, start=dt.date(2019, 1, 1), end=end),
            b.visit(f"v-{mid}", member_id=mid, club_id=home),
            b.invoice(f"f-{mid}", member_id=mid, club_id=home),
            b.measurement(f"ms-{mid}", member_id=mid),
            b.exercise(f"x-{mid}", member_id=mid),
            b.note(f"nh-{mid}", member_id=mid),
            b.note(f"ng-{mid}", member_id=mid, note_type=NoteType.GENERAL),
            b.log_entry(f"l-{mid}", member_id=mid),
            b.document(f"d-{mid}", member_id=mid),
        ]
        if kind == 3:
            records.append(b.purchase(f"p-{mid}", member_id=mid, club_id=home))
            warned.add(mid)
        if kind == 5:
            records.append(b.wallet("25.00", member_id=mid))
            blocked[mid] = "wallet_funds"
        if kind == 6:
            blocked[mid] = "processing_restricted"
        if kind == 9:
            records.append(
                b.collection_case(f"w-{mid}", member_id=mid, club_id=home, closed_on=None)
            )
            blocked[mid] = "open_collection_case"
        if kind not in (7, 8):
            due.add(mid)
            if mid not in blocked:
                eligible.add(mid)
    expected = Expected(
        due=frozenset(due),
        eligible=frozenset(eligible),
        blocked=blocked,
        warned=frozenset(warned),
    )
    return b.dataset(*records, check=False), expected


def comparable(data: Dataset) -> tuple[Any, ...]:
    """The dataset without the generated ids and instants of reminders, audit and outbox."""
    reminders = sorted(
        (r.member_id, r.club_id, r.kind, r.currency or "", str(r.amount)) for r in data.reminders
    )
    audit = sorted(
        (
            a.member_id,
            a.actor_id or "",
            "" if a.mode is None else a.mode.value,
            a.action.value,
            () if a.removed is None else attrs.astuple(a.removed),
        )
        for a in data.audit
    )
    outbox = sorted(
        (m.member_id, m.kind.value, m.request_id or "", "" if m.mode is None else m.mode.value)
        for m in data.outbox
    )
    return (
        attrs.evolve(data.sorted(), reminders=(), audit=(), outbox=()),
        reminders,
        audit,
        outbox,
    )


def single_run(data: Dataset) -> Dataset:
    """The end state of one uninterrupted sweep over ``data`` (in memory)."""
    store = InMemoryStore(data)
    RetentionSweep(store.unit_of_work, clock=FixedClock(NOW)).run(as_of=AS_OF)
    return store.snapshot()


# ----------------------------------------------------------------------- a worker process

WORKER_SCRIPT: Final = """
import datetime as dt
import json
import sys

from member_anonymization import RetentionSweep
from member_anonymization.adapters.sql import SqlStore
from member_anonymization.testing import FixedClock

url, batch_size, now, as_of, rendezvous = sys.argv[1:]
store = SqlStore.open(url)
waiting = rendezvous == "yes"


def progress(p):
    global waiting
    print(json.dumps({"done": p.done, "anonymized": p.anonymized}), flush=True)
    if waiting:
        waiting = False
        sys.stdin.readline()


sweep = RetentionSweep(
    store.unit_of_work,
    clock=FixedClock(dt.datetime.fromisoformat(now)),
    batch_size=int(batch_size),
)
report = sweep.run(as_of=dt.date.fromisoformat(as_of), progress=progress)
print(json.dumps({"report": report.as_json()}), flush=True)
store.dispose()
"""
"""A sweep in a child process: one JSON line per batch, then one with the report.

With ``rendezvous`` it waits for a line on stdin after its first batch.
"""


class Worker:
    """A sweep running in a child process, its output read line by line.

    Args:
        url: The database (a SQLAlchemy URL, or a SQLite file path).
        batch_size: Members per unit of work.
        rendezvous: Wait after the first batch until :meth:`release`.
    """

    def __init__(self, url: str, *, batch_size: int, rendezvous: bool = False) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, env.get("PYTHONPATH")) if p)
        self._errors: list[str] = []
        args = (url, str(batch_size), NOW.isoformat(), AS_OF.isoformat())
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, *args, "yes" if rendezvous else "no"],
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

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._errors.append(line)

    def stderr(self) -> str:
        """What the child wrote to stderr so far."""
        return "".join(self._errors)

    def message(self, deadline: float) -> dict[str, Any]:
        """The next JSON line; fails the test at the deadline or when the child exits."""
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail("the sweep process did not answer in time (stuck or deadlocked)")
        if line is None:
            self.process.wait()
            pytest.fail(f"the sweep process exited early:\n{self.stderr()}")
        message: dict[str, Any] = json.loads(line)
        return message

    def release(self) -> None:
        """Let a worker waiting at its rendezvous go on."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def report(self, deadline: float) -> dict[str, Any]:
        """The report, once the sweep has finished (progress lines are skipped)."""
        while "report" not in (message := self.message(deadline)):
            pass
        self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        assert self.process.returncode == 0, self.stderr()
        report: dict[str, Any] = message["report"]
        return report

    def kill(self) -> None:
        """Kill the child at once (SIGKILL) and reap it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        """Kill the child if it still runs; release the pipes."""
        if self.process.poll() is None:
            self.kill()
        for reader in self._readers:
            reader.join(timeout=DEADLINE)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def workers() -> Iterator[Callable[..., Worker]]:
    """Starts sweep processes; kills whatever still runs at the end of the test."""
    started: list[Worker] = []

    def start(url: str, *, batch_size: int, rendezvous: bool = False) -> Worker:
        worker = Worker(url, batch_size=batch_size, rendezvous=rendezvous)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.close()


# --------------------------------------------------------------------- PostgreSQL schemas


class PgSchemas:
    """Fresh schemas on the test server for one test; every one dropped afterwards.

    Every connection made through :meth:`new` carries the application name
    :attr:`tag`, so that the connections of a killed process can be waited for.
    """

    def __init__(self, server_url: str) -> None:
        self._server = make_url(server_url)
        self._admin = create_sql_engine(self._server)
        self.tag = f"ma_sweep_{os.getpid()}_{secrets.token_hex(4)}"
        self._names: list[str] = []

    def new(self) -> URL:
        """The URL of a new, empty schema (no tables yet)."""
        name = f"{self.tag}_{len(self._names)}"
        with self._admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        self._names.append(name)
        return self._server.update_query_dict(
            {"options": f"-csearch_path={name}", "application_name": self.tag}
        )

    def backends(self) -> int:
        """How many server connections of this test are open now."""
        with self._admin.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %(tag)s",
                {"tag": self.tag},
            ).scalar_one()
        return int(found)

    def wait_for_backends(self, at_most: int, *, timeout: float = 15.0) -> None:
        """Wait until at most ``at_most`` connections of this test remain."""
        deadline = time.monotonic() + timeout
        while (left := self.backends()) > at_most:
            if time.monotonic() > deadline:
                pytest.fail(f"{left} connections of a finished sweep are still open")
            time.sleep(0.05)

    def drop(self) -> None:
        """End this test's connections and drop its schemas."""
        with self._admin.begin() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %(tag)s",
                {"tag": self.tag},
            )
            for name in self._names:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self._admin.dispose()


@pytest.fixture
def pg_schemas(postgres_server: PgServer) -> Iterator[PgSchemas]:
    """Schemas of their own for one test (fails under CI and skips elsewhere without a server)."""
    schemas = PgSchemas(postgres_server.url)
    try:
        yield schemas
    finally:
        schemas.drop()


def url_text(url: URL) -> str:
    """The URL as a child process needs it (password included)."""
    return url.render_as_string(hide_password=False)


# --------------------------------------------------------------------------------- checks


def run_twice_side_by_side(run: Callable[[], None], setup: SqlStore, what: str) -> Dataset:
    """Run ``run`` in two threads at once; the database afterwards (``setup`` is then disposed)."""
    threads = [threading.Thread(target=run, daemon=True) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE)
        assert not any(t.is_alive() for t in threads), f"a {what} thread is stuck"
        return setup.dump()
    finally:
        setup.dispose()


def check_exactly_once(
    expected: Expected, reports: list[dict[str, Any]], before: Dataset, after: Dataset
) -> None:
    """Each due and eligible member anonymized by exactly one of the sweeps, and only once."""
    for report in reports:
        assert "errors" not in report
        named = (
            set(report["anonymized"])
            | {s["member_id"] for s in report["skipped"]}
            | set(report.get("held_elsewhere", ()))
        )
        assert named <= expected.due
        assert report["due"] == len(named)
    first, second = (set(r["anonymized"]) for r in reports)
    assert first.isdisjoint(second)
    assert first | second == expected.eligible
    skipped = [{s["member_id"]: s["blockers"] for s in r["skipped"]} for r in reports]
    for member_id, code in expected.blocked.items():
        codes = [found[member_id] for found in skipped if member_id in found]
        assert codes, f"blocked member {member_id} is in neither report"
        assert all(c == [code] for c in codes)

    audit = Counter(a.member_id for a in after.audit)
    assert audit == Counter(expected.eligible)
    assert all(
        a.mode is AnonymizationMode.RETENTION and a.actor_id is None and a.at == NOW
        for a in after.audit
    )
    assert Counter(r.member_id for r in after.reminders) == Counter(expected.warned)
    assert {m.id for m in after.members if m.anonymized_at is not None} == expected.eligible
    assert comparable(after) == comparable(single_run(before))


SIZE: Final = 300
BATCH: Final = 7

pytestmark = pytest.mark.postgres


def test_two_sweep_processes_anonymize_each_member_exactly_once(
    pg_schemas: PgSchemas, workers: Callable[..., Worker]
) -> None:
    """Two sweep processes on one PostgreSQL schema share the due members without overlap."""
    data, expected = population(SIZE)
    url = pg_schemas.new()
    with SqlStore.open(url) as store:
        store.create_schema()
        store.load(data)
        deadline = time.monotonic() + DEADLINE
        pair = [workers(url_text(url), batch_size=BATCH, rendezvous=True) for _ in range(2)]
        for worker in pair:
            worker.message(deadline)  # both have done their first batch
        for worker in pair:
            worker.release()
        reports = [w.report(deadline) for w in pair]
        after = store.dump()
    check_exactly_once(expected, reports, data, after)


def test_two_sweep_threads_anonymize_each_member_exactly_once(pg_schemas: PgSchemas) -> None:
    """Two sweeps in threads, each with its own engine, share the due members without overlap."""
    data, expected = population(SIZE)
    url = pg_schemas.new()
    setup = SqlStore.open(url)
    setup.create_schema()
    setup.load(data)
    rendezvous = threading.Barrier(2, timeout=DEADLINE)
    results: list[SweepReport | BaseException] = []

    def run() -> None:
        met = False

        def progress(_: SweepProgress) -> None:
            nonlocal met
            if not met:
                met = True
                rendezvous.wait()

        with SqlStore.open(url) as store:
            sweep = RetentionSweep(store.unit_of_work, clock=FixedClock(NOW), batch_size=BATCH)
            try:
                results.append(sweep.run(as_of=AS_OF, progress=progress))
            except BaseException as exc:
                rendezvous.abort()
                results.append(exc)

    after = run_twice_side_by_side(run, setup, "sweep")
    failures = [r for r in results if not isinstance(r, SweepReport)]
    assert not failures, failures
    reports = [r.as_json() for r in results if isinstance(r, SweepReport)]
    assert len(reports) == 2
    check_exactly_once(expected, reports, data, after)

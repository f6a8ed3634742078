"""Throughput and peak memory of the retention sweep, against a hand-written SQL floor.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_sweep.py [--members 10000 100000] [--postgres URL]
        [--batch-size 200] [--profile DIR]
    .venv/bin/python benchmarks/bench_sweep.py --postgres URL --workers 1 2 4 [--members N]

For each N it generates N members into a SQLite file (and, with ``--postgres``,
into a new PostgreSQL database made for the run and dropped afterwards; the
URL's user needs the CREATEDB privilege), copies it, and times on the two
identical copies:

* ``library``: ``RetentionSweep(store.unit_of_work).run(as_of=...)`` on the
  reference SQL adapter, through the public API;
* ``floor``: the same anonymization written by hand as a few set-based SQL
  statements in one transaction (find the due and eligible members, insert
  their audit entries and reminders, replace their personal data and mark them
  anonymized, delete their photos, log entries, documents, measurements,
  exercises and "training and health" notes).

Each side runs in a fresh child process; the time is that of the work alone
(after the imports), and the memory is the child's peak resident set size (the
whole process: interpreter, libraries and SQLite's page cache included),
printed with the figure measured just before the work started. On Linux it is
``VmHWM`` of ``/proc/self/status``, the quantity ``ru_maxrss`` reports, read
there because ``ru_maxrss`` of a child also counts its parent's pages at the
fork; elsewhere ``resource.getrusage(RUSAGE_SELF).ru_maxrss``. Afterwards the
two copies must hold the same end state (the ids of the audit entries and
reminders aside), or the run fails.

Every member has two contracts, 20 visits, three notes (two "training and
health", one general), two invoices (one line each), a log entry, a document,
a photo, a measurement, an exercise and a wallet. Half of the members are due
(their last contract ended in 2022, the clubs keep data 24 months); among
them 2% have money in the wallet, 1% restrict processing and 1% have an open
collection case (all blocked), and 5% have an unpaid purchase (anonymized with
a reminder). The other half's last contract ended in 2026 or is open-ended.
Rows are written straight into the reference schema (``executemany`` on
SQLite, ``COPY`` on PostgreSQL), encoded by the schema's own column types.

Under the table each N gets a line with the statements each side sent (one
``executemany`` counts once) and the CPU time of each side's own process, and
on PostgreSQL that of its server process (read from ``/proc``: a local server
on Linux only).

``--profile DIR`` also runs the library side under ``cProfile`` on a third
copy (not timed) and writes its statistics to ``DIR/library-<backend>-<N>.prof``.

``--workers N [N ...]`` measures something else, on PostgreSQL only: for each
N, N library sweeps in N processes started together on one copy of the
database. It prints their aggregate throughput (members anonymized by all of
them over the time from the first start to the last end) and how many members
a worker found held by another. It checks that the workers' counts add up to
a single worker's on another copy, that every anonymized member has exactly
one audit entry, and that the copy ends in the state of the single run.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from member_anonymization import RetentionSweep
from member_anonymization.adapters.sql import SqlStore, create_sql_engine, metadata
from member_anonymization.domain import Club, Employee, Network, Permission, RetentionSetting
from member_anonymization.retention import DEFAULT_BATCH_SIZE, due_threshold
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock

AS_OF = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)
"""The instant both sides record (2026-11-27 in the clubs' time zone)."""
RETENTION_MONTHS = 24
LOCAL = dt.timezone(dt.timedelta(hours=1))
"""The UTC offset of every generated timestamp (Warsaw in winter)."""
CHUNK = 5_000
"""Members generated and written at a time."""
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
DOCUMENT = b"%PDF-1.7\n" + bytes(range(256)) * 8


# ---------------------------------------------------------------------------- generation


class Encoder:
    """Turns Python values into what the driver receives, through the schema's column types."""

    def __init__(self, engine: Engine) -> None:
        self._dialect = engine.dialect
        self._memo: dict[tuple[str, str, Any], Any] = {}

    def __call__(self, table: str, column: str, value: Any) -> Any:
        """The value as the adapter's type for that column would bind it (memoized)."""
        key = (table, column, value)
        if key not in self._memo:
            kind = metadata.tables[table].c[column].type.dialect_impl(self._dialect)
            process = kind.bind_processor(self._dialect)
            self._memo[key] = value if process is None or value is None else process(value)
        return self._memo[key]


Rows = dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]


def member_kinds(i: int) -> dict[str, bool]:
    """What the i-th member is like (see the module's description)."""
    due = i % 2 == 0
    return {
        "due": due,
        "wallet_funds": i % 50 == 4,
        "restricted": i % 100 == 8,
        "open_case": i % 100 == 12,
        "unpaid_purchase": i % 20 == 6,
        "open_ended": not due and i % 4 == 1,
    }


def generate(enc: Encoder, start: int, stop: int) -> Rows:
    """The rows of members ``start`` to ``stop - 1``, per table, encoded for the database."""
    day = dt.date
    visit_times = [  # seven patterns of 20 visits, three days apart
        dt.datetime(2019, 1, 2, 7, tzinfo=LOCAL) + dt.timedelta(days=3 * k, minutes=m)
        for m in (0, 17, 34, 51, 68, 85, 102)
        for k in range(20)
    ]
    entered = [enc("visits", "entered_at", t) for t in visit_times]
    left = [enc("visits", "left_at", t + dt.timedelta(minutes=90)) for t in visit_times]
    note_types = ("training_and_health", "general", "training_and_health")
    note_at = enc("notes", "created_at", dt.datetime(2019, 2, 1, 12, tzinfo=LOCAL))
    log_at = enc("log_entries", "at", dt.datetime(2019, 1, 1, 9, tzinfo=LOCAL))
    doc_at = enc("documents", "uploaded_at", dt.datetime(2019, 1, 1, 9, 5, tzinfo=LOCAL))
    bought_at = enc("purchases", "bought_at", dt.datetime(2021, 3, 1, 10, tzinfo=LOCAL))
    offset = 3600
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
    for i in range(start, stop):
        kind = member_kinds(i)
        mid = f"m{i:07d}"
        home = "c1" if i % 3 else "c2"
        first, last = f"Name{i}", f"Surname{i}"
        rows["members"].append(
            (
                mid,
                home,
                enc("members", "registered_on", day(2015, 1, 1) + dt.timedelta(days=i % 1000)),
                first,
                last,
                f"member{i}@example.com",
                f"+48600{i % 1_000_000:06d}",
                enc("members", "birth_date", day(1960, 1, 1) + dt.timedelta(days=i % 15000)),
                f"{i:011d}",
                f"Street {i % 500}/{i % 40}",
                "00-238",
                "Warszawa",
                "PL",
                enc("members", "restrict_processing", kind["restricted"]),
            )
        )
        rows["member_photos"].append((mid, "image/jpeg", enc("member_photos", "data", PHOTO)))
        if kind["due"]:
            last_end: dt.date | None = day(2022, 6, 30)
        else:
            last_end = None if kind["open_ended"] else day(2026, 6, 30)
        for suffix, begin, end in (
            ("a", day(2016, 1, 1), day(2016, 12, 31)),
            ("b", day(2019, 1, 1), last_end),
        ):
            rows["contracts"].append(
                (
                    f"k{i}{suffix}",
                    mid,
                    home,
                    f"Open {suffix.upper()}",
                    enc("contracts", "start_on", begin),
                    enc("contracts", "end_on", end),
                )
            )
        balance = Decimal("25.00") if kind["wallet_funds"] else Decimal("0.00")
        rows["wallets"].append((mid, enc("wallets", "balance", balance), "PLN"))
        if kind["open_case"]:
            rows["collection_cases"].append(
                (f"w{i}", mid, home, enc("collection_cases", "opened_on", day(2023, 1, 10)))
            )
        if kind["unpaid_purchase"]:
            rows["purchases"].append(
                (
                    f"p{i}",
                    mid,
                    home,
                    bought_at,
                    offset,
                    "Water",
                    enc("purchases", "amount", Decimal("4.00")),
                    "PLN",
                    enc("purchases", "paid", False),
                )
            )
        for x in range(2):
            invoice_id = f"f{i}-{x}"
            rows["invoices"].append(
                (
                    invoice_id,
                    f"FV/{i}/{x}",
                    mid,
                    home,
                    enc("invoices", "issued_on", day(2016 + 3 * x, 1, 1)),
                    f"{first} {last}",
                    f"Street {i % 500}/{i % 40}, 00-238 Warszawa",
                    enc("invoices", "total", Decimal("129.00")),
                    "PLN",
                )
            )
            rows["invoice_lines"].append(
                (
                    invoice_id,
                    0,
                    "Open 12M",
                    enc("invoice_lines", "quantity", Decimal("1")),
                    enc("invoice_lines", "unit_price", Decimal("129.00")),
                    "23",
                )
            )
        for k in range(20):
            at = (i % 7) * 20 + k
            rows["visits"].append((f"v{i}-{k}", mid, home, entered[at], offset, left[at], offset))
        for k, note_type in enumerate(note_types):
            rows["notes"].append(
                (f"n{i}-{k}", mid, note_type, note_at, offset, f"Note {k} on {first}")
            )
        rows["log_entries"].append(
            (f"l{i}", mid, log_at, offset, f"Contract signed by {first} {last}")
        )
        rows["documents"].append(
            (
                f"d{i}",
                mid,
                f"scan-{last}.pdf",
                doc_at,
                offset,
                "application/pdf",
                enc("documents", "data", DOCUMENT),
            )
        )
        rows["measurements"].append(
            (
                f"ms{i}",
                mid,
                enc("measurements", "taken_on", day(2019, 2, 1)),
                "weight_kg",
                enc("measurements", "value", Decimal("82.5")),
            )
        )
        rows["exercises"].append(
            (
                f"x{i}",
                mid,
                enc("exercises", "planned_on", day(2019, 2, 1)),
                "Squat",
                5,
                5,
                enc("exercises", "weight_kg", Decimal("80")),
            )
        )
    return {name: (COLUMNS[name], rows[name]) for name in COLUMNS}


COLUMNS: dict[str, tuple[str, ...]] = {
    "members": (
        "id",
        "home_club_id",
        "registered_on",
        "first_name",
        "last_name",
        "email",
        "phone",
        "birth_date",
        "national_id",
        "address_street",
        "address_postal_code",
        "address_city",
        "address_country",
        "restrict_processing",
    ),
    "member_photos": ("member_id", "content_type", "data"),
    "contracts": ("id", "member_id", "club_id", "name", "start_on", "end_on"),
    "wallets": ("member_id", "balance", "currency"),
    "collection_cases": ("id", "member_id", "club_id", "opened_on"),
    "purchases": (
        "id",
        "member_id",
        "club_id",
        "bought_at",
        "bought_at_offset",
        "description",
        "amount",
        "currency",
        "paid",
    ),
    "invoices": (
        "id",
        "number",
        "member_id",
        "club_id",
        "issued_on",
        "buyer_name",
        "buyer_address",
        "total",
        "currency",
    ),
    "invoice_lines": (
        "invoice_id",
        "position",
        "description",
        "quantity",
        "unit_price",
        "vat_rate",
    ),
    "visits": (
        "id",
        "member_id",
        "club_id",
        "entered_at",
        "entered_at_offset",
        "left_at",
        "left_at_offset",
    ),
    "notes": ("id", "member_id", "note_type", "created_at", "created_at_offset", "text"),
    "log_entries": ("id", "member_id", "at", "at_offset", "text"),
    "documents": (
        "id",
        "member_id",
        "name",
        "uploaded_at",
        "uploaded_at_offset",
        "content_type",
        "data",
    ),
    "measurements": ("id", "member_id", "taken_on", "kind", "value"),
    "exercises": ("id", "member_id", "planned_on", "name", "sets", "reps", "weight_kg"),
}
"""The columns written per table (dependencies first), in the order of :func:`generate`'s rows."""


def organisation() -> Dataset:
    """The network, its two clubs and an employee (loaded through ``SqlStore.load``)."""
    setting = RetentionSetting(months_after_contract_end=RETENTION_MONTHS)
    return Dataset(
        network=Network(id="net-1", name="Bench Network"),
        clubs=(
            Club(
                id="c1",
                name="Centrum",
                timezone="Europe/Warsaw",
                uses_debt_collection=True,
                retention=setting,
            ),
            Club(
                id="c2",
                name="Mokotow",
                timezone="Europe/Warsaw",
                uses_debt_collection=False,
                retention=setting,
            ),
        ),
        employees=(Employee(id="e1", name="Desk", permissions=frozenset(Permission)),),
    )


def write_sqlite(engine: Engine, rows: Rows) -> None:
    """One transaction of ``executemany`` inserts on the adapter's own connection settings."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        for table, (columns, values) in rows.items():
            if values:
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
                )
        cursor.execute("COMMIT")
        cursor.close()
    finally:
        raw.close()


def write_postgres(engine: Engine, rows: Rows) -> None:
    """One transaction of ``COPY ... FROM STDIN``, table by table."""
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        with conn.cursor() as cursor:
            for table, (columns, values) in rows.items():
                if values:
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in values:
                            copy.write_row(row)
        conn.commit()
    finally:
        raw.close()


def populate(store: SqlStore, members: int) -> float:
    """Create the schema and fill it with ``members`` members; the seconds it took."""
    started = time.perf_counter()
    store.create_schema()
    store.load(organisation())
    enc = Encoder(store.engine)
    write = write_postgres if store.dialect == "postgresql" else write_sqlite
    for start in range(0, members, CHUNK):
        write(store.engine, generate(enc, start, min(members, start + CHUNK)))
    if store.dialect == "postgresql":
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------- floor

EFFECTIVE_END = """CASE WHEN {c}.terminated_on IS NULL THEN {c}.end_on
         WHEN {c}.end_on IS NULL THEN {c}.terminated_on
         WHEN {c}.terminated_on < {c}.end_on THEN {c}.terminated_on
         ELSE {c}.end_on END"""
CANCELLED = "({c}.terminated_on IS NOT NULL AND {c}.terminated_on < {c}.start_on)"

TARGETS = """
CREATE TEMP TABLE floor_targets AS
SELECT m.id AS id
FROM members AS m
LEFT JOIN (
    SELECT k.member_id AS member_id,
           MAX({end_k}) AS last_end,
           MAX(CASE WHEN ({end_k}) IS NULL THEN 1 ELSE 0 END) AS open_ended
    FROM contracts AS k
    WHERE NOT {cancelled_k}
    GROUP BY k.member_id
) AS e ON e.member_id = m.id
WHERE m.anonymized_at IS NULL
  AND NOT m.restrict_processing
  AND COALESCE(e.open_ended, 0) = 0
  AND COALESCE(e.last_end, m.registered_on) <= {threshold}
  AND NOT EXISTS (
    SELECT 1 FROM contracts AS c
    WHERE c.member_id = m.id AND NOT {cancelled_c}
      AND (c.start_on > :today OR ({end_c}) IS NULL OR ({end_c}) >= :today))
  AND NOT EXISTS (
    SELECT 1 FROM collection_cases AS w
    WHERE w.member_id = m.id AND (w.closed_on IS NULL OR w.closed_on > :today))
  AND NOT EXISTS (
    SELECT 1 FROM wallets AS x WHERE x.member_id = m.id AND CAST(x.balance AS NUMERIC) > 0)
  AND NOT EXISTS (
    SELECT 1 FROM installments AS i JOIN clubs AS cl ON cl.id = i.club_id
    WHERE i.member_id = m.id AND cl.uses_debt_collection
      AND i.due_on < :today AND (i.paid_on IS NULL OR i.paid_on > :today))
"""

AUDIT = """
INSERT INTO audit_entries (id, member_id, actor_id, at, at_offset, mode, action,
    removed_personal_data, removed_photo, removed_log_entries, removed_documents,
    removed_measurements, removed_exercises, removed_notes)
SELECT 'floor-' || t.id, t.id, NULL, :at, :at_offset, 'retention', 'anonymize', 1,
    (SELECT COUNT(*) FROM member_photos AS x WHERE x.member_id = t.id),
    (SELECT COUNT(*) FROM log_entries AS x WHERE x.member_id = t.id),
    (SELECT COUNT(*) FROM documents AS x WHERE x.member_id = t.id),
    (SELECT COUNT(*) FROM measurements AS x WHERE x.member_id = t.id),
    (SELECT COUNT(*) FROM exercises AS x WHERE x.member_id = t.id),
    (SELECT COUNT(*) FROM notes AS x
     WHERE x.member_id = t.id AND x.note_type = 'training_and_health')
FROM floor_targets AS t
"""

# One reminder per unpaid purchase: the generated data has at most one per member
# (the library sums them per club and currency) and no installments (no arrears).
REMINDERS = """
INSERT INTO reminders (id, member_id, club_id, kind, created_at, created_at_offset,
    amount, currency)
SELECT 'floor-' || p.id, p.member_id, p.club_id, 'unpaid_purchases', :at, :at_offset,
    p.amount, p.currency
FROM purchases AS p JOIN floor_targets AS t ON t.id = p.member_id
WHERE NOT p.paid
"""

MEMBERS = """
UPDATE members SET first_name = 'Anonymized', last_name = 'Member', email = NULL,
    phone = NULL, birth_date = NULL, national_id = NULL, address_street = NULL,
    address_postal_code = NULL, address_city = NULL, address_country = NULL,
    anonymized_at = :at, anonymized_at_offset = :at_offset
WHERE id IN (SELECT id FROM floor_targets)
"""

DELETES = [
    f"DELETE FROM {table} WHERE member_id IN (SELECT id FROM floor_targets){extra}"
    for table, extra in (
        ("member_photos", ""),
        ("log_entries", ""),
        ("documents", ""),
        ("measurements", ""),
        ("exercises", ""),
        ("notes", " AND note_type = 'training_and_health'"),
    )
]


def run_floor(conn: Connection) -> int:
    """The anonymization of every due and eligible member by hand, in one transaction."""
    date_type = metadata.tables["members"].c.registered_on.type
    at_type = metadata.tables["audit_entries"].c.at.type
    clubs = conn.execute(text("SELECT id, retention_months FROM clubs ORDER BY id")).all()
    whens = []
    params: dict[str, Any] = {"today": AS_OF, "at": NOW, "at_offset": 0}
    binds = [bindparam("today", type_=date_type), bindparam("at", type_=at_type)]
    for n, (club_id, months) in enumerate(clubs):
        if months is None:
            continue
        whens.append(f"WHEN :club{n} THEN :threshold{n}")
        params[f"club{n}"] = club_id
        params[f"threshold{n}"] = due_threshold(AS_OF, months)
        binds.append(bindparam(f"threshold{n}", type_=date_type))
    threshold = f"CASE m.home_club_id {' '.join(whens)} END" if whens else "NULL"
    targets = TARGETS.format(
        threshold=threshold,
        end_k=EFFECTIVE_END.format(c="k"),
        end_c=EFFECTIVE_END.format(c="c"),
        cancelled_k=CANCELLED.format(c="k"),
        cancelled_c=CANCELLED.format(c="c"),
    )

    def run(sql: str) -> None:
        names = set(re.findall(r":(\w+)", sql))
        statement = text(sql).bindparams(*(b for b in binds if b.key in names))
        conn.execute(statement, {k: v for k, v in params.items() if k in names})

    run(targets)
    run("CREATE UNIQUE INDEX floor_targets_id ON floor_targets (id)")
    if conn.dialect.name == "postgresql":
        run("ANALYZE floor_targets")
    for sql in (AUDIT, REMINDERS, MEMBERS, *DELETES):
        run(sql)
    count = conn.execute(text("SELECT COUNT(*) FROM floor_targets")).scalar_one()
    conn.commit()
    return int(count)


# -------------------------------------------------------------------------------- workers


def max_rss_mib() -> float:
    """The peak resident set size of this process so far, in MiB.

    On Linux ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` there also counts
    the parent's pages at the fork that started this process. Elsewhere ``ru_maxrss``.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for entry in status.splitlines():
        if entry.startswith("VmHWM:"):
            return int(entry.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_seconds(pids: set[int]) -> float | None:
    """CPU seconds of these PostgreSQL server processes so far (a local server on Linux).

    ``None`` for SQLite (no server process) or when ``/proc`` cannot tell.
    """
    if not pids:
        return None
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return total


def worker(
    side: str, db: str, batch_size: int, profile: str | None, *, shared: bool = False
) -> None:
    """Run one side on ``db`` and print one JSON line with the figures.

    ``shared``: other workers sweep the same database at once, so members held
    by them are expected (they anonymize those).
    """
    store = SqlStore.open(db)
    store.check_schema()
    statements = [0]
    backends: set[int] = set()

    @event.listens_for(store.engine, "before_cursor_execute")
    def count(*_: Any) -> None:
        statements[0] += 1  # an executemany counts once: one call of the driver

    if store.dialect == "postgresql":

        @event.listens_for(store.engine, "connect")
        def remember(dbapi_connection: Any, _: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])

        store.engine.dispose()  # the connections to come announce their server process
        with store.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    server_cpu = server_seconds(backends)

    before = max_rss_mib()
    began = time.time()
    cpu = time.process_time()
    started = time.perf_counter()
    held = 0
    if side == "library":
        sweep = RetentionSweep(store.unit_of_work, clock=FixedClock(NOW), batch_size=batch_size)
        if profile is None:
            report = sweep.run(as_of=AS_OF)
        else:
            profiler = cProfile.Profile()
            report = profiler.runcall(sweep.run, as_of=AS_OF)
            profiler.dump_stats(profile)
        if report.errors or (report.held_elsewhere and not shared):
            raise SystemExit("the sweep reported errors or members held elsewhere")
        anonymized = len(report.anonymized)
        held = len(report.held_elsewhere)
    else:
        with store.engine.connect() as conn:
            anonymized = run_floor(conn)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    ended = time.time()
    if server_cpu is not None:
        after = server_seconds(backends)
        server_cpu = None if after is None else after - server_cpu
    store.dispose()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "began": began,
                "ended": ended,
                "anonymized": anonymized,
                "held_elsewhere": held,
                "rss_before": before,
                "rss_peak": max_rss_mib(),
                "statements": statements[0],
                "cpu": cpu,
                "server_cpu": server_cpu,
            }
        )
    )


def worker_command(side: str, db: str, batch_size: int) -> list[str]:
    """The command line of a child process running one side on ``db``."""
    return [
        sys.executable,
        __file__,
        "--worker",
        side,
        "--db",
        db,
        "--batch-size",
        str(batch_size),
    ]


def figures_of(side: str, returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """The figures a child process printed (its last line), or exit with its error."""
    if returncode != 0:
        raise SystemExit(f"the {side} side failed:\n{stderr}")
    figures: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return figures


def spawn(side: str, db: str, batch_size: int, profile: Path | None = None) -> dict[str, Any]:
    """Run one side in a fresh child process and return its figures."""
    command = worker_command(side, db, batch_size)
    if profile is not None:
        command += ["--profile-file", str(profile)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    return figures_of(side, done.returncode, done.stdout, done.stderr)


def spawn_sweepers(count: int, db: str, batch_size: int) -> list[dict[str, Any]]:
    """Run ``count`` library sweeps on ``db`` at once, each in its own process."""
    command = [*worker_command("library", db, batch_size), "--shared"]
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    results = []
    for child in children:
        stdout, stderr = child.communicate()
        results.append(figures_of("library", child.returncode, stdout, stderr))
    return results


# ----------------------------------------------------------------------------- end state

END_STATE: dict[str, tuple[str, str]] = {
    "members": ("*", "id"),
    "member_photos": ("member_id", "member_id"),
    "log_entries": ("id", "id"),
    "documents": ("id", "id"),
    "measurements": ("id", "id"),
    "exercises": ("id", "id"),
    "notes": ("id", "id"),
    "audit_entries": (
        "member_id, actor_id, at, at_offset, mode, action, removed_personal_data, removed_photo, "
        "removed_log_entries, removed_documents, removed_measurements, removed_exercises, "
        "removed_notes",
        "member_id",
    ),
    "reminders": (
        "member_id, club_id, kind, created_at, created_at_offset, amount, currency",
        "member_id, club_id, kind",
    ),
    "contracts": ("id", "id"),
    "invoices": ("*", "id"),
    "visits": ("COUNT(*)", "1"),
}
"""What must be equal after both sides, per table: the columns compared and their order."""


def end_state(db: str) -> dict[str, str]:
    """A digest of every table's part of the end state (generated ids left out)."""
    engine = create_sql_engine(db)
    digests: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            for table, (columns, order) in END_STATE.items():
                digest = hashlib.sha256()
                result = conn.execution_options(yield_per=10_000).execute(
                    text(f"SELECT {columns} FROM {table} ORDER BY {order}")
                )
                for row in result:
                    digest.update(repr(tuple(row)).encode())
                digests[table] = digest.hexdigest()
    finally:
        engine.dispose()
    return digests


# ---------------------------------------------------------------------------------- runs

Copies = Callable[[int, int], AbstractContextManager[tuple[list[str], float]]]
"""Makes ``count`` identical databases of N members: their URLs, and the seconds generating took."""


@contextmanager
def sqlite_copies(folder: Path, members: int, count: int) -> Iterator[tuple[list[str], float]]:
    """Generate N members into a SQLite file and copy the file; delete them all afterwards."""
    paths = [folder / f"{members}-{n}.sqlite" for n in range(count)]
    store = SqlStore.open(paths[0])
    seconds = populate(store, members)
    store.dispose()  # the last connection to close checkpoints the write-ahead log
    try:
        for path in paths[1:]:
            for suffix in ("", "-wal"):
                if Path(f"{paths[0]}{suffix}").exists():
                    shutil.copyfile(f"{paths[0]}{suffix}", f"{path}{suffix}")
        yield [str(p) for p in paths], seconds
    finally:
        for path in folder.glob(f"{members}-*.sqlite*"):
            path.unlink()


@contextmanager
def postgres_copies(server: str, members: int, count: int) -> Iterator[tuple[list[str], float]]:
    """Generate N members into a new database and copy it as a template; drop them afterwards."""
    admin = create_sql_engine(server, isolation_level="AUTOCOMMIT")
    base = f"ma_bench_{secrets.token_hex(4)}"
    names = [f"{base}_{n}" for n in range(count)]
    urls = [make_url(server).set(database=n).render_as_string(hide_password=False) for n in names]
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{names[0]}"')
        store = SqlStore.open(urls[0])
        seconds = populate(store, members)
        store.dispose()
        for name in names[1:]:
            for attempt in range(50):
                try:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{names[0]}"')
                    break
                except OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.2)  # an autovacuum worker may still be on the template
        yield urls, seconds
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(backend: str, members: int, copies: Copies, args: argparse.Namespace) -> dict[str, Any]:
    """Both sides on identical copies; their figures, checked for the same end state."""
    count = 3 if args.profile is not None else 2
    with copies(members, count) as (urls, seconds):
        library = spawn("library", urls[0], args.batch_size)
        floor = spawn("floor", urls[1], args.batch_size)
        if library["anonymized"] != floor["anonymized"]:
            raise SystemExit(f"{backend} {members}: the two sides anonymized different numbers")
        mine, theirs = end_state(urls[0]), end_state(urls[1])
        differ = sorted(t for t in mine if mine[t] != theirs[t])
        if differ:
            raise SystemExit(f"{backend} {members}: the end states differ in {', '.join(differ)}")
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            stats = args.profile / f"library-{backend}-{members}.prof"
            spawn("library", urls[2], args.batch_size, stats)
            print(f"    (profile of the library side: {stats})")
    return {
        "backend": backend,
        "members": members,
        "generated": seconds,
        "library": library,
        "floor": floor,
    }


def measure_workers(
    server: str, members: int, counts: list[int], args: argparse.Namespace
) -> list[str]:
    """N sweep processes on one PostgreSQL database, for each N; the lines to print.

    Each N sweeps its own copy. Every due and eligible member must be anonymized
    exactly once (one audit entry each, the workers' counts adding up to the
    single run's) and the copy must end in the state of a single-worker run.
    """
    lines = []
    with postgres_copies(server, members, 1 + len(counts)) as (urls, _):
        single = spawn("library", urls[0], args.batch_size)
        expected = single["anonymized"]
        reference = end_state(urls[0])
        for count, url in zip(counts, urls[1:], strict=True):
            runs = spawn_sweepers(count, url, args.batch_size)
            seconds = max(r["ended"] for r in runs) - min(r["began"] for r in runs)
            anonymized = sum(r["anonymized"] for r in runs)
            held = sum(r["held_elsewhere"] for r in runs)
            problems = []
            if anonymized != expected:
                problems.append(f"the workers reported {anonymized} anonymized, not {expected}")
            engine = create_sql_engine(url)
            try:
                with engine.connect() as conn:
                    entries, distinct = conn.execute(
                        text(
                            "SELECT COUNT(*), COUNT(DISTINCT member_id) FROM audit_entries "
                            "WHERE action = 'anonymize'"
                        )
                    ).one()
                    marked = conn.execute(
                        text("SELECT COUNT(*) FROM members WHERE anonymized_at IS NOT NULL")
                    ).scalar_one()
            finally:
                engine.dispose()
            if not entries == distinct == marked == expected:
                problems.append(
                    f"{entries} audit entries for {distinct} members, {marked} marked, "
                    f"{expected} expected"
                )
            state = end_state(url)
            differ = sorted(t for t in state if state[t] != reference[t])
            if differ:
                problems.append(f"the end state differs from one worker's in {', '.join(differ)}")
            if problems:
                raise SystemExit(f"{count} workers, {members}: " + "; ".join(problems))
            lines.append(
                f"{count:>7} {members:>9,} {anonymized:>10,} {seconds:>9.2f} "
                f"{anonymized / seconds:>12,.0f} {held:>14,}   "
                "(each anonymized exactly once; end state = one worker's)"
            )
            print(lines[-1], flush=True)
    return lines


def work(result: dict[str, Any], batch_size: int) -> str:
    """The statements each side sent and the CPU time of its own process."""
    lib, flo = result["library"], result["floor"]
    due = result["members"] // 2  # every other member is due (see member_kinds)
    batches = max(1, -(-due // batch_size))  # besides: the plan and the last (short) page
    each = lib["statements"] / batches

    def cpu(side: dict[str, Any]) -> str:
        server = side.get("server_cpu")
        return f"{side['cpu']:.2f} s" + ("" if server is None else f" + server {server:.2f} s")

    return (
        f"statements: library {lib['statements']:,} (about {each:.0f} a batch "
        f"of {batch_size}), floor {flo['statements']}; CPU time: library {cpu(lib)}, "
        f"floor {cpu(flo)}"
    )


def rate(side: dict[str, Any]) -> float:
    """Anonymized members per second."""
    return float(side["anonymized"] / side["seconds"])


def line(result: dict[str, Any]) -> str:
    """One row of the table."""
    lib, flo = result["library"], result["floor"]
    memory = [f"{s['rss_peak']:.0f} ({s['rss_before']:.0f})" for s in (lib, flo)]
    return (
        f"{result['backend']:<10} {result['members']:>9,} {lib['anonymized']:>10,} "
        f"{lib['seconds']:>9.2f} {rate(lib):>9,.0f} {flo['seconds']:>8.2f} {rate(flo):>9,.0f} "
        f"{rate(lib) / rate(flo):>6.2f} {memory[0]:>11} {memory[1]:>11}"
    )


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--profile", type=Path, metavar="DIR", help="also profile the library")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        metavar="N",
        help="instead: N sweep processes at once on one PostgreSQL database (needs --postgres)",
    )
    parser.add_argument("--shared", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("library", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.db, args.batch_size, args.profile_file, shared=args.shared)
        return
    if args.workers:
        if not args.postgres or not answers(args.postgres):
            raise SystemExit("--workers needs --postgres URL of a server that answers")
        print(f"sweep workers on one PostgreSQL database (batch size {args.batch_size})")
        print("rate: anonymized members per second, all workers together, first start to last end")
        print(
            f"{'workers':>7} {'members':>9} {'anonymized':>10} {'seconds':>9} "
            f"{'aggregate/s':>12} {'held elsewhere':>14}"
        )
        for members in args.members:
            measure_workers(args.postgres, members, args.workers, args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, Copies]] = [("sqlite", partial(sqlite_copies, Path(tmp)))]
        if args.postgres:
            if answers(args.postgres):
                backends.append(("postgresql", partial(postgres_copies, args.postgres)))
            else:
                print("(no PostgreSQL server answers at the given URL: skipped)")
        print(f"retention sweep (batch size {args.batch_size}) against the hand-written SQL floor")
        print("rate: anonymized members per second; memory: peak RSS in MiB (before the work)")
        print(
            f"{'backend':<10} {'members':>9} {'anonymized':>10} {'library s':>9} {'lib rate':>9} "
            f"{'floor s':>8} {'fl rate':>9} {'ratio':>6} {'lib memory':>11} {'fl memory':>11}"
        )
        results = []
        for backend, copies in backends:
            for members in args.members:
                result = measure(backend, members, copies, args)
                results.append(result)
                print(f"{line(result)}   (generated in {result['generated']:.0f} s)", flush=True)
                print(f"           {work(result, args.batch_size)}", flush=True)
    for backend, _ in backends:
        mine = {r["members"]: r for r in results if r["backend"] == backend}
        if 10_000 in mine and 100_000 in mine:
            small, large = mine[10_000]["library"], mine[100_000]["library"]
            ratio = rate(large) / rate(mine[100_000]["floor"])
            growth = large["rss_peak"] / small["rss_peak"]
            print(
                f"{backend}: library/floor throughput at 100,000: {ratio:.2f} (target >= 0.33); "
                f"library peak RSS at 100,000 / at 10,000: {growth:.2f}x (target <= 1.5x)"
            )


def answers(url: str) -> bool:
    """Whether a database server answers at ``url``."""
    engine = create_sql_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError:
        return False
    finally:
        engine.dispose()
    return True


if __name__ == "__main__":
    main()

"""The demo: a fresh database with a realistic network, and the whole story.

It follows the product announcement: check a member that cannot be anonymized
and show why; export a member's data first; anonymize them; show the profile
before and after and that their invoice is unchanged; then run the retention job.
Last, a member with a running contract files an erasure request: it waits, the
member is told why and until when, and the daily processing run carries it out
the day after the contract ends (on simulated days, on a copy of the member's
records), leaving the event and the notices in the outbox.

The demo runs on a fixed date, :data:`DEMO_TODAY` in Warsaw: every service
gets a clock set to it, the data are dated relative to it from a fixed seed,
and ids come from a counter, so the demo tells the same story, with the same
numbers, on any real date.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from member_anonymization.anonymizer import (
    AnonymizationOptions,
    Anonymized,
    Anonymizer,
    NotPermitted,
    Refused,
)
from member_anonymization.domain import Member, OutboxKind, OutboxMessage, RequestChannel
from member_anonymization.erasure import RequestDesk, RequestProcessor, RequestReceived
from member_anonymization.export import Exported, Exporter, ExportOptions
from member_anonymization.profile import invoice_list, visible_tabs
from member_anonymization.retention import RetentionSweep
from member_anonymization.serialization import RECORD_KINDS, Dataset
from member_anonymization.testing import FixedClock, InMemoryStore

from . import _demo_data as data
from . import _render
from ._failures import writing_to

DAILY_RUN_HOUR = 6
"""The local hour of the simulated daily processing runs."""

DEMO_TIMEZONE: Final = "Europe/Warsaw"
DEMO_TODAY: Final = dt.date(2026, 11, 27)
"""The demo's "today", whatever the real date: the story and its numbers never change."""
DEMO_NOW: Final = dt.datetime.combine(DEMO_TODAY, dt.time(10), tzinfo=ZoneInfo(DEMO_TIMEZONE))
"""The demo's "now": ten in the morning of :data:`DEMO_TODAY` in Warsaw."""

EXPORT_FILE: Final = f"{data.STORY_MEMBER}-export.zip"
"""The export the demo writes (beside a SQLite demo database, else in the current folder)."""


def _counter_ids() -> Callable[[], str]:
    """Ids ``demo00001``, ``demo00002``, ... (the same on every run)."""
    numbers = itertools.count(1)
    return lambda: f"demo{next(numbers):05d}"


def _step(console: Console, number: int, title: str) -> None:
    console.print()
    console.rule(f"[bold cyan]{number}. {title}", align="left")


def _profile(console: Console, member: Member, title: str) -> None:
    p = member.personal
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="dim")
    table.add_column("value")
    address = "—"
    if p.address is not None:
        address = f"{p.address.street}, {p.address.postal_code} {p.address.city}"
    rows = (
        ("name", p.display_name),
        ("e-mail", p.email or "—"),
        ("phone", p.phone or "—"),
        ("birth date", p.birth_date.isoformat() if p.birth_date else "—"),
        ("national id (PESEL)", p.national_id or "—"),
        ("address", address),
        ("photo", "yes" if member.photo is not None else "—"),
        ("anonymized at", member.anonymized_at.isoformat() if member.anonymized_at else "—"),
        ("profile tabs", ", ".join(tab.value for tab in visible_tabs(member))),
    )
    for field, value in rows:
        table.add_row(field, value)
    console.print(table)


def _counts(dataset: Dataset, member_id: str) -> dict[str, int]:
    kinds = (
        "visits",
        "class_bookings",
        "contracts",
        "invoices",
        "notes",
        "log_entries",
        "documents",
        "measurements",
        "exercises",
    )
    return {
        kind: sum(1 for r in getattr(dataset, kind) if r.member_id == member_id) for kind in kinds
    }


def _visits_per_club(dataset: Dataset) -> Counter[str]:
    return Counter(v.club_id for v in dataset.visits)


def run_demo(
    store: Any,
    console: Console,
    *,
    location: str,
    export_path: Path,
    now: dt.datetime = DEMO_NOW,
) -> None:
    """Fill ``store`` with the demo network and tell the story on ``console``.

    Args:
        store: A new, empty database.
        console: Where the story is told.
        location: The database, as the user gave it (shown in the story).
        export_path: Where the export is written (a new file).
        now: The demo's "now" (every service's clock).
    """
    clock = FixedClock(now)
    today = now.astimezone(ZoneInfo(DEMO_TIMEZONE)).date()
    new_id = _counter_ids()
    options = AnonymizationOptions(id_factory=new_id)
    dataset = data.build_demo_dataset(today=today)
    store.create_schema()
    loaded = store.load(dataset)
    if "://" in location:
        location = store.url
    shown_location = _render.safe(location)
    console.rule("[bold]member-anonymization demo")
    console.print(
        f"The demo runs on a fixed date: today is [bold]{today}[/] in Warsaw, whatever the "
        "real date, so its story and numbers are the same on every run."
    )
    console.print(f"Demo database: [bold]{shown_location}[/]")
    console.print(
        f"Network [bold]{dataset.network.name}[/]: {len(dataset.clubs)} clubs, "
        f"{len(dataset.members)} members, {loaded.total} records"
    )
    console.print(f"({len(dataset.visits)} visits, {len(dataset.invoices)} invoices).")
    anonymizer = Anonymizer(store.unit_of_work, clock=clock, options=options)

    _step(console, 1, "Who may be anonymized? One member for every rule")
    table = Table(title_justify="left")
    table.add_column("member")
    table.add_column("situation")
    table.add_column("verdict")
    table.add_column("codes")
    for member_id, situation in data.CAST.items():
        verdict = anonymizer.check(member_id)
        codes = ", ".join(verdict.blocker_codes + verdict.warning_codes) or "—"
        mark = "[green]may be anonymized[/]" if verdict.eligible else "[red]refused[/]"
        table.add_row(member_id, situation, mark, codes)
    console.print(table)

    _step(console, 2, f"Member {data.BLOCKED_MEMBER} asks to be forgotten: why it is refused")
    verdict = anonymizer.check(data.BLOCKED_MEMBER)
    for blocker in verdict.blockers:
        console.print(f"  [red]{blocker.code}[/]: {blocker.message('en')}", highlight=False)
        console.print(f"  [red]{blocker.code}[/]: {blocker.message('pl')}", highlight=False)

    member_id = data.STORY_MEMBER
    _step(console, 3, f"Member {member_id} asks to be forgotten: export their data first")
    exporter = Exporter(store.unit_of_work, clock=clock, options=ExportOptions(id_factory=new_id))
    with writing_to(str(export_path), force_hint=False):
        exported = exporter.export(member_id, export_path, actor=data.ACTOR)
    assert isinstance(exported, Exported)
    console.print(
        f"  {exported.counts.total} records written to [bold]{_render.safe(export_path)}[/] "
        "(readable by its owner only). It holds:"
    )
    with zipfile.ZipFile(export_path) as archive:
        names = archive.namelist()
    console.print("  " + ", ".join(names), highlight=False)
    console.print(
        "  Hand this file to the member now: anonymization cannot be undone.", style="yellow"
    )

    before = store.dump()
    member = next(m for m in before.members if m.id == member_id)
    _profile(console, member, f"Profile of {member_id} before")
    invoices = [i for i in before.invoices if i.member_id == member_id]

    _step(console, 4, "An employee without the permission tries to anonymize")
    result = anonymizer.anonymize(member_id, actor=data.ACTOR_WITHOUT_PERMISSION)
    assert isinstance(result, NotPermitted)
    console.print(
        f"  {result.status}: employee {result.actor_id} lacks '{result.permission.value}'; "
        "nothing changed."
    )

    _step(console, 5, f"Employee {data.ACTOR} anonymizes member {member_id}")
    result = anonymizer.anonymize(member_id, actor=data.ACTOR)
    assert isinstance(result, Anonymized)
    removed = result.removed
    console.print(
        f"  [green]{result.status}[/]: photo {removed.photo}, log entries {removed.log_entries}, "
        f"documents {removed.documents}, measurements {removed.measurements}, "
        f"exercises {removed.exercises}, training-and-health notes {removed.notes}."
    )
    after = store.dump()
    member_after = next(m for m in after.members if m.id == member_id)
    _profile(console, member_after, f"Profile of {member_id} after")
    kept = _counts(after, member_id)
    console.print(
        "  Still there for statistics and accounting: "
        + ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in kept.items() if n)
    )
    invoices_after = [i for i in after.invoices if i.member_id == member_id]
    if invoices_after:
        row = invoice_list(invoices_after, member_after)[0]
        console.print(
            f"  Invoice {row.number}: buyer on the invoice [bold]{row.buyer.name}[/] "
            f"(unchanged: {invoices_after == invoices}); the invoice list shows "
            f"[bold]{row.member_name}[/]."
        )

    _step(console, 6, "A warning does not block: unpaid purchases become a reminder")
    result = anonymizer.anonymize("m0008", actor=data.ACTOR)
    assert isinstance(result, Anonymized | Refused)
    for warning in result.warnings:
        console.print(f"  [yellow]{warning.code}[/]: {warning.message('en')}", highlight=False)
    reminders = [r for r in store.dump().reminders if r.member_id == "m0008"]
    console.print(f"  Reminders for the club's staff: {len(reminders)}.")

    _step(console, 7, "The retention job: everyone whose retention time has passed")
    sweep = RetentionSweep(store.unit_of_work, clock=clock, options=options)
    preview = sweep.run(dry_run=True)
    console.print(
        f"  Dry run: {preview.due} due, {len(preview.anonymized)} would be anonymized, "
        f"{len(preview.skipped)} would be skipped; nothing changed."
    )
    report = sweep.run()
    console.print(
        f"  Run: {report.due} due, [green]{len(report.anonymized)} anonymized[/], "
        f"{len(report.skipped)} skipped:"
    )
    for skipped in report.skipped:
        console.print(f"    {skipped.member_id}: {', '.join(skipped.codes)}", highlight=False)
    again = sweep.run()
    console.print(
        f"  A second run anonymizes {len(again.anonymized)} more: nothing is left to do "
        f"({len(again.skipped)} still blocked)."
    )

    _step(
        console, 8, f"Member {data.BLOCKED_MEMBER} files an erasure request while the contract runs"
    )
    _request_story(store, console, dataset, location, clock=clock, options=options)

    final = store.dump()
    _step(console, 9, "What stayed the same")
    console.print(
        f"  Visits per club unchanged: {_visits_per_club(final) == _visits_per_club(dataset)}."
    )
    console.print(f"  Invoices unchanged: {final.invoices == dataset.sorted().invoices}.")
    console.print(f"  Receipts unchanged: {final.receipts == dataset.sorted().receipts}.")
    console.print(f"  Audit entries: {len(final.audit)}, none with personal data.")
    console.print()
    console.print(
        f"Try it yourself: member-anonymization --db {shown_location} check m0002 --as-of {today}",
        highlight=False,
    )


def _morning(day: dt.date, club_timezone: str) -> FixedClock:
    """A clock fixed on ``day`` at the hour of the daily run, in the club's time zone."""
    at = dt.datetime.combine(day, dt.time(DAILY_RUN_HOUR), tzinfo=ZoneInfo(club_timezone))
    return FixedClock(at)


def _outbox_line(message: OutboxMessage) -> str:
    if message.notice is None:
        mode = message.mode.value if message.mode is not None else "-"
        return f"event {message.kind.value}: member {message.member_id}, mode {mode}"
    return f"notice {message.notice.kind.value}: {message.notice.subject}"


def _one_member(dataset: Dataset, member_id: str, *extra: Any) -> Dataset:
    """The network, its clubs and employees, one member's records, and ``extra`` records."""
    changes: dict[str, Any] = {
        kind.collection: tuple(r for r in dataset.records(kind) if r.member_id == member_id)
        for kind in RECORD_KINDS
        if kind.is_per_member
    }
    changes["members"] = tuple(m for m in dataset.members if m.id == member_id)
    for kind in RECORD_KINDS:
        wanted = tuple(r for r in extra if isinstance(r, kind.record_type))
        if wanted:
            changes[kind.collection] = wanted
    return attrs.evolve(dataset, **changes)


def _request_story(
    store: Any,
    console: Console,
    dataset: Dataset,
    location: str,
    *,
    clock: FixedClock,
    options: AnonymizationOptions,
) -> None:
    """An erasure request from receipt to completion, and the outbox it fills.

    The request is received in the demo database today. The daily runs that
    follow happen on later days: they run on an in-memory copy of the member's
    records with a clock set to each day, so that the demo database stays true
    to today (the request open, the contract running).
    """
    member_id = data.BLOCKED_MEMBER
    received = RequestDesk(store.unit_of_work, clock=clock, options=options).receive(
        member_id, actor=data.ACTOR, channel=RequestChannel.EMAIL
    )
    assert isinstance(received, RequestReceived)
    request = received.request
    expected = received.expected_on
    assert expected is not None
    codes = ", ".join(received.eligibility.blocker_codes)
    console.print(
        f"  Employee {data.ACTOR} registers the request received by e-mail today "
        f"({request.received_on}): request {request.id}."
    )
    console.print(
        f"  Deadline (one month): [bold]{request.current_deadline}[/]; blocked by "
        f"[red]{codes}[/]; expected on [bold]{expected}[/], the day after the contract ends."
    )
    console.print("  The notice to the member, written to the outbox in the same transaction:")
    for notice in received.notices:
        console.print(f"    [bold]{escape(notice.subject)}[/]")
        for line in notice.body.splitlines():
            console.print(f"    {line}" if line else "", markup=False, highlight=False)

    with store.unit_of_work() as uow:
        pending = list(uow.outbox.pending())
    events = sum(1 for m in pending if m.kind is OutboxKind.MEMBER_ANONYMIZED)
    console.print(
        f"  The outbox holds {len(pending)} messages for the host to deliver: {events} "
        "member_anonymized events (one per anonymization above, to pass on to the payment "
        f"provider, newsletter and access control) and {len(pending) - events} notice."
    )

    console.print(
        "  The demo cannot move the clock: the next daily runs (request process) go on "
        f"simulated days, on an in-memory copy of {member_id}'s records, so that the demo "
        "database stays as it is today."
    )
    mine = [m for m in pending if m.request_id == request.id]
    copy = InMemoryStore(_one_member(dataset, member_id, request, *mine))
    timezone = next(c.timezone for c in dataset.clubs if c.id == request.club_id)
    day_before = request.current_deadline - dt.timedelta(days=1)
    report = RequestProcessor(
        copy.unit_of_work, clock=_morning(day_before, timezone), options=options
    ).run()
    (waiting,) = report.still_open
    assert report.reminders == 1
    console.print(
        f"  {day_before}, the day before the deadline, the daily run finds "
        f"{', '.join(waiting.blockers)} still there: it writes the 'refused' notice (why not "
        "yet, until when, and the right to complain to the supervisory authority, PUODO) and "
        "reminds the club that the deadline is near."
    )
    report = RequestProcessor(
        copy.unit_of_work, clock=_morning(expected, timezone), options=options
    ).run()
    assert report.completed == (request.id,)
    console.print(
        f"  {expected}, the day after the contract ends, the daily run anonymizes {member_id} "
        "(audit mode 'request', no employee) and [green]completes the request[/], without a "
        "second request from the member. The copy's outbox then holds, for this request:"
    )
    with copy.unit_of_work() as uow:
        messages = sorted(
            uow.outbox.of_request(request.id), key=lambda m: (m.created_at, m.notice is not None)
        )
    for message in messages:
        console.print(f"    {_outbox_line(message)}", markup=False, highlight=False)
    console.print(
        "  The host delivers them, then marks them delivered (outbox ack). In the demo "
        f"database: member-anonymization --db {_render.safe(location)} request show {request.id}"
    )

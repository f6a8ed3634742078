"""The demo: a fresh database with a realistic network, and the whole story.

It follows the product announcement: check a member that cannot be anonymized
and show why; export a member's data first; anonymize them; show the profile
before and after and that their invoice is unchanged; then run the retention job.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from member_anonymization.anonymizer import Anonymized, Anonymizer, NotPermitted, Refused
from member_anonymization.domain import Member
from member_anonymization.export import Exported, Exporter
from member_anonymization.profile import invoice_list, visible_tabs
from member_anonymization.retention import RetentionSweep
from member_anonymization.serialization import Dataset

from . import _demo_data as data


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


def run_demo(store: Any, console: Console, *, location: str, today: dt.date) -> None:
    """Fill ``store`` with the demo network and tell the story on ``console``."""
    dataset = data.build_demo_dataset(today=today)
    store.create_schema()
    loaded = store.load(dataset)
    if "://" in location:
        location = store.url
    console.rule("[bold]member-anonymization demo")
    console.print(f"Demo database: [bold]{location}[/]")
    console.print(
        f"Network [bold]{dataset.network.name}[/]: {len(dataset.clubs)} clubs, "
        f"{len(dataset.members)} members, {loaded.total} records"
    )
    console.print(f"({len(dataset.visits)} visits, {len(dataset.invoices)} invoices).")
    console.print(f"Today in Warsaw: {today}.")
    anonymizer = Anonymizer(store.unit_of_work)

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
    export_path = (
        Path(location).with_name(f"{member_id}-export.zip")
        if "://" not in location
        else Path(f"{member_id}-export.zip")
    )
    export_path.unlink(missing_ok=True)
    exported = Exporter(store.unit_of_work).export(member_id, export_path, actor=data.ACTOR)
    assert isinstance(exported, Exported)
    console.print(
        f"  {exported.counts.total} records written to [bold]{export_path}[/] "
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
    sweep = RetentionSweep(store.unit_of_work)
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

    final = store.dump()
    _step(console, 8, "What stayed the same")
    console.print(
        f"  Visits per club unchanged: {_visits_per_club(final) == _visits_per_club(dataset)}."
    )
    console.print(f"  Invoices unchanged: {final.invoices == dataset.sorted().invoices}.")
    console.print(f"  Receipts unchanged: {final.receipts == dataset.sorted().receipts}.")
    console.print(f"  Audit entries: {len(final.audit)}, none with personal data.")
    console.print()
    console.print(f"Try it yourself: member-anonymization --db {location} check m0002")

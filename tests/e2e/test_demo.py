"""The ``demo`` command, run as a subprocess in a fresh folder."""

from __future__ import annotations

import datetime as dt
import re
import stat
import time
import zipfile
from pathlib import Path
from typing import Final

import pytest

from member_anonymization.retention import add_months
from tests.e2e.conftest import (
    TIMEOUT,
    Cli,
    NewDatabase,
    Result,
    assert_bad_input,
    assert_no_traceback,
)

DEMO_DB: Final = "member-anonymization-demo.sqlite"
EXPORT_FILE: Final = "m0010-export.zip"
STEPS: Final = (
    "Who may be anonymized",
    "why it is refused",
    "export their data first",
    "without the permission",
    "anonymizes member",
    "A warning does not block",
    "The retention job",
    "files an erasure request while the contract runs",
    "What stayed the same",
)
"""Words of the demo's nine steps, in order."""

DAY: Final = r"(\d{4}-\d{2}-\d{2})"

DEMO_DATE: Final = "2026-11-27"
"""The demo's fixed "today" in Warsaw, whatever the real date."""


def assert_whole_story(result: Result) -> None:
    """The demo finished and told every step, and its own checks came out true."""
    assert result.returncode == 0, str(result)
    assert_no_traceback(result)
    assert result.stderr == "", str(result)
    headings = re.findall(r"^(\d)\. (.+?) ─", result.stdout, flags=re.MULTILINE)
    assert [int(number) for number, _ in headings] == list(range(1, len(STEPS) + 1))
    for (_, heading), words in zip(headings, STEPS, strict=True):
        assert words in heading
    out = result.stdout
    assert f"today is {DEMO_DATE} in Warsaw" in out
    assert "active_contract" in out
    assert "not_permitted" in out
    assert "Profile of m0010 before" in out
    assert "Profile of m0010 after" in out
    assert "unpaid_purchases" in out
    assert re.search(r"Dry run: \d+ due, \d+ would be anonymized", out)
    assert "A second run anonymizes 0 more" in out
    for claim in ("Visits per club unchanged", "Invoices unchanged", "Receipts unchanged"):
        assert f"{claim}: True." in out
    assert_request_story(out)


def assert_request_story(out: str) -> None:
    """The erasure request of m0001: received, refused by its deadline, completed, outboxed."""
    story = out[out.index("8. ") : out.index("9. ")]
    received = re.search(rf"received by e-mail today \({DAY}\): request (\w+)\.", story)
    assert received, story
    received_on = dt.date.fromisoformat(received[1])
    assert received_on == dt.date.fromisoformat(DEMO_DATE)
    request_id = received[2]
    dates = re.search(
        rf"Deadline \(one month\): {DAY}; blocked by active_contract; expected on {DAY}, "
        "the day after the contract ends.",
        story,
    )
    assert dates, story
    deadline, expected = (dt.date.fromisoformat(d) for d in dates.groups())
    assert deadline == add_months(received_on, 1)
    assert expected > deadline
    assert f"Erasure request {request_id}: received" in story
    assert f"We will answer by {deadline} at the latest." in story
    assert f"We expect to carry it out on {expected}" in story
    assert "simulated days" in story
    day_before = deadline - dt.timedelta(days=1)
    assert f"{day_before}, the day before the deadline, the daily run finds active_contract" in (
        story
    )
    assert f"{expected}, the day after the contract ends, the daily run anonymizes m0001" in story
    assert "completes the request" in story
    outbox = re.search(r"The outbox holds (\d+) messages .*?: (\d+) member_anonymized", story)
    assert outbox, story
    assert int(outbox[1]) - int(outbox[2]) == 1  # the received notice
    assert "copy of m0001's records" in story
    lines = [
        f"notice received: Erasure request {request_id}: received",
        f"notice refused: Erasure request {request_id}: why it cannot be carried out yet",
        "event member_anonymized: member m0001, mode request",
        f"notice completed: Erasure request {request_id}: done",
    ]
    positions = [story.find(f"    {line}\n") for line in lines]
    assert -1 not in positions, story
    assert positions == sorted(positions)
    assert f"request show {request_id}\n" in story


def run_timed(cli: Cli, *args: str, with_db: bool) -> Result:
    """Run the demo and check that it took less than :data:`TIMEOUT`."""
    started = time.monotonic()
    result = cli("demo", *args, with_db=with_db)
    assert time.monotonic() - started < TIMEOUT
    return result


def test_demo_runs_to_the_end(script: Path, workdir: Path) -> None:
    """The demo makes its database in the current folder, tells the whole story, and exits 0."""
    cli = Cli(script=script, cwd=workdir, db=str(workdir / DEMO_DB))
    result = run_timed(cli, with_db=False)
    assert_whole_story(result)

    export = workdir / EXPORT_FILE
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    with zipfile.ZipFile(export) as archive:
        assert archive.testzip() is None
        assert "export.json" in archive.namelist()

    shown = re.search(r"request show (\w+)\n", result.stdout)
    assert shown, result.stdout
    blocked, anonymized, requested, requests, request = cli.run_all(
        [
            ("check", "m0002", "--as-of", DEMO_DATE, "--json"),
            ("check", "m0010", "--as-of", DEMO_DATE, "--json"),
            ("check", "m0001", "--as-of", DEMO_DATE, "--json"),
            ("request", "list", "--json"),
            ("request", "show", shown[1], "--json"),
        ]
    )
    for after in (blocked, anonymized, requested, requests, request):
        assert after.returncode == 0, str(after)
    assert [b["code"] for b in blocked.json()["blockers"]] == ["future_contract"]
    assert [b["code"] for b in anonymized.json()["blockers"]] == ["already_anonymized"]
    # The later days ran on a copy: in the demo database the request waits for the contract.
    assert [b["code"] for b in requested.json()["blockers"]] == ["active_contract"]
    assert [
        (r["request_id"], r["member_id"], r["status"]) for r in requests.json()["requests"]
    ] == [(shown[1], "m0001", "open")]
    details = request.json()
    assert [m["notice"]["kind"] for m in details["messages"]] == ["received"]


def test_demo_never_reuses_a_chosen_database(script: Path, workdir: Path) -> None:
    """Given --db naming a file that exists, the demo refuses (exit 2) and leaves it alone."""
    existing = workdir / "club.sqlite"
    existing.write_bytes(b"the club's own data")
    cli = Cli(script=script, cwd=workdir, db=str(existing))
    assert_bad_input(cli("demo"))
    assert existing.read_bytes() == b"the club's own data"
    assert sorted(p.name for p in workdir.iterdir()) == ["club.sqlite"]


@pytest.mark.postgres
def test_demo_on_postgres(script: Path, workdir: Path, new_postgres_database: NewDatabase) -> None:
    """The demo runs to the end on a new PostgreSQL schema given with --db."""
    cli = Cli(script=script, cwd=workdir, db=new_postgres_database("none"))
    assert_whole_story(run_timed(cli, with_db=True))
    assert (workdir / EXPORT_FILE).is_file()

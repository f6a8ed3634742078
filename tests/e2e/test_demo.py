"""The ``demo`` command, run as a subprocess in a fresh folder."""

from __future__ import annotations

import re
import stat
import time
import zipfile
from pathlib import Path
from typing import Final

import pytest

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
    "What stayed the same",
)
"""Words of the demo's eight steps, in order."""


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
    assert "active_contract" in out
    assert "not_permitted" in out
    assert "Profile of m0010 before" in out
    assert "Profile of m0010 after" in out
    assert "unpaid_purchases" in out
    assert re.search(r"Dry run: \d+ due, \d+ would be anonymized", out)
    assert "A second run anonymizes 0 more" in out
    for claim in ("Visits per club unchanged", "Invoices unchanged", "Receipts unchanged"):
        assert f"{claim}: True." in out


def run_timed(cli: Cli, *args: str, with_db: bool) -> Result:
    """Run the demo and check that it took less than :data:`TIMEOUT`."""
    started = time.monotonic()
    result = cli("demo", *args, with_db=with_db)
    assert time.monotonic() - started < TIMEOUT
    return result


def test_demo_runs_to_the_end(script: Path, workdir: Path) -> None:
    """The demo makes its database in the current folder, tells the whole story, and exits 0."""
    cli = Cli(script=script, cwd=workdir, db=str(workdir / DEMO_DB))
    assert_whole_story(run_timed(cli, with_db=False))

    export = workdir / EXPORT_FILE
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    with zipfile.ZipFile(export) as archive:
        assert archive.testzip() is None
        assert "export.json" in archive.namelist()

    blocked, anonymized = cli.run_all([("check", "m0002", "--json"), ("check", "m0010", "--json")])
    assert blocked.returncode == 0, str(blocked)
    assert [b["code"] for b in blocked.json()["blockers"]] == ["future_contract"]
    assert anonymized.returncode == 0, str(anonymized)
    assert [b["code"] for b in anonymized.json()["blockers"]] == ["already_anonymized"]


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

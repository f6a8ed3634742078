"""The ``ledger export``, ``replay`` and ``compact`` commands, run as a subprocess.

Each test runs the console script against databases of its own (SQLite, and
PostgreSQL where the test takes ``cli`` or ``new_database``), holding the mixed
dataset of ``conftest.py``. The central story is a restore: dump the database
(the backup), anonymize, export the ledger, load the backup into a new
database, and replay the ledger there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from member_anonymization.domain import AnonymizationMode, PersonalData
from member_anonymization.ledger import LEDGER_FORMAT, is_replayed, replayed_entry_id
from tests.e2e.conftest import (
    AS_OF,
    Cli,
    NewDatabase,
    Result,
    assert_bad_input,
    assert_no_personal_data,
    assert_no_traceback,
)
from tests.e2e.test_cli import by_id
from tests.unit.test_retention import comparable

REPLAY_KEYS: Final = {"dry_run", "entries", "replayed", "already_anonymized", "missing"}
COMPACT_KEYS: Final = {
    "dialect",
    "tables",
    "seconds",
    "bytes_before",
    "bytes_after",
    "checkpoint",
    "skipped",
    "held_back",
}
ERASED: Final = ("m1", "m3", "m5")
"""The mixed dataset's members that ``anonymize m1`` and then ``sweep`` anonymize."""


def ok(result: Result) -> Result:
    """The run succeeded, without a traceback or a personal value."""
    assert result.returncode == 0, str(result)
    assert_no_traceback(result)
    assert_no_personal_data(result)
    return result


def replay_json(result: Result) -> dict[str, Any]:
    """The ``replay --json`` object, with its keys and value types."""
    obj = ok(result).json()
    assert set(obj) == REPLAY_KEYS, obj
    assert isinstance(obj["dry_run"], bool)
    assert isinstance(obj["entries"], int)
    assert isinstance(obj["already_anonymized"], int)
    assert all(isinstance(m, str) for m in (*obj["replayed"], *obj["missing"]))
    return obj


def erase(cli: Cli) -> None:
    """Anonymize m1 by hand, then m3 and m5 by the sweep."""
    ok(cli("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes"))
    swept = ok(cli("sweep", "--as-of", AS_OF, "--json")).json()
    assert swept["anonymized"] == ["m3", "m5"]


def test_restore_then_replay_through_the_command_line(cli: Cli, new_database: NewDatabase) -> None:
    """dump, anonymize, ledger export, init + load into a new database, replay: as before."""
    backup = cli.cwd / "backup.json"
    ok(cli("dump", "--out", str(backup)))
    erase(cli)
    ledger_file = cli.cwd / "ledger.json"
    exported = ok(cli("ledger", "export", "--out", str(ledger_file), "--json")).json()
    assert set(exported) == {"file", "network_id", "exported_at", "entries"}
    assert (exported["file"], exported["network_id"], exported["entries"]) == (
        str(ledger_file),
        "net-1",
        3,
    )
    anonymized = cli.snapshot()

    restored = cli.with_db(new_database("none"))
    ok(restored("init"))
    ok(restored("load", str(backup)))
    before = restored.snapshot()

    dry = replay_json(restored("replay", str(ledger_file), "--dry-run", "--json"))
    assert dry == {
        "dry_run": True,
        "entries": 3,
        "replayed": list(ERASED),
        "already_anonymized": 0,
        "missing": [],
    }
    assert restored.snapshot() == before

    done = replay_json(restored("replay", str(ledger_file), "--json"))
    assert done == {**dry, "dry_run": False}
    after = restored.snapshot()
    assert comparable(after, ignore_actor=True) == comparable(anonymized, ignore_actor=True)
    assert {a.member_id: a.mode for a in after.audit} == {
        "m1": AnonymizationMode.MANUAL,
        "m3": AnonymizationMode.RETENTION,
        "m5": AnonymizationMode.RETENTION,
    }
    assert {a.id for a in after.audit} == {replayed_entry_id(a.id) for a in anonymized.audit}
    assert all(is_replayed(a.id) and a.actor_id is None for a in after.audit)
    members = by_id(after.members)
    for member_id in ERASED:
        assert members[member_id].personal == PersonalData(
            first_name="Anonymized", last_name="Member"
        )
        assert members[member_id].photo is None
        assert (
            members[member_id].anonymized_at == by_id(anonymized.members)[member_id].anonymized_at
        )

    again = replay_json(restored("replay", str(ledger_file), "--json"))
    assert again == {**done, "replayed": [], "already_anonymized": 3}
    assert restored.snapshot() == after
    text = ok(restored("replay", str(ledger_file)))
    assert text.stdout.startswith("Anonymized again 0 member(s) of 3 ledger entries; 3 anonymized")


def test_ledger_export_to_stdout_is_the_ledger(cli: Cli) -> None:
    """Without --out the ledger file is written to stdout, one entry a line."""
    empty = ok(cli("ledger", "export")).json()
    assert empty["entries"] == []
    ok(cli("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes"))
    result = ok(cli("ledger", "export", "--json"))
    ledger = result.json()
    assert ledger["format"] == LEDGER_FORMAT
    assert ledger["network_id"] == "net-1"
    (entry,) = ledger["entries"]
    assert set(entry) == {"audit_entry_id", "member_id", "at", "mode"}
    assert (entry["member_id"], entry["mode"]) == ("m1", "manual")
    assert len(result.stdout.splitlines()) == 3
    assert result.stderr == ""


def test_ledger_export_text_and_a_file_that_exists(cli: Cli) -> None:
    """A sentence naming the count; an existing file is refused and left as it was."""
    target = cli.cwd / "ledger.json"
    done = ok(cli("ledger", "export", "--out", str(target)))
    assert done.stdout.startswith(f"Wrote 0 anonymization(s) of network net-1 to {target}")
    content = target.read_bytes()
    refused = assert_bad_input(cli("ledger", "export", "--out", str(target)))
    assert "exists" in refused  # refused because the file is there, in one sentence
    assert target.read_bytes() == content


def test_compact(cli: Cli) -> None:
    """The command rewrites the tables after an anonymization and reports what it did."""
    ok(cli("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes"))
    before = cli.snapshot()
    report = ok(cli("compact", "--json")).json()
    assert set(report) == COMPACT_KEYS
    assert "members" in report["tables"]
    assert isinstance(report["seconds"], float | int)
    assert report["bytes_before"] > 0
    assert report["bytes_after"] > 0
    if report["dialect"] == "sqlite":
        assert report["checkpoint"]["completed"] is True
        assert report["skipped"] == []
        assert report["held_back"] == 0
    else:
        assert report["dialect"] == "postgresql"
        assert report["checkpoint"] is None
        assert isinstance(report["held_back"], int)
    assert cli.snapshot() == before
    text = ok(cli("compact"))
    assert text.stdout.startswith(f"Compacted {len(report['tables'])} table(s) of the ")


def test_compact_help_states_its_locking_cost(cli: Cli) -> None:
    """The help says what compact locks, and for how long."""
    shown = " ".join(ok(cli("compact", "--help", with_db=False)).stdout.split())
    assert "ACCESS EXCLUSIVE lock" in shown
    assert "VACUUM FULL" in shown
    assert "write lock" in shown


def test_bad_input(cli: Cli, new_database: NewDatabase) -> None:
    """Exit 2 with one sentence, no traceback, no personal value; nothing changes."""
    before = cli.snapshot()
    folder = cli.cwd
    (folder / "broken.json").write_text('{"format": "member-anonymization/ledger@1",\n  oops')
    member = "Zbigniew "  # a personal value of the mixed dataset, in a bad place
    bad_entry = {"audit_entry_id": "a1", "member_id": member, "at": "2026", "mode": "manual"}
    (folder / "bad.json").write_text(
        json.dumps(
            {
                "format": LEDGER_FORMAT,
                "network_id": "net-1",
                "exported_at": "2026-11-27T12:00:00+00:00",
                "entries": [bad_entry],
            }
        )
    )
    other = {
        "format": LEDGER_FORMAT,
        "network_id": "another-network",
        "exported_at": "2026-11-27T12:00:00+00:00",
        "entries": [
            {
                "audit_entry_id": "a1",
                "member_id": "m1",
                "at": "2026-11-27T12:00:00+00:00",
                "mode": "manual",
            }
        ],
    }
    (folder / "other.json").write_text(json.dumps(other))
    results = cli.run_all(
        [
            ("replay", "missing.json"),
            ("replay", "broken.json"),
            ("replay", "bad.json"),
            ("replay", "other.json", "--json"),
            ("replay", str(folder)),
        ]
    )
    lines = [assert_bad_input(result) for result in results]
    assert lines[0] == "error: no such file: missing.json"
    assert lines[1].startswith("error: broken.json is not a valid ledger: line 2, column 3: ")
    assert "entries[0] field 'member_id'" in lines[2]
    assert "(and 1 more problem)" in lines[2]
    assert "another-network" in lines[3]
    assert "nothing was changed" in lines[3]
    assert results[3].stdout == ""
    assert "folder" in lines[4]
    assert cli.snapshot() == before

    empty = cli.with_db(new_database("blank"))
    nothing = assert_bad_input(empty("replay", str(folder / "other.json")))
    assert "holds no network" in nothing
    assert "holds no network" in assert_bad_input(empty("ledger", "export"))


def test_replay_from_stdin_reports_missing_members(cli: Cli) -> None:
    """``-`` reads the ledger from stdin; members the database lacks are reported, exit 0."""
    ledger = {
        "format": LEDGER_FORMAT,
        "network_id": "net-1",
        "exported_at": "2026-11-27T12:00:00+00:00",
        "entries": [
            {
                "audit_entry_id": "a1",
                "member_id": "m9",
                "at": "2026-11-27T12:00:00+00:00",
                "mode": "retention",
            }
        ],
    }
    result = cli("replay", "-", stdin=json.dumps(ledger))
    assert ok(result).stdout.splitlines() == [
        "Anonymized again 0 member(s) of 1 ledger entries; 0 anonymized already, "
        "1 not in the database.",
        "  not in the database: m9",
    ]
    assert replay_json(cli("replay", "-", "--json", stdin=json.dumps(ledger)))["missing"] == ["m9"]


def test_ledger_file_is_owner_only(cli: Cli) -> None:
    """The ledger names member ids: it is created readable by its owner only."""
    target: Path = cli.cwd / "ledger.json"
    ok(cli("ledger", "export", "--out", str(target)))
    assert target.stat().st_mode & 0o077 == 0

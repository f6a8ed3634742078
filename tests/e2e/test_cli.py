"""The installed ``member-anonymization`` command line, run as a subprocess.

Each test runs the console script against a database of its own (SQLite, and
PostgreSQL where marked) and checks the contract of the interface
specification: the commands and options, the JSON objects of ``--json``, the
exit codes (0 done, 1 refused, 2 bad input) and errors as one sentence on
stderr, with neither a traceback nor personal data.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
import pytest

from member_anonymization.anonymizer import Anonymizer
from member_anonymization.domain import NoteType, ProfileTab
from member_anonymization.policy import Language
from member_anonymization.profile import visible_tabs
from member_anonymization.serialization import Dataset, structure_dataset, unstructure_dataset
from member_anonymization.testing import InMemoryStore
from tests.builders import (
    BIRTH_DATE,
    DOCUMENT_NAME,
    EMAIL,
    FIRST_NAME,
    HEALTH_NOTE_TEXT,
    LAST_NAME,
    NATIONAL_ID,
    TODAY,
    contract,
    dataset,
    member,
    network,
)
from tests.e2e.conftest import (
    AS_OF,
    SPEC_FILE,
    Cli,
    NewDatabase,
    Result,
    SqliteTemplates,
    assert_bad_input,
    assert_no_personal_data,
    assert_no_traceback,
    assert_rejected_dataset,
    files_in,
    mixed_dataset,
    side_by_side,
    spec_raw,
    write_json,
)

CHECK_KEYS: Final = {"member_id", "as_of", "eligible", "blockers", "warnings"}
ANONYMIZE_KEYS: Final = {"member_id", "status", "blockers", "warnings"}
SWEEP_KEYS: Final = {"as_of", "dry_run", "due", "anonymized", "skipped"}
DATE_TEXT: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------- helpers


def findings(items: Any) -> list[str]:
    """The codes of a JSON list of blockers or warnings, checking each one's shape."""
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item, dict)
        assert isinstance(item["code"], str)
        assert item["code"]
        assert isinstance(item["message"], str)
        assert item["message"]
    return [item["code"] for item in items]


def check_json(result: Result) -> dict[str, Any]:
    """The ``check --json`` object, with exactly the keys and value types of the spec."""
    obj = result.json()
    assert set(obj) == CHECK_KEYS
    assert isinstance(obj["member_id"], str)
    assert isinstance(obj["as_of"], str)
    assert DATE_TEXT.fullmatch(obj["as_of"])
    assert isinstance(obj["eligible"], bool)
    blockers = findings(obj["blockers"])
    findings(obj["warnings"])
    assert obj["eligible"] is (not blockers)
    return obj


def anonymize_json(result: Result) -> dict[str, Any]:
    """The ``anonymize --json`` object, with exactly the keys and value types of the spec."""
    obj = result.json()
    assert set(obj) == ANONYMIZE_KEYS
    assert isinstance(obj["member_id"], str)
    assert obj["status"] in {"anonymized", "refused", "not_permitted"}
    blockers = findings(obj["blockers"])
    findings(obj["warnings"])
    assert (obj["status"] == "refused") is bool(blockers)
    return obj


def sweep_json(result: Result) -> dict[str, Any]:
    """The ``sweep --json`` object, with exactly the keys and value types of the spec."""
    obj = result.json()
    assert set(obj) == SWEEP_KEYS
    assert isinstance(obj["as_of"], str)
    assert DATE_TEXT.fullmatch(obj["as_of"])
    assert isinstance(obj["dry_run"], bool)
    assert isinstance(obj["due"], int)
    assert not isinstance(obj["due"], bool)
    assert isinstance(obj["anonymized"], list)
    assert all(isinstance(m, str) for m in obj["anonymized"])
    assert isinstance(obj["skipped"], list)
    for skipped in obj["skipped"]:
        assert isinstance(skipped, dict)
        assert {"member_id", "blockers"} <= set(skipped)
        assert isinstance(skipped["member_id"], str)
        assert isinstance(skipped["blockers"], list)
        assert skipped["blockers"]
        assert all(isinstance(code, str) for code in skipped["blockers"])
    assert obj["due"] == len(obj["anonymized"]) + len(obj["skipped"])
    return obj


def expected_findings(member_id: str, lang: Language) -> dict[str, list[tuple[str, str]]]:
    """The codes and messages the library itself gives for a member of the mixed dataset."""
    verdict = Anonymizer(InMemoryStore(mixed_dataset()).unit_of_work).check(member_id, as_of=TODAY)
    return {
        "blockers": [(b.code, b.message(lang)) for b in verdict.blockers],
        "warnings": [(w.code, w.message(lang)) for w in verdict.warnings],
    }


def shown_findings(obj: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The codes and messages of a JSON object's blockers and warnings."""
    return {
        kind: [(item["code"], item["message"]) for item in obj[kind]]
        for kind in ("blockers", "warnings")
    }


def by_id(records: Any) -> dict[str, Any]:
    """Records keyed by id."""
    return {r.id: r for r in records}


def normalized(raw: dict[str, Any]) -> dict[str, Any]:
    """A dataset file's object with every list in a canonical order."""

    def key(record: dict[str, Any]) -> str:
        return str(record.get("id", record.get("member_id")))

    return {k: sorted(v, key=key) if isinstance(v, list) else v for k, v in raw.items()}


def removed_from_profile(before: Dataset, after: Dataset, member_id: str) -> None:
    """Assert that ``member_id`` was anonymized between the two snapshots."""
    old = by_id(before.members)[member_id]
    new = by_id(after.members)[member_id]
    assert old.anonymized_at is None
    assert new.anonymized_at is not None
    assert new.photo is None
    assert new.personal.email is None
    assert new.personal.national_id is None
    assert new.personal.birth_date is None
    assert FIRST_NAME not in new.personal.display_name
    assert LAST_NAME not in new.personal.display_name
    assert ProfileTab.FINANCES not in visible_tabs(new)
    for kind in ("log_entries", "documents", "measurements", "exercises"):
        assert not [r for r in getattr(after, kind) if r.member_id == member_id], kind
    kept_notes = [
        n
        for n in before.notes
        if n.member_id == member_id and n.note_type is not NoteType.TRAINING_AND_HEALTH
    ]
    assert [n for n in after.notes if n.member_id == member_id] == kept_notes
    for kind in ("visits", "contracts", "invoices", "receipts", "class_bookings"):
        mine = [r for r in getattr(before, kind) if r.member_id == member_id]
        assert [r for r in getattr(after, kind) if r.member_id == member_id] == mine, kind
    assert [a.member_id for a in after.audit if a.member_id == member_id] == [member_id]


def unchanged_except_audit(before: Dataset, after: Dataset) -> None:
    """Everything but the audit trail is as it was."""
    assert attrs.evolve(after, audit=()) == attrs.evolve(before, audit=())


# --------------------------------------------------------------------------- init, load, dump


def test_default_database_is_in_the_current_folder(
    script: Path, workdir: Path, sqlite_templates: SqliteTemplates
) -> None:
    """Without --db, the database is member-anonymization.sqlite in the current folder."""
    sqlite_templates.copy("spec", workdir / "member-anonymization.sqlite")
    cli = Cli(script=script, cwd=workdir, db="unused")
    checked = cli("check", "m1", "--as-of", AS_OF, "--json", with_db=False)
    assert checked.returncode == 0, str(checked)
    assert check_json(checked)["eligible"] is True


def test_init_creates_the_schema_and_is_idempotent(
    script: Path, workdir: Path, new_database: NewDatabase
) -> None:
    """Init twice succeeds (never showing a password); an empty database has nothing to dump."""
    cli = Cli(script=script, cwd=workdir, db=new_database("none"))
    for _ in range(2):
        created = cli("init")
        assert created.returncode == 0, str(created)
        assert_no_traceback(created)
        cli.assert_no_password(created)
    empty = cli("dump")
    assert_bad_input(empty)
    assert empty.stdout == ""
    cli.assert_no_password(empty)


def test_load_then_dump_round_trips(script: Path, workdir: Path, new_database: NewDatabase) -> None:
    """Load then dump gives the file back; the dump loads into a fresh database unchanged."""
    cli = Cli(script=script, cwd=workdir, db=new_database("none"))
    loaded = cli("load", str(SPEC_FILE))
    assert loaded.returncode == 0, str(loaded)
    assert loaded.stderr == ""
    assert_no_personal_data(loaded)
    cli.assert_no_password(loaded)

    out = workdir / "dump.json"
    written = cli("dump", "--out", str(out))
    assert written.returncode == 0, str(written)
    assert written.stdout == ""
    assert_no_personal_data(written)
    dumped = json.loads(out.read_text(encoding="utf-8"))
    assert structure_dataset(dumped).sorted() == structure_dataset(spec_raw()).sorted()
    assert normalized(dumped) == normalized(spec_raw())

    fresh = cli.with_db(new_database("none"))
    reloaded = fresh("load", str(out))
    assert reloaded.returncode == 0, str(reloaded)
    to_stdout = fresh("dump")
    assert to_stdout.returncode == 0, str(to_stdout)
    assert normalized(to_stdout.json()) == normalized(dumped)


def test_load_adds_to_the_records_already_there(cli: Cli) -> None:
    """A second file of the same network may refer to the clubs and members already loaded."""
    before = cli.snapshot()
    second = dataset(
        member("m9", home_club_id="c2"),
        contract("k-m9", member_id="m9", club_id="c1"),
        contract(
            "k-m1-new",
            member_id="m1",
            club_id="c2",
            start=dt.date(2020, 1, 1),
            end=dt.date(2020, 12, 31),
        ),
        defaults=False,
        check=False,
    )
    loaded = cli("load", str(write_json(cli.cwd / "second.json", second)))
    assert loaded.returncode == 0, str(loaded)
    assert_no_personal_data(loaded)
    after = cli.snapshot()
    assert set(by_id(after.members)) == {*by_id(before.members), "m9"}
    assert set(by_id(after.contracts)) == {*by_id(before.contracts), "k-m9", "k-m1-new"}
    assert after.clubs == before.clubs


# --------------------------------------------------------------------------- check


def test_check_reports_blockers_and_warnings_and_changes_nothing(cli: Cli) -> None:
    """Check --json: the spec's keys, the library's verdicts, exit 0, and no change at all."""
    before = cli.snapshot()
    warsaw = ZoneInfo("Europe/Warsaw")
    first_day = dt.datetime.now(warsaw).date().isoformat()
    members = ("m1", "m2", "m3")
    results = cli.run_all(
        [*(("check", m, "--as-of", AS_OF, "--json") for m in members), ("check", "m1", "--json")]
    )
    last_day = dt.datetime.now(warsaw).date().isoformat()
    for result in results:
        assert result.returncode == 0, str(result)
        assert result.stderr == ""
        assert_no_personal_data(result)
    assert cli.snapshot() == before

    verdicts = dict(zip(members, map(check_json, results), strict=False))
    assert verdicts["m1"] == {
        "member_id": "m1",
        "as_of": AS_OF,
        "eligible": True,
        "blockers": [],
        "warnings": [],
    }
    assert verdicts["m2"]["eligible"] is False
    assert findings(verdicts["m2"]["blockers"]) == ["active_contract"]
    assert verdicts["m3"]["eligible"] is True
    assert findings(verdicts["m3"]["warnings"]) == ["unpaid_purchases"]
    for member_id, verdict in verdicts.items():
        assert verdict["member_id"] == member_id
        assert verdict["as_of"] == AS_OF
        assert shown_findings(verdict) == expected_findings(member_id, "en")
    # Without --as-of: today in the club's time zone (Warsaw).
    assert check_json(results[-1])["as_of"] in {first_day, last_day}


def test_human_readable_output_in_english_and_polish(sqlite_cli: Cli) -> None:
    """Without --json, check and sweep print plain sentences; --lang pl turns them to Polish."""
    refused, allowed, refused_pl, json_pl, sweep_pl = sqlite_cli.run_all(
        [
            ("check", "m2", "--as-of", AS_OF),
            ("check", "m1", "--as-of", AS_OF),
            ("check", "m2", "--as-of", AS_OF, "--lang", "pl"),
            ("check", "m2", "--as-of", AS_OF, "--json", "--lang", "pl"),
            ("sweep", "--as-of", AS_OF, "--dry-run", "--lang", "pl"),
        ]
    )
    for result in (refused, allowed, refused_pl, json_pl, sweep_pl):
        assert result.returncode == 0, str(result)
        assert_no_personal_data(result)
    assert "Member m2 may not be anonymized" in refused.stdout
    assert "active_contract" in refused.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(refused.stdout)
    assert "Member m1 may be anonymized" in allowed.stdout

    assert "Klubowicza m2 nie można zanonimizować" in refused_pl.stdout
    assert "blokada" in refused_pl.stdout
    polish = check_json(json_pl)
    assert shown_findings(polish) == expected_findings("m2", "pl")
    assert shown_findings(polish) != expected_findings("m2", "en")

    assert f"Retencja na dzień {AS_OF}" in sweep_pl.stdout
    assert "nic nie zmieniono" in sweep_pl.stdout


# --------------------------------------------------------------------------- anonymize


def test_anonymize_without_a_terminal_needs_yes(cli: Cli) -> None:
    """With no terminal and no --yes, anonymize refuses (exit 2) and changes nothing."""
    before = cli.snapshot()
    result = cli("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF)
    assert "--yes" in assert_bad_input(result)
    assert result.stdout == ""
    assert cli.snapshot() == before


def test_anonymize_without_permission_needs_no_confirmation(cli: Cli) -> None:
    """An actor without the permission is refused (exit 1) with nothing to confirm."""
    before = cli.snapshot()
    result = cli("anonymize", "m1", "--actor", "e2", "--as-of", AS_OF, "--json")
    assert result.returncode == 1, str(result)
    assert anonymize_json(result)["status"] == "not_permitted"
    assert "--yes" not in result.stderr
    assert cli.snapshot() == before


def test_anonymize_with_yes(cli: Cli) -> None:
    """--yes --json anonymizes (exit 0); a second attempt is refused as already anonymized."""
    before = cli.snapshot()
    done = cli("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes", "--json")
    assert done.returncode == 0, str(done)
    assert_no_personal_data(done)
    assert anonymize_json(done) == {
        "member_id": "m1",
        "status": "anonymized",
        "blockers": [],
        "warnings": [],
    }
    after = cli.snapshot()
    removed_from_profile(before, after, "m1")
    assert by_id(after.members)["m2"] == by_id(before.members)["m2"]

    again = cli("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes", "--json")
    assert again.returncode == 1, str(again)
    obj = anonymize_json(again)
    assert obj["status"] == "refused"
    assert "already_anonymized" in findings(obj["blockers"])
    assert cli.snapshot() == after


def test_anonymize_refused_by_blockers(cli: Cli) -> None:
    """A blocked member is refused with exit 1, the blockers listed, and nothing changes."""
    before = cli.snapshot()
    result = cli("anonymize", "m2", "--actor", "e1", "--as-of", AS_OF, "--yes", "--json")
    assert result.returncode == 1, str(result)
    assert_no_personal_data(result)
    obj = anonymize_json(result)
    assert obj["member_id"] == "m2"
    assert obj["status"] == "refused"
    assert findings(obj["blockers"]) == ["active_contract"]
    assert shown_findings(obj) == expected_findings("m2", "en")
    assert cli.snapshot() == before


def test_anonymize_by_an_employee_without_the_permission(cli: Cli) -> None:
    """An actor without the permission gets not_permitted with exit 1, and nothing changes."""
    before = cli.snapshot()
    result = cli("anonymize", "m1", "--actor", "e2", "--as-of", AS_OF, "--yes", "--json")
    assert result.returncode == 1, str(result)
    assert_no_personal_data(result)
    obj = anonymize_json(result)
    assert obj == {"member_id": "m1", "status": "not_permitted", "blockers": [], "warnings": []}
    assert cli.snapshot() == before


def test_anonymize_with_a_warning_creates_a_reminder(sqlite_cli: Cli) -> None:
    """An unpaid purchase does not block: the member is anonymized and a reminder is created."""
    before = sqlite_cli.snapshot()
    result = sqlite_cli("anonymize", "m3", "--actor", "e1", "--as-of", AS_OF, "--yes", "--json")
    assert result.returncode == 0, str(result)
    obj = anonymize_json(result)
    assert obj["status"] == "anonymized"
    assert findings(obj["warnings"]) == ["unpaid_purchases"]
    assert shown_findings(obj) == expected_findings("m3", "en")
    after = sqlite_cli.snapshot()
    removed_from_profile(before, after, "m3")
    assert [r.kind for r in after.reminders if r.member_id == "m3"] == ["unpaid_purchases"]
    assert after.purchases == before.purchases


def test_anonymize_prints_the_result_for_people(sqlite_cli: Cli) -> None:
    """Without --json, anonymize tells what was removed, in plain text."""
    result = sqlite_cli("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes")
    assert result.returncode == 0, str(result)
    assert "Member m1 anonymized." in result.stdout
    assert "log entries: 1" in result.stdout
    assert "documents: 1" in result.stdout
    assert_no_personal_data(result)
    refused = sqlite_cli("anonymize", "m2", "--actor", "e1", "--as-of", AS_OF, "--yes")
    assert refused.returncode == 1, str(refused)
    assert "m2 was not anonymized" in refused.stdout
    assert "active_contract" in refused.stdout


def test_confirmation_on_a_terminal_declined(sqlite_cli: Cli) -> None:
    """On a terminal, the question shows what goes and that it is final; "n" changes nothing."""
    before = sqlite_cli.snapshot()
    result = sqlite_cli.on_terminal(
        "anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, answer="n"
    )
    shown = result.stdout
    assert "This will remove:" in shown
    assert "cannot be undone" in shown
    assert "photo: yes" in shown
    assert "log entries: 1" in shown
    assert "documents: 1" in shown
    assert "measurements: 1, exercises: 1" in shown
    assert "training and health notes: 1" in shown
    assert "Anonymize member m1? [y/N]" in shown
    assert "Nothing was changed." in shown
    assert result.returncode == 1, str(result)
    assert_no_traceback(result)
    assert_no_personal_data(result)
    assert sqlite_cli.snapshot() == before


def test_confirmation_on_a_terminal_accepted(sqlite_cli: Cli) -> None:
    """On a terminal, answering "y" anonymizes the member."""
    before = sqlite_cli.snapshot()
    result = sqlite_cli.on_terminal(
        "anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, answer="y"
    )
    assert result.returncode == 0, str(result)
    assert "This will remove:" in result.stdout
    assert "Member m1 anonymized." in result.stdout
    assert_no_personal_data(result)
    removed_from_profile(before, sqlite_cli.snapshot(), "m1")


def test_confirmation_on_a_terminal_in_polish(sqlite_cli: Cli) -> None:
    """--lang pl asks in Polish; declining changes nothing."""
    before = sqlite_cli.snapshot()
    result = sqlite_cli.on_terminal(
        "anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--lang", "pl", answer="n"
    )
    assert "Zostaną usunięte:" in result.stdout
    assert "nieodwracalna" in result.stdout
    assert "Zanonimizować m1?" in result.stdout
    assert "Nic nie zmieniono." in result.stdout
    assert result.returncode == 1, str(result)
    assert sqlite_cli.snapshot() == before


# --------------------------------------------------------------------------- export


def _owner_only(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_export_writes_json(cli: Cli) -> None:
    """--out FILE.json writes the member's JSON export, readable by its owner only."""
    before = cli.snapshot()
    target = cli.cwd / "m1-export.json"
    result = cli("export", "m1", "--actor", "e1", "--out", str(target))
    assert result.returncode == 0, str(result)
    assert_no_personal_data(result)
    _owner_only(target)
    content = json.loads(target.read_text(encoding="utf-8"))
    assert content["member_id"] == "m1"
    assert content["member"]["first_name"] == FIRST_NAME
    assert content["member"]["national_id"] == NATIONAL_ID
    assert HEALTH_NOTE_TEXT in target.read_text(encoding="utf-8")
    unchanged_except_audit(before, cli.snapshot())


def test_export_writes_a_zip(cli: Cli) -> None:
    """--out FILE.zip writes a ZIP archive, readable by its owner only."""
    target = cli.cwd / "m1-export.zip"
    result = cli("export", "m1", "--actor", "e1", "--out", str(target))
    assert result.returncode == 0, str(result)
    assert_no_personal_data(result)
    _owner_only(target)
    assert zipfile.is_zipfile(target)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        json_names = [n for n in names if n.endswith(".json")]
        assert json_names
        content = json.loads(archive.read(json_names[0]))
    assert content["member_id"] == "m1"
    assert any(n.endswith(".csv") for n in names)
    assert any(DOCUMENT_NAME in n or n.startswith("documents/") for n in names)


def test_export_to_stdout(sqlite_cli: Cli) -> None:
    """Without --out, the JSON export goes to stdout."""
    result = sqlite_cli("export", "m1", "--actor", "e1")
    assert result.returncode == 0, str(result)
    content = result.json()
    assert content["member_id"] == "m1"
    assert content["member"]["email"] == EMAIL
    assert content["member"]["birth_date"] == BIRTH_DATE.isoformat()


def test_export_by_an_employee_without_the_permission(cli: Cli) -> None:
    """An actor without the permission gets exit 1, one line on stderr, and no file."""
    before = cli.snapshot()
    target = cli.cwd / "m1-export.zip"
    result = cli("export", "m1", "--actor", "e2", "--out", str(target))
    assert result.returncode == 1, str(result)
    result.error_line()
    assert result.stdout == ""
    assert_no_traceback(result)
    assert_no_personal_data(result)
    assert not target.exists()
    assert list(cli.cwd.iterdir()) == []
    assert cli.snapshot() == before


# --------------------------------------------------------------------------- sweep


EXPECTED_SWEEP: Final = {
    "as_of": AS_OF,
    "due": 5,
    "anonymized": ["m1", "m3", "m5"],
    "skipped": [
        {"member_id": "m4", "blockers": ["wallet_funds"]},
        {"member_id": "m6", "blockers": ["processing_restricted"]},
    ],
}


def _sorted_sweep(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        **obj,
        "anonymized": sorted(obj["anonymized"]),
        "skipped": sorted(obj["skipped"], key=lambda s: s["member_id"]),
    }


def test_sweep_dry_run_reports_the_real_run_and_changes_nothing(cli: Cli) -> None:
    """A dry run reports what the real run does (JSON equal but dry_run) and changes nothing."""
    before = cli.snapshot()
    preview = cli("sweep", "--as-of", AS_OF, "--dry-run", "--json")
    assert preview.returncode == 0, str(preview)
    assert_no_personal_data(preview)
    dry = sweep_json(preview)
    assert cli.snapshot() == before

    run = cli("sweep", "--as-of", AS_OF, "--json")
    assert run.returncode == 0, str(run)
    assert_no_personal_data(run)
    real = sweep_json(run)
    assert dry["dry_run"] is True
    assert real["dry_run"] is False
    assert {**dry, "dry_run": False} == real
    assert _sorted_sweep(real) == {**EXPECTED_SWEEP, "dry_run": False}

    after = cli.snapshot()
    for member_id in ("m1", "m3", "m5"):
        removed_from_profile(before, after, member_id)
    for member_id in ("m2", "m4", "m6"):
        assert by_id(after.members)[member_id] == by_id(before.members)[member_id]


def test_sweep_of_one_club(cli: Cli) -> None:
    """With --club, sweep handles only the members of that home club."""
    before = cli.snapshot()
    result = cli("sweep", "--as-of", AS_OF, "--club", "c2", "--json")
    assert result.returncode == 0, str(result)
    assert sweep_json(result) == {
        "as_of": AS_OF,
        "dry_run": False,
        "due": 2,
        "anonymized": ["m5"],
        "skipped": [{"member_id": "m6", "blockers": ["processing_restricted"]}],
    }
    after = cli.snapshot()
    removed_from_profile(before, after, "m5")
    changed = {m.id for m in after.members if m != by_id(before.members)[m.id]}
    assert changed == {"m5"}


def test_sweep_on_a_terminal(sqlite_cli: Cli) -> None:
    """On a terminal (with its progress bar), sweep prints the counts and the skipped members."""
    result = sqlite_cli.on_terminal("sweep", "--as-of", AS_OF)
    assert result.returncode == 0, str(result)
    assert f"Retention as of {AS_OF}: 5 due, 3 anonymized, 2 skipped." in result.stdout
    assert re.search(r"m4\W+wallet_funds", result.stdout)
    assert re.search(r"m6\W+processing_restricted", result.stdout)
    assert_no_traceback(result)
    assert_no_personal_data(result)
    assert len(sqlite_cli.snapshot().audit) == 3


# --------------------------------------------------------------------------- bad input


def _malformed_json(cli: Cli) -> tuple[str, ...]:
    text = json.dumps(unstructure_dataset(dataset(member("m9"))), ensure_ascii=False)
    path = cli.cwd / "broken.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return ("load", str(path))


def _invalid_record(cli: Cli) -> tuple[str, ...]:
    raw = unstructure_dataset(dataset(member("m9"), defaults=False, check=False))
    raw["members"][0]["birth_date"] = "12/04/1990"
    raw["members"][0]["email"] = 42
    raw["visits"] = [{**spec_raw()["visits"][0], "entered_at": "2019-05-03T17:00:00"}]
    return ("load", str(write_json(cli.cwd / "invalid.json", raw)))


def _unknown_key(cli: Cli) -> tuple[str, ...]:
    raw = unstructure_dataset(dataset(member("m9"), defaults=False, check=False))
    raw["members"][0]["nickname"] = FIRST_NAME
    return ("load", str(write_json(cli.cwd / "unknown-key.json", raw)))


def _dangling_reference(cli: Cli) -> tuple[str, ...]:
    data = dataset(contract("k-x", member_id="m404"), defaults=False, check=False)
    return ("load", str(write_json(cli.cwd / "dangling.json", data)))


def _ids_exist(cli: Cli) -> tuple[str, ...]:
    return ("load", str(write_json(cli.cwd / "again.json", cli.snapshot())))


def _another_network(cli: Cli) -> tuple[str, ...]:
    data = dataset(member("m9"), net=network("net-2"), defaults=False, check=False)
    return ("load", str(write_json(cli.cwd / "other-network.json", data)))


def _missing_file(cli: Cli) -> tuple[str, ...]:
    return ("load", str(cli.cwd / "no-such-file.json"))


def _existing_export_file(cli: Cli) -> tuple[str, ...]:
    (cli.cwd / "keep.json").write_text("an earlier export\n", encoding="utf-8")
    return ("export", "m1", "--actor", "e1", "--out", "keep.json")


def _fixed(*args: str) -> Callable[[Cli], tuple[str, ...]]:
    return lambda cli: args


BAD_INPUT: Final[dict[str, Callable[[Cli], tuple[str, ...]]]] = {
    "load-malformed-json": _malformed_json,
    "load-invalid-record": _invalid_record,
    "load-unknown-key": _unknown_key,
    "load-dangling-reference": _dangling_reference,
    "load-ids-already-exist": _ids_exist,
    "load-another-network": _another_network,
    "load-missing-file": _missing_file,
    "check-unknown-member": _fixed("check", "m404", "--as-of", AS_OF),
    "check-bad-date": _fixed("check", "m1", "--as-of", "2026-02-30"),
    "anonymize-unknown-member": _fixed(
        "anonymize", "m404", "--actor", "e1", "--as-of", AS_OF, "--yes", "--json"
    ),
    "anonymize-unknown-employee": _fixed(
        "anonymize", "m1", "--actor", "e404", "--as-of", AS_OF, "--yes", "--json"
    ),
    "anonymize-bad-date": _fixed("anonymize", "m1", "--actor", "e1", "--as-of", "2026-13-01"),
    "export-unknown-member": _fixed("export", "m404", "--actor", "e1", "--out", "x.json"),
    "export-unknown-employee": _fixed("export", "m1", "--actor", "e404", "--out", "x.zip"),
    "export-to-an-existing-file": _existing_export_file,
    "sweep-unknown-club": _fixed("sweep", "--as-of", AS_OF, "--club", "c404", "--json"),
    "sweep-bad-date": _fixed("sweep", "--as-of", "27.11.2026", "--json"),
}
"""Each case of bad input: how to make the arguments for a database holding the mixed dataset."""


@attrs.frozen(kw_only=True)
class BadInputRun:
    """One bad-input case, run on a database of its own."""

    result: Result
    before: Dataset
    after: Dataset
    files_before: dict[str, bytes]
    files_after: dict[str, bytes]


@pytest.fixture(scope="module")
def bad_input_runs(
    script: Path, tmp_path_factory: pytest.TempPathFactory, sqlite_templates: SqliteTemplates
) -> dict[str, BadInputRun]:
    """Every case of :data:`BAD_INPUT` on a SQLite database of its own, run side by side."""
    prepared: list[tuple[str, Cli, tuple[str, ...], Dataset, dict[str, bytes]]] = []
    for case, make_args in BAD_INPUT.items():
        folder = tmp_path_factory.mktemp(f"bad-{case}")
        workdir = folder / "work"
        workdir.mkdir()
        cli = Cli(
            script=script,
            cwd=workdir,
            db=str(sqlite_templates.copy("mixed", folder / "db.sqlite")),
        )
        args = make_args(cli)
        prepared.append((case, cli, args, cli.snapshot(), files_in(workdir)))
    results = side_by_side([functools.partial(cli, *args) for _, cli, args, _, _ in prepared])
    return {
        case: BadInputRun(
            result=result,
            before=before,
            after=cli.snapshot(),
            files_before=files,
            files_after=files_in(cli.cwd),
        )
        for (case, cli, _, before, files), result in zip(prepared, results, strict=True)
    }


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input(bad_input_runs: dict[str, BadInputRun], case: str) -> None:
    """Bad input: exit 2, one sentence on stderr, no traceback or personal data, no change.

    A rejected dataset file lists its problems under the sentence, one per line.
    """
    run = bad_input_runs[case]
    if case.startswith("load-"):
        assert_rejected_dataset(run.result)
    else:
        assert_bad_input(run.result)
    assert "12/04/1990" not in run.result.output
    assert run.result.stdout == ""
    assert run.after == run.before
    assert run.files_after == run.files_before


@pytest.mark.postgres
@pytest.mark.parametrize(
    "case", ["load-invalid-record", "load-ids-already-exist", "load-dangling-reference"]
)
def test_bad_dataset_on_postgres(postgres_cli: Cli, case: str) -> None:
    """On PostgreSQL too, a rejected file changes nothing and is told (with its problems)."""
    args = BAD_INPUT[case](postgres_cli)
    before = postgres_cli.snapshot()
    result = postgres_cli(*args)
    assert_rejected_dataset(result)
    assert postgres_cli.snapshot() == before


def test_missing_database_file(script: Path, workdir: Path) -> None:
    """A --db file that does not exist is bad input, and no file is created."""
    missing = workdir / "missing.sqlite"
    cli = Cli(script=script, cwd=workdir, db=str(missing))
    for result in cli.run_all(
        [
            ("check", "m1", "--as-of", AS_OF, "--json"),
            ("anonymize", "m1", "--actor", "e1", "--yes"),
        ]
    ):
        assert_bad_input(result)
        assert result.stdout == ""
    assert list(workdir.iterdir()) == []


def test_usage_errors_exit_2_without_a_traceback(sqlite_cli: Cli) -> None:
    """A missing option or an unknown command is bad input (exit 2), without a traceback."""
    for result in sqlite_cli.run_all([("anonymize", "m1"), ("frobnicate",)]):
        assert result.returncode == 2, str(result)
        assert result.stdout == ""
        assert result.stderr.strip()
        assert_no_traceback(result)

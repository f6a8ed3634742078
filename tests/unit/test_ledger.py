"""The erasure ledger and its replay after a restore, through every store backend.

The central story: a club takes a backup, anonymizes two members (one by hand,
one by the retention sweep), exports the ledger, then restores the backup into
a fresh database and replays the ledger. The restored database must end as the
anonymized one did, keep no personal value of those members, and a second
replay must change nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import stat
from pathlib import Path
from typing import Any, Final

import attrs
import pytest

from member_anonymization import Anonymized, Anonymizer
from member_anonymization.domain import (
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    Member,
    NoticeKind,
    OutboxKind,
    Permission,
    PersonalData,
    RequestStatus,
)
from member_anonymization.erasure import RequestDesk, RequestProcessor, RequestReceived
from member_anonymization.ledger import (
    LEDGER_FORMAT,
    MAX_PROBLEMS,
    REPLAYED_SUFFIX,
    Ledger,
    LedgerEntry,
    LedgerError,
    Replay,
    ReplayReport,
    export_ledger,
    is_replayed,
    read_ledger,
    replayed_entry_id,
)
from member_anonymization.retention import FailedMember, RetentionSweep
from member_anonymization.serialization import Dataset, structure_dataset, unstructure_dataset
from member_anonymization.testing import FixedClock, InMemoryStore
from tests import builders as b
from tests.backends import MakeStore, Store
from tests.strategies import Traces, find_traces, personal_strings
from tests.unit.test_retention import Harness, comparable

D = dt.date
MANUAL_AT: Final = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
"""When m1 is anonymized by hand."""
SWEEP_AT: Final = dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC)
"""When the sweep anonymizes m2: already 2026-11-27 in Warsaw, still the 26th in UTC."""
EXPORTED_AT: Final = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
REPLAYED: Final = ("m1", "m2")
"""The members the story anonymizes after the backup."""

SECRET: Final = "Przemysław-Sekretny"
"""A value put into bad ledger files: no error may repeat it."""


# ----------------------------------------------------------------------------- helpers


def someone(member_id: str, n: int, **kw: Any) -> Member:
    """A member whose personal values are theirs alone (so traces are unambiguous)."""
    personal = b.personal(
        first_name=f"Ignacy{n}x",
        last_name=f"Wawrzyniecki{n}q",
        email=f"ignacy{n}.wawrzyniecki@example.org",
        phone=f"+48700{n:06d}",
        birth_date=D(1971, n, 10 + n),
        national_id=f"71{n:02d}{n + 10:02d}0{n:05d}",
        address=b.address(
            street=f"Wierzbowa {n}7/{n}", postal_code=f"26-9{n}1", city=f"Kozien{n}ce"
        ),
    )
    return b.member(
        member_id,
        personal_data=personal,
        photo_content=b.photo(b"\xff\xd8PHOTO-OF-" + member_id.encode()),
        **kw,
    )


def traces(member: Member) -> Traces:
    """The member's personal strings and photo ("PL" aside: it is in "PLN")."""
    strings = personal_strings(member) - {"PL"}
    return Traces(strings=strings, photo=None if member.photo is None else member.photo.data)


def club_dataset() -> Dataset:
    """One club keeping data 6 months; m1 and m2 may go, m3 is under contract.

    m1 also has an unpaid purchase (a warning: a reminder), m3 a running contract.
    """
    return b.dataset(
        b.club("c1", retention_months=6),
        b.employee("e1"),
        someone("m1", 1),
        *b.profile_records("m1"),
        b.purchase("p-unpaid-m1", member_id="m1", paid=False),
        someone("m2", 2),
        *b.profile_records("m2"),
        someone("m3", 3),
        *b.profile_records("m3"),
        b.contract("k-run-m3", member_id="m3", start=D(2026, 1, 1), end=None),
    )


def backup_of(store: Store) -> Dataset:
    """A dump of the store as a file would hold it (JSON there and back)."""
    text = json.dumps(unstructure_dataset(store.snapshot()))
    return structure_dataset(json.loads(text))


def export(store: Store, data: Dataset, **options: Any) -> bytes:
    """The store's ledger file."""
    out = io.BytesIO()
    export_ledger(
        store.unit_of_work,
        out,
        network_id=data.network.id,
        clock=FixedClock(EXPORTED_AT),
        **options,
    )
    return out.getvalue()


@attrs.frozen(kw_only=True)
class Story:
    """A backup, the database after two anonymizations, and their ledger."""

    backup: Dataset
    anonymized: Dataset
    ledger: Ledger
    ledger_file: bytes


def story(make_store: MakeStore) -> Story:
    """Back up, anonymize m1 by hand and m2 by the sweep, export the ledger."""
    store = make_store(club_dataset())
    backup = backup_of(store)
    manual = Anonymizer(store.unit_of_work, clock=FixedClock(MANUAL_AT))
    assert isinstance(manual.anonymize("m1", actor="e1"), Anonymized)
    swept = RetentionSweep(store.unit_of_work, clock=FixedClock(SWEEP_AT)).run()
    assert swept.anonymized == ("m2",)
    anonymized = store.snapshot()
    raw = export(store, anonymized)
    return Story(backup=backup, anonymized=anonymized, ledger=read_ledger(raw), ledger_file=raw)


def replay(store: Store, **options: Any) -> Replay:
    """A replay over ``store`` (or over ``factory``)."""
    factory = options.pop("factory", store.unit_of_work)
    return Replay(factory, clock=FixedClock(EXPORTED_AT), **options)


def member_in(data: Dataset, member_id: str) -> Member:
    (found,) = [m for m in data.members if m.id == member_id]
    return found


def extra_entry(member_id: str, *, at: dt.datetime = MANUAL_AT, entry_id: str = "a-extra") -> Any:
    return LedgerEntry(
        audit_entry_id=entry_id, member_id=member_id, at=at, mode=AnonymizationMode.RETENTION
    )


def with_entries(ledger: Ledger, *entries: LedgerEntry) -> Ledger:
    return attrs.evolve(ledger, entries=(*ledger.entries, *entries))


# ----------------------------------------------------------------------- export and read


def audit_dataset() -> Dataset:
    """Three anonymization entries (ids out of order) and an export entry."""
    export_entry = AuditEntry(
        id="a0-export",
        member_id="m1",
        actor_id="e1",
        at=MANUAL_AT,
        mode=None,
        removed=None,
        action=AuditAction.EXPORT,
    )
    return b.dataset(
        b.club("c1"),
        b.employee("e1"),
        b.member("m1"),
        b.member("m2"),
        b.member("m3"),
        export_entry,
        attrs.evolve(b.audit_entry("a3", member_id="m3"), at=SWEEP_AT),
        b.audit_entry("a1", member_id="m1"),
        attrs.evolve(
            b.audit_entry("a2", member_id="m2", actor_id=None, mode=AnonymizationMode.REQUEST),
            at=dt.datetime(
                2026, 11, 27, 13, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1))
            ),
        ),
    )


@pytest.mark.parametrize("page_size", [1, 2, 1000])
def test_export_and_read_round_trip(make_store: MakeStore, page_size: int) -> None:
    """Every anonymization entry, by id, with member id, instant and mode; exports left out."""
    data = audit_dataset()
    store = make_store(data)
    raw = export(store, data, page_size=page_size)
    ledger = read_ledger(raw)
    expected = tuple(
        LedgerEntry(audit_entry_id=a.id, member_id=a.member_id, at=a.at, mode=a.mode)
        for a in sorted(data.audit, key=lambda a: a.id)
        if a.mode is not None
    )
    assert ledger == Ledger(network_id=data.network.id, exported_at=EXPORTED_AT, entries=expected)
    assert [e.audit_entry_id for e in ledger.entries] == ["a1", "a2", "a3"]
    assert ledger.entries[1].at.microsecond == 123456
    assert json.loads(raw) == ledger.as_json()
    assert read_ledger(json.dumps(ledger.as_json()).encode()) == ledger


def test_the_file_holds_ids_and_instants_only_one_entry_a_line(make_store: MakeStore) -> None:
    """No actor, no counts, nothing personal; one entry per line, the header on the first."""
    data = audit_dataset()
    raw = export(make_store(data), data)
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == 2 + 3
    assert lines[0].startswith('{"format": "member-anonymization/ledger@1", ')
    assert lines[-1] == "]}"
    whole = json.loads(raw)
    assert list(whole) == ["format", "network_id", "exported_at", "entries"]
    assert whole["format"] == LEDGER_FORMAT
    assert whole["exported_at"] == EXPORTED_AT.isoformat()
    for line, entry in zip(lines[1:-1], whole["entries"], strict=True):
        assert json.loads(line.rstrip(",")) == entry
        assert list(entry) == ["audit_entry_id", "member_id", "at", "mode"]
    for value in b.PERSONAL_VALUES:
        assert value.encode() not in raw
    assert b"e1" not in raw  # the actor


def test_an_empty_audit_trail_gives_an_empty_ledger(make_store: MakeStore) -> None:
    """No anonymization yet: a valid file with no entries."""
    data = b.dataset()
    ledger = read_ledger(export(make_store(data), data))
    assert ledger.entries == ()
    assert ledger.network_id == "net-1"


def test_export_to_a_new_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    """A path is created new, owner-only; an existing file is never overwritten."""
    data = audit_dataset()
    store = InMemoryStore(data)
    target = tmp_path / "ledger.json"
    written = export_ledger(store.unit_of_work, target, network_id="net-1")
    assert written.path == target
    assert written.entries == 3
    assert written.network_id == "net-1"
    assert read_ledger(target).exported_at == written.exported_at
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    before = target.read_bytes()
    with pytest.raises(FileExistsError):
        export_ledger(store.unit_of_work, target, network_id="net-1")
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"network_id": ""}, "network_id"),
        ({"network_id": " net"}, "network_id"),
        ({"network_id": "net-1", "page_size": 0}, "page_size"),
        ({"network_id": "net-1", "page_size": True}, "page_size"),
    ],
)
def test_export_refuses_bad_arguments(options: dict[str, Any], message: str) -> None:
    """Bad arguments are refused before anything is written."""
    out = io.BytesIO()
    with pytest.raises(ValueError, match=message):
        export_ledger(InMemoryStore(b.dataset()).unit_of_work, out, **options)
    assert out.getvalue() == b""


# ------------------------------------------------------------------------------ reading


def entry_text(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "audit_entry_id": "a1",
        "member_id": "m1",
        "at": "2026-11-27T12:00:00+00:00",
        "mode": "manual",
    }
    out.update(fields)
    return {k: v for k, v in out.items() if v is not ...}


def ledger_text(*entries: dict[str, Any], **fields: Any) -> str:
    """A ledger file, one entry a line, with fields replaced (``...`` removes one)."""
    head: dict[str, Any] = {
        "format": LEDGER_FORMAT,
        "network_id": "net-1",
        "exported_at": "2026-11-27T12:00:00+00:00",
    }
    head.update(fields)
    head = {k: v for k, v in head.items() if v is not ...}
    body = ",\n".join(json.dumps(e, ensure_ascii=False) for e in entries)
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "entries": [\n' + body + "\n]}\n"


def problems_of(text: str | bytes) -> LedgerError:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(LedgerError) as caught:
        read_ledger(raw)
    error = caught.value
    assert SECRET not in str(error)
    assert SECRET not in error.describe()
    assert SECRET not in repr(error.problems)
    return error


def test_read_accepts_a_valid_file_from_a_stream_a_path_and_bytes(tmp_path: Path) -> None:
    """The three kinds of source give the same ledger; a BOM is accepted."""
    text = ledger_text(entry_text(), entry_text(audit_entry_id="a2", member_id="m2"))
    path = tmp_path / "l.json"
    path.write_text(text, encoding="utf-8")
    from_bytes = read_ledger(text.encode())
    assert read_ledger(path) == from_bytes
    assert read_ledger(str(path)) == from_bytes
    assert read_ledger(io.BytesIO(text.encode())) == from_bytes
    assert read_ledger(b"\xef\xbb\xbf" + text.encode()) == from_bytes
    assert [e.member_id for e in from_bytes.entries] == ["m1", "m2"]


def test_not_json_is_reported_with_line_and_column() -> None:
    """A syntax error: its line and column, nothing of the text."""
    text = ledger_text(entry_text()).replace('"m1"', f'"{SECRET}" oops', 1)
    error = problems_of(text)
    (problem,) = error.problems
    assert (problem.line, problem.message) == (2, "not valid JSON")
    assert problem.column is not None
    assert str(error).startswith("invalid ledger: line 2, column ")


def test_not_utf8_is_reported_with_its_line() -> None:
    """Bytes that are not UTF-8."""
    raw = ledger_text(entry_text()).encode().replace(b'"m1"', b'"m\xff1"')
    (problem,) = problems_of(raw).problems
    assert problem.message == "must be UTF-8 text"
    assert problem.line == 2


def test_another_format_is_refused_alone() -> None:
    """A dataset or export file is not a ledger: one problem, no noise about its keys."""
    dataset_file = json.dumps(unstructure_dataset(b.dataset()))
    (problem,) = problems_of(dataset_file).problems
    assert "not a ledger file" in problem.message
    (problem,) = problems_of(ledger_text(format="member-anonymization/ledger@2")).problems
    assert problem.message == f"unsupported version: this release reads {LEDGER_FORMAT}"
    (problem,) = problems_of(ledger_text(format=...)).problems
    assert "missing key 'format'" in problem.message
    (problem,) = problems_of("[]").problems
    assert problem.message == "must be a JSON object"


def test_every_problem_is_reported_with_its_place_and_never_its_value() -> None:
    """Each bad field: the entry, the key, the line and column; values never appear."""
    text = ledger_text(
        entry_text(),
        entry_text(audit_entry_id="a2", at="2026-11-27T12:00:00", member_id=SECRET + " "),
        entry_text(audit_entry_id="a3", mode=SECRET, extra=SECRET),
        entry_text(audit_entry_id="a1", member_id="m4"),
        entry_text(audit_entry_id="a5", at=...),
        SECRET,
        exported_at=SECRET,
    )
    error = problems_of(text)
    found = [(p.line, p.entry, p.field, p.message) for p in error.problems]
    assert found == [
        (1, None, "exported_at", "must be an ISO 8601 timestamp with an offset"),
        (3, 1, "member_id", "must be a non-empty id without surrounding white space"),
        (3, 1, "at", "must have an offset (a naive timestamp is ambiguous)"),
        (4, 2, None, "unknown key (allowed: audit_entry_id, member_id, at, mode)"),
        (4, 2, "mode", "must be one of: manual, retention, request"),
        (5, 3, "audit_entry_id", "repeats the audit entry of entries[0]"),
        (6, 4, None, "missing key 'at'"),
        (7, 5, None, "must be an object"),
    ]
    lines = text.splitlines()
    for problem in error.problems:
        assert problem.line is not None
        assert problem.column is not None
        if problem.field is not None and problem.entry is not None:
            at = lines[problem.line - 1][problem.column - 1 :]
            assert at.startswith('"') or at[0].isdigit(), problem
    assert "(and 7 more problems)" in str(error)
    assert len(error.describe().splitlines()) == 8


def test_repeated_and_unknown_top_level_keys() -> None:
    """A key given twice, an unknown key, a missing key, entries of the wrong type."""
    text = ledger_text(network_id="net-1").replace(
        '"network_id": "net-1"', f'"network_id": "net-1", "network_id": "{SECRET}"'
    )
    messages = [(p.field, p.message) for p in problems_of(text).problems]
    assert messages == [("network_id", "key appears more than once")]
    text = ledger_text(**{SECRET: 1, "network_id": ...}).replace(
        '"entries": [\n\n]', '"entries": {}'
    )
    messages = [(p.field, p.message) for p in problems_of(text).problems]
    assert messages == [
        (None, "unknown key (allowed: format, network_id, exported_at, entries)"),
        (None, "missing key 'network_id'"),
        ("entries", "must be a list"),
    ]


def test_non_finite_numbers_and_numbers_are_not_ids() -> None:
    """NaN and numbers where ids belong are problems, not crashes."""
    text = ledger_text(entry_text()).replace('"m1"', "NaN").replace('"a1"', "12")
    found = [(p.entry, p.field) for p in problems_of(text).problems]
    assert found == [(0, "audit_entry_id"), (0, "member_id")]


def test_problems_stop_after_the_limit() -> None:
    """A file of garbage does not make an endless error."""
    text = ledger_text(*(entry_text(audit_entry_id=f"a{i}", mode="x") for i in range(150)))
    error = problems_of(text)
    assert len(error.problems) == MAX_PROBLEMS
    assert error.truncated
    assert f"(and {MAX_PROBLEMS - 1}+ more problems)" in str(error)
    assert error.describe().endswith(f"only the first {MAX_PROBLEMS} are listed)")


# ----------------------------------------------------------------------- restore, replay


def test_restoring_an_older_backup_and_replaying_the_ledger(make_store: MakeStore) -> None:
    """The restored database ends as the anonymized one did (ids and actors aside)."""
    s = story(make_store)
    restored = make_store(s.backup)
    report = replay(restored).run(s.ledger)
    assert report == ReplayReport(dry_run=False, entries=2, replayed=REPLAYED)
    after = restored.snapshot()
    assert comparable(after, ignore_actor=True) == comparable(s.anonymized, ignore_actor=True)
    # Every replayed entry is the original with a derived id and no actor.
    originals = {a.id: a for a in s.anonymized.audit}
    assert {a.id for a in after.audit} == {replayed_entry_id(i) for i in originals}
    for original in originals.values():
        (again,) = [a for a in after.audit if a.id == replayed_entry_id(original.id)]
        assert again == attrs.evolve(original, id=again.id, actor_id=None)
        assert is_replayed(again.id)
        assert not is_replayed(original.id)
    assert {a.member_id: a.as_of for a in after.audit} == {
        "m1": D(2026, 11, 20),
        "m2": D(2026, 11, 27),
    }
    assert {m.id: m.anonymized_at for m in after.members} == {
        "m1": MANUAL_AT,
        "m2": SWEEP_AT,
        "m3": None,
    }
    # The processors are told again, at the original instants; staff see the unpaid money again.
    events = [m for m in after.outbox if m.kind is OutboxKind.MEMBER_ANONYMIZED]
    assert sorted((m.member_id, m.mode, m.created_at, m.is_pending) for m in events) == [
        ("m1", AnonymizationMode.MANUAL, MANUAL_AT, True),
        ("m2", AnonymizationMode.RETENTION, SWEEP_AT, True),
    ]
    assert [(r.member_id, r.kind, r.created_at) for r in after.reminders] == [
        ("m1", "unpaid_purchases", MANUAL_AT)
    ]
    assert member_in(after, "m3") == member_in(s.backup, "m3")


def test_a_second_replay_changes_nothing(make_store: MakeStore) -> None:
    """Idempotent: the members anonymized by the first replay are never touched again."""
    s = story(make_store)
    restored = make_store(s.backup)
    replay(restored).run(s.ledger)
    once = restored.snapshot()
    again = replay(restored).run(s.ledger)
    assert restored.snapshot() == once
    assert again == ReplayReport(dry_run=False, entries=2, already_anonymized=REPLAYED)
    assert again.as_json() == {
        "dry_run": False,
        "entries": 2,
        "replayed": [],
        "already_anonymized": 2,
        "missing": [],
    }


def test_no_personal_value_of_the_replayed_members_survives(make_store: MakeStore) -> None:
    """After the replay the restored database holds none of their values (invoices aside)."""
    s = story(make_store)
    restored = make_store(s.backup)
    before = restored.snapshot()
    for member_id in REPLAYED:
        assert find_traces(before, traces(member_in(s.backup, member_id)))  # the backup has them
    replay(restored).run(s.ledger)
    after = restored.snapshot()
    for member_id in REPLAYED:
        assert find_traces(after, traces(member_in(s.backup, member_id))) == []
    assert find_traces(after, traces(member_in(s.backup, "m3")))  # m3 was never erased


def test_members_missing_from_the_database_are_reported(make_store: MakeStore) -> None:
    """A ledger member the restored database lacks is reported, not an error."""
    s = story(make_store)
    restored = make_store(s.backup)
    ledger = with_entries(s.ledger, extra_entry("m9-registered-later"))
    report = replay(restored).run(ledger)
    assert report.replayed == REPLAYED
    assert report.missing == ("m9-registered-later",)
    assert report.complete
    assert report.as_json()["missing"] == ["m9-registered-later"]
    assert comparable(restored.snapshot(), ignore_actor=True) == comparable(
        s.anonymized, ignore_actor=True
    )


def test_the_replay_ignores_the_blockers(make_store: MakeStore) -> None:
    """Decided already: a running contract, a wallet, a restriction do not stop the replay."""
    data = b.dataset(
        b.club("c1", tz="America/New_York"),
        someone("m1", 1, restrict_processing=True),
        b.contract("k-run", start=D(2026, 1, 1), end=None),
        b.wallet("25.00"),
        b.measurement("ms1"),
    )
    store = make_store(data)
    at = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)  # the 26th in New York
    ledger = Ledger(
        network_id="net-1",
        exported_at=EXPORTED_AT,
        entries=(
            LedgerEntry(
                audit_entry_id="a-orig", member_id="m1", at=at, mode=AnonymizationMode.REQUEST
            ),
        ),
    )
    assert replay(store).run(ledger).replayed == ("m1",)
    after = store.snapshot()
    member = member_in(after, "m1")
    assert member.anonymized_at == at
    assert member.photo is None
    assert member.personal == PersonalData(first_name="Anonymized", last_name="Member")
    assert after.measurements == ()
    assert after.contracts == data.contracts
    assert after.wallets == data.wallets
    (entry,) = after.audit
    assert entry == AuditEntry(
        id="a-orig" + REPLAYED_SUFFIX,
        member_id="m1",
        actor_id=None,
        at=at,
        mode=AnonymizationMode.REQUEST,
        removed=entry.removed,
        as_of=D(2026, 11, 26),
    )
    assert entry.removed is not None
    assert (entry.removed.photo, entry.removed.measurements) == (1, 1)


def test_members_anonymized_already_are_never_touched(make_store: MakeStore) -> None:
    """A member anonymized in the database (at another time, in another way) is left alone."""
    gone = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    data = b.dataset(
        b.member(
            "m1",
            anonymized_at=gone,
            with_photo=False,
            personal_data=PersonalData(first_name="Anonymized", last_name="Member AB12"),
        ),
        b.note("nh1"),
    )
    store = make_store(data)
    ledger = Ledger(network_id="net-1", exported_at=EXPORTED_AT, entries=(extra_entry("m1"),))
    report = replay(store).run(ledger)
    assert report.already_anonymized == ("m1",)
    assert report.replayed == ()
    assert store.snapshot() == data.sorted()


def test_dry_run_reports_the_real_run_and_changes_nothing(make_store: MakeStore) -> None:
    """A dry run takes no lock and writes nothing; its report is the real run's."""
    s = story(make_store)
    restored = make_store(s.backup)
    ledger = with_entries(s.ledger, extra_entry("m9"))
    start = len(restored.calls)
    dry = replay(restored).run(ledger, dry_run=True)
    assert restored.snapshot() == s.backup.sorted()
    assert {"members.lock", "uow.commit", "audit.add"}.isdisjoint(restored.calls[start:])
    real = replay(restored).run(ledger)
    assert dry == attrs.evolve(real, dry_run=True)
    assert dry.as_json()["dry_run"] is True


def test_the_earliest_entry_of_a_member_counts(make_store: MakeStore) -> None:
    """A member listed twice (two ledgers joined) is replayed once, at the earliest instant."""
    s = story(make_store)
    restored = make_store(s.backup)
    later = extra_entry("m1", at=MANUAL_AT + dt.timedelta(days=3))
    report = replay(restored).run(with_entries(s.ledger, later))
    assert report.replayed == REPLAYED
    assert report.entries == 3
    assert member_in(restored.snapshot(), "m1").anonymized_at == MANUAL_AT


@pytest.mark.parametrize("batch_size", [1, 2, 500])
def test_batch_size_does_not_change_the_result(make_store: MakeStore, batch_size: int) -> None:
    """One unit of work per batch; any batch size gives the same end state."""
    s = story(make_store)
    restored = make_store(s.backup)
    start = len(restored.calls)
    report = replay(restored, batch_size=batch_size).run(s.ledger)
    assert report.replayed == REPLAYED
    assert restored.calls[start:].count("uow.commit") == -(-len(REPLAYED) // batch_size)
    assert comparable(restored.snapshot(), ignore_actor=True) == comparable(
        s.anonymized, ignore_actor=True
    )


def test_members_held_by_another_worker_are_left_for_the_next_run(make_store: MakeStore) -> None:
    """Locks are taken skipping held members; the next run takes them."""
    s = story(make_store)
    restored = make_store(s.backup)
    report = replay(restored, factory=Harness(restored.unit_of_work, held={"m2"})).run(s.ledger)
    assert report.replayed == ("m1",)
    assert report.held_elsewhere == ("m2",)
    assert not report.complete
    assert report.as_json()["held_elsewhere"] == ["m2"]
    assert member_in(restored.snapshot(), "m2") == member_in(s.backup, "m2")
    assert replay(restored).run(s.ledger).replayed == ("m2",)


def test_a_failure_at_any_call_is_retried_or_finished_by_the_next_run(
    make_store: MakeStore,
) -> None:
    """A failing call never leaves a member half done; a second run finishes the replay."""
    s = story(make_store)
    reference = make_store(s.backup)
    start = len(reference.calls)
    replay(reference).run(s.ledger)
    calls = len(reference.calls) - start
    expected = comparable(reference.snapshot(), ignore_actor=True)
    for n in range(1, calls + 1):
        restored = make_store(s.backup)
        restored.fail_on_call(n)
        first = replay(restored).run(s.ledger)
        restored.heal()
        middle = restored.snapshot()
        for member_id in REPLAYED:
            member = member_in(middle, member_id)
            assert member in (member_in(s.backup, member_id), member_in(s.anonymized, member_id)), n
        assert all(isinstance(e, FailedMember) for e in first.errors)
        replay(restored).run(s.ledger)
        assert comparable(restored.snapshot(), ignore_actor=True) == expected, n


def test_replaying_a_request_completes_the_restored_open_request(make_store: MakeStore) -> None:
    """The register shows the request completed by the replayed entry; the member is told again."""
    data = b.dataset(
        b.club("c1", name="Fit Centrum"),
        b.employee("e1", permissions=tuple(Permission)),
        someone("m1", 1),
        b.note("nh1"),
    )
    store = make_store(data)
    received_at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    desk = RequestDesk(store.unit_of_work, clock=FixedClock(received_at))
    received = desk.receive("m1", actor="e1")
    assert isinstance(received, RequestReceived)
    backup = backup_of(store)
    processed_at = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
    RequestProcessor(store.unit_of_work, clock=FixedClock(processed_at)).run()
    anonymized = store.snapshot()
    (original,) = anonymized.audit
    assert original.mode is AnonymizationMode.REQUEST
    restored = make_store(backup)
    assert replay(restored).run(read_ledger(export(store, anonymized))).replayed == ("m1",)
    after = restored.snapshot()
    (request,) = after.erasure_requests
    assert request.status is RequestStatus.COMPLETED
    assert request.closed_at == processed_at
    assert request.audit_entry_id == replayed_entry_id(original.id)
    (before_request,) = anonymized.erasure_requests
    assert request == attrs.evolve(before_request, audit_entry_id=request.audit_entry_id)

    def completed(d: Dataset) -> list[Any]:
        return [
            (m.created_at, m.request_id, m.notice.body)
            for m in d.outbox
            if m.notice is not None and m.notice.kind is NoticeKind.COMPLETED
        ]

    assert completed(after) == completed(anonymized)
    assert len(completed(after)) == 1
    assert comparable(attrs.evolve(after, erasure_requests=()), ignore_actor=True) == comparable(
        attrs.evolve(anonymized, erasure_requests=()), ignore_actor=True
    )


# ------------------------------------------------------------------------- small pieces


def test_replayed_entry_ids() -> None:
    """The original id with a suffix; a digest when that would be too long."""
    assert replayed_entry_id("a1") == "a1.replayed"
    assert is_replayed("a1.replayed")
    assert not is_replayed("a1")
    long_id = "x" * 195
    derived = replayed_entry_id(long_id)
    assert len(derived) == 64 + len(REPLAYED_SUFFIX)
    assert is_replayed(derived)
    assert replayed_entry_id(long_id) == derived
    assert replayed_entry_id("x" * 191) == "x" * 191 + REPLAYED_SUFFIX


def test_report_json_extra_keys_only_when_not_empty() -> None:
    """``held_elsewhere`` and ``errors`` appear only when there are some."""
    report = ReplayReport(
        dry_run=False,
        entries=4,
        replayed=("m1",),
        already_anonymized=("m2",),
        missing=("m3",),
        held_elsewhere=("m4",),
        errors=(FailedMember(member_id="m5", error_type="OperationalError"),),
    )
    assert report.as_json() == {
        "dry_run": False,
        "entries": 4,
        "replayed": ["m1"],
        "already_anonymized": 1,
        "missing": ["m3"],
        "held_elsewhere": ["m4"],
        "errors": [{"member_id": "m5", "error": "OperationalError"}],
    }


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "2"])
def test_batch_size_must_be_a_positive_whole_number(size: Any) -> None:
    """A bad batch size is refused at once."""
    with pytest.raises(ValueError, match="batch_size"):
        Replay(InMemoryStore(b.dataset()).unit_of_work, batch_size=size)


def test_ledger_records_check_their_fields() -> None:
    """An entry built in code is checked like one read from a file."""
    with pytest.raises(ValueError, match="at"):
        LedgerEntry(
            audit_entry_id="a1",
            member_id="m1",
            at=dt.datetime(2026, 1, 1),  # naive on purpose
            mode=AnonymizationMode.MANUAL,
        )
    with pytest.raises(ValueError, match="network_id"):
        Ledger(network_id="", exported_at=EXPORTED_AT)

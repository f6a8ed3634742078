"""The ``request`` and ``outbox`` commands of the installed command line, run as a subprocess.

Each test runs the console script against a database of its own holding the
mixed dataset of ``conftest.py`` and the erasure-request cast below (SQLite,
and PostgreSQL where the test takes ``cli``), and checks the contracts of the
interface specification: the JSON objects of ``request add --json`` and
``request process --json``, the exit codes (0 done, 1 refused, 2 bad input),
errors as one sentence on stderr with neither a traceback nor personal data,
and that no operation that changes data accepts a date later than today.

Receiving a request evaluates the blockers on the club's date today, so the
cast is dated relative to the real date in Warsaw (the clubs' time zone).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
import pytest

from member_anonymization.domain import (
    AnonymizationMode,
    ErasureRequest,
    NoticeKind,
    OutboxKind,
    Permission,
    RequestChannel,
    RequestStatus,
)
from member_anonymization.retention import add_months
from member_anonymization.serialization import Dataset
from tests.builders import contract, dataset, employee, member, wallet
from tests.e2e.conftest import (
    Cli,
    Result,
    SqliteTemplates,
    assert_bad_input,
    assert_no_personal_data,
    assert_no_traceback,
    files_in,
    side_by_side,
)
from tests.e2e.test_cli import (
    DATE_TEXT,
    by_id,
    check_json,
    expected_findings,
    findings,
    removed_from_profile,
    sweep_json,
)

WARSAW: Final = ZoneInfo("Europe/Warsaw")
"""The time zone of every club of the mixed dataset."""

FUTURE: Final = "2099-01-01"
"""A date later than today, wherever the tests run."""

ADD_KEYS: Final = {
    "request_id",
    "member_id",
    "status",
    "received_on",
    "deadline",
    "eligible",
    "blockers",
    "expected_on",
}
PROCESS_KEYS: Final = {"as_of", "completed", "still_open", "reminders", "notices"}
STILL_OPEN_KEYS: Final = {"request_id", "blockers", "deadline", "overdue"}
MESSAGE_KEYS: Final = {
    "message_id",
    "kind",
    "member_id",
    "request_id",
    "created_at",
    "delivered_at",
}

HANDLER: Final = "e5"
"""Handles erasure requests and may anonymize."""

CLERK: Final = "e6"
"""Handles erasure requests, may not anonymize."""

NOT_A_HANDLER: Final = "e1"
"""May anonymize and export, but not handle erasure requests."""

RUNNING_FOR: Final = 100
"""Days the contract of ``m7`` still runs after today."""


# --------------------------------------------------------------------------- the cast


def warsaw_today() -> dt.date:
    """The clubs' date today."""
    return dt.datetime.now(WARSAW).date()


def _received(
    id: str, member_id: str, received_on: dt.date, *, closed: bool = False
) -> ErasureRequest:
    received_at = dt.datetime.combine(received_on, dt.time(10), tzinfo=WARSAW)
    request = ErasureRequest.receive(
        id=id,
        member_id=member_id,
        club_id="c1",
        received_at=received_at,
        received_on=received_on,
        channel=RequestChannel.EMAIL,
        registered_by=CLERK,
    )
    if closed:
        return request.withdrawn(at=received_at + dt.timedelta(days=5), by=CLERK)
    return request


def request_cast(today: dt.date, *, with_requests: bool) -> Dataset:
    """What the mixed dataset lacks for erasure requests, dated relative to ``today``.

    * Employees ``e5`` (handles requests, anonymizes) and ``e6`` (handles
      requests only); ``e1`` of the mixed dataset may not handle requests.
    * ``m7`` (``c1``): a contract that runs until ``today + 100 days``.

    With ``with_requests``, also a register of requests with known ids:

    * ``r-overdue``: ``m8`` (a running contract), received 70 days ago: overdue.
    * ``r-near``: ``m9`` (money in the wallet), received 26 days ago: its
      deadline is 2 to 5 days away.
    * ``r-later``: ``m2`` (an open-ended contract), received 5 days ago.
    * ``r-ready``: ``m1`` (nothing blocks), received 3 days ago.
    * ``r-closed``: ``m3``, withdrawn.
    """
    records: list[Any] = [
        employee(
            HANDLER,
            name="Ewa Kierownik",
            permissions=(
                Permission.HANDLE_ERASURE_REQUESTS,
                Permission.ANONYMIZE_MEMBER,
                Permission.EXPORT_MEMBER_DATA,
            ),
        ),
        employee(CLERK, name="Olek Recepcja", permissions=(Permission.HANDLE_ERASURE_REQUESTS,)),
        member("m7"),
        contract(
            "k-m7",
            member_id="m7",
            start=today - dt.timedelta(days=30),
            end=today + dt.timedelta(days=RUNNING_FOR),
        ),
    ]
    if with_requests:
        days = dt.timedelta
        records += [
            member("m8"),
            contract("k-m8", member_id="m8", start=today - days(60), end=today + days(60)),
            member("m9"),
            wallet("5.00", member_id="m9"),
            _received("r-overdue", "m8", today - days(70)),
            _received("r-near", "m9", today - days(26)),
            _received("r-later", "m2", today - days(5)),
            _received("r-ready", "m1", today - days(3)),
            _received("r-closed", "m3", today - days(40), closed=True),
        ]
    return dataset(*records, defaults=False, check=False)


REGISTER_ORDER: Final = ("r-overdue", "r-near", "r-later", "r-ready", "r-closed")
"""The register, most urgent first: overdue, nearly due, by days left, closed last."""


def add_cast(cli: Cli, *, with_requests: bool) -> Cli:
    """Load :func:`request_cast` into the database of ``cli`` (in this process)."""
    from member_anonymization.adapters.sql import SqlStore

    with SqlStore.open(cli.db) as store:
        store.load(request_cast(warsaw_today(), with_requests=with_requests))
    return cli


@pytest.fixture
def desk(cli: Cli) -> Cli:
    """The script on the mixed dataset and the cast, no request yet, on every backend."""
    return add_cast(cli, with_requests=False)


@pytest.fixture
def sqlite_desk(sqlite_cli: Cli) -> Cli:
    """The script on the mixed dataset and the cast, no request yet, on SQLite."""
    return add_cast(sqlite_cli, with_requests=False)


@pytest.fixture
def register(cli: Cli) -> Cli:
    """The script on the mixed dataset, the cast and its register, on every backend."""
    return add_cast(cli, with_requests=True)


@pytest.fixture
def sqlite_register(sqlite_cli: Cli) -> Cli:
    """The script on the mixed dataset, the cast and its register, on SQLite."""
    return add_cast(sqlite_cli, with_requests=True)


# --------------------------------------------------------------------------- helpers


def add_json(result: Result) -> dict[str, Any]:
    """The ``request add --json`` object, with exactly the keys and value types of the spec."""
    obj = result.json()
    assert set(obj) == ADD_KEYS, str(result)
    assert isinstance(obj["request_id"], str)
    assert obj["request_id"]
    assert isinstance(obj["member_id"], str)
    assert obj["status"] in {"open", "completed"}
    assert DATE_TEXT.fullmatch(obj["received_on"])
    assert DATE_TEXT.fullmatch(obj["deadline"])
    assert isinstance(obj["eligible"], bool)
    blockers = findings(obj["blockers"])
    assert obj["eligible"] is (not blockers)
    assert obj["expected_on"] is None or DATE_TEXT.fullmatch(obj["expected_on"])
    if obj["status"] == "completed":
        assert obj["eligible"] is True
        assert obj["expected_on"] is None
    return obj


def process_json(result: Result) -> dict[str, Any]:
    """The ``request process --json`` object, with exactly the keys and value types of the spec."""
    obj = result.json()
    assert set(obj) == PROCESS_KEYS, str(result)
    assert DATE_TEXT.fullmatch(obj["as_of"])
    assert isinstance(obj["completed"], list)
    assert all(isinstance(r, str) for r in obj["completed"])
    assert isinstance(obj["still_open"], list)
    for item in obj["still_open"]:
        assert set(item) == STILL_OPEN_KEYS
        assert isinstance(item["request_id"], str)
        assert isinstance(item["blockers"], list)
        assert item["blockers"]
        assert all(isinstance(code, str) for code in item["blockers"])
        assert DATE_TEXT.fullmatch(item["deadline"])
        assert isinstance(item["overdue"], bool)
    for count in ("reminders", "notices"):
        assert isinstance(obj[count], int)
        assert not isinstance(obj[count], bool)
    return obj


def outbox_json(result: Result) -> list[dict[str, Any]]:
    """The messages of ``outbox list --json``, checking each one's shape."""
    obj = result.json()
    assert set(obj) == {"messages"}
    messages = obj["messages"]
    assert isinstance(messages, list)
    for message in messages:
        assert isinstance(message, dict)
        assert set(message) >= MESSAGE_KEYS
        assert message["kind"] in {"member_anonymized", "notice"}
        assert message["delivered_at"] is None
        if message["kind"] == "notice":
            assert isinstance(message["request_id"], str)
            notice = message["notice"]
            assert set(notice) == {"kind", "language", "subject", "body"}
            assert notice["subject"]
            assert notice["body"]
        else:
            assert "notice" not in message
            assert message["mode"] in {"manual", "retention", "request"}
    return messages


def ok(result: Result) -> Result:
    """The run succeeded (exit 0) with nothing on stderr and no personal data."""
    assert result.returncode == 0, str(result)
    assert result.stderr == "", str(result)
    assert_no_traceback(result)
    assert_no_personal_data(result)
    return result


def refused(result: Result) -> Result:
    """The run was refused: exit 1, no traceback, no personal data."""
    assert result.returncode == 1, str(result)
    assert_no_traceback(result)
    assert_no_personal_data(result)
    return result


def requests_of(data: Dataset) -> dict[str, ErasureRequest]:
    """The erasure requests, by id."""
    return {r.id: r for r in data.erasure_requests}


def kinds_in_outbox(data: Dataset, request_id: str) -> list[str]:
    """What the outbox holds for one request: ``member_anonymized`` or the notice kinds."""
    return sorted(
        m.kind.value if m.notice is None else m.notice.kind.value
        for m in data.outbox
        if m.request_id == request_id
    )


def today_range(run: Callable[[], Result]) -> tuple[Result, set[str]]:
    """Run, and the clubs' dates today before and after (the run may cross midnight)."""
    first = warsaw_today()
    result = run()
    return result, {first.isoformat(), warsaw_today().isoformat()}


# --------------------------------------------------------------------------- request add


def test_request_add_answers_with_deadline_blockers_and_expected_date(desk: Cli) -> None:
    """Add --json: the spec's keys; open requests with why and until when; exit 0."""
    today = warsaw_today()
    received_at = dt.datetime.combine(today - dt.timedelta(days=10), dt.time(23, 30), dt.UTC)
    received_on = received_at.astimezone(WARSAW).date()  # the next day in Warsaw
    assert received_on == today - dt.timedelta(days=9)
    before = desk.snapshot()

    blocked = ok(
        desk(
            "request",
            "add",
            "m7",
            "--actor",
            CLERK,
            "--received-at",
            received_at.isoformat(),
            "--channel",
            "email",
            "--json",
        )
    )
    obj = add_json(blocked)
    assert obj == {
        "request_id": obj["request_id"],
        "member_id": "m7",
        "status": "open",
        "received_on": received_on.isoformat(),
        "deadline": add_months(received_on, 1).isoformat(),
        "eligible": False,
        "blockers": obj["blockers"],
        "expected_on": (today + dt.timedelta(days=RUNNING_FOR + 1)).isoformat(),
    }
    assert findings(obj["blockers"]) == ["active_contract"]
    assert obj["blockers"][0]["contract_id"] == "k-m7"
    m7_request = obj["request_id"]

    wallet_result, today_now = today_range(
        lambda: desk("request", "add", "m4", "--actor", CLERK, "--json")
    )
    needs_staff = add_json(ok(wallet_result))
    assert needs_staff["status"] == "open"
    assert needs_staff["received_on"] in today_now
    assert (
        needs_staff["deadline"]
        == add_months(dt.date.fromisoformat(needs_staff["received_on"]), 1).isoformat()
    )
    assert findings(needs_staff["blockers"]) == ["wallet_funds"]
    assert needs_staff["expected_on"] is None  # refunding the wallet needs staff

    waiting = add_json(ok(desk("request", "add", "m1", "--actor", CLERK, "--json")))
    assert waiting["status"] == "open"  # without --anonymize, the next processing run does it
    assert waiting["eligible"] is True
    assert waiting["blockers"] == []
    assert waiting["expected_on"] is None

    after = desk.snapshot()
    requests = requests_of(after)
    assert set(requests) == {m7_request, needs_staff["request_id"], waiting["request_id"]}
    stored = requests[m7_request]
    assert stored.member_id == "m7"
    assert stored.status is RequestStatus.OPEN
    assert stored.channel is RequestChannel.EMAIL
    assert stored.received_at == received_at
    assert stored.registered_by == CLERK
    assert requests[needs_staff["request_id"]].channel is RequestChannel.DESK
    for request_id in requests:
        assert kinds_in_outbox(after, request_id) == ["received"]
    assert [(r.member_id, r.kind, r.action) for r in after.reminders] == [
        ("m4", "request_action", "wallet_funds")
    ]
    assert after.audit == before.audit
    assert after.members == before.members


def test_request_add_with_anonymize_completes_it_when_nothing_blocks(desk: Cli) -> None:
    """--anonymize carries the request out at once (audit mode manual); a blocker keeps it open."""
    before = desk.snapshot()
    done, today_now = today_range(
        lambda: desk("request", "add", "m1", "--actor", HANDLER, "--anonymize", "--json")
    )
    obj = add_json(ok(done))
    assert obj["status"] == "completed"
    assert obj["eligible"] is True
    assert obj["blockers"] == []
    assert obj["expected_on"] is None
    assert obj["received_on"] in today_now

    after = desk.snapshot()
    removed_from_profile(before, after, "m1")
    (entry,) = after.audit
    assert (entry.member_id, entry.mode, entry.actor_id) == (
        "m1",
        AnonymizationMode.MANUAL,
        HANDLER,
    )
    request = requests_of(after)[obj["request_id"]]
    assert request.status is RequestStatus.COMPLETED
    assert request.audit_entry_id == entry.id
    assert kinds_in_outbox(after, request.id) == ["completed", "member_anonymized"]
    (event,) = [m for m in after.outbox if m.kind is OutboxKind.MEMBER_ANONYMIZED]
    assert (event.member_id, event.mode) == ("m1", AnonymizationMode.MANUAL)

    blocked = add_json(
        ok(desk("request", "add", "m2", "--actor", HANDLER, "--anonymize", "--json"))
    )
    assert blocked["status"] == "open"
    assert findings(blocked["blockers"]) == ["active_contract"]
    assert blocked["expected_on"] is None  # the contract has no end
    final = desk.snapshot()
    assert by_id(final.members)["m2"] == by_id(before.members)["m2"]
    assert final.audit == after.audit


def test_request_add_refused(sqlite_desk: Cli) -> None:
    """Without the permissions, or with a request open already: exit 1 and nothing changes."""
    cli = sqlite_desk
    before = cli.snapshot()
    no_handler, no_anonymizer, in_words, in_polish, unknown_member = cli.run_all(
        [
            ("request", "add", "m7", "--actor", NOT_A_HANDLER, "--json"),
            ("request", "add", "m1", "--actor", CLERK, "--anonymize", "--json"),
            ("request", "add", "m7", "--actor", NOT_A_HANDLER),
            ("request", "add", "m7", "--actor", "e2", "--lang", "pl"),
            ("request", "add", "m404", "--actor", "e2", "--json"),
        ]
    )
    for result in (no_handler, no_anonymizer, unknown_member):
        refused(result)
        assert result.stderr == ""
    assert no_handler.json() == {
        "member_id": "m7",
        "status": "not_permitted",
        "permission": "handle_erasure_requests",
    }
    assert no_anonymizer.json() == {
        "member_id": "m1",
        "status": "not_permitted",
        "permission": "anonymize_member",
    }
    # The permission is checked first: an unknown member is not revealed.
    assert unknown_member.json()["status"] == "not_permitted"
    for result in (in_words, in_polish):
        refused(result)
        assert result.stdout == ""
    assert "e1" in in_words.error_line()
    assert "handle_erasure_requests" in in_words.error_line()
    assert "nie ma uprawnienia" in in_polish.error_line()
    assert cli.snapshot() == before

    first = add_json(ok(cli("request", "add", "m7", "--actor", CLERK, "--json")))
    registered = cli.snapshot()
    again, again_in_words = cli.run_all(
        [
            ("request", "add", "m7", "--actor", CLERK, "--json"),
            ("request", "add", "m7", "--actor", CLERK),
        ]
    )
    assert refused(again).json() == {
        "request_id": first["request_id"],
        "member_id": "m7",
        "status": "already_open",
    }
    assert first["request_id"] in refused(again_in_words).error_line()
    assert cli.snapshot() == registered


def test_request_add_prints_sentences_for_people(sqlite_desk: Cli) -> None:
    """Without --json, add tells the deadline, the blockers and the expected date."""
    cli = sqlite_desk
    expected = warsaw_today() + dt.timedelta(days=RUNNING_FOR + 1)
    blocked = ok(cli("request", "add", "m7", "--actor", CLERK))
    assert "Erasure request " in blocked.stdout
    assert "registered; the deadline is " in blocked.stdout
    assert "active_contract" in blocked.stdout
    assert f"It can be carried out on {expected.isoformat()}" in blocked.stdout
    done = ok(cli("request", "add", "m1", "--actor", HANDLER, "--anonymize"))
    assert "completed: the member is anonymized." in done.stdout


# --------------------------------------------------------------------------- request list


def test_request_list(sqlite_register: Cli) -> None:
    """List: every request, overdue and nearly due first; --status and --overdue filter."""
    cli = sqlite_register
    today = warsaw_today()
    everything, only_open, only_withdrawn, only_overdue, for_people, in_polish = cli.run_all(
        [
            ("request", "list", "--json"),
            ("request", "list", "--status", "open", "--json"),
            ("request", "list", "--status", "withdrawn", "--json"),
            ("request", "list", "--overdue", "--json"),
            ("request", "list"),
            ("request", "list", "--lang", "pl"),
        ]
    )
    for result in (everything, only_open, only_withdrawn, only_overdue, for_people, in_polish):
        ok(result)

    views = everything.json()["requests"]
    assert [v["request_id"] for v in views] == list(REGISTER_ORDER)
    cast = requests_of(request_cast(today, with_requests=True))
    for view in views:
        request = cast[view["request_id"]]
        assert view["member_id"] == request.member_id
        assert view["status"] == request.status.value
        assert view["received_on"] == request.received_on.isoformat()
        assert view["deadline"] == request.deadline.isoformat()
        if request.is_open:
            assert view["days_left"] == (request.deadline - today).days
        else:
            assert view["days_left"] is None
    by_request = {v["request_id"]: v for v in views}
    assert by_request["r-overdue"]["overdue"] is True
    assert by_request["r-overdue"]["blockers"] == ["active_contract"]
    assert 0 <= by_request["r-near"]["days_left"] <= 7
    assert by_request["r-near"]["overdue"] is False
    assert by_request["r-near"]["blockers"] == ["wallet_funds"]
    assert by_request["r-ready"]["blockers"] == []
    assert by_request["r-overdue"]["expected_on"] == (today + dt.timedelta(days=61)).isoformat()

    assert [v["request_id"] for v in only_open.json()["requests"]] == list(REGISTER_ORDER[:-1])
    assert [v["request_id"] for v in only_withdrawn.json()["requests"]] == ["r-closed"]
    assert [v["request_id"] for v in only_overdue.json()["requests"]] == ["r-overdue"]

    for table in (for_people, in_polish):
        positions = [table.stdout.find(r) for r in REGISTER_ORDER]
        assert -1 not in positions, str(table)
        assert positions == sorted(positions)
    assert "Days left" in for_people.stdout
    assert "Zostało dni" in in_polish.stdout
    assert "wycofane" in in_polish.stdout


def test_request_list_on_a_terminal_puts_the_urgent_first(sqlite_register: Cli) -> None:
    """On a terminal, the table shows overdue and nearly due requests first, closed ones last."""
    result = sqlite_register.on_terminal("request", "list")
    assert result.returncode == 0, str(result)
    assert_no_traceback(result)
    assert_no_personal_data(result)
    rows = [line for line in result.stdout.splitlines() if "r-" in line]
    assert [next(r for r in REGISTER_ORDER if r in row) for row in rows] == list(REGISTER_ORDER)


# --------------------------------------------------------------------------- request show


def test_request_show_history_and_notices(sqlite_desk: Cli) -> None:
    """Show: the request, its history and its notices, as JSON and as text, in two languages."""
    cli = sqlite_desk
    received_at = dt.datetime.combine(
        warsaw_today() - dt.timedelta(days=2), dt.time(9, 15), tzinfo=WARSAW
    )
    added = add_json(
        ok(
            cli(
                "request",
                "add",
                "m7",
                "--actor",
                CLERK,
                "--received-at",
                received_at.isoformat(),
                "--json",
            )
        )
    )
    request_id = added["request_id"]
    ok(cli("request", "extend", request_id, "--actor", CLERK, "--reason", "complexity"))
    as_json, for_people, in_polish = cli.run_all(
        [
            ("request", "show", request_id, "--json"),
            ("request", "show", request_id),
            ("request", "show", request_id, "--lang", "pl"),
        ]
    )
    shown = ok(as_json).json()
    received_on = received_at.date()
    assert shown["request_id"] == request_id
    assert shown["member_id"] == "m7"
    assert shown["status"] == "open"
    assert shown["channel"] == "desk"
    assert shown["received_on"] == received_on.isoformat()
    assert shown["deadline"] == add_months(received_on, 3).isoformat()
    assert shown["first_deadline"] == added["deadline"]
    assert shown["extension"]["reason"] == "complexity"
    assert findings(shown["blockers"]) == ["active_contract"]
    assert shown["expected_on"] == added["expected_on"]
    assert [h["event"] for h in shown["history"]] == ["received", "extended"]
    notices = [m["notice"] for m in shown["messages"]]
    assert [n["kind"] for n in notices] == ["received", "extended"]
    assert all(n["language"] == "en" for n in notices)
    assert all(request_id in n["subject"] for n in notices)

    text = ok(for_people).stdout
    assert f"Erasure request {request_id} of member m7: open" in text
    assert "History:" in text
    assert "deadline extended" in text
    for notice in notices:
        assert notice["subject"] in text
    assert "We will answer by" in text
    polish = ok(in_polish).stdout
    assert "Historia:" in polish
    assert "przedłużono termin" in polish


# ------------------------------------------------------------------ extend, withdraw, reject


def test_request_extend_once(register: Cli) -> None:
    """Extend: the deadline moves to three months after receipt, once; the member is told."""
    before = register.snapshot()
    received_on = requests_of(before)["r-later"].received_on
    extended = ok(
        register(
            "request", "extend", "r-later", "--actor", CLERK, "--reason", "complexity", "--json"
        )
    ).json()
    assert extended == {
        "request_id": "r-later",
        "status": "open",
        "deadline": add_months(received_on, 3).isoformat(),
        "extension_reason": "complexity",
    }
    after = register.snapshot()
    again, again_in_words, too_late, not_permitted = register.run_all(
        [
            ("request", "extend", "r-later", "--actor", CLERK, "--reason", "complexity", "--json"),
            ("request", "extend", "r-later", "--actor", CLERK, "--reason", "complexity"),
            ("request", "extend", "r-overdue", "--actor", CLERK, "--reason", "complexity"),
            ("request", "extend", "r-near", "--actor", NOT_A_HANDLER, "--reason", "complexity"),
        ]
    )
    assert refused(again).json() == {
        "request_id": "r-later",
        "status": "open",
        "deadline": extended["deadline"],
        "refused": "already_extended",
    }
    assert "extended once already" in refused(again_in_words).error_line()
    assert "has passed" in refused(too_late).error_line()
    assert "handle_erasure_requests" in refused(not_permitted).error_line()
    assert register.snapshot() == after

    stored = requests_of(after)["r-later"]
    assert stored.extension is not None
    assert (stored.extension.reason.value, stored.extension.by) == ("complexity", CLERK)
    assert kinds_in_outbox(after, "r-later") == ["extended"]
    (notice,) = [m.notice for m in after.outbox if m.notice is not None]
    assert notice.kind is NoticeKind.EXTENDED
    assert add_months(received_on, 3).isoformat() in notice.body
    assert attrs.evolve(after, erasure_requests=(), outbox=()) == attrs.evolve(
        before, erasure_requests=(), outbox=()
    )


def test_request_withdraw_and_reject(sqlite_register: Cli) -> None:
    """Withdraw and reject close a request without anonymizing; a closed one never changes."""
    cli = sqlite_register
    before = cli.snapshot()
    withdrawn = ok(cli("request", "withdraw", "r-later", "--actor", CLERK))
    assert "r-later withdrawn" in withdrawn.stdout
    rejected = ok(
        cli(
            "request",
            "reject",
            "r-near",
            "--actor",
            CLERK,
            "--reason",
            "identity_not_verified",
            "--json",
        )
    ).json()
    assert rejected["request_id"] == "r-near"
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reason"] == "identity_not_verified"
    after = cli.snapshot()

    again, closed_before, closed_json, not_permitted = cli.run_all(
        [
            ("request", "withdraw", "r-later", "--actor", CLERK),
            ("request", "reject", "r-closed", "--actor", CLERK, "--reason", "excessive"),
            ("request", "withdraw", "r-near", "--actor", CLERK, "--json"),
            ("request", "withdraw", "r-ready", "--actor", "e2", "--json"),
        ]
    )
    assert "closed already" in refused(again).error_line()
    assert "closed already" in refused(closed_before).error_line()
    assert refused(closed_json).json()["refused"] == "closed"
    assert refused(not_permitted).json() == {
        "request_id": "r-ready",
        "status": "not_permitted",
        "permission": "handle_erasure_requests",
    }
    assert cli.snapshot() == after

    requests = requests_of(after)
    assert requests["r-later"].status is RequestStatus.WITHDRAWN
    assert requests["r-later"].closed_by == CLERK
    assert requests["r-near"].status is RequestStatus.REJECTED
    assert kinds_in_outbox(after, "r-later") == []  # a withdrawal has no notice
    assert kinds_in_outbox(after, "r-near") == ["rejected"]
    (notice,) = [m.notice for m in after.outbox if m.notice is not None]
    assert "PUODO" in notice.body  # the right to complain
    assert after.members == before.members
    assert after.audit == before.audit


# --------------------------------------------------------------------------- request process


def test_request_process(register: Cli) -> None:
    """Process: deferred anonymization, deadline reminders, the refused notice; each only once."""
    before = register.snapshot()
    cast = requests_of(before)
    today = warsaw_today()
    first = process_json(ok(register("request", "process", "--as-of", today.isoformat(), "--json")))

    def still_open(request_id: str, blocker: str, *, overdue: bool) -> dict[str, Any]:
        deadline = cast[request_id].current_deadline.isoformat()
        return {
            "request_id": request_id,
            "blockers": [blocker],
            "deadline": deadline,
            "overdue": overdue,
        }

    assert first == {
        "as_of": today.isoformat(),
        "completed": ["r-ready"],
        "still_open": [
            still_open("r-later", "active_contract", overdue=False),
            still_open("r-near", "wallet_funds", overdue=False),
            still_open("r-overdue", "active_contract", overdue=True),
        ],
        "reminders": 2,
        "notices": 2,
    }
    after = register.snapshot()
    removed_from_profile(before, after, "m1")
    (entry,) = after.audit
    assert (entry.mode, entry.actor_id, entry.as_of) == (AnonymizationMode.REQUEST, None, today)
    requests = requests_of(after)
    assert requests["r-ready"].status is RequestStatus.COMPLETED
    assert requests["r-ready"].audit_entry_id == entry.id
    assert kinds_in_outbox(after, "r-ready") == ["completed", "member_anonymized"]
    assert kinds_in_outbox(after, "r-overdue") == ["refused"]
    assert kinds_in_outbox(after, "r-near") == []
    (event,) = [m for m in after.outbox if m.kind is OutboxKind.MEMBER_ANONYMIZED]
    assert (event.member_id, event.mode) == ("m1", AnonymizationMode.REQUEST)
    assert sorted((r.request_id, r.kind) for r in after.reminders) == [
        ("r-near", "request_deadline_near"),
        ("r-overdue", "request_overdue"),
    ]

    second, today_now = today_range(lambda: register("request", "process", "--json"))
    again = process_json(ok(second))
    assert again["as_of"] in today_now
    assert again["completed"] == []
    assert again["still_open"] == first["still_open"]
    assert (again["reminders"], again["notices"]) == (0, 0)
    assert register.snapshot() == after

    in_words = ok(register("request", "process", "--as-of", today.isoformat()))
    assert f"Erasure requests as of {today.isoformat()}: 0 completed, 3 still open" in (
        in_words.stdout
    )


# --------------------------------------------------------------------------- dates later than today


def test_no_change_on_a_date_later_than_today(register: Cli) -> None:
    """Anonymize, a real sweep and processing refuse a future --as-of; check and dry runs do not."""
    before = register.snapshot()
    anonymize_running, anonymize_eligible, sweep, process = register.run_all(
        [
            ("anonymize", "m7", "--actor", NOT_A_HANDLER, "--as-of", FUTURE, "--yes", "--json"),
            ("anonymize", "m5", "--actor", NOT_A_HANDLER, "--as-of", FUTURE, "--yes", "--json"),
            ("sweep", "--as-of", FUTURE, "--json"),
            ("request", "process", "--as-of", FUTURE, "--json"),
        ]
    )
    for result in (anonymize_running, anonymize_eligible, sweep, process):
        line = assert_bad_input(result)
        assert result.stdout == ""
        assert FUTURE in line
        assert "later than today" in line
    assert register.snapshot() == before

    dry_run, checked = register.run_all(
        [("sweep", "--dry-run", "--as-of", FUTURE, "--json"), ("check", "m2", "--as-of", FUTURE)]
    )
    preview = sweep_json(ok(dry_run))
    assert (preview["as_of"], preview["dry_run"]) == (FUTURE, True)
    assert "m5" in preview["anonymized"]
    assert "Member m2 may not be anonymized" in ok(checked).stdout
    as_json = check_json(ok(register("check", "m7", "--as-of", FUTURE, "--json")))
    assert (as_json["as_of"], as_json["eligible"]) == (FUTURE, True)
    assert register.snapshot() == before


# --------------------------------------------------------------------------- outbox


def test_outbox_list_and_ack(desk: Cli) -> None:
    """Outbox list --json shows what to deliver; ack marks it delivered, all or nothing."""
    completed = add_json(
        ok(desk("request", "add", "m1", "--actor", HANDLER, "--anonymize", "--json"))
    )
    received = add_json(ok(desk("request", "add", "m7", "--actor", CLERK, "--json")))
    messages = outbox_json(ok(desk("outbox", "list", "--json")))
    kinds = sorted(
        (m["request_id"], m["kind"] if m["kind"] != "notice" else m["notice"]["kind"])
        for m in messages
    )
    assert kinds == sorted(
        [
            (completed["request_id"], "member_anonymized"),
            (completed["request_id"], "completed"),
            (received["request_id"], "received"),
        ]
    )
    event = next(m for m in messages if m["kind"] == "member_anonymized")
    assert (event["member_id"], event["mode"]) == ("m1", "manual")
    for message in messages:
        if message["kind"] == "notice":
            assert message["notice"]["language"] == "en"
            assert message["request_id"] in message["notice"]["subject"]
    by_request = {m["request_id"]: m["message_id"] for m in messages if m["kind"] == "notice"}
    first_batch = [event["message_id"], by_request[completed["request_id"]]]

    acked = ok(desk("outbox", "ack", *first_batch, "--json")).json()
    assert sorted(acked["delivered"]) == sorted(first_batch)
    left = outbox_json(ok(desk("outbox", "list", "--json")))
    assert [m["message_id"] for m in left] == [by_request[received["request_id"]]]

    before = desk.snapshot()
    unknown = desk("outbox", "ack", left[0]["message_id"], "o-404")
    line = assert_bad_input(unknown)
    assert "o-404" in line
    assert "nothing was marked" in line
    assert desk.snapshot() == before

    in_words = ok(desk("outbox", "list"))
    assert left[0]["message_id"][:8] in in_words.stdout
    ok(desk("outbox", "ack", left[0]["message_id"]))
    assert outbox_json(ok(desk("outbox", "list", "--json"))) == []
    assert "Nothing to deliver." in ok(desk("outbox", "list")).stdout
    delivered = [m for m in desk.snapshot().outbox if m.delivered_at is not None]
    assert len(delivered) == 3


# --------------------------------------------------------------------------- Polish


def test_polish_messages_and_notices(sqlite_desk: Cli) -> None:
    """--lang pl: Polish sentences and blockers, and the notices written in Polish."""
    cli = sqlite_desk
    in_words = ok(cli("request", "add", "m7", "--actor", CLERK, "--lang", "pl"))
    assert "Zarejestrowano żądanie usunięcia danych" in in_words.stdout
    assert "Będzie można je wykonać" in in_words.stdout
    wallet_request = add_json(
        ok(cli("request", "add", "m4", "--actor", CLERK, "--lang", "pl", "--json"))
    )
    shown = [(b["code"], b["message"]) for b in wallet_request["blockers"]]
    assert shown == expected_findings("m4", "pl")["blockers"]
    assert shown != expected_findings("m4", "en")["blockers"]
    ok(cli("request", "add", "m1", "--actor", CLERK, "--lang", "pl"))
    processed = ok(cli("request", "process", "--lang", "pl"))
    assert "Żądania usunięcia danych na dzień" in processed.stdout
    assert "wykonane 1" in processed.stdout

    messages = outbox_json(ok(cli("outbox", "list", "--json")))
    notices = [m["notice"] for m in messages if m["kind"] == "notice"]
    assert sorted(n["kind"] for n in notices) == ["completed", "received", "received", "received"]
    for notice in notices:
        assert notice["language"] == "pl"
        assert notice["subject"].startswith("Żądanie usunięcia danych")
    (received,) = [m["notice"] for m in messages if m["member_id"] == "m7"]
    assert "Spodziewamy się wykonać je" in received["body"]


# --------------------------------------------------------------------------- bad input


def _pending_and_unknown(cli: Cli) -> tuple[str, ...]:
    """Ack a real pending message together with an unknown id."""
    from member_anonymization.adapters.sql import SqlStore
    from member_anonymization.erasure import RequestDesk

    with SqlStore.open(cli.db) as store:
        RequestDesk(store.unit_of_work).receive("m7", actor=CLERK)
        with store.unit_of_work() as uow:
            pending = [m.id for m in uow.outbox.pending()]
    assert pending
    return ("outbox", "ack", *pending, "o-404", "--json")


def _fixed(*args: str) -> Callable[[Cli], tuple[str, ...]]:
    return lambda cli: args


REQUEST_BAD_INPUT: Final[dict[str, tuple[Callable[[Cli], tuple[str, ...]], str]]] = {
    "add-naive-received-at": (
        _fixed("request", "add", "m7", "--actor", CLERK, "--received-at", "2026-11-20T10:00:00"),
        "offset",
    ),
    "add-received-at-not-an-instant": (
        _fixed("request", "add", "m7", "--actor", CLERK, "--received-at", "yesterday", "--json"),
        "--received-at",
    ),
    "add-received-at-in-the-future": (
        _fixed(
            "request", "add", "m7", "--actor", CLERK, "--received-at", f"{FUTURE}T10:00:00+01:00"
        ),
        "later than now",
    ),
    "add-unknown-channel": (
        _fixed("request", "add", "m7", "--actor", CLERK, "--channel", "fax", "--json"),
        "--channel",
    ),
    "add-unknown-member": (_fixed("request", "add", "m404", "--actor", CLERK, "--json"), "m404"),
    "add-unknown-employee": (_fixed("request", "add", "m7", "--actor", "e404", "--json"), "e404"),
    "list-unknown-status": (_fixed("request", "list", "--status", "pending", "--json"), "--status"),
    "show-unknown-request": (_fixed("request", "show", "r-404", "--json"), "r-404"),
    "extend-unknown-reason": (
        _fixed("request", "extend", "r-later", "--actor", CLERK, "--reason", "holidays"),
        "--reason",
    ),
    "extend-unknown-request": (
        _fixed("request", "extend", "r-404", "--actor", CLERK, "--reason", "complexity"),
        "r-404",
    ),
    "extend-unknown-employee": (
        _fixed("request", "extend", "r-later", "--actor", "e404", "--reason", "complexity"),
        "e404",
    ),
    "withdraw-unknown-request": (
        _fixed("request", "withdraw", "r-404", "--actor", CLERK, "--json"),
        "r-404",
    ),
    "reject-unknown-reason": (
        _fixed("request", "reject", "r-later", "--actor", CLERK, "--reason", "rude"),
        "--reason",
    ),
    "reject-without-a-reason": (
        _fixed("request", "reject", "r-later", "--actor", CLERK),
        "--reason",
    ),
    "process-future-date": (_fixed("request", "process", "--as-of", FUTURE, "--json"), FUTURE),
    "process-bad-date": (_fixed("request", "process", "--as-of", "2026-02-30"), "--as-of"),
    "anonymize-future-date": (
        _fixed("anonymize", "m7", "--actor", NOT_A_HANDLER, "--as-of", FUTURE, "--yes", "--json"),
        "later than today",
    ),
    "sweep-future-date": (_fixed("sweep", "--as-of", FUTURE, "--json"), "later than today"),
    "outbox-ack-unknown-id": (_pending_and_unknown, "nothing was marked"),
}
"""Each case of bad input: its arguments (for a database of :func:`request_cast` with
its register) and words of the one sentence on stderr."""


@attrs.frozen(kw_only=True)
class BadRun:
    """One bad-input case, run on a database of its own."""

    result: Result
    before: Dataset
    after: Dataset
    files_before: dict[str, bytes]
    files_after: dict[str, bytes]


@pytest.fixture(scope="module")
def bad_runs(
    script: Path, tmp_path_factory: pytest.TempPathFactory, sqlite_templates: SqliteTemplates
) -> dict[str, BadRun]:
    """Every case of :data:`REQUEST_BAD_INPUT` on a SQLite database of its own, side by side."""
    prepared: list[tuple[str, Cli, tuple[str, ...], Dataset, dict[str, bytes]]] = []
    for case, (make_args, _) in REQUEST_BAD_INPUT.items():
        folder = tmp_path_factory.mktemp(f"bad-request-{case}")
        workdir = folder / "work"
        workdir.mkdir()
        db = sqlite_templates.copy("mixed", folder / "db.sqlite")
        cli = add_cast(Cli(script=script, cwd=workdir, db=str(db)), with_requests=True)
        args = make_args(cli)
        prepared.append((case, cli, args, cli.snapshot(), files_in(workdir)))
    results = side_by_side([functools.partial(cli, *args) for _, cli, args, _, _ in prepared])
    return {
        case: BadRun(
            result=result,
            before=before,
            after=cli.snapshot(),
            files_before=files,
            files_after=files_in(cli.cwd),
        )
        for (case, cli, _, before, files), result in zip(prepared, results, strict=True)
    }


@pytest.mark.parametrize("case", list(REQUEST_BAD_INPUT))
def test_request_bad_input(bad_runs: dict[str, BadRun], case: str) -> None:
    """Bad input: exit 2, one clear sentence on stderr, nothing on stdout, nothing changed."""
    run = bad_runs[case]
    line = assert_bad_input(run.result)
    assert REQUEST_BAD_INPUT[case][1] in line
    assert run.result.stdout == ""
    assert run.after == run.before
    assert run.files_after == run.files_before

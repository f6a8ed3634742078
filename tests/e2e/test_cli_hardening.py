"""The command line under attack: output files, pipes, markup, prompts, paths, long ids.

Most tests run the installed script as a subprocess (SQLite, and PostgreSQL
where they take ``cli``); a few run it in this process, where a failure can
only be simulated (a full disk, a busy database, a report a single machine
cannot produce).
"""

from __future__ import annotations

import datetime as dt
import errno
import io
import json
import os
import pty
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

import attrs
import pytest

from member_anonymization.domain import Permission
from tests.builders import (
    TODAY,
    club,
    contract,
    dataset,
    document,
    employee,
    member,
    network,
    profile_records,
    wallet,
)
from tests.e2e.conftest import (
    AS_OF,
    PROMPT_MARK,
    TIMEOUT,
    Cli,
    NewDatabase,
    Result,
    _clean_terminal_text,
    _environment,
    assert_bad_input,
    assert_no_personal_data,
    assert_no_traceback,
    files_in,
    mixed_dataset,
    write_json,
)

EVERY_PERMISSION: Final = tuple(Permission)

CONTROL_CHARACTERS: Final = ("\x1b", "\x07", "\r", "\x9b")
"""What no output may hold raw: escape sequences, the bell, a carriage return, CSI."""

SAFE_LINE: Final = 300
"""No line of an error message is longer than this, whatever the input."""


# --------------------------------------------------------------------------- helpers


def run(
    cli: Cli,
    *args: str,
    env: Mapping[str, str] | None = None,
    umask: int = -1,
    stdout: int | IO[Any] = subprocess.PIPE,
    stdin: int | IO[Any] = subprocess.DEVNULL,
    with_db: bool = True,
) -> Result:
    """Run the script like :class:`Cli` does, with a changed environment, umask, stdin or stdout."""
    environment = _environment()
    environment.update(env or {})
    done = subprocess.run(
        cli.argv(args, with_db=with_db),
        cwd=cli.cwd,
        env=environment,
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=TIMEOUT,
        check=False,
        umask=umask,
    )
    out = done.stdout.decode("utf-8", errors="replace") if done.stdout is not None else ""
    err = done.stderr.decode("utf-8", errors="replace")
    return Result(args=args, returncode=done.returncode, stdout=out, stderr=err)


def in_process(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cwd: Path,
    *args: str,
) -> Result:
    """Run the command line's ``main`` in this process (to simulate what cannot be caused)."""
    from member_anonymization.cli import main

    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MEMBER_ANONYMIZATION_DB", raising=False)
    monkeypatch.setattr(sys, "argv", ["member-anonymization", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    code = stop.value.code
    return Result(
        args=args,
        returncode=code if isinstance(code, int) else 0,
        stdout=captured.out,
        stderr=captured.err,
    )


def one_sentence(result: Result, code: int) -> str:
    """Exit ``code``, one line on stderr starting with ``error:``, no traceback, no bug report."""
    assert result.returncode == code, str(result)
    line = result.error_line()
    assert line.startswith("error: "), str(result)
    assert_no_traceback(result)
    assert "internal error" not in result.output, str(result)
    assert "Exception ignored" not in result.output, str(result)
    assert len(line) <= SAFE_LINE, str(result)[:2000]
    return line


def no_control_characters(result: Result) -> None:
    """Nothing printed holds a raw control character (the output is not a terminal)."""
    for char in CONTROL_CHARACTERS:
        assert char not in result.output, f"{char!r} printed raw:\n{result}"


def temporaries(folder: Path) -> list[str]:
    """Left-over temporary files in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def add_big_member(db: str) -> None:
    """Add member ``m-big`` (club ``c1``) with a 2 MB document: exports and dumps fill a pipe."""
    from member_anonymization.adapters.sql import SqlStore

    big = attrs.evolve(document("d-big", member_id="m-big"), data=b"%PDF-1.7 " + b"x" * 2_000_000)
    extra = dataset(member("m-big"), big, defaults=False, check=False)
    with SqlStore.open(db) as store:
        store.load(extra)


def audit_count(cli: Cli) -> int:
    """How many audit entries the database holds."""
    return len(cli.snapshot().audit)


# --------------------------------------------------------------------------- 6, 7: output files


def test_dump_refuses_an_existing_file_unless_forced(sqlite_cli: Cli) -> None:
    """`dump --out` leaves an existing file alone (exit 2); with --force it replaces it, 0600."""
    target = sqlite_cli.cwd / "keep.json"
    target.write_text("an earlier dump\n", encoding="utf-8")
    refused = sqlite_cli("dump", "--out", "keep.json")
    line = assert_bad_input(refused)
    assert "--force" in line
    assert target.read_text(encoding="utf-8") == "an earlier dump\n"

    forced = sqlite_cli("dump", "--out", "keep.json", "--force")
    assert forced.returncode == 0, str(forced)
    assert json.loads(target.read_text(encoding="utf-8"))["network"]["id"] == "net-1"
    assert mode(target) == 0o600
    assert temporaries(sqlite_cli.cwd) == []


@pytest.mark.parametrize("command", ["dump", "export"])
def test_outputs_never_follow_a_symbolic_link(sqlite_cli: Cli, command: str) -> None:
    """A link at the output name is refused; with --force the link itself is replaced."""
    victim = sqlite_cli.cwd / "victim.txt"
    victim.write_text("the victim\n", encoding="utf-8")
    link = sqlite_cli.cwd / "out.json"
    link.symlink_to(victim)
    args = ("dump",) if command == "dump" else ("export", "m1", "--actor", "e1")
    assert_bad_input(sqlite_cli(*args, "--out", "out.json"))
    assert victim.read_text(encoding="utf-8") == "the victim\n"
    assert link.is_symlink()

    forced = sqlite_cli(*args, "--out", "out.json", "--force")
    assert forced.returncode == 0, str(forced)
    assert victim.read_text(encoding="utf-8") == "the victim\n"
    assert not link.is_symlink()
    assert mode(link) == 0o600
    assert temporaries(sqlite_cli.cwd) == []


def test_output_files_are_owner_only_whatever_the_umask(cli: Cli) -> None:
    """Under umask 000, dump and export files (new or replacing one) are 0600."""
    for name in ("old-dump.json", "old-export.zip"):
        (cli.cwd / name).write_text("old\n", encoding="utf-8")
        (cli.cwd / name).chmod(0o666)
    runs = [
        ("dump", "--out", "dump.json"),
        ("dump", "--out", "old-dump.json", "--force"),
        ("export", "m1", "--actor", "e1", "--out", "export.json"),
        ("export", "m1", "--actor", "e1", "--out", "export.zip"),
        ("export", "m1", "--actor", "e1", "--out", "old-export.zip", "--force"),
    ]
    for args in runs:
        result = run(cli, *args, umask=0)
        assert result.returncode == 0, str(result)
    for name in ("dump.json", "old-dump.json", "export.json", "export.zip", "old-export.zip"):
        assert mode(cli.cwd / name) == 0o600, name
    assert json.loads((cli.cwd / "old-dump.json").read_text(encoding="utf-8"))["network"]
    assert (cli.cwd / "old-export.zip").read_bytes().startswith(b"PK")


def test_export_force_replaces_an_existing_file(cli: Cli) -> None:
    """`export --out FILE --force` replaces FILE with the export and audits it once."""
    target = cli.cwd / "m1.json"
    target.write_text("an earlier export\n", encoding="utf-8")
    before = audit_count(cli)
    refused = cli("export", "m1", "--actor", "e1", "--out", "m1.json")
    assert "--force" in assert_bad_input(refused)
    assert target.read_text(encoding="utf-8") == "an earlier export\n"
    assert audit_count(cli) == before

    result = cli("export", "m1", "--actor", "e1", "--out", "m1.json", "--force", "--json")
    assert result.returncode == 0, str(result)
    assert result.json()["file"] == "m1.json"
    assert json.loads(target.read_text(encoding="utf-8"))["member_id"] == "m1"
    assert audit_count(cli) == before + 1


PAUSING_DRIVER: Final = """
import os, sys, time

def pause(fd):
    sys.stderr.write("PAUSED\\n")
    sys.stderr.flush()
    time.sleep(600)

os.fsync = pause
from member_anonymization.cli import main

sys.argv = ["member-anonymization", *sys.argv[1:]]
main()
"""
"""Runs the command line, stopping for good when it first syncs an output file to the disk."""


def kill_when_paused(cli: Cli, *args: str) -> None:
    """Run ``args`` until the output is about to be synced, then kill the process (SIGKILL)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSING_DRIVER, "--db", cli.db, *args],
        cwd=cli.cwd,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        first = b""
        ready, _, _ = select.select([proc.stderr], [], [], TIMEOUT)
        if ready:
            first = proc.stderr.readline()
        assert first == b"PAUSED\n", (first + proc.stderr.read()).decode(errors="replace")
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
        proc.stderr.close()


def test_a_killed_export_leaves_nothing_under_the_final_name(sqlite_cli: Cli) -> None:
    """Killed while writing, an export leaves no (partial) file; the retry then works."""
    target = sqlite_cli.cwd / "m1-export.json"
    before = audit_count(sqlite_cli)
    kill_when_paused(sqlite_cli, "export", "m1", "--actor", "e1", "--out", str(target))
    assert not target.exists()
    assert audit_count(sqlite_cli) == before
    retry = sqlite_cli("export", "m1", "--actor", "e1", "--out", str(target))
    assert retry.returncode == 0, str(retry)
    assert json.loads(target.read_text(encoding="utf-8"))["member_id"] == "m1"


def test_a_killed_dump_leaves_the_previous_file_intact(sqlite_cli: Cli) -> None:
    """Killed while writing, `dump --out FILE --force` leaves FILE as it was."""
    target = sqlite_cli.cwd / "dump.json"
    target.write_text("the previous dump\n", encoding="utf-8")
    kill_when_paused(sqlite_cli, "dump", "--out", str(target), "--force")
    assert target.read_text(encoding="utf-8") == "the previous dump\n"


# --------------------------------------------------------------------------- 11: output paths


def _blocked_folder(cli: Cli) -> str:
    (cli.cwd / "a-file").write_text("not a folder\n", encoding="utf-8")
    return "a-file/out.json"


OUTPUT_PATHS: Final = {
    "missing-folder": lambda cli: "no-such-folder/out.json",
    "name-too-long": lambda cli: "x" * 300 + ".json",
    "path-through-a-file": _blocked_folder,
    "a-folder": lambda cli: ".",
}


@pytest.mark.parametrize("case", list(OUTPUT_PATHS))
@pytest.mark.parametrize("command", ["dump", "export"])
def test_unusable_output_paths(sqlite_cli: Cli, command: str, case: str) -> None:
    """A path that cannot be written is exit 2 and one sentence; nothing is left behind."""
    path = OUTPUT_PATHS[case](sqlite_cli)
    before = files_in(sqlite_cli.cwd)
    audits = audit_count(sqlite_cli)
    args = ("dump",) if command == "dump" else ("export", "m1", "--actor", "e1")
    for extra in ((), ("--force",)):
        result = sqlite_cli(*args, "--out", path, *extra)
        one_sentence(result, 2)
        assert result.stdout == ""
        assert files_in(sqlite_cli.cwd) == before
        assert temporaries(sqlite_cli.cwd) == []
    assert audit_count(sqlite_cli) == audits


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_without_permission(sqlite_cli: Cli) -> None:
    """A folder the user may not write to: exit 2, one sentence."""
    locked = sqlite_cli.cwd / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for args in (("dump",), ("export", "m1", "--actor", "e1")):
            line = one_sentence(sqlite_cli(*args, "--out", "locked/out.json"), 2)
            assert "permission" in line
    finally:
        locked.chmod(0o700)


def test_no_permission_simulated(
    sqlite_cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Creating the output file is refused (simulated for root): exit 2, one sentence."""
    real_open = os.open

    def refuse(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if "locked" in os.fspath(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    (sqlite_cli.cwd / "locked").mkdir()
    for args in (("dump",), ("export", "m1", "--actor", "e1")):
        result = in_process(
            monkeypatch, capsys, sqlite_cli.cwd, "--db", sqlite_cli.db, *args, "--out", "locked/x"
        )
        assert "permission denied" in one_sentence(result, 2)


def test_a_full_disk_leaves_the_previous_file(
    sqlite_cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC while writing: exit 2, one sentence; the previous file intact, no audit entry."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    audits = audit_count(sqlite_cli)
    for name, args in (
        ("dump.json", ("dump",)),
        ("export.json", ("export", "m1", "--actor", "e1")),
        ("export.zip", ("export", "m1", "--actor", "e1")),
    ):
        target = sqlite_cli.cwd / name
        target.write_text("previous\n", encoding="utf-8")
        result = in_process(
            monkeypatch, capsys, sqlite_cli.cwd, "--db", sqlite_cli.db, *args, "--out", name,
            "--force",
        )  # fmt: skip
        assert "no space left" in one_sentence(result, 2)
        assert target.read_text(encoding="utf-8") == "previous\n"
        target.unlink()
        result = in_process(
            monkeypatch, capsys, sqlite_cli.cwd, "--db", sqlite_cli.db, *args, "--out", name
        )
        assert "no space left" in one_sentence(result, 2)
        assert not target.exists()
    assert temporaries(sqlite_cli.cwd) == []
    assert audit_count(sqlite_cli) == audits


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_on_stdout(sqlite_cli: Cli) -> None:
    """Stdout on a full device: exit 2, one sentence, no export audited."""
    audits = audit_count(sqlite_cli)
    for args in (
        ("dump",),
        ("export", "m1", "--actor", "e1"),
        ("check", "m1", "--as-of", AS_OF, "--json"),
        ("check", "m1", "--as-of", AS_OF),
    ):
        with open("/dev/full", "wb") as full:
            result = run(sqlite_cli, *args, stdout=full)
        assert "no space left" in one_sentence(result, 2)
    assert audit_count(sqlite_cli) == audits


def read_then_close(cli: Cli, *args: str) -> Result:
    """Run ``args``, read 100 bytes of stdout, close it (like ``| head -c 100``), wait."""
    proc = subprocess.Popen(
        cli.argv(args, with_db=True),
        cwd=cli.cwd,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    head = proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait(timeout=TIMEOUT)
    assert len(head) == 100
    return Result(args=args, returncode=code, stdout="", stderr=err.decode(errors="replace"))


def test_a_closed_pipe(cli: Cli) -> None:
    """`export ... | head -c 100` and `dump | head -c 100`: exit 141, one sentence, no audit."""
    add_big_member(cli.db)
    audits = audit_count(cli)
    for args in (("export", "m-big", "--actor", "e1"), ("dump",)):
        line = one_sentence(read_then_close(cli, *args), 141)
        assert "closed" in line
    assert audit_count(cli) == audits


# --------------------------------------------------------------------------- 8: the demo

DEMO_DB: Final = "member-anonymization-demo.sqlite"


def test_demo_never_replaces_an_earlier_demo_database(script: Path, workdir: Path) -> None:
    """Without --db an existing demo database (or its -wal) is refused, naming the way out."""
    cli = Cli(script=script, cwd=workdir, db="unused")
    for names in ((DEMO_DB, f"{DEMO_DB}-wal"), (f"{DEMO_DB}-wal",)):
        for name in names:
            (workdir / name).write_bytes(b"an earlier demo, or someone's data")
        before = files_in(workdir)
        line = assert_bad_input(cli("demo", with_db=False))
        assert "--db" in line
        assert DEMO_DB in line
        assert files_in(workdir) == before
        for name in names:
            (workdir / name).unlink()


def test_demo_never_replaces_an_existing_export_file(script: Path, workdir: Path) -> None:
    """An existing m0010-export.zip is refused before anything is made; it stays as it was."""
    cli = Cli(script=script, cwd=workdir, db="unused")
    (workdir / "m0010-export.zip").write_bytes(b"someone's export")
    line = assert_bad_input(cli("demo", with_db=False))
    assert "m0010-export.zip" in line
    assert files_in(workdir) == {"m0010-export.zip": b"someone's export"}


def test_demo_refuses_a_database_holding_data(cli: Cli) -> None:
    """A database URL (or MEMBER_ANONYMIZATION_DB) that holds a network is refused."""
    before = cli.snapshot()
    url = cli.db if "://" in cli.db else f"sqlite:///{cli.db}"
    assert "holds data" in assert_bad_input(cli.with_db(url)("demo"))
    from_env = run(cli, "demo", env={"MEMBER_ANONYMIZATION_DB": url}, with_db=False)
    assert "holds data" in assert_bad_input(from_env)
    assert cli.snapshot() == before
    assert list(cli.cwd.iterdir()) == []


# --------------------------------------------------------------------------- 9: markup


HOSTILE_NETWORK: Final = "net[/]\x1b[2J"
HOSTILE_EMPLOYEE: Final = "e[/]1"
ELIGIBLE: Final = "mk[/]ok"
BLOCKED: Final = "m[bold]b"
ESCAPED: Final = "m\x1b[31mred"
CONTROLS: Final = "m\r\x07z"
HOSTILE_CONTRACT: Final = "k[/]\x1b[31m"


def hostile_dataset() -> Any:
    """Ids full of markup and control characters (all valid ids)."""
    return dataset(
        club("c1", retention_months=24),
        employee(HOSTILE_EMPLOYEE, permissions=EVERY_PERMISSION),
        member(ELIGIBLE),
        *profile_records(ELIGIBLE),
        contract("k-ok", member_id=ELIGIBLE),
        member(BLOCKED),
        contract(HOSTILE_CONTRACT, member_id=BLOCKED, start=dt.date(2026, 1, 1), end=None),
        member(ESCAPED),
        contract("k-esc", member_id=ESCAPED),
        member(CONTROLS),
        contract("k-ctrl", member_id=CONTROLS),
        wallet("10.00", member_id=CONTROLS),
        net=network(HOSTILE_NETWORK),
    )


def shown(value: str) -> str:
    """How an id appears in human-readable output: control characters escaped."""
    return (
        value.replace("\x1b", "\\x1b")
        .replace("\r", "\\r")
        .replace("\x07", "\\x07")
        .replace("\n", "\\n")
    )


def test_markup_and_control_characters_are_shown_literally(
    script: Path, workdir: Path, new_database: NewDatabase
) -> None:
    """Every command shows ids with markup literally and control characters escaped."""
    cli = Cli(script=script, cwd=workdir, db=new_database("blank"))
    source = write_json(workdir / "hostile.json", hostile_dataset())

    def ok(*args: str, code: int = 0) -> Result:
        result = cli(*args)
        assert result.returncode == code, str(result)
        no_control_characters(result)
        assert_no_traceback(result)
        assert "internal error" not in result.output, str(result)
        assert code != 0 or "nothing was changed" not in result.stderr, str(result)
        return result

    assert shown(HOSTILE_NETWORK) in ok("load", str(source)).stdout
    assert shown(ELIGIBLE) in ok("check", ELIGIBLE, "--as-of", AS_OF).stdout
    blocked = ok("check", BLOCKED, "--as-of", AS_OF).stdout
    assert BLOCKED in blocked
    assert shown(HOSTILE_CONTRACT) in blocked
    assert ok("check", ESCAPED, "--as-of", AS_OF, "--json").json()["member_id"] == ESCAPED
    exported = ok("export", ELIGIBLE, "--actor", HOSTILE_EMPLOYEE, "--out", "a[bold]b.json").stdout
    assert "a[bold]b.json" in exported
    assert (workdir / "a[bold]b.json").is_file()
    done = ok("anonymize", ELIGIBLE, "--actor", HOSTILE_EMPLOYEE, "--as-of", AS_OF, "--yes")
    assert f"Member {ELIGIBLE} anonymized." in done.stdout
    assert by_id(cli.snapshot().members)[ELIGIBLE].anonymized_at is not None
    refused = ok(
        "anonymize", BLOCKED, "--actor", HOSTILE_EMPLOYEE, "--as-of", AS_OF, "--yes", code=1
    )
    assert shown(HOSTILE_CONTRACT) in refused.stdout
    dry = ok("sweep", "--as-of", AS_OF, "--dry-run").stdout
    assert shown(CONTROLS) in dry
    swept = ok("sweep", "--as-of", AS_OF).stdout
    assert shown(CONTROLS) in swept
    assert by_id(cli.snapshot().members)[ESCAPED].anonymized_at is not None

    added = ok("request", "add", BLOCKED, "--actor", HOSTILE_EMPLOYEE, "--json").json()
    request_id = added["request_id"]
    ok("request", "add", BLOCKED, "--actor", HOSTILE_EMPLOYEE, code=1)
    assert BLOCKED in ok("request", "list").stdout
    assert BLOCKED in ok("request", "show", request_id).stdout
    ok("request", "extend", request_id, "--actor", HOSTILE_EMPLOYEE, "--reason", "complexity")
    ok("request", "process")
    listed = ok("outbox", "list").stdout
    assert shown(ESCAPED) in listed
    messages = ok("outbox", "list", "--json").json()["messages"]
    ok("outbox", "ack", *[m["message_id"] for m in messages])
    ok("request", "withdraw", request_id, "--actor", HOSTILE_EMPLOYEE)
    ok("dump", "--out", "d[red]ump.json")
    assert (workdir / "d[red]ump.json").is_file()

    for args in (
        ("check", "x[/]\x1b[31m\x07", "--as-of", AS_OF),
        ("anonymize", BLOCKED, "--actor", "e[bold]\x1b[2J", "--yes"),
        ("request", "show", "r[/]\r"),
        ("outbox", "ack", "o[/]\x1b"),
        ("sweep", "--club", "c[/]\x1b", "--as-of", AS_OF),
        ("export", "m[/]\x1b", "--actor", HOSTILE_EMPLOYEE),
    ):
        result = cli(*args)
        one_sentence(result, 2)
        no_control_characters(result)
        assert "[/]" in result.stderr or "[bold]" in result.stderr, str(result)


def by_id(records: Any) -> dict[str, Any]:
    """Records keyed by id."""
    return {r.id: r for r in records}


def test_a_failure_after_the_commit_never_says_nothing_changed(
    sqlite_cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Printing fails after the anonymization was committed: the message says it was committed."""
    from member_anonymization.cli import _app

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("printing failed")

    monkeypatch.setattr(_app, "_print_result", broken)
    result = in_process(
        monkeypatch, capsys, sqlite_cli.cwd, "--db", sqlite_cli.db,
        "anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes",
    )  # fmt: skip
    assert result.returncode != 0, str(result)
    line = result.error_line()
    assert "committed" in line
    assert "nothing was changed" not in line
    assert by_id(sqlite_cli.snapshot().members)["m1"].anonymized_at is not None


# --------------------------------------------------------------------------- 12: the prompt


def on_controlling_terminal(cli: Cli, args: tuple[str, ...], keys: bytes) -> tuple[int, str]:
    """Run the script on a pseudo-terminal that controls it; type ``keys`` at the question.

    Returns the exit code and what the terminal showed.
    """
    argv = cli.argv(args, with_db=True)
    env = _environment()
    pid, master = pty.fork()
    if pid == 0:  # the child: its own session, the terminal controls it
        try:
            os.chdir(cli.cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown = bytearray()
    typed = False
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the script exited
                break
            if not chunk:
                break
            shown += chunk
            if not typed and PROMPT_MARK in shown:
                time.sleep(0.2)
                os.write(master, keys)
                typed = True
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"no exit within {TIMEOUT} s: {shown.decode(errors='replace')!r}")
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    assert typed, shown.decode(errors="replace")
    return os.waitstatus_to_exitcode(status), _clean_terminal_text(bytes(shown))


@pytest.mark.parametrize(
    ("keys", "code", "words"),
    [(b"\x03", 130, "interrupted"), (b"\x04", 1, "aborted; nothing was changed")],
    ids=["ctrl-c", "ctrl-d"],
)
def test_ctrl_c_and_ctrl_d_at_the_question(
    sqlite_cli: Cli, keys: bytes, code: int, words: str
) -> None:
    """Ctrl-C at the question exits 130, Ctrl-D 1; never an internal error; nothing changes."""
    before = sqlite_cli.snapshot()
    returncode, shown_text = on_controlling_terminal(
        sqlite_cli, ("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF), keys
    )
    assert returncode == code, shown_text
    assert words in shown_text
    assert "nothing was changed" in shown_text
    assert "internal error" not in shown_text
    assert "Traceback" not in shown_text
    assert sqlite_cli.snapshot() == before


# --------------------------------------------------------------------------- 13: --db paths


def test_a_tilde_in_db_means_the_home_folder_for_every_command(
    script: Path, tmp_path: Path, workdir: Path
) -> None:
    """`--db ~/club.sqlite`: init, load, check and dump all use the same file in $HOME."""
    home = tmp_path / "home"
    home.mkdir()
    cli = Cli(script=script, cwd=workdir, db="~/club.sqlite")
    source = write_json(workdir / "mixed.json", mixed_dataset())
    env = {"HOME": str(home)}
    for args in (("init",), ("load", str(source)), ("check", "m1", "--as-of", AS_OF, "--json")):
        result = run(cli, *args, env=env)
        assert result.returncode == 0, str(result)
    assert (home / "club.sqlite").is_file()
    assert sorted(p.name for p in workdir.iterdir()) == ["mixed.json"]


def test_a_rejected_load_into_a_new_file_leaves_no_file(script: Path, workdir: Path) -> None:
    """A rejected file loaded into a new database path leaves no database file (nor -wal, -shm)."""
    raw = json.loads(json.dumps(mixed_dataset_raw()))
    raw["members"][0]["birth_date"] = "12/04/1990"
    source = write_json(workdir / "invalid.json", raw)
    for db in ("new.sqlite", f"sqlite:///{workdir / 'new-url.sqlite'}"):
        cli = Cli(script=script, cwd=workdir, db=db)
        for extra in ((), ("--json",)):
            result = cli("load", str(source), *extra)
            assert result.returncode == 2, str(result)
            assert sorted(p.name for p in workdir.iterdir()) == ["invalid.json"]


def mixed_dataset_raw() -> dict[str, Any]:
    """The mixed dataset as a dataset file's object."""
    from member_anonymization.serialization import unstructure_dataset

    return unstructure_dataset(mixed_dataset())


def test_read_only_commands_on_a_missing_database_create_nothing(
    script: Path, tmp_path: Path, workdir: Path
) -> None:
    """check, dump, sweep, request list, outbox list on a missing database: exit 2, no file."""
    home = tmp_path / "home"
    home.mkdir()
    commands = [
        ("check", "m1", "--as-of", AS_OF),
        ("dump",),
        ("sweep", "--as-of", AS_OF, "--dry-run"),
        ("request", "list"),
        ("outbox", "list"),
    ]
    for db in (f"sqlite:///{workdir / 'missing.sqlite'}", "missing.sqlite", "~/missing.sqlite"):
        cli = Cli(script=script, cwd=workdir, db=db)
        for args in commands:
            result = run(cli, *args, env={"HOME": str(home)})
            one_sentence(result, 2)
        assert list(workdir.iterdir()) == []
        assert list(home.iterdir()) == []


# --------------------------------------------------------------------------- 14: long values


LONG: Final = 100_000


def test_long_ids_in_errors_are_shortened(sqlite_cli: Cli) -> None:
    """A 100 KB member, employee, club, request or message id never becomes a 100 KB line."""
    for args in (
        ("check", "m" * LONG, "--as-of", AS_OF),
        ("anonymize", "m1", "--actor", "e" * LONG, "--as-of", AS_OF, "--yes"),
        ("anonymize", "m" * LONG, "--actor", "e1", "--as-of", AS_OF, "--yes"),
        ("export", "m" * LONG, "--actor", "e1"),
        ("sweep", "--club", "c" * LONG, "--as-of", AS_OF),
        ("request", "show", "r" * LONG),
        ("request", "add", "m1", "--actor", "e" * LONG),
        ("outbox", "ack", "o" * LONG),
    ):
        line = one_sentence(sqlite_cli(*args), 2)
        assert "…" in line, line


def test_load_errors_never_echo_long_values(script: Path, workdir: Path) -> None:
    """Long or hostile ids and keys of a rejected file appear shortened and escaped."""
    raw = mixed_dataset_raw()
    raw["members"][0]["id"] = "m" * LONG
    raw["members"][1]["\x1b[31m" + "k" * LONG] = "x"
    raw["members"][2] = {**raw["members"][2], "id": "\x1b" * 200, "birth_date": "12/04/1990"}
    raw["x" * LONG] = 1
    source = write_json(workdir / "long.json", raw)
    cli = Cli(script=script, cwd=workdir, db="new.sqlite")
    result = cli("load", str(source))
    assert result.returncode == 2, str(result)
    no_control_characters(result)
    assert_no_traceback(result)
    assert max(len(line) for line in result.stderr.splitlines()) <= SAFE_LINE
    as_json = cli("load", str(source), "--json")
    assert as_json.returncode == 2, str(as_json)
    assert len(as_json.stdout) < 20 * SAFE_LINE
    for problem in as_json.json()["problems"]:
        assert len(json.dumps(problem)) <= 2 * SAFE_LINE


# --------------------------------------------------------------------------- 15: every problem


def many_problems() -> dict[str, Any]:
    """A dataset file with 25 members, each with a bad birth date: 25 problems."""
    raw = mixed_dataset_raw()
    template = raw["members"][0]
    raw["members"] = [{**template, "id": f"m{n}", "birth_date": "12/04/1990"} for n in range(1, 26)]
    return raw


def test_load_reports_every_problem(script: Path, workdir: Path) -> None:
    """The first 20 problems on stderr after one sentence with the count; all 25 with --json."""
    source = write_json(workdir / "problems.json", many_problems())
    cli = Cli(script=script, cwd=workdir, db="new.sqlite")
    result = cli("load", str(source))
    assert result.returncode == 2, str(result)
    assert result.stdout == ""
    assert_no_traceback(result)
    assert_no_personal_data(result)
    assert "12/04/1990" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ")
    assert "25 problems" in lines[0]
    problem_lines = [line for line in lines[1:] if "birth_date" in line]
    assert len(problem_lines) == 20
    assert "members[0] (id 'm1') field 'birth_date'" in problem_lines[0]
    assert "5 more" in lines[-1]

    as_json = cli("load", str(source), "--json")
    assert as_json.returncode == 2, str(as_json)
    obj = as_json.json()
    assert obj["count"] == 25
    assert isinstance(obj["error"], str)
    assert len(obj["problems"]) == 25
    for n, problem in enumerate(obj["problems"]):
        assert set(problem) == {"collection", "index", "record_id", "field", "message"}
        assert (problem["collection"], problem["index"]) == ("members", n)
        assert problem["record_id"] == f"m{n + 1}"
        assert problem["field"] == "birth_date"
    assert "12/04/1990" not in as_json.output
    assert len(as_json.stderr.splitlines()) == 1
    assert list(workdir.iterdir()) == [source]


# --------------------------------------------------------------------------- 21: load streams


def test_load_reads_standard_input_from_a_pipe_or_a_redirected_file(
    script: Path, workdir: Path
) -> None:
    """`load -` takes the file from a pipe or a redirection: the same records as `load FILE`."""
    source = write_json(workdir / "mixed.json", mixed_dataset())
    text = source.read_text(encoding="utf-8")
    piped = Cli(script=script, cwd=workdir, db=str(workdir / "piped.sqlite"))
    result = piped("load", "-", stdin=text)
    assert result.returncode == 0, str(result)
    redirected = Cli(script=script, cwd=workdir, db=str(workdir / "redirected.sqlite"))
    with source.open("rb") as stream:
        as_json = run(redirected, "load", "-", "--json", stdin=stream)
    assert as_json.returncode == 0, str(as_json)
    assert as_json.json()["network_id"] == mixed_dataset().network.id
    assert f"Loaded {sum(as_json.json()['loaded'].values())} records" in result.stdout
    assert piped.snapshot() == redirected.snapshot()


def test_a_rejected_load_from_standard_input_lists_every_problem_and_leaves_no_file(
    script: Path, workdir: Path
) -> None:
    """A piped file with 25 problems: all of them with --json, exit 2, no database file."""
    text = json.dumps(many_problems(), ensure_ascii=False)
    cli = Cli(script=script, cwd=workdir, db="new.sqlite")
    as_json = cli("load", "-", "--json", stdin=text)
    assert as_json.returncode == 2, str(as_json)
    assert as_json.json()["count"] == len(as_json.json()["problems"]) == 25
    assert "25 problems" in one_sentence(as_json, 2)
    broken = cli("load", "-", stdin=text[: len(text) // 2])
    assert "not valid JSON" in one_sentence(broken, 2)
    assert_no_personal_data(broken)
    assert list(workdir.iterdir()) == []


def test_load_of_a_missing_file_or_a_folder_is_one_sentence(script: Path, workdir: Path) -> None:
    """A missing file or a folder: exit 2, one sentence naming it, no database file."""
    (workdir / "folder").mkdir()
    cli = Cli(script=script, cwd=workdir, db="new.sqlite")
    missing = one_sentence(cli("load", "missing.json"), 2)
    assert missing == "error: no such file: 'missing.json'"
    folder = one_sentence(cli("load", "folder"), 2)
    assert folder == "error: cannot read 'folder' (it is a folder)"
    assert [p.name for p in workdir.iterdir()] == ["folder"]


def test_load_streams_the_file_instead_of_parsing_it_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    """`load` hands the open file or stdin to SqlStore.load_file, never a parsed object."""
    from member_anonymization.adapters.sql import SqlStore

    source = write_json(workdir / "mixed.json", mixed_dataset())
    given: list[object] = []
    streaming = SqlStore.load_file

    def spy(self: SqlStore, stream: Any) -> Any:
        given.append(stream)
        return streaming(self, stream)

    def parsed(self: SqlStore, source: Any) -> Any:
        raise AssertionError("load parsed the whole file")

    monkeypatch.setattr(SqlStore, "load_file", spy)
    monkeypatch.setattr(SqlStore, "load", parsed)
    first = in_process(monkeypatch, capsys, workdir, "--db", "a.sqlite", "load", str(source))
    assert first.returncode == 0, str(first)
    stdin = io.TextIOWrapper(io.BytesIO(source.read_bytes()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    second = in_process(monkeypatch, capsys, workdir, "--db", "b.sqlite", "load", "-")
    assert second.returncode == 0, str(second)
    assert isinstance(given[0], io.BufferedReader)
    assert given[0].closed
    assert given[1] is stdin.buffer


# --------------------------------------------------------------------------- 18: a busy database


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's stores give up on a lock after a fifth of a second."""
    from member_anonymization.adapters.sql import SqlStore

    opener = SqlStore.open.__func__  # type: ignore[attr-defined]

    def open_briefly(cls: type[SqlStore], target: Any, **options: Any) -> SqlStore:
        return opener(cls, target, **{**options, "busy_timeout": 0.2, "lock_timeout": 0.2})

    monkeypatch.setattr(SqlStore, "open", classmethod(open_briefly))


@pytest.fixture
def held(cli: Cli) -> Iterator[None]:
    """Another process holds the write lock (SQLite) or the members table (PostgreSQL)."""
    if "://" not in cli.db:
        import sqlite3

        conn = sqlite3.connect(cli.db, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            conn.close()
        return
    from member_anonymization.adapters.sql import create_sql_engine

    engine = create_sql_engine(cli.db)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE members IN ACCESS EXCLUSIVE MODE")
            yield
            conn.rollback()
    finally:
        engine.dispose()


@pytest.mark.usefixtures("short_waits", "held")
def test_a_busy_database_has_its_own_sentence(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A locked database: exit 2 and "the database is busy", not "cannot be used"."""
    for args in (
        ("anonymize", "m1", "--actor", "e1", "--as-of", AS_OF, "--yes"),
        ("sweep", "--as-of", AS_OF),
    ):
        result = in_process(monkeypatch, capsys, cli.cwd, "--db", cli.db, *args)
        line = one_sentence(result, 2)
        assert "the database is busy: another process holds it" in line
        assert "cannot be used" not in line


def test_members_left_by_a_busy_database_are_told_as_such(
    sqlite_cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run whose only failures are a busy database says so (exit 2), not "internal"."""
    from member_anonymization.erasure import ProcessReport, RequestProcessor
    from member_anonymization.retention import FailedMember, RetentionSweep, SweepReport

    def sweep_busy(self: RetentionSweep, **kwargs: Any) -> SweepReport:
        failed = tuple(
            FailedMember(member_id=m, error_type="DatabaseBusyError") for m in ("m3", "m5")
        )
        return SweepReport(as_of=TODAY, dry_run=False, due=3, anonymized=("m1",), errors=failed)

    def process_busy(self: RequestProcessor, **kwargs: Any) -> ProcessReport:
        return ProcessReport(as_of=TODAY, errors=(("r1", "DatabaseBusyError"),))

    monkeypatch.setattr(RetentionSweep, "run", sweep_busy)
    monkeypatch.setattr(RequestProcessor, "run", process_busy)
    for args, ids in ((("sweep", "--as-of", AS_OF), "m3, m5"), (("request", "process"), "r1")):
        result = in_process(monkeypatch, capsys, sqlite_cli.cwd, "--db", sqlite_cli.db, *args)
        line = one_sentence(result, 2)
        assert "the database is busy: another process holds it" in line
        assert ids in line


# --------------------------------------------------------------------------- 20: held elsewhere


def test_sweep_reports_members_held_elsewhere(
    sqlite_cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Members another worker holds are named in --json and in the text output."""
    from member_anonymization.retention import RetentionSweep, SweepReport

    def run_held(self: RetentionSweep, **kwargs: Any) -> SweepReport:
        return SweepReport(
            as_of=TODAY, dry_run=False, due=3, anonymized=("m1",), held_elsewhere=("m3", "m5")
        )

    monkeypatch.setattr(RetentionSweep, "run", run_held)
    args = ("--db", sqlite_cli.db, "sweep", "--as-of", AS_OF)
    as_json = in_process(monkeypatch, capsys, sqlite_cli.cwd, *args, "--json")
    assert as_json.returncode == 0, str(as_json)
    assert as_json.json()["held_elsewhere"] == ["m3", "m5"]
    text = in_process(monkeypatch, capsys, sqlite_cli.cwd, *args)
    assert text.returncode == 0, str(text)
    assert "m3, m5" in text.output
    assert "another" in text.output


@pytest.mark.postgres
def test_sweep_on_postgres_names_a_locked_member(postgres_cli: Cli) -> None:
    """A due member whose row another connection locks is reported under held_elsewhere."""
    from member_anonymization.adapters.sql import create_sql_engine

    engine = create_sql_engine(postgres_cli.db)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT id FROM members WHERE id = 'm5' FOR UPDATE")
            result = postgres_cli("sweep", "--as-of", AS_OF, "--json")
            conn.rollback()
    finally:
        engine.dispose()
    assert result.returncode == 0, str(result)
    obj = result.json()
    assert obj["held_elsewhere"] == ["m5"]
    assert "m5" not in obj["anonymized"]
    assert obj["due"] == len(obj["anonymized"]) + len(obj["skipped"]) + 1


# --------------------------------------------------------------------------- the demo's date


def _shifted_datetime(when: dt.datetime) -> type[dt.datetime]:
    """``datetime`` whose ``now()`` is ``when``."""

    class Shifted(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            moment = when if tz is None else when.astimezone(tz)
            return cls.fromtimestamp(moment.timestamp(), tz)

    return Shifted


class _ShiftedModule:
    """The ``datetime`` module with another ``datetime`` class."""

    def __init__(self, shifted: type[dt.datetime]) -> None:
        self.datetime = shifted
        self.date = dt.date
        self.time = dt.time
        self.timedelta = dt.timedelta
        self.timezone = dt.timezone
        self.UTC = dt.UTC


def test_demo_output_does_not_depend_on_the_real_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run on two different real dates, the demo prints the same story, on its fixed date."""
    pytest.importorskip("faker")
    import faker.providers.date_time as faker_dates

    from member_anonymization import _clock
    from member_anonymization.cli import _app

    outputs = []
    for when in (
        dt.datetime(2027, 3, 15, 9, tzinfo=dt.UTC),
        dt.datetime(2031, 7, 1, 22, tzinfo=dt.UTC),
    ):
        shifted = _shifted_datetime(when)
        monkeypatch.setattr(_clock.SystemClock, "now", lambda self, w=when: w)
        monkeypatch.setattr(faker_dates, "datetime", shifted)
        monkeypatch.setattr(_app, "dt", _ShiftedModule(shifted))
        folder = tmp_path / f"run-{when.year}"
        folder.mkdir()
        result = in_process(monkeypatch, capsys, folder, "demo")
        assert result.returncode == 0, str(result)
        outputs.append(result.stdout.replace(str(folder), "FOLDER"))
    first, second = outputs
    assert "2026-11-27" in first
    assert first == second

"""Running the installed ``member-anonymization`` script against real databases.

Every test gets a :class:`Cli`: the console script as a subprocess, in a
temporary working folder, bound to a database of its own. On SQLite the
databases are copies of files prepared once per session; on PostgreSQL each
one is a fresh schema of the session's server (see ``tests/backends.py``:
under ``CI`` the server must answer, elsewhere those tests are skipped).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import pytest

from member_anonymization.serialization import Dataset, unstructure_dataset
from tests.builders import (
    PERSONAL_VALUES,
    TODAY,
    club,
    contract,
    dataset,
    employee,
    member,
    profile_records,
    purchase,
    wallet,
)
from tests.e2e import _forkserver

if TYPE_CHECKING:
    from tests.backends import PgServer

SCRIPT_NAME: Final = "member-anonymization"
AS_OF: Final = TODAY.isoformat()
"""The ``--as-of`` date the tests pass, so that results do not depend on the calendar."""

SPEC_FILE: Final = Path(__file__).resolve().parents[1] / "data" / "spec_example.json"
"""The dataset of the interface specification."""

SPEC_PERSONAL_VALUES: Final = (
    "Kowalski",
    "jan.kowalski@example.com",
    "+48600100200",
    "90041212345",
    "1990-04-12",
    "Długa 5/3",
    "Warszawa",
    "Knee injury 2018",
    "Prefers mornings",
    "contract-scan.pdf",
)
"""Personal texts of :data:`SPEC_FILE` that no message may repeat."""

ALL_PERSONAL_VALUES: Final = (*PERSONAL_VALUES, *SPEC_PERSONAL_VALUES)

TIMEOUT: Final = 60.0
"""Seconds any single run of the script may take."""

PARALLEL_RUNS: Final = 4
"""How many independent runs of the script may go at once (each is mostly start-up time)."""

PLACEHOLDER_PASSWORD: Final = "e2e-Pa55word"
"""Put into PostgreSQL URLs without a password, so that the tests can see it is never shown."""

PROMPT_MARK: Final = b"[y/N]"
"""How the confirmation question ends on a terminal."""

T = TypeVar("T")

_ANSI: Final = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>]")


def mixed_dataset() -> Dataset:
    """A network with one member for each outcome the command line reports.

    * ``m1`` (club ``c1``): every kind of profile record, a contract that ended
      in 2019: eligible and due for retention.
    * ``m2`` (``c1``): an open-ended contract running since 2026: blocked
      (``active_contract``), never due.
    * ``m3`` (``c1``): an old contract and an unpaid purchase: eligible with the
      ``unpaid_purchases`` warning, due.
    * ``m4`` (``c1``): an old contract and money in the wallet: due, but blocked
      (``wallet_funds``).
    * ``m5`` (``c2``): an old contract: due.
    * ``m6`` (``c2``): an old contract, processing restricted: due, but blocked
      (``processing_restricted``).

    Employee ``e1`` holds every permission, ``e2`` none.
    """
    return dataset(
        club("c1", retention_months=24),
        club("c2", retention_months=12),
        employee("e1"),
        employee("e2", name="Piotr Stazysta", permissions=()),
        member("m1"),
        *profile_records("m1"),
        member("m2"),
        contract("k-m2", member_id="m2", start=dt.date(2026, 1, 1), end=None),
        member("m3"),
        contract("k-m3", member_id="m3"),
        purchase("p-m3", member_id="m3"),
        member("m4"),
        contract("k-m4", member_id="m4"),
        wallet("10.00", member_id="m4"),
        member("m5", home_club_id="c2"),
        contract("k-m5", member_id="m5", club_id="c2"),
        member("m6", home_club_id="c2", restrict_processing=True),
        contract("k-m6", member_id="m6", club_id="c2"),
    )


def spec_raw() -> dict[str, Any]:
    """The parsed JSON object of :data:`SPEC_FILE`."""
    raw = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def write_json(path: Path, content: Dataset | Mapping[str, Any]) -> Path:
    """Write a dataset (or any JSON object) as a UTF-8 file and return its path."""
    raw = unstructure_dataset(content) if isinstance(content, Dataset) else content
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


DATASETS: Final[Mapping[str, Callable[[], Dataset | Mapping[str, Any]] | None]] = {
    "blank": None,
    "spec": spec_raw,
    "mixed": mixed_dataset,
}
"""What a prepared database may hold: the schema only, or one of the datasets."""


# --------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class Result:
    """What one run of the script did.

    Attributes:
        args: The arguments after the script's name.
        returncode: The exit code.
        stdout: Everything on stdout (on a terminal: everything the terminal showed).
        stderr: Everything on stderr (empty on a terminal).
    """

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"member-anonymization {' '.join(self.args)} -> exit {self.returncode}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )

    def json(self) -> dict[str, Any]:
        """The whole of stdout parsed as exactly one JSON object."""
        try:
            obj = json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            pytest.fail(f"stdout is not exactly one JSON value ({exc}):\n{self}")
        assert isinstance(obj, dict), f"stdout holds a JSON {type(obj).__name__}, not an object"
        return obj

    def error_line(self) -> str:
        """The one line on stderr (fails unless stderr is exactly one line)."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1, f"stderr should be exactly one line:\n{self}"
        assert lines[0].strip(), f"stderr holds an empty line:\n{self}"
        return lines[0]

    @property
    def output(self) -> str:
        """Stdout and stderr together."""
        return self.stdout + self.stderr


def assert_no_traceback(result: Result) -> None:
    """No Python traceback anywhere in the output."""
    assert "Traceback" not in result.output, str(result)


def assert_no_personal_data(result: Result, values: tuple[str, ...] = ALL_PERSONAL_VALUES) -> None:
    """None of the datasets' personal values appears on stdout or stderr."""
    leaked = [value for value in values if value in result.output]
    assert not leaked, f"personal data {leaked} in the output:\n{result}"


def assert_bad_input(result: Result) -> str:
    """Exit 2, one sentence on stderr, no traceback, no personal data; returns the sentence."""
    assert result.returncode == 2, str(result)
    line = result.error_line()
    assert_no_traceback(result)
    assert_no_personal_data(result)
    return line


def assert_rejected_dataset(result: Result) -> str:
    """Like :func:`assert_bad_input` for ``load``: several problems follow the sentence.

    Exit 2; stderr is one sentence, then, when the file has several problems,
    one indented line for each of the first twenty (and one saying how many
    more); no traceback, no personal data. Returns the sentence.
    """
    assert result.returncode == 2, str(result)
    lines = result.stderr.splitlines()
    assert lines, str(result)
    assert lines[0].startswith("error: "), str(result)
    assert all(line.startswith("  ") and line.strip() for line in lines[1:]), str(result)
    assert len(lines) <= 22, str(result)
    assert_no_traceback(result)
    assert_no_personal_data(result)
    return lines[0]


# --------------------------------------------------------------------------- the script


def _script() -> Path | None:
    beside = Path(sys.executable).with_name(SCRIPT_NAME)
    if beside.is_file():
        return beside
    found = shutil.which(SCRIPT_NAME)
    return Path(found) if found else None


REAL_PROCESSES_VARIABLE: Final = "E2E_REAL_PROCESSES"
"""Set to 1 to run every command as a new process of the installed script."""

_FORK_SERVER: list[str] = []
"""The socket of this session's fork server, while it runs."""


@pytest.fixture(scope="session", autouse=True)
def fork_server(script: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Start the fork server that :class:`Cli` runs commands through (unless told not to)."""
    if os.environ.get(REAL_PROCESSES_VARIABLE) == "1" or not hasattr(os, "fork"):
        yield
        return
    path = str(tmp_path_factory.mktemp("fork-server") / "socket")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e._forkserver", path],
        cwd=Path(__file__).resolve().parents[2],
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert server.stdout is not None
    with server.stdout:
        ready = server.stdout.readline().strip() == b"ready"
    if not ready:
        server.kill()
        server.wait()
        pytest.fail("the fork server of the end-to-end tests did not start")
    _FORK_SERVER.append(path)
    try:
        yield
    finally:
        _FORK_SERVER.clear()
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.fixture(scope="session")
def script() -> Path:
    """The installed console script (the ``cli`` extra must be installed)."""
    pytest.importorskip("typer", reason="the command line needs the 'cli' extra")
    pytest.importorskip("sqlalchemy", reason="the command line needs the 'cli' extra")
    found = _script()
    if found is None:
        pytest.fail(f"the {SCRIPT_NAME} script is not installed: pip install -e '.[cli]'")
    return found


def side_by_side(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Call every job, :data:`PARALLEL_RUNS` at a time; the results in the jobs' order."""
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file directly in ``folder``, by name, with its content."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBER_ANONYMIZATION_")}
    env.update(COLUMNS="200", LINES="50", PYTHONUTF8="1", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    return env


def _text(raw: bytes) -> str:
    """Output as ``subprocess.run(text=True)`` gives it: UTF-8, universal newlines."""
    return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _clean_terminal_text(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "")


@attrs.frozen(kw_only=True)
class Cli:
    """The console script, run in ``cwd`` against the database ``db``.

    Attributes:
        script: The installed script.
        cwd: The working folder of every run.
        db: The ``--db`` value (a SQLite path or a PostgreSQL URL).
    """

    script: Path
    cwd: Path
    db: str

    def argv(self, args: tuple[str, ...], *, with_db: bool) -> list[str]:
        """The command line of one run."""
        return [str(self.script), *(("--db", self.db) if with_db else ()), *args]

    def __call__(self, *args: str, stdin: str = "", with_db: bool = True) -> Result:
        """Run the script without a terminal (stdin is a pipe holding ``stdin``).

        Through the session's fork server when it runs (see ``_forkserver``),
        else as a new process of the installed script.
        """
        if _FORK_SERVER:
            code, stdout, stderr = _forkserver.run(
                _FORK_SERVER[0],
                self.argv(args, with_db=with_db),
                cwd=str(self.cwd),
                env=_environment(),
                stdin=stdin.encode(),
                timeout=TIMEOUT,
            )
            return Result(
                args=args,
                returncode=code,
                stdout=_text(stdout),
                stderr=_text(stderr),
            )
        done = subprocess.run(
            self.argv(args, with_db=with_db),
            cwd=self.cwd,
            env=_environment(),
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=TIMEOUT,
            check=False,
        )
        return Result(args=args, returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)

    def run_all(self, commands: Sequence[tuple[str, ...]]) -> list[Result]:
        """Run independent commands (none may change the database) side by side."""
        return side_by_side([functools.partial(self, *args) for args in commands])

    def on_terminal(self, *args: str, answer: str | None = None) -> Result:
        """Run the script on a pseudo-terminal, typing ``answer`` at the confirmation question.

        The terminal's output (both streams, colours and cursor moves removed)
        is the result's ``stdout``.
        """
        if not hasattr(os, "openpty"):
            pytest.skip("pseudo-terminals need a POSIX system")
        master, slave = os.openpty()
        try:
            proc = subprocess.Popen(
                self.argv(args, with_db=True),
                cwd=self.cwd,
                env=_environment(),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
            )
        finally:
            os.close(slave)
        shown = bytearray()
        pending = None if answer is None else answer.encode() + b"\n"
        deadline = time.monotonic() + TIMEOUT
        try:
            while True:
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    pytest.fail(f"no exit within {TIMEOUT} s on a terminal: {shown.decode()!r}")
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the script has exited and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
                if pending is not None and PROMPT_MARK in shown:
                    os.write(master, pending)
                    pending = None
            returncode = proc.wait(timeout=TIMEOUT)
        finally:
            os.close(master)
        return Result(
            args=args, returncode=returncode, stdout=_clean_terminal_text(bytes(shown)), stderr=""
        )

    @property
    def password(self) -> str | None:
        """The password in the database URL, if any."""
        if "://" not in self.db:
            return None
        from sqlalchemy.engine import make_url

        password = make_url(self.db).password
        return None if password is None else str(password)

    def assert_no_password(self, result: Result) -> None:
        """The output does not show the database password."""
        if self.password is not None:
            assert self.password not in result.output, str(result)

    def with_db(self, db: str) -> Cli:
        """The same script and folder with another database."""
        return attrs.evolve(self, db=db)

    def snapshot(self) -> Dataset:
        """The database's content (read in this process), in canonical order."""
        from member_anonymization.adapters.sql import SqlStore

        with SqlStore.open(self.db) as store:
            return store.dump().sorted()


# --------------------------------------------------------------------------- databases


class SqliteTemplates:
    """SQLite files prepared once per session, copied for every test that needs one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[str, Path] = {}

    def template(self, kind: str) -> Path:
        """The prepared file holding ``kind`` (see :data:`DATASETS`)."""
        if kind not in self._made:
            from member_anonymization.adapters.sql import SqlStore

            path = self.folder / f"{kind}.sqlite"
            with SqlStore.open(path) as store:
                store.create_schema()
                make = DATASETS[kind]
                if make is not None:
                    store.load(make())
            self._made[kind] = path
        return self._made[kind]

    def copy(self, kind: str, target: Path) -> Path:
        """A new database file at ``target`` holding ``kind``."""
        template = self.template(kind)
        shutil.copyfile(template, target)
        for suffix in ("-wal", "-shm"):
            extra = template.with_name(template.name + suffix)
            if extra.exists():
                shutil.copyfile(extra, target.with_name(target.name + suffix))
        return target


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    """The session's prepared SQLite databases."""
    pytest.importorskip("sqlalchemy")
    return SqliteTemplates(tmp_path_factory.mktemp("e2e-templates"))


NewDatabase = Callable[[str], str]
"""Makes a new database of the test's backend and returns its ``--db`` value.

The argument is ``"none"`` (nothing at all: no file, no tables), ``"blank"``
(the schema only), ``"spec"`` or ``"mixed"`` (the schema and that dataset).
"""


def _sqlite_databases(folder: Path, templates: SqliteTemplates) -> NewDatabase:
    folder.mkdir()
    count = 0

    def new(kind: str) -> str:
        nonlocal count
        count += 1
        path = folder / f"db-{count}.sqlite"
        if kind != "none":
            templates.copy(kind, path)
        return str(path)

    return new


def _postgres_databases(server: PgServer) -> NewDatabase:
    def new(kind: str) -> str:
        store = server.open_blank()
        try:
            if kind != "none":
                store.create_schema()
                make = DATASETS[kind]
                if make is not None:
                    store.load(make())
            url = store.engine.url
        finally:
            store.dispose()
        if url.password is None:  # the server trusts the user; the password is never asked for
            url = url.set(password=PLACEHOLDER_PASSWORD)
        return url.render_as_string(hide_password=False)

    return new


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_templates: SqliteTemplates
) -> NewDatabase:
    """New databases on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        return _postgres_databases(request.getfixturevalue("postgres_server"))
    return _sqlite_databases(tmp_path / "databases", sqlite_templates)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The working folder of the script's runs."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def cli(script: Path, workdir: Path, new_database: NewDatabase) -> Cli:
    """The script on a database holding :func:`mixed_dataset`, on every backend."""
    return Cli(script=script, cwd=workdir, db=new_database("mixed"))


@pytest.fixture
def sqlite_cli(
    script: Path, workdir: Path, tmp_path: Path, sqlite_templates: SqliteTemplates
) -> Cli:
    """The script on a SQLite database holding :func:`mixed_dataset`."""
    new = _sqlite_databases(tmp_path / "databases", sqlite_templates)
    return Cli(script=script, cwd=workdir, db=new("mixed"))


@pytest.fixture
def new_postgres_database(request: pytest.FixtureRequest) -> NewDatabase:
    """New PostgreSQL schemas (tests using them carry the ``postgres`` marker)."""
    return _postgres_databases(request.getfixturevalue("postgres_server"))


@pytest.fixture
def postgres_cli(script: Path, workdir: Path, new_postgres_database: NewDatabase) -> Cli:
    """The script on a PostgreSQL schema holding :func:`mixed_dataset`."""
    return Cli(script=script, cwd=workdir, db=new_postgres_database("mixed"))

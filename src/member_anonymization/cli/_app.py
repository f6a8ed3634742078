"""The ``member-anonymization`` command line: it parses, calls the library, and prints.

Exit codes: 0 done; 1 refused (blockers or not permitted, a declined or
aborted confirmation); 2 bad input (unknown member or employee, malformed file,
bad date, missing confirmation, an output file that exists or cannot be
written, a busy database); 3 a bug; 130 interrupted; 141 the output was closed.
Errors are one sentence on stderr, never a traceback, never personal data
beyond ids (a member's id is pseudonymous).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import os
import sys
import time
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, cast

import attrs
import typer
from rich.console import Console
from rich.markup import escape

from member_anonymization._access import actor_may
from member_anonymization.anonymizer import Anonymized, Anonymizer, NotPermitted, Refused
from member_anonymization.domain import Permission, RemovalCounts
from member_anonymization.errors import DatasetError
from member_anonymization.export import Exported, Exporter, ExportNotPermitted, ExportTarget
from member_anonymization.messages import ENGLISH, LANGUAGES, Language, text
from member_anonymization.retention import RetentionSweep, SweepProgress, SweepReport
from member_anonymization.serialization import unstructure_dataset

from . import _failures, _render
from ._failures import (
    BUSY,
    EXIT_BAD_INPUT,
    EXIT_BUG,
    EXIT_CLOSED_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    CliError,
    Outcome,
    fail,
)


class _NeverRaised(Exception):
    """Stands for ``NoArgsIsHelpError`` under a click release without it."""


def _click_exceptions() -> tuple[type[Exception], type[Exception]]:
    """Click's ``NoArgsIsHelpError`` and ``UsageError``.

    Typer 0.29 and later carry their own copy of click; earlier releases use click.
    """
    try:
        module = importlib.import_module("typer._click.exceptions")
    except ImportError:
        module = importlib.import_module("click.exceptions")
    usage: type[Exception] = module.UsageError
    no_args: type[Exception] = getattr(module, "NoArgsIsHelpError", _NeverRaised)
    return no_args, usage


def _language_choices() -> type[StrEnum]:
    """The ``--lang`` choices: one per language of the message catalogue."""
    members = [(code, code) for code in LANGUAGES]
    return cast("type[StrEnum]", StrEnum("Lang", members, module=__name__))


if TYPE_CHECKING:
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    from member_anonymization.adapters.sql import SqlStore

    Lang = StrEnum
else:
    NoArgsIsHelpError, UsageError = _click_exceptions()
    Lang = _language_choices()

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BUG",
    "EXIT_CLOSED_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "CliError",
    "app",
    "fail",
    "main",
]

DEFAULT_DB = "member-anonymization.sqlite"

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database file."""

app = typer.Typer(
    name="member-anonymization",
    help="Anonymize gym members under the GDPR without falsifying statistics or accounts.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def command_group(name: str, help: str) -> typer.Typer:
    """A group of subcommands (``member-anonymization NAME ...``) of the command line."""
    group = typer.Typer(name=name, help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(group)
    return group


def reported() -> contextlib.AbstractContextManager[Outcome]:
    """Map every failure to one sentence on stderr and an exit code (see ``_failures``)."""
    return _failures.reported(err)


def coloured(colour: str, message: str) -> str:
    """``message`` in ``colour``, its own brackets never taken for markup."""
    return f"[{colour}]{escape(message)}[/]"


def id_list(ids: Sequence[str], limit: int = 10) -> str:
    """Ids for a message: the first ``limit``, each shortened and escaped."""
    listed = ", ".join(_render.shown(i, _render.ERROR_ID_LENGTH) for i in ids[:limit])
    rest = len(ids) - limit
    return listed if rest <= 0 else f"{listed} and {rest} more"


def parse_date(value: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` option value."""
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of must be a date as YYYY-MM-DD, got {value[:20]!r}")


def sqlite_file(db: str) -> Path | None:
    """The SQLite file a ``--db`` value names (``None``: a server, or memory)."""
    if "://" not in db:
        return None if db == ":memory:" else Path(db)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db)
    except (ArgumentError, ValueError):
        return None  # opening it says why
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(database)


def any_exists(path: Path) -> bool:
    """Whether the database file or one of SQLite's files beside it exists (even as a link)."""
    return any(os.path.lexists(f"{path}{suffix}") for suffix in ("", *SQLITE_SIDE_FILES))


class Context:
    """What the global options set up for a command.

    A plain path in ``--db`` has ``~`` expanded here, once, so that every
    command means the same file.
    """

    def __init__(self, db: str | None) -> None:
        self.chosen = db is not None
        given = db if db is not None else DEFAULT_DB
        self.db = given if "://" in given else os.path.expanduser(given)
        self._store: SqlStore | None = None

    def sqlite_file(self) -> Path | None:
        """The SQLite file of ``--db``, if it names one."""
        return sqlite_file(self.db)

    def store(self, *, create: bool = False) -> SqlStore:
        """The reference SQL store at ``--db``.

        Without ``create``, a SQLite file that does not exist is an error, and
        nothing is created.
        """
        if self._store is None:
            from member_anonymization.adapters.sql import SqlStore

            path = self.sqlite_file()
            if not create and path is not None and not path.exists():
                fail(
                    f"no database at {_render.quoted(self.db, 80)}; create it with "
                    "`member-anonymization init`"
                )
            store = SqlStore.open(self.db)
            self._store = store
            if create:
                store.create_schema()
            else:
                store.check_schema()
        return self._store

    def where(self) -> str:
        """The database for messages: the path as given, or the URL with its password hidden."""
        if self._store is None or "://" not in self.db:
            return _render.shown(self.db)
        return _render.shown(self._store.url)

    def close(self) -> None:
        """Release the database."""
        if self._store is not None:
            self._store.dispose()

    def discard_new_file(self, path: Path) -> None:
        """Remove the SQLite file this command created (and SQLite's files beside it)."""
        self.close()
        self._store = None
        for suffix in ("", *SQLITE_SIDE_FILES):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL_OR_PATH",
            help=f"A SQLAlchemy URL, or a file path meaning SQLite [default: {DEFAULT_DB}].",
            envvar="MEMBER_ANONYMIZATION_DB",
        ),
    ] = None,
) -> None:
    """Anonymize gym members under the GDPR without falsifying statistics or accounts."""
    state = ctx.obj if isinstance(ctx.obj, Context) else Context(db)
    ctx.obj = state
    ctx.call_on_close(state.close)


def _ctx(ctx: typer.Context) -> Context:
    state = ctx.obj
    assert isinstance(state, Context)
    return state


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the reference schema (idempotent)."""
    with reported() as outcome:
        _ctx(ctx).store(create=True)
        outcome.commit("schema created")
        out.print(f"Schema ready in {_ctx(ctx).where()}.", markup=False)


def _open_dataset(path: str) -> IO[bytes]:
    """The dataset file ``path`` open for binary reading (``-``: standard input)."""
    if path == "-":
        return sys.stdin.buffer
    where = _render.quoted(path, 80)
    try:
        return Path(path).open("rb")
    except FileNotFoundError:
        fail(f"no such file: {where}")
    except OSError as exc:
        fail(f"cannot read {where} ({_failures.write_reason(exc)})")


@app.command()
def load(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A dataset file, or - for stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Add a dataset file's records to the database, all or nothing."""
    with reported() as outcome, contextlib.ExitStack() as files:
        source = _open_dataset(file)
        if source is not sys.stdin.buffer:
            files.enter_context(source)
        state = _ctx(ctx)
        path = state.sqlite_file()
        new_file = path if path is not None and not any_exists(path) else None
        try:
            store = state.store(create=True)
            try:
                result = store.load_file(source)
            except OSError as exc:
                fail(f"cannot read {_render.quoted(file, 80)} ({_failures.write_reason(exc)})")
        except BaseException as exc:
            if new_file is not None:
                state.discard_new_file(new_file)
            if as_json and isinstance(exc, DatasetError):
                _dataset_error_json(exc)
            raise
        outcome.commit("records loaded")
        if as_json:
            _render.print_json(
                out, {"network_id": result.network_id, "loaded": dict(result.counts)}
            )
        else:
            out.print(
                f"Loaded {result.total} records of network {_render.shown(result.network_id)} "
                f"into {state.where()}.",
                markup=False,
            )


def _dataset_error_json(error: DatasetError) -> None:
    """``load --json`` of a rejected file: every problem on stdout, one sentence on stderr."""
    summary = _failures.dataset_summary(error)
    _render.print_json(
        out,
        {
            "error": summary,
            "problems": [_failures.problem_json(p) for p in error.problems],
            "count": len(error.problems),
        },
    )
    fail(summary)


Force = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace an existing --out file (only once the new one is complete)."
    ),
]
OutFile = Annotated[
    str | None,
    typer.Option(
        "--out", metavar="FILE", help="A new file, readable by its owner only (default: stdout)."
    ),
]


def write_file(path: str, data: bytes, *, force: bool) -> None:
    """Write ``data`` as a new owner-only file: all of it, or nothing and the old file intact."""
    from member_anonymization.export._target import staged_file

    with _failures.writing_to(path), staged_file(path, replace=force) as staged:
        staged.stream.write(data)
        staged.publish()


STDOUT_CHUNK = 1 << 16
"""Bytes written to stdout at a time (a closed pipe is noticed at the next one)."""


def write_stdout(data: bytes) -> None:
    """Write ``data`` to stdout as it is."""
    sys.stdout.flush()
    stream = sys.stdout.buffer
    view = memoryview(data)
    for start in range(0, len(view), STDOUT_CHUNK):
        stream.write(view[start : start + STDOUT_CHUNK])
        stream.flush()


@app.command()
def dump(
    ctx: typer.Context,
    out_file: OutFile = None,
    force: Force = False,
) -> None:
    """Write the whole database as a dataset file."""
    with reported():
        dataset = _ctx(ctx).store().dump()
        text = json.dumps(unstructure_dataset(dataset), ensure_ascii=False, indent=2) + "\n"
        data = text.encode("utf-8")
        if out_file is None or out_file == "-":
            write_stdout(data)
        else:
            write_file(out_file, data, force=force)
            err.print(f"Wrote {_render.shown(out_file)}.", markup=False)


def _anonymizer(ctx: typer.Context) -> Anonymizer:
    store = _ctx(ctx).store()
    return Anonymizer(store.unit_of_work)


AsOf = Annotated[
    str | None,
    typer.Option("--as-of", metavar="DATE", help="Today (YYYY-MM-DD); default: the club's today."),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of the messages.")]
DEFAULT_LANG: Lang = Lang(ENGLISH)


@app.command()
def check(
    ctx: typer.Context,
    member_id: Annotated[str, typer.Argument(metavar="MEMBER_ID")],
    as_of: AsOf = None,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Tell whether a member may be anonymized. Changes nothing."""
    with reported():
        day = parse_date(as_of)
        language: Language = lang.value
        verdict = _anonymizer(ctx).check(member_id, as_of=day)
        if as_json:
            _render.print_json(
                out,
                {
                    "member_id": verdict.member_id,
                    "as_of": verdict.as_of.isoformat(),
                    "eligible": verdict.eligible,
                    "blockers": _render.findings(verdict.blockers, language),
                    "warnings": _render.findings(verdict.warnings, language),
                },
            )
            return
        key, colour = ("eligible", "green") if verdict.eligible else ("not_eligible", "red")
        headline = text(
            f"cli.check.{key}", language, member_id=_render.shown(member_id), as_of=verdict.as_of
        )
        out.print(coloured(colour, headline))
        if verdict.blockers or verdict.warnings:
            out.print(_render.findings_table("", verdict.blockers, verdict.warnings, language))


def _may_anonymize(ctx: typer.Context, actor: str) -> bool:
    """Whether the actor holds the permission (else nothing to confirm).

    Raises:
        UnknownEmployeeError: No such employee.
    """
    with _ctx(ctx).store().unit_of_work() as uow:
        return actor_may(uow, actor, Permission.ANONYMIZE_MEMBER)


def _confirm(ctx: typer.Context, member_id: str, lang: Language, *, delete_all_notes: bool) -> bool:
    """Show what will be removed and ask; refuse without a terminal.

    Ctrl-C at the question stops with exit code 130, Ctrl-D (end of input)
    with 1; either way nothing is changed.
    """
    if not sys.stdin.isatty():
        fail("anonymize needs --yes when no terminal can confirm it")
    from member_anonymization.preview import removal_preview

    preview = removal_preview(_ctx(ctx).store().unit_of_work, member_id)
    err.print(coloured("bold", text("cli.preview.title", lang)))
    for line in preview.lines(lang, delete_all_notes=delete_all_notes):
        err.print(f"  • {line}", markup=False)
    err.print(coloured("bold red", text("cli.confirm.warning", lang)))
    question = text("cli.confirm.question", lang, member_id=_render.shown(member_id))
    try:
        return typer.confirm(question, default=False, err=True)
    except typer.Abort as exc:
        err.print()
        if isinstance(exc.__context__, KeyboardInterrupt):
            fail("interrupted at the question; nothing was changed", EXIT_INTERRUPTED)
        fail("aborted; nothing was changed", EXIT_REFUSED)


@app.command()
def anonymize(
    ctx: typer.Context,
    member_id: Annotated[str, typer.Argument(metavar="MEMBER_ID")],
    actor: Annotated[
        str, typer.Option("--actor", metavar="EMPLOYEE_ID", help="The employee doing it.")
    ],
    as_of: AsOf = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Anonymize one member, completely or not at all."""
    with reported() as outcome:
        day = parse_date(as_of)
        language: Language = lang.value
        anonymizer = _anonymizer(ctx)
        if not yes and _may_anonymize(ctx, actor):
            verdict = anonymizer.check(member_id, as_of=day)
            delete_all_notes = anonymizer.options.delete_all_notes
            if verdict.eligible and not _confirm(
                ctx, member_id, language, delete_all_notes=delete_all_notes
            ):
                err.print(text("cli.confirm.declined", language))
                raise typer.Exit(EXIT_REFUSED)
        result = anonymizer.anonymize(member_id, actor=actor, as_of=day)
        if isinstance(result, Anonymized):
            outcome.commit(f"member {_render.shown(member_id, _render.ERROR_ID_LENGTH)} anonymized")
        if as_json:
            _render.print_json(
                out,
                {
                    "member_id": member_id,
                    "status": result.status,
                    "blockers": _render.findings(result.blockers, language),
                    "warnings": _render.findings(result.warnings, language),
                },
            )
        else:
            _print_result(result, language)
        if not isinstance(result, Anonymized):
            raise typer.Exit(EXIT_REFUSED)


REMOVED_KINDS = tuple(f.name for f in attrs.fields(RemovalCounts) if f.name != "personal_data")
"""The counts of :class:`~member_anonymization.domain.RemovalCounts` that ``anonymize`` prints."""


def _print_result(result: Anonymized | Refused | NotPermitted, lang: Language) -> None:
    match result:
        case Anonymized(member_id=mid, removed=removed, warnings=warnings):
            out.print(
                coloured("green", text("cli.anonymize.done", lang, member_id=_render.shown(mid)))
            )
            counts = ", ".join(
                text(
                    "cli.anonymize.removed_count",
                    lang,
                    kind=text(f"cli.removed.{name}", lang),
                    count=getattr(removed, name),
                )
                for name in REMOVED_KINDS
            )
            out.print(text("cli.anonymize.removed", lang, counts=counts), markup=False)
            if warnings:
                title = text("cli.anonymize.reminders", lang)
                out.print(_render.findings_table(title, (), warnings, lang))
        case Refused(member_id=mid, blockers=blockers, warnings=warnings):
            out.print(
                coloured("red", text("cli.anonymize.refused", lang, member_id=_render.shown(mid)))
            )
            out.print(_render.findings_table("", blockers, warnings, lang))
        case NotPermitted(actor_id=actor):
            message = text("cli.anonymize.not_permitted", lang, actor_id=_render.shown(actor))
            out.print(coloured("red", message))


@app.command()
def export(
    ctx: typer.Context,
    member_id: Annotated[str, typer.Argument(metavar="MEMBER_ID")],
    actor: Annotated[
        str, typer.Option("--actor", metavar="EMPLOYEE_ID", help="The employee asking.")
    ],
    out_file: Annotated[
        str | None,
        typer.Option(
            "--out", metavar="FILE", help="A new file (ZIP when it ends in .zip); default stdout."
        ),
    ] = None,
    force: Force = False,
    as_json: Json = False,
) -> None:
    """Export all of a member's data (JSON, or a ZIP with CSVs and files)."""
    with reported() as outcome:
        exporter = Exporter(_ctx(ctx).store().unit_of_work)
        if out_file is None or out_file == "-":
            result = exporter.export(member_id, sys.stdout.buffer, actor=actor)
        else:
            from member_anonymization.export._target import ReplaceFile

            target: ExportTarget = ReplaceFile(out_file) if force else out_file
            with _failures.writing_to(out_file):
                result = exporter.export(member_id, target, actor=actor)
        match result:
            case ExportNotPermitted(actor_id=who):
                if as_json:
                    _render.print_json(out, {"member_id": member_id, "status": result.status})
                else:
                    err.print(
                        f"Employee {_render.shown(who)} does not have the permission to export "
                        "member data.",
                        markup=False,
                    )
                raise typer.Exit(EXIT_REFUSED)
            case Exported(counts=counts, path=path, format=fmt):
                outcome.commit("export written and audited")
                if as_json and path is not None:
                    _render.print_json(
                        out,
                        {
                            "member_id": member_id,
                            "status": result.status,
                            "file": str(path),
                            "format": fmt.value,
                            "counts": _render.plain(counts),
                        },
                    )
                elif path is not None:
                    out.print(
                        f"Exported {counts.total} records of member {_render.shown(member_id)} "
                        f"to {_render.shown(path)} ({fmt.value.upper()}, readable by its owner "
                        "only).",
                        markup=False,
                    )


@app.command()
def sweep(
    ctx: typer.Context,
    as_of: AsOf = None,
    club: Annotated[
        str | None, typer.Option("--club", metavar="CLUB_ID", help="Only this home club.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
    ] = False,
    as_json: Json = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Run the retention job: anonymize everyone whose retention time has passed."""
    with reported() as outcome:
        day = parse_date(as_of)
        language: Language = lang.value
        job = RetentionSweep(_ctx(ctx).store().unit_of_work)
        if err.is_terminal:
            total = job.count_due(as_of=day, club_id=club)
            report = _sweep_with_progress(job, total, day, club, dry_run=dry_run)
        else:
            report = job.run(as_of=day, club_id=club, dry_run=dry_run)
        if report.anonymized and not report.dry_run:
            outcome.commit(f"{len(report.anonymized)} member(s) anonymized")
        if as_json:
            payload = report.as_json()
            _render.print_json(out, {key: payload[key] for key in SWEEP_KEYS if key in payload})
        else:
            _print_sweep(report, language)
        exit_if_untouched([(f.member_id, f.error_type) for f in report.errors], "member(s)")


def exit_if_untouched(errors: Sequence[tuple[str, str]], what: str) -> None:
    """End a run that left some items untouched: exit 2 when only busy, else 3.

    Args:
        errors: Each item's id and the type of its error.
        what: What the items are (``"member(s)"``, ``"request(s)"``).
    """
    if not errors:
        return
    ids = id_list([item for item, _ in errors])
    if all(kind == "DatabaseBusyError" for _, kind in errors):
        err.print(
            f"error: {BUSY}; {len(errors)} {what} were left untouched for the next run: {ids}.",
            markup=False,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    err.print(
        f"error: {len(errors)} {what} could not be processed and were left untouched: {ids}",
        markup=False,
    )
    raise typer.Exit(EXIT_BUG)


SWEEP_KEYS = ("as_of", "dry_run", "due", "anonymized", "skipped", "held_elsewhere")
"""The keys of ``sweep --json`` (``held_elsewhere`` only when another worker held members)."""


def _sweep_with_progress(
    job: RetentionSweep, total: int, day: dt.date | None, club: str | None, *, dry_run: bool
) -> SweepReport:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]retention"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} members/s"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("sweep", total=max(total, 1), rate="-")
        started = time.monotonic()

        def advance(progress: SweepProgress) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            bar.update(
                task,
                completed=min(progress.done, max(total, 1)),
                rate=f"{progress.done / elapsed:,.0f}",
            )

        return job.run(as_of=day, club_id=club, dry_run=dry_run, progress=advance)


def _print_sweep(report: SweepReport, lang: Language) -> None:
    head = text(
        "cli.sweep.dry_run" if report.dry_run else "cli.sweep.done",
        lang,
        as_of=report.as_of,
        due=report.due,
        anonymized=len(report.anonymized),
        skipped=len(report.skipped),
    )
    out.print(head, markup=False)
    if report.skipped:
        from rich.table import Table

        table = Table(title_justify="left")
        table.add_column(text("cli.sweep.member", lang))
        table.add_column(text("cli.sweep.blockers", lang))
        for skipped in report.skipped:
            table.add_row(
                _render.safe(skipped.member_id), _render.safe_text(", ".join(skipped.codes))
            )
        out.print(table)
    if report.held_elsewhere:
        held = text(
            "cli.sweep.held_elsewhere",
            lang,
            count=len(report.held_elsewhere),
            members=id_list(report.held_elsewhere, 20),
        )
        out.print(held, markup=False)


DEMO_DB = "member-anonymization-demo.sqlite"


@app.command()
def demo(ctx: typer.Context) -> None:
    """Make a demo database and walk through check, export, anonymize and sweep.

    The demo never replaces anything: not an earlier demo database, not a
    file named like its export, not a database that holds data.
    """
    with reported() as outcome:
        from member_anonymization.adapters.sql import SqlStore
        from member_anonymization.cli._demo import EXPORT_FILE, run_demo

        state = _ctx(ctx)
        location = state.db if state.chosen else DEMO_DB
        path = sqlite_file(location)
        plain_path = "://" not in location
        if plain_path and path is not None and any_exists(path):
            if state.chosen:
                fail(
                    f"{_render.quoted(location, 80)} exists already; the demo needs a new "
                    "database: choose another --db"
                )
            fail(
                f"{DEMO_DB} (or a file beside it) exists already, from an earlier demo perhaps; "
                f"remove it (rm {DEMO_DB}*) or choose another database with --db"
            )
        export_path = path.with_name(EXPORT_FILE) if path is not None else Path(EXPORT_FILE)
        if os.path.lexists(export_path):
            fail(
                f"{_render.quoted(export_path, 80)} exists already; the demo writes its export "
                "there: remove it, or run the demo in another folder"
            )
        with SqlStore.open(location) as store:
            if not plain_path and _holds_data(store):
                fail(
                    f"the database at {_render.quoted(store.url, 80)} holds data already; the "
                    "demo needs an empty database"
                )
            outcome.commit("demo database made")
            run_demo(store, out, location=location, export_path=export_path)


def _holds_data(store: SqlStore) -> bool:
    """Whether the database holds a network (a schema alone is no data)."""
    from sqlalchemy import select

    from member_anonymization.adapters.sql import metadata

    if store.schema_version() is None:
        return False
    with store.engine.connect() as conn:
        return conn.execute(select(metadata.tables["network"]).limit(1)).first() is not None


def run(args: list[str] | None = None, *, obj: Context | None = None) -> int:
    """Run the command line on ``args`` (``sys.argv`` by default); return the exit code.

    Args:
        args: The arguments, without the program's name.
        obj: The context of a host that embeds the command line (its own store).
    """
    try:
        code = app(args=args, standalone_mode=False, obj=obj)
    except typer.Exit as exc:
        code = exc.exit_code
    except NoArgsIsHelpError as exc:
        err.print(_render.clean(str(exc), newlines=True), markup=False)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        message = " ".join(str(exc.format_message()).split())
        message = _render.clip(_render.clean(message), _failures.MESSAGE_LENGTH)
        err.print(f"error: {message} (see --help)", markup=False)
        return EXIT_BAD_INPUT
    except typer.Abort:
        err.print("error: aborted; nothing was changed.", markup=False)
        return EXIT_REFUSED
    except BrokenPipeError:  # --help into a closed pipe
        _failures.silence_stdout()
        return EXIT_CLOSED_PIPE
    return code if isinstance(code, int) else EXIT_OK


def main() -> None:
    """Run the command line."""
    sys.exit(run())

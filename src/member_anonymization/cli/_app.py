"""The ``member-anonymization`` command line: it parses, calls the library, and prints.

Exit codes: 0 done; 1 refused (blockers or not permitted); 2 bad input
(unknown member or employee, malformed file, bad date, missing confirmation).
Errors are one sentence on stderr, never a traceback, never personal data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, cast
from zoneinfo import ZoneInfo

import attrs
import typer
from rich.console import Console

from member_anonymization._access import actor_may
from member_anonymization.anonymizer import Anonymized, Anonymizer, NotPermitted, Refused
from member_anonymization.domain import Permission, RemovalCounts
from member_anonymization.errors import DatasetError, MemberAnonymizationError
from member_anonymization.export import Exported, Exporter, ExportNotPermitted, ExportTarget
from member_anonymization.messages import ENGLISH, LANGUAGES, Language, text
from member_anonymization.retention import RetentionSweep, SweepProgress, SweepReport
from member_anonymization.serialization import parse_json, unstructure_dataset

from . import _render


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

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_BUG = 3

DEFAULT_DB = "member-anonymization.sqlite"

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


class CliError(Exception):
    """A failure to report as one sentence with an exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Stop with one sentence on stderr."""
    raise CliError(message, code)


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Map every failure to one sentence on stderr and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except CliError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(exc.code) from None
    except DatasetError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except MemberAnonymizationError as exc:
        err.print(f"error: {exc}.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except FileExistsError as exc:
        err.print(f"error: {exc.filename} exists already; choose a new file name.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        err.print("error: interrupted; nothing was left half-done.", markup=False)
        raise typer.Exit(130) from None
    except Exception as exc:
        if _is_database_error(exc):
            err.print(
                f"error: the database cannot be used ({type(exc).__name__}); check --db and "
                "that the server answers.",
                markup=False,
            )
            raise typer.Exit(EXIT_BAD_INPUT) from None
        err.print(
            f"error: internal error ({type(exc).__name__}); nothing was changed by the failed "
            "step. Please report it.",
            markup=False,
        )
        raise typer.Exit(EXIT_BUG) from None


def _is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the database or its driver refusing (connection, locking, ...)."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError | DBAPIError | sqlite3.Error):
        return True
    return type(exc).__module__.split(".")[0] == "psycopg"


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


class Context:
    """What the global options set up for a command."""

    def __init__(self, db: str | None) -> None:
        self.chosen = db is not None
        self.db = db if db is not None else DEFAULT_DB
        self._store: SqlStore | None = None

    def store(self, *, create: bool = False) -> SqlStore:
        """The reference SQL store at ``--db``."""
        if self._store is None:
            from member_anonymization.adapters.sql import SqlStore

            if not create and "://" not in self.db and not Path(self.db).exists():
                fail(f"no database at {self.db}; create it with `member-anonymization init`")
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
            return self.db
        return str(self._store.url)

    def close(self) -> None:
        """Release the database."""
        if self._store is not None:
            self._store.dispose()


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
    with reported():
        _ctx(ctx).store(create=True)
        out.print(f"Schema ready in {_ctx(ctx).where()}.", markup=False)


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"no such file: {path}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    except OSError as exc:
        fail(f"cannot read {path} ({exc.strerror})")
    try:
        return parse_json(text)
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})")


@app.command()
def load(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A dataset file, or - for stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Add a dataset file's records to the database, all or nothing."""
    with reported():
        raw = _read_json(file)
        store = _ctx(ctx).store(create=True)
        result = store.load(raw)
        if as_json:
            _render.print_json(
                out, {"network_id": result.network_id, "loaded": dict(result.counts)}
            )
        else:
            out.print(
                f"Loaded {result.total} records of network {result.network_id} into "
                f"{_ctx(ctx).where()}.",
                markup=False,
            )


@app.command()
def dump(
    ctx: typer.Context,
    out_file: Annotated[
        str | None, typer.Option("--out", metavar="FILE", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """Write the whole database as a dataset file."""
    with reported():
        dataset = _ctx(ctx).store().dump()
        text = json.dumps(unstructure_dataset(dataset), ensure_ascii=False, indent=2) + "\n"
        if out_file is None or out_file == "-":
            sys.stdout.write(text)
        else:
            Path(out_file).write_text(text, encoding="utf-8")
            err.print(f"Wrote {out_file}.")


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
        headline = text(f"cli.check.{key}", language, member_id=member_id, as_of=verdict.as_of)
        out.print(f"[{colour}]{headline}[/]")
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
    """Show what will be removed and ask; refuse without a terminal."""
    if not sys.stdin.isatty():
        fail("anonymize needs --yes when no terminal can confirm it")
    from member_anonymization.cli._preview import removal_preview

    preview = removal_preview(_ctx(ctx).store().unit_of_work, member_id)
    err.print(f"[bold]{text('cli.preview.title', lang)}[/]")
    for line in preview.lines(lang, delete_all_notes=delete_all_notes):
        err.print(f"  • {line}", markup=False)
    err.print(f"[bold red]{text('cli.confirm.warning', lang)}[/]")
    question = text("cli.confirm.question", lang, member_id=member_id)
    return typer.confirm(question, default=False, err=True)


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
    with reported():
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
            out.print(f"[green]{text('cli.anonymize.done', lang, member_id=mid)}[/]")
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
            out.print(f"[red]{text('cli.anonymize.refused', lang, member_id=mid)}[/]")
            out.print(_render.findings_table("", blockers, warnings, lang))
        case NotPermitted(actor_id=actor):
            out.print(f"[red]{text('cli.anonymize.not_permitted', lang, actor_id=actor)}[/]")


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
    as_json: Json = False,
) -> None:
    """Export all of a member's data (JSON, or a ZIP with CSVs and files)."""
    with reported():
        exporter = Exporter(_ctx(ctx).store().unit_of_work)
        target: ExportTarget = (
            sys.stdout.buffer if out_file is None or out_file == "-" else out_file
        )
        result = exporter.export(member_id, target, actor=actor)
        match result:
            case ExportNotPermitted(actor_id=who):
                if as_json:
                    _render.print_json(out, {"member_id": member_id, "status": result.status})
                else:
                    err.print(
                        f"Employee {who} does not have the permission to export member data.",
                        markup=False,
                    )
                raise typer.Exit(EXIT_REFUSED)
            case Exported(counts=counts, path=path, format=fmt):
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
                        f"Exported {counts.total} records of member {member_id} to {path} "
                        f"({fmt.value.upper()}, readable by its owner only).",
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
    with reported():
        day = parse_date(as_of)
        language: Language = lang.value
        job = RetentionSweep(_ctx(ctx).store().unit_of_work)
        if err.is_terminal:
            total = job.count_due(as_of=day, club_id=club)
            report = _sweep_with_progress(job, total, day, club, dry_run=dry_run)
        else:
            report = job.run(as_of=day, club_id=club, dry_run=dry_run)
        if as_json:
            payload = report.as_json()
            _render.print_json(out, {key: payload[key] for key in SWEEP_KEYS})
        else:
            _print_sweep(report, language)
        if report.errors:
            err.print(
                f"error: {len(report.errors)} member(s) could not be processed and were left "
                "untouched: " + ", ".join(f.member_id for f in report.errors[:10]),
                markup=False,
            )
            raise typer.Exit(EXIT_BUG)


SWEEP_KEYS = ("as_of", "dry_run", "due", "anonymized", "skipped")


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
            table.add_row(skipped.member_id, ", ".join(skipped.codes))
        out.print(table)


DEMO_DB = "member-anonymization-demo.sqlite"


@app.command()
def demo(ctx: typer.Context) -> None:
    """Make a demo database and walk through check, export, anonymize and sweep."""
    with reported():
        from member_anonymization.adapters.sql import SqlStore
        from member_anonymization.cli._demo import run_demo

        chosen = _ctx(ctx).chosen
        location = _ctx(ctx).db if chosen else DEMO_DB
        if "://" not in location:
            path = Path(location)
            if path.exists():
                if chosen:
                    fail(f"{location} exists already; the demo needs a new database file")
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{location}{suffix}").unlink(missing_ok=True)
        today = dt.datetime.now(ZoneInfo("Europe/Warsaw")).date()
        with SqlStore.open(location) as store:
            run_demo(store, out, location=location, today=today)


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
        err.print(str(exc), markup=False)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        message = " ".join(str(exc.format_message()).split())
        err.print(f"error: {message} (see --help)", markup=False)
        return EXIT_BAD_INPUT
    except typer.Abort:
        err.print("error: aborted; nothing was changed.", markup=False)
        return EXIT_REFUSED
    return code if isinstance(code, int) else EXIT_OK


def main() -> None:
    """Run the command line."""
    sys.exit(run())

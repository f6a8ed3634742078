"""The ``ledger``, ``replay`` and ``compact`` commands: what a database's files and backups keep.

* ``ledger export`` writes the erasure ledger (member ids and instants of every
  anonymization) to keep apart from the backups;
* ``replay LEDGER_FILE`` re-applies, after a backup was restored, the
  anonymizations that the restored database lacks;
* ``compact`` rewrites the tables so that no old copy of removed data stays in
  the database's files.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from member_anonymization.anonymizer import AnonymizationOptions
from member_anonymization.ledger import (
    Ledger,
    LedgerError,
    Replay,
    ReplayReport,
    export_ledger,
    read_ledger,
)
from member_anonymization.messages import Language

from . import _render
from ._app import (
    DEFAULT_LANG,
    EXIT_BUG,
    Json,
    Lang,
    OutFile,
    _ctx,
    app,
    command_group,
    err,
    fail,
    out,
    reported,
)

if TYPE_CHECKING:
    from member_anonymization.adapters.sql import CompactReport, SqlStore

ledger_app = command_group(
    "ledger", "The erasure ledger: the anonymizations to re-apply after restoring a backup."
)

_SHOWN_IDS = 10
"""How many member ids a sentence lists at most."""


def _network_id(store: SqlStore) -> str:
    """The network the database holds."""
    from sqlalchemy import select

    from member_anonymization.adapters.sql import metadata

    network = metadata.tables["network"]
    with store.engine.connect() as conn:
        found = conn.execute(select(network.c.id).order_by(network.c.id)).first()
    if found is None:
        fail("the database holds no network yet: load the backup (or a dataset) first")
    return str(found[0])


def _ids(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:_SHOWN_IDS])
    return shown + (f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else "")


@ledger_app.command("export")
def ledger_export(
    ctx: typer.Context,
    out_file: OutFile = None,
    as_json: Json = False,
) -> None:
    """Write the erasure ledger: member ids and instants of every anonymization.

    Keep the file apart from the backups, and export it after every sweep and
    at least as often as backups are taken: after a restore, `replay` applies
    it again. Without --out the ledger itself is the JSON object on stdout.
    """
    with reported():
        store = _ctx(ctx).store()
        network_id = _network_id(store)
        if out_file is None or out_file == "-":
            export_ledger(store.unit_of_work, sys.stdout.buffer, network_id=network_id)
            return
        written = export_ledger(store.unit_of_work, out_file, network_id=network_id)
        if as_json:
            _render.print_json(
                out,
                {
                    "file": out_file,
                    "network_id": written.network_id,
                    "exported_at": written.exported_at.isoformat(),
                    "entries": written.entries,
                },
            )
            return
        out.print(
            f"Wrote {written.entries} anonymization(s) of network {written.network_id} to "
            f"{out_file} (readable by its owner only). Keep it apart from the backups.",
            markup=False,
        )


def _read(path: str) -> Ledger:
    try:
        if path == "-":
            return read_ledger(sys.stdin.buffer)
        return read_ledger(path)
    except FileNotFoundError:
        fail(f"no such file: {path}")
    except IsADirectoryError:
        fail(f"{path} is a folder, not a ledger file")
    except OSError as exc:
        fail(f"cannot read {path} ({exc.strerror})")
    except LedgerError as exc:
        fail(f"{path} is not a valid ledger: {str(exc).removeprefix('invalid ledger: ')}")


@app.command()
def replay(
    ctx: typer.Context,
    ledger_file: Annotated[
        str,
        typer.Argument(
            metavar="LEDGER_FILE", help="A file written by `ledger export`, or - for stdin."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
    ] = False,
    as_json: Json = False,
    lang: Annotated[
        Lang, typer.Option("--lang", help="Language of the notices a replay writes.")
    ] = DEFAULT_LANG,
) -> None:
    """After restoring a backup: re-apply the ledger's anonymizations the database lacks.

    Members of the ledger who exist and are not anonymized are anonymized
    again, at the original instant and in the original mode, whatever blocks
    them now (the erasure was decided and carried out already). Members
    anonymized already are not touched; a second run changes nothing. Run it
    before the restored database is used.
    """
    with reported():
        ledger = _read(ledger_file)
        store = _ctx(ctx).store()
        network_id = _network_id(store)
        if ledger.network_id != network_id:
            fail(
                f"the ledger is of network {ledger.network_id!r}, the database holds network "
                f"{network_id!r}; nothing was changed"
            )
        language: Language = lang.value
        options = AnonymizationOptions(notice_language=language)
        report = Replay(store.unit_of_work, options=options).run(ledger, dry_run=dry_run)
        if as_json:
            _render.print_json(out, report.as_json())
        else:
            _print_replay(report)
        if report.errors:
            err.print(
                f"error: {len(report.errors)} member(s) could not be replayed and were left "
                "untouched: " + _ids(tuple(f.member_id for f in report.errors)),
                markup=False,
            )
            raise typer.Exit(EXIT_BUG)


def _print_replay(report: ReplayReport) -> None:
    verb = "Would anonymize again" if report.dry_run else "Anonymized again"
    out.print(
        f"{verb} {len(report.replayed)} member(s) of {report.entries} ledger entries; "
        f"{len(report.already_anonymized)} anonymized already, "
        f"{len(report.missing)} not in the database.",
        markup=False,
    )
    if report.replayed:
        out.print(f"  {verb.lower()}: {_ids(report.replayed)}", markup=False)
    if report.missing:
        out.print(f"  not in the database: {_ids(report.missing)}", markup=False)
    if report.held_elsewhere:
        out.print(
            f"  held by another worker, run replay again: {_ids(report.held_elsewhere)}",
            markup=False,
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _compact_json(report: CompactReport) -> dict[str, Any]:
    checkpoint = report.checkpoint
    return {
        "dialect": report.dialect,
        "tables": list(report.tables),
        "seconds": round(report.seconds, 3),
        "bytes_before": report.bytes_before,
        "bytes_after": report.bytes_after,
        "checkpoint": None if checkpoint is None else _render.plain(checkpoint),
        "skipped": list(report.skipped),
        "held_back": report.held_back,
    }


@app.command()
def compact(ctx: typer.Context, as_json: Json = False) -> None:
    """Rewrite the tables so that no old copy of removed data stays in the database files.

    It locks: on PostgreSQL each `VACUUM FULL` takes an ACCESS EXCLUSIVE lock
    on its table (nobody reads or writes it) while the table is rewritten, one
    table at a time, waiting at most the lock timeout for it; on SQLite `VACUUM`
    holds the write lock for the whole rebuild. It needs free disk space for a
    copy of the largest table (SQLite: of the file). Run it when the club is
    quiet, after the nightly sweep.
    """
    with reported():
        report = _ctx(ctx).store().compact()
        if as_json:
            _render.print_json(out, _compact_json(report))
        else:
            out.print(
                f"Compacted {len(report.tables)} table(s) of the {report.dialect} database in "
                f"{report.seconds:.2f} s ({_megabytes(report.bytes_before)} before, "
                f"{_megabytes(report.bytes_after)} after).",
                markup=False,
            )
        if report.skipped:
            err.print(
                "warning: not compacted without superuser rights: "
                f"{', '.join(report.skipped)}; ask the database administrator to run "
                "VACUUM FULL on it.",
                markup=False,
            )
        if report.held_back:
            err.print(
                f"warning: {report.held_back} older transaction(s) were still open and may "
                "keep removed rows in the rewritten tables; run compact again when they "
                "have ended.",
                markup=False,
            )
        if report.checkpoint is not None and not report.checkpoint.completed:
            err.print(
                "warning: the write-ahead log could not be emptied (another connection is "
                "reading); run compact again when it has finished.",
                markup=False,
            )

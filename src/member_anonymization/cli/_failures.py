"""How the command line fails: exit codes, and one clear sentence on stderr.

Every command runs inside :func:`reported`, which turns any failure into one
sentence (never a traceback, no personal data beyond pseudonymous ids, never a
long or hostile value from a file or the command line) and an exit code. A
command marks its :class:`Outcome` as committed as soon as the library returns
a committed result, so that a failure afterwards (while printing) never claims
that nothing was changed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Final, NoReturn

import typer
from rich.console import Console

from member_anonymization.domain import RequestStateError
from member_anonymization.errors import (
    DatasetError,
    DatasetProblem,
    ForeignRecordError,
    FutureDateError,
    MemberAnonymizationError,
    UnknownClubError,
    UnknownEmployeeError,
    UnknownMemberError,
    UnknownRequestError,
)

from . import _render

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_BAD_INPUT: Final = 2
EXIT_BUG: Final = 3
EXIT_INTERRUPTED: Final = 130
"""128 + SIGINT, as a shell reports a process stopped by Ctrl-C."""
EXIT_CLOSED_PIPE: Final = 141
"""128 + SIGPIPE, as a shell reports a process whose reader went away (``| head``)."""

SHOWN_PROBLEMS: Final = 20
"""How many problems of a rejected dataset file ``load`` lists on stderr."""

MESSAGE_LENGTH: Final = 300
"""No message from the library is printed longer than this."""

_PROBLEM_MESSAGE_LENGTH: Final = 160
_FIELD_LENGTH: Final = 60

BUSY: Final = "the database is busy: another process holds it"
"""What a busy or locked database is called (the library's :class:`DatabaseBusyError`)."""


class CliError(Exception):
    """A failure to report as one sentence with an exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Stop with one sentence on stderr."""
    raise CliError(message, code)


class Outcome:
    """What a command has done so far.

    Attributes:
        committed: What the command changed for good, as a sentence's subject,
            once the library has committed it (``None`` until then).
    """

    def __init__(self) -> None:
        self.committed: str | None = None

    def commit(self, what: str) -> None:
        """Record that the command's change (``what``, in a few words) is committed."""
        self.committed = f"the change was committed ({what})"


# --------------------------------------------------------------------------- messages


def describe(exc: MemberAnonymizationError) -> str:
    """The library's error as a sentence whose ids are shortened and escaped."""
    match exc:
        case UnknownMemberError(member_id=member_id):
            return f"no member with id {_render.quoted(member_id)}"
        case UnknownEmployeeError(employee_id=employee_id):
            return f"no employee with id {_render.quoted(employee_id)}"
        case UnknownClubError(club_id=club_id):
            return f"no club with id {_render.quoted(club_id)}"
        case UnknownRequestError(request_id=request_id):
            return f"no erasure request with id {_render.quoted(request_id)}"
        case FutureDateError(as_of=as_of, today=today, club_id=club_id):
            return (
                f"the date {_render.shown(as_of, 10)} is later than today "
                f"({_render.shown(today, 10)}) in club {_render.quoted(club_id)}; only checks "
                "and dry runs accept a future date"
            )
        case ForeignRecordError(kind=kind, record_id=record_id):
            return (
                f"the store returned a record of another member among the "
                f"{_render.shown(kind, 40).replace('_', ' ')} (record id "
                f"{_render.quoted(record_id)}); nothing was exported"
            )
    if isinstance(exc, RequestStateError):
        return f"erasure request {_render.quoted(exc.request_id)}: {_render.shown(exc.reason, 120)}"
    return _render.clip(_render.clean(str(exc)), MESSAGE_LENGTH)


def problem_line(problem: DatasetProblem) -> str:
    """Where one problem of a dataset file is and what is wrong, values never repeated."""
    where = _render.shown(problem.collection, 40) or "file"
    if problem.index is not None:
        where += f"[{problem.index}]"
    if problem.record_id is not None:
        where += f" (id {_render.quoted(problem.record_id)})"
    if problem.field:
        where += f" field {_render.quoted(problem.field, _FIELD_LENGTH)}"
    return f"{where}: {_render.shown(problem.message, _PROBLEM_MESSAGE_LENGTH)}"


def problem_json(problem: DatasetProblem) -> dict[str, Any]:
    """One problem as JSON, ids and names shortened like on stderr."""
    return {
        "collection": problem.collection,
        "index": problem.index,
        "record_id": None
        if problem.record_id is None
        else _render.clip(problem.record_id, _render.ERROR_ID_LENGTH),
        "field": None if problem.field is None else _render.clip(problem.field, _FIELD_LENGTH),
        "message": _render.clip(problem.message, _PROBLEM_MESSAGE_LENGTH),
    }


def dataset_summary(error: DatasetError) -> str:
    """The one sentence for a rejected file: how many problems, and that nothing was loaded."""
    count = len(error.problems)
    if count == 1:
        return f"invalid dataset: {problem_line(error.problems[0])}; nothing was loaded"
    return f"invalid dataset: {count} problems; nothing was loaded"


def print_dataset_error(err: Console, error: DatasetError) -> None:
    """The summary, then the first :data:`SHOWN_PROBLEMS` problems, one per line."""
    err.print(f"error: {dataset_summary(error)}.", markup=False, highlight=False)
    problems: Sequence[DatasetProblem] = error.problems
    if len(problems) <= 1:
        return
    for problem in problems[:SHOWN_PROBLEMS]:
        err.print(f"  {problem_line(problem)}", markup=False, highlight=False)
    rest = len(problems) - SHOWN_PROBLEMS
    if rest > 0:
        err.print(
            f"  … and {rest} more problem{'s' if rest > 1 else ''} (load --json lists them all)",
            markup=False,
            highlight=False,
        )


_WRITE_REASONS: Final = {
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EFBIG: "the file is too large for the file system",
    errno.EIO: "an input/output error",
}


def write_reason(exc: OSError) -> str:
    """Why writing failed, in a few words."""
    known = _WRITE_REASONS.get(exc.errno or 0)
    if known is not None:
        return known
    return _render.clean((exc.strerror or type(exc).__name__).lower())


def output_file_error(exc: OSError, path: str, *, force_hint: bool = True) -> CliError:
    """The sentence for an output file that cannot be written."""
    where = _render.quoted(path, 80)
    if isinstance(exc, FileExistsError):
        hint = "; choose another file name or add --force to replace it" if force_hint else ""
        return CliError(f"{where} exists already{hint}")
    return CliError(f"cannot write {where}: {write_reason(exc)}; nothing was written")


@contextlib.contextmanager
def writing_to(path: str, *, force_hint: bool = True) -> Iterator[None]:
    """Report a failure to write the output file ``path`` as one sentence."""
    try:
        yield
    except (BrokenPipeError, KeyboardInterrupt):
        raise
    except OSError as exc:
        raise output_file_error(exc, path, force_hint=force_hint) from None


# --------------------------------------------------------------------------- reporting


def _after(outcome: Outcome, failure: str, nothing: str) -> str:
    """The message for a failure, saying whether the command's change stayed."""
    if outcome.committed is not None:
        return f"{outcome.committed}, but printing its result failed ({failure})"
    return f"{failure}; {nothing}"


def silence_stdout() -> None:
    """Point stdout at the null device, so that nothing fails again when Python exits."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the database or its driver refusing (connection, locking, ...)."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError | DBAPIError | sqlite3.Error):
        return True
    return type(exc).__module__.split(".")[0] == "psycopg"


def _is_busy(exc: BaseException) -> bool:
    from member_anonymization.adapters.sql import DatabaseBusyError
    from member_anonymization.adapters.sql._engine import is_busy

    return isinstance(exc, DatabaseBusyError) or is_busy(exc)


def _busy(outcome: Outcome) -> str:
    return _after(outcome, BUSY, "nothing was changed; try again later") + "."


def _stop(err: Console, message: str, code: int) -> NoReturn:
    with contextlib.suppress(OSError, ValueError):
        err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code) from None


@contextlib.contextmanager
def reported(err: Console) -> Iterator[Outcome]:
    """Map every failure to one sentence on stderr and an exit code.

    Yields:
        The command's :class:`Outcome`: mark it committed once the library
        has committed the command's change.
    """
    outcome = Outcome()
    try:
        yield outcome
        sys.stdout.flush()
    except typer.Exit:
        raise
    except CliError as exc:
        _stop(err, f"{_render.clean(str(exc))}", exc.code)
    except DatasetError as exc:
        with contextlib.suppress(OSError, ValueError):
            print_dataset_error(err, exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        if outcome.committed is not None:
            message = f"interrupted; {outcome.committed}, but its result was not printed."
        else:
            message = "interrupted; nothing was left half-done."
        _stop(err, message, EXIT_INTERRUPTED)
    except typer.Abort:
        _stop(err, _after(outcome, "aborted", "nothing was changed") + ".", EXIT_REFUSED)
    except BrokenPipeError:
        silence_stdout()
        message = _after(
            outcome,
            "the output was closed before everything was written (broken pipe)",
            "nothing was changed",
        )
        _stop(err, f"{message}.", EXIT_CLOSED_PIPE)
    except MemberAnonymizationError as exc:
        if _is_busy(exc):
            _stop(err, _busy(outcome), EXIT_BAD_INPUT)
        _stop(err, f"{describe(exc)}.", EXIT_BAD_INPUT)
    except OSError as exc:
        silence_stdout()
        message = _after(
            outcome, f"the output could not be written: {write_reason(exc)}", "nothing was changed"
        )
        _stop(err, f"{message}.", EXIT_BAD_INPUT)
    except Exception as exc:
        if _is_busy(exc):
            _stop(err, _busy(outcome), EXIT_BAD_INPUT)
        if _is_database_error(exc):
            _stop(
                err,
                f"the database cannot be used ({type(exc).__name__}); check --db and that the "
                "server answers.",
                EXIT_BAD_INPUT,
            )
        if outcome.committed is not None:
            _stop(
                err,
                f"{outcome.committed}, but printing its result failed ({type(exc).__name__}). "
                "Please report it.",
                EXIT_BUG,
            )
        _stop(
            err,
            f"internal error ({type(exc).__name__}); nothing was changed by the failed step. "
            "Please report it.",
            EXIT_BUG,
        )

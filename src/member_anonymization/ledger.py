"""The erasure ledger, and its replay after a database is restored from a backup.

A backup taken before an anonymization still holds the member: restoring it
brings the person back. The **ledger** is the list of every anonymization the
audit trail records, with member ids and instants only (no actor, no counts,
no name or other personal value), exported to a small file that is kept apart
from the backups. After a restore, :class:`Replay` applies again to the
restored database every anonymization of the ledger that it lacks, before the
database is used.

The member ids are still pseudonymized data while the club keeps the members'
invoices and receipts (which name the buyer): the file is written readable by
its owner only, and belongs where the backups are protected.

The file, ``member-anonymization/ledger@1``, is one JSON object, one entry a line::

    {"format": "member-anonymization/ledger@1", "network_id": "net-1", "exported_at": "...", \
"entries": [
    {"audit_entry_id": "a1", "member_id": "m1", "at": "2026-11-27T12:00:00+00:00", \
"mode": "manual"}
    ]}

* :func:`export_ledger` writes it, page by page, from ``audit.anonymizations``.
* :func:`read_ledger` reads it back strictly: every problem is reported in one
  :class:`LedgerError`, with its line and column, never with a value of the file.
* :class:`Replay` re-applies the missing anonymizations without the blocker
  policy (the erasure was decided and carried out already; the restore is a
  technical accident), each at its original instant and in its original mode,
  through the same effects as every other path. A replayed audit entry's id is
  the original's followed by ``.replayed`` (:func:`replayed_entry_id`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, ClassVar, Final, TypeAlias, final

import attrs

from member_anonymization._clock import SystemClock
from member_anonymization._effects import Planned, apply_planned
from member_anonymization._service import BatchedService, settle_batch
from member_anonymization.anonymizer import AnonymizationOptions
from member_anonymization.domain import AnonymizationMode, MemberId
from member_anonymization.domain import _checks as c
from member_anonymization.errors import MemberAnonymizationError
from member_anonymization.export._target import _open_target
from member_anonymization.policy import evaluate
from member_anonymization.ports import Clock, UnitOfWork, UnitOfWorkFactory
from member_anonymization.retention import DEFAULT_BATCH_SIZE, FailedMember

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "EXPORT_PAGE",
    "LEDGER_FORMAT",
    "MAX_PROBLEMS",
    "REPLAYED_SUFFIX",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "LedgerProblem",
    "LedgerSource",
    "LedgerTarget",
    "LedgerWritten",
    "Replay",
    "ReplayReport",
    "export_ledger",
    "is_replayed",
    "read_ledger",
    "replayed_entry_id",
]

LEDGER_FORMAT: Final = "member-anonymization/ledger@1"
"""The format's name and version; :func:`read_ledger` refuses any other."""

EXPORT_PAGE: Final = 1000
"""How many audit entries :func:`export_ledger` reads per unit of work."""

MAX_PROBLEMS: Final = 100
""":func:`read_ledger` stops listing problems after this many."""

REPLAYED_SUFFIX: Final = ".replayed"
"""Ends the id of every audit entry that :class:`Replay` writes."""

_KEYS: Final = ("format", "network_id", "exported_at", "entries")
_ENTRY_KEYS: Final = ("audit_entry_id", "member_id", "at", "mode")
_MODES: Final = ", ".join(m.value for m in AnonymizationMode)

LedgerTarget: TypeAlias = str | os.PathLike[str] | BinaryIO
"""Where :func:`export_ledger` writes: a new file (by path) or a binary stream."""

LedgerSource: TypeAlias = bytes | str | os.PathLike[str] | IO[bytes]
"""What :func:`read_ledger` reads: the file's bytes, its path, or a binary stream."""

_log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ the file


@final
@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One anonymization: which member id, when, how. Nothing else.

    Attributes:
        audit_entry_id: The id of the anonymization's audit entry.
        member_id: The member anonymized.
        at: The anonymization instant (the member's ``anonymized_at``).
        mode: Manual, retention or request.
    """

    audit_entry_id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    mode: AnonymizationMode = attrs.field(metadata=c.check(c.member_of(AnonymizationMode)))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    def as_json(self) -> dict[str, str]:
        """The entry as the file holds it."""
        return {
            "audit_entry_id": self.audit_entry_id,
            "member_id": self.member_id,
            "at": self.at.isoformat(),
            "mode": self.mode.value,
        }


@final
@attrs.frozen(kw_only=True)
class Ledger:
    """A ledger file read back.

    Attributes:
        network_id: The network whose audit trail it lists.
        exported_at: When it was exported.
        entries: The anonymizations, in file order (the audit entries' id order).
    """

    FORMAT: ClassVar[str] = LEDGER_FORMAT

    network_id: str = attrs.field(metadata=c.check(c.ident))
    exported_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    entries: tuple[LedgerEntry, ...] = attrs.field(
        default=(), metadata=c.check(c.each(c.instance(LedgerEntry)))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    @property
    def member_ids(self) -> frozenset[MemberId]:
        """Every member the ledger names."""
        return frozenset(e.member_id for e in self.entries)

    def as_json(self) -> dict[str, Any]:
        """The ledger as the file holds it (ready for ``json.dumps``)."""
        return {
            "format": LEDGER_FORMAT,
            "network_id": self.network_id,
            "exported_at": self.exported_at.isoformat(),
            "entries": [e.as_json() for e in self.entries],
        }


@final
@attrs.frozen(kw_only=True)
class LedgerProblem:
    """One problem of a ledger file: where it is and what is wrong, never the value.

    Attributes:
        message: What is wrong.
        line: The line (from 1) of the value at fault, when the text is known.
        column: Its column (from 1).
        entry: The entry's position in ``entries`` (from 0), when one entry is at fault.
        field: The key at fault, when one is.
    """

    message: str
    line: int | None = None
    column: int | None = None
    entry: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = "" if self.line is None else f"line {self.line}, column {self.column}: "
        if self.entry is not None:
            where += f"entries[{self.entry}]"
            if self.field is not None:
                where += f" field {self.field!r}"
            where += ": "
        elif self.field is not None:
            where += f"{self.field!r}: "
        return f"{where}{self.message}"


class LedgerError(MemberAnonymizationError, ValueError):
    """A ledger file is invalid. Lists every problem found (up to :data:`MAX_PROBLEMS`).

    Attributes:
        problems: The problems, in file order.
        truncated: More problems were found than are listed.
    """

    def __init__(self, problems: Sequence[LedgerProblem], *, truncated: bool = False) -> None:
        self.problems = tuple(problems)
        self.truncated = truncated
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "unknown problem"
        more = ""
        if count > 1 or truncated:
            plural = "s" if count > 2 or truncated else ""
            more = f" (and {count - 1}{'+' if truncated else ''} more problem{plural})"
        super().__init__(f"invalid ledger: {first}{more}")

    def describe(self) -> str:
        """Every problem, one per line."""
        lines = [str(p) for p in self.problems]
        if self.truncated:
            lines.append(f"(more problems; only the first {len(self.problems)} are listed)")
        return "\n".join(lines)


@final
@attrs.frozen(kw_only=True)
class LedgerWritten:
    """What :func:`export_ledger` wrote.

    Attributes:
        network_id: The network named in the file.
        exported_at: The instant named in the file.
        entries: How many anonymizations it lists.
        path: The file created, or ``None`` for a stream.
    """

    network_id: str
    exported_at: dt.datetime
    entries: int
    path: Path | None


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def export_ledger(
    unit_of_work: UnitOfWorkFactory | Callable[[], UnitOfWork],
    out: LedgerTarget,
    *,
    network_id: str,
    clock: Clock | None = None,
    page_size: int = EXPORT_PAGE,
) -> LedgerWritten:
    """Write the erasure ledger: every anonymization of the audit trail, by audit entry id.

    It reads ``page_size`` entries per unit of work and writes each page as it
    comes, so memory stays flat and no transaction stays open for long. An
    anonymization committed while it runs may be missing; the next export has it.

    Args:
        unit_of_work: Opens a fresh unit of work for each page.
        out: A path (a **new** file, readable by its owner only; an existing
            file is never overwritten) or a binary stream (left open).
        network_id: The network the database holds (the ports do not tell
            it); :func:`read_ledger` gives it back so that a replay can check it.
        clock: The time written as ``exported_at`` (default: the system's).
        page_size: Audit entries per unit of work.

    Returns:
        The network, the time and the number of entries written, and the path.

    Raises:
        ValueError: ``network_id`` is not an id, or ``page_size`` is below 1.
        FileExistsError: ``out`` names a file that exists.
    """
    if c.ident(network_id) is not None:
        raise ValueError("network_id must be a non-empty id")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ValueError("page_size must be a whole number of at least 1")
    exported_at = (clock if clock is not None else SystemClock()).now()
    if c.instant(exported_at) is not None:
        raise ValueError("the clock must give timezone-aware instants")
    encode = _ENCODER.encode
    count = 0
    with _open_target(out) as target:
        stream = target.stream
        head = {"format": LEDGER_FORMAT, "network_id": network_id}
        head["exported_at"] = exported_at.isoformat()
        stream.write(encode(head)[:-1].encode("utf-8") + b', "entries": [')
        for entry in _anonymizations(unit_of_work, page_size):
            line = encode(entry.as_json())
            stream.write((",\n" if count else "\n").encode() + line.encode("utf-8"))
            count += 1
        stream.write(b"\n]}\n")
        target.finish()
    return LedgerWritten(
        network_id=network_id, exported_at=exported_at, entries=count, path=target.path
    )


def _anonymizations(
    unit_of_work: UnitOfWorkFactory | Callable[[], UnitOfWork], page_size: int
) -> Iterator[LedgerEntry]:
    """Every anonymization of the audit trail, by id, one unit of work per page."""
    cursor: str | None = None
    while True:
        with unit_of_work() as uow:
            page = list(uow.audit.anonymizations(after=cursor, limit=page_size))
        for entry in page:
            if entry.is_anonymization and entry.mode is not None:
                yield LedgerEntry(
                    audit_entry_id=entry.id, member_id=entry.member_id, at=entry.at, mode=entry.mode
                )
        if len(page) < page_size:
            return
        cursor = page[-1].id


# ------------------------------------------------------------------------------ reading


class _Object(dict[str, Any]):
    """A JSON object as parsed, remembering keys that appeared more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated: list[str] = []
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        obj.duplicates = tuple(dict.fromkeys(repeated))
    return obj


class _Constant:
    """Stands for ``NaN`` or ``Infinity``, which a ledger never holds."""


_Path: TypeAlias = tuple[str | int, ...]


@attrs.define
class _Problems:
    """The problems found so far, each at a path into the document.

    A problem whose path ends in a key the format does not know is reported
    without that key: a key of the file is as much the file's text as a value.
    """

    found: list[tuple[_Path, str, bool]] = attrs.Factory(list)
    truncated: bool = False

    def add(self, path: _Path, message: str, *, named: bool = True) -> None:
        if len(self.found) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.found.append((path, message, named))


def _instant(value: Any) -> tuple[dt.datetime | None, str | None]:
    """A timestamp with an offset, or the reason it is not one."""
    reason = "must be an ISO 8601 timestamp with an offset"
    if not isinstance(value, str) or len(value) < 16 or value[10:11] != "T":
        return None, reason
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None, reason
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None, "must have an offset (a naive timestamp is ambiguous)"
    return parsed, None


def _keys(obj: _Object, expected: tuple[str, ...], path: _Path, problems: _Problems) -> None:
    """Report repeated, unknown and missing keys of ``obj``."""
    for key in obj.duplicates:
        problems.add((*path, key), "key appears more than once", named=key in expected)
    for key in obj:
        if key not in expected:
            problems.add((*path, key), f"unknown key (allowed: {', '.join(expected)})", named=False)
    for key in expected:
        if key not in obj:
            problems.add(path, f"missing key {key!r}")


def _entry(raw: Any, index: int, problems: _Problems) -> LedgerEntry | None:
    path: _Path = ("entries", index)
    if not isinstance(raw, _Object):
        problems.add(path, "must be an object")
        return None
    _keys(raw, _ENTRY_KEYS, path, problems)
    before = len(problems.found)
    for key in ("audit_entry_id", "member_id"):
        if key in raw and (reason := c.ident(raw[key])) is not None:
            problems.add((*path, key), reason)
    at, reason = _instant(raw.get("at")) if "at" in raw else (None, None)
    if reason is not None:
        problems.add((*path, "at"), reason)
    mode: AnonymizationMode | None = None
    if "mode" in raw:
        try:
            mode = AnonymizationMode(raw["mode"])
        except (ValueError, TypeError):
            problems.add((*path, "mode"), f"must be one of: {_MODES}")
    if len(problems.found) != before or problems.truncated or at is None or mode is None:
        return None
    if any(key not in raw for key in _ENTRY_KEYS):
        return None
    return LedgerEntry(
        audit_entry_id=raw["audit_entry_id"], member_id=raw["member_id"], at=at, mode=mode
    )


def _validate(data: Any, problems: _Problems) -> Ledger | None:
    if not isinstance(data, _Object):
        problems.add((), "must be a JSON object")
        return None
    fmt = data.get("format")
    if fmt != LEDGER_FORMAT:
        if "format" not in data:
            problems.add((), f"missing key 'format': not a {LEDGER_FORMAT} file")
        elif isinstance(fmt, str) and fmt.startswith("member-anonymization/ledger@"):
            problems.add(("format",), f"unsupported version: this release reads {LEDGER_FORMAT}")
        else:
            problems.add(("format",), f"must be {LEDGER_FORMAT!r}: not a ledger file")
        return None
    _keys(data, _KEYS, (), problems)
    network_id = data.get("network_id")
    if "network_id" in data and (reason := c.ident(network_id)) is not None:
        problems.add(("network_id",), reason)
    exported_at, reason = _instant(data["exported_at"]) if "exported_at" in data else (None, None)
    if reason is not None:
        problems.add(("exported_at",), reason)
    raw_entries = data.get("entries")
    entries: list[LedgerEntry] = []
    if "entries" in data and not isinstance(raw_entries, list):
        problems.add(("entries",), "must be a list")
    elif isinstance(raw_entries, list):
        first_at: dict[str, int] = {}
        for index, raw in enumerate(raw_entries):
            entry = _entry(raw, index, problems)
            if entry is None:
                continue
            earlier = first_at.setdefault(entry.audit_entry_id, index)
            if earlier != index:
                problems.add(
                    ("entries", index, "audit_entry_id"),
                    f"repeats the audit entry of entries[{earlier}]",
                )
                continue
            entries.append(entry)
    if problems.found or exported_at is None or not isinstance(network_id, str):
        return None
    return Ledger(network_id=network_id, exported_at=exported_at, entries=tuple(entries))


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _offsets(text: str, wanted: set[_Path]) -> dict[_Path, int]:
    """The offsets in ``text`` (valid JSON) of the values at the ``wanted`` paths."""
    decoder = json.JSONDecoder()
    depth = max((len(p) for p in wanted), default=0)
    found: dict[_Path, int] = {}

    def walk(pos: int, path: _Path) -> int:
        if path in wanted:
            found[path] = pos
        opener = text[pos]
        if len(path) >= depth or opener not in "[{":
            return decoder.raw_decode(text, pos)[1]
        closer = "]" if opener == "[" else "}"
        pos = _skip(text, pos + 1)
        index = 0
        while text[pos] != closer:
            if opener == "{":
                key, pos = decoder.raw_decode(text, pos)
                pos = _skip(text, _skip(text, pos) + 1)  # the colon
                pos = walk(pos, (*path, key))
            else:
                pos = walk(pos, (*path, index))
                index += 1
            pos = _skip(text, pos)
            if text[pos] == ",":
                pos = _skip(text, pos + 1)
        return pos + 1

    walk(_skip(text, 0), ())
    return found


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _located(text: str, problems: _Problems) -> LedgerError:
    paths = {path for path, _, _ in problems.found}
    wanted = paths | {path[:-1] for path in paths if path}
    offsets = _offsets(text, wanted)
    out: list[LedgerProblem] = []
    for path, message, named in problems.found:
        probe = path
        while probe not in offsets and probe:
            probe = probe[:-1]
        line, column = _line_column(text, offsets.get(probe, 0))
        entry = path[1] if len(path) >= 2 and path[0] == "entries" else None
        key = path[-1] if path and isinstance(path[-1], str) else None
        out.append(
            LedgerProblem(
                message=message,
                line=line,
                column=column,
                entry=entry if isinstance(entry, int) else None,
                field=key if named else None,
            )
        )
    return LedgerError(out, truncated=problems.truncated)


def read_ledger(source: LedgerSource) -> Ledger:
    """Read a ledger file, strictly.

    Args:
        source: The file's bytes, its path, or a binary stream to read.

    Returns:
        The ledger, its entries in file order.

    Raises:
        LedgerError: The file is not a valid ``member-anonymization/ledger@1``
            file; it lists every problem (up to :data:`MAX_PROBLEMS`) with its
            line and column, and never a value of the file.
        OSError: The path cannot be read.
    """
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, str | os.PathLike):
        raw = Path(source).read_bytes()
    else:
        raw = source.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = LedgerProblem(message="must be UTF-8 text", line=line, column=column)
        raise LedgerError([problem]) from None
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=lambda _: _Constant())
    except json.JSONDecodeError as exc:
        problem = LedgerProblem(message="not valid JSON", line=exc.lineno, column=exc.colno)
        raise LedgerError([problem]) from None
    problems = _Problems()
    ledger = _validate(data, problems)
    if ledger is None:
        raise _located(text, problems)
    return ledger


# ------------------------------------------------------------------------------ replay


def replayed_entry_id(audit_entry_id: str) -> str:
    """The id of the audit entry that replaying ``audit_entry_id`` writes.

    The original id followed by :data:`REPLAYED_SUFFIX`; when that would be
    longer than an id may be (200 characters), the SHA-256 of the original id
    in hexadecimal, followed by the suffix.
    """
    derived = audit_entry_id + REPLAYED_SUFFIX
    if len(derived) <= c.MAX_ID_LENGTH:
        return derived
    return hashlib.sha256(audit_entry_id.encode("utf-8")).hexdigest() + REPLAYED_SUFFIX


def is_replayed(audit_entry_id: str) -> bool:
    """Whether an audit entry with this id was written by :class:`Replay`."""
    return audit_entry_id.endswith(REPLAYED_SUFFIX)


@final
@attrs.frozen(kw_only=True)
class ReplayReport:
    """What a replay did (in a dry run: what it would do).

    Every member the ledger names is in exactly one of ``replayed``,
    ``already_anonymized``, ``missing``, ``held_elsewhere`` and ``errors``.

    Attributes:
        dry_run: Whether nothing was changed on purpose.
        entries: The ledger's entries.
        replayed: Members anonymized again (in a dry run: who would be), sorted.
        already_anonymized: Members anonymized in the database already (by the
            original anonymization, a previous replay, or since): untouched.
        missing: Members the database does not hold (registered after the
            backup, or deleted): nothing to do, not an error.
        held_elsewhere: Members another worker held locked; run the replay again.
        errors: Members whose unit of work failed even alone; nothing of theirs changed.
    """

    dry_run: bool
    entries: int
    replayed: tuple[MemberId, ...] = ()
    already_anonymized: tuple[MemberId, ...] = ()
    missing: tuple[MemberId, ...] = ()
    held_elsewhere: tuple[MemberId, ...] = ()
    errors: tuple[FailedMember, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every member of the ledger is anonymized or absent now."""
        return not self.held_elsewhere and not self.errors

    def as_json(self) -> dict[str, Any]:
        """The report as the JSON object of ``replay --json`` (ready for ``json.dumps``).

        The keys ``dry_run``, ``entries``, ``replayed`` (ids),
        ``already_anonymized`` (a count) and ``missing`` (ids) are always
        present; ``held_elsewhere`` (ids) and ``errors``
        (``[{"member_id", "error"}]``) only when they are not empty.
        """
        out: dict[str, Any] = {
            "dry_run": self.dry_run,
            "entries": self.entries,
            "replayed": list(self.replayed),
            "already_anonymized": len(self.already_anonymized),
            "missing": list(self.missing),
        }
        if self.held_elsewhere:
            out["held_elsewhere"] = list(self.held_elsewhere)
        if self.errors:
            out["errors"] = [{"member_id": e.member_id, "error": e.error_type} for e in self.errors]
        return out


@attrs.define
class _Outcome:
    replayed: list[MemberId] = attrs.Factory(list)
    already: list[MemberId] = attrs.Factory(list)
    missing: list[MemberId] = attrs.Factory(list)
    held: list[MemberId] = attrs.Factory(list)
    errors: list[FailedMember] = attrs.Factory(list)

    def merge(self, other: _Outcome) -> None:
        self.replayed.extend(other.replayed)
        self.already.extend(other.already)
        self.missing.extend(other.missing)
        self.held.extend(other.held)
        self.errors.extend(other.errors)


@final
class Replay(BatchedService[AnonymizationOptions]):
    """Re-applies, after a restore, the anonymizations of a ledger that the database lacks.

    For each member of the ledger who exists and is not anonymized, it applies
    every effect of an anonymization **without the blocker policy**: personal
    data replaced, photo, log, documents, measurements, exercises and notes
    deleted (as the options say), the member marked anonymized at the
    **original** instant, a reminder for each warning (unpaid purchases,
    arrears on the home club's date of that instant), the member's open erasure
    request completed, one audit entry (the original mode, no actor, ``as_of``
    the home club's date of the original instant, id
    :func:`replayed_entry_id` of the original's) and one ``member_anonymized``
    event in the outbox, dated the original instant: the processors are told
    again, because the host cannot know which events they received before the
    restore, and they may have been restored too.

    Members already anonymized are never touched, so a second run changes
    nothing. Each batch is one unit of work that locks its members (skipping
    those another worker holds) and commits once; a failing batch is redone
    one member per unit of work.

    Args:
        unit_of_work: Opens a fresh unit of work for each batch.
        clock: The current time (logged as the replay's start; every instant
            the replay writes is the original anonymization's).
        options: The club's options (placeholder, notes to delete, ids,
            notice language), as for the other paths.
        batch_size: How many members one unit of work handles.
    """

    _default_options = AnonymizationOptions
    default_batch_size = DEFAULT_BATCH_SIZE

    def run(self, ledger: Ledger, *, dry_run: bool = False) -> ReplayReport:
        """Re-apply every anonymization of ``ledger`` that the database lacks.

        The caller checks that the ledger is of the database's network
        (``ledger.network_id``): the ports do not name the network.

        Args:
            ledger: The ledger, from :func:`read_ledger`.
            dry_run: Report what a run would do; take no lock, change nothing.

        Returns:
            The report: who was replayed, who was anonymized already, who is missing.
        """
        started = self._clock.now()
        first = _first_per_member(ledger.entries)
        ids = sorted(first)
        total = _Outcome()
        for start in range(0, len(ids), self._batch_size):
            chunk = ids[start : start + self._batch_size]
            total.merge(self._batch(chunk, first, dry_run=dry_run))
        report = ReplayReport(
            dry_run=dry_run,
            entries=len(ledger.entries),
            replayed=tuple(sorted(total.replayed)),
            already_anonymized=tuple(sorted(total.already)),
            missing=tuple(sorted(total.missing)),
            held_elsewhere=tuple(sorted(total.held)),
            errors=tuple(sorted(total.errors, key=lambda e: e.member_id)),
        )
        _log.info(
            "ledger replay started %s%s: %d replayed, %d already anonymized, %d missing, "
            "%d held elsewhere, %d failed",
            started.isoformat(),
            " (dry run)" if dry_run else "",
            len(report.replayed),
            len(report.already_anonymized),
            len(report.missing),
            len(report.held_elsewhere),
            len(report.errors),
        )
        return report

    def _batch(
        self, ids: Sequence[MemberId], first: Mapping[MemberId, LedgerEntry], *, dry_run: bool
    ) -> _Outcome:
        """Settle one batch; redo it one member at a time when it fails."""

        def failed(outcome: _Outcome, member_id: MemberId, exc: Exception) -> None:
            outcome.errors.append(FailedMember(member_id=member_id, error_type=type(exc).__name__))

        return settle_batch(
            self._uow,
            lambda uow: ids,
            lambda uow, some: self._settle(uow, some, first, dry_run=dry_run),
            empty=_Outcome,
            failed=failed,
            what="ledger replay",
            log=_log,
        )[1]

    def _settle(
        self,
        uow: UnitOfWork,
        ids: Sequence[MemberId],
        first: Mapping[MemberId, LedgerEntry],
        *,
        dry_run: bool,
    ) -> _Outcome:
        """Lock, read, plan and (unless a dry run) apply, then commit."""
        outcome = _Outcome()
        present = list(ids)
        if not dry_run:
            locked = set(uow.members.lock(ids, skip_locked=True))
            for member_id in ids:
                if member_id in locked:
                    continue
                if uow.members.get(member_id) is None:
                    outcome.missing.append(member_id)
                else:
                    outcome.held.append(member_id)
            present = [m for m in ids if m in locked]
        if not present:
            return outcome
        facts = uow.facts.load_facts(present)
        clubs = uow.clubs.network_clubs()
        planned: list[Planned] = []
        for member_id in present:
            member_facts = facts.get(member_id)
            if member_facts is None:
                outcome.missing.append(member_id)
                continue
            if member_facts.member.is_anonymized:
                outcome.already.append(member_id)
                continue
            entry = first[member_id]
            home = clubs.get(member_facts.member.home_club_id)
            day = entry.at.astimezone(dt.UTC).date() if home is None else home.local_date(entry.at)
            # Warnings only: the blockers were cleared when the erasure was decided.
            warnings = evaluate(member_facts, clubs=clubs, as_of=day).warnings
            planned.append(
                Planned(
                    member_id=member_id,
                    at=entry.at,
                    mode=entry.mode,
                    actor_id=None,
                    as_of=day,
                    warnings=warnings,
                    audit_entry_id=replayed_entry_id(entry.audit_entry_id),
                )
            )
            outcome.replayed.append(member_id)
        if planned and not dry_run:
            apply_planned(uow, planned, options=self._options)
            uow.commit()
        return outcome


def _first_per_member(entries: Sequence[LedgerEntry]) -> dict[MemberId, LedgerEntry]:
    """Each member's earliest anonymization (a member is anonymized once; be safe)."""
    first: dict[MemberId, LedgerEntry] = {}
    for entry in entries:
        known = first.get(entry.member_id)
        if known is None or entry.at < known.at:
            first[entry.member_id] = entry
    return first

"""Export of one member's data before anonymization (GDPR Art. 15 and 20).

The :class:`Exporter` writes everything the member's profile shows (personal
data and photo, contracts, visits, class bookings, wallet, collection cases,
installments, purchases, invoices and receipts, measurements, exercises, notes,
log entries and documents with their content) and nothing of any other member,
as one JSON document (``member-anonymization/export@1``) or as a ZIP holding
that JSON, one CSV per record kind, the photo and the documents. It works only
through :mod:`member_anonymization.ports`, in one unit of work, and records an
audit entry (no personal data) for every export.

Records are written one by one as the repositories yield them, so a member
with a long history exports in little memory. The same data gives the same
bytes: records are ordered by id, keys keep the dataset order, and the archive
entries carry fixed metadata dated by the export time.

A kind whose profile tab is hidden is left out and named in ``omitted``: once
a member is anonymized the Finances, Log and Documents tabs are gone, so their
export holds no personal data (invoices keep the buyer's name as issued, but
they are no longer part of the profile).

:func:`read_export` reads an export (JSON or ZIP) back into domain objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import io
import json
import os
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, ClassVar, Final, Literal, TypeAlias, TypeVar, final

import attrs

from member_anonymization._access import actor_may, member_facts
from member_anonymization._export_csv import TABLES, CsvWriter, TextSink, flatten
from member_anonymization._export_zip import JSON_NAME, ArchiveNames, entry_info
from member_anonymization.anonymizer import SystemClock
from member_anonymization.domain import (
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    ClassBooking,
    CollectionCase,
    Contract,
    Document,
    EmployeeId,
    Exercise,
    Installment,
    Invoice,
    LogEntry,
    Measurement,
    Member,
    MemberId,
    Note,
    Permission,
    ProfileTab,
    Purchase,
    Receipt,
    RemovalCounts,
    Visit,
    Wallet,
)
from member_anonymization.domain._checks import ident
from member_anonymization.errors import (
    DatasetError,
    DatasetProblem,
    MemberAnonymizationError,
)
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import Clock, UnitOfWork, UnitOfWorkFactory
from member_anonymization.profile import visible_tabs
from member_anonymization.serialization import converter, structure_record

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_KINDS",
    "ExportCounts",
    "ExportFormat",
    "ExportNotPermitted",
    "ExportOptions",
    "ExportResult",
    "Exported",
    "Exporter",
    "ExportTarget",
    "ForeignRecordError",
    "MemberExport",
    "read_export",
    "structure_export",
]

EXPORT_FORMAT: Final = "member-anonymization/export@1"
"""The ``format`` field of an export document: its name and version."""

T = TypeVar("T")

ExportTarget: TypeAlias = str | os.PathLike[str] | BinaryIO
"""Where an export goes: a path (a new file) or an open binary stream."""


class ExportFormat(enum.Enum):
    """The file an export produces."""

    JSON = "json"
    ZIP = "zip"

    @classmethod
    def for_target(cls, target: ExportTarget) -> ExportFormat:
        """ZIP for a path ending in ``.zip`` (any case), JSON otherwise."""
        if isinstance(target, str | os.PathLike) and Path(target).suffix.lower() == ".zip":
            return cls.ZIP
        return cls.JSON


class ForeignRecordError(MemberAnonymizationError, RuntimeError):
    """A repository returned a record of another member; the export was stopped.

    It means the host's adapter is wrong: no export leaves the library with
    another member's data in it.
    """

    def __init__(self, kind: str, record_id: str | None) -> None:
        self.kind = kind
        self.record_id = record_id
        super().__init__(
            f"the store returned a record of another member among the {kind.replace('_', ' ')}"
            f" (record id {record_id!r}); nothing was exported"
        )


@final
@attrs.frozen
class _Kind:
    """One kind of record of the export: its key, type, profile tab and reader."""

    name: str
    record_type: type[Any]
    tab: ProfileTab
    read: Callable[[UnitOfWork, MemberFacts], Iterable[Any]]
    key: Callable[[Any], str] = attrs.field(default=lambda record: str(record.id))


_KINDS: Final[tuple[_Kind, ...]] = (
    _Kind("contracts", Contract, ProfileTab.CONTRACTS, lambda u, f: f.contracts),
    _Kind(
        "wallets", Wallet, ProfileTab.FINANCES, lambda u, f: f.wallets, lambda w: str(w.currency)
    ),
    _Kind("collection_cases", CollectionCase, ProfileTab.FINANCES, lambda u, f: f.collection_cases),
    _Kind("installments", Installment, ProfileTab.FINANCES, lambda u, f: f.installments),
    _Kind("purchases", Purchase, ProfileTab.FINANCES, lambda u, f: f.purchases),
    _Kind(
        "invoices", Invoice, ProfileTab.FINANCES, lambda u, f: u.accounting.invoices_of(f.member_id)
    ),
    _Kind(
        "receipts", Receipt, ProfileTab.FINANCES, lambda u, f: u.accounting.receipts_of(f.member_id)
    ),
    _Kind("visits", Visit, ProfileTab.VISITS, lambda u, f: u.profile.visits_of(f.member_id)),
    _Kind(
        "class_bookings",
        ClassBooking,
        ProfileTab.CLASSES,
        lambda u, f: u.profile.class_bookings_of(f.member_id),
    ),
    _Kind(
        "measurements",
        Measurement,
        ProfileTab.TRAINING,
        lambda u, f: u.profile.measurements_of(f.member_id),
    ),
    _Kind(
        "exercises", Exercise, ProfileTab.TRAINING, lambda u, f: u.profile.exercises_of(f.member_id)
    ),
    _Kind("notes", Note, ProfileTab.NOTES, lambda u, f: u.profile.notes_of(f.member_id)),
    _Kind(
        "log_entries", LogEntry, ProfileTab.LOG, lambda u, f: u.profile.log_entries_of(f.member_id)
    ),
    _Kind(
        "documents",
        Document,
        ProfileTab.DOCUMENTS,
        lambda u, f: u.profile.documents_of(f.member_id),
    ),
)

EXPORT_KINDS: Final[tuple[str, ...]] = tuple(kind.name for kind in _KINDS)
"""The record lists of an export, in file order (the dataset's names)."""

_KIND: Final = {kind.name: kind for kind in _KINDS}


def _new_id() -> str:
    return uuid.uuid4().hex


@final
@attrs.frozen(kw_only=True)
class ExportOptions:
    """How exports are made.

    Attributes:
        id_factory: Makes the ids of the audit entries.
    """

    id_factory: Callable[[], str] = _new_id


@final
@attrs.frozen(kw_only=True)
class ExportCounts:
    """How many records of each kind an export holds."""

    photo: int = 0
    contracts: int = 0
    wallets: int = 0
    collection_cases: int = 0
    installments: int = 0
    purchases: int = 0
    invoices: int = 0
    receipts: int = 0
    visits: int = 0
    class_bookings: int = 0
    measurements: int = 0
    exercises: int = 0
    notes: int = 0
    log_entries: int = 0
    documents: int = 0

    @property
    def total(self) -> int:
        """Every record exported, the photo included (the member record not)."""
        return sum(attrs.astuple(self))


@final
@attrs.frozen(kw_only=True)
class Exported:
    """The export was written and an audit entry committed.

    Attributes:
        at: The export time, as written in ``exported_at``.
        format: JSON or ZIP.
        counts: How many records of each kind were written.
        omitted: The kinds left out because their profile tab is hidden.
        audit_entry_id: The id of the audit entry.
        path: The file created, or ``None`` when written to a stream.
    """

    status: ClassVar[Literal["exported"]] = "exported"
    member_id: MemberId
    actor_id: EmployeeId
    at: dt.datetime
    format: ExportFormat
    counts: ExportCounts
    omitted: tuple[str, ...]
    audit_entry_id: str
    path: Path | None = None


@final
@attrs.frozen(kw_only=True)
class ExportNotPermitted:
    """The actor may not export member data: nothing was written or revealed."""

    status: ClassVar[Literal["not_permitted"]] = "not_permitted"
    permission: ClassVar[Permission] = Permission.EXPORT_MEMBER_DATA
    member_id: MemberId
    actor_id: EmployeeId


ExportResult: TypeAlias = Exported | ExportNotPermitted
"""What :meth:`Exporter.export` returns; ``match`` on it."""


@final
class _Source:
    """The member's records as the export reads them, inside one unit of work."""

    def __init__(self, uow: UnitOfWork, facts: MemberFacts) -> None:
        self.uow = uow
        self.facts = facts
        self.member = facts.member
        shown = set(visible_tabs(facts.member))
        self.omitted = tuple(kind.name for kind in _KINDS if kind.tab not in shown)

    def records(self, kind: _Kind) -> Iterator[Any]:
        """The member's records of ``kind``, by id, read afresh; none when omitted.

        A list is sorted here; a lazy iterable streams in the order the adapter
        gives (ordered by id, as the ports ask).

        Raises:
            ForeignRecordError: A record belongs to another member.
        """
        if kind.name in self.omitted:
            return
        found = kind.read(self.uow, self.facts)
        if isinstance(found, Sequence):
            found = sorted(found, key=kind.key)
        for record in found:
            if record.member_id != self.member.id:
                raise ForeignRecordError(kind.name, getattr(record, "id", None))
            yield record


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def _write_json(out: IO[bytes], source: _Source, *, at: dt.datetime) -> ExportCounts:
    """Write the JSON document, one record per line, as the records come."""
    sink = TextSink(out)
    encode = _ENCODER.encode
    header: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": at.isoformat(),
        "member_id": source.member.id,
        "omitted": list(source.omitted),
        "member": converter.unstructure(source.member, Member),
    }
    sink.write("{\n")
    for key, value in header.items():
        sink.write(f"  {encode(key)}: {encode(value)},\n")
    counts: dict[str, int] = {}
    for position, kind in enumerate(_KINDS):
        sink.write(f"  {encode(kind.name)}: [")
        count = 0
        for record in source.records(kind):
            sink.write("\n    " if count == 0 else ",\n    ")
            sink.write(encode(converter.unstructure(record, kind.record_type)))
            count += 1
        sink.write("\n  ]" if count else "]")
        sink.write(",\n" if position < len(_KINDS) - 1 else "\n")
        counts[kind.name] = count
    sink.write("}\n")
    sink.flush()
    return ExportCounts(photo=int(source.member.photo is not None), **counts)


def _write_zip(out: IO[bytes], source: _Source, *, at: dt.datetime) -> ExportCounts:
    """Write the archive: the JSON, the CSVs, the photo and the documents."""
    names = ArchiveNames()
    for fixed in (JSON_NAME, *(table.file_name for table in TABLES.values())):
        names.claim("", fixed, "")
    member = source.member
    photo_name = None if member.photo is None else names.photo(member.photo.content_type)

    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:

        @contextlib.contextmanager
        def csv_file(table: str) -> Iterator[CsvWriter]:
            with archive.open(entry_info(TABLES[table].file_name, at), "w") as entry:
                writer = CsvWriter(entry, TABLES[table])
                yield writer
                writer.close()

        with archive.open(entry_info(JSON_NAME, at), "w", force_zip64=True) as entry:
            counts = _write_json(entry, source, at=at)

        with csv_file("member") as writer:
            row = flatten(converter.unstructure(member, Member))
            row["photo.file"] = photo_name
            writer.write(row)
        for kind in _KINDS:
            if kind.name == "documents":
                continue
            with csv_file(kind.name) as writer:
                for record in source.records(kind):
                    writer.write(flatten(converter.unstructure(record, kind.record_type)))
            if kind.name == "invoices":
                with csv_file("invoice_lines") as writer:
                    for invoice in source.records(kind):
                        for number, line in enumerate(invoice.lines, start=1):
                            line_row: dict[str, Any] = {"invoice_id": invoice.id, "line": number}
                            line_row.update(converter.unstructure(line))
                            writer.write(line_row)

        if member.photo is not None and photo_name is not None:
            archive.writestr(entry_info(photo_name, at), member.photo.data)
        rows: list[dict[str, Any]] = []
        for document in source.records(_KIND["documents"]):
            name = names.document(document.id, document.name, document.content_type)
            archive.writestr(entry_info(name, at), document.data)
            row = flatten(converter.unstructure(document, Document))
            row["file"] = name
            rows.append(row)
        with csv_file("documents") as writer:
            writer.write_all(rows)
    return counts


_WRITERS: Final[Mapping[ExportFormat, Callable[..., ExportCounts]]] = {
    ExportFormat.JSON: _write_json,
    ExportFormat.ZIP: _write_zip,
}

_CREATE_FLAGS: Final = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


@final
class _Target:
    """An open output: a file this export created, or the caller's stream."""

    def __init__(self, stream: IO[bytes], path: Path | None) -> None:
        self.stream = stream
        self.path = path

    def finish(self) -> None:
        """Push every byte out (to the disk, for a file) before the commit."""
        self.stream.flush()
        if self.path is not None:
            os.fsync(self.stream.fileno())


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@contextlib.contextmanager
def _open_target(out: ExportTarget) -> Iterator[_Target]:
    """Open the output; a file is new, owner-only, and removed again on failure."""
    if not isinstance(out, str | os.PathLike):
        yield _Target(out, None)
        return
    path = Path(out)
    fd = os.open(path, _CREATE_FLAGS, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        stream = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        _remove(path)
        raise
    try:
        with stream:
            yield _Target(stream, path)
    except BaseException:
        _remove(path)
        raise


@final
class Exporter:
    """Exports one member's data, through the ports.

    Args:
        unit_of_work: Opens a fresh unit of work for each export.
        clock: The current time (written as ``exported_at`` and audited).
        options: How exports are made.
    """

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory | Callable[[], UnitOfWork],
        *,
        clock: Clock | None = None,
        options: ExportOptions | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._options = options if options is not None else ExportOptions()

    def export(
        self,
        member_id: MemberId,
        out: ExportTarget,
        *,
        actor: EmployeeId,
        format: ExportFormat | None = None,
    ) -> ExportResult:
        """Write the member's export and audit it, completely or not at all.

        The member stays locked while the export is written, so an
        anonymization started meanwhile waits for it.

        Args:
            member_id: The member.
            out: A path, where a new file is created (readable by its owner
                only; an existing file is never overwritten), or a binary
                stream, which is written to but not closed.
            actor: The employee asking; needs ``export_member_data``.
            format: JSON or ZIP; by default ZIP for a path ending in ``.zip``
                and JSON otherwise.

        Returns:
            :class:`Exported`, or :class:`ExportNotPermitted` (nothing written,
            no file created, no audit entry).

        Raises:
            UnknownEmployeeError: No such employee.
            UnknownMemberError: No such member (checked after the permission,
                so that an actor without it learns nothing).
            FileExistsError: ``out`` is a path that exists already.
            ForeignRecordError: The store returned another member's record.

        On any error no audit entry is stored and a file this call created is
        removed; bytes already written to a caller's stream stay there.
        """
        chosen = format if format is not None else ExportFormat.for_target(out)
        with self._uow() as uow:
            if not actor_may(uow, actor, Permission.EXPORT_MEMBER_DATA):
                return ExportNotPermitted(member_id=member_id, actor_id=actor)
            facts = member_facts(uow, member_id, lock=True)
            at = self._clock.now()
            entry = AuditEntry(
                id=self._options.id_factory(),
                member_id=member_id,
                actor_id=actor,
                at=at,
                mode=AnonymizationMode.MANUAL,
                removed=RemovalCounts(),
                action=AuditAction.EXPORT,
            )
            source = _Source(uow, facts)
            with _open_target(out) as target:
                counts = _WRITERS[chosen](target.stream, source, at=at)
                target.finish()
                uow.audit.add([entry])
                uow.commit()
        return Exported(
            member_id=member_id,
            actor_id=actor,
            at=at,
            format=chosen,
            counts=counts,
            omitted=source.omitted,
            audit_entry_id=entry.id,
            path=target.path,
        )


@final
@attrs.frozen(kw_only=True)
class MemberExport:
    """An export read back: the member and their records as domain objects.

    Attributes:
        exported_at: When the export was made.
        omitted: The kinds left out because their profile tab was hidden.
    """

    FORMAT: ClassVar[str] = EXPORT_FORMAT

    member_id: MemberId
    exported_at: dt.datetime
    member: Member
    omitted: tuple[str, ...] = ()
    contracts: tuple[Contract, ...] = ()
    wallets: tuple[Wallet, ...] = ()
    collection_cases: tuple[CollectionCase, ...] = ()
    installments: tuple[Installment, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    visits: tuple[Visit, ...] = ()
    class_bookings: tuple[ClassBooking, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    exercises: tuple[Exercise, ...] = ()
    notes: tuple[Note, ...] = ()
    log_entries: tuple[LogEntry, ...] = ()
    documents: tuple[Document, ...] = ()


_HEADER_KEYS: Final = ("format", "exported_at", "member_id", "omitted", "member")
_KNOWN_KEYS: Final = frozenset((*_HEADER_KEYS, *EXPORT_KINDS))


def _record_id(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        value = raw.get("id")
        if ident(value) is None:
            return str(value)
    return None


def _structure(
    value: Any,
    cls: type[T],
    problems: list[DatasetProblem],
    *,
    collection: str,
    index: int | None = None,
) -> T | None:
    try:
        return structure_record(value, cls)
    except DatasetError as exc:
        rid = _record_id(value)
        problems.extend(
            attrs.evolve(p, collection=collection, index=index, record_id=rid) for p in exc.problems
        )
        return None


def structure_export(data: Any) -> MemberExport:
    """Build a :class:`MemberExport` from a parsed export document.

    Reading is as strict as for a dataset: unknown keys, a wrong ``format``,
    invalid values and records of another member are errors.

    Raises:
        DatasetError: With every problem found, each naming where it is.
    """
    if not isinstance(data, Mapping):
        raise DatasetError([DatasetProblem(collection="", message="must be a JSON object")])
    problems: list[DatasetProblem] = []
    unknown = sorted(str(key)[:40] for key in data if key not in _KNOWN_KEYS)
    if unknown:
        problems.append(
            DatasetProblem(collection="", message=f"unknown keys: {', '.join(unknown)}")
        )
    if data.get("format") != EXPORT_FORMAT:
        problems.append(DatasetProblem(collection="format", message=f"must be {EXPORT_FORMAT!r}"))
    member_id = data.get("member_id")
    if ident(member_id) is not None:
        problems.append(DatasetProblem(collection="member_id", message="must be a non-empty id"))
    exported_at = _structure(
        data.get("exported_at"), dt.datetime, problems, collection="exported_at"
    )
    omitted = data.get("omitted", [])
    if not (
        isinstance(omitted, list)
        and all(isinstance(name, str) and name in _KIND for name in omitted)
        and len(set(omitted)) == len(omitted)
    ):
        problems.append(
            DatasetProblem(collection="omitted", message="must be a list of distinct record kinds")
        )
        omitted = []
    member: Member | None = None
    if "member" not in data:
        problems.append(DatasetProblem(collection="member", message="required field missing"))
    else:
        member = _structure(data["member"], Member, problems, collection="member")
        if member is not None and member.id != member_id:
            problems.append(
                DatasetProblem(
                    collection="member", field="id", message="must equal the export's member_id"
                )
            )

    lists: dict[str, tuple[Any, ...]] = {}
    for kind in _KINDS:
        raw_list = data.get(kind.name, [])
        if not isinstance(raw_list, list):
            problems.append(DatasetProblem(collection=kind.name, message="must be a list"))
            continue
        if raw_list and kind.name in omitted:
            problems.append(
                DatasetProblem(collection=kind.name, message="must be empty: it is omitted")
            )
        records: list[Any] = []
        for index, raw in enumerate(raw_list):
            record = _structure(raw, kind.record_type, problems, collection=kind.name, index=index)
            if record is None:
                continue
            if record.member_id != member_id:
                problems.append(
                    DatasetProblem(
                        collection=kind.name,
                        index=index,
                        record_id=_record_id(raw),
                        field="member_id",
                        message="belongs to another member",
                    )
                )
            records.append(record)
        lists[kind.name] = tuple(records)

    if problems or member is None or exported_at is None:
        raise DatasetError(problems)
    return MemberExport(
        member_id=member.id,
        exported_at=exported_at,
        member=member,
        omitted=tuple(omitted),
        **lists,
    )


_ZIP_MAGIC: Final = b"PK\x03\x04"


def read_export(source: bytes | str | os.PathLike[str] | IO[bytes]) -> MemberExport:
    """Read an export, JSON or ZIP, back into domain objects.

    Args:
        source: The file's bytes, its path, or a binary stream to read.

    Raises:
        DatasetError: The file is not a valid export.
    """
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, str | os.PathLike):
        raw = Path(source).read_bytes()
    else:
        raw = source.read()
    if raw.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                raw = archive.read(JSON_NAME)
        except (zipfile.BadZipFile, KeyError):
            raise DatasetError(
                [DatasetProblem(collection="", message=f"a ZIP export must hold {JSON_NAME}")]
            ) from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DatasetError([DatasetProblem(collection="", message="must be UTF-8")]) from None
    except json.JSONDecodeError as exc:
        message = f"not valid JSON (line {exc.lineno}, column {exc.colno})"
        raise DatasetError([DatasetProblem(collection="", message=message)]) from None
    return structure_export(data)

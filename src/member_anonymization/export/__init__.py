"""Export of one member's data before anonymization (GDPR Art. 15 and 20).

The :class:`Exporter` writes everything the member's profile shows (personal
data and photo, contracts, visits, class bookings, wallet, collection cases,
installments, purchases, invoices and receipts, measurements, exercises, notes,
log entries and documents with their content) and nothing of any other member,
as one JSON document (``member-anonymization/export@1``) or as a ZIP holding
that JSON, one CSV per record kind, the photo and the documents. It works only
through :mod:`member_anonymization.ports`: it reads everything in one unit of
work (a read-only one when the factory offers it, so one consistent snapshot
and no write lock), writes the file, and then records an audit entry (no
personal data) in a short unit of its own.

Records are written one by one as the repositories yield them, so a member
with a long history exports in little memory; each kind is read once (a ZIP's
CSV rows and documents wait in temporary files until the JSON is written). The
same data gives the same bytes: records are ordered by id, keys keep the
dataset order, and the archive entries carry fixed metadata dated by the
export time.

A kind whose profile tab is hidden is left out and named in ``omitted``: once
a member is anonymized the Finances, Log and Documents tabs are gone, so their
export holds no personal data beyond the member's pseudonymous id (invoices
keep the buyer's name as issued, but they are no longer part of the profile).

:func:`read_export` reads an export (JSON or ZIP) back into domain objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, ClassVar, Final, Literal, TypeAlias, final

import attrs

from member_anonymization._access import actor_may, member_facts, reading
from member_anonymization._clock import new_id
from member_anonymization._service import Service
from member_anonymization.domain import (
    AuditAction,
    AuditEntry,
    EmployeeId,
    MemberId,
    Permission,
)
from member_anonymization.errors import ForeignRecordError
from member_anonymization.export import _kinds
from member_anonymization.export._reader import MemberExport, read_export, structure_export
from member_anonymization.export._target import _open_target
from member_anonymization.export._writer import _Source, _write_json, _write_zip

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

# Bound here, with their docstrings, so that the API reference documents them.
EXPORT_FORMAT: Final = _kinds.EXPORT_FORMAT
"""The ``format`` field of an export document: its name and version."""

EXPORT_KINDS: Final[tuple[str, ...]] = _kinds.EXPORT_KINDS
"""The record lists of an export, in file order (the dataset's names)."""

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


@final
@attrs.frozen(kw_only=True)
class ExportOptions:
    """How exports are made.

    Attributes:
        id_factory: Makes the ids of the audit entries.
    """

    id_factory: Callable[[], str] = new_id


@final
class ExportCounts(Mapping[str, int]):
    """How many records of each kind an export holds, the photo included.

    A read-only mapping from ``"photo"`` and each name of :data:`EXPORT_KINDS`
    to a count; each count is also an attribute (``counts.visits``).

    Args:
        counts: Counts by kind; a kind left out counts zero.

    Raises:
        TypeError: A name that is not a kind of the export.
        ValueError: A count that is not a whole number of at least zero.
    """

    __slots__ = ("_counts",)

    KINDS: ClassVar[tuple[str, ...]] = ("photo", *_kinds.EXPORT_KINDS)
    """The counted kinds, in file order."""

    _counts: dict[str, int]

    def __init__(self, **counts: int) -> None:
        unknown = sorted(set(counts) - set(self.KINDS))
        if unknown:
            raise TypeError(f"not kinds of an export: {', '.join(unknown)}")
        for name, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"the count of {name} must be a whole number of at least 0")
        object.__setattr__(self, "_counts", {name: counts.get(name, 0) for name in self.KINDS})

    def __getitem__(self, name: str) -> int:
        return self._counts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __getattr__(self, name: str) -> int:
        counts: dict[str, int] = object.__getattribute__(self, "_counts")
        if name.startswith("_") or name not in counts:
            raise AttributeError(name)
        return counts[name]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ExportCounts is read-only")

    def __hash__(self) -> int:
        return hash(tuple(self._counts.values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={count}" for name, count in self._counts.items() if count)
        return f"ExportCounts({shown})"

    @property
    def total(self) -> int:
        """Every record exported, the photo included (the member record not)."""
        return sum(self._counts.values())


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

_WRITERS: Final[Mapping[ExportFormat, Callable[..., dict[str, int]]]] = {
    ExportFormat.JSON: _write_json,
    ExportFormat.ZIP: _write_zip,
}


@final
class Exporter(Service[ExportOptions]):
    """Exports one member's data, through the ports.

    Args:
        unit_of_work: Opens a fresh unit of work for each export.
        clock: The current time (written as ``exported_at`` and audited).
        options: How exports are made.
    """

    _default_options = ExportOptions

    def export(
        self,
        member_id: MemberId,
        out: ExportTarget,
        *,
        actor: EmployeeId,
        format: ExportFormat | None = None,
    ) -> ExportResult:
        """Write the member's export and audit it, completely or not at all.

        Everything is read in one unit of work: a read-only one when the
        factory offers it (one consistent snapshot, taken when the export
        starts, and no lock, so other members' changes go on meanwhile).
        Then the file is written to its end and, only then, the audit entry
        is added in a short unit of work of its own. An anonymization of the
        same member committed meanwhile does not change the file: it shows
        the member as they were when the export started.

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
        with contextlib.ExitStack() as output:
            with reading(self._uow)() as uow:
                if not actor_may(uow, actor, Permission.EXPORT_MEMBER_DATA):
                    return ExportNotPermitted(member_id=member_id, actor_id=actor)
                facts = member_facts(uow, member_id)
                at = self._clock.now()
                source = _Source(uow, facts)
                # The file outlives the reading unit: removed again if the audit fails.
                target = output.enter_context(_open_target(out))
                counts = ExportCounts(**_WRITERS[chosen](target.stream, source, at=at))
                target.finish()
            entry = AuditEntry(
                id=self._options.id_factory(),
                member_id=member_id,
                actor_id=actor,
                at=at,
                mode=None,
                removed=None,
                action=AuditAction.EXPORT,
            )
            with self._uow() as uow:
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

"""Reading an export (JSON or ZIP) back into domain objects."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar, Final, TypeVar, final

import attrs

from member_anonymization.domain import Member, MemberId
from member_anonymization.domain._checks import ident
from member_anonymization.errors import DatasetError, DatasetProblem
from member_anonymization.export._kinds import _KIND, _KINDS, EXPORT_FORMAT, EXPORT_KINDS
from member_anonymization.export._zip import JSON_NAME
from member_anonymization.serialization import (
    parse_json,
    shown_id,
    shown_keys,
    structure_record,
)

T = TypeVar("T")


@final
class MemberExport:
    """An export read back: the member and their records as domain objects.

    Each kind of :data:`~member_anonymization.export.EXPORT_KINDS` is an
    attribute holding a tuple of records (``export.visits``), empty when the
    export has none; :meth:`records_of` gives them typed by their class.

    Args:
        member_id: The member.
        exported_at: When the export was made.
        member: The member record.
        omitted: The kinds left out because their profile tab was hidden.
        records: The records by kind (a kind left out has none).

    Raises:
        TypeError: A keyword that is not a kind of the export.
    """

    __slots__ = ("_records", "exported_at", "member", "member_id", "omitted")

    FORMAT: ClassVar[str] = EXPORT_FORMAT
    KINDS: ClassVar[tuple[str, ...]] = EXPORT_KINDS
    """The kinds, in file order."""

    member_id: MemberId
    exported_at: dt.datetime
    member: Member
    omitted: tuple[str, ...]
    _records: dict[str, tuple[Any, ...]]

    def __init__(
        self,
        *,
        member_id: MemberId,
        exported_at: dt.datetime,
        member: Member,
        omitted: Iterable[str] = (),
        **records: Iterable[Any],
    ) -> None:
        unknown = sorted(set(records) - set(EXPORT_KINDS))
        if unknown:
            raise TypeError(f"not kinds of an export: {', '.join(unknown)}")
        setter = object.__setattr__
        setter(self, "member_id", member_id)
        setter(self, "exported_at", exported_at)
        setter(self, "member", member)
        setter(self, "omitted", tuple(omitted))
        setter(self, "_records", {name: tuple(records.get(name, ())) for name in EXPORT_KINDS})

    def __getattr__(self, name: str) -> tuple[Any, ...]:
        records: dict[str, tuple[Any, ...]] = object.__getattribute__(self, "_records")
        if name.startswith("_") or name not in records:
            raise AttributeError(name)
        return records[name]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("MemberExport is read-only")

    def records(self, kind: str) -> tuple[Any, ...]:
        """The records of one kind, by its name."""
        return self._records[kind]

    def records_of(self, record_type: type[T]) -> tuple[T, ...]:
        """The records of the kind whose class is ``record_type``."""
        for kind in _KINDS:
            if kind.record_type is record_type:
                return self._records[kind.name]
        raise TypeError(f"{record_type.__name__} is not a kind of an export")

    def _key(self) -> tuple[Any, ...]:
        return (
            self.member_id,
            self.exported_at,
            self.member,
            self.omitted,
            tuple(self._records.values()),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemberExport):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self._records.items() if v)
        return f"MemberExport(member_id={self.member_id!r}, {counts})"


_HEADER_KEYS: Final = ("format", "exported_at", "member_id", "omitted", "member")
_KNOWN_KEYS: Final = frozenset((*_HEADER_KEYS, *EXPORT_KINDS))


def _record_id(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        return shown_id(raw.get("id"))
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
    positions = dict(zip(data, itertools.count(1)))
    unknown = shown_keys(positions, (key for key in data if key not in _KNOWN_KEYS))
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

MAX_EXPORT_SIZE: Final = 256 * 1024 * 1024
"""The largest export :func:`read_export` reads by default: 256 MiB of JSON,
bare or once expanded from the ZIP (raise it with ``max_size``)."""

_READ_CHUNK: Final = 1 << 20


def _refused(message: str) -> DatasetError:
    return DatasetError([DatasetProblem(collection="", message=message)])


def _read_bounded(stream: IO[bytes], limit: int, too_large: str) -> bytearray:
    """At most ``limit`` bytes of ``stream``, read in chunks; more is refused."""
    out = bytearray()
    while chunk := stream.read(min(_READ_CHUNK, limit + 1 - len(out))):
        out += chunk
        if len(out) > limit:
            raise _refused(too_large)
    return out


def _unzip(raw: bytes | bytearray, max_size: int) -> bytearray:
    """The JSON document of a ZIP export, expanded to at most ``max_size`` bytes."""
    too_large = f"{JSON_NAME} expands beyond the limit of {max_size} bytes (max_size)"
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            info = archive.getinfo(JSON_NAME)
            if info.file_size > max_size:
                raise _refused(too_large)
            with archive.open(info) as entry:
                return _read_bounded(entry, max_size, too_large)
    except (zipfile.BadZipFile, KeyError, EOFError, NotImplementedError, RuntimeError):
        raise _refused(f"a ZIP export must hold {JSON_NAME}") from None


def read_export(
    source: bytes | str | os.PathLike[str] | IO[bytes], *, max_size: int = MAX_EXPORT_SIZE
) -> MemberExport:
    """Read an export, JSON or ZIP, back into domain objects.

    The JSON is parsed by :func:`~member_anonymization.serialization.parse_json`
    (a byte-order mark is dropped; duplicate keys, deep nesting and huge
    integers are refused).

    Args:
        source: The file's bytes, its path, or a binary stream to read.
        max_size: The most bytes of JSON to read: a larger JSON file, or a
            ZIP whose ``export.json`` expands beyond it (a ZIP bomb), is
            refused before it is read whole. 256 MiB by default.

    Raises:
        DatasetError: The file is not a valid export, or is too large.
    """
    too_large = f"the export is larger than the limit of {max_size} bytes (max_size)"
    raw: bytes | bytearray
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, str | os.PathLike):
        with Path(source).open("rb") as file:
            raw = _read_bounded(file, max_size, too_large)
    else:
        raw = _read_bounded(source, max_size, too_large)
    if raw.startswith(_ZIP_MAGIC):
        raw = _unzip(raw, max_size)
    elif len(raw) > max_size:
        raise _refused(too_large)
    return structure_export(parse_json(raw))

"""The writers of an export: the JSON document and the ZIP archive, record by record."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Final, final

from member_anonymization.domain import Member
from member_anonymization.errors import ForeignRecordError
from member_anonymization.export._csv import (
    BOM,
    TABLES,
    CsvTable,
    CsvWriter,
    TextSink,
    cell,
    flatten,
)
from member_anonymization.export._kinds import _KINDS, EXPORT_FORMAT, _Kind
from member_anonymization.export._zip import JSON_NAME, ArchiveNames, entry_info
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork
from member_anonymization.profile import visible_tabs
from member_anonymization.serialization import converter


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

_SPOOL_MEMORY: Final = 1 << 17
"""Bytes a ZIP export keeps in memory per temporary file before it moves to disk."""

_COPY_CHUNK: Final = 1 << 16
"""Bytes copied at a time from a temporary file into the archive."""

Tee = Callable[[_Kind, Any, dict[str, Any]], None]
"""Sees each record the JSON writer writes, with its dataset shape."""


def _write_json(
    out: IO[bytes], source: _Source, *, at: dt.datetime, tee: Tee | None = None
) -> dict[str, int]:
    """Write the JSON document, one record per line, as the records come; return the counts.

    Each kind is read once; ``tee``, when given, sees every record as it is written.
    """
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
            plain = converter.unstructure(record, kind.record_type)
            sink.write("\n    " if count == 0 else ",\n    ")
            sink.write(encode(plain))
            if tee is not None:
                tee(kind, record, plain)
            count += 1
        sink.write("\n  ]" if count else "]")
        sink.write(",\n" if position < len(_KINDS) - 1 else "\n")
        counts[kind.name] = count
    sink.write("}\n")
    sink.flush()
    return {"photo": int(source.member.photo is not None), **counts}


@final
class _Lines:
    """The stream of the one csv writer of a ZIP export: each line goes to its table's sink.

    A csv writer holds a sizeable buffer of its own, so the tables share one.
    """

    def __init__(self) -> None:
        self.sink: TextSink | None = None

    def write(self, text: str) -> int:
        """Queue ``text`` in the current table's sink."""
        assert self.sink is not None
        return self.sink.write(text)


@final
class _SpooledTable:
    """One CSV, queued in a temporary file: the bytes :class:`CsvWriter` would write."""

    def __init__(self, spool: IO[bytes], table: CsvTable, lines: _Lines, writer: Any) -> None:
        spool.write(BOM)
        self.spool = spool
        self._sink = TextSink(spool)
        self._columns = table.columns
        self._lines = lines
        self._writer = writer
        self._row(table.columns)

    def _row(self, cells: Iterable[str]) -> None:
        self._lines.sink = self._sink
        self._writer.writerow(cells)

    def write(self, flat: Mapping[str, Any]) -> None:
        """Queue one row from a flattened record; missing columns stay empty."""
        self._row([cell(flat.get(column)) for column in self._columns])

    def close(self) -> None:
        """Write what is still queued into the temporary file."""
        self._sink.flush()


@final
class _Spooled:
    """What a ZIP export writes after its JSON, gathered while the JSON is written.

    Every CSV (but the member's) gets a temporary file, and the documents'
    contents one more; each stays in memory up to :data:`_SPOOL_MEMORY` bytes
    and then moves to an unnamed temporary file, deleted when it is closed.
    """

    def __init__(self, files: contextlib.ExitStack, names: ArchiveNames) -> None:
        self._files = files
        self._names = names
        lines = _Lines()
        writer = csv.writer(lines, lineterminator="\r\n")
        self.tables = {
            table: _SpooledTable(self._spool(), TABLES[table], lines, writer)
            for table in _SPOOLED_TABLES
        }
        self.contents = self._spool()
        self.documents: list[tuple[str, int]] = []

    def _spool(self) -> IO[bytes]:
        # Closed (and deleted) by the export's exit stack.
        spooled = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
        spool: IO[bytes] = self._files.enter_context(spooled)
        return spool

    def __call__(self, kind: _Kind, record: Any, plain: dict[str, Any]) -> None:
        """Queue the record's CSV rows (and a document's content)."""
        row = flatten(plain)
        if kind.name == "documents":
            name = self._names.document(record.id, record.name, record.content_type)
            self.contents.write(record.data)
            self.documents.append((name, len(record.data)))
            row["file"] = name
        self.tables[kind.name].write(row)
        if kind.name == "invoices":
            lines = self.tables["invoice_lines"]
            for number, line in enumerate(record.lines, start=1):
                line_row: dict[str, Any] = {"invoice_id": record.id, "line": number}
                line_row.update(converter.unstructure(line))
                lines.write(line_row)

    def copy(self, archive: zipfile.ZipFile, table: str, at: dt.datetime) -> None:
        """Write the table's CSV into the archive."""
        spooled = self.tables[table]
        spooled.close()
        spool = spooled.spool
        info = entry_info(TABLES[table].file_name, at)
        info.file_size = spool.tell()
        spool.seek(0)
        with archive.open(info, "w") as entry:
            shutil.copyfileobj(spool, entry, _COPY_CHUNK)


_SPOOLED_TABLES: Final = tuple(
    name
    for kind in _KINDS
    for name in ((kind.name, "invoice_lines") if kind.name == "invoices" else (kind.name,))
)
"""The CSVs written from the records as the JSON reads them, in archive order (documents last)."""


def _write_zip(out: IO[bytes], source: _Source, *, at: dt.datetime) -> dict[str, int]:
    """Write the archive: the JSON, the CSVs, the photo and the documents; return the counts.

    Each kind is read once: while its records go into the JSON, their CSV rows
    (and the documents' contents) go to temporary files, copied into the
    archive once the JSON is complete. The entries keep a fixed order.
    """
    names = ArchiveNames()
    for fixed in (JSON_NAME, *(table.file_name for table in TABLES.values())):
        names.claim("", fixed, "")
    member = source.member
    photo_name = None if member.photo is None else names.photo(member.photo.content_type)

    with contextlib.ExitStack() as files, zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        spooled = _Spooled(files, names)
        with archive.open(entry_info(JSON_NAME, at), "w", force_zip64=True) as entry:
            counts = _write_json(entry, source, at=at, tee=spooled)

        with archive.open(entry_info(TABLES["member"].file_name, at), "w") as entry:
            writer = CsvWriter(entry, TABLES["member"])
            row = flatten(converter.unstructure(member, Member))
            row["photo.file"] = photo_name
            writer.write(row)
            writer.close()
        for table in _SPOOLED_TABLES:
            if table != "documents":
                spooled.copy(archive, table, at)

        if member.photo is not None and photo_name is not None:
            archive.writestr(entry_info(photo_name, at), member.photo.data)
        spooled.contents.seek(0)
        for name, size in spooled.documents:
            archive.writestr(entry_info(name, at), spooled.contents.read(size))
        spooled.copy(archive, "documents", at)
    return counts

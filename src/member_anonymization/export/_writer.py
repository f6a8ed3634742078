"""The writers of an export: the JSON document and the ZIP archive, record by record."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import zipfile
from collections.abc import Iterator, Sequence
from typing import IO, Any, Final, final

from member_anonymization.domain import Document, Member
from member_anonymization.errors import ForeignRecordError
from member_anonymization.export._csv import TABLES, CsvWriter, TextSink, flatten
from member_anonymization.export._kinds import _KIND, _KINDS, EXPORT_FORMAT, _Kind
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


def _write_json(out: IO[bytes], source: _Source, *, at: dt.datetime) -> dict[str, int]:
    """Write the JSON document, one record per line, as the records come; return the counts."""
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
    return {"photo": int(source.member.photo is not None), **counts}


def _write_zip(out: IO[bytes], source: _Source, *, at: dt.datetime) -> dict[str, int]:
    """Write the archive: the JSON, the CSVs, the photo and the documents; return the counts."""
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

"""The CSV files of a ZIP export: their columns, and how a record becomes a row.

Each CSV is UTF-8 with a byte order mark (so that spreadsheets detect the
encoding), comma-separated with CR LF line ends, quoted where needed, with
a header row and one row per record. A row is the record's dataset shape (the
converter's output) flattened: nested objects become dotted columns
(``address.city``), ``null`` an empty cell, booleans ``true``/``false``.
Binary content is left out and replaced by the file's name in the archive;
invoice lines, a list, go to a file of their own.

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, and not a plain number) gets a
leading apostrophe. The JSON file keeps every value exactly.
"""

from __future__ import annotations

import csv
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, Final, final

import attrs

from member_anonymization.domain import InvoiceLine
from member_anonymization.serialization import RECORD_KINDS, dataset_key

__all__ = [
    "BOM",
    "TABLES",
    "CsvTable",
    "CsvWriter",
    "TextSink",
    "cell",
    "flatten",
]

BOM: Final = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark every CSV starts with."""

_NUMBER: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_BINARY_SUFFIX: Final = "data_base64"


@final
@attrs.frozen(kw_only=True)
class CsvTable:
    """One CSV file of the archive.

    Attributes:
        file_name: The file's name in the archive.
        columns: The header, in order.
    """

    file_name: str
    columns: tuple[str, ...]


def _plain_type(annotation: Any) -> Any:
    """The type without ``| None``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def dataset_columns(record_type: type[Any], prefix: str = "") -> Iterator[str]:
    """The columns of a record class: its dataset keys, nested objects dotted.

    Lists (an invoice's lines) and binary content have no place in a cell
    and are left out; a kind with binary content gets a ``file`` column
    naming its file in the archive instead.
    """
    has_content = False
    for field in attrs.fields(attrs.resolve_types(record_type)):
        key = prefix + dataset_key(record_type, field.name)
        plain = _plain_type(field.type)
        if plain is bytes:
            has_content = True
        elif typing.get_origin(plain) is tuple:
            continue
        elif isinstance(plain, type) and attrs.has(plain):
            yield from dataset_columns(plain, f"{key}.")
        else:
            yield key
    if has_content and not prefix:
        yield "file"


_MEMBER_COLUMNS: Final = (
    "id",
    "home_club_id",
    "registered_on",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "national_id",
    "address.street",
    "address.postal_code",
    "address.city",
    "address.country",
    "photo.content_type",
    "photo.file",
    "restrict_processing",
    "anonymized_at",
)
"""The member's file: the dataset's flat member shape, its photo named by its file."""

_INVOICE_LINE_COLUMNS: Final = (
    "invoice_id",
    "line",
    *dataset_columns(InvoiceLine),
)

TABLES: Final[Mapping[str, CsvTable]] = {
    name: CsvTable(file_name=f"{name}.csv", columns=tuple(columns))
    for name, columns in {
        "member": _MEMBER_COLUMNS,
        **{k.collection: dataset_columns(k.record_type) for k in RECORD_KINDS if k.exported},
        "invoice_lines": _INVOICE_LINE_COLUMNS,
    }.items()
}
"""Every CSV of the archive by table name (an exported kind, ``member`` or ``invoice_lines``)."""


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A record's dataset shape as one level of dotted keys.

    Nested objects become ``parent.child`` keys; a ``null`` nested object stays
    one ``null`` key (its columns are then empty). Lists and base64 content are
    left out: they have no place in a cell.
    """
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, f"{name}."))
        elif isinstance(item, list) or key == _BINARY_SUFFIX:
            continue
        else:
            flat[name] = item
    return flat


def cell(value: Any) -> str:
    """The text of one CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


@final
class TextSink:
    """Collects text and writes it to a binary stream as UTF-8, in chunks.

    Args:
        out: Where the bytes go.
        chunk: How many characters to gather before writing.
    """

    def __init__(self, out: IO[bytes], *, chunk: int = 1 << 16) -> None:
        self._out = out
        self._chunk = chunk
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        """Queue ``text``; write the queue once it is large enough."""
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._chunk:
            self.flush()
        return len(text)

    def flush(self) -> None:
        """Write everything queued."""
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._size = 0


@final
class CsvWriter:
    """Writes one CSV file, row by row, into a binary stream.

    Args:
        out: The stream (an archive member open for writing).
        table: The file's columns.
    """

    def __init__(self, out: IO[bytes], table: CsvTable) -> None:
        out.write(BOM)
        self._sink = TextSink(out)
        self._writer = csv.writer(self._sink, lineterminator="\r\n")
        self._columns = table.columns
        self._writer.writerow(table.columns)

    def write(self, flat: Mapping[str, Any]) -> None:
        """Write one row from a flattened record; missing columns stay empty."""
        self._writer.writerow([cell(flat.get(column)) for column in self._columns])

    def write_all(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write every row."""
        for row in rows:
            self.write(row)

    def close(self) -> None:
        """Write what is still queued (the stream stays open)."""
        self._sink.flush()

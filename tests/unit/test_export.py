"""The member data export: content, formats, permissions, audit, files and streaming."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
import re
import weakref
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs
import pytest

from member_anonymization import Anonymized, Anonymizer
from member_anonymization.domain import (
    AuditAction,
    Document,
    NoteType,
    Permission,
    Visit,
)
from member_anonymization.errors import DatasetError, UnknownEmployeeError, UnknownMemberError
from member_anonymization.export import (
    EXPORT_FORMAT,
    EXPORT_KINDS,
    ExportCounts,
    Exported,
    Exporter,
    ExportFormat,
    ExportNotPermitted,
    ExportOptions,
    ForeignRecordError,
    MemberExport,
    read_export,
    structure_export,
)
from member_anonymization.export._csv import BOM, TABLES, cell, flatten
from member_anonymization.export._zip import ArchiveNames, entry_info, safe_component
from member_anonymization.serialization import Dataset, converter
from member_anonymization.testing import FixedClock, InjectedFailure
from tests import builders as b
from tests.backends import MakeStore, Store

NOW = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
FINANCES_LOG_DOCUMENTS = (
    "wallets",
    "collection_cases",
    "installments",
    "purchases",
    "invoices",
    "receipts",
    "log_entries",
    "documents",
)
OTHER_NAME = "Grzegorz"
OTHER_VALUES = (
    OTHER_NAME,
    "Wąsikowski",
    "grzegorz@example.org",
    "Other member's knee",
    "Other member's log",
    "other-passport.pdf",
    "Grzegorz Wąsikowski",
)


def other_member_records() -> tuple[Any, ...]:
    """Member m2 and one record of every kind, with personal values of their own."""
    personal = b.personal(first_name=OTHER_NAME, last_name="Wąsikowski", email=OTHER_VALUES[2])
    m2 = b.member("m2", personal_data=personal, photo_content=b.photo(b"OTHER-PHOTO"))
    invoice = b.invoice(
        "f-m2", member_id="m2", invoice_buyer=b.buyer(name=OTHER_VALUES[6], address="Elsewhere 1")
    )
    return (
        m2,
        b.contract("k-m2", member_id="m2"),
        b.wallet(member_id="m2"),
        b.collection_case("w-m2", member_id="m2"),
        b.installment("i-m2", member_id="m2", paid_on=dt.date(2019, 2, 9)),
        b.purchase("p-m2", member_id="m2", paid=True),
        invoice,
        b.receipt("r-m2", member_id="m2", contractor_name=OTHER_VALUES[6]),
        b.visit("v-m2", member_id="m2"),
        b.class_booking("b-m2", member_id="m2"),
        b.measurement("ms-m2", member_id="m2"),
        b.exercise("x-m2", member_id="m2"),
        b.note("nh-m2", member_id="m2", text=OTHER_VALUES[3]),
        b.log_entry("l-m2", member_id="m2", text=OTHER_VALUES[4]),
        b.document("d-m2", member_id="m2", name=OTHER_VALUES[5]),
    )


def two_members(*extra: Any) -> Dataset:
    """Member m1 with one record of every kind, and member m2 likewise."""
    return b.dataset(b.member(), *b.profile_records("m1"), *other_member_records(), *extra)


def exporter(store: Store, **kwargs: Any) -> Exporter:
    """An exporter on the store with the fixed clock."""
    return Exporter(store.unit_of_work, clock=FixedClock(NOW), **kwargs)


def export_bytes(
    store: Store, member_id: str = "m1", fmt: ExportFormat = ExportFormat.JSON
) -> bytes:
    """Export to memory and return the bytes."""
    out = io.BytesIO()
    result = exporter(store).export(member_id, out, actor="e1", format=fmt)
    assert isinstance(result, Exported)
    return out.getvalue()


def zip_contents(data: bytes) -> dict[str, bytes]:
    """Every entry of an archive, decompressed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_rows(raw: bytes) -> list[dict[str, str]]:
    """The rows of a CSV file of the archive, as dicts."""
    assert raw.startswith(BOM)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def of_member(data: Dataset, name: str, member_id: str = "m1") -> tuple[Any, ...]:
    """The records of a collection that belong to the member, in export order."""
    records = [r for r in getattr(data, name) if r.member_id == member_id]
    key = (lambda r: r.currency) if name == "wallets" else (lambda r: r.id)
    return tuple(sorted(records, key=key))


def audit_entries(store: Store) -> tuple[Any, ...]:
    """The stored audit entries."""
    return store.snapshot().audit


# --- content -----------------------------------------------------------------------------------


def test_json_holds_every_record_of_the_member_and_nothing_of_another(
    make_store: MakeStore,
) -> None:
    """Each kind holds exactly the member's records; no id or value of m2 appears."""
    data = two_members()
    store = make_store(data)
    raw = export_bytes(store)
    exported = read_export(raw)
    assert exported.member == data.members[0]
    for name in EXPORT_KINDS:
        expected = of_member(data, name)
        assert expected, name
        assert getattr(exported, name) == expected, name
    assert b"-m2" not in raw
    assert b'"m2"' not in raw
    for value in OTHER_VALUES:
        assert value.encode() not in raw
    assert base64.b64encode(b"OTHER-PHOTO") not in raw


def test_json_header_and_record_shapes_are_the_dataset_shapes(make_store: MakeStore) -> None:
    """The header names the format; every record is the converter's dataset shape."""
    data = two_members()
    raw = json.loads(export_bytes(make_store(data)).decode("utf-8"))
    assert list(raw)[:5] == ["format", "exported_at", "member_id", "omitted", "member"]
    assert list(raw)[5:] == list(EXPORT_KINDS)
    assert raw["format"] == EXPORT_FORMAT == "member-anonymization/export@1"
    assert raw["exported_at"] == "2026-11-27T09:30:00+00:00"
    assert raw["member_id"] == "m1"
    assert raw["omitted"] == []
    assert raw["member"] == converter.unstructure(data.members[0])
    assert raw["member"]["photo"]["data_base64"] == base64.b64encode(b.PHOTO_BYTES).decode()
    for name in EXPORT_KINDS:
        assert raw[name] == [converter.unstructure(r) for r in of_member(data, name)], name
    assert raw["documents"][0]["data_base64"] == base64.b64encode(b.DOCUMENT_BYTES).decode()


def test_json_is_utf8_with_one_record_per_line(make_store: MakeStore) -> None:
    """Non-ASCII text is written as UTF-8, not escaped, and each record sits on its own line."""
    raw = export_bytes(make_store(two_members()))
    text = raw.decode("utf-8")
    assert b.LAST_NAME in text
    visit_lines = [line for line in text.splitlines() if '"entered_at"' in line]
    assert len(visit_lines) == 1
    assert visit_lines[0].strip().startswith('{"id": "v-m1"')


def test_result_reports_counts_and_audit_entry(make_store: MakeStore) -> None:
    """The result counts every kind and names the committed audit entry."""
    store = make_store(two_members())
    ids = iter(["audit-1"])
    result = exporter(store, options=ExportOptions(id_factory=lambda: next(ids))).export(
        "m1", io.BytesIO(), actor="e1"
    )
    match result:
        case Exported(counts=counts, audit_entry_id=audit_id, at=at, omitted=omitted):
            assert counts == ExportCounts(
                photo=1, **{name: 2 if name == "notes" else 1 for name in EXPORT_KINDS}
            )
            assert counts.total == 16
            assert audit_id == "audit-1"
            assert at == NOW
            assert omitted == ()
        case ExportNotPermitted():
            pytest.fail("the actor holds the permission")


def test_export_is_audited_without_personal_data(make_store: MakeStore) -> None:
    """One audit entry: export, actor, member, time; no anonymization mode, no counts."""
    store = make_store(two_members())
    before = audit_entries(store)
    result = exporter(store).export("m1", io.BytesIO(), actor="e1")
    assert isinstance(result, Exported)
    (entry,) = [e for e in audit_entries(store) if e not in before]
    assert entry.id == result.audit_entry_id
    assert entry.action is AuditAction.EXPORT
    assert entry.mode is None  # an export is not an anonymization: no mode
    assert entry.actor_id == "e1"
    assert entry.member_id == "m1"
    assert entry.at == NOW
    assert entry.removed is None  # and nothing removed
    assert store.snapshot().members == two_members().sorted().members


def test_export_changes_nothing_but_the_audit(make_store: MakeStore) -> None:
    """Apart from the audit entry the store is exactly as before."""
    store = make_store(two_members())
    before = store.snapshot()
    exporter(store).export("m1", io.BytesIO(), actor="e1", format=ExportFormat.ZIP)
    after = store.snapshot()
    assert attrs.evolve(after, audit=before.audit) == before
    assert len(after.audit) == len(before.audit) + 1


def test_member_without_records_exports_empty_lists(make_store: MakeStore) -> None:
    """A member with nothing on the profile gets every list, empty, and header-only CSVs."""
    store = make_store(b.dataset(b.member(with_photo=False)))
    exported = read_export(export_bytes(store))
    assert all(getattr(exported, name) == () for name in EXPORT_KINDS)
    files = zip_contents(export_bytes(store, fmt=ExportFormat.ZIP))
    assert not any(name.startswith(("photo", "documents/")) for name in files)
    for name in EXPORT_KINDS:
        assert csv_rows(files[f"{name}.csv"]) == [], name
    (row,) = csv_rows(files["member.csv"])
    assert row["photo.content_type"] == row["photo.file"] == ""


# --- round trip --------------------------------------------------------------------------------


def test_json_and_zip_read_back_into_the_same_domain_objects(
    make_store: MakeStore, tmp_path: Path
) -> None:
    """read_export gives back the stored objects, from bytes, a path or a ZIP."""
    data = two_members()
    store = make_store(data)
    expected = MemberExport(
        member_id="m1",
        exported_at=NOW,
        member=data.members[0],
        **{name: of_member(data, name) for name in EXPORT_KINDS},
    )
    json_bytes = export_bytes(store)
    assert read_export(json_bytes) == expected
    assert read_export(io.BytesIO(json_bytes)) == expected
    path = tmp_path / "m1.zip"
    exporter(store).export("m1", path, actor="e1")
    assert read_export(path) == expected
    assert read_export(str(path)) == expected


def test_structure_export_rejects_a_wrong_format_and_unknown_keys() -> None:
    """Reading is strict: wrong format and unknown keys are reported together."""
    raw = {
        "format": "member-anonymization/dataset@1",
        "exported_at": NOW.isoformat(),
        "member_id": "m1",
        "member": converter.unstructure(b.member()),
        "surprise": [],
    }
    with pytest.raises(DatasetError) as caught:
        structure_export(raw)
    collections = {p.collection for p in caught.value.problems}
    assert collections == {"", "format"}


def test_structure_export_rejects_records_of_another_member() -> None:
    """A record whose member_id is not the export's member is an error."""
    raw = {
        "format": EXPORT_FORMAT,
        "exported_at": NOW.isoformat(),
        "member_id": "m1",
        "member": converter.unstructure(b.member()),
        "visits": [converter.unstructure(b.visit("v9", member_id="m2"))],
    }
    with pytest.raises(DatasetError) as caught:
        structure_export(raw)
    (problem,) = caught.value.problems
    assert (problem.collection, problem.index, problem.record_id) == ("visits", 0, "v9")
    assert problem.field == "member_id"


def test_structure_export_rejects_a_naive_timestamp_and_names_the_field() -> None:
    """An invalid value is reported with its place, never its content."""
    raw = {
        "format": EXPORT_FORMAT,
        "exported_at": "2026-11-27T09:30:00",
        "member_id": "m1",
        "member": {**converter.unstructure(b.member()), "birth_date": "12.04.1990"},
    }
    with pytest.raises(DatasetError) as caught:
        structure_export(raw)
    places = {(p.collection, p.field) for p in caught.value.problems}
    assert places == {("exported_at", None), ("member", "birth_date")}
    assert "12.04.1990" not in str(caught.value) + caught.value.describe()


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"\xff\xfe", b"PK\x03\x04 broken archive", b"[]"],
    ids=["text", "not-utf8", "bad-zip", "array"],
)
def test_read_export_rejects_what_is_not_an_export(raw: bytes) -> None:
    """Garbage is a DatasetError, not a crash."""
    with pytest.raises(DatasetError):
        read_export(raw)


# --- the ZIP -----------------------------------------------------------------------------------


def test_zip_layout_csvs_photo_and_documents(make_store: MakeStore) -> None:
    """The archive holds the JSON, one CSV per kind, the photo and the documents."""
    data = two_members()
    store = make_store(data)
    files = zip_contents(export_bytes(store, fmt=ExportFormat.ZIP))
    document_file = "documents/d-m1-identity-card-scan-zb.pdf"
    assert list(files) == [
        "export.json",
        "member.csv",
        "contracts.csv",
        "wallets.csv",
        "collection_cases.csv",
        "installments.csv",
        "purchases.csv",
        "invoices.csv",
        "invoice_lines.csv",
        "receipts.csv",
        "visits.csv",
        "class_bookings.csv",
        "measurements.csv",
        "exercises.csv",
        "notes.csv",
        "log_entries.csv",
        "photo.jpg",
        document_file,
        "documents.csv",
    ]
    assert files["export.json"] == export_bytes(store)
    assert files["photo.jpg"] == b.PHOTO_BYTES
    assert files[document_file] == b.DOCUMENT_BYTES

    (member_row,) = csv_rows(files["member.csv"])
    assert member_row["first_name"] == b.FIRST_NAME
    assert member_row["address.city"] == b.CITY
    assert member_row["photo.file"] == "photo.jpg"
    assert member_row["restrict_processing"] == "false"
    assert not any("base64" in column for column in member_row)
    for name in EXPORT_KINDS:
        rows = csv_rows(files[f"{name}.csv"])
        assert [r.get("id", r["member_id"]) for r in rows] == [
            getattr(r, "id", r.member_id) for r in of_member(data, name)
        ], name
        assert {r["member_id"] for r in rows} == {"m1"}, name
    (document_row,) = csv_rows(files["documents.csv"])
    assert document_row["file"] == document_file
    assert document_row["name"] == b.DOCUMENT_NAME
    assert "data_base64" not in document_row
    (invoice_row,) = csv_rows(files["invoices.csv"])
    assert invoice_row["buyer.name"] == b.FULL_NAME
    assert "lines" not in invoice_row
    (line_row,) = csv_rows(files["invoice_lines.csv"])
    assert line_row == {
        "invoice_id": "f-m1",
        "line": "1",
        "description": "Open 12M - January",
        "quantity": "1",
        "unit_price": "129.00",
        "vat_rate": "23",
    }


def test_zip_entries_have_fixed_metadata(make_store: MakeStore) -> None:
    """Every entry is deflated, owner-only and dated by the export time."""
    raw = export_bytes(make_store(two_members()), fmt=ExportFormat.ZIP)
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert archive.testzip() is None
        for info in archive.infolist():
            assert info.date_time == (2026, 11, 27, 9, 30, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert (info.external_attr >> 16) & 0o777 == 0o600


def test_csv_rows_are_one_per_record_with_many_lines_and_quotes(make_store: MakeStore) -> None:
    """Multi-line and quoted text stays one row; several invoice lines get one row each."""
    text = 'Line one,\n"quoted" line two'
    two_lines = attrs.evolve(
        b.invoice("f2"), lines=b.invoice("f2").lines * 2, total=Decimal("258.00")
    )
    store = make_store(b.dataset(b.member(), b.note("n1", text=text), two_lines))
    files = zip_contents(export_bytes(store, fmt=ExportFormat.ZIP))
    (row,) = csv_rows(files["notes.csv"])
    assert row["text"] == text
    assert row["type"] == "training_and_health"
    assert [r["line"] for r in csv_rows(files["invoice_lines.csv"])] == ["1", "2"]


def test_csv_neutralizes_formulas_but_keeps_numbers(make_store: MakeStore) -> None:
    """Text a spreadsheet would run gets an apostrophe; the JSON keeps it exactly."""
    personal = b.personal(first_name="=HYPERLINK(1)", phone="+48600100200")
    store = make_store(
        b.dataset(
            b.member(personal_data=personal),
            b.note("n1", text="@SUM(A1)"),
            b.wallet("-12.50"),
        )
    )
    files = zip_contents(export_bytes(store, fmt=ExportFormat.ZIP))
    (member_row,) = csv_rows(files["member.csv"])
    assert member_row["first_name"] == "'=HYPERLINK(1)"
    assert member_row["phone"] == "+48600100200"
    assert csv_rows(files["notes.csv"])[0]["text"] == "'@SUM(A1)"
    assert csv_rows(files["wallets.csv"])[0]["balance"] == "-12.50"
    assert read_export(files["export.json"]).member.personal.first_name == "=HYPERLINK(1)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (5, "5"),
        ("-3.5", "-3.5"),
        ("-x", "'-x"),
        ("\tTab", "'\tTab"),
        ("plain", "plain"),
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    """Cells: empty for null, true/false, numbers as they are, formulas neutralized."""
    assert cell(value) == text


def test_csv_columns_cover_every_field_of_every_kind() -> None:
    """A fully filled record of each kind flattens to exactly its file's columns."""
    data = b.dataset(b.member(), *b.profile_records("m1"))
    full = {name: of_member(data, name)[0] for name in EXPORT_KINDS}
    full["member"] = b.member()
    for name, record in full.items():
        keys = set(flatten(converter.unstructure(record)))
        extra = {"member": {"photo.file"}, "documents": {"file"}}.get(name, set())
        assert keys | extra == set(TABLES[name].columns), name
    line_keys = set(converter.unstructure(b.invoice().lines[0]))
    assert line_keys | {"invoice_id", "line"} == set(TABLES["invoice_lines"].columns)


# --- document and photo names ------------------------------------------------------------------

NASTY_NAMES = (
    "../../etc/passwd",
    "..\\..\\Windows\\boot.ini",
    "/absolute/path.pdf",
    "C:\\Users\\x\\scan.PDF",
    "..",
    "...",
    ".hidden",
    "CON",
    "umowa źródło Łódź.pdf",
    "\N{PILE OF POO}.png",
    "a/../../b.txt",
    "same.pdf",
    "SAME.pdf",
    "x" * 300 + ".pdf",
    "name\x00with-nul.txt",
)
SAFE_ENTRY = re.compile(r"documents/[A-Za-z0-9][A-Za-z0-9._-]*")


def test_document_names_are_safe_unique_and_keep_their_content(
    make_store: MakeStore, tmp_path: Path
) -> None:
    """Hostile names stay inside documents/, unique regardless of case, and extract safely."""
    documents = [
        attrs.evolve(b.document(f"d{i}", name=name), data=f"content {i}".encode())
        for i, name in enumerate(NASTY_NAMES)
    ]
    documents.append(attrs.evolve(b.document("D0", name="../../etc/passwd"), data=b"other"))
    documents.append(attrs.evolve(b.document("../up", name="x.pdf"), data=b"up"))
    store = make_store(b.dataset(b.member(), *documents))
    raw = export_bytes(store, fmt=ExportFormat.ZIP)
    files = zip_contents(raw)
    rows = csv_rows(files["documents.csv"])
    assert len(rows) == len(documents)
    names = [row["file"] for row in rows]
    assert len({n.casefold() for n in names}) == len(names)
    by_id = {d.id: d for d in documents}
    for row in rows:
        name = row["file"]
        assert SAFE_ENTRY.fullmatch(name), name
        assert ".." not in name.split("/")
        assert len(name) <= 110
        assert files[name] == by_id[row["id"]].data
    file_of = {row["id"]: row["file"] for row in rows}
    assert file_of["D0"] == "documents/D0-passwd.pdf"
    assert file_of["d0"] == "documents/d0-passwd-2.pdf"
    assert file_of["../up"] == "documents/up-x.pdf"
    assert file_of["d8"] == "documents/d8-umowa_zrodlo_Lodz.pdf"
    assert file_of["d11"] == "documents/d11-same.pdf"
    assert file_of["d12"] == "documents/d12-SAME.pdf"
    assert file_of["d7"] == "documents/d7-CON.pdf"
    target = tmp_path / "extracted"
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        archive.extractall(target)
    extracted = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert extracted == set(files)


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("umowa źródło.pdf", "umowa_zrodlo.pdf"),
        ("Łódź", "Lodz"),
        ("a..b", "a.b"),
        (".bashrc", "bashrc"),
        ("...", "fallback"),
        ("", "fallback"),
        ("-rf", "rf"),
        ("scan 2019 (1).pdf", "scan_2019_1_.pdf"),
    ],
)
def test_safe_component(text: str, safe: str) -> None:
    """One path component, ASCII only, no traversal, no hidden file."""
    assert safe_component(text, fallback="fallback") == safe


def test_archive_names_number_duplicates_before_the_extension() -> None:
    """A taken name gets -2, -3 before its extension; case does not matter."""
    names = ArchiveNames()
    assert names.document("d1", "a.pdf", "application/pdf") == "documents/d1-a.pdf"
    assert names.document("d1", "A.PDF", "application/pdf") == "documents/d1-A-2.pdf"
    assert names.document("d1", "a.pdf", "application/pdf") == "documents/d1-a-3.pdf"
    assert names.document("d2", "scan", "image/png") == "documents/d2-scan.png"
    assert names.photo("image/png; q=1") == "photo.png"
    assert names.photo("application/x-unknown") == "photo.bin"


def test_entry_dates_are_clamped_to_what_zip_can_hold() -> None:
    """Times before 1980 or after 2107 do not break the archive."""
    early = entry_info("a", dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    late = entry_info("a", dt.datetime(2200, 1, 1, tzinfo=dt.UTC))
    assert early.date_time == (1980, 1, 1, 0, 0, 0)
    assert late.date_time == (2107, 12, 31, 23, 59, 58)


def test_photo_file_is_named_by_its_content_type(make_store: MakeStore) -> None:
    """A PNG photo is photo.png, and the member row points at it."""
    store = make_store(b.dataset(b.member(photo_content=b.photo(b"PNG", content_type="image/png"))))
    files = zip_contents(export_bytes(store, fmt=ExportFormat.ZIP))
    assert files["photo.png"] == b"PNG"
    assert csv_rows(files["member.csv"])[0]["photo.file"] == "photo.png"


# --- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_exports_are_byte_identical(
    make_store: MakeStore, tmp_path: Path, fmt: ExportFormat
) -> None:
    """Same data, same bytes: twice, to a file or a stream, whatever the stored order."""
    data = two_members(b.visit("v-a"), b.visit("v-c"), b.visit("v-b"), b.note("n0"))
    store = make_store(data)
    first = export_bytes(store, fmt=fmt)
    assert export_bytes(store, fmt=fmt) == first
    path = tmp_path / f"export.{fmt.value}"
    exporter(store).export("m1", path, actor="e1", format=fmt)
    assert path.read_bytes() == first
    reordered = attrs.evolve(
        data,
        visits=data.visits[::-1],
        notes=data.notes[::-1],
        documents=data.documents[::-1],
    )
    assert export_bytes(make_store(reordered), fmt=fmt) == first


def test_exported_at_comes_from_the_clock(make_store: MakeStore) -> None:
    """Another clock gives another exported_at and otherwise the same document."""
    store = make_store(two_members())
    later = dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    out = io.BytesIO()
    Exporter(store.unit_of_work, clock=FixedClock(later)).export("m1", out, actor="e1")
    first = json.loads(export_bytes(store))
    second = json.loads(out.getvalue())
    assert second["exported_at"] == "2027-01-02T03:04:05+01:00"
    assert {**second, "exported_at": None} == {**first, "exported_at": None}


# --- files and streams -------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("suffix", [".json", ".zip"])
def test_file_is_created_readable_by_its_owner_only(
    make_store: MakeStore, tmp_path: Path, suffix: str
) -> None:
    """The file has mode 0o600 even under a permissive umask."""
    path = tmp_path / f"export{suffix}"
    old = os.umask(0)
    try:
        result = exporter(make_store(two_members())).export("m1", path, actor="e1")
    finally:
        os.umask(old)
    assert isinstance(result, Exported)
    assert result.path == path
    assert result.format is (ExportFormat.ZIP if suffix == ".zip" else ExportFormat.JSON)
    assert path.stat().st_mode & 0o777 == 0o600
    assert zipfile.is_zipfile(path) is (suffix == ".zip")


def test_format_follows_the_suffix_unless_given(make_store: MakeStore, tmp_path: Path) -> None:
    """.ZIP in any case means ZIP; an explicit format wins over the suffix."""
    store = make_store(two_members())
    upper = tmp_path / "A.ZIP"
    exporter(store).export("m1", upper, actor="e1")
    assert zipfile.is_zipfile(upper)
    forced = tmp_path / "b.zip"
    exporter(store).export("m1", forced, actor="e1", format=ExportFormat.JSON)
    assert json.loads(forced.read_bytes())["member_id"] == "m1"


def test_an_existing_file_is_never_overwritten(make_store: MakeStore, tmp_path: Path) -> None:
    """FileExistsError, the file untouched, no audit entry."""
    store = make_store(two_members())
    path = tmp_path / "export.json"
    path.write_bytes(b"keep me")
    before = audit_entries(store)
    with pytest.raises(FileExistsError):
        exporter(store).export("m1", path, actor="e1")
    assert path.read_bytes() == b"keep me"
    assert audit_entries(store) == before


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_symbolic_link_is_not_followed(make_store: MakeStore, tmp_path: Path) -> None:
    """A link planted at the path is refused; its target stays untouched."""
    store = make_store(two_members())
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    link = tmp_path / "export.json"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        exporter(store).export("m1", link, actor="e1")
    assert victim.read_bytes() == b"victim"


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_a_failed_export_leaves_no_file_and_no_audit_entry(
    make_store: MakeStore, tmp_path: Path, fmt: ExportFormat
) -> None:
    """Whichever repository call or the commit fails, no file and no audit entry remain."""
    data = two_members()
    probe = make_store(data)
    start = len(probe.calls)
    exporter(probe).export("m1", io.BytesIO(), actor="e1", format=fmt)
    calls = len(probe.calls) - start
    assert calls >= 5
    folder = tmp_path / "exports"
    folder.mkdir()
    for n in range(1, calls + 1):
        store = make_store(data)
        before = store.snapshot()
        path = folder / f"failed-{n}.{fmt.value}"
        store.fail_on_call(n)
        with pytest.raises(InjectedFailure):
            exporter(store).export("m1", path, actor="e1", format=fmt)
        store.heal()
        assert not path.exists(), n
        assert store.snapshot() == before, n
    assert list(folder.iterdir()) == []


class _Unseekable(io.RawIOBase):
    """A write-only stream that cannot seek, like a pipe or a socket."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += bytes(chunk)
        return len(chunk)


def test_zip_to_a_stream_that_cannot_seek(make_store: MakeStore) -> None:
    """A ZIP written to an unseekable stream opens and reads back."""
    store = make_store(two_members())
    out = _Unseekable()
    result = exporter(store).export("m1", out, actor="e1", format=ExportFormat.ZIP)  # type: ignore[arg-type]
    assert isinstance(result, Exported)
    assert result.path is None
    assert not out.closed
    assert read_export(bytes(out.data)) == read_export(export_bytes(store))


# --- permission and unknown ids ----------------------------------------------------------------


def clerk() -> Any:
    """An employee who may anonymize but not export."""
    return b.employee("e2", permissions=[Permission.ANONYMIZE_MEMBER])


@pytest.mark.parametrize("member_id", ["m1", "nobody"])
def test_not_permitted_produces_nothing(
    make_store: MakeStore, tmp_path: Path, member_id: str
) -> None:
    """Without the permission: a typed refusal, no file, stream untouched, no audit entry."""
    store = make_store(two_members(b.employee(), clerk()))
    before = store.snapshot()
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "export.zip"
    stream = io.BytesIO(b"already here")
    stream.seek(0, io.SEEK_END)
    for out in (path, stream):
        result = exporter(store).export(member_id, out, actor="e2")
        assert result == ExportNotPermitted(member_id=member_id, actor_id="e2")
        assert result.status == "not_permitted"
        assert result.permission is Permission.EXPORT_MEMBER_DATA
    assert list(folder.iterdir()) == []
    assert stream.getvalue() == b"already here"
    assert store.snapshot() == before


def test_unknown_employee_raises_and_creates_nothing(make_store: MakeStore, tmp_path: Path) -> None:
    """An unknown actor is an error naming the id; no file appears."""
    store = make_store(two_members())
    path = tmp_path / "export.json"
    with pytest.raises(UnknownEmployeeError) as caught:
        exporter(store).export("m1", path, actor="ghost")
    assert caught.value.employee_id == "ghost"
    assert not path.exists()


def test_unknown_member_raises_and_creates_nothing(make_store: MakeStore, tmp_path: Path) -> None:
    """An unknown member is an error naming the id; no file, no audit entry."""
    store = make_store(two_members())
    before = store.snapshot()
    path = tmp_path / "export.json"
    with pytest.raises(UnknownMemberError) as caught:
        exporter(store).export("m404", path, actor="e1")
    assert caught.value.member_id == "m404"
    assert not path.exists()
    assert store.snapshot() == before


# --- after anonymization -----------------------------------------------------------------------


def _everything(raw: bytes, fmt: ExportFormat) -> bytes:
    if fmt is ExportFormat.JSON:
        return raw
    return b"\n".join(zip_contents(raw).values())


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_after_anonymization_holds_no_original_personal_value(
    make_store: MakeStore, fmt: ExportFormat
) -> None:
    """Only what anonymization left: placeholders, no photo, no deleted record, no finances."""
    store = make_store(two_members())
    before = _everything(export_bytes(store, fmt=fmt), fmt)
    secrets = [v.encode() for v in b.PERSONAL_VALUES]
    secrets += [base64.b64encode(b.PHOTO_BYTES), base64.b64encode(b.DOCUMENT_BYTES)]
    if fmt is ExportFormat.ZIP:
        secrets += [b.PHOTO_BYTES, b.DOCUMENT_BYTES]
    assert all(secret in before for secret in secrets)

    result = Anonymizer(store.unit_of_work, clock=FixedClock(NOW)).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    after = _everything(export_bytes(store, fmt=fmt), fmt)
    for secret in secrets:
        assert secret not in after, secret

    exported = read_export(export_bytes(store))
    assert exported.omitted == FINANCES_LOG_DOCUMENTS
    assert exported.member.photo is None
    assert exported.member.anonymized_at == NOW
    assert exported.measurements == ()
    assert exported.exercises == ()
    assert [n.note_type for n in exported.notes] == [NoteType.GENERAL]
    assert [v.id for v in exported.visits] == ["v-m1"]
    assert [c.id for c in exported.contracts] == ["k-m1"]
    assert all(getattr(exported, name) == () for name in FINANCES_LOG_DOCUMENTS)


# --- streaming ---------------------------------------------------------------------------------


class _LazyProfile:
    """A real profile reader whose visits come one at a time, as fresh objects.

    It remembers how many of the visits it handed out were still alive at once.
    """

    def __init__(self, inner: Any, foreign: Visit | None = None) -> None:
        self._inner = inner
        self._foreign = foreign
        self._alive: weakref.WeakSet[Visit] = weakref.WeakSet()
        self.handed_out = 0
        self.peak = 0

    def visits_of(self, member_id: str) -> Iterator[Visit]:
        for stored in self._inner.visits_of(member_id):
            fresh = attrs.evolve(stored)
            self._alive.add(fresh)
            self.handed_out += 1
            self.peak = max(self.peak, len(self._alive))
            yield fresh
            del fresh
        if self._foreign is not None:
            yield self._foreign

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _LazyUnitOfWork:
    """A store's unit of work whose profile reader is a :class:`_LazyProfile`."""

    def __init__(self, inner: Any, readers: list[_LazyProfile], foreign: Visit | None) -> None:
        self._inner = inner
        self._readers = readers
        self._foreign = foreign

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _LazyUnitOfWork:
        self._inner.__enter__()
        self.profile = _LazyProfile(self._inner.profile, self._foreign)
        self._readers.append(self.profile)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)


def lazy_factory(
    store: Store, foreign: Visit | None = None
) -> tuple[Callable[[], Any], list[_LazyProfile]]:
    """A unit-of-work factory over the store whose visits stream; and its readers."""
    readers: list[_LazyProfile] = []
    return lambda: _LazyUnitOfWork(store.unit_of_work(), readers, foreign), readers


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_records_are_written_as_they_come(make_store: MakeStore, fmt: ExportFormat) -> None:
    """Of 300 streamed visits, never more than a few are held at once."""
    visits = [b.visit(f"v{i:04d}") for i in range(300)]
    store = make_store(b.dataset(b.member(), *visits))
    factory, readers = lazy_factory(store)
    out = io.BytesIO()
    result = Exporter(factory, clock=FixedClock(NOW)).export("m1", out, actor="e1", format=fmt)
    assert isinstance(result, Exported)
    assert result.counts.visits == 300
    assert sum(reader.handed_out for reader in readers) == 300  # read once, also for a ZIP
    assert max(reader.peak for reader in readers) <= 3
    assert [v.id for v in read_export(out.getvalue()).visits] == [v.id for v in visits]


def test_a_record_of_another_member_stops_the_export(make_store: MakeStore, tmp_path: Path) -> None:
    """A store that hands over another member's visit gets an error, not a leaky file."""
    store = make_store(two_members())
    before = store.snapshot()
    foreign = next(v for v in before.visits if v.member_id == "m2")
    factory, _ = lazy_factory(store, foreign=foreign)
    path = tmp_path / "export.json"
    with pytest.raises(ForeignRecordError) as caught:
        Exporter(factory, clock=FixedClock(NOW)).export("m1", path, actor="e1")
    assert caught.value.kind == "visits"
    assert caught.value.record_id == "v-m2"
    assert not path.exists()
    assert store.snapshot() == before


def test_documents_keep_their_bytes_exactly(make_store: MakeStore) -> None:
    """Binary content of every byte value survives JSON and ZIP."""
    blob = bytes(range(256)) * 3
    doc = Document(
        id="d1",
        member_id="m1",
        name="blob.bin",
        uploaded_at=NOW,
        content_type="application/octet-stream",
        data=blob,
    )
    store = make_store(b.dataset(b.member(), doc))
    assert read_export(export_bytes(store)).documents == (doc,)
    files = zip_contents(export_bytes(store, fmt=ExportFormat.ZIP))
    assert files["documents/d1-blob.bin"] == blob

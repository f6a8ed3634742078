"""Properties of the export over random small networks of clubs and members."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from member_anonymization.domain import Employee, Permission
from member_anonymization.export import EXPORT_KINDS, Exported, Exporter, ExportFormat, read_export
from member_anonymization.profile import visible_tabs
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock
from tests.backends import MakeStore
from tests.strategies import datasets

NOW = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
ACTOR = Employee(id="x-exporter", name="Export Desk", permissions=frozenset(Permission))
MARKER = re.compile(rb"PD-[A-Z]+-(m\d+)-")
"""A personal value of the generated data, and whose it is."""

FINANCES_LOG_DOCUMENTS = frozenset(
    {
        "wallets",
        "collection_cases",
        "installments",
        "purchases",
        "invoices",
        "receipts",
        "log_entries",
        "documents",
    }
)


@st.composite
def networks_and_member(draw: st.DrawFn) -> tuple[Dataset, str]:
    """A random network of two to four members, with an exporting employee, and one member."""
    data = draw(datasets(min_members=2, max_members=4, personal_data_in_texts=True))
    data = attrs.evolve(data, employees=(*data.employees, ACTOR))
    member_id = draw(st.sampled_from([m.id for m in data.members]))
    return data, member_id


def expected_records(data: Dataset, member_id: str) -> dict[str, tuple[Any, ...]]:
    """What the member's export must hold: their records of every tab still shown."""
    (member,) = [m for m in data.members if m.id == member_id]
    hidden = set() if not member.is_anonymized else FINANCES_LOG_DOCUMENTS
    assert visible_tabs(member)
    out: dict[str, tuple[Any, ...]] = {}
    for name in EXPORT_KINDS:
        records = [r for r in getattr(data, name) if r.member_id == member_id]
        key = (lambda r: r.currency) if name == "wallets" else (lambda r: r.id)
        out[name] = () if name in hidden else tuple(sorted(records, key=key))
    return out


def export(store: Any, member_id: str, fmt: ExportFormat) -> bytes:
    """The member's export as bytes."""
    out = io.BytesIO()
    result = Exporter(store.unit_of_work, clock=FixedClock(NOW)).export(
        member_id, out, actor=ACTOR.id, format=fmt
    )
    assert isinstance(result, Exported)
    return out.getvalue()


def markers(blob: bytes) -> set[bytes]:
    """The members whose personal values appear in ``blob``."""
    return set(MARKER.findall(blob))


def allowed_markers(data: Dataset, member_id: str) -> set[bytes]:
    """Whose personal values the export may show: the member's, unless anonymized."""
    (member,) = [m for m in data.members if m.id == member_id]
    return set() if member.is_anonymized else {member_id.encode()}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=networks_and_member())
def test_json_export_holds_every_record_of_the_member_and_nothing_else(
    make_store: MakeStore, case: tuple[Dataset, str]
) -> None:
    """Read back, the JSON is exactly the member and their records; no one else's value shows."""
    data, member_id = case
    store = make_store(data)
    raw = export(store, member_id, ExportFormat.JSON)
    exported = read_export(raw)
    (member,) = [m for m in data.members if m.id == member_id]
    assert exported.member == member
    assert exported.exported_at == NOW
    for name, records in expected_records(data, member_id).items():
        assert getattr(exported, name) == records, name
    assert markers(raw) <= allowed_markers(data, member_id)
    assert export(store, member_id, ExportFormat.JSON) == raw


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=networks_and_member())
def test_zip_export_has_one_csv_row_per_record_and_the_files(
    make_store: MakeStore, case: tuple[Dataset, str]
) -> None:
    """Every CSV parses, row for row the member's records; the JSON, photo and documents match."""
    data, member_id = case
    store = make_store(data)
    raw = export(store, member_id, ExportFormat.ZIP)
    assert export(store, member_id, ExportFormat.ZIP) == raw
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert archive.testzip() is None
        files = {name: archive.read(name) for name in archive.namelist()}
    assert files["export.json"] == export(store, member_id, ExportFormat.JSON)
    everything = b"\n".join(files.values())
    assert markers(everything) <= allowed_markers(data, member_id)

    def rows(name: str) -> list[dict[str, str]]:
        text = files[name].decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text, newline="")))

    expected = expected_records(data, member_id)
    for name, records in expected.items():
        found = rows(f"{name}.csv")
        assert [r.get("id", r["member_id"]) for r in found] == [
            getattr(r, "id", r.member_id) for r in records
        ], name
        assert all(r["member_id"] == member_id for r in found), name
    assert len(rows("invoice_lines.csv")) == sum(len(i.lines) for i in expected["invoices"])
    (member_row,) = rows("member.csv")
    (member,) = [m for m in data.members if m.id == member_id]
    if member.photo is None:
        assert member_row["photo.file"] == ""
    else:
        assert files[member_row["photo.file"]] == member.photo.data
    documents = {d.id: d for d in expected["documents"]}
    for row in rows("documents.csv"):
        assert row["file"].startswith("documents/")
        assert files[row["file"]] == documents[row["id"]].data
    extra = {n for n in files if n.startswith(("documents/", "photo."))}
    assert len(extra) == len(documents) + (member.photo is not None)

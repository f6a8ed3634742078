"""A host's real data is dirty: blank display text, clubs the network does not know.

Only what the rules need is required (ids, dates, instants, amounts, currencies,
time zones, booleans, enums). A blank name, kind, description or content type
must not stop ``check``, ``anonymize`` or ``export`` for the member, on any
backend, in the dataset format, in the export (JSON and CSV) or on the command
line. A record pointing at a club the network does not know is reported with
the library's typed error, never a bare ``KeyError``; and every exception
class of the library derives from ``MemberAnonymizationError``.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import json
import pkgutil
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs
import pytest

import member_anonymization
from member_anonymization import (
    Anonymized,
    Anonymizer,
    RequestDesk,
    RequestProcessor,
    RetentionSweep,
)
from member_anonymization.domain import (
    BinaryContent,
    ErasureRequest,
    Invoice,
    InvoiceLine,
    Network,
    Permission,
    RequestChannel,
    RequestStatus,
)
from member_anonymization.errors import MemberAnonymizationError, UnknownClubError
from member_anonymization.export import Exported, Exporter, ExportFormat, read_export
from member_anonymization.serialization import (
    Dataset,
    structure_dataset,
    unstructure_dataset,
)
from member_anonymization.testing import FixedClock, InMemoryStore
from tests import builders as b
from tests.backends import MakeStore

NOW: Final = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
CLOCK: Final = FixedClock(NOW)


def _line(**changes: Any) -> InvoiceLine:
    line = InvoiceLine(
        description="Open 12M - January",
        quantity=Decimal("1"),
        unit_price=Decimal("129.00"),
        vat_rate="23",
    )
    return attrs.evolve(line, **changes)


SAMPLES: Final[dict[str, Any]] = {
    "Network": b.network(),
    "Club": b.club(),
    "Employee": b.employee(),
    "Contract": b.contract(),
    "ClassBooking": b.class_booking(),
    "Measurement": b.measurement(),
    "Exercise": b.exercise(),
    "Document": b.document(),
    "BinaryContent": b.photo(),
    "Invoice": b.invoice(),
    "InvoiceLine": _line(),
    "Purchase": b.purchase(),
    "Receipt": b.receipt(),
}

DISPLAY_FIELDS: Final = [
    ("Network", "name"),
    ("Club", "name"),
    ("Employee", "name"),
    ("Contract", "name"),
    ("ClassBooking", "class_name"),
    ("Measurement", "kind"),
    ("Exercise", "name"),
    ("Document", "name"),
    ("Document", "content_type"),
    ("BinaryContent", "content_type"),
    ("Invoice", "number"),
    ("InvoiceLine", "description"),
    ("InvoiceLine", "vat_rate"),
    ("Purchase", "description"),
    ("Receipt", "number"),
]
"""Text that is only shown: the rules never read it."""


@pytest.mark.parametrize("blank", ["", "   "])
@pytest.mark.parametrize(("name", "field"), DISPLAY_FIELDS)
def test_a_blank_display_field_is_accepted(name: str, field: str, blank: str) -> None:
    """A record whose display-only text is empty or blank is built as it is."""
    record = attrs.evolve(SAMPLES[name], **{field: blank})
    assert getattr(record, field) == blank


@pytest.mark.parametrize(("name", "field"), DISPLAY_FIELDS)
def test_a_display_field_must_still_be_text(name: str, field: str) -> None:
    """Blank text is fine; something that is not text at all is not."""
    with pytest.raises(MemberAnonymizationError, match=field):
        attrs.evolve(SAMPLES[name], **{field: None})


# --------------------------------------------------------------------------- one dirty member


def _blanked(record: Any) -> Any:
    """The record with every display-only text blank (records without any unchanged)."""
    fields = {f for n, f in DISPLAY_FIELDS if n == type(record).__name__}
    if isinstance(record, Invoice):
        return attrs.evolve(
            record,
            number="",
            lines=tuple(attrs.evolve(line, description="", vat_rate="") for line in record.lines),
        )
    return attrs.evolve(record, **dict.fromkeys(fields, "")) if fields else record


def dirty_dataset() -> Dataset:
    """Member m1 whose every display-only text is empty, in a club and network without a name.

    An unpaid purchase without a description makes a warning (and a reminder).
    """
    unpaid = attrs.evolve(b.purchase("p-unpaid", paid=False), description="")
    records = [_blanked(r) for r in (*b.profile_records("m1"), unpaid)]
    return b.dataset(
        attrs.evolve(b.club(), name=""),
        attrs.evolve(b.employee(), name=""),
        b.member(photo_content=BinaryContent(content_type="", data=b.PHOTO_BYTES)),
        *records,
        net=Network(id="net-1", name=""),
    )


def test_the_dirty_dataset_really_is_blank() -> None:
    """The fixture blanks every display field it holds a record of."""
    data = dirty_dataset()
    assert data.network.name == ""
    assert [c.name for c in data.clubs] == [""]
    assert [e.name for e in data.employees] == [""]
    assert {c.name for c in data.contracts} == {""}
    assert {x.class_name for x in data.class_bookings} == {""}
    assert {m.kind for m in data.measurements} == {""}
    assert {x.name for x in data.exercises} == {""}
    assert {(d.name, d.content_type) for d in data.documents} == {("", "")}
    assert {(i.number, i.lines[0].description, i.lines[0].vat_rate) for i in data.invoices} == {
        ("", "", "")
    }
    assert {p.description for p in data.purchases} == {""}
    assert {r.number for r in data.receipts} == {""}
    (member,) = data.members
    assert member.photo is not None
    assert member.photo.content_type == ""


def test_the_dataset_format_keeps_blank_text() -> None:
    """A dataset file with empty names loads, and dumps back to the same JSON."""
    data = dirty_dataset()
    text = json.dumps(unstructure_dataset(data))
    loaded = structure_dataset(json.loads(text))
    assert loaded.sorted() == data.sorted()
    assert json.loads(text)["contracts"][0]["name"] == ""


def test_a_store_keeps_blank_text(make_store: MakeStore) -> None:
    """Every backend stores an empty name as an empty name (SQL: "" in a NOT NULL column)."""
    data = dirty_dataset()
    assert make_store(data).snapshot() == data.sorted()


def test_check_a_member_with_blank_display_text(make_store: MakeStore) -> None:
    """The check works and reports the unpaid purchase, whatever the names."""
    store = make_store(dirty_dataset())
    verdict = Anonymizer(store.unit_of_work, clock=CLOCK).check("m1", as_of=b.TODAY)
    assert verdict.eligible
    assert verdict.warning_codes == ("unpaid_purchases",)
    assert all(w.message() for w in verdict.warnings)


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_a_member_with_blank_display_text(make_store: MakeStore, fmt: ExportFormat) -> None:
    """The export (JSON or ZIP) holds the blank texts as they are and reads back equal."""
    data = dirty_dataset()
    store = make_store(data)
    out = io.BytesIO()
    result = Exporter(store.unit_of_work, clock=CLOCK).export("m1", out, actor="e1", format=fmt)
    assert isinstance(result, Exported)
    exported = read_export(out.getvalue())
    for kind in ("contracts", "class_bookings", "measurements", "exercises", "documents"):
        assert getattr(exported, kind) == getattr(data, kind), kind
    assert exported.invoices == data.invoices
    assert exported.purchases == tuple(sorted(data.purchases, key=lambda p: p.id))
    assert exported.member == data.members[0]
    if fmt is ExportFormat.ZIP:
        with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
            names = archive.namelist()
            assert "photo.bin" in names
            assert "documents/d-m1-document.bin" in names
            rows = _csv_rows(archive, "contracts.csv")
            assert [row["name"] for row in rows] == [""]
            lines = _csv_rows(archive, "invoice_lines.csv")
            assert [(row["description"], row["vat_rate"]) for row in lines] == [("", "")]
            documents = _csv_rows(archive, "documents.csv")
            assert [(d["name"], d["file"]) for d in documents] == [
                ("", "documents/d-m1-document.bin")
            ]


def _csv_rows(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_anonymize_a_member_with_blank_display_text(make_store: MakeStore) -> None:
    """The anonymization goes through; the reminder and the audit entry are written."""
    store = make_store(dirty_dataset())
    result = Anonymizer(store.unit_of_work, clock=CLOCK).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    after = store.snapshot()
    assert [r.kind for r in after.reminders] == ["unpaid_purchases"]
    assert [e.member_id for e in after.audit] == ["m1"]
    assert after.documents == ()


def test_the_command_line_with_blank_display_text(tmp_path: Path) -> None:
    """load, check, export, anonymize and dump all work on a database of dirty data."""
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from member_anonymization.cli import app

    source = tmp_path / "dirty.json"
    source.write_text(json.dumps(unstructure_dataset(dirty_dataset())), encoding="utf-8")
    db = str(tmp_path / "dirty.sqlite")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--db", db, *args])
        assert result.exit_code == 0, (args, result.output)
        return result.output

    run("init")
    run("load", str(source))
    checked = json.loads(run("check", "m1", "--json"))
    assert checked["eligible"] is True
    assert "unpaid_purchases" in run("check", "m1")
    run("export", "m1", "--actor", "e1", "--out", str(tmp_path / "m1.zip"))
    run("export", "m1", "--actor", "e1", "--out", str(tmp_path / "m1.json"))
    assert read_export(tmp_path / "m1.json").contracts[0].name == ""
    done = json.loads(run("anonymize", "m1", "--actor", "e1", "--yes", "--json"))
    assert done["status"] == "anonymized"
    dumped = json.loads(run("dump"))
    assert dumped["network"]["name"] == ""
    assert [c["name"] for c in dumped["clubs"]] == [""]


# --------------------------------------------------------------------------- unknown clubs


def stray_installment_dataset() -> Dataset:
    """An overdue installment of m1 in club c9, which the network does not have.

    Only a store without foreign keys (the in-memory one, or a host's) can hold it.
    """
    stray = b.installment("i-stray", club_id="c9", due_on=b.YESTERDAY)
    return b.dataset(b.club(), b.employee(), b.member(), stray, check=False)


def test_check_and_anonymize_raise_the_typed_error_for_an_unknown_club() -> None:
    """Not a bare KeyError: UnknownClubError, naming the club, and nothing changes."""
    store = InMemoryStore(stray_installment_dataset())
    before = store.snapshot()
    anonymizer = Anonymizer(store.unit_of_work, clock=CLOCK)
    with pytest.raises(UnknownClubError) as checked:
        anonymizer.check("m1", as_of=b.TODAY)
    assert checked.value.club_id == "c9"
    with pytest.raises(UnknownClubError):
        anonymizer.anonymize("m1", actor="e1")
    assert store.snapshot() == before


def test_receiving_a_request_raises_the_typed_error_for_an_unknown_club() -> None:
    """The desk evaluates the blockers at receipt: the same typed error."""
    employee = b.employee(permissions=list(Permission))
    data = attrs.evolve(stray_installment_dataset(), employees=(employee,))
    store = InMemoryStore(data)
    with pytest.raises(UnknownClubError):
        RequestDesk(store.unit_of_work, clock=CLOCK).receive("m1", actor="e1")
    assert store.snapshot().erasure_requests == ()


def test_the_batch_jobs_report_the_typed_error_for_an_unknown_club() -> None:
    """The sweep and the processing run name UnknownClubError for the member they could not do."""
    request = _open_request()
    data = attrs.evolve(
        stray_installment_dataset(),
        clubs=(b.club(retention_months=1),),
        erasure_requests=(request,),
    )
    store = InMemoryStore(data)
    swept = RetentionSweep(store.unit_of_work, clock=CLOCK).run()
    assert [(e.member_id, e.error_type) for e in swept.errors] == [("m1", "UnknownClubError")]
    processed = RequestProcessor(store.unit_of_work, clock=CLOCK).run()
    assert processed.errors == ((request.id, "UnknownClubError"),)


def _open_request() -> ErasureRequest:
    received = NOW - dt.timedelta(days=3)
    request = ErasureRequest.receive(
        id="rq1",
        member_id="m1",
        club_id="c1",
        received_at=received,
        received_on=received.date(),
        channel=RequestChannel.DESK,
        registered_by="e1",
    )
    assert request.status is RequestStatus.OPEN
    return request


# --------------------------------------------------------------------------- exception classes


ALLOWED_FOREIGN: Final = {
    "member_anonymization.testing.InjectedFailure": (
        "the failure the in-memory store and FaultInjector inject: it stands for a "
        "foreign failure (a driver's, a disk's), so it must not look like the library's"
    ),
    "member_anonymization.contract._checks._Boom": (
        "the adapter contract's stand-in for a foreign failure inside a unit of work"
    ),
    "member_anonymization.cli._failures.CliError": (
        "the command line's own control flow: always turned into one sentence on stderr "
        "and an exit code, never raised out of a command"
    ),
    "member_anonymization._json._Refused": (
        "the JSON decoder hooks' internal signal, caught inside its module, which then "
        "locates the problem and raises a JsonProblem"
    ),
    "member_anonymization._json._Found": (
        "the JSON scanner's internal signal, caught inside its module and turned into a "
        "JsonProblem there"
    ),
    "member_anonymization.cli._app._NeverRaised": (
        "a placeholder for click's NoArgsIsHelpError under a click release without it"
    ),
}
"""Exception classes that do not derive from MemberAnonymizationError, and why."""


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(
        member_anonymization.__path__, "member_anonymization.", onerror=lambda name: None
    ):
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:
            # Django's models, migrations and commands need a configured project;
            # the kit's own modules (and their errors) import without one.
            if type(exc).__name__ == "ImproperlyConfigured" and ".contrib.django." in info.name:
                continue
            raise
        for value in vars(module).values():
            if (
                issubclass(type(value), type)  # not isinstance: it would wake lazy objects
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_exception_of_the_library_derives_from_its_base_class() -> None:
    """Hosts catch MemberAnonymizationError for everything the library raises."""
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("typer")
    found = _exception_classes()
    assert "member_anonymization.errors.UnknownClubError" in found
    assert "member_anonymization.adapters.sql._errors.DatabaseBusyError" in found
    foreign = sorted(
        name for name, cls in found.items() if not issubclass(cls, MemberAnonymizationError)
    )
    assert foreign == sorted(ALLOWED_FOREIGN)


def test_the_typed_errors_keep_their_builtin_bases() -> None:
    """Callers may still catch a lookup as LookupError and a bad value as ValueError."""
    found = _exception_classes()
    assert issubclass(found["member_anonymization.errors.UnknownClubError"], LookupError)
    for name in (
        "member_anonymization._converter.BadValue",
        "member_anonymization.domain._checks.InvalidRecordError",
    ):
        assert issubclass(found[name], ValueError), name

"""Domain records: validation at construction, redaction, and the small rules they carry."""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from member_anonymization import domain
from member_anonymization.domain import (
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    Buyer,
    Contract,
    Document,
    Employee,
    ErasureRequest,
    ExtensionReason,
    FieldProblem,
    InvalidRecordError,
    LogEntry,
    Member,
    Money,
    Note,
    NoteType,
    Notice,
    NoticeKind,
    OutboxKind,
    OutboxMessage,
    Permission,
    PersonalData,
    Receipt,
    RemovalCounts,
    RequestChannel,
    RequestExtension,
    RetentionSetting,
)
from tests import builders as b

NAIVE = dt.datetime(2026, 11, 27, 12, 0)
AWARE = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)

SAMPLES: dict[str, Callable[[], Any]] = {
    "Network": b.network,
    "RetentionSetting": lambda: RetentionSetting(months_after_contract_end=24),
    "Club": lambda: b.club(retention_months=24),
    "Employee": b.employee,
    "Address": b.address,
    "PersonalData": b.personal,
    "Member": lambda: b.member(anonymized_at=AWARE),
    "BinaryContent": b.photo,
    "Money": lambda: Money(amount=Decimal("12.50"), currency="PLN"),
    "Contract": lambda: b.contract(terminated_on=dt.date(2019, 6, 30)),
    "Wallet": b.wallet,
    "CollectionCase": b.collection_case,
    "Installment": lambda: b.installment(contract_id="k1", paid_on=dt.date(2019, 2, 9)),
    "Purchase": b.purchase,
    "Buyer": b.buyer,
    "InvoiceLine": lambda: b.invoice().lines[0],
    "Invoice": b.invoice,
    "Receipt": b.receipt,
    "Visit": b.visit,
    "ClassBooking": b.class_booking,
    "Measurement": b.measurement,
    "Exercise": b.exercise,
    "Note": b.note,
    "LogEntry": b.log_entry,
    "Document": b.document,
    "Reminder": b.reminder,
    "RemovalCounts": lambda: RemovalCounts(personal_data=1, photo=1, notes=3),
    "AuditEntry": b.audit_entry,
    "ErasureRequest": lambda: ErasureRequest.receive(
        id="r1",
        member_id="m1",
        club_id="c1",
        received_at=AWARE,
        received_on=AWARE.date(),
        channel=RequestChannel.EMAIL,
        registered_by="e1",
    ).extended(reason=ExtensionReason.COMPLEXITY, at=AWARE, by="e1", on=AWARE.date()),
    "RequestExtension": lambda: RequestExtension(
        deadline=dt.date(2027, 2, 27), reason=ExtensionReason.NUMBER_OF_REQUESTS, at=AWARE, by="e1"
    ),
    "Notice": lambda: Notice(
        kind=NoticeKind.RECEIVED, language="en", subject="Request r1", body="Received."
    ),
    "OutboxMessage": lambda: OutboxMessage(
        id="o1",
        kind=OutboxKind.MEMBER_ANONYMIZED,
        member_id="m1",
        created_at=AWARE,
        mode=AnonymizationMode.RETENTION,
    ),
}
"""A valid instance of every domain record type, by class name."""


def sample(name: str) -> Any:
    """A valid instance of the named domain class."""
    return SAMPLES[name]()


def kwargs_of(record: Any, **changes: Any) -> dict[str, Any]:
    """The record's constructor arguments, with ``changes`` applied."""
    return {**attrs.asdict(record, recurse=False), **changes}


def rejected(cls: type[Any], kwargs: dict[str, Any]) -> InvalidRecordError:
    """The error building ``cls`` from ``kwargs`` raises (the test fails if none)."""
    with pytest.raises(InvalidRecordError) as info:
        cls(**kwargs)
    return info.value


def fields_typed(cls: type[Any], wanted: type[Any]) -> list[str]:
    """The fields of ``cls`` whose type is ``wanted`` or ``wanted | None``."""
    hints = typing.get_type_hints(cls)
    out = []
    for field in attrs.fields(cls):
        hint = hints[field.name]
        if hint is wanted or wanted in typing.get_args(hint):
            out.append(field.name)
    return out


def typed_cases(wanted: type[Any]) -> list[Any]:
    """``(class name, field)`` params for every domain field of type ``wanted``."""
    return [
        pytest.param(name, field, id=f"{name}.{field}")
        for name in SAMPLES
        for field in fields_typed(type(sample(name)), wanted)
    ]


# -- valid construction --------------------------------------------------------------


def test_every_domain_record_type_has_a_sample() -> None:
    """Every attrs class the domain exports is covered by the tests below."""
    exported = {
        name
        for name in domain.__all__
        if attrs.has(getattr(domain, name)) and name != "FieldProblem"
    }
    assert exported == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_valid_record_builds_and_rebuilds_equal(name: str) -> None:
    """A valid record builds, and building it again from its fields gives an equal one."""
    record = sample(name)
    assert type(record).__name__ == name
    assert type(record)(**kwargs_of(record)) == record


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_records_are_frozen(name: str) -> None:
    """No field of a record can be reassigned after construction."""
    record = sample(name)
    first = attrs.fields(type(record))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(record, first, getattr(record, first))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_options_are_keyword_only(name: str) -> None:
    """Records refuse positional arguments."""
    record = sample(name)
    values = attrs.astuple(record, recurse=False)
    with pytest.raises(TypeError):
        type(record)(*values)


def test_optional_fields_default_to_none() -> None:
    """The optional fields of the main records may be left out."""
    m = Member(
        id="m1",
        home_club_id="c1",
        registered_on=dt.date(2020, 1, 1),
        personal=PersonalData(first_name="A", last_name="B"),
    )
    assert (m.photo, m.anonymized_at, m.restrict_processing) == (None, None, False)
    assert not m.is_anonymized
    k = Contract(id="k1", member_id="m1", club_id="c1", name="Open", start=dt.date(2020, 1, 1))
    assert (k.end, k.terminated_on) == (None, None)
    assert (
        AuditEntry(
            id="a1", member_id="m1", actor_id=None, at=AWARE, mode=AnonymizationMode.RETENTION
        ).removed
        == RemovalCounts()
    )


def test_member_is_anonymized_once_it_has_a_time() -> None:
    """``is_anonymized`` follows ``anonymized_at``."""
    assert b.member(anonymized_at=AWARE).is_anonymized
    assert not b.member().is_anonymized


def test_personal_display_name_joins_the_names() -> None:
    """Lists show the first and last name."""
    assert b.personal().display_name == b.FULL_NAME
    assert PersonalData(first_name="", last_name="Solo").display_name == "Solo"


def test_employee_may_only_what_its_role_permits() -> None:
    """``may`` answers from the permission set."""
    clerk = b.employee(permissions=[Permission.EXPORT_MEMBER_DATA])
    assert clerk.may(Permission.EXPORT_MEMBER_DATA)
    assert not clerk.may(Permission.ANONYMIZE_MEMBER)


def test_club_local_date_uses_its_time_zone() -> None:
    """A club's date at an instant is the date on its wall clock."""
    late = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)
    assert b.club(tz="Europe/Warsaw").local_date(late) == dt.date(2026, 11, 28)
    assert b.club(tz="UTC").local_date(late) == dt.date(2026, 11, 27)
    assert b.club(tz="America/New_York").local_date(late) == dt.date(2026, 11, 27)


def test_removal_counts_total_sums_every_kind() -> None:
    """``total`` adds up every count, personal data included."""
    assert RemovalCounts(personal_data=1, photo=1, log_entries=2, notes=3).total == 7
    assert RemovalCounts().total == 0


def test_wallet_money_and_money_str() -> None:
    """A wallet's balance reads as Money, which prints amount and currency."""
    assert str(b.wallet("12.50").money) == "12.50 PLN"


# -- each kind of wrong value ------------------------------------------------------------


WRONG: list[Any] = [
    pytest.param("Network", "id", "", "non-empty id", id="network-empty-id"),
    pytest.param("Network", "name", None, "string", id="network-name-none"),
    pytest.param("RetentionSetting", "months_after_contract_end", 0, "at least 1", id="ret-0"),
    pytest.param("RetentionSetting", "months_after_contract_end", -3, "negative", id="ret-neg"),
    pytest.param("RetentionSetting", "months_after_contract_end", True, "integer", id="ret-bool"),
    pytest.param("RetentionSetting", "months_after_contract_end", "24", "integer", id="ret-str"),
    pytest.param("Club", "timezone", "Mars/Olympus_Mons", "time zone", id="club-tz"),
    pytest.param("Club", "timezone", "", "time zone", id="club-tz-empty"),
    pytest.param("Club", "uses_debt_collection", 1, "true or false", id="club-int-bool"),
    pytest.param("Club", "retention", 24, "RetentionSetting", id="club-retention"),
    pytest.param("Club", "name", 5, "string", id="club-name-int"),
    pytest.param(
        "Employee",
        "permissions",
        frozenset({"anonymize_member"}),
        "one of",
        id="employee-str-permission",
    ),
    pytest.param(
        "Employee",
        "permissions",
        [Permission.ANONYMIZE_MEMBER],
        "frozenset",
        id="employee-permission-list",
    ),
    pytest.param("Employee", "name", 5, "string", id="employee-name-int"),
    pytest.param("Address", "city", 5, "string", id="address-city-int"),
    pytest.param("PersonalData", "first_name", None, "string", id="personal-name-none"),
    pytest.param("PersonalData", "email", 5, "string", id="personal-email-int"),
    pytest.param("PersonalData", "birth_date", "1990-04-12", "date", id="personal-birth-str"),
    pytest.param("PersonalData", "birth_date", AWARE, "date", id="personal-birth-datetime"),
    pytest.param("PersonalData", "address", {"city": "x"}, "Address", id="personal-address"),
    pytest.param("Member", "home_club_id", "", "non-empty id", id="member-home-club"),
    pytest.param("Member", "registered_on", AWARE, "date", id="member-registered-dt"),
    pytest.param("Member", "personal", {"first_name": "x"}, "PersonalData", id="member-personal"),
    pytest.param("Member", "photo", b"\xff\xd8", "BinaryContent", id="member-photo-bytes"),
    pytest.param("Member", "restrict_processing", "no", "true or false", id="member-restrict"),
    pytest.param("Member", "anonymized_at", dt.date(2026, 1, 1), "datetime", id="member-anon-date"),
    pytest.param("BinaryContent", "data", "text", "bytes", id="binary-str"),
    pytest.param("BinaryContent", "content_type", None, "string", id="binary-type"),
    pytest.param("Money", "amount", 5, "Decimal", id="money-int"),
    pytest.param("Money", "amount", Decimal("NaN"), "finite", id="money-nan"),
    pytest.param("Money", "amount", Decimal("Infinity"), "finite", id="money-inf"),
    pytest.param("Money", "currency", "pln", "ISO 4217", id="money-lower-currency"),
    pytest.param("Money", "currency", "PLNX", "ISO 4217", id="money-long-currency"),
    pytest.param("Contract", "id", "k" * 201, "at most 200", id="contract-long-id"),
    pytest.param("Contract", "member_id", 5, "string id", id="contract-member-int"),
    pytest.param("Contract", "club_id", "c1 ", "white space", id="contract-club-space"),
    pytest.param("Contract", "name", 5, "string", id="contract-name"),
    pytest.param("Contract", "start", "2019-01-01", "date", id="contract-start-str"),
    pytest.param("Contract", "terminated_on", "2019-06-30", "date", id="contract-term-str"),
    pytest.param("Wallet", "member_id", "", "non-empty id", id="wallet-member"),
    pytest.param("Wallet", "currency", "PL", "ISO 4217", id="wallet-currency"),
    pytest.param("CollectionCase", "opened_on", None, "date", id="case-opened-none"),
    pytest.param("CollectionCase", "closed_on", "2020-06-30", "date", id="case-closed-str"),
    pytest.param("Installment", "amount", Decimal("-1.00"), "negative", id="inst-negative"),
    pytest.param("Installment", "due_on", "2019-02-10", "date", id="inst-due-str"),
    pytest.param("Installment", "contract_id", "", "non-empty id", id="inst-contract-empty"),
    pytest.param("Purchase", "amount", Decimal("-0.01"), "negative", id="purchase-negative"),
    pytest.param("Purchase", "paid", "yes", "true or false", id="purchase-paid-str"),
    pytest.param("Purchase", "description", None, "string", id="purchase-desc-none"),
    pytest.param("Buyer", "name", None, "string", id="buyer-name-none"),
    pytest.param("Buyer", "tax_id", 5, "string", id="buyer-tax-int"),
    pytest.param("InvoiceLine", "vat_rate", None, "string", id="line-vat"),
    pytest.param("Invoice", "lines", [], "tuple", id="invoice-lines-list"),
    pytest.param("Invoice", "lines", ({"quantity": "1"},), "item 0", id="invoice-line-dict"),
    pytest.param("Invoice", "buyer", {"name": "x"}, "Buyer", id="invoice-buyer-dict"),
    pytest.param("Invoice", "number", 7, "string", id="invoice-number"),
    pytest.param("Receipt", "contractor_name", None, "string", id="receipt-contractor-none"),
    pytest.param("ClassBooking", "attended", None, "true or false", id="booking-attended"),
    pytest.param("ClassBooking", "class_name", None, "string", id="booking-class"),
    pytest.param("Measurement", "kind", 3, "string", id="measurement-kind"),
    pytest.param("Exercise", "sets", -1, "negative", id="exercise-sets-negative"),
    pytest.param("Exercise", "reps", True, "integer", id="exercise-reps-bool"),
    pytest.param("Exercise", "weight_kg", Decimal("-5"), "negative", id="exercise-weight-neg"),
    pytest.param("Note", "note_type", "general", "one of", id="note-type-str"),
    pytest.param("Note", "text", None, "string", id="note-text-none"),
    pytest.param("LogEntry", "text", 5, "string", id="log-text-int"),
    pytest.param("Document", "data", "text", "bytes", id="document-data-str"),
    pytest.param("Document", "name", None, "string", id="document-name"),
    pytest.param("Reminder", "kind", "", "non-empty id", id="reminder-kind"),
    pytest.param("Reminder", "currency", "zł", "ISO 4217", id="reminder-currency"),
    pytest.param("RemovalCounts", "notes", -1, "negative", id="counts-negative"),
    pytest.param("RemovalCounts", "photo", True, "integer", id="counts-bool"),
    pytest.param("RemovalCounts", "log_entries", 1.0, "integer", id="counts-float"),
    pytest.param("AuditEntry", "mode", "manual", "one of", id="audit-mode-str"),
    pytest.param("AuditEntry", "action", "anonymize", "one of", id="audit-action-str"),
    pytest.param("AuditEntry", "actor_id", "", "non-empty id", id="audit-actor-empty"),
    pytest.param("AuditEntry", "removed", {"notes": 1}, "RemovalCounts", id="audit-removed"),
]


def check_single_problem(name: str, field: str, bad: Any, fragment: str) -> InvalidRecordError:
    """Build the sample with one wrong field and check the error names it precisely."""
    record = sample(name)
    error = rejected(type(record), kwargs_of(record, **{field: bad}))
    assert error.record_type == name
    record_id = getattr(record, "id", None)
    assert error.record_id == (None if field == "id" else record_id)
    assert [p.field for p in error.problems] == [field]
    assert fragment in error.problems[0].reason
    message = str(error)
    assert name in message
    assert field in message
    if error.record_id is not None:
        assert repr(error.record_id) in message
    return error


@pytest.mark.parametrize(("name", "field", "bad", "fragment"), WRONG)
def test_wrong_value_is_rejected_naming_type_id_and_field(
    name: str, field: str, bad: Any, fragment: str
) -> None:
    """Each kind of wrong value raises InvalidRecordError naming record type, id and field."""
    check_single_problem(name, field, bad, fragment)


def test_invalid_record_error_is_a_value_error() -> None:
    """Callers may catch it as a ValueError."""
    assert issubclass(InvalidRecordError, ValueError)


@pytest.mark.parametrize(
    "name", sorted(n for n in SAMPLES if "id" in attrs.fields_dict(type(SAMPLES[n]())))
)
@pytest.mark.parametrize("bad_id", ["", " k1", "k1\n", 7, None])
def test_invalid_id_is_rejected_and_not_echoed(name: str, bad_id: Any) -> None:
    """A bad id is reported on the ``id`` field, and the error carries no record id."""
    record = sample(name)
    error = rejected(type(record), kwargs_of(record, id=bad_id))
    assert error.record_id is None
    assert [p.field for p in error.problems] == ["id"]
    assert str(error).startswith(f"invalid {name}:")


@pytest.mark.parametrize(("name", "field"), typed_cases(dt.datetime))
def test_naive_datetime_is_rejected(name: str, field: str) -> None:
    """Every timestamp field refuses a datetime without an offset."""
    check_single_problem(name, field, NAIVE, "timezone-aware")


def test_datetime_with_tzinfo_but_no_offset_is_rejected() -> None:
    """A tzinfo that gives no offset counts as naive."""

    class NoOffset(dt.tzinfo):
        def utcoffset(self, _: dt.datetime | None) -> dt.timedelta | None:
            return None

        def dst(self, _: dt.datetime | None) -> dt.timedelta | None:
            return None

        def tzname(self, _: dt.datetime | None) -> str | None:
            return None

    check_single_problem("LogEntry", "at", dt.datetime(2026, 1, 1, tzinfo=NoOffset()), "aware")


@pytest.mark.parametrize(("name", "field"), typed_cases(dt.date))
def test_datetime_where_a_date_is_expected_is_rejected(name: str, field: str) -> None:
    """A date field refuses a datetime (a datetime is a date subclass in Python)."""
    check_single_problem(name, field, AWARE, "must be a date")


@pytest.mark.parametrize(("name", "field"), typed_cases(Decimal))
def test_float_money_is_rejected(name: str, field: str) -> None:
    """Every Decimal field refuses a float, saying so."""
    check_single_problem(name, field, 12.5, "not a float")


def test_decimal_cases_cover_all_money() -> None:
    """The float check reaches every amount of the money records."""
    cases = {tuple(p.values) for p in typed_cases(Decimal)}
    for expected in [
        ("Money", "amount"),
        ("Wallet", "balance"),
        ("Installment", "amount"),
        ("Purchase", "amount"),
        ("Invoice", "total"),
        ("InvoiceLine", "unit_price"),
        ("Receipt", "total"),
        ("Reminder", "amount"),
    ]:
        assert expected in cases


@pytest.mark.parametrize(
    ("name", "later", "earlier", "gap"),
    [
        ("Contract", "end", "start", dt.timedelta(days=1)),
        ("CollectionCase", "closed_on", "opened_on", dt.timedelta(days=1)),
        ("Visit", "left_at", "entered_at", dt.timedelta(seconds=1)),
    ],
)
def test_end_before_start_is_rejected(
    name: str, later: str, earlier: str, gap: dt.timedelta
) -> None:
    """An end before its start is an error; an end on the start is fine."""
    record = sample(name)
    start = getattr(record, earlier)
    error = check_single_problem(name, later, start - gap, f"must not be before {earlier}")
    assert error.problems == (FieldProblem(later, f"must not be before {earlier}"),)
    same = type(record)(**kwargs_of(record, **{later: start}))
    assert getattr(same, later) == start


def test_termination_before_start_is_allowed() -> None:
    """A contract terminated before its start is valid: it was cancelled."""
    k = b.contract(start=dt.date(2027, 1, 1), end=None, terminated_on=dt.date(2026, 12, 1))
    assert k.is_cancelled


# -- all problems at once ------------------------------------------------------------------


def test_every_problem_of_a_record_is_reported_at_once() -> None:
    """One error lists every bad field, in declaration order, then cross-field ones."""
    error = rejected(
        Contract,
        {
            "id": "k1",
            "member_id": "",
            "club_id": 5,
            "name": None,
            "start": dt.date(2020, 1, 1),
            "end": dt.date(2019, 1, 1),
            "terminated_on": "2019-06-30",
        },
    )
    assert error.record_id == "k1"
    assert [p.field for p in error.problems] == [
        "member_id",
        "club_id",
        "name",
        "terminated_on",
        "end",
    ]
    for field in ("member_id", "club_id", "name", "terminated_on", "end"):
        assert f"{field}:" in str(error)


def test_every_problem_of_a_member_is_reported_at_once() -> None:
    """A member with five wrong fields gets five problems in one error."""
    error = rejected(
        Member,
        kwargs_of(
            b.member(),
            home_club_id=None,
            registered_on="2018-03-01",
            photo="photo",
            restrict_processing=None,
            anonymized_at=NAIVE,
        ),
    )
    assert [p.field for p in error.problems] == [
        "home_club_id",
        "registered_on",
        "photo",
        "restrict_processing",
        "anonymized_at",
    ]


def test_personal_data_reports_every_bad_field() -> None:
    """PersonalData lists all of its bad fields."""
    error = rejected(
        PersonalData,
        {"first_name": 1, "last_name": 2, "email": 3, "birth_date": "x", "address": "y"},
    )
    assert error.record_type == "PersonalData"
    assert error.record_id is None
    assert [p.field for p in error.problems] == [
        "first_name",
        "last_name",
        "email",
        "birth_date",
        "address",
    ]


# -- no personal value in repr or errors ------------------------------------------------------


def _assert_no_personal_value(text: str) -> None:
    for value in (*b.PERSONAL_VALUES, b.FULL_NAME, "PHOTO-OF-THE-MEMBER", "scanned identity"):
        assert value not in text, f"{value!r} leaked"
    assert "82.5" not in text


REDACTED = [
    pytest.param(b.personal, id="PersonalData"),
    pytest.param(b.address, id="Address"),
    pytest.param(b.member, id="Member"),
    pytest.param(b.note, id="Note"),
    pytest.param(b.log_entry, id="LogEntry"),
    pytest.param(b.document, id="Document"),
    pytest.param(b.buyer, id="Buyer"),
    pytest.param(b.receipt, id="Receipt"),
    pytest.param(b.invoice, id="Invoice"),
    pytest.param(b.photo, id="BinaryContent"),
    pytest.param(b.measurement, id="Measurement"),
    pytest.param(lambda: b.employee(name=b.FULL_NAME), id="Employee"),
]


@pytest.mark.parametrize("make", REDACTED)
def test_repr_and_str_show_no_personal_value(make: Callable[[], Any]) -> None:
    """repr() and str() of records holding personal data show none of it."""
    record = make()
    _assert_no_personal_value(repr(record))
    _assert_no_personal_value(str(record))


def test_repr_still_shows_ids() -> None:
    """Redaction hides values, not the ids needed to find a record."""
    assert "'m1'" in repr(b.member())
    assert "'d1'" in repr(b.document())
    assert "<redacted>" in repr(b.personal())


PERSONAL_ERRORS: list[Any] = [
    pytest.param(
        PersonalData,
        lambda: kwargs_of(b.personal(), birth_date=b.BIRTH_DATE.isoformat()),
        id="PersonalData-birth-date-as-text",
    ),
    pytest.param(
        PersonalData,
        lambda: kwargs_of(b.personal(), email=[b.EMAIL], phone=int(b.PHONE[1:])),
        id="PersonalData-wrong-types",
    ),
    pytest.param(
        PersonalData,
        lambda: kwargs_of(b.personal(), first_name=b.FIRST_NAME.encode(), national_id=90041212345),
        id="PersonalData-bytes-and-int",
    ),
    pytest.param(
        Member,
        lambda: kwargs_of(b.member(), registered_on=b.FULL_NAME, photo=b.PHOTO_BYTES),
        id="Member",
    ),
    pytest.param(
        Note,
        lambda: kwargs_of(b.note(), text=b.HEALTH_NOTE_TEXT.encode(), created_at=NAIVE),
        id="Note",
    ),
    pytest.param(LogEntry, lambda: kwargs_of(b.log_entry(), text=[b.LOG_TEXT]), id="LogEntry"),
    pytest.param(
        Document,
        lambda: kwargs_of(b.document(), data=b.DOCUMENT_BYTES.decode(), uploaded_at=NAIVE),
        id="Document-content",
    ),
    pytest.param(
        Document,
        lambda: kwargs_of(b.document(), name=b.DOCUMENT_NAME.encode()),
        id="Document-name",
    ),
    pytest.param(Buyer, lambda: kwargs_of(b.buyer(), name=(b.FULL_NAME,), address=0), id="Buyer"),
    pytest.param(
        Receipt,
        lambda: kwargs_of(b.receipt(), contractor_name=[b.FULL_NAME], issued_at=NAIVE),
        id="Receipt",
    ),
    pytest.param(
        Employee, lambda: kwargs_of(b.employee(name=b.FULL_NAME), permissions=None), id="Employee"
    ),
]


@pytest.mark.parametrize(("cls", "make_kwargs"), PERSONAL_ERRORS)
def test_errors_never_show_a_personal_value(
    cls: type[Any], make_kwargs: Callable[[], dict[str, Any]]
) -> None:
    """Neither str() nor repr() of the error, nor its problems, repeat a personal value."""
    error = rejected(cls, make_kwargs())
    assert error.problems
    for text in (str(error), repr(error), repr(error.problems), repr(error.args)):
        _assert_no_personal_value(text)
        assert "PHOTO" not in text


# -- the rules records carry ------------------------------------------------------------------


def k(start: str, end: str | None = None, terminated_on: str | None = None) -> Contract:
    """A contract with the given dates."""
    return b.contract(
        start=b.day(start),
        end=None if end is None else b.day(end),
        terminated_on=None if terminated_on is None else b.day(terminated_on),
    )


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        pytest.param(k("2026-01-01"), None, id="open-ended"),
        pytest.param(k("2026-01-01", "2026-12-31"), "2026-12-31", id="end-only"),
        pytest.param(k("2026-01-01", None, "2026-06-30"), "2026-06-30", id="terminated-open"),
        pytest.param(k("2026-01-01", "2026-12-31", "2026-06-30"), "2026-06-30", id="early"),
        pytest.param(k("2026-01-01", "2026-03-31", "2026-06-30"), "2026-03-31", id="late-term"),
        pytest.param(k("2026-01-01", "2026-12-31", "2026-12-31"), "2026-12-31", id="same-day"),
    ],
)
def test_contract_effective_end_is_the_earlier_of_end_and_termination(
    contract: Contract, expected: str | None
) -> None:
    """The effective end is min(end, terminated_on), or None when open-ended."""
    assert contract.effective_end == (None if expected is None else b.day(expected))


@pytest.mark.parametrize(
    ("contract", "cancelled"),
    [
        pytest.param(k("2026-01-01", "2026-12-31"), False, id="not-terminated"),
        pytest.param(k("2026-01-01", "2026-12-31", "2025-12-31"), True, id="day-before-start"),
        pytest.param(k("2026-01-01", "2026-12-31", "2026-01-01"), False, id="on-start"),
        pytest.param(k("2026-01-01", None, "2026-05-01"), False, id="after-start"),
    ],
)
def test_contract_is_cancelled_only_when_terminated_before_its_start(
    contract: Contract, cancelled: bool
) -> None:
    """Termination before the start date cancels; on or after it does not."""
    assert contract.is_cancelled is cancelled


@pytest.mark.parametrize(
    ("contract", "day", "active"),
    [
        pytest.param(k("2026-01-01", "2026-12-31"), "2025-12-31", False, id="before-start"),
        pytest.param(k("2026-01-01", "2026-12-31"), "2026-01-01", True, id="on-start"),
        pytest.param(k("2026-01-01", "2026-12-31"), "2026-12-31", True, id="on-end"),
        pytest.param(k("2026-01-01", "2026-12-31"), "2027-01-01", False, id="after-end"),
        pytest.param(k("2026-01-01"), "2099-01-01", True, id="open-ended"),
        pytest.param(
            k("2026-01-01", "2026-12-31", "2026-06-30"), "2026-06-30", True, id="term-day"
        ),
        pytest.param(k("2026-01-01", "2026-12-31", "2026-06-30"), "2026-07-01", False, id="term+1"),
        pytest.param(k("2026-01-01", "2026-12-31", "2026-01-01"), "2026-01-01", True, id="1-day"),
        pytest.param(k("2026-01-01", "2026-12-31", "2025-12-01"), "2026-06-01", False, id="cancel"),
    ],
)
def test_contract_is_active_on(contract: Contract, day: str, active: bool) -> None:
    """Active from its start through its effective end, both inclusive; never if cancelled."""
    assert contract.is_active_on(b.day(day)) is active


@pytest.mark.parametrize(
    ("contract", "day", "future"),
    [
        pytest.param(k("2026-12-01"), "2026-11-30", True, id="tomorrow"),
        pytest.param(k("2026-12-01"), "2026-12-01", False, id="today"),
        pytest.param(k("2026-12-01"), "2026-12-02", False, id="past"),
        pytest.param(k("2026-12-01", None, "2026-11-01"), "2026-11-30", False, id="cancelled"),
    ],
)
def test_contract_starts_after(contract: Contract, day: str, future: bool) -> None:
    """A future contract starts after the day; a cancelled one is never future."""
    assert contract.starts_after(b.day(day)) is future


@pytest.mark.parametrize(
    ("closed_on", "open_"),
    [
        pytest.param(None, True, id="never-closed"),
        pytest.param("2026-11-26", False, id="closed-yesterday"),
        pytest.param("2026-11-27", False, id="closed-today"),
        pytest.param("2026-11-28", True, id="closes-tomorrow"),
    ],
)
def test_collection_case_is_open_on(closed_on: str | None, open_: bool) -> None:
    """A case is open on D unless it was closed on or before D."""
    case = b.collection_case(
        opened_on=b.day("2026-01-01"), closed_on=None if closed_on is None else b.day(closed_on)
    )
    assert case.is_open_on(b.TODAY) is open_


@pytest.mark.parametrize(
    ("due_on", "paid_on", "overdue"),
    [
        pytest.param("2026-11-27", None, False, id="due-today"),
        pytest.param("2026-11-26", None, True, id="due-yesterday"),
        pytest.param("2026-11-28", None, False, id="due-tomorrow"),
        pytest.param("2026-11-01", "2026-11-01", False, id="paid-on-time"),
        pytest.param("2026-11-01", "2026-11-27", False, id="paid-today"),
        pytest.param("2026-11-01", "2026-11-28", True, id="paid-after-D"),
    ],
)
def test_installment_is_overdue_on(due_on: str, paid_on: str | None, overdue: bool) -> None:
    """Overdue on D: due before D and not paid by D."""
    item = b.installment(due_on=b.day(due_on), paid_on=None if paid_on is None else b.day(paid_on))
    assert item.is_overdue_on(b.TODAY) is overdue


@pytest.mark.parametrize(
    ("balance", "funds"),
    [("0.00", False), ("0", False), ("0.01", True), ("150.00", True), ("-20.00", False)],
)
def test_wallet_has_funds_only_above_zero(balance: str, funds: bool) -> None:
    """Funds mean a balance above zero; a negative balance is a debt."""
    assert b.wallet(balance).has_funds is funds


def test_enum_values_are_the_documented_codes() -> None:
    """The enum values are the strings of the dataset format."""
    assert {p.value for p in Permission} == {
        "anonymize_member",
        "export_member_data",
        "handle_erasure_requests",
    }
    assert {t.value for t in NoteType} >= {"training_and_health", "general"}
    assert {m.value for m in AnonymizationMode} == {"manual", "retention", "request"}
    assert {a.value for a in AuditAction} == {"anonymize", "export"}

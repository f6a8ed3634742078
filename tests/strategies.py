"""Hypothesis strategies: every domain record, and whole consistent datasets.

Personal values are recognizable on purpose, so that a check that "no original
value survives" means something:

* every personal string is built as ``PD-<FIELD>-<member id>-<letters>``; nothing
  else in a generated dataset (ids, club and contract names, note and log texts,
  placeholders such as ``"Anonymized"`` or ``"Member"``) ever holds ``PD-``,
  unless a dataset is asked to copy personal values into free texts;
* birth dates lie in 1940-2002, every other date in or near the four-year
  window centred on :data:`TODAY` (never before 2024);
* photo bytes start with ``PD-PHOTO-<member id>-``.

Money is a :class:`~decimal.Decimal` with two places, timestamps are
timezone-aware with various fixed offsets, and ids are unique per collection.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from member_anonymization.domain import (
    Address,
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    BinaryContent,
    Buyer,
    ClassBooking,
    Club,
    CollectionCase,
    Contract,
    Document,
    Employee,
    ErasureRequest,
    Exercise,
    ExtensionReason,
    Installment,
    Invoice,
    InvoiceLine,
    LogEntry,
    Measurement,
    Member,
    Money,
    Network,
    Note,
    NoteType,
    Notice,
    NoticeKind,
    OutboxKind,
    OutboxMessage,
    Permission,
    PersonalData,
    Purchase,
    Receipt,
    RejectionReason,
    Reminder,
    RemovalCounts,
    RequestChannel,
    RequestExtension,
    RequestStatus,
    RetentionSetting,
    Visit,
    Wallet,
)
from member_anonymization.domain.calendar import month_length
from member_anonymization.domain.requests import latest_extension, request_deadline
from member_anonymization.serialization import Dataset, unstructure_dataset
from tests.oracle import home_club_date

TODAY: Final = dt.date(2026, 11, 27)
"""The centre of the window every generated date falls in."""

WINDOW_START: Final = TODAY - dt.timedelta(days=730)
WINDOW_END: Final = TODAY + dt.timedelta(days=730)
PERSONAL_PREFIX: Final = "PD-"
CURRENCIES: Final = ("PLN", "EUR")
TIMEZONES: Final = (
    "Europe/Warsaw",
    "UTC",
    "America/New_York",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
)
OFFSETS: Final = tuple(
    dt.timezone(dt.timedelta(minutes=m)) for m in (0, 60, 120, 330, 345, 765, 840, -300, -570, -660)
)
CLASS_NAMES: Final = ("Zumba", "Yoga", "Spinning", "Pilates", "Crossfit")

# Free texts can never form "PD-": no capital letters and no dash.
_FREE_TEXT: Final = string.ascii_lowercase + string.digits + " .,ąęółżźćń"
_LETTERS: Final = string.ascii_uppercase

P = ParamSpec("P")
T = TypeVar("T")


# ------------------------------------------------------------------ reuse


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _reused(make: Callable[P, st.SearchStrategy[T]]) -> Callable[P, st.SearchStrategy[T]]:
    """Hand out one strategy object per distinct set of arguments (lists taken as tuples).

    Hypothesis validates every new strategy object and works out its label on
    its first draw, and :func:`datasets` asks for the same strategies (the same
    ids, the same clubs) over and over: reusing them makes generating a dataset
    several times faster. What is drawn, and so every example, stays the same.
    """
    cached = functools.lru_cache(maxsize=4096)(make)

    @functools.wraps(make)
    def reuse(*args: P.args, **kwargs: P.kwargs) -> st.SearchStrategy[T]:
        frozen = {name: _frozen(value) for name, value in kwargs.items()}
        return cached(*map(_frozen, args), **frozen)  # type: ignore[arg-type]

    return reuse


# --------------------------------------------------------------------------- values


@_reused
def days(start: dt.date = WINDOW_START, end: dt.date = WINDOW_END) -> st.SearchStrategy[dt.date]:
    """Dates in the window (or between ``start`` and ``end``)."""
    return st.dates(min_value=start, max_value=end)


@_reused
def instants(
    start: dt.date = WINDOW_START, end: dt.date = WINDOW_END
) -> st.SearchStrategy[dt.datetime]:
    """Timezone-aware timestamps in the window, with various fixed offsets."""
    return st.datetimes(
        min_value=dt.datetime.combine(start, dt.time()),
        max_value=dt.datetime.combine(end, dt.time(23, 59, 59)),
        timezones=st.sampled_from(OFFSETS),
    )


@_reused
def money(min_cents: int = 0, max_cents: int = 100_000) -> st.SearchStrategy[Decimal]:
    """An amount with exactly two decimal places."""
    return st.integers(min_cents, max_cents).map(lambda cents: Decimal(cents).scaleb(-2))


@_reused
def free_texts(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    """Free text that can never hold a personal value."""
    return st.text(alphabet=_FREE_TEXT, min_size=min_size, max_size=max_size)


@_reused
def labels(prefix: str) -> st.SearchStrategy[str]:
    """A non-blank name such as ``"Club KXQ"`` (never a personal value)."""
    return st.text(alphabet=_LETTERS, min_size=1, max_size=5).map(lambda s: f"{prefix} {s}")


@_reused
def currencies() -> st.SearchStrategy[str]:
    """An ISO 4217 code."""
    return st.sampled_from(CURRENCIES)


@_reused
def _personal(field: str, member_id: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=_LETTERS, min_size=1, max_size=6).map(
        lambda s: f"{PERSONAL_PREFIX}{field}-{member_id}-{s}"
    )


@_reused
def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@_reused
def _on_or_after(day: dt.date) -> st.SearchStrategy[dt.date]:
    """A date from ``day`` on; the day itself and the next one often."""
    return st.sampled_from((day, day + dt.timedelta(days=1))) | days(
        start=day, end=day + dt.timedelta(days=730)
    )


# ------------------------------------------------------------------ organisation


@_reused
def networks() -> st.SearchStrategy[Network]:
    """A network of clubs."""
    return st.builds(Network, id=st.just("net-1"), name=labels("Network"))


@_reused
def retention_settings() -> st.SearchStrategy[RetentionSetting]:
    """A retention setting of 1 to 36 months."""
    return st.builds(RetentionSetting, months_after_contract_end=st.integers(1, 36))


@_reused
def clubs(club_id: str = "c1") -> st.SearchStrategy[Club]:
    """A club: any time zone, with or without debt collection and retention."""
    return st.builds(
        Club,
        id=st.just(club_id),
        name=labels("Club"),
        timezone=st.sampled_from(TIMEZONES),
        uses_debt_collection=st.booleans(),
        retention=_optional(retention_settings()),
    )


@_reused
def employees(employee_id: str = "e1") -> st.SearchStrategy[Employee]:
    """An employee with any set of permissions (possibly none)."""
    return st.builds(
        Employee,
        id=st.just(employee_id),
        name=labels("Employee"),
        permissions=st.sampled_from(_PERMISSION_SETS),
    )


_PERMISSION_SETS: Final[tuple[frozenset[Permission], ...]] = (
    frozenset(Permission),
    frozenset({Permission.ANONYMIZE_MEMBER}),
    frozenset(Permission),
    frozenset({Permission.EXPORT_MEMBER_DATA}),
    frozenset(),
)
"""Most employees may anonymize; some may only export, some may do neither."""


# ------------------------------------------------------------------------ members


@_reused
def addresses(member_id: str = "m1") -> st.SearchStrategy[Address]:
    """A postal address made of recognizable personal values."""
    return st.builds(
        Address,
        street=_personal("STREET", member_id),
        postal_code=_personal("POSTAL", member_id),
        city=_personal("CITY", member_id),
        country=_personal("COUNTRY", member_id),
    )


@_reused
def birth_dates(serial: int = 0) -> st.SearchStrategy[dt.date]:
    """A birth date, disjoint for different serials and from every other date."""
    year = 1940 + (serial % 9) * 7
    return st.dates(min_value=dt.date(year, 1, 1), max_value=dt.date(year + 6, 12, 31))


@_reused
def personal_data(member_id: str = "m1", serial: int = 0) -> st.SearchStrategy[PersonalData]:
    """A member's personal data; optional fields may be missing."""
    return st.builds(
        PersonalData,
        first_name=_personal("FIRST", member_id),
        last_name=_personal("LAST", member_id),
        email=_optional(_personal("EMAIL", member_id).map(lambda s: f"{s}@example.org")),
        phone=_optional(_personal("PHONE", member_id)),
        birth_date=_optional(birth_dates(serial)),
        national_id=_optional(_personal("NATID", member_id)),
        address=_optional(addresses(member_id)),
    )


@_reused
def photos(member_id: str = "m1") -> st.SearchStrategy[BinaryContent]:
    """A photo whose bytes are recognizable as the member's."""
    return st.builds(
        BinaryContent,
        content_type=st.sampled_from(("image/jpeg", "image/png")),
        data=st.binary(min_size=1, max_size=24).map(
            lambda b: f"{PERSONAL_PREFIX}PHOTO-{member_id}-".encode() + b
        ),
    )


@_reused
@st.composite
def members(
    draw: st.DrawFn,
    *,
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
    serial: int = 0,
    anonymized: bool | None = None,
) -> Member:
    """A member; an anonymized one holds placeholder values and no photo."""
    if anonymized is None:
        anonymized = draw(st.integers(0, 5)) == 0
    common: dict[str, Any] = {
        "id": member_id,
        "home_club_id": draw(st.sampled_from(club_ids)),
        "registered_on": draw(days(end=TODAY)),
        "restrict_processing": draw(st.booleans()),
    }
    if anonymized:
        return Member(
            **common,
            personal=PersonalData(first_name="Anonymized", last_name="Member"),
            anonymized_at=draw(instants(end=TODAY)),
        )
    return Member(
        **common,
        personal=draw(personal_data(member_id, serial)),
        photo=draw(_optional(photos(member_id))),
    )


# ---------------------------------------------------------------------- contracts


@_reused
@st.composite
def contracts(
    draw: st.DrawFn,
    *,
    contract_id: str = "k1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
) -> Contract:
    """A contract: fixed-term or open-ended, maybe terminated early or cancelled.

    Boundaries (one-day contracts, termination on the first or last day) are
    drawn often.
    """
    start = draw(days())
    end = draw(_optional(_on_or_after(start)))
    shape = draw(st.sampled_from(("running", "terminated", "cancelled")))
    terminated_on: dt.date | None = None
    if shape == "terminated":
        last = end or start + dt.timedelta(days=730)
        terminated_on = draw(st.sampled_from((start, last)) | days(start=start, end=last))
    elif shape == "cancelled":
        terminated_on = start - dt.timedelta(
            days=draw(st.sampled_from((1, 2)) | st.integers(1, 60))
        )
    return Contract(
        id=contract_id,
        member_id=member_id,
        club_id=draw(st.sampled_from(club_ids)),
        name=draw(labels("Open")),
        start=start,
        end=end,
        terminated_on=terminated_on,
    )


# ------------------------------------------------------------------------ finance


@_reused
def wallets(member_id: str = "m1") -> st.SearchStrategy[Wallet]:
    """A wallet with a negative, zero or positive balance."""
    return st.builds(
        Wallet,
        member_id=st.just(member_id),
        balance=st.one_of(money(-50_000, -1), st.just(Decimal("0.00")), money(1, 50_000)),
        currency=currencies(),
    )


@_reused
@st.composite
def collection_cases(
    draw: st.DrawFn,
    *,
    case_id: str = "w1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
) -> CollectionCase:
    """A debt-collection case, open or closed."""
    opened_on = draw(days())
    return CollectionCase(
        id=case_id,
        member_id=member_id,
        club_id=draw(st.sampled_from(club_ids)),
        opened_on=opened_on,
        closed_on=draw(_optional(_on_or_after(opened_on))),
    )


@_reused
@st.composite
def installments(
    draw: st.DrawFn,
    *,
    installment_id: str = "i1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
    contracts_of_member: Sequence[Contract] = (),
) -> Installment:
    """An installment: paid (on time or late), unpaid, overdue or not yet due."""
    contract = (
        draw(_optional(st.sampled_from(contracts_of_member))) if contracts_of_member else None
    )
    due_on = draw(days())
    return Installment(
        id=installment_id,
        member_id=member_id,
        club_id=contract.club_id if contract is not None else draw(st.sampled_from(club_ids)),
        contract_id=None if contract is None else contract.id,
        due_on=due_on,
        amount=draw(money(1, 50_000)),
        currency=draw(currencies()),
        paid_on=draw(_optional(_on_or_after(due_on - dt.timedelta(days=1)))),
    )


@_reused
@st.composite
def purchases(
    draw: st.DrawFn,
    *,
    purchase_id: str = "p1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
) -> Purchase:
    """A purchase, paid or unpaid."""
    return Purchase(
        id=purchase_id,
        member_id=member_id,
        club_id=draw(st.sampled_from(club_ids)),
        bought_at=draw(instants()),
        description=draw(free_texts()),
        amount=draw(money(0, 20_000)),
        currency=draw(currencies()),
        paid=draw(st.booleans()),
    )


@_reused
def invoice_lines() -> st.SearchStrategy[InvoiceLine]:
    """One invoice line."""
    return st.builds(
        InvoiceLine,
        description=free_texts(),
        quantity=st.integers(1, 5).map(Decimal),
        unit_price=money(0, 50_000),
        vat_rate=st.sampled_from(("23", "8", "5", "0", "zw")),
    )


def _buyer(personal: PersonalData) -> Buyer:
    address = personal.address
    return Buyer(
        name=personal.display_name,
        address=""
        if address is None
        else f"{address.street}, {address.postal_code} {address.city}, {address.country}",
        tax_id=personal.national_id,
    )


@st.composite
def buyers(draw: st.DrawFn, *, member_id: str = "m1") -> Buyer:
    """An invoice's buyer, copied from personal data."""
    return _buyer(draw(personal_data(member_id)))


@_reused
@st.composite
def invoices(
    draw: st.DrawFn,
    *,
    invoice_id: str = "f1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
    buyer: Buyer | None = None,
) -> Invoice:
    """An invoice with its buyer snapshot and one to three lines."""
    lines = tuple(draw(st.lists(invoice_lines(), min_size=1, max_size=3)))
    issued_on = draw(days())
    return Invoice(
        id=invoice_id,
        number=f"FV/{issued_on.year}/{invoice_id}",
        member_id=member_id,
        club_id=draw(st.sampled_from(club_ids)),
        issued_on=issued_on,
        buyer=buyer if buyer is not None else draw(buyers(member_id=member_id)),
        lines=lines,
        total=sum((line.quantity * line.unit_price for line in lines), Decimal("0.00")),
        currency=draw(currencies()),
    )


@_reused
@st.composite
def receipts(
    draw: st.DrawFn,
    *,
    receipt_id: str = "r1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
    contractor_name: str | None = None,
) -> Receipt:
    """A receipt with the contractor's name as issued."""
    issued_at = draw(instants())
    if contractor_name is None:
        contractor_name = draw(personal_data(member_id)).display_name
    return Receipt(
        id=receipt_id,
        number=f"PAR/{issued_at.year}/{receipt_id}",
        member_id=member_id,
        club_id=draw(st.sampled_from(club_ids)),
        issued_at=issued_at,
        contractor_name=contractor_name,
        total=draw(money(0, 20_000)),
        currency=draw(currencies()),
    )


# ------------------------------------------------------------------ activity records


@_reused
@st.composite
def visits(
    draw: st.DrawFn,
    *,
    visit_id: str = "v1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
) -> Visit:
    """A visit, with or without the time the member left."""
    entered_at = draw(instants())
    stay = draw(_optional(st.integers(0, 300)))
    return Visit(
        id=visit_id,
        member_id=member_id,
        club_id=draw(st.sampled_from(club_ids)),
        entered_at=entered_at,
        left_at=None if stay is None else entered_at + dt.timedelta(minutes=stay),
    )


@_reused
def class_bookings(
    booking_id: str = "b1", member_id: str = "m1", club_ids: Sequence[str] = ("c1",)
) -> st.SearchStrategy[ClassBooking]:
    """A class booking, attended or not."""
    return st.builds(
        ClassBooking,
        id=st.just(booking_id),
        member_id=st.just(member_id),
        club_id=st.sampled_from(club_ids),
        class_name=st.sampled_from(CLASS_NAMES),
        starts_at=instants(),
        attended=st.booleans(),
    )


@_reused
def measurements(
    measurement_id: str = "ms1", member_id: str = "m1"
) -> st.SearchStrategy[Measurement]:
    """A body measurement."""
    return st.builds(
        Measurement,
        id=st.just(measurement_id),
        member_id=st.just(member_id),
        taken_on=days(),
        kind=st.sampled_from(("weight_kg", "body_fat_pct", "waist_cm")),
        value=st.integers(0, 3000).map(lambda v: Decimal(v).scaleb(-1)),
    )


@_reused
def exercises(exercise_id: str = "x1", member_id: str = "m1") -> st.SearchStrategy[Exercise]:
    """A planned exercise, its optional fields maybe missing."""
    return st.builds(
        Exercise,
        id=st.just(exercise_id),
        member_id=st.just(member_id),
        planned_on=days(),
        name=st.sampled_from(("Squat", "Deadlift", "Bench press", "Plank")),
        sets=_optional(st.integers(1, 10)),
        reps=_optional(st.integers(1, 30)),
        weight_kg=_optional(money(0, 30_000)),
    )


@_reused
def notes(
    note_id: str = "n1",
    member_id: str = "m1",
    *,
    note_types: Sequence[NoteType] = tuple(NoteType),
    texts: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Note]:
    """A note of any of ``note_types``."""
    return st.builds(
        Note,
        id=st.just(note_id),
        member_id=st.just(member_id),
        note_type=st.sampled_from(note_types),
        created_at=instants(),
        text=texts if texts is not None else free_texts(),
    )


@_reused
def log_entries(
    entry_id: str = "l1", member_id: str = "m1", *, texts: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[LogEntry]:
    """A line of the Log tab."""
    return st.builds(
        LogEntry,
        id=st.just(entry_id),
        member_id=st.just(member_id),
        at=instants(),
        text=texts if texts is not None else free_texts(),
    )


@_reused
def documents(
    document_id: str = "d1", member_id: str = "m1", *, names: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Document]:
    """An uploaded document with its content."""
    return st.builds(
        Document,
        id=st.just(document_id),
        member_id=st.just(member_id),
        name=names if names is not None else labels("scan").map(lambda s: f"{s}.pdf"),
        uploaded_at=instants(),
        content_type=st.just("application/pdf"),
        data=st.binary(max_size=32),
    )


STAFF_ACTIONS: Final = (
    "wallet_funds",
    "open_collection_case",
    "arrears_under_collection",
    "processing_restricted",
)
"""The blocker codes whose clearing needs staff: a ``request_action`` reminder names one."""


@_reused
def reminders(
    reminder_id: str = "rem1",
    member_id: str = "m1",
    club_ids: Sequence[str] = ("c1",),
    request_ids: Sequence[str] = (),
) -> st.SearchStrategy[Reminder]:
    """A reminder, with or without an amount; about one of ``request_ids`` when given."""
    common: dict[str, Any] = {
        "id": st.just(reminder_id),
        "member_id": st.just(member_id),
        "club_id": st.sampled_from(club_ids),
        "created_at": instants(),
    }
    unpaid = st.sampled_from(("unpaid_purchases", "arrears"))
    options = [
        st.builds(Reminder, kind=unpaid, amount=money(1, 50_000), currency=currencies(), **common),
        st.builds(Reminder, kind=unpaid, **common),
    ]
    if request_ids:
        request = st.sampled_from(request_ids)
        options += [
            st.builds(
                Reminder,
                kind=st.just("request_action"),
                request_id=request,
                action=st.sampled_from(STAFF_ACTIONS),
                **common,
            ),
            st.builds(
                Reminder,
                kind=st.sampled_from(("request_deadline_near", "request_overdue")),
                request_id=request,
                **common,
            ),
        ]
    return st.one_of(options)


@_reused
def removal_counts() -> st.SearchStrategy[RemovalCounts]:
    """Counts of removed records."""
    n = st.integers(0, 5)
    return st.builds(
        RemovalCounts,
        personal_data=st.integers(0, 1),
        photo=st.integers(0, 1),
        log_entries=n,
        documents=n,
        measurements=n,
        exercises=n,
        notes=n,
    )


@_reused
@st.composite
def audit_entries(
    draw: st.DrawFn,
    *,
    entry_id: str = "a1",
    member_id: str = "m1",
    employee_ids: Sequence[str] = ("e1",),
    at: dt.datetime | None = None,
    actions: Sequence[AuditAction] = tuple(AuditAction),
    modes: Sequence[AnonymizationMode] = tuple(AnonymizationMode),
    with_as_of: bool = True,
) -> AuditEntry:
    """An audit entry of an anonymization (of one of ``modes``) or an export.

    An export has no mode and no counts (now and then in the first release's
    shape: ``manual`` with zero counts); an anonymization may carry the date
    it was evaluated on (unless ``with_as_of`` is false).
    """
    action = draw(st.sampled_from(actions))
    at = at if at is not None else draw(instants())
    if action is AuditAction.EXPORT:
        first_release = draw(st.integers(0, 3)) == 0
        return AuditEntry(
            id=entry_id,
            member_id=member_id,
            actor_id=draw(st.sampled_from(employee_ids)),
            at=at,
            mode=AnonymizationMode.MANUAL if first_release else None,
            removed=RemovalCounts() if first_release else None,
            action=action,
        )
    mode = draw(st.sampled_from(modes))
    on = at.date()
    as_of = None
    if with_as_of:
        earlier = st.dates(min_value=min(WINDOW_START, on), max_value=on)
        as_of = draw(_optional(st.sampled_from((on, on - dt.timedelta(days=1))) | earlier))
    return AuditEntry(
        id=entry_id,
        member_id=member_id,
        actor_id=draw(st.sampled_from(employee_ids)) if mode is AnonymizationMode.MANUAL else None,
        at=at,
        mode=mode,
        removed=draw(removal_counts()),
        action=action,
        as_of=as_of,
    )


# ------------------------------------------------------------- erasure requests


def _request_edge_days(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """Days 28 to 31 of every month from ``start`` to ``end`` (29 February included)."""
    found: list[dt.date] = []
    for year in range(start.year, end.year + 1):
        for month in range(1, 13):
            for day in range(28, month_length(year, month) + 1):
                found.append(dt.date(year, month, day))
    return tuple(d for d in found if start <= d <= end)


def _received_days(start: dt.date, end: dt.date) -> st.SearchStrategy[dt.date]:
    """A day of receipt; days 28 to 31, 29 February and 31 December often."""
    any_day = days(start=start, end=end)
    edges = _request_edge_days(start, end)
    if not edges:
        return any_day
    rare = tuple(d for d in edges if (d.month, d.day) in ((2, 29), (12, 31)))
    favoured = st.sampled_from(edges)
    if rare:
        favoured = favoured | st.sampled_from(rare)
    return favoured | any_day


def _fixed_offset(draw: st.DrawFn, instant: dt.datetime) -> dt.datetime:
    """``instant`` shown in UTC or one of the fixed offsets (the same instant)."""
    return instant.astimezone(draw(st.sampled_from((dt.UTC, *OFFSETS))))


@st.composite
def _local_instants(draw: st.DrawFn, day: dt.date, zone: str) -> dt.datetime:
    """An instant whose local date in ``zone`` is ``day``; often 22:00-23:59 UTC.

    Late evening in UTC is already the next day east of Greenwich, so the
    local date and the UTC date often differ.
    """
    tz = ZoneInfo(zone)
    late = dt.time(draw(st.integers(22, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59)))
    candidates = [
        dt.datetime.combine(day + dt.timedelta(days=shift), late, tzinfo=dt.UTC)
        for shift in (-1, 0)
    ]
    candidates = [c for c in candidates if c.astimezone(tz).date() == day]
    if candidates and draw(st.booleans()):
        return _fixed_offset(draw, draw(st.sampled_from(candidates)))
    local = dt.datetime.combine(day, draw(st.times()), tzinfo=tz)
    if local.astimezone(dt.UTC).astimezone(tz).date() != day:  # a gap at midnight
        local = dt.datetime.combine(day, dt.time(12), tzinfo=tz)
    return _fixed_offset(draw, local)


def _after(draw: st.DrawFn, instant: dt.datetime, max_days: int = 200) -> dt.datetime:
    """An instant from ``instant`` on: the same one and the next second often."""
    seconds = draw(st.sampled_from((0, 1)) | st.integers(0, max_days * 86_400))
    return _fixed_offset(draw, instant + dt.timedelta(seconds=seconds))


@st.composite
def request_extensions(
    draw: st.DrawFn,
    *,
    received_on: dt.date | None = None,
    employee_ids: Sequence[str] = ("e1",),
    zone: str = "UTC",
) -> RequestExtension:
    """An extension of a request received on ``received_on``: to the latest day, or earlier.

    Made on a day from receipt to the first deadline (both often), at a time
    whose local date in ``zone`` is that day.
    """
    if received_on is None:
        received_on = draw(_received_days(WINDOW_START, WINDOW_END))
    deadline = request_deadline(received_on)
    latest = latest_extension(received_on)
    first_day = deadline + dt.timedelta(days=1)
    until = draw(st.sampled_from((latest, first_day)) | st.dates(first_day, latest))
    on = draw(st.sampled_from((received_on, deadline)) | st.dates(received_on, deadline))
    return RequestExtension(
        deadline=until,
        reason=draw(st.sampled_from(ExtensionReason)),
        at=draw(_local_instants(on, zone)),
        by=draw(st.sampled_from(employee_ids)),
    )


@st.composite
def erasure_requests(
    draw: st.DrawFn,
    *,
    request_id: str = "rq1",
    member_id: str = "m1",
    club_zones: Mapping[str, str] | None = None,
    employee_ids: Sequence[str] = ("e1",),
    statuses: Sequence[RequestStatus] = tuple(RequestStatus),
    audit_entry_ids: Sequence[str] = ("a1",),
    start: dt.date = WINDOW_START,
    end: dt.date = WINDOW_END,
) -> ErasureRequest:
    """An erasure request of one of ``statuses``, its fields consistent with it.

    Received between ``start`` and ``end``, often on days 28 to 31 or on
    29 February, and often at 22:00-23:59 UTC; ``received_on`` is the local date
    in the time zone of the receiving club (``club_zones``: club id -> zone;
    by default club ``c1`` in any zone). With or without an extension,
    reminders and a ``refused`` notice; a closed one was closed through its
    transition, no earlier than it was received.
    """
    zones = club_zones or {"c1": draw(st.sampled_from(TIMEZONES))}
    club_id = draw(st.sampled_from(sorted(zones)))
    received_on = draw(_received_days(start, end))
    received_at = draw(_local_instants(received_on, zones[club_id]))
    request = ErasureRequest.receive(
        id=request_id,
        member_id=member_id,
        club_id=club_id,
        received_at=received_at,
        received_on=received_on,
        channel=draw(st.sampled_from(RequestChannel)),
        registered_by=draw(_optional(st.sampled_from(employee_ids))),
    )
    latest = received_at
    if draw(st.booleans()):
        ext = draw(
            request_extensions(
                received_on=received_on, employee_ids=employee_ids, zone=zones[club_id]
            )
        )
        request = attrs.evolve(request, extension=ext)
        latest = max(latest, ext.at)
    request = request.reminded(near_deadline=draw(st.booleans()), overdue=draw(st.booleans()))
    if draw(st.booleans()):
        noticed = _after(draw, received_at, max_days=92)
        request = request.refusal_noticed(noticed)
        latest = max(latest, noticed)
    status = draw(st.sampled_from(statuses))
    at = _after(draw, latest)
    by = draw(st.sampled_from(employee_ids))
    if status is RequestStatus.COMPLETED:
        return request.completed(
            at=at,
            audit_entry_id=draw(_optional(st.sampled_from(audit_entry_ids))),
            by=draw(_optional(st.just(by))),
        )
    if status is RequestStatus.WITHDRAWN:
        return request.withdrawn(at=at, by=by)
    if status is RequestStatus.REJECTED:
        return request.rejected(at=at, by=by, reason=draw(st.sampled_from(RejectionReason)))
    return request


def notices(kinds: Sequence[NoticeKind] = tuple(NoticeKind)) -> st.SearchStrategy[Notice]:
    """A notice to the member in Polish or English, holding no personal value."""
    return st.builds(
        Notice,
        kind=st.sampled_from(kinds),
        language=st.sampled_from(("pl", "en")),
        subject=labels("Request"),
        body=free_texts(max_size=60).map(lambda s: f"request deadline {s}"),
    )


def _delivered(draw: st.DrawFn, created_at: dt.datetime) -> dt.datetime | None:
    """Pending, or delivered at or after ``created_at``."""
    return None if draw(st.booleans()) else _after(draw, created_at, max_days=30)


@st.composite
def outbox_messages(
    draw: st.DrawFn,
    *,
    message_id: str = "o1",
    member_id: str = "m1",
    request_ids: Sequence[str] = ("rq1",),
) -> OutboxMessage:
    """A member_anonymized event (maybe of a request) or a notice of one of ``request_ids``."""
    created_at = draw(instants())
    kinds = tuple(OutboxKind) if request_ids else (OutboxKind.MEMBER_ANONYMIZED,)
    kind = draw(st.sampled_from(kinds))
    request_id = draw(st.sampled_from(request_ids)) if request_ids else None
    common: dict[str, Any] = {
        "id": message_id,
        "kind": kind,
        "member_id": member_id,
        "created_at": created_at,
        "delivered_at": _delivered(draw, created_at),
    }
    if kind is OutboxKind.NOTICE:
        return OutboxMessage(**common, request_id=request_id, notice=draw(notices()))
    mode = draw(st.sampled_from(AnonymizationMode))
    if mode is not AnonymizationMode.REQUEST and draw(st.booleans()):
        request_id = None
    return OutboxMessage(**common, request_id=request_id, mode=mode)


def moneys() -> st.SearchStrategy[Money]:
    """An amount with its currency."""
    return st.builds(Money, amount=money(-50_000, 50_000), currency=currencies())


RECORD_STRATEGIES: Final[dict[type[Any], st.SearchStrategy[Any]]] = {
    Address: addresses(),
    AuditEntry: audit_entries(),
    ErasureRequest: erasure_requests(),
    Notice: notices(),
    OutboxMessage: outbox_messages(),
    RequestExtension: request_extensions(employee_ids=("e1", "e2")),
    BinaryContent: photos(),
    Buyer: buyers(),
    ClassBooking: class_bookings(),
    Club: clubs(),
    CollectionCase: collection_cases(),
    Contract: contracts(),
    Document: documents(),
    Employee: employees(),
    Exercise: exercises(),
    Installment: installments(
        contracts_of_member=(
            Contract(id="k1", member_id="m1", club_id="c1", name="Open", start=TODAY),
        )
    ),
    Invoice: invoices(),
    InvoiceLine: invoice_lines(),
    LogEntry: log_entries(),
    Measurement: measurements(),
    Member: members(),
    Money: moneys(),
    Network: networks(),
    Note: notes(),
    PersonalData: personal_data(),
    Purchase: purchases(),
    Receipt: receipts(),
    Reminder: reminders(request_ids=("rq1",)),
    RemovalCounts: removal_counts(),
    RetentionSetting: retention_settings(),
    Visit: visits(),
    Wallet: wallets(),
}
"""A strategy for every domain record type, standing alone."""


# ----------------------------------------------------------------------- datasets


class _Ids:
    """Hands out unique ids per prefix: ``k1``, ``k2``, ..."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}{self._counts[prefix]}"


def _leaky_texts(member: Member) -> st.SearchStrategy[str]:
    """Free text that quotes some of the member's personal values."""
    values = sorted(personal_strings(member))
    return st.lists(st.sampled_from(values), min_size=1, max_size=3).map(
        lambda picked: "called " + " and ".join(picked)
    )


@st.composite
def datasets(
    draw: st.DrawFn,
    *,
    min_members: int = 1,
    max_members: int = 8,
    personal_data_in_texts: bool = False,
    anonymized_members: bool = True,
    fresh_member: bool = False,
    requests: bool = False,
) -> Dataset:
    """A whole consistent network: clubs, employees, members and their records.

    Args:
        draw: Hypothesis' draw function.
        min_members: The fewest members.
        max_members: The most members.
        personal_data_in_texts: Copy members' personal values into their notes,
            log entries and document names (as careless staff would).
        anonymized_members: Allow members that are anonymized already.
        fresh_member: Make sure that at least the first member is not anonymized.
        requests: Also generate erasure requests (at most one open per member;
            an anonymization may complete one), reminders about them, the
            outbox (an event per anonymization, notices), and audit entries of
            every mode with the date they were evaluated on.
    """
    ids = _Ids()
    club_list = [draw(clubs(ids("c"))) for _ in range(draw(st.integers(1, 3)))]
    club_ids = [c.id for c in club_list]
    employee_list = [draw(employees(ids("e"))) for _ in range(draw(st.integers(1, 3)))]
    employee_ids = [e.id for e in employee_list]
    out: dict[str, list[Any]] = {name: [] for name in _RECORD_LISTS}
    out["clubs"] = club_list
    out["employees"] = employee_list
    zones = {c.id: c.timezone for c in club_list}

    def some(low: int, high: int) -> range:
        return range(draw(st.integers(low, high)))

    for serial in range(draw(st.integers(min_members, max_members))):
        member_id = ids("m")
        member = draw(
            members(
                member_id=member_id,
                club_ids=club_ids,
                serial=serial,
                anonymized=None
                if anonymized_members and not (fresh_member and serial == 0)
                else False,
            )
        )
        out["members"].append(member)
        own = [
            draw(contracts(contract_id=ids("k"), member_id=member_id, club_ids=club_ids))
            for _ in some(0, 3)
        ]
        out["contracts"].extend(own)
        if draw(st.booleans()):
            out["wallets"].append(draw(wallets(member_id)))
        for _ in some(0, 2):
            out["collection_cases"].append(
                draw(collection_cases(case_id=ids("w"), member_id=member_id, club_ids=club_ids))
            )
        for _ in some(0, 3):
            out["installments"].append(
                draw(
                    installments(
                        installment_id=ids("i"),
                        member_id=member_id,
                        club_ids=club_ids,
                        contracts_of_member=own,
                    )
                )
            )
        for _ in some(0, 2):
            out["purchases"].append(
                draw(purchases(purchase_id=ids("p"), member_id=member_id, club_ids=club_ids))
            )
        # Accounting documents keep the personal data as issued.
        issued_to = member.personal
        if member.is_anonymized:
            issued_to = draw(personal_data(member_id, serial))
        for _ in some(0, 2):
            out["invoices"].append(
                draw(
                    invoices(
                        invoice_id=ids("f"),
                        member_id=member_id,
                        club_ids=club_ids,
                        buyer=_buyer(issued_to),
                    )
                )
            )
        for _ in some(0, 2):
            out["receipts"].append(
                draw(
                    receipts(
                        receipt_id=ids("r"),
                        member_id=member_id,
                        club_ids=club_ids,
                        contractor_name=issued_to.display_name,
                    )
                )
            )
        for _ in some(0, 3):
            out["visits"].append(
                draw(visits(visit_id=ids("v"), member_id=member_id, club_ids=club_ids))
            )
        for _ in some(0, 3):
            out["class_bookings"].append(draw(class_bookings(ids("b"), member_id, club_ids)))
        for _ in some(0, 1):
            out["reminders"].append(draw(reminders(ids("rem"), member_id, club_ids)))
        if member.is_anonymized:
            assert member.anonymized_at is not None
            entry = draw(
                audit_entries(
                    entry_id=ids("a"),
                    member_id=member_id,
                    employee_ids=employee_ids,
                    at=member.anonymized_at,
                    actions=(AuditAction.ANONYMIZE,),
                    modes=tuple(AnonymizationMode) if requests else _FIRST_MODES,
                    with_as_of=requests,
                )
            )
            out["audit"].append(entry)
            if requests:
                _add_requests(draw, ids, out, member_id, zones, employee_ids, entry)
            for _ in some(0, 2):
                out["notes"].append(
                    draw(notes(ids("n"), member_id, note_types=(NoteType.GENERAL,)))
                )
            continue
        if requests:
            _add_requests(draw, ids, out, member_id, zones, employee_ids, None)
        texts = _leaky_texts(member) if personal_data_in_texts else None
        for _ in some(0, 2):
            out["measurements"].append(draw(measurements(ids("ms"), member_id)))
        for _ in some(0, 2):
            out["exercises"].append(draw(exercises(ids("x"), member_id)))
        for _ in some(0, 3):
            out["notes"].append(draw(notes(ids("n"), member_id, texts=texts)))
        for _ in some(0, 2):
            out["log_entries"].append(draw(log_entries(ids("l"), member_id, texts=texts)))
        for _ in some(0, 2):
            name = None if texts is None else texts.map(lambda t: f"{t}.pdf")
            out["documents"].append(draw(documents(ids("d"), member_id, names=name)))
    return Dataset(
        network=draw(networks()), **{name: tuple(records) for name, records in out.items()}
    ).sorted()


_RECORD_LISTS: Final = (
    "clubs",
    "employees",
    "members",
    "contracts",
    "wallets",
    "collection_cases",
    "installments",
    "purchases",
    "invoices",
    "receipts",
    "visits",
    "class_bookings",
    "measurements",
    "exercises",
    "notes",
    "log_entries",
    "documents",
    "reminders",
    "audit",
    "erasure_requests",
    "outbox",
)

_FIRST_MODES: Final = (AnonymizationMode.MANUAL, AnonymizationMode.RETENTION)
"""The anonymization modes of a dataset without erasure requests."""


def _add_requests(
    draw: st.DrawFn,
    ids: _Ids,
    out: dict[str, list[Any]],
    member_id: str,
    zones: Mapping[str, str],
    employee_ids: Sequence[str],
    entry: AuditEntry | None,
) -> None:
    """A member's erasure requests, their reminders and notices, and the anonymization event.

    ``entry`` is the member's anonymization, if any: its event goes to the
    outbox, and it completes a request received at least three days before
    (always when its mode is ``request``). A member has at most one open
    request, and an anonymized member none.
    """
    found: list[ErasureRequest] = []
    if entry is not None:
        assert entry.mode is not None
        last_day = entry.at.date() - dt.timedelta(days=3)
        wanted = entry.mode is AnonymizationMode.REQUEST or draw(st.booleans())
        if wanted and last_day >= WINDOW_START:
            request = draw(
                erasure_requests(
                    request_id=ids("rq"),
                    member_id=member_id,
                    club_zones=zones,
                    employee_ids=employee_ids,
                    statuses=(RequestStatus.OPEN,),
                    end=last_day,
                )
            )
            found.append(request.completed(at=entry.at, audit_entry_id=entry.id, by=entry.actor_id))
        out["outbox"].append(
            OutboxMessage(
                id=ids("o"),
                kind=OutboxKind.MEMBER_ANONYMIZED,
                member_id=member_id,
                created_at=entry.at,
                request_id=found[0].id if found else None,
                mode=entry.mode,
                delivered_at=_delivered(draw, entry.at),
            )
        )
    for _ in range(draw(st.integers(0, 2))):
        closed = (RequestStatus.WITHDRAWN, RequestStatus.REJECTED)
        may_open = entry is None and not any(r.is_open for r in found)
        statuses = (RequestStatus.OPEN, *closed) if may_open else closed
        found.append(
            draw(
                erasure_requests(
                    request_id=ids("rq"),
                    member_id=member_id,
                    club_zones=zones,
                    employee_ids=employee_ids,
                    statuses=statuses,
                )
            )
        )
    for request in found:
        out["erasure_requests"].append(request)
        for _ in range(draw(st.integers(0, 1))):
            out["outbox"].append(
                OutboxMessage(
                    id=ids("o"),
                    kind=OutboxKind.NOTICE,
                    member_id=member_id,
                    created_at=request.received_at,
                    request_id=request.id,
                    notice=draw(notices()),
                    delivered_at=_delivered(draw, request.received_at),
                )
            )
        if request.is_open:
            for _ in range(draw(st.integers(0, 2))):
                reminder = reminders(ids("rem"), member_id, (request.club_id,), (request.id,))
                out["reminders"].append(draw(reminder))


# ---------------------------------------------------------- personal-value tracing


def personal_strings(member: Member) -> frozenset[str]:
    """The member's personal values as they appear in text (birth date as ISO)."""
    p = member.personal
    values: list[str | None] = [p.first_name, p.last_name, p.email, p.phone, p.national_id]
    if p.birth_date is not None:
        values.append(p.birth_date.isoformat())
    if p.address is not None:
        a = p.address
        values.extend((a.street, a.postal_code, a.city, a.country))
    return frozenset(v for v in values if v)


@attrs.frozen(kw_only=True)
class Traces:
    """What betrays a member: their personal strings and photo bytes."""

    strings: frozenset[str]
    photo: bytes | None

    @classmethod
    def of(cls, member: Member) -> Traces:
        """The member's traces as they are now."""
        return cls(
            strings=personal_strings(member),
            photo=None if member.photo is None else member.photo.data,
        )


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)
    else:
        yield key, value


def find_traces(
    dataset: Dataset, traces: Traces, *, outside: Sequence[str] = ("invoices", "receipts")
) -> list[str]:
    """Where ``traces`` survive in the dataset's file form (the collections ``outside`` aside).

    Returns:
        One line per surviving value: the collection and what survived (the
        test's own generated value, never real personal data).
    """
    data = json.loads(json.dumps(unstructure_dataset(dataset)))
    found: list[str] = []
    for collection, records in data.items():
        if collection in outside:
            continue
        for key, value in _walk(records):
            if isinstance(value, str):
                found.extend(
                    f"{collection}.{key}: {s}" for s in sorted(traces.strings) if s in value
                )
                photo = traces.photo
                if photo is not None and key == "data_base64" and photo in base64.b64decode(value):
                    found.append(f"{collection}.{key}: photo bytes")
    return found


# ------------------------------------------------------------------ anonymizations


@attrs.frozen(kw_only=True)
class Attempt:
    """One press of "anonymize": who, on whom, on which date, with which option.

    Attributes:
        as_of: "Today", or ``None`` for the home club's local date at ``at``.
        at: The clock's instant.
    """

    member_id: str
    actor_id: str
    as_of: dt.date | None
    at: dt.datetime
    delete_all_notes: bool

    def day(self, dataset: Dataset) -> dt.date:
        """The date the rules apply on."""
        if self.as_of is not None:
            return self.as_of
        return home_club_date(dataset, self.member_id, self.at)


def boundary_days(dataset: Dataset, member_id: str) -> list[dt.date]:
    """The dates on which the member's blockers and warnings may flip, and their neighbours."""
    own = [
        r
        for name in ("contracts", "collection_cases", "installments")
        for r in getattr(dataset, name)
        if r.member_id == member_id
    ]
    fields = ("start", "end", "terminated_on", "opened_on", "closed_on", "due_on", "paid_on")
    found = {getattr(r, f) for r in own for f in fields if getattr(r, f, None) is not None}
    return sorted({d + dt.timedelta(days=shift) for d in found for shift in (-1, 0, 1)})


def as_of_days(dataset: Dataset, member_id: str) -> st.SearchStrategy[dt.date]:
    """A date to judge the member on: any day, often a boundary of their records."""
    boundaries = boundary_days(dataset, member_id)
    return days() | st.sampled_from(boundaries) if boundaries else days()


@st.composite
def attempts(
    draw: st.DrawFn,
    dataset: Dataset,
    *,
    member_ids: Sequence[str] | None = None,
    actor_ids: Sequence[str] | None = None,
) -> Attempt:
    """A random attempt on ``dataset``: any member, any date, mostly a permitted actor.

    The clock is never before the home club's local date ``as_of``: an
    anonymization refuses a date later than today.
    """
    if actor_ids is None:
        everyone = [e.id for e in dataset.employees]
        allowed = permitted_actors(dataset)
        actor_ids = draw(st.sampled_from((everyone, allowed, allowed))) if allowed else everyone
    member_id = draw(st.sampled_from(member_ids or [m.id for m in dataset.members]))
    as_of = draw(_optional(as_of_days(dataset, member_id)))
    at = draw(instants())
    if as_of is not None:
        # An anonymization may not be dated later than the home club's today:
        # move the clock on to that day when the drawn date lies ahead of it.
        ahead = (as_of - home_club_date(dataset, member_id, at)).days
        if ahead > 0:
            at += dt.timedelta(days=ahead + draw(st.integers(0, 1)))
            if home_club_date(dataset, member_id, at) < as_of:
                # A whole number of days in a fixed offset falls an hour short
                # of the date when the club's clock changed on the way.
                at += dt.timedelta(days=1)
    return Attempt(
        member_id=member_id,
        actor_id=draw(st.sampled_from(actor_ids)),
        as_of=as_of,
        at=at,
        delete_all_notes=draw(st.booleans()),
    )


def permitted_actors(dataset: Dataset) -> list[str]:
    """The employees who may anonymize."""
    return [e.id for e in dataset.employees if Permission.ANONYMIZE_MEMBER in e.permissions]


def with_permitted_actor(dataset: Dataset) -> Dataset:
    """``dataset`` with at least one employee who may anonymize."""
    if permitted_actors(dataset):
        return dataset
    boss = Employee(id="e-boss", name="Club Manager", permissions=frozenset(Permission))
    return attrs.evolve(dataset, employees=(*dataset.employees, boss)).sorted()


def eligible_variant(dataset: Dataset, member_id: str, day: dt.date) -> Dataset:
    """``dataset`` changed as little as needed for the member to be eligible on ``day``.

    Running contracts are terminated the day before, future ones cancelled,
    open collection cases closed (or dropped when opened later), a positive
    wallet emptied, overdue installments of debt-collection clubs paid, and
    "restrict processing" switched off. The member must not be anonymized.
    """
    collecting = {c.id for c in dataset.clubs if c.uses_debt_collection}
    before = day - dt.timedelta(days=1)

    def fix_contract(k: Contract) -> Contract:
        if k.member_id != member_id or (k.terminated_on is not None and k.terminated_on < k.start):
            return k
        if k.start > day or k.start == day:
            return attrs.evolve(k, terminated_on=k.start - dt.timedelta(days=1))
        ends = [d for d in (k.end, k.terminated_on) if d is not None]
        if not ends or min(ends) >= day:
            return attrs.evolve(k, terminated_on=before)
        return k

    cases: list[CollectionCase] = []
    for case in dataset.collection_cases:
        if case.member_id == member_id and (case.closed_on is None or case.closed_on > day):
            if case.opened_on > day:
                continue
            case = attrs.evolve(case, closed_on=day)
        cases.append(case)

    def fix_installment(i: Installment) -> Installment:
        overdue = (i.paid_on is None or i.paid_on > day) and i.due_on < day
        if i.member_id == member_id and overdue and i.club_id in collecting:
            return attrs.evolve(i, paid_on=day)
        return i

    members_ = []
    for m in dataset.members:
        if m.id == member_id:
            assert m.anonymized_at is None, "an anonymized member cannot become eligible"
            m = attrs.evolve(m, restrict_processing=False)
        members_.append(m)
    return attrs.evolve(
        dataset,
        members=tuple(members_),
        contracts=tuple(fix_contract(k) for k in dataset.contracts),
        collection_cases=tuple(cases),
        wallets=tuple(
            attrs.evolve(w, balance=Decimal("0.00"))
            if w.member_id == member_id and w.balance > 0
            else w
            for w in dataset.wallets
        ),
        installments=tuple(fix_installment(i) for i in dataset.installments),
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_attempts: int = 4,
    max_members: int = 8,
    personal_data_in_texts: bool = False,
    first_eligible: bool | None = None,
    delete_all_notes: bool | None = None,
) -> tuple[Dataset, tuple[Attempt, ...]]:
    """A dataset and a sequence of anonymization attempts on it.

    Args:
        draw: Hypothesis' draw function.
        max_attempts: The most attempts.
        max_members: Passed to :func:`datasets`.
        personal_data_in_texts: Passed to :func:`datasets`.
        first_eligible: Make the first attempt succeed (changing the dataset as
            little as needed); ``None``: in about half of the examples.
        delete_all_notes: Force the option on every attempt (``None``: random).
    """
    if first_eligible is None:
        first_eligible = draw(st.booleans())
    dataset = draw(
        datasets(
            max_members=max_members,
            personal_data_in_texts=personal_data_in_texts,
            fresh_member=first_eligible,
        )
    )
    fresh = [m.id for m in dataset.members if m.anonymized_at is None]
    plan: list[Attempt] = []
    if first_eligible:
        dataset = with_permitted_actor(dataset)
        first = draw(attempts(dataset, member_ids=fresh, actor_ids=permitted_actors(dataset)))
        dataset = eligible_variant(dataset, first.member_id, first.day(dataset))
        plan.append(first)
    for _ in range(draw(st.integers(0 if plan else 1, max_attempts - len(plan)))):
        plan.append(draw(attempts(dataset)))
    if delete_all_notes is not None:
        plan = [attrs.evolve(a, delete_all_notes=delete_all_notes) for a in plan]
    return dataset, tuple(plan)


# ------------------------------------------------------------- a request's life


DESK_ID: Final = "e-desk"
"""The employee :func:`with_desk` adds: every permission, so most desk steps go through."""


def with_desk(dataset: Dataset) -> Dataset:
    """``dataset`` with the employee :data:`DESK_ID`, who holds every permission."""
    if any(e.id == DESK_ID for e in dataset.employees):
        return dataset
    desk = Employee(id=DESK_ID, name="Front Desk", permissions=frozenset(Permission))
    return attrs.evolve(dataset, employees=(*dataset.employees, desk)).sorted()


def recorded_instants(dataset: Dataset) -> list[dt.datetime]:
    """Every instant the dataset records about requests, anonymizations, audit and outbox."""
    found: list[dt.datetime | None] = [m.anonymized_at for m in dataset.members]
    for r in dataset.erasure_requests:
        found += [r.received_at, r.closed_at, r.refusal_noticed_at]
        found.append(None if r.extension is None else r.extension.at)
    found += [a.at for a in dataset.audit]
    found += [m.created_at for m in dataset.outbox]
    found += [m.delivered_at for m in dataset.outbox]
    return [f for f in found if f is not None]


@st.composite
def clock_instants(draw: st.DrawFn, dataset: Dataset, *, max_days: int = 400) -> dt.datetime:
    """A clock no earlier than anything :func:`recorded_instants` finds (the clock never goes back).

    Often the latest recorded instant itself or the next second, often 22:00-23:59
    UTC (already the next day east of Greenwich), on days 28 to 31 of a month.
    """
    recorded = recorded_instants(dataset)
    base = max(recorded) if recorded else dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    shape = draw(st.sampled_from(("same", "second", "late", "any")))
    if shape == "same":
        return _fixed_offset(draw, base)
    if shape == "second":
        return _fixed_offset(draw, base + dt.timedelta(seconds=1))
    if shape == "late":
        first = base.astimezone(dt.UTC).date()
        day = draw(_received_days(first, first + dt.timedelta(days=max_days)))
        late = dt.time(draw(st.integers(22, 23)), draw(st.integers(0, 59)), tzinfo=dt.UTC)
        instant = dt.datetime.combine(day, late)
        return _fixed_offset(draw, max(instant, base))
    return _fixed_offset(draw, base + dt.timedelta(seconds=draw(st.integers(0, max_days * 86_400))))


def eligible_members_on(
    dataset: Dataset, member_ids: Sequence[str], days_: Mapping[str, dt.date]
) -> Dataset:
    """``dataset`` changed so that each of ``member_ids`` is eligible on its day in ``days_``."""
    for member_id in member_ids:
        dataset = eligible_variant(dataset, member_id, days_[member_id])
    return dataset


def member_day(dataset: Dataset, member_id: str, at: dt.datetime, as_of: dt.date | None) -> dt.date:
    """The day a run at ``at`` judges the member on: ``as_of``, or the home club's date."""
    return as_of if as_of is not None else home_club_date(dataset, member_id, at)


def earliest_today(dataset: Dataset, at: dt.datetime) -> dt.date:
    """The earliest local date of the network's clubs at ``at`` (no run may be dated later)."""
    return min(at.astimezone(ZoneInfo(c.timezone)).date() for c in dataset.clubs)


@attrs.frozen(kw_only=True)
class Receive:
    """The desk registers a request (received ``ago`` before now; ``None``: now)."""

    member_id: str
    actor_id: str
    anonymize: bool
    channel: RequestChannel
    ago: dt.timedelta | None


@attrs.frozen(kw_only=True)
class Extend:
    """The desk extends the picked request: to the latest day, or ``days`` after the deadline."""

    pick: int
    open_only: bool
    actor_id: str
    reason: ExtensionReason
    days: int | None


@attrs.frozen(kw_only=True)
class Withdraw:
    """The desk records that the member withdrew the picked request."""

    pick: int
    open_only: bool
    actor_id: str


@attrs.frozen(kw_only=True)
class Reject:
    """The desk rejects the picked request."""

    pick: int
    open_only: bool
    actor_id: str
    reason: RejectionReason


@attrs.frozen(kw_only=True)
class Process:
    """A processing run, dated ``days_back`` days before the earliest club's today (or today)."""

    days_back: int | None
    batch_size: int


@attrs.frozen(kw_only=True)
class AnonymizeNow:
    """An employee presses "anonymize" on a member (today)."""

    member_id: str
    actor_id: str


@attrs.frozen(kw_only=True)
class Sweep:
    """The retention sweep runs (today)."""


@attrs.frozen(kw_only=True)
class Advance:
    """Time passes: the clock moves on."""

    by: dt.timedelta


RequestStep = Receive | Extend | Withdraw | Reject | Process | AnonymizeNow | Sweep | Advance
"""One thing that happens in a request's life."""

STEP_KINDS: Final = (
    "receive",
    "extend",
    "withdraw",
    "reject",
    "process",
    "anonymize",
    "sweep",
    "advance",
)

_ADVANCES: Final = tuple(
    dt.timedelta(**kw)
    for kw in ({"days": 1}, {"hours": 23}, {"days": 7}, {"days": 27}, {"days": 31}, {"days": 92})
)


@st.composite
def request_steps(
    draw: st.DrawFn, dataset: Dataset, *, kinds: Sequence[str] = STEP_KINDS
) -> RequestStep:
    """One step on ``dataset``'s members; the actor is mostly :data:`DESK_ID`."""
    kind = draw(st.sampled_from(kinds))
    actors = [e.id for e in dataset.employees]
    actor = draw(st.sampled_from([DESK_ID] * 3 + actors)) if DESK_ID in actors else actors[0]
    member_id = draw(st.sampled_from([m.id for m in dataset.members]))
    pick, open_only = draw(st.integers(0, 63)), draw(st.integers(0, 3)) > 0
    if kind == "receive":
        ago = draw(
            st.none()
            | st.sampled_from((dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(days=1)))
            | st.integers(0, 40 * 86_400).map(lambda s: dt.timedelta(seconds=s))
        )
        return Receive(
            member_id=member_id,
            actor_id=actor,
            anonymize=draw(st.booleans()),
            channel=draw(st.sampled_from(RequestChannel)),
            ago=ago,
        )
    if kind == "extend":
        return Extend(
            pick=pick,
            open_only=open_only,
            actor_id=actor,
            reason=draw(st.sampled_from(ExtensionReason)),
            days=draw(st.none() | st.sampled_from((1, 2)) | st.integers(1, 92)),
        )
    if kind == "withdraw":
        return Withdraw(pick=pick, open_only=open_only, actor_id=actor)
    if kind == "reject":
        return Reject(
            pick=pick,
            open_only=open_only,
            actor_id=actor,
            reason=draw(st.sampled_from(RejectionReason)),
        )
    if kind == "process":
        return Process(
            days_back=draw(st.none() | st.sampled_from((0, 1)) | st.integers(0, 40)),
            batch_size=draw(st.sampled_from((1, 2, 200))),
        )
    if kind == "anonymize":
        return AnonymizeNow(member_id=member_id, actor_id=actor)
    if kind == "sweep":
        return Sweep()
    return Advance(
        by=draw(
            st.sampled_from(_ADVANCES)
            | st.integers(0, 60 * 86_400).map(lambda s: dt.timedelta(seconds=s))
        )
    )


@attrs.frozen(kw_only=True)
class RequestWorld:
    """A network with erasure requests, the clock's start, and what happens next.

    Attributes:
        dataset: The network (with :data:`DESK_ID`), some members eligible at ``start``.
        start: The clock's first instant, no earlier than anything recorded.
        steps: The steps, in order.
    """

    dataset: Dataset
    start: dt.datetime
    steps: tuple[RequestStep, ...] = ()


@st.composite
def request_worlds(
    draw: st.DrawFn,
    *,
    max_members: int = 4,
    max_steps: int = 6,
    min_steps: int = 1,
    kinds: Sequence[str] = STEP_KINDS,
    open_request: bool = False,
    eligible: bool = True,
    restrict: bool = False,
) -> RequestWorld:
    """A network with erasure requests, a clock, and a sequence of steps.

    Some members who are not anonymized yet are made eligible on their home
    club's date at the start (so that anonymizations happen), the others keep
    whatever blocks them. A request that records its ``refused`` notice has one.

    Args:
        draw: Hypothesis' draw function.
        max_members: Passed to :func:`datasets`.
        max_steps: The most steps.
        min_steps: The fewest steps.
        kinds: The kinds of steps to draw from (see :data:`STEP_KINDS`).
        open_request: Make sure the network has an open request (when a
            member is not anonymized yet).
        eligible: Make some members eligible at the start.
        restrict: Switch "restrict processing" on for some members with an
            open request, so that it stays open.
    """
    dataset = with_desk(draw(datasets(max_members=max_members, requests=True)))
    if open_request:
        dataset = draw(with_open_request(dataset))
    dataset = with_refusal_notices(dataset)
    start = draw(clock_instants(dataset))
    fresh = [m.id for m in dataset.members if m.anonymized_at is None]
    chosen = [m for m in fresh if eligible and draw(st.booleans())]
    if restrict:
        holders = {r.member_id for r in dataset.erasure_requests if r.is_open}
        kept = {m for m in sorted(holders) if draw(st.booleans())}
        members_ = tuple(
            attrs.evolve(m, restrict_processing=True) if m.id in kept else m
            for m in dataset.members
        )
        dataset = attrs.evolve(dataset, members=members_)
    dataset = eligible_members_on(
        dataset, chosen, {m: home_club_date(dataset, m, start) for m in chosen}
    )
    steps = draw(
        st.lists(request_steps(dataset, kinds=kinds), min_size=min_steps, max_size=max_steps)
    )
    return RequestWorld(dataset=dataset, start=start, steps=tuple(steps))


@st.composite
def with_open_request(draw: st.DrawFn, dataset: Dataset) -> Dataset:
    """``dataset`` with an open request of a member not anonymized yet, if it has none."""
    if any(r.is_open for r in dataset.erasure_requests):
        return dataset
    fresh = [m.id for m in dataset.members if m.anonymized_at is None]
    if not fresh:
        return dataset
    request = draw(
        erasure_requests(
            request_id="rq-open",
            member_id=draw(st.sampled_from(fresh)),
            club_zones={c.id: c.timezone for c in dataset.clubs},
            employee_ids=[e.id for e in dataset.employees],
            statuses=(RequestStatus.OPEN,),
        )
    )
    return attrs.evolve(dataset, erasure_requests=(*dataset.erasure_requests, request)).sorted()


@attrs.frozen(kw_only=True)
class RunWorld:
    """A network with open requests, and a processing run to make on it.

    Attributes:
        dataset: The network; the members of ``eligible`` are eligible on their day.
        at: The clock, no earlier than anything recorded.
        as_of: The run's date for every club (``None``: each home club's date).
        batch_size: Requests per unit of work.
        eligible: The members made eligible (others may happen to be too).
    """

    dataset: Dataset
    at: dt.datetime
    as_of: dt.date | None
    batch_size: int
    eligible: tuple[str, ...]


@st.composite
def run_worlds(draw: st.DrawFn, *, max_members: int = 5) -> RunWorld:
    """A network with open requests (mostly), some of their members eligible on the run's day."""
    dataset = with_desk(draw(datasets(max_members=max_members, requests=True)))
    dataset = with_refusal_notices(draw(with_open_request(dataset)))
    at = draw(clock_instants(dataset))
    today = earliest_today(dataset, at)
    back = draw(st.none() | st.sampled_from((0, 1)) | st.integers(0, 60))
    as_of = None if back is None else today - dt.timedelta(days=back)
    holders = sorted({r.member_id for r in dataset.erasure_requests if r.is_open})
    chosen = tuple(m for m in holders if draw(st.integers(0, 3)) > 0)
    days_ = {m: member_day(dataset, m, at, as_of) for m in chosen}
    return RunWorld(
        dataset=eligible_members_on(dataset, chosen, days_),
        at=at,
        as_of=as_of,
        batch_size=draw(st.sampled_from((1, 2, 3, 200))),
        eligible=chosen,
    )


def with_refusal_notices(dataset: Dataset) -> Dataset:
    """``dataset`` with a ``refused`` notice for every request that records one was produced."""
    noticed = {
        m.request_id
        for m in dataset.outbox
        if m.notice is not None and m.notice.kind is NoticeKind.REFUSED
    }
    added = tuple(
        OutboxMessage(
            id=f"o-refused-{r.id}",
            kind=OutboxKind.NOTICE,
            member_id=r.member_id,
            created_at=r.refusal_noticed_at,
            request_id=r.id,
            notice=Notice(
                kind=NoticeKind.REFUSED,
                language="en",
                subject="Request refused",
                body=f"request {r.id} cannot be carried out yet",
            ),
        )
        for r in dataset.erasure_requests
        if r.refusal_noticed_at is not None and r.id not in noticed
    )
    return attrs.evolve(dataset, outbox=(*dataset.outbox, *added)).sorted()

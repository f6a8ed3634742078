"""Small builders of domain records and datasets, so that a test reads like its case.

Every builder has defaults that make a valid record of member ``m1`` in club
``c1``; a test names only what matters to it::

    data = dataset(contract(start=TODAY, end=None), wallet(balance="0.01"))

The default personal data is deliberately distinctive (see :data:`PERSONAL_VALUES`)
so that tests can search any output for a leak.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from member_anonymization.domain import (
    Address,
    AnonymizationMode,
    AuditEntry,
    BinaryContent,
    Buyer,
    ClassBooking,
    Club,
    CollectionCase,
    Contract,
    Document,
    Employee,
    Exercise,
    Installment,
    Invoice,
    InvoiceLine,
    LogEntry,
    Measurement,
    Member,
    Network,
    Note,
    NoteType,
    Permission,
    PersonalData,
    Purchase,
    Receipt,
    Reminder,
    RemovalCounts,
    RetentionSetting,
    Visit,
    Wallet,
)
from member_anonymization.policy import MemberFacts
from member_anonymization.serialization import RECORD_TYPES, Dataset, dataset_problems

TODAY: Final = dt.date(2026, 11, 27)
"""The date most tests treat as "today"."""

YESTERDAY: Final = TODAY - dt.timedelta(days=1)
TOMORROW: Final = TODAY + dt.timedelta(days=1)

NOON_UTC: Final = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
"""An instant on :data:`TODAY` in every European club."""

FIRST_NAME: Final = "Zbigniew"
LAST_NAME: Final = "Brzęczyszczykiewicz"
FULL_NAME: Final = f"{FIRST_NAME} {LAST_NAME}"
EMAIL: Final = "zbigniew.brzeczyszczykiewicz@example.com"
PHONE: Final = "+48600100200"
NATIONAL_ID: Final = "90041212345"
BIRTH_DATE: Final = dt.date(1990, 4, 12)
STREET: Final = "Chrząszczyżewoszycka 5/3"
POSTAL_CODE: Final = "00-238"
CITY: Final = "Łękołody"
PHOTO_BYTES: Final = b"\xff\xd8\xff\xe0PHOTO-OF-THE-MEMBER"
HEALTH_NOTE_TEXT: Final = "Torn meniscus, avoid deep squats"
GENERAL_NOTE_TEXT: Final = "Prefers the morning classes"
LOG_TEXT: Final = f"Contract signed by {FULL_NAME}"
DOCUMENT_NAME: Final = "identity-card-scan-zb.pdf"
DOCUMENT_BYTES: Final = b"%PDF-1.7 scanned identity card"

PERSONAL_VALUES: Final = (
    FIRST_NAME,
    LAST_NAME,
    EMAIL,
    PHONE,
    NATIONAL_ID,
    BIRTH_DATE.isoformat(),
    STREET,
    CITY,
    HEALTH_NOTE_TEXT,
    LOG_TEXT,
    DOCUMENT_NAME,
)
"""Every personal text the default builders put into a member's profile.

The postal code is left out on purpose: it is too short to search for without
false alarms. Search bytes for :data:`PHOTO_BYTES` and :data:`DOCUMENT_BYTES`.
"""


def at(iso: str) -> dt.datetime:
    """A timezone-aware datetime from ISO 8601 text with an offset."""
    value = dt.datetime.fromisoformat(iso)
    if value.tzinfo is None:
        raise ValueError("give the offset: builders never make naive datetimes")
    return value


def day(iso: str) -> dt.date:
    """A date from ``YYYY-MM-DD``."""
    return dt.date.fromisoformat(iso)


def network(id: str = "net-1", *, name: str = "Fit Network") -> Network:
    """The network."""
    return Network(id=id, name=name)


def club(
    id: str = "c1",
    *,
    name: str | None = None,
    tz: str = "Europe/Warsaw",
    uses_debt_collection: bool = True,
    retention_months: int | None = None,
) -> Club:
    """A club (it uses debt collection unless told otherwise)."""
    return Club(
        id=id,
        name=name or f"Club {id}",
        timezone=tz,
        uses_debt_collection=uses_debt_collection,
        retention=None
        if retention_months is None
        else RetentionSetting(months_after_contract_end=retention_months),
    )


def employee(
    id: str = "e1",
    *,
    name: str = "Anna Recepcja",
    permissions: Iterable[Permission] = (
        Permission.ANONYMIZE_MEMBER,
        Permission.EXPORT_MEMBER_DATA,
    ),
) -> Employee:
    """An employee, allowed to anonymize and export unless told otherwise."""
    return Employee(id=id, name=name, permissions=frozenset(permissions))


def address(
    *,
    street: str = STREET,
    postal_code: str = POSTAL_CODE,
    city: str = CITY,
    country: str = "PL",
) -> Address:
    """The default member's address."""
    return Address(street=street, postal_code=postal_code, city=city, country=country)


def personal(
    *,
    first_name: str = FIRST_NAME,
    last_name: str = LAST_NAME,
    email: str | None = EMAIL,
    phone: str | None = PHONE,
    birth_date: dt.date | None = BIRTH_DATE,
    national_id: str | None = NATIONAL_ID,
    address: Address | None = None,
    with_address: bool = True,
) -> PersonalData:
    """Complete, distinctive personal data; ``with_address=False`` leaves the address out."""
    return PersonalData(
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        birth_date=birth_date,
        national_id=national_id,
        address=address if address is not None or not with_address else _default_address(),
    )


def _default_address() -> Address:
    return address()


def photo(data: bytes = PHOTO_BYTES, *, content_type: str = "image/jpeg") -> BinaryContent:
    """A profile photo."""
    return BinaryContent(content_type=content_type, data=data)


def member(
    id: str = "m1",
    *,
    home_club_id: str = "c1",
    registered_on: dt.date = dt.date(2018, 3, 1),
    personal_data: PersonalData | None = None,
    photo_content: BinaryContent | None = None,
    with_photo: bool = True,
    restrict_processing: bool = False,
    anonymized_at: dt.datetime | None = None,
) -> Member:
    """A member with complete personal data and a photo (unless ``with_photo=False``)."""
    return Member(
        id=id,
        home_club_id=home_club_id,
        registered_on=registered_on,
        personal=personal_data if personal_data is not None else personal(),
        photo=photo_content if photo_content is not None or not with_photo else photo(),
        restrict_processing=restrict_processing,
        anonymized_at=anonymized_at,
    )


def contract(
    id: str = "k1",
    *,
    member_id: str = "m1",
    club_id: str = "c1",
    start: dt.date = dt.date(2019, 1, 1),
    end: dt.date | None = dt.date(2019, 12, 31),
    terminated_on: dt.date | None = None,
    name: str = "Open 12M",
) -> Contract:
    """A contract, by default one that ended long ago."""
    return Contract(
        id=id,
        member_id=member_id,
        club_id=club_id,
        name=name,
        start=start,
        end=end,
        terminated_on=terminated_on,
    )


def wallet(balance: str = "0.00", *, member_id: str = "m1", currency: str = "PLN") -> Wallet:
    """A wallet, empty by default."""
    return Wallet(member_id=member_id, balance=Decimal(balance), currency=currency)


def collection_case(
    id: str = "w1",
    *,
    member_id: str = "m1",
    club_id: str = "c1",
    opened_on: dt.date = dt.date(2020, 2, 1),
    closed_on: dt.date | None = dt.date(2020, 6, 30),
) -> CollectionCase:
    """A debt-collection case, closed long ago by default."""
    return CollectionCase(
        id=id, member_id=member_id, club_id=club_id, opened_on=opened_on, closed_on=closed_on
    )


def installment(
    id: str = "i1",
    *,
    member_id: str = "m1",
    club_id: str = "c1",
    due_on: dt.date = dt.date(2019, 2, 10),
    amount: str = "129.00",
    currency: str = "PLN",
    contract_id: str | None = None,
    paid_on: dt.date | None = None,
) -> Installment:
    """An installment, unpaid unless ``paid_on`` is given."""
    return Installment(
        id=id,
        member_id=member_id,
        club_id=club_id,
        due_on=due_on,
        amount=Decimal(amount),
        currency=currency,
        contract_id=contract_id,
        paid_on=paid_on,
    )


def purchase(
    id: str = "p1",
    *,
    member_id: str = "m1",
    club_id: str = "c1",
    amount: str = "4.00",
    currency: str = "PLN",
    paid: bool = False,
    bought_at: dt.datetime = dt.datetime(2019, 3, 1, 10, tzinfo=dt.UTC),
    description: str = "Water",
) -> Purchase:
    """A purchase, unpaid unless told otherwise."""
    return Purchase(
        id=id,
        member_id=member_id,
        club_id=club_id,
        bought_at=bought_at,
        description=description,
        amount=Decimal(amount),
        currency=currency,
        paid=paid,
    )


def buyer(*, name: str = FULL_NAME, address: str = f"{STREET}, {POSTAL_CODE} {CITY}") -> Buyer:
    """The buyer printed on an invoice."""
    return Buyer(name=name, address=address, tax_id=None)


def invoice(
    id: str = "f1",
    *,
    member_id: str = "m1",
    club_id: str = "c1",
    number: str | None = None,
    issued_on: dt.date = dt.date(2019, 1, 1),
    invoice_buyer: Buyer | None = None,
    total: str = "129.00",
    currency: str = "PLN",
) -> Invoice:
    """A one-line VAT invoice issued to the default member."""
    return Invoice(
        id=id,
        number=number or f"FV/{id}",
        member_id=member_id,
        club_id=club_id,
        issued_on=issued_on,
        buyer=invoice_buyer if invoice_buyer is not None else buyer(),
        lines=(
            InvoiceLine(
                description="Open 12M - January",
                quantity=Decimal("1"),
                unit_price=Decimal(total),
                vat_rate="23",
            ),
        ),
        total=Decimal(total),
        currency=currency,
    )


def receipt(
    id: str = "r1",
    *,
    member_id: str = "m1",
    club_id: str = "c1",
    contractor_name: str = FULL_NAME,
    total: str = "4.00",
) -> Receipt:
    """A receipt with the contractor's name."""
    return Receipt(
        id=id,
        number=f"PAR/{id}",
        member_id=member_id,
        club_id=club_id,
        issued_at=dt.datetime(2019, 3, 1, 10, tzinfo=dt.UTC),
        contractor_name=contractor_name,
        total=Decimal(total),
        currency="PLN",
    )


def visit(id: str = "v1", *, member_id: str = "m1", club_id: str = "c1") -> Visit:
    """A visit of an hour and a half."""
    entered = dt.datetime(2019, 5, 3, 15, tzinfo=dt.UTC)
    return Visit(
        id=id,
        member_id=member_id,
        club_id=club_id,
        entered_at=entered,
        left_at=entered + dt.timedelta(minutes=90),
    )


def class_booking(id: str = "b1", *, member_id: str = "m1", club_id: str = "c1") -> ClassBooking:
    """An attended class booking."""
    return ClassBooking(
        id=id,
        member_id=member_id,
        club_id=club_id,
        class_name="Zumba",
        starts_at=dt.datetime(2019, 5, 4, 8, tzinfo=dt.UTC),
        attended=True,
    )


def measurement(id: str = "ms1", *, member_id: str = "m1") -> Measurement:
    """A weight measurement."""
    return Measurement(
        id=id,
        member_id=member_id,
        taken_on=dt.date(2019, 2, 1),
        kind="weight_kg",
        value=Decimal("82.5"),
    )


def exercise(id: str = "x1", *, member_id: str = "m1") -> Exercise:
    """A planned squat."""
    return Exercise(
        id=id,
        member_id=member_id,
        planned_on=dt.date(2019, 2, 1),
        name="Squat",
        sets=5,
        reps=5,
        weight_kg=Decimal("80"),
    )


def note(
    id: str = "n1",
    *,
    member_id: str = "m1",
    note_type: NoteType = NoteType.TRAINING_AND_HEALTH,
    text: str | None = None,
) -> Note:
    """A note; a "training and health" one unless told otherwise."""
    if text is None:
        text = HEALTH_NOTE_TEXT if note_type is NoteType.TRAINING_AND_HEALTH else GENERAL_NOTE_TEXT
    return Note(
        id=id,
        member_id=member_id,
        note_type=note_type,
        created_at=dt.datetime(2019, 2, 1, 11, tzinfo=dt.UTC),
        text=text,
    )


def log_entry(id: str = "l1", *, member_id: str = "m1", text: str = LOG_TEXT) -> LogEntry:
    """A line of the Log tab."""
    return LogEntry(
        id=id, member_id=member_id, at=dt.datetime(2019, 1, 1, 8, tzinfo=dt.UTC), text=text
    )


def document(id: str = "d1", *, member_id: str = "m1", name: str = DOCUMENT_NAME) -> Document:
    """A scanned document of the Documents tab."""
    return Document(
        id=id,
        member_id=member_id,
        name=name,
        uploaded_at=dt.datetime(2019, 1, 1, 8, 5, tzinfo=dt.UTC),
        content_type="application/pdf",
        data=DOCUMENT_BYTES,
    )


def reminder(
    id: str = "rm1",
    *,
    member_id: str = "m1",
    club_id: str = "c1",
    kind: str = "unpaid_purchases",
    amount: str | None = "4.00",
) -> Reminder:
    """A reminder left by an earlier anonymization."""
    return Reminder(
        id=id,
        member_id=member_id,
        club_id=club_id,
        kind=kind,
        created_at=NOON_UTC,
        amount=None if amount is None else Decimal(amount),
        currency=None if amount is None else "PLN",
    )


def audit_entry(
    id: str = "a1",
    *,
    member_id: str = "m1",
    actor_id: str | None = "e1",
    mode: AnonymizationMode = AnonymizationMode.MANUAL,
) -> AuditEntry:
    """An audit entry of an earlier anonymization."""
    return AuditEntry(
        id=id,
        member_id=member_id,
        actor_id=actor_id,
        at=NOON_UTC,
        mode=mode,
        removed=RemovalCounts(personal_data=1),
    )


def profile_records(member_id: str = "m1", *, club_id: str = "c1") -> tuple[Any, ...]:
    """One record of every kind on a member's profile, none of them blocking.

    An old contract with its paid installment, an empty wallet, a closed
    collection case, a paid purchase, an invoice, a receipt, a visit, a class
    booking, a measurement, an exercise, a "training and health" and a general
    note, a log entry and a document. Ids are suffixed with the member id.
    """
    s = f"-{member_id}"
    return (
        contract(f"k{s}", member_id=member_id, club_id=club_id),
        installment(
            f"i{s}",
            member_id=member_id,
            club_id=club_id,
            contract_id=f"k{s}",
            paid_on=dt.date(2019, 2, 9),
        ),
        wallet(member_id=member_id),
        collection_case(f"w{s}", member_id=member_id, club_id=club_id),
        purchase(f"p{s}", member_id=member_id, club_id=club_id, paid=True),
        invoice(f"f{s}", member_id=member_id, club_id=club_id),
        receipt(f"r{s}", member_id=member_id, club_id=club_id),
        visit(f"v{s}", member_id=member_id, club_id=club_id),
        class_booking(f"b{s}", member_id=member_id, club_id=club_id),
        measurement(f"ms{s}", member_id=member_id),
        exercise(f"x{s}", member_id=member_id),
        note(f"nh{s}", member_id=member_id),
        note(f"ng{s}", member_id=member_id, note_type=NoteType.GENERAL),
        log_entry(f"l{s}", member_id=member_id),
        document(f"d{s}", member_id=member_id),
    )


_COLLECTION_OF: Final[Mapping[type[Any], str]] = {cls: name for name, cls in RECORD_TYPES.items()}


def dataset(
    *records: Any,
    net: Network | None = None,
    defaults: bool = True,
    check: bool = True,
) -> Dataset:
    """A dataset holding ``records``, each put in its collection by type.

    Args:
        records: Domain records of any kind, in any order.
        net: The network (by default :func:`network`).
        defaults: Add :func:`club`, :func:`employee` and :func:`member` when no
            record of that kind is among ``records``.
        check: Raise when ids repeat or a reference dangles (a store with
            foreign keys would refuse such a dataset).

    Raises:
        TypeError: A record of a kind the dataset does not hold.
        ValueError: With ``check``, the dataset is inconsistent.
    """
    lists: dict[str, list[Any]] = {name: [] for name in RECORD_TYPES}
    for record in records:
        name = _COLLECTION_OF.get(type(record))
        if name is None:
            raise TypeError(f"a dataset holds no {type(record).__name__}")
        lists[name].append(record)
    if defaults:
        for name, make in (("clubs", club), ("employees", employee), ("members", member)):
            if not lists[name]:
                lists[name].append(make())
    data = Dataset(
        network=net if net is not None else network(),
        **{name: tuple(items) for name, items in lists.items()},
    )
    if check:
        problems = dataset_problems(data)
        if problems:
            raise ValueError("inconsistent test dataset: " + "; ".join(map(str, problems)))
    return data


def facts(the_member: Member | None = None, *records: Any) -> MemberFacts:
    """The policy's facts of a member (by default :func:`member`) and their records."""
    m = the_member if the_member is not None else member()
    by_kind: dict[type[Any], list[Any]] = {
        Contract: [],
        CollectionCase: [],
        Wallet: [],
        Installment: [],
        Purchase: [],
    }
    for record in records:
        if type(record) not in by_kind:
            raise TypeError(f"the policy does not look at {type(record).__name__}")
        by_kind[type(record)].append(record)
    return MemberFacts(
        member=m,
        contracts=tuple(by_kind[Contract]),
        collection_cases=tuple(by_kind[CollectionCase]),
        wallets=tuple(by_kind[Wallet]),
        installments=tuple(by_kind[Installment]),
        purchases=tuple(by_kind[Purchase]),
    )


def clubs(*items: Club) -> dict[str, Club]:
    """Clubs by id (by default the single :func:`club`)."""
    return {c.id: c for c in (items or (club(),))}

"""How the gym application's columns map to the library's records, and back.

The application keeps money in grosze, days as text, instants as UTC epoch
seconds plus an offset in minutes, and its own codes for note types,
permissions and audit modes. Each ``*_from`` function turns one
:class:`sqlite3.Row` into a record; the adapter and the tests' snapshot both
use them, so that what a reader returns and what a snapshot shows agree.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

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
    Exercise,
    Installment,
    Invoice,
    InvoiceLine,
    LogEntry,
    Measurement,
    Member,
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

MEMBER: Final = "klubowicz"
"""``people.rola`` of a member."""
EMPLOYEE: Final = "pracownik"
"""``people.rola`` of an employee."""

NOTE_TYPES: Final = {
    NoteType.TRAINING_AND_HEALTH: "TRENING_ZDROWIE",
    NoteType.GENERAL: "OGOLNA",
}
NOTE_TYPES_BACK: Final = {code: kind for kind, code in NOTE_TYPES.items()}

PERMISSIONS: Final = {
    "ANONIMIZACJA": Permission.ANONYMIZE_MEMBER,
    "EKSPORT_DANYCH": Permission.EXPORT_MEMBER_DATA,
}
"""The application's permission codes that the library knows; others are ignored."""
PERMISSIONS_BACK: Final = {permission: code for code, permission in PERMISSIONS.items()}

MODES: Final = {AnonymizationMode.MANUAL: "RECZNIE", AnonymizationMode.RETENTION: "RETENCJA"}
MODES_BACK: Final = {code: mode for mode, code in MODES.items()}
ACTIONS: Final = {AuditAction.ANONYMIZE: "ANONIMIZACJA", AuditAction.EXPORT: "EKSPORT"}
ACTIONS_BACK: Final = {code: action for action, code in ACTIONS.items()}

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND: Final = dt.timedelta(seconds=1)
_MINUTE: Final = dt.timedelta(minutes=1)


# --------------------------------------------------------------------------- values


def grosze(amount: Decimal) -> int:
    """An amount in grosze; the application keeps no fractions of a grosz."""
    scaled = amount.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise ValueError("the application keeps amounts in whole grosze")
    return int(scaled)


def from_grosze(value: int) -> Decimal:
    """An amount in grosze as a decimal with two places."""
    return Decimal(value).scaleb(-2)


def optional_grosze(amount: Decimal | None) -> int | None:
    """:func:`grosze`, keeping ``None``."""
    return None if amount is None else grosze(amount)


def epoch(at: dt.datetime) -> tuple[int, int]:
    """An instant as (UTC epoch seconds, offset in minutes); sub-seconds are dropped."""
    offset = at.utcoffset()
    if offset is None:
        raise ValueError("the application stores timezone-aware instants only")
    return (at - _EPOCH) // _SECOND, offset // _MINUTE


def optional_epoch(at: dt.datetime | None) -> tuple[int | None, int | None]:
    """:func:`epoch`, keeping ``None``."""
    return (None, None) if at is None else epoch(at)


def instant(utc: int, offset_minutes: int) -> dt.datetime:
    """The instant of (UTC epoch seconds, offset in minutes), in its own offset."""
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    return (_EPOCH + dt.timedelta(seconds=utc)).astimezone(zone)


def optional_instant(utc: int | None, offset_minutes: int | None) -> dt.datetime | None:
    """:func:`instant`, keeping ``None``."""
    return None if utc is None or offset_minutes is None else instant(utc, offset_minutes)


def day(value: str) -> dt.date:
    """A ``YYYY-MM-DD`` column."""
    return dt.date.fromisoformat(value)


def optional_day(value: str | None) -> dt.date | None:
    """:func:`day`, keeping ``None``."""
    return None if value is None else day(value)


def day_text(value: dt.date | None) -> str | None:
    """A day as the application stores it."""
    return None if value is None else value.isoformat()


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal (measurements, weights, quantities) as text, exactly."""
    return None if value is None else str(value)


def split_name(name: str) -> tuple[str, str]:
    """An employee's one-line name as (imie, nazwisko)."""
    first, _, last = name.partition(" ")
    return first, last


# --------------------------------------------------------------------------- people


def personal_columns(personal: PersonalData) -> dict[str, str | None]:
    """Every personal column of ``people`` for ``personal`` (absent values as NULL)."""
    address = personal.address
    return {
        "imie": personal.first_name,
        "nazwisko": personal.last_name,
        "email": personal.email,
        "telefon": personal.phone,
        "data_urodzenia": day_text(personal.birth_date),
        "pesel": personal.national_id,
        "ulica": None if address is None else address.street,
        "kod_pocztowy": None if address is None else address.postal_code,
        "miasto": None if address is None else address.city,
        "kraj": None if address is None else address.country,
    }


PERSONAL_COLUMNS: Final = tuple(personal_columns(PersonalData(first_name="-", last_name="-")))
"""Every column of ``people`` that holds personal data, photo aside."""


def member_from(row: sqlite3.Row) -> Member:
    """A ``people`` row of a member."""
    address = None
    if row["ulica"] is not None:
        address = Address(
            street=row["ulica"],
            postal_code=row["kod_pocztowy"],
            city=row["miasto"],
            country=row["kraj"],
        )
    photo = None
    if row["zdjecie"] is not None:
        photo = BinaryContent(content_type=row["zdjecie_mime"], data=bytes(row["zdjecie"]))
    return Member(
        id=row["id"],
        home_club_id=row["klub_id"],
        registered_on=day(row["zarejestrowano"]),
        personal=PersonalData(
            first_name=row["imie"],
            last_name=row["nazwisko"],
            email=row["email"],
            phone=row["telefon"],
            birth_date=optional_day(row["data_urodzenia"]),
            national_id=row["pesel"],
            address=address,
        ),
        photo=photo,
        restrict_processing=bool(row["ogranicz_przetwarzanie"]),
        anonymized_at=optional_instant(row["zanonimizowano_utc"], row["zanonimizowano_tz"]),
    )


def employee_from(row: sqlite3.Row, codes: Iterable[str]) -> Employee:
    """A ``people`` row of an employee, with their ``uprawnienia`` codes."""
    name = f"{row['imie']} {row['nazwisko']}".strip()
    permissions = frozenset(PERMISSIONS[c] for c in codes if c in PERMISSIONS)
    return Employee(id=row["id"], name=name, permissions=permissions)


def club_from(row: sqlite3.Row) -> Club:
    """A ``kluby`` row."""
    months = row["retencja_mies"]
    return Club(
        id=row["id"],
        name=row["nazwa"],
        timezone=row["strefa_czasowa"],
        uses_debt_collection=bool(row["windykacja"]),
        retention=None if months is None else RetentionSetting(months_after_contract_end=months),
    )


# --------------------------------------------------------------------------- facts


def contract_from(row: sqlite3.Row) -> Contract:
    """An ``umowy`` row."""
    return Contract(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        name=row["nazwa"],
        start=day(row["od_dnia"]),
        end=optional_day(row["do_dnia"]),
        terminated_on=optional_day(row["wypowiedziano"]),
    )


def wallet_from(row: sqlite3.Row) -> Wallet:
    """A ``portfele`` row."""
    return Wallet(
        member_id=row["osoba_id"], balance=from_grosze(row["saldo_gr"]), currency=row["waluta"]
    )


def collection_case_from(row: sqlite3.Row) -> CollectionCase:
    """A ``windykacja`` row."""
    return CollectionCase(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        opened_on=day(row["otwarto"]),
        closed_on=optional_day(row["zamknieto"]),
    )


def installment_from(row: sqlite3.Row) -> Installment:
    """A ``payments_plan`` row."""
    return Installment(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        contract_id=row["umowa_id"],
        due_on=day(row["termin"]),
        amount=from_grosze(row["kwota_gr"]),
        currency=row["waluta"],
        paid_on=optional_day(row["zaplacono"]),
    )


def purchase_from(row: sqlite3.Row) -> Purchase:
    """A ``zakupy`` row."""
    return Purchase(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        bought_at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        description=row["opis"],
        amount=from_grosze(row["kwota_gr"]),
        currency=row["waluta"],
        paid=bool(row["zaplacone"]),
    )


# --------------------------------------------------------------------------- accounting


def invoice_from(row: sqlite3.Row, lines: Iterable[sqlite3.Row]) -> Invoice:
    """A ``faktury`` row with its ``faktury_pozycje`` rows (in ``lp`` order)."""
    return Invoice(
        id=row["id"],
        number=row["numer"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        issued_on=day(row["wystawiono"]),
        buyer=Buyer(name=row["nabywca"], address=row["nabywca_adres"], tax_id=row["nabywca_nip"]),
        lines=tuple(
            InvoiceLine(
                description=line["opis"],
                quantity=Decimal(line["ilosc"]),
                unit_price=from_grosze(line["cena_gr"]),
                vat_rate=line["stawka_vat"],
            )
            for line in lines
        ),
        total=from_grosze(row["suma_gr"]),
        currency=row["waluta"],
    )


def receipt_from(row: sqlite3.Row) -> Receipt:
    """A ``paragony`` row."""
    return Receipt(
        id=row["id"],
        number=row["numer"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        issued_at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        contractor_name=row["kontrahent"],
        total=from_grosze(row["suma_gr"]),
        currency=row["waluta"],
    )


# --------------------------------------------------------------------------- profile


def visit_from(row: sqlite3.Row) -> Visit:
    """A ``wejscia`` row."""
    return Visit(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        entered_at=instant(row["wejscie_utc"], row["wejscie_tz"]),
        left_at=optional_instant(row["wyjscie_utc"], row["wyjscie_tz"]),
    )


def class_booking_from(row: sqlite3.Row) -> ClassBooking:
    """A ``rezerwacje`` row."""
    return ClassBooking(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        class_name=row["zajecia"],
        starts_at=instant(row["start_utc"], row["start_tz"]),
        attended=bool(row["obecnosc"]),
    )


def measurement_from(row: sqlite3.Row) -> Measurement:
    """A ``pomiary`` row."""
    return Measurement(
        id=row["id"],
        member_id=row["osoba_id"],
        taken_on=day(row["dzien"]),
        kind=row["rodzaj"],
        value=Decimal(row["wartosc"]),
    )


def exercise_from(row: sqlite3.Row) -> Exercise:
    """A ``cwiczenia`` row."""
    weight = row["ciezar_kg"]
    return Exercise(
        id=row["id"],
        member_id=row["osoba_id"],
        planned_on=day(row["dzien"]),
        name=row["nazwa"],
        sets=row["serie"],
        reps=row["powtorzenia"],
        weight_kg=None if weight is None else Decimal(weight),
    )


def note_from(row: sqlite3.Row) -> Note:
    """A ``notatki`` row."""
    return Note(
        id=row["id"],
        member_id=row["osoba_id"],
        note_type=NOTE_TYPES_BACK[row["typ"]],
        created_at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        text=row["tresc"],
    )


def log_entry_from(row: sqlite3.Row) -> LogEntry:
    """A ``log_profilu`` row."""
    return LogEntry(
        id=row["id"],
        member_id=row["osoba_id"],
        at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        text=row["tresc"],
    )


def document_from(row: sqlite3.Row) -> Document:
    """A ``dokumenty`` row, with its content."""
    return Document(
        id=row["id"],
        member_id=row["osoba_id"],
        name=row["nazwa_pliku"],
        uploaded_at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        content_type=row["mime"],
        data=bytes(row["dane"]),
    )


# --------------------------------------------------------------------------- written by the library


def reminder_columns(reminder: Reminder) -> tuple[object, ...]:
    """A ``przypomnienia`` row, in column order."""
    utc, tz = epoch(reminder.created_at)
    return (
        reminder.id,
        reminder.member_id,
        reminder.club_id,
        reminder.kind,
        utc,
        tz,
        optional_grosze(reminder.amount),
        reminder.currency,
    )


def reminder_from(row: sqlite3.Row) -> Reminder:
    """A ``przypomnienia`` row."""
    amount = row["kwota_gr"]
    return Reminder(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        kind=row["rodzaj"],
        created_at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        amount=None if amount is None else from_grosze(amount),
        currency=row["waluta"],
    )


def audit_columns(entry: AuditEntry) -> tuple[object, ...]:
    """An ``audyt`` row, in column order."""
    utc, tz = epoch(entry.at)
    removed = entry.removed
    return (
        entry.id,
        entry.member_id,
        entry.actor_id,
        utc,
        tz,
        MODES[entry.mode],
        ACTIONS[entry.action],
        removed.personal_data,
        removed.photo,
        removed.log_entries,
        removed.documents,
        removed.measurements,
        removed.exercises,
        removed.notes,
    )


def audit_from(row: sqlite3.Row) -> AuditEntry:
    """An ``audyt`` row."""
    return AuditEntry(
        id=row["id"],
        member_id=row["osoba_id"],
        actor_id=row["pracownik_id"],
        at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        mode=MODES_BACK[row["tryb"]],
        action=ACTIONS_BACK[row["akcja"]],
        removed=RemovalCounts(
            personal_data=row["usuniete_dane"],
            photo=row["usuniete_zdjecie"],
            log_entries=row["usuniete_log"],
            documents=row["usuniete_dokumenty"],
            measurements=row["usuniete_pomiary"],
            exercises=row["usuniete_cwiczenia"],
            notes=row["usuniete_notatki"],
        ),
    )

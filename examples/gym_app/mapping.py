"""How the gym application's columns map to the library's records, and back.

The application keeps money in grosze, days as text, instants as UTC epoch
seconds plus an offset in minutes, and its own codes for note types,
permissions, audit modes, and the channels, statuses and reasons of erasure
requests. Each ``*_from`` function turns one
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
    ErasureRequest,
    Exercise,
    ExtensionReason,
    Installment,
    Invoice,
    InvoiceLine,
    LogEntry,
    Measurement,
    Member,
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
    "WNIOSKI_RODO": Permission.HANDLE_ERASURE_REQUESTS,
}
"""The application's permission codes that the library knows; others are ignored."""
PERMISSIONS_BACK: Final = {permission: code for code, permission in PERMISSIONS.items()}

MODES: Final = {
    AnonymizationMode.MANUAL: "RECZNIE",
    AnonymizationMode.RETENTION: "RETENCJA",
    AnonymizationMode.REQUEST: "WNIOSEK",
}
MODES_BACK: Final = {code: mode for mode, code in MODES.items()}
ACTIONS: Final = {AuditAction.ANONYMIZE: "ANONIMIZACJA", AuditAction.EXPORT: "EKSPORT"}
ACTIONS_BACK: Final = {code: action for action, code in ACTIONS.items()}

CHANNELS: Final = {
    RequestChannel.DESK: "RECEPCJA",
    RequestChannel.EMAIL: "EMAIL",
    RequestChannel.LETTER: "LIST",
    RequestChannel.APP: "APLIKACJA",
    RequestChannel.OTHER: "INNY",
}
CHANNELS_BACK: Final = {code: channel for channel, code in CHANNELS.items()}
STATUSES: Final = {
    RequestStatus.OPEN: "OTWARTY",
    RequestStatus.COMPLETED: "ZREALIZOWANY",
    RequestStatus.WITHDRAWN: "WYCOFANY",
    RequestStatus.REJECTED: "ODRZUCONY",
}
"""``wnioski_rodo.status``."""
STATUSES_BACK: Final = {code: status for status, code in STATUSES.items()}
EXTENSION_REASONS: Final = {
    ExtensionReason.COMPLEXITY: "ZLOZONOSC",
    ExtensionReason.NUMBER_OF_REQUESTS: "LICZBA_WNIOSKOW",
}
EXTENSION_REASONS_BACK: Final = {code: reason for reason, code in EXTENSION_REASONS.items()}
REJECTION_REASONS: Final = {
    RejectionReason.IDENTITY_NOT_VERIFIED: "TOZSAMOSC",
    RejectionReason.MANIFESTLY_UNFOUNDED: "BEZZASADNY",
    RejectionReason.EXCESSIVE: "NADMIERNY",
}
REJECTION_REASONS_BACK: Final = {code: reason for reason, code in REJECTION_REASONS.items()}

OUTBOX_KINDS: Final = {
    OutboxKind.MEMBER_ANONYMIZED: "ZANONIMIZOWANO",
    OutboxKind.NOTICE: "ZAWIADOMIENIE",
}
"""``do_wyslania.rodzaj``."""
OUTBOX_KINDS_BACK: Final = {code: kind for kind, code in OUTBOX_KINDS.items()}
NOTICE_KINDS: Final = {
    NoticeKind.RECEIVED: "PRZYJETO",
    NoticeKind.EXTENDED: "PRZEDLUZONO",
    NoticeKind.REFUSED: "ODMOWA",
    NoticeKind.REJECTED: "ODRZUCONO",
    NoticeKind.COMPLETED: "ZREALIZOWANO",
}
"""``do_wyslania.zawiadomienie``."""
NOTICE_KINDS_BACK: Final = {code: kind for kind, code in NOTICE_KINDS.items()}

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
        reminder.request_id,
        reminder.action,
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
        request_id=row["wniosek_id"],
        action=row["czynnosc"],
    )


def audit_columns(entry: AuditEntry) -> tuple[object, ...]:
    """An ``audyt`` row, in column order (an export may have no mode and no counts)."""
    utc, tz = epoch(entry.at)
    removed = entry.removed
    counts = (
        (None,) * 7
        if removed is None
        else (
            removed.personal_data,
            removed.photo,
            removed.log_entries,
            removed.documents,
            removed.measurements,
            removed.exercises,
            removed.notes,
        )
    )
    return (
        entry.id,
        entry.member_id,
        entry.actor_id,
        utc,
        tz,
        None if entry.mode is None else MODES[entry.mode],
        ACTIONS[entry.action],
        *counts,
        day_text(entry.as_of),
    )


def audit_from(row: sqlite3.Row) -> AuditEntry:
    """An ``audyt`` row."""
    mode = row["tryb"]
    removed = None
    if row["usuniete_dane"] is not None:
        removed = RemovalCounts(
            personal_data=row["usuniete_dane"],
            photo=row["usuniete_zdjecie"],
            log_entries=row["usuniete_log"],
            documents=row["usuniete_dokumenty"],
            measurements=row["usuniete_pomiary"],
            exercises=row["usuniete_cwiczenia"],
            notes=row["usuniete_notatki"],
        )
    return AuditEntry(
        id=row["id"],
        member_id=row["osoba_id"],
        actor_id=row["pracownik_id"],
        at=instant(row["kiedy_utc"], row["kiedy_tz"]),
        mode=None if mode is None else MODES_BACK[mode],
        action=ACTIONS_BACK[row["akcja"]],
        removed=removed,
        as_of=optional_day(row["stan_na"]),
    )


# --------------------------------------------------------------------------- requests, outbox


def request_columns(request: ErasureRequest) -> dict[str, object]:
    """A ``wnioski_rodo`` row, by column name."""
    extension = request.extension
    received_utc, received_tz = epoch(request.received_at)
    extended_utc, extended_tz = optional_epoch(None if extension is None else extension.at)
    closed_utc, closed_tz = optional_epoch(request.closed_at)
    refused_utc, refused_tz = optional_epoch(request.refusal_noticed_at)
    reason = request.rejection_reason
    return {
        "id": request.id,
        "osoba_id": request.member_id,
        "klub_id": request.club_id,
        "wplynal_utc": received_utc,
        "wplynal_tz": received_tz,
        "wplynal_dnia": day_text(request.received_on),
        "kanal": CHANNELS[request.channel],
        "przyjal_id": request.registered_by,
        "status": STATUSES[request.status],
        "termin": day_text(request.deadline),
        "przedluzono_do": None if extension is None else day_text(extension.deadline),
        "przedluzono_powod": None if extension is None else EXTENSION_REASONS[extension.reason],
        "przedluzono_utc": extended_utc,
        "przedluzono_tz": extended_tz,
        "przedluzyl_id": None if extension is None else extension.by,
        "zamknieto_utc": closed_utc,
        "zamknieto_tz": closed_tz,
        "zamknal_id": request.closed_by,
        "powod_odrzucenia": None if reason is None else REJECTION_REASONS[reason],
        "audyt_id": request.audit_entry_id,
        "przypomniano_termin": int(request.reminded_near_deadline),
        "przypomniano_po_terminie": int(request.reminded_overdue),
        "odmowa_utc": refused_utc,
        "odmowa_tz": refused_tz,
    }


REQUEST_COLUMNS: Final = tuple(
    request_columns(
        ErasureRequest.receive(
            id="-",
            member_id="-",
            club_id="-",
            received_at=_EPOCH,
            received_on=_EPOCH.date(),
            channel=RequestChannel.OTHER,
            registered_by=None,
        )
    )
)
"""Every column of ``wnioski_rodo``, in :func:`request_columns` order."""


def request_from(row: sqlite3.Row) -> ErasureRequest:
    """A ``wnioski_rodo`` row."""
    extension = None
    if row["przedluzono_do"] is not None:
        extension = RequestExtension(
            deadline=day(row["przedluzono_do"]),
            reason=EXTENSION_REASONS_BACK[row["przedluzono_powod"]],
            at=instant(row["przedluzono_utc"], row["przedluzono_tz"]),
            by=row["przedluzyl_id"],
        )
    reason = row["powod_odrzucenia"]
    return ErasureRequest(
        id=row["id"],
        member_id=row["osoba_id"],
        club_id=row["klub_id"],
        received_at=instant(row["wplynal_utc"], row["wplynal_tz"]),
        received_on=day(row["wplynal_dnia"]),
        channel=CHANNELS_BACK[row["kanal"]],
        registered_by=row["przyjal_id"],
        status=STATUSES_BACK[row["status"]],
        deadline=day(row["termin"]),
        extension=extension,
        closed_at=optional_instant(row["zamknieto_utc"], row["zamknieto_tz"]),
        closed_by=row["zamknal_id"],
        rejection_reason=None if reason is None else REJECTION_REASONS_BACK[reason],
        audit_entry_id=row["audyt_id"],
        reminded_near_deadline=bool(row["przypomniano_termin"]),
        reminded_overdue=bool(row["przypomniano_po_terminie"]),
        refusal_noticed_at=optional_instant(row["odmowa_utc"], row["odmowa_tz"]),
    )


def message_columns(message: OutboxMessage) -> tuple[object, ...]:
    """A ``do_wyslania`` row, in column order."""
    notice = message.notice
    return (
        message.id,
        OUTBOX_KINDS[message.kind],
        message.member_id,
        *epoch(message.created_at),
        message.request_id,
        None if message.mode is None else MODES[message.mode],
        None if notice is None else NOTICE_KINDS[notice.kind],
        None if notice is None else notice.language,
        None if notice is None else notice.subject,
        None if notice is None else notice.body,
        *optional_epoch(message.delivered_at),
    )


def message_from(row: sqlite3.Row) -> OutboxMessage:
    """A ``do_wyslania`` row."""
    notice = None
    if row["zawiadomienie"] is not None:
        notice = Notice(
            kind=NOTICE_KINDS_BACK[row["zawiadomienie"]],
            language=row["jezyk"],
            subject=row["temat"],
            body=row["tresc"],
        )
    mode = row["tryb"]
    return OutboxMessage(
        id=row["id"],
        kind=OUTBOX_KINDS_BACK[row["rodzaj"]],
        member_id=row["osoba_id"],
        created_at=instant(row["utworzono_utc"], row["utworzono_tz"]),
        request_id=row["wniosek_id"],
        mode=None if mode is None else MODES_BACK[mode],
        notice=notice,
        delivered_at=optional_instant(row["dostarczono_utc"], row["dostarczono_tz"]),
    )

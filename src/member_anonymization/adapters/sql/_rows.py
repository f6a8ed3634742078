"""Converting between domain records and table rows, both ways.

``*_row`` functions turn a record into the dict of its main table's columns;
``*_from`` functions build the record back from a result row. Child rows
(photos, permissions, invoice lines) have their own functions. A timestamp
that the schema cannot hold exactly raises :class:`FieldError` naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Row

from member_anonymization.adapters.sql._schema import REMOVAL_COUNTS
from member_anonymization.adapters.sql._types import InstantError, join_instant, split_instant
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
from member_anonymization.errors import MemberAnonymizationError

__all__ = [
    "DATASET_FIELDS",
    "FieldError",
    "personal_columns",
]

Values = dict[str, Any]


class FieldError(MemberAnonymizationError, ValueError):
    """A field whose value the schema cannot hold exactly.

    Attributes:
        field: The field's name in the dataset format.
        reason: What is wrong (never the value).
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


DATASET_FIELDS: Final[Mapping[str, str]] = {
    "address_street": "address.street",
    "address_postal_code": "address.postal_code",
    "address_city": "address.city",
    "address_country": "address.country",
    "start_on": "start",
    "end_on": "end",
    "note_type": "type",
    "buyer_name": "buyer.name",
    "buyer_address": "buyer.address",
    "buyer_tax_id": "buyer.tax_id",
    "retention_months": "retention.months_after_contract_end",
    "extension_deadline": "extension.deadline",
    "extension_reason": "extension.reason",
    "extension_at": "extension.at",
    "extension_by": "extension.by",
    "notice_kind": "notice.kind",
    "notice_language": "notice.language",
    "notice_subject": "notice.subject",
    "notice_body": "notice.body",
}
"""Column names that differ from the dataset's field names (column -> field)."""


def _put(row: Values, name: str, value: dt.datetime | None) -> None:
    if value is None:
        row[name] = None
        row[f"{name}_offset"] = None
        return
    try:
        row[name], row[f"{name}_offset"] = split_instant(value)
    except InstantError as exc:
        raise FieldError(name, str(exc)) from None


def _get(row: Row[Any], name: str) -> dt.datetime:
    mapping = row._mapping
    return join_instant(mapping[name], mapping[f"{name}_offset"])


def _get_optional(row: Row[Any], name: str) -> dt.datetime | None:
    mapping = row._mapping
    utc = mapping[name]
    return None if utc is None else join_instant(utc, mapping[f"{name}_offset"])


# --- organisation -----------------------------------------------------------


def network_row(record: Network) -> Values:
    """The ``network`` row."""
    return {"id": record.id, "name": record.name}


def network_from(row: Row[Any]) -> Network:
    """A network."""
    return Network(id=row.id, name=row.name)


def club_row(record: Club) -> Values:
    """A ``clubs`` row."""
    return {
        "id": record.id,
        "name": record.name,
        "timezone": record.timezone,
        "uses_debt_collection": record.uses_debt_collection,
        "retention_months": None
        if record.retention is None
        else record.retention.months_after_contract_end,
    }


def club_from(row: Row[Any]) -> Club:
    """A club."""
    months = row.retention_months
    return Club(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        uses_debt_collection=bool(row.uses_debt_collection),
        retention=None if months is None else RetentionSetting(months_after_contract_end=months),
    )


def employee_row(record: Employee) -> Values:
    """An ``employees`` row."""
    return {"id": record.id, "name": record.name}


def permission_rows(record: Employee) -> Iterator[Values]:
    """The ``employee_permissions`` rows of an employee."""
    for permission in sorted(record.permissions, key=lambda p: p.value):
        yield {"employee_id": record.id, "permission": permission.value}


def employee_from(row: Row[Any], permissions: Iterable[str]) -> Employee:
    """An employee with their permissions (given as text values)."""
    return Employee(
        id=row.id, name=row.name, permissions=frozenset(Permission(p) for p in permissions)
    )


# --- members ----------------------------------------------------------------


def personal_columns(personal: PersonalData) -> Values:
    """The ``members`` columns that hold personal data."""
    address = personal.address
    return {
        "first_name": personal.first_name,
        "last_name": personal.last_name,
        "email": personal.email,
        "phone": personal.phone,
        "birth_date": personal.birth_date,
        "national_id": personal.national_id,
        "address_street": None if address is None else address.street,
        "address_postal_code": None if address is None else address.postal_code,
        "address_city": None if address is None else address.city,
        "address_country": None if address is None else address.country,
    }


def member_row(record: Member) -> Values:
    """A ``members`` row (the photo goes to ``member_photos``)."""
    row: Values = {
        "id": record.id,
        "home_club_id": record.home_club_id,
        "registered_on": record.registered_on,
        **personal_columns(record.personal),
        "restrict_processing": record.restrict_processing,
    }
    _put(row, "anonymized_at", record.anonymized_at)
    return row


def photo_row(record: Member) -> Values | None:
    """The ``member_photos`` row of a member, or ``None`` without a photo."""
    if record.photo is None:
        return None
    return {
        "member_id": record.id,
        "content_type": record.photo.content_type,
        "data": record.photo.data,
    }


def member_from(row: Row[Any]) -> Member:
    """A member from a ``members`` row joined with ``photo_content_type`` and ``photo_data``."""
    address = None
    if row.address_street is not None:
        address = Address(
            street=row.address_street,
            postal_code=row.address_postal_code,
            city=row.address_city,
            country=row.address_country,
        )
    photo = None
    if row.photo_data is not None:
        photo = BinaryContent(content_type=row.photo_content_type, data=bytes(row.photo_data))
    return Member(
        id=row.id,
        home_club_id=row.home_club_id,
        registered_on=row.registered_on,
        personal=PersonalData(
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            phone=row.phone,
            birth_date=row.birth_date,
            national_id=row.national_id,
            address=address,
        ),
        photo=photo,
        restrict_processing=bool(row.restrict_processing),
        anonymized_at=_get_optional(row, "anonymized_at"),
    )


# --- contracts and money ----------------------------------------------------


def contract_row(record: Contract) -> Values:
    """A ``contracts`` row."""
    return {
        "id": record.id,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "name": record.name,
        "start_on": record.start,
        "end_on": record.end,
        "terminated_on": record.terminated_on,
    }


def contract_from(row: Row[Any]) -> Contract:
    """A contract."""
    return Contract(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        name=row.name,
        start=row.start_on,
        end=row.end_on,
        terminated_on=row.terminated_on,
    )


def wallet_row(record: Wallet) -> Values:
    """A ``wallets`` row."""
    return {"member_id": record.member_id, "balance": record.balance, "currency": record.currency}


def wallet_from(row: Row[Any]) -> Wallet:
    """A wallet."""
    return Wallet(member_id=row.member_id, balance=row.balance, currency=row.currency)


def collection_case_row(record: CollectionCase) -> Values:
    """A ``collection_cases`` row."""
    return {
        "id": record.id,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "opened_on": record.opened_on,
        "closed_on": record.closed_on,
    }


def collection_case_from(row: Row[Any]) -> CollectionCase:
    """A collection case."""
    return CollectionCase(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        opened_on=row.opened_on,
        closed_on=row.closed_on,
    )


def installment_row(record: Installment) -> Values:
    """An ``installments`` row."""
    return {
        "id": record.id,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "contract_id": record.contract_id,
        "due_on": record.due_on,
        "amount": record.amount,
        "currency": record.currency,
        "paid_on": record.paid_on,
    }


def installment_from(row: Row[Any]) -> Installment:
    """An installment."""
    return Installment(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        contract_id=row.contract_id,
        due_on=row.due_on,
        amount=row.amount,
        currency=row.currency,
        paid_on=row.paid_on,
    )


def purchase_row(record: Purchase) -> Values:
    """A ``purchases`` row."""
    row: Values = {
        "id": record.id,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "description": record.description,
        "amount": record.amount,
        "currency": record.currency,
        "paid": record.paid,
    }
    _put(row, "bought_at", record.bought_at)
    return row


def purchase_from(row: Row[Any]) -> Purchase:
    """A purchase."""
    return Purchase(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        bought_at=_get(row, "bought_at"),
        description=row.description,
        amount=row.amount,
        currency=row.currency,
        paid=bool(row.paid),
    )


def invoice_row(record: Invoice) -> Values:
    """An ``invoices`` row (its lines go to ``invoice_lines``)."""
    return {
        "id": record.id,
        "number": record.number,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "issued_on": record.issued_on,
        "buyer_name": record.buyer.name,
        "buyer_address": record.buyer.address,
        "buyer_tax_id": record.buyer.tax_id,
        "total": record.total,
        "currency": record.currency,
    }


def invoice_line_rows(record: Invoice) -> Iterator[Values]:
    """The ``invoice_lines`` rows of an invoice, numbered from 0 in order."""
    for position, line in enumerate(record.lines):
        yield {
            "invoice_id": record.id,
            "position": position,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "vat_rate": line.vat_rate,
        }


def invoice_line_from(row: Row[Any]) -> InvoiceLine:
    """An invoice line."""
    return InvoiceLine(
        description=row.description,
        quantity=row.quantity,
        unit_price=row.unit_price,
        vat_rate=row.vat_rate,
    )


def invoice_from(row: Row[Any], lines: Sequence[InvoiceLine]) -> Invoice:
    """An invoice with its lines."""
    return Invoice(
        id=row.id,
        number=row.number,
        member_id=row.member_id,
        club_id=row.club_id,
        issued_on=row.issued_on,
        buyer=Buyer(name=row.buyer_name, address=row.buyer_address, tax_id=row.buyer_tax_id),
        lines=tuple(lines),
        total=row.total,
        currency=row.currency,
    )


def receipt_row(record: Receipt) -> Values:
    """A ``receipts`` row."""
    row: Values = {
        "id": record.id,
        "number": record.number,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "contractor_name": record.contractor_name,
        "total": record.total,
        "currency": record.currency,
    }
    _put(row, "issued_at", record.issued_at)
    return row


def receipt_from(row: Row[Any]) -> Receipt:
    """A receipt."""
    return Receipt(
        id=row.id,
        number=row.number,
        member_id=row.member_id,
        club_id=row.club_id,
        issued_at=_get(row, "issued_at"),
        contractor_name=row.contractor_name,
        total=row.total,
        currency=row.currency,
    )


# --- activity records -------------------------------------------------------


def visit_row(record: Visit) -> Values:
    """A ``visits`` row."""
    row: Values = {"id": record.id, "member_id": record.member_id, "club_id": record.club_id}
    _put(row, "entered_at", record.entered_at)
    _put(row, "left_at", record.left_at)
    return row


def visit_from(row: Row[Any]) -> Visit:
    """A visit."""
    return Visit(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        entered_at=_get(row, "entered_at"),
        left_at=_get_optional(row, "left_at"),
    )


def class_booking_row(record: ClassBooking) -> Values:
    """A ``class_bookings`` row."""
    row: Values = {
        "id": record.id,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "class_name": record.class_name,
        "attended": record.attended,
    }
    _put(row, "starts_at", record.starts_at)
    return row


def class_booking_from(row: Row[Any]) -> ClassBooking:
    """A class booking."""
    return ClassBooking(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        class_name=row.class_name,
        starts_at=_get(row, "starts_at"),
        attended=bool(row.attended),
    )


def measurement_row(record: Measurement) -> Values:
    """A ``measurements`` row."""
    return {
        "id": record.id,
        "member_id": record.member_id,
        "taken_on": record.taken_on,
        "kind": record.kind,
        "value": record.value,
    }


def measurement_from(row: Row[Any]) -> Measurement:
    """A measurement."""
    return Measurement(
        id=row.id,
        member_id=row.member_id,
        taken_on=row.taken_on,
        kind=row.kind,
        value=row.value,
    )


def exercise_row(record: Exercise) -> Values:
    """An ``exercises`` row."""
    return {
        "id": record.id,
        "member_id": record.member_id,
        "planned_on": record.planned_on,
        "name": record.name,
        "sets": record.sets,
        "reps": record.reps,
        "weight_kg": record.weight_kg,
    }


def exercise_from(row: Row[Any]) -> Exercise:
    """An exercise."""
    return Exercise(
        id=row.id,
        member_id=row.member_id,
        planned_on=row.planned_on,
        name=row.name,
        sets=row.sets,
        reps=row.reps,
        weight_kg=row.weight_kg,
    )


def note_row(record: Note) -> Values:
    """A ``notes`` row."""
    row: Values = {
        "id": record.id,
        "member_id": record.member_id,
        "note_type": record.note_type.value,
        "text": record.text,
    }
    _put(row, "created_at", record.created_at)
    return row


def note_from(row: Row[Any]) -> Note:
    """A note."""
    return Note(
        id=row.id,
        member_id=row.member_id,
        note_type=NoteType(row.note_type),
        created_at=_get(row, "created_at"),
        text=row.text,
    )


def log_entry_row(record: LogEntry) -> Values:
    """A ``log_entries`` row."""
    row: Values = {"id": record.id, "member_id": record.member_id, "text": record.text}
    _put(row, "at", record.at)
    return row


def log_entry_from(row: Row[Any]) -> LogEntry:
    """A log entry."""
    return LogEntry(id=row.id, member_id=row.member_id, at=_get(row, "at"), text=row.text)


def document_row(record: Document) -> Values:
    """A ``documents`` row."""
    row: Values = {
        "id": record.id,
        "member_id": record.member_id,
        "name": record.name,
        "content_type": record.content_type,
        "data": record.data,
    }
    _put(row, "uploaded_at", record.uploaded_at)
    return row


def document_from(row: Row[Any]) -> Document:
    """A document with its content."""
    return Document(
        id=row.id,
        member_id=row.member_id,
        name=row.name,
        uploaded_at=_get(row, "uploaded_at"),
        content_type=row.content_type,
        data=bytes(row.data),
    )


# --- what the library writes ------------------------------------------------


def reminder_row(record: Reminder) -> Values:
    """A ``reminders`` row."""
    row: Values = {
        "id": record.id,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "kind": record.kind,
        "amount": record.amount,
        "currency": record.currency,
        "request_id": record.request_id,
        "action": record.action,
    }
    _put(row, "created_at", record.created_at)
    return row


def reminder_from(row: Row[Any]) -> Reminder:
    """A reminder."""
    return Reminder(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        kind=row.kind,
        created_at=_get(row, "created_at"),
        amount=row.amount,
        currency=row.currency,
        request_id=row.request_id,
        action=row.action,
    )


def audit_row(record: AuditEntry) -> Values:
    """An ``audit_entries`` row (an export's has no mode and no counts)."""
    row: Values = {
        "id": record.id,
        "member_id": record.member_id,
        "actor_id": record.actor_id,
        "mode": None if record.mode is None else record.mode.value,
        "action": record.action.value,
        "as_of": record.as_of,
    }
    for name in REMOVAL_COUNTS:
        row[f"removed_{name}"] = None if record.removed is None else getattr(record.removed, name)
    _put(row, "at", record.at)
    return row


def audit_from(row: Row[Any]) -> AuditEntry:
    """An audit entry."""
    mapping = row._mapping
    counts = {name: mapping[f"removed_{name}"] for name in REMOVAL_COUNTS}
    return AuditEntry(
        id=row.id,
        member_id=row.member_id,
        actor_id=row.actor_id,
        at=_get(row, "at"),
        mode=None if row.mode is None else AnonymizationMode(row.mode),
        action=AuditAction(row.action),
        removed=None if counts["personal_data"] is None else RemovalCounts(**counts),
        as_of=row.as_of,
    )


def erasure_request_row(record: ErasureRequest) -> Values:
    """An ``erasure_requests`` row."""
    extension = record.extension
    row: Values = {
        "id": record.id,
        "member_id": record.member_id,
        "club_id": record.club_id,
        "received_on": record.received_on,
        "channel": record.channel.value,
        "registered_by": record.registered_by,
        "status": record.status.value,
        "deadline": record.deadline,
        "extension_deadline": None if extension is None else extension.deadline,
        "extension_reason": None if extension is None else extension.reason.value,
        "extension_by": None if extension is None else extension.by,
        "closed_by": record.closed_by,
        "rejection_reason": None
        if record.rejection_reason is None
        else record.rejection_reason.value,
        "audit_entry_id": record.audit_entry_id,
        "reminded_near_deadline": record.reminded_near_deadline,
        "reminded_overdue": record.reminded_overdue,
    }
    _put(row, "received_at", record.received_at)
    _put(row, "extension_at", None if extension is None else extension.at)
    _put(row, "closed_at", record.closed_at)
    _put(row, "refusal_noticed_at", record.refusal_noticed_at)
    return row


def erasure_request_from(row: Row[Any]) -> ErasureRequest:
    """An erasure request."""
    extension = None
    if row.extension_deadline is not None:
        extension = RequestExtension(
            deadline=row.extension_deadline,
            reason=ExtensionReason(row.extension_reason),
            at=_get(row, "extension_at"),
            by=row.extension_by,
        )
    return ErasureRequest(
        id=row.id,
        member_id=row.member_id,
        club_id=row.club_id,
        received_at=_get(row, "received_at"),
        received_on=row.received_on,
        channel=RequestChannel(row.channel),
        registered_by=row.registered_by,
        status=RequestStatus(row.status),
        deadline=row.deadline,
        extension=extension,
        closed_at=_get_optional(row, "closed_at"),
        closed_by=row.closed_by,
        rejection_reason=None
        if row.rejection_reason is None
        else RejectionReason(row.rejection_reason),
        audit_entry_id=row.audit_entry_id,
        reminded_near_deadline=row.reminded_near_deadline,
        reminded_overdue=row.reminded_overdue,
        refusal_noticed_at=_get_optional(row, "refusal_noticed_at"),
    )


def outbox_row(record: OutboxMessage) -> Values:
    """An ``outbox_messages`` row."""
    notice = record.notice
    row: Values = {
        "id": record.id,
        "kind": record.kind.value,
        "member_id": record.member_id,
        "request_id": record.request_id,
        "mode": None if record.mode is None else record.mode.value,
        "notice_kind": None if notice is None else notice.kind.value,
        "notice_language": None if notice is None else notice.language,
        "notice_subject": None if notice is None else notice.subject,
        "notice_body": None if notice is None else notice.body,
    }
    _put(row, "created_at", record.created_at)
    _put(row, "delivered_at", record.delivered_at)
    return row


def outbox_from(row: Row[Any]) -> OutboxMessage:
    """An outbox message."""
    notice = None
    if row.notice_kind is not None:
        notice = Notice(
            kind=NoticeKind(row.notice_kind),
            language=row.notice_language,
            subject=row.notice_subject,
            body=row.notice_body,
        )
    return OutboxMessage(
        id=row.id,
        kind=OutboxKind(row.kind),
        member_id=row.member_id,
        created_at=_get(row, "created_at"),
        request_id=row.request_id,
        mode=None if row.mode is None else AnonymizationMode(row.mode),
        notice=notice,
        delivered_at=_get_optional(row, "delivered_at"),
    )

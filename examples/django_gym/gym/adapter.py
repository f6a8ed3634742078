"""The gym's adapter: every port of :mod:`member_anonymization.ports` over its models.

Built on :class:`~member_anonymization.contrib.django.DjangoUnitOfWork`: one explicit
transaction begun lazily (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE``
on PostgreSQL), files deleted after the commit, ``member_anonymized`` sent after it.
Records are read with :func:`read_records`, which maps a model's columns to a record's
fields by name (``ref`` is the id, ``member_no`` and the club's ``code`` the references)
and shows instants in the club's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final, TypeVar, cast

import attrs
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db.models import Case, Count, DateField, F, Max, Q, QuerySet, When
from django.db.models.functions import Coalesce

from examples.django_gym.gym import models as g
from member_anonymization import domain as d
from member_anonymization.contrib.django import (
    DjangoUnitOfWork,
    blank_to_none,
    employee_from_user,
    to_club_time,
    to_database,
)
from member_anonymization.policy import MemberFacts
from member_anonymization.serialization import converter as CONVERTER

T = TypeVar("T")
NOTE_KINDS: Final = {
    g.Note.TRAINING: d.NoteType.TRAINING_AND_HEALTH,
    g.Note.GENERAL: d.NoteType.GENERAL,
    g.Note.FRONT_DESK: d.NoteType.GENERAL,
}
MODELS: Final[dict[type[Any], type[Any]]] = {
    d.Contract: g.Contract, d.Wallet: g.Wallet, d.CollectionCase: g.CollectionCase,
    d.Installment: g.Installment, d.Purchase: g.Purchase, d.Receipt: g.Receipt,
    d.Visit: g.Visit, d.ClassBooking: g.ClassBooking, d.Measurement: g.Measurement,
    d.Exercise: g.Exercise, d.Note: g.Note, d.LogEntry: g.LogEntry,
    d.Document: g.Document, d.Reminder: g.Reminder,
}  # fmt: skip
_COLUMNS: Final = {
    "id": F("ref"), "member_id": F("member__member_no"), "club_id": F("club__code"),
    "contract_id": F("contract__ref"), "note_type": F("kind"), "data": F("file"),
}  # fmt: skip


def read_file(name: str) -> bytes:
    """The content of a stored file."""
    with default_storage.open(name, "rb") as stored:
        data: bytes = stored.read()
        return data


_CONVERT: Final = {"note_type": NOTE_KINDS.__getitem__, "data": read_file}


def read_records(cls: type[T], queryset: QuerySet[Any]) -> list[T]:
    """Records of ``cls`` from the rows of ``queryset`` (one query, instants in club time)."""
    names = [f.name for f in attrs.fields(cast(Any, cls))]
    has_club = any(f.name == "club" for f in queryset.model._meta.fields)
    zone = F("club__timezone" if has_club else "member__home_club__timezone")
    rows = queryset.values(v_zone=zone, **{f"v_{n}": _COLUMNS.get(n, F(n)) for n in names})
    out = []
    for row in rows:
        values = {n: row[f"v_{n}"] for n in names}
        for n, v in values.items():
            if isinstance(v, dt.datetime):
                values[n] = to_club_time(v, row["v_zone"])
            elif n in _CONVERT:
                values[n] = _CONVERT[n](v)
        out.append(cls(**values))
    return out


def club_from(row: g.Club) -> d.Club:
    """A club from its row."""
    months = row.retention_months
    return d.Club(
        id=row.code, name=row.name, timezone=row.timezone,
        uses_debt_collection=row.uses_debt_collection,
        retention=None if months is None else d.RetentionSetting(months_after_contract_end=months),
    )  # fmt: skip


def personal_columns(personal: d.PersonalData) -> dict[str, Any]:
    """The member's personal columns: ``""`` blanks, but NULL for the unique e-mail."""
    address = personal.address
    return {
        "first_name": personal.first_name, "last_name": personal.last_name,
        "email": personal.email, "phone": personal.phone or "",
        "birth_date": personal.birth_date, "national_id": personal.national_id or "",
        "street": None if address is None else address.street,
        "postal_code": "" if address is None else address.postal_code,
        "city": "" if address is None else address.city,
        "country": "" if address is None else address.country,
    }  # fmt: skip


def member_from(row: g.Member) -> d.Member:
    """A member from its row (``select_related("home_club")``)."""
    zone = row.home_club.timezone
    address = None
    if row.street is not None:
        address = d.Address(
            street=row.street, postal_code=row.postal_code, city=row.city, country=row.country
        )
    return d.Member(
        id=row.member_no, home_club_id=row.home_club.code, registered_on=row.registered_on,
        personal=d.PersonalData(
            first_name=row.first_name, last_name=row.last_name, email=row.email,
            phone=blank_to_none(row.phone), birth_date=row.birth_date,
            national_id=blank_to_none(row.national_id), address=address,
        ),
        photo=d.BinaryContent(content_type=row.photo_type, data=read_file(str(row.photo.name)))
        if row.photo else None,
        restrict_processing=row.restrict_processing,
        anonymized_at=None if row.anonymized_at is None else to_club_time(row.anonymized_at, zone),
    )  # fmt: skip


def invoices_from(queryset: QuerySet[g.Invoice]) -> list[d.Invoice]:
    """Invoices with their lines (two queries)."""
    lines: defaultdict[int, list[d.InvoiceLine]] = defaultdict(list)
    rows = g.InvoiceLine.objects.using(queryset.db).filter(invoice__in=queryset)
    for line in rows.order_by("invoice_id", "position"):
        lines[line.invoice_id].append(
            d.InvoiceLine(description=line.description, quantity=line.quantity,
                          unit_price=line.unit_price, vat_rate=line.vat_rate)
        )  # fmt: skip
    return [invoice_from(i, lines[i.pk]) for i in queryset.select_related("member", "club")]


def invoice_from(i: g.Invoice, lines: list[d.InvoiceLine]) -> d.Invoice:
    """An invoice from its row (``select_related("member", "club")``) and its lines."""
    return d.Invoice(
        id=i.ref, number=i.number, member_id=i.member.member_no, club_id=i.club.code,
        issued_on=i.issued_on, lines=tuple(lines), total=i.total, currency=i.currency,
        buyer=d.Buyer(name=i.buyer_name, address=i.buyer_address, tax_id=i.buyer_tax_id),
    )  # fmt: skip


def logged(cls: type[T], queryset: QuerySet[Any]) -> list[T]:
    """The library's records kept as JSON."""
    return [CONVERTER.structure(data, cls) for data in queryset.values_list("data", flat=True)]


class _Repository:
    def __init__(self, uow: GymUnitOfWork) -> None:
        self._uow = uow

    def q(self, model: type[T]) -> QuerySet[Any]:
        return model.objects.using(self._uow.db)  # type: ignore[attr-defined,no-any-return]

    def of(self, cls: type[T], member_id: d.MemberId) -> list[T]:
        return read_records(cls, self.q(MODELS[cls]).filter(member__member_no=member_id))

    def delete(self, model: type[Any], ids: Sequence[str], **where: Any) -> dict[str, int]:
        rows = self.q(model).filter(member__member_no__in=ids, **where)
        if model is g.Document:
            self._uow.delete_files_on_commit(row.file for row in rows)
        counts = Counter(rows.values_list("member__member_no", flat=True))
        rows.delete()
        return dict(counts)


class Members(_Repository):
    def get(self, member_id: d.MemberId) -> d.Member | None:
        row = self.q(g.Member).select_related("home_club").filter(member_no=member_id).first()
        return None if row is None else member_from(row)

    def lock(self, member_ids: Sequence[d.MemberId], *, skip_locked: bool = False) -> list[str]:
        rows = self.q(g.Member).filter(member_no__in=member_ids).only("member_no")
        found = {row.member_no for row in self._uow.lock_rows(rows, skip_locked=skip_locked)}
        return [i for i in dict.fromkeys(member_ids) if i in found]

    def replace_personal_data(self, replacements: Mapping[d.MemberId, d.PersonalData]) -> None:
        for member_id, personal in replacements.items():
            self.q(g.Member).filter(member_no=member_id).update(**personal_columns(personal))

    def delete_photos(self, member_ids: Sequence[d.MemberId]) -> dict[str, int]:
        rows = list(self.q(g.Member).filter(member_no__in=member_ids).exclude(photo=""))
        self._uow.delete_files_on_commit(row.photo for row in rows)
        self.q(g.Member).filter(pk__in=[r.pk for r in rows]).update(photo="", photo_type="")
        return {row.member_no: 1 for row in rows}

    def mark_anonymized(self, member_ids: Sequence[d.MemberId], at: dt.datetime) -> None:
        self.q(g.Member).filter(member_no__in=member_ids).update(anonymized_at=to_database(at))
        self._uow.notify_anonymized(member_ids)


class Facts(_Repository):
    KINDS: Final = {
        "contracts": d.Contract, "collection_cases": d.CollectionCase, "wallets": d.Wallet,
        "installments": d.Installment, "purchases": d.Purchase,
    }  # fmt: skip

    def load_facts(self, member_ids: Sequence[d.MemberId]) -> dict[str, MemberFacts]:
        rows = self.q(g.Member).select_related("home_club").filter(member_no__in=member_ids)
        grouped: dict[str, defaultdict[str, list[Any]]] = {}
        for name, cls in self.KINDS.items():
            grouped[name] = defaultdict(list)
            filtered = self.q(MODELS[cls]).filter(member__member_no__in=member_ids)
            record: Any
            for record in read_records(cls, filtered):
                grouped[name][record.member_id].append(record)
        return {
            row.member_no: MemberFacts(
                member=member_from(row),
                **{name: tuple(grouped[name][row.member_no]) for name in self.KINDS},
            )
            for row in rows
        }


class Records(_Repository):
    def delete_log_entries(self, member_ids: Sequence[d.MemberId]) -> dict[str, int]:
        return self.delete(g.LogEntry, member_ids)

    def delete_documents(self, member_ids: Sequence[d.MemberId]) -> dict[str, int]:
        return self.delete(g.Document, member_ids)

    def delete_measurements(self, member_ids: Sequence[d.MemberId]) -> dict[str, int]:
        return self.delete(g.Measurement, member_ids)

    def delete_exercises(self, member_ids: Sequence[d.MemberId]) -> dict[str, int]:
        return self.delete(g.Exercise, member_ids)

    def delete_notes(
        self, member_ids: Sequence[d.MemberId], *, note_types: Collection[d.NoteType] | None
    ) -> dict[str, int]:
        if note_types is None:
            return self.delete(g.Note, member_ids)
        kinds = [kind for kind, note_type in NOTE_KINDS.items() if note_type in note_types]
        return self.delete(g.Note, member_ids, kind__in=kinds)


class Reminders(_Repository):
    def add(self, reminders: Sequence[d.Reminder]) -> None:
        refs = {
            "member_id": dict(self.q(g.Member).filter(
                member_no__in={r.member_id for r in reminders}).values_list("member_no", "pk")),
            "club_id": dict(self.q(g.Club).values_list("code", "pk")),
        }  # fmt: skip
        self.q(g.Reminder).bulk_create(g.Reminder(**model_fields(r, refs)) for r in reminders)


def model_fields(record: Any, refs: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """A record's fields as a model's (``ref``, primary keys of the references)."""
    out: dict[str, Any] = {}
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if field.name == "id":
            out["ref"] = value
        elif field.name in refs:
            out[field.name] = None if value is None else refs[field.name][value]
        else:
            out[field.name] = to_database(value) if isinstance(value, dt.datetime) else value
    return out


def log_row(model: Any, record: Any, **columns: Any) -> Any:
    """A row of one of the library's logs: its record as JSON, plus the queried columns."""
    data = CONVERTER.unstructure(record)
    return model(ref=record.id, member_no=record.member_id, data=data, **columns)


def log_rows(record: Any) -> Any:
    """The row of an audit entry, erasure request or outbox message."""
    if isinstance(record, d.AuditEntry):
        return log_row(g.AuditEntry, record, action=record.action.value)
    if isinstance(record, d.ErasureRequest):
        return log_row(g.ErasureRequest, record, status=record.status.value)
    delivered = record.delivered_at and to_database(record.delivered_at)
    return log_row(g.OutboxMessage, record, created_at=to_database(record.created_at),
                   request_ref=record.request_id, delivered_at=delivered)  # fmt: skip


class Audit(_Repository):
    def add(self, entries: Sequence[d.AuditEntry]) -> None:
        self.q(g.AuditEntry).bulk_create(log_rows(e) for e in entries)

    def anonymizations(self, *, after: str | None = None, limit: int = 1000) -> list[Any]:
        rows = self.q(g.AuditEntry).filter(action=d.AuditAction.ANONYMIZE.value)
        return logged(d.AuditEntry, rows.filter(ref__gt=after or "")[:limit])


class Requests(_Repository):
    def get(self, request_id: str) -> d.ErasureRequest | None:
        return next(iter(self.all(ref=request_id)), None)

    def open_for(self, member_ids: Sequence[d.MemberId]) -> dict[str, d.ErasureRequest]:
        found = self.all(member_no__in=member_ids, status=d.RequestStatus.OPEN)
        return {r.member_id: r for r in found}

    def add(self, requests: Sequence[d.ErasureRequest]) -> None:
        self.q(g.ErasureRequest).bulk_create(log_rows(r) for r in requests)

    def update(self, requests: Sequence[d.ErasureRequest]) -> None:
        for r in requests:
            row = log_rows(r)
            self.q(g.ErasureRequest).filter(ref=r.id).update(status=row.status, data=row.data)

    def open_requests(self, *, after: str | None = None, limit: int = 1000) -> list[Any]:
        rows = self.q(g.ErasureRequest).filter(status="open", ref__gt=after or "")
        return logged(d.ErasureRequest, rows[:limit])

    def all(self, *, status: d.RequestStatus | None = None, **where: Any) -> list[Any]:
        rows = self.q(g.ErasureRequest).filter(**where)
        return logged(d.ErasureRequest, rows.filter(status=status.value) if status else rows)


class Outbox(_Repository):
    def add(self, messages: Sequence[d.OutboxMessage]) -> None:
        self.q(g.OutboxMessage).bulk_create(log_rows(m) for m in messages)

    def get(self, message_id: str) -> d.OutboxMessage | None:
        return next(iter(self.find(ref=message_id)), None)

    def find(self, limit: int | None = None, **where: Any) -> list[Any]:
        rows = self.q(g.OutboxMessage).filter(**where).order_by("created_at", "ref")
        return logged(d.OutboxMessage, rows if limit is None else rows[:limit])

    def pending(self, *, limit: int | None = None) -> list[Any]:
        return self.find(limit, delivered_at=None)

    def of_request(self, request_id: str) -> list[Any]:
        return self.find(request_ref=request_id)

    def mark_delivered(self, message_ids: Sequence[str], at: dt.datetime) -> list[str]:
        pending = {m.id: m for m in self.find(ref__in=message_ids, delivered_at=None)}
        for message in pending.values():
            data = CONVERTER.unstructure(message.delivered(at))
            self.q(g.OutboxMessage).filter(ref=message.id).update(
                delivered_at=to_database(at), data=data
            )
        return [i for i in dict.fromkeys(message_ids) if i in pending]


class Readers(_Repository):
    """The clubs, the accounting and the profile: read-only, each record kind by name."""

    def network_clubs(self) -> dict[str, d.Club]:
        return {row.code: club_from(row) for row in self.q(g.Club)}

    def invoices_of(self, member_id: d.MemberId) -> list[d.Invoice]:
        return invoices_from(self.q(g.Invoice).filter(member__member_no=member_id))

    def receipts_of(self, member_id: d.MemberId) -> list[d.Receipt]:
        return self.of(d.Receipt, member_id)

    def visits_of(self, member_id: d.MemberId) -> list[d.Visit]:
        return self.of(d.Visit, member_id)

    def class_bookings_of(self, member_id: d.MemberId) -> list[d.ClassBooking]:
        return self.of(d.ClassBooking, member_id)

    def measurements_of(self, member_id: d.MemberId) -> list[d.Measurement]:
        return self.of(d.Measurement, member_id)

    def exercises_of(self, member_id: d.MemberId) -> list[d.Exercise]:
        return self.of(d.Exercise, member_id)

    def notes_of(self, member_id: d.MemberId) -> list[d.Note]:
        return self.of(d.Note, member_id)

    def log_entries_of(self, member_id: d.MemberId) -> list[d.LogEntry]:
        return self.of(d.LogEntry, member_id)

    def documents_of(self, member_id: d.MemberId) -> list[d.Document]:
        return self.of(d.Document, member_id)


class Employees(_Repository):
    def get(self, employee_id: d.EmployeeId) -> d.Employee | None:
        user = self.q(User).filter(username=employee_id).first()
        return None if user is None else employee_from_user(user, employee_id=user.username)


_VALID: Final = Q(contracts__terminated_on=None) | Q(
    contracts__terminated_on__gte=F("contracts__start")
)
_OPEN_ENDED: Final = Q(contracts__end=None, contracts__terminated_on=None)
_EFFECTIVE_END: Final = Case(
    When(contracts__end=None, then=F("contracts__terminated_on")),
    When(contracts__terminated_on__lt=F("contracts__end"), then=F("contracts__terminated_on")),
    default=F("contracts__end"),
    output_field=DateField(),
)


class Retention(_Repository):
    def due_members(
        self, *, thresholds: Mapping[d.ClubId, dt.date], after: d.MemberId | None = None,
        limit: int = 1000,
    ) -> list[str]:  # fmt: skip
        if not thresholds or limit <= 0:
            return []
        due = Q()
        for club, day in thresholds.items():
            due |= Q(home_club__code=club, last_end__lte=day)
        open_ended = Count("contracts", filter=_VALID & _OPEN_ENDED)
        last_end = Coalesce(Max(_EFFECTIVE_END, filter=_VALID), F("registered_on"))
        rows = self.q(g.Member).filter(anonymized_at=None, member_no__gt=after or "")
        rows = rows.annotate(open_ended=open_ended, last_end=last_end).filter(due, open_ended=0)
        return list(rows.order_by("member_no").values_list("member_no", flat=True)[:limit])


class GymUnitOfWork(DjangoUnitOfWork):
    """Every repository of :class:`~member_anonymization.ports.UnitOfWork` on one transaction."""

    def __init__(self, *, using: str = "default") -> None:
        super().__init__(using=using)
        self.members = Members(self)
        self.facts = Facts(self)
        self.records = Records(self)
        self.reminders = Reminders(self)
        self.audit = Audit(self)
        self.clubs = self.accounting = self.profile = Readers(self)
        self.employees = Employees(self)
        self.retention = Retention(self)
        self.requests = Requests(self)
        self.outbox = Outbox(self)

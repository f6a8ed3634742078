"""The gym's adapter: every port of :mod:`member_anonymization.ports` over its models.

Built on :class:`~member_anonymization.contrib.django.DjangoUnitOfWork`: one explicit
transaction begun lazily (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE``
on PostgreSQL), files deleted after the commit, ``member_anonymized`` sent after it.
Records are read with the kit's ``read_records``, which maps a model's columns to a
record's fields by name: a record's id is its primary key as text, ``member_no`` and
the club's ``code`` are the references, instants are shown in the club's time zone.
The library's own records (audit, erasure requests, outbox) are JSON rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final, TypeVar

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db.models import F, QuerySet

from examples.django_gym.gym import models as g
from member_anonymization import domain as d
from member_anonymization.contrib.django import (
    FACT_TYPES,
    AuditLogRows,
    DjangoUnitOfWork,
    ErasableRecordsBase,
    ErasureRequestRows,
    OutboxRows,
    RecordReadersBase,
    blank_to_none,
    due_member_ids,
    employee_from_user,
    member_facts,
    model_values,
    read_records,
    to_club_time,
    to_database,
)
from member_anonymization.policy import MemberFacts

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
    "id": F("pk"), "member_id": F("member__member_no"), "club_id": F("club__code"),
    "note_type": F("kind"), "data": F("file"),
}  # fmt: skip


def read_file(name: str) -> bytes:
    """The content of a stored file."""
    with default_storage.open(name, "rb") as stored:
        data: bytes = stored.read()
        return data


_CONVERT: Final[dict[str, Callable[[Any], Any]]] = {
    "id": str, "contract_id": str, "note_type": NOTE_KINDS.__getitem__, "data": read_file,
}  # fmt: skip


def records(cls: type[T], queryset: QuerySet[Any]) -> list[T]:
    """Records of ``cls`` from the rows of ``queryset`` (one query, instants in club time)."""
    has_club = any(f.name == "club" for f in queryset.model._meta.fields)
    zone = F("club__timezone" if has_club else "member__home_club__timezone")
    columns = {**_COLUMNS, "id": F("ref")} if cls is d.Reminder else _COLUMNS
    return read_records(cls, queryset, zone=zone, columns=columns, convert=_CONVERT)


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
        id=str(i.pk), number=i.number, member_id=i.member.member_no, club_id=i.club.code,
        issued_on=i.issued_on, lines=tuple(lines), total=i.total, currency=i.currency,
        buyer=d.Buyer(name=i.buyer_name, address=i.buyer_address, tax_id=i.buyer_tax_id),
    )  # fmt: skip


class _Repository:
    def __init__(self, uow: GymUnitOfWork) -> None:
        self._uow = uow

    def q(self, model: type[T]) -> QuerySet[Any]:
        return model.objects.using(self._uow.db)  # type: ignore[attr-defined,no-any-return]

    def read(self, cls: type[T], member_id: d.MemberId) -> list[T]:
        return records(cls, self.q(MODELS[cls]).filter(member__member_no=member_id))


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
    def load_facts(self, member_ids: Sequence[d.MemberId]) -> dict[str, MemberFacts]:
        rows = self.q(g.Member).select_related("home_club").filter(member_no__in=member_ids)
        of = {"member__member_no__in": member_ids}
        facts = [r for cls in FACT_TYPES for r in records(cls, self.q(MODELS[cls]).filter(**of))]
        return member_facts([member_from(row) for row in rows], facts)


class Records(_Repository, ErasableRecordsBase):
    def delete(
        self, cls: type[Any], member_ids: Sequence[str], note_types: Collection[Any] | None = None
    ) -> dict[str, int]:
        rows = self.q(MODELS[cls]).filter(member__member_no__in=member_ids)
        if note_types is not None:
            rows = rows.filter(kind__in=[k for k, t in NOTE_KINDS.items() if t in note_types])
        if cls is d.Document:
            self._uow.delete_files_on_commit(row.file for row in rows)
        counts = Counter(rows.values_list("member__member_no", flat=True))
        rows.delete()
        return dict(counts)


class Reminders(_Repository):
    def add(self, reminders: Sequence[d.Reminder]) -> None:
        refs = {
            "member_id": dict(self.q(g.Member).filter(
                member_no__in={r.member_id for r in reminders}).values_list("member_no", "pk")),
            "club_id": dict(self.q(g.Club).values_list("code", "pk")),
        }  # fmt: skip
        rows = (g.Reminder(**model_values(r, refs, id_column="ref")) for r in reminders)
        self.q(g.Reminder).bulk_create(rows)


class Readers(_Repository, RecordReadersBase):
    """The clubs, the accounting and the profile: read-only, each record kind by name."""

    def network_clubs(self) -> dict[str, d.Club]:
        return {row.code: club_from(row) for row in self.q(g.Club)}

    def invoices_of(self, member_id: d.MemberId) -> list[d.Invoice]:
        return invoices_from(self.q(g.Invoice).filter(member__member_no=member_id))


class Employees(_Repository):
    def get(self, employee_id: d.EmployeeId) -> d.Employee | None:
        user = self.q(User).filter(username=employee_id).first()
        return None if user is None else employee_from_user(user, employee_id=user.username)


class Retention(_Repository):
    def due_members(
        self, *, thresholds: Mapping[d.ClubId, dt.date], after: d.MemberId | None = None,
        limit: int = 1000,
    ) -> list[str]:  # fmt: skip
        return due_member_ids(
            self.q(g.Member), thresholds=thresholds, after=after, limit=limit,
            id_field="member_no", club_field="home_club__code",
        )  # fmt: skip


class GymUnitOfWork(DjangoUnitOfWork):
    """Every repository of :class:`~member_anonymization.ports.UnitOfWork` on one transaction."""

    def __init__(self, *, using: str = "default") -> None:
        super().__init__(using=using)
        self.members = Members(self)
        self.facts = Facts(self)
        self.records = Records(self)
        self.reminders = Reminders(self)
        self.audit = AuditLogRows(self, g.AuditEntry)
        self.clubs = self.accounting = self.profile = Readers(self)
        self.employees = Employees(self)
        self.retention = Retention(self)
        self.requests = ErasureRequestRows(self, g.ErasureRequest)
        self.outbox = OutboxRows(self, g.OutboxMessage)

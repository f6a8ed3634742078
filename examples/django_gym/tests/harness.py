"""The contract's harness for the Django gym: a dataset into the models, the models out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import attrs
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from examples.django_gym.gym import adapter as a
from examples.django_gym.gym import models as g
from examples.django_gym.routing import ACTIVE
from member_anonymization import domain as d
from member_anonymization.contrib.django import (
    PERMISSION_APP_LABEL,
    PERMISSION_CODENAMES,
    employee_from_user,
)
from member_anonymization.ports import UnitOfWork
from member_anonymization.serialization import Dataset

_NOTE_KINDS = {d.NoteType.TRAINING_AND_HEALTH: g.Note.TRAINING, d.NoteType.GENERAL: g.Note.GENERAL}


@contextmanager
def routed(using: str) -> Iterator[None]:
    """Send the ORM's unrouted queries to ``using`` for a while."""
    token = ACTIVE.set(using)
    try:
        yield
    finally:
        ACTIVE.reset(token)


def _save(folder: str, name: str, data: bytes) -> str:
    return default_storage.save(f"{folder}/{name}", ContentFile(data))


def _load_people(dataset: Dataset) -> None:
    permissions = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label=PERMISSION_APP_LABEL)
    }
    for employee in dataset.employees:
        first, _, last = employee.name.partition(" ")
        user = User.objects.create_user(employee.id, first_name=first, last_name=last)
        user.user_permissions.set(
            permissions[PERMISSION_CODENAMES[p]] for p in employee.permissions
        )
    clubs = dict(g.Club.objects.values_list("code", "pk"))
    for member in dataset.members:
        photo = member.photo
        g.Member.objects.create(
            member_no=member.id, home_club_id=clubs[member.home_club_id],
            registered_on=member.registered_on, **a.personal_columns(member.personal),
            photo=_save("photos", member.id, photo.data) if photo else "",
            photo_type=photo.content_type if photo else "",
            restrict_processing=member.restrict_processing, anonymized_at=member.anonymized_at,
        )  # fmt: skip


def _load_records(dataset: Dataset) -> None:
    refs: dict[str, dict[str, int]] = {
        "member_id": dict(g.Member.objects.values_list("member_no", "pk")),
        "club_id": dict(g.Club.objects.values_list("code", "pk")),
    }
    for name in ("contracts", "wallets", "collection_cases", "installments", "purchases",
                 "receipts", "visits", "class_bookings", "measurements", "exercises",
                 "log_entries", "reminders"):  # fmt: skip
        records: tuple[Any, ...] = getattr(dataset, name)
        model = a.MODELS[type(records[0])] if records else None
        if model is not None:
            model.objects.bulk_create(model(**a.model_fields(r, refs)) for r in records)
        if name == "contracts":
            refs["contract_id"] = dict(g.Contract.objects.values_list("ref", "pk"))
    for note in dataset.notes:
        fields = a.model_fields(note, refs)
        g.Note.objects.create(kind=_NOTE_KINDS[fields.pop("note_type")], **fields)
    for document in dataset.documents:
        fields = a.model_fields(document, refs)
        g.Document.objects.create(
            file=_save("documents", document.id, fields.pop("data")), **fields
        )
    for invoice in dataset.invoices:
        row = g.Invoice.objects.create(
            ref=invoice.id, number=invoice.number, member_id=refs["member_id"][invoice.member_id],
            club_id=refs["club_id"][invoice.club_id], issued_on=invoice.issued_on,
            buyer_name=invoice.buyer.name, buyer_address=invoice.buyer.address,
            buyer_tax_id=invoice.buyer.tax_id, total=invoice.total, currency=invoice.currency,
        )  # fmt: skip
        g.InvoiceLine.objects.bulk_create(
            g.InvoiceLine(invoice=row, position=n, **attrs.asdict(line))
            for n, line in enumerate(invoice.lines, start=1)
        )  # fmt: skip


def load_dataset(dataset: Dataset, using: str = "default") -> None:
    """Write the dataset into the (empty) tables; the library's logs through the adapter."""
    with transaction.atomic(using=using):
        g.Network.objects.create(code=dataset.network.id, name=dataset.network.name)
        g.Club.objects.bulk_create(
            g.Club(code=c.id, name=c.name, timezone=c.timezone,
                   uses_debt_collection=c.uses_debt_collection,
                   retention_months=c.retention and c.retention.months_after_contract_end)
            for c in dataset.clubs
        )  # fmt: skip
        _load_people(dataset)
        _load_records(dataset)
    with a.GymUnitOfWork(using=using) as uow:
        uow.audit.add(dataset.audit)
        uow.requests.add(dataset.erasure_requests)
        uow.outbox.add(dataset.outbox)
        uow.commit()


def dump_dataset() -> Dataset:
    """Every table read back with the adapter's own readers, in canonical order."""
    network = g.Network.objects.get()
    users = User.objects.filter(is_superuser=False).order_by("username")
    records: dict[str, tuple[Any, ...]] = {
        name: tuple(a.read_records(cls, a.MODELS[cls].objects.all()))
        for name, cls in (
            ("contracts", d.Contract), ("wallets", d.Wallet), ("installments", d.Installment),
            ("collection_cases", d.CollectionCase), ("purchases", d.Purchase),
            ("receipts", d.Receipt), ("visits", d.Visit), ("class_bookings", d.ClassBooking),
            ("measurements", d.Measurement), ("exercises", d.Exercise), ("notes", d.Note),
            ("log_entries", d.LogEntry), ("documents", d.Document), ("reminders", d.Reminder),
        )
    }  # fmt: skip
    return Dataset(
        network=d.Network(id=network.code, name=network.name),
        clubs=tuple(a.club_from(c) for c in g.Club.objects.all()),
        employees=tuple(employee_from_user(u, employee_id=u.username) for u in users),
        members=tuple(a.member_from(m) for m in g.Member.objects.select_related("home_club")),
        invoices=tuple(a.invoices_from(g.Invoice.objects.all())),
        audit=tuple(a.logged(d.AuditEntry, g.AuditEntry.objects.all())),
        erasure_requests=tuple(a.logged(d.ErasureRequest, g.ErasureRequest.objects.all())),
        outbox=tuple(a.logged(d.OutboxMessage, g.OutboxMessage.objects.all())),
        **records,
    ).sorted()


class DjangoGymHarness:
    """The contract's harness: a test database under ``transactional_db``.

    Args:
        using: The database alias (the router sends the ORM's other queries there).
    """

    def __init__(self, using: str = "default") -> None:
        self.using = using

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """Fill the empty test database with the dataset."""
        with routed(self.using):
            load_dataset(dataset, self.using)
        return partial(a.GymUnitOfWork, using=self.using)

    def snapshot(self) -> Dataset:
        """The committed content of the database."""
        with routed(self.using):
            return dump_dataset()

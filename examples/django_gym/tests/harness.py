"""The contract's harness for the Django gym: a dataset into the models, the models out.

Loading walks the library's declaration of record kinds (``RECORD_KINDS``) and maps
each record to its model with the kit's ``model_values``; the database gives each
row its integer key, which becomes the record's id, and loading reports those ids
to the contract. The snapshot reads every table back with the adapter's own readers,
so that readers and snapshot agree. Employees become Django users (the name split at
its first space) holding the library's permissions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import attrs
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from examples.django_gym.gym import adapter as a
from examples.django_gym.gym import models as g
from examples.django_gym.routing import ACTIVE
from member_anonymization import domain as d
from member_anonymization.contract import IdMap, LoadedDataset
from member_anonymization.contrib.django import (
    employee_from_user,
    grant_permissions,
    log_row,
    logged_records,
    model_values,
    to_database,
)
from member_anonymization.serialization import RECORD_KINDS, Dataset

_NOTE_KINDS = {d.NoteType.TRAINING_AND_HEALTH: g.Note.TRAINING, d.NoteType.GENERAL: g.Note.GENERAL}
_LOGS: dict[type[Any], Any] = {
    d.AuditEntry: g.AuditEntry, d.ErasureRequest: g.ErasureRequest, d.OutboxMessage: g.OutboxMessage
}  # fmt: skip


@contextmanager
def routed(using: str) -> Iterator[None]:
    """Send the ORM's unrouted queries to ``using`` for a while."""
    token = ACTIVE.set(using)
    try:
        yield
    finally:
        ACTIVE.reset(token)


def _row(model: Any, record: Any, refs: dict[str, dict[str, Any]]) -> Any:
    fields = model_values(record, refs, id_column="ref" if model is g.Reminder else None)
    if "note_type" in fields:
        fields["kind"] = _NOTE_KINDS[fields.pop("note_type")]
    if "data" in fields:
        fields["file"] = default_storage.save("documents/doc", ContentFile(fields.pop("data")))
    return model(**fields)


def _load_people(dataset: Dataset, refs: dict[str, dict[str, Any]]) -> None:
    for employee in dataset.employees:
        first, _, last = employee.name.partition(" ")
        user = User.objects.create_user(employee.id, first_name=first, last_name=last)
        grant_permissions(user, employee.permissions)
    for member in dataset.members:
        photo = member.photo
        content = ContentFile(photo.data) if photo else None
        g.Member.objects.create(
            member_no=member.id, home_club_id=refs["club_id"][member.home_club_id],
            registered_on=member.registered_on, **a.personal_columns(member.personal),
            photo=default_storage.save("photos/photo", content) if content else "",
            photo_type=photo.content_type if photo else "",
            restrict_processing=member.restrict_processing,
            anonymized_at=member.anonymized_at and to_database(member.anonymized_at),
        )  # fmt: skip
    refs["member_id"] = dict(g.Member.objects.values_list("member_no", "pk"))


def load_dataset(dataset: Dataset, using: str = "default") -> IdMap:
    """Write the dataset into the (empty) tables, in one transaction; the ids given."""
    ids: dict[str, dict[str, str]] = {}
    with transaction.atomic(using=using):
        g.Network.objects.create(code=dataset.network.id, name=dataset.network.name)
        g.Club.objects.bulk_create(
            g.Club(code=c.id, name=c.name, timezone=c.timezone,
                   uses_debt_collection=c.uses_debt_collection,
                   retention_months=c.retention and c.retention.months_after_contract_end)
            for c in dataset.clubs
        )  # fmt: skip
        refs: dict[str, dict[str, Any]] = {
            "club_id": dict(g.Club.objects.values_list("code", "pk"))
        }
        _load_people(dataset, refs)
        for kind in RECORD_KINDS:
            records: tuple[Any, ...] = getattr(dataset, kind.collection)
            if kind.record_type in a.MODELS:
                model = a.MODELS[kind.record_type]
                rows = model.objects.bulk_create([_row(model, r, refs) for r in records])
                if model not in (g.Wallet, g.Reminder):
                    ids[kind.collection] = {
                        r.id: str(row.pk) for r, row in zip(records, rows, strict=True)
                    }
                refs["contract_id"] = ids.get("contracts", {})
            elif kind.record_type in _LOGS:
                model = _LOGS[kind.record_type]
                model.objects.bulk_create(log_row(model, r) for r in records)
        ids["invoices"] = {}
        for invoice in dataset.invoices:
            row = g.Invoice.objects.create(
                number=invoice.number, member_id=refs["member_id"][invoice.member_id],
                club_id=refs["club_id"][invoice.club_id], issued_on=invoice.issued_on,
                buyer_name=invoice.buyer.name, buyer_address=invoice.buyer.address,
                buyer_tax_id=invoice.buyer.tax_id, total=invoice.total, currency=invoice.currency,
            )  # fmt: skip
            ids["invoices"][invoice.id] = str(row.pk)
            g.InvoiceLine.objects.bulk_create(
                g.InvoiceLine(invoice=row, position=n, **attrs.asdict(line))
                for n, line in enumerate(invoice.lines, start=1)
            )
    return ids


def dump_dataset() -> Dataset:
    """Every table read back with the adapter's own readers, in canonical order."""
    records: dict[str, tuple[Any, ...]] = {}
    for kind in RECORD_KINDS:
        cls = kind.record_type
        if cls in a.MODELS:
            records[kind.collection] = tuple(a.records(cls, a.MODELS[cls].objects.all()))
        elif cls in _LOGS:
            records[kind.collection] = tuple(logged_records(cls, _LOGS[cls].objects.all()))
    network = g.Network.objects.get()
    users = User.objects.order_by("username")
    return Dataset(
        network=d.Network(id=network.code, name=network.name),
        clubs=tuple(a.club_from(c) for c in g.Club.objects.all()),
        employees=tuple(employee_from_user(u, employee_id=u.username) for u in users),
        members=tuple(a.member_from(m) for m in g.Member.objects.select_related("home_club")),
        invoices=tuple(a.invoices_from(g.Invoice.objects.all())),
        **records,
    ).sorted()


class DjangoGymHarness:
    """The contract's harness: a test database under ``transactional_db``.

    Args:
        using: The database alias (the router sends the ORM's other queries there).
    """

    def __init__(self, using: str = "default") -> None:
        self.using = using

    def build(self, dataset: Dataset) -> LoadedDataset:
        """Fill the empty test database with the dataset; the ids the rows were given."""
        with routed(self.using):
            ids = load_dataset(dataset, self.using)
        return LoadedDataset(unit_of_work=partial(a.GymUnitOfWork, using=self.using), ids=ids)

    def snapshot(self) -> Dataset:
        """The committed content of the database."""
        with routed(self.using):
            return dump_dataset()

    def stored_files(self) -> list[str]:
        """The files of photos and documents in the storage."""
        folders = [f for f in ("photos", "documents") if default_storage.exists(f)]
        return [f"{f}/{name}" for f in folders for name in default_storage.listdir(f)[1]]

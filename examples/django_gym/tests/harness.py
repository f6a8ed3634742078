"""The contract's harness for the Django gym: a dataset into the models, the models out.

Loading walks the library's declaration of record kinds (``RECORD_KINDS``) and maps
each record to its model with :func:`~examples.django_gym.gym.adapter.model_fields`;
the snapshot reads every table back with the adapter's own readers, so that
readers and snapshot agree. Employees become Django users (the name split at its
first space) holding the library's permissions.
"""

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
    to_database,
)
from member_anonymization.ports import UnitOfWork
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


def _row(model: Any, record: Any, refs: dict[str, dict[str, int]]) -> Any:
    fields = a.model_fields(record, refs)
    if "note_type" in fields:
        fields["kind"] = _NOTE_KINDS[fields.pop("note_type")]
    if "data" in fields:
        content = ContentFile(fields.pop("data"))
        fields["file"] = default_storage.save(f"documents/{record.id}", content)
    return model(**fields)


def _load_people(dataset: Dataset, refs: dict[str, dict[str, int]]) -> None:
    ours = Permission.objects.filter(content_type__app_label=PERMISSION_APP_LABEL)
    codes = {p.codename: p for p in ours}
    for employee in dataset.employees:
        first, _, last = employee.name.partition(" ")
        user = User.objects.create_user(employee.id, first_name=first, last_name=last)
        user.user_permissions.set(codes[PERMISSION_CODENAMES[p]] for p in employee.permissions)
    for member in dataset.members:
        photo = member.photo
        content = ContentFile(photo.data) if photo else None
        g.Member.objects.create(
            member_no=member.id, home_club_id=refs["club_id"][member.home_club_id],
            registered_on=member.registered_on, **a.personal_columns(member.personal),
            photo=default_storage.save(f"photos/{member.id}", content) if content else "",
            photo_type=photo.content_type if photo else "",
            restrict_processing=member.restrict_processing,
            anonymized_at=member.anonymized_at and to_database(member.anonymized_at),
        )  # fmt: skip
    refs["member_id"] = dict(g.Member.objects.values_list("member_no", "pk"))


def load_dataset(dataset: Dataset, using: str = "default") -> None:
    """Write the dataset into the (empty) tables, in one transaction."""
    with transaction.atomic(using=using):
        g.Network.objects.create(code=dataset.network.id, name=dataset.network.name)
        g.Club.objects.bulk_create(
            g.Club(code=c.id, name=c.name, timezone=c.timezone,
                   uses_debt_collection=c.uses_debt_collection,
                   retention_months=c.retention and c.retention.months_after_contract_end)
            for c in dataset.clubs
        )  # fmt: skip
        refs = {"club_id": dict(g.Club.objects.values_list("code", "pk"))}
        _load_people(dataset, refs)
        for kind in RECORD_KINDS:
            records: tuple[Any, ...] = getattr(dataset, kind.collection)
            if kind.record_type in a.MODELS:
                model = a.MODELS[kind.record_type]
                model.objects.bulk_create(_row(model, r, refs) for r in records)
            elif kind.record_type in _LOGS:
                _LOGS[kind.record_type].objects.bulk_create(a.log_rows(r) for r in records)
            if kind.record_type is d.Contract:
                refs["contract_id"] = dict(g.Contract.objects.values_list("ref", "pk"))
        for invoice in dataset.invoices:
            row = g.Invoice.objects.create(
                ref=invoice.id, number=invoice.number,
                member_id=refs["member_id"][invoice.member_id],
                club_id=refs["club_id"][invoice.club_id], issued_on=invoice.issued_on,
                buyer_name=invoice.buyer.name, buyer_address=invoice.buyer.address,
                buyer_tax_id=invoice.buyer.tax_id, total=invoice.total, currency=invoice.currency,
            )  # fmt: skip
            g.InvoiceLine.objects.bulk_create(
                g.InvoiceLine(invoice=row, position=n, **attrs.asdict(line))
                for n, line in enumerate(invoice.lines, start=1)
            )


def dump_dataset() -> Dataset:
    """Every table read back with the adapter's own readers, in canonical order."""
    records: dict[str, tuple[Any, ...]] = {}
    for kind in RECORD_KINDS:
        cls = kind.record_type
        if cls in a.MODELS:
            records[kind.collection] = tuple(a.read_records(cls, a.MODELS[cls].objects.all()))
        elif cls in _LOGS:
            records[kind.collection] = tuple(a.logged(cls, _LOGS[cls].objects.all()))
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

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """Fill the empty test database with the dataset."""
        with routed(self.using):
            load_dataset(dataset, self.using)
        return partial(a.GymUnitOfWork, using=self.using)

    def snapshot(self) -> Dataset:
        """The committed content of the database."""
        with routed(self.using):
            return dump_dataset()

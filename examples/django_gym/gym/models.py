"""The gym's own models: integer keys, a public ``member_no``, files, ``""`` blanks."""

from __future__ import annotations

from typing import Any

from django.db import models


class Club(models.Model):
    """A club of the network; ``code`` is its public id."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=60)
    uses_debt_collection = models.BooleanField(default=False)
    retention_months = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A member; ``member_no`` is the public number (the library's member id)."""

    member_no = models.CharField(max_length=40, unique=True)
    home_club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="members")
    registered_on = models.DateField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    # Unique: the anonymized placeholder writes NULL here, never "".
    email = models.EmailField(unique=True, null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    national_id = models.CharField(max_length=40, blank=True)
    street = models.CharField(max_length=200, null=True, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    photo = models.FileField(upload_to="photos/", blank=True)
    photo_type = models.CharField(max_length=100, blank=True)
    restrict_processing = models.BooleanField(default=False)
    anonymized_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.member_no


class Network(models.Model):
    """The network the clubs belong to (one row)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)


def _member() -> Any:
    return models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")


def _club() -> Any:
    return models.ForeignKey(Club, on_delete=models.PROTECT, related_name="+")


def _money(**options: Any) -> Any:
    return models.DecimalField(max_digits=14, decimal_places=3, **options)


class Record(models.Model):
    """A member's record; its primary key (as text) is the library's id."""

    class Meta:
        abstract = True
        ordering = ("pk",)


class Contract(Record):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="contracts")
    club = _club()
    name = models.CharField(max_length=200)
    start = models.DateField()
    end = models.DateField(null=True)
    terminated_on = models.DateField(null=True)


class Wallet(models.Model):
    member = _member()
    balance = _money()
    currency = models.CharField(max_length=3)


class CollectionCase(Record):
    member = _member()
    club = _club()
    opened_on = models.DateField()
    closed_on = models.DateField(null=True)


class Installment(Record):
    member = _member()
    club = _club()
    contract = models.ForeignKey(Contract, null=True, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    amount = _money()
    currency = models.CharField(max_length=3)
    paid_on = models.DateField(null=True)


class Purchase(Record):
    member = _member()
    club = _club()
    bought_at = models.DateTimeField()
    description = models.CharField(max_length=200, blank=True)
    amount = _money()
    currency = models.CharField(max_length=3)
    paid = models.BooleanField()


class Invoice(Record):
    number = models.CharField(max_length=60)
    member = _member()
    club = _club()
    issued_on = models.DateField()
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_address = models.CharField(max_length=300, blank=True)
    buyer_tax_id = models.CharField(max_length=40, null=True)
    total = _money()
    currency = models.CharField(max_length=3)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=200, blank=True)
    quantity = _money()
    unit_price = _money()
    vat_rate = models.CharField(max_length=10)


class Receipt(Record):
    number = models.CharField(max_length=60)
    member = _member()
    club = _club()
    issued_at = models.DateTimeField()
    contractor_name = models.CharField(max_length=200, blank=True)
    total = _money()
    currency = models.CharField(max_length=3)


class Visit(Record):
    member = _member()
    club = _club()
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True)


class ClassBooking(Record):
    member = _member()
    club = _club()
    class_name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    attended = models.BooleanField()


class Measurement(Record):
    member = _member()
    taken_on = models.DateField()
    kind = models.CharField(max_length=60)
    value = _money()


class Exercise(Record):
    member = _member()
    planned_on = models.DateField()
    name = models.CharField(max_length=200)
    sets = models.PositiveIntegerField(null=True)
    reps = models.PositiveIntegerField(null=True)
    weight_kg = _money(null=True)


class Note(Record):
    TRAINING = "training"
    GENERAL = "general"
    FRONT_DESK = "front_desk"  # the gym's own kind; the library sees it as "general"
    member = _member()
    kind = models.CharField(
        max_length=20,
        choices=[(TRAINING, "Training and health"), (GENERAL, "General"), (FRONT_DESK, "Desk")],
    )
    created_at = models.DateTimeField()
    text = models.TextField(blank=True)


class LogEntry(Record):
    member = _member()
    at = models.DateTimeField()
    text = models.TextField(blank=True)


class Document(Record):
    member = _member()
    name = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField()
    content_type = models.CharField(max_length=100)
    file = models.FileField(upload_to="documents/")


class Reminder(Record):
    ref = models.CharField(max_length=60, unique=True)  # the library gives reminders their ids
    member = _member()
    club = _club()
    kind = models.CharField(max_length=60)
    created_at = models.DateTimeField()
    amount = _money(null=True)
    currency = models.CharField(max_length=3, null=True)
    request_id = models.CharField(max_length=60, null=True)
    action = models.CharField(max_length=60, null=True)


class Logged(models.Model):
    """A row of the library's own logs: a few columns to query, the record as JSON."""

    ref = models.CharField(max_length=60, unique=True)
    member_no = models.CharField(max_length=40, db_index=True)
    data = models.JSONField()

    class Meta:
        abstract = True
        ordering = ("ref",)


class AuditEntry(Logged):
    action = models.CharField(max_length=20)


class ErasureRequest(Logged):
    status = models.CharField(max_length=20)


class OutboxMessage(Logged):
    created_at = models.DateTimeField()
    request_ref = models.CharField(max_length=60, null=True)
    delivered_at = models.DateTimeField(null=True)

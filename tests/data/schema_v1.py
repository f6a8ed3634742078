"""The reference schema of the first release (schema version 1), frozen as test data.

A verbatim copy of the table definitions of ``_schema.py`` as the first release
shipped them (before erasure requests and the outbox), so that a test can build
a database exactly as that release left it and prove that ``create_schema()``
migrates it. It uses the adapter's column types, whose stored form has not
changed since. Never edit it to follow the current schema.

``rows_v1.json`` holds every table's rows as that release wrote them when it
loaded ``dataset_v1.json`` (which is that release's own dump of them): instants
as ISO text with their offset, decimals as text, binary content as base64.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

from member_anonymization.adapters.sql._types import ExactDecimal, FreeText, Identifier, UtcInstant

ID: Final = Identifier()

SCHEMA_VERSION: Final = 1
"""The version this schema was recorded as."""

SCHEMA_COMPONENT: Final = "member_anonymization"
"""The row of ``schema_version`` that holds :data:`SCHEMA_VERSION`."""

metadata: Final = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)
"""Every table of the reference schema (usable with Alembic or ``create_all``)."""


def _id() -> Column[str]:
    return Column("id", ID, primary_key=True)


def _member_id(*, primary_key: bool = False) -> Column[str]:
    return Column(
        "member_id",
        ID,
        ForeignKey("members.id"),
        primary_key=primary_key,
        nullable=False,
        index=not primary_key,
    )


def _club_id() -> Column[str]:
    return Column("club_id", ID, ForeignKey("clubs.id"), nullable=False)


def _instant(name: str, *, nullable: bool = False) -> tuple[Column[object], Column[int]]:
    return (
        Column(name, UtcInstant(), nullable=nullable),
        Column(f"{name}_offset", Integer, nullable=nullable),
    )


def _money(name: str, *, nullable: bool = False) -> tuple[Column[object], Column[str]]:
    return (
        Column(name, ExactDecimal(), nullable=nullable),
        Column("currency", String(3), nullable=nullable),
    )


schema_version: Final = Table(
    "schema_version",
    metadata,
    Column("component", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
)

network: Final = Table(
    "network",
    metadata,
    _id(),
    Column("name", FreeText(), nullable=False),
)

clubs: Final = Table(
    "clubs",
    metadata,
    _id(),
    Column("name", FreeText(), nullable=False),
    Column("timezone", String(100), nullable=False),
    Column("uses_debt_collection", Boolean, nullable=False),
    Column("retention_months", Integer, nullable=True),
)

employees: Final = Table(
    "employees",
    metadata,
    _id(),
    Column("name", FreeText(), nullable=False),
)

employee_permissions: Final = Table(
    "employee_permissions",
    metadata,
    Column("employee_id", ID, ForeignKey("employees.id"), primary_key=True),
    Column("permission", String(100), primary_key=True),
)

members: Final = Table(
    "members",
    metadata,
    _id(),
    Column("home_club_id", ID, ForeignKey("clubs.id"), nullable=False, index=True),
    Column("registered_on", Date, nullable=False),
    Column("first_name", FreeText(), nullable=False),
    Column("last_name", FreeText(), nullable=False),
    Column("email", FreeText()),
    Column("phone", FreeText()),
    Column("birth_date", Date),
    Column("national_id", FreeText()),
    Column("address_street", FreeText()),
    Column("address_postal_code", FreeText()),
    Column("address_city", FreeText()),
    Column("address_country", FreeText()),
    Column("restrict_processing", Boolean, nullable=False),
    *_instant("anonymized_at", nullable=True),
)

member_photos: Final = Table(
    "member_photos",
    metadata,
    _member_id(primary_key=True),
    Column("content_type", FreeText(), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

contracts: Final = Table(
    "contracts",
    metadata,
    _id(),
    _member_id(),
    _club_id(),
    Column("name", FreeText(), nullable=False),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),
    Column("terminated_on", Date),
)

wallets: Final = Table(
    "wallets",
    metadata,
    _member_id(primary_key=True),
    *_money("balance"),
)

collection_cases: Final = Table(
    "collection_cases",
    metadata,
    _id(),
    _member_id(),
    _club_id(),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
)

installments: Final = Table(
    "installments",
    metadata,
    _id(),
    _member_id(),
    _club_id(),
    Column("contract_id", ID, ForeignKey("contracts.id"), index=True),
    Column("due_on", Date, nullable=False),
    *_money("amount"),
    Column("paid_on", Date),
)

purchases: Final = Table(
    "purchases",
    metadata,
    _id(),
    _member_id(),
    _club_id(),
    *_instant("bought_at"),
    Column("description", FreeText(), nullable=False),
    *_money("amount"),
    Column("paid", Boolean, nullable=False),
)

invoices: Final = Table(
    "invoices",
    metadata,
    _id(),
    Column("number", FreeText(), nullable=False),
    _member_id(),
    _club_id(),
    Column("issued_on", Date, nullable=False),
    Column("buyer_name", FreeText(), nullable=False),
    Column("buyer_address", FreeText(), nullable=False),
    Column("buyer_tax_id", FreeText()),
    *_money("total"),
)

invoice_lines: Final = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", ID, ForeignKey("invoices.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("description", FreeText(), nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("unit_price", ExactDecimal(), nullable=False),
    Column("vat_rate", FreeText(), nullable=False),
)

receipts: Final = Table(
    "receipts",
    metadata,
    _id(),
    Column("number", FreeText(), nullable=False),
    _member_id(),
    _club_id(),
    *_instant("issued_at"),
    Column("contractor_name", FreeText(), nullable=False),
    *_money("total"),
)

visits: Final = Table(
    "visits",
    metadata,
    _id(),
    _member_id(),
    _club_id(),
    *_instant("entered_at"),
    *_instant("left_at", nullable=True),
)
Index("ix_visits_club_id_entered_at", visits.c.club_id, visits.c.entered_at)

class_bookings: Final = Table(
    "class_bookings",
    metadata,
    _id(),
    _member_id(),
    _club_id(),
    Column("class_name", FreeText(), nullable=False),
    *_instant("starts_at"),
    Column("attended", Boolean, nullable=False),
)

measurements: Final = Table(
    "measurements",
    metadata,
    _id(),
    _member_id(),
    Column("taken_on", Date, nullable=False),
    Column("kind", FreeText(), nullable=False),
    Column("value", ExactDecimal(), nullable=False),
)

exercises: Final = Table(
    "exercises",
    metadata,
    _id(),
    _member_id(),
    Column("planned_on", Date, nullable=False),
    Column("name", FreeText(), nullable=False),
    Column("sets", Integer),
    Column("reps", Integer),
    Column("weight_kg", ExactDecimal()),
)

notes: Final = Table(
    "notes",
    metadata,
    _id(),
    _member_id(),
    Column("note_type", String(100), nullable=False),
    *_instant("created_at"),
    Column("text", FreeText(), nullable=False),
)

log_entries: Final = Table(
    "log_entries",
    metadata,
    _id(),
    _member_id(),
    *_instant("at"),
    Column("text", FreeText(), nullable=False),
)

documents: Final = Table(
    "documents",
    metadata,
    _id(),
    _member_id(),
    Column("name", FreeText(), nullable=False),
    *_instant("uploaded_at"),
    Column("content_type", FreeText(), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

reminders: Final = Table(
    "reminders",
    metadata,
    _id(),
    _member_id(),
    Column("club_id", ID, ForeignKey("clubs.id"), nullable=False, index=True),
    Column("kind", FreeText(), nullable=False),
    *_instant("created_at"),
    Column("amount", ExactDecimal()),
    Column("currency", String(3)),
)

audit_entries: Final = Table(
    "audit_entries",
    metadata,
    _id(),
    _member_id(),
    Column("actor_id", ID, ForeignKey("employees.id"), index=True),
    *_instant("at"),
    Column("mode", String(50), nullable=False),
    Column("action", String(50), nullable=False),
    Column("removed_personal_data", Integer, nullable=False),
    Column("removed_photo", Integer, nullable=False),
    Column("removed_log_entries", Integer, nullable=False),
    Column("removed_documents", Integer, nullable=False),
    Column("removed_measurements", Integer, nullable=False),
    Column("removed_exercises", Integer, nullable=False),
    Column("removed_notes", Integer, nullable=False),
)

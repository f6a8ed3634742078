"""The reference schema: one table per record kind of the dataset format.

Every table and column is documented in ``docs/reference-schema.md``. A few
conventions hold throughout:

* ids are ``VARCHAR(200)`` primary keys (``COLLATE "C"`` on PostgreSQL);
* every per-member table has a ``member_id`` foreign key and an index on it;
* a timestamp ``x`` is two columns: ``x`` (the instant, UTC) and ``x_offset``
  (its original UTC offset in seconds), so that a dump gives back the same text;
* money and other decimals are exact (:class:`~._types.ExactDecimal`); binary
  content is a BLOB/BYTEA; enumerations are their text values.

:data:`SCHEMA_VERSION` is recorded in the ``schema_version`` table; see
:func:`create_schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
    update,
)

from member_anonymization.adapters.sql._errors import SchemaMissingError, SchemaVersionError
from member_anonymization.adapters.sql._types import ExactDecimal, FreeText, Identifier, UtcInstant
from member_anonymization.domain import RemovalCounts

ID: Final = Identifier()

REMOVAL_COUNTS: Final = tuple(field.name for field in attrs.fields(RemovalCounts))
"""The counts of an anonymization's audit entry, one ``removed_<name>`` column each."""

__all__ = [
    "COLLECTION_TABLES",
    "SCHEMA_COMPONENT",
    "SCHEMA_VERSION",
    "create_schema",
    "metadata",
    "read_schema_version",
    "require_schema",
]

SCHEMA_VERSION: Final = 2
"""The version of the reference schema this release creates and works with."""

SCHEMA_LOCK_KEY: Final = 7236112938541105
"""PostgreSQL advisory lock held while the schema is created or migrated."""

LOAD_LOCK_KEY: Final = 7236112938541106
"""PostgreSQL advisory lock held while a dataset file is loaded (one load at a time)."""

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
    Column("request_id", ID, ForeignKey("erasure_requests.id"), index=True),
    Column("action", String(100)),
)

audit_entries: Final = Table(
    "audit_entries",
    metadata,
    _id(),
    _member_id(),
    Column("actor_id", ID, ForeignKey("employees.id"), index=True),
    *_instant("at"),
    Column("mode", String(50)),
    Column("action", String(50), nullable=False),
    *(Column(f"removed_{name}", Integer) for name in REMOVAL_COUNTS),
    Column("as_of", Date),
)

erasure_requests: Final = Table(
    "erasure_requests",
    metadata,
    _id(),
    _member_id(),
    _club_id(),
    *_instant("received_at"),
    Column("received_on", Date, nullable=False),
    Column("channel", String(50), nullable=False),
    Column("registered_by", ID, ForeignKey("employees.id")),
    Column("status", String(50), nullable=False),
    Column("deadline", Date, nullable=False),
    Column("extension_deadline", Date),
    Column("extension_reason", String(50)),
    *_instant("extension_at", nullable=True),
    Column("extension_by", ID, ForeignKey("employees.id")),
    *_instant("closed_at", nullable=True),
    Column("closed_by", ID, ForeignKey("employees.id")),
    Column("rejection_reason", String(50)),
    Column("audit_entry_id", ID, ForeignKey("audit_entries.id")),
    Column("reminded_near_deadline", Boolean, nullable=False),
    Column("reminded_overdue", Boolean, nullable=False),
    *_instant("refusal_noticed_at", nullable=True),
)
Index("ix_erasure_requests_status_id", erasure_requests.c.status, erasure_requests.c.id)
Index(
    "uq_erasure_requests_open_member",
    erasure_requests.c.member_id,
    unique=True,
    sqlite_where=erasure_requests.c.status == "open",
    postgresql_where=erasure_requests.c.status == "open",
)

outbox_messages: Final = Table(
    "outbox_messages",
    metadata,
    _id(),
    Column("kind", String(50), nullable=False),
    _member_id(),
    *_instant("created_at"),
    Column("request_id", ID, ForeignKey("erasure_requests.id"), index=True),
    Column("mode", String(50)),
    Column("notice_kind", String(50)),
    Column("notice_language", String(20)),
    Column("notice_subject", FreeText()),
    Column("notice_body", FreeText()),
    *_instant("delivered_at", nullable=True),
)
Index(
    "ix_outbox_messages_pending",
    outbox_messages.c.created_at,
    outbox_messages.c.id,
    sqlite_where=outbox_messages.c.delivered_at.is_(None),
    postgresql_where=outbox_messages.c.delivered_at.is_(None),
)

COLLECTION_TABLES: Final[Mapping[str, Table]] = {
    "clubs": clubs,
    "employees": employees,
    "members": members,
    "contracts": contracts,
    "wallets": wallets,
    "collection_cases": collection_cases,
    "installments": installments,
    "purchases": purchases,
    "invoices": invoices,
    "receipts": receipts,
    "visits": visits,
    "class_bookings": class_bookings,
    "measurements": measurements,
    "exercises": exercises,
    "notes": notes,
    "log_entries": log_entries,
    "documents": documents,
    "audit": audit_entries,
    "erasure_requests": erasure_requests,
    "reminders": reminders,
    "outbox": outbox_messages,
}
"""The main table of each collection of the dataset file, in dependency order."""


def _rebuild_sqlite(conn: Connection, table: Table, copied: Sequence[str]) -> None:
    """Recreate ``table`` as declared now (SQLite cannot drop a NOT NULL), keeping its rows."""
    old = f"{table.name}__v1"
    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{old}"')
    for index in table.indexes:
        conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
    table.create(conn)
    columns = ", ".join(f'"{name}"' for name in copied)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{old}"')
    conn.exec_driver_sql(f'DROP TABLE "{old}"')


def _migrate_1_to_2(conn: Connection) -> None:
    """Erasure requests and the outbox; request reminders; audit entries date their rules.

    Adds the tables ``erasure_requests`` and ``outbox_messages``, the columns
    ``reminders.request_id`` and ``reminders.action``, ``audit_entries.as_of``,
    and lets an export's audit entry leave ``mode`` and the counts empty.
    Every stored row is kept as it was.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            'ALTER TABLE audit_entries ADD COLUMN as_of DATE, ALTER COLUMN "mode" DROP NOT NULL'
            + "".join(f', ALTER COLUMN "removed_{name}" DROP NOT NULL' for name in REMOVAL_COUNTS)
        )
    else:
        old = [c.name for c in audit_entries.columns if c.name != "as_of"]
        _rebuild_sqlite(conn, audit_entries, old)
    erasure_requests.create(conn)
    outbox_messages.create(conn)
    id_type = ID.compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE reminders ADD COLUMN request_id {id_type} REFERENCES erasure_requests (id)"
    )
    conn.exec_driver_sql("ALTER TABLE reminders ADD COLUMN action VARCHAR(100)")
    for index in reminders.indexes:
        if "request_id" in index.columns:
            index.create(conn)


MIGRATIONS: Final[Mapping[int, Callable[[Connection], None]]] = {1: _migrate_1_to_2}
"""Steps that bring a schema from version ``n`` to ``n + 1``."""


def read_schema_version(conn: Connection) -> int | None:
    """The recorded schema version, or ``None`` when there is no schema."""
    if not inspect(conn).has_table(schema_version.name):
        return None
    return conn.execute(
        select(schema_version.c.version).where(schema_version.c.component == SCHEMA_COMPONENT)
    ).scalar_one_or_none()


def require_schema(conn: Connection) -> None:
    """Check that the database holds the schema of this release.

    Raises:
        SchemaMissingError: There is no schema.
        SchemaVersionError: The schema is of another version.
    """
    found = read_schema_version(conn)
    if found is None:
        raise SchemaMissingError()
    if found != SCHEMA_VERSION:
        raise SchemaVersionError(found, SCHEMA_VERSION)


def create_schema(conn: Connection) -> bool:
    """Create or migrate the schema inside the connection's transaction.

    Idempotent: on a database at :data:`SCHEMA_VERSION` it changes nothing.

    Returns:
        Whether anything was created or migrated.

    Raises:
        SchemaVersionError: The database holds a newer version than this release.
    """
    if conn.dialect.name == "postgresql":
        # Serialize concurrent create_schema() calls on the same database.
        conn.execute(text(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})"))
    found = read_schema_version(conn)
    if found is not None and found > SCHEMA_VERSION:
        raise SchemaVersionError(found, SCHEMA_VERSION)
    if found == SCHEMA_VERSION:
        return False
    if found is None:
        metadata.create_all(conn, checkfirst=True)
        conn.execute(
            insert(schema_version).values(component=SCHEMA_COMPONENT, version=SCHEMA_VERSION)
        )
        return True
    for version in range(found, SCHEMA_VERSION):
        step = MIGRATIONS.get(version)
        if step is None:
            raise SchemaVersionError(found, SCHEMA_VERSION)
        step(conn)
    conn.execute(
        update(schema_version)
        .where(schema_version.c.component == SCHEMA_COMPONENT)
        .values(version=SCHEMA_VERSION)
    )
    return True

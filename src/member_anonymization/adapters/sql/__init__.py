"""The reference database adapter: SQLAlchemy Core over SQLite or PostgreSQL.

Needs the ``sql`` extra (``postgres`` for PostgreSQL, with psycopg 3)::

    from member_anonymization import Anonymizer
    from member_anonymization.adapters.sql import SqlStore

    store = SqlStore.open("member-anonymization.sqlite")
    store.create_schema()
    result = Anonymizer(store.unit_of_work).anonymize("m1", actor="e1")

Every port of :mod:`member_anonymization.ports` is implemented by
:class:`SqlUnitOfWork`; ``docs/sql-adapter.md`` explains how to write the same
over your own schema, and ``docs/reference-schema.md`` describes this one.

Old copies of removed data in the database's files: SQLite runs with
``secure_delete`` and checkpoints its write-ahead log after every erasure;
:meth:`SqlStore.compact` rewrites the tables (run it after the nightly
sweep). ``docs/security.md`` says what remains where, and for how long.
"""

from member_anonymization.adapters.sql._dataset import LoadResult
from member_anonymization.adapters.sql._errors import (
    DatabaseBusyError,
    DatabaseUrlError,
    EmptyDatabaseError,
    SchemaMissingError,
    SchemaVersionError,
    SqlAdapterError,
)
from member_anonymization.adapters.sql._repositories import BATCH_SIZE, SqlUnitOfWork
from member_anonymization.adapters.sql._residue import (
    COMPACTED_TABLES,
    SNAPSHOT_WAIT,
    CheckpointResult,
    CompactReport,
)
from member_anonymization.adapters.sql._schema import SCHEMA_VERSION, metadata
from member_anonymization.adapters.sql._store import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    SqlStore,
    SqlUnitOfWorkFactory,
    create_sql_engine,
)
from member_anonymization.adapters.sql._url import SUPPORTED_BACKENDS, database_url, describe_url

__all__ = [
    "BATCH_SIZE",
    "COMPACTED_TABLES",
    "SNAPSHOT_WAIT",
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_LOCK_TIMEOUT",
    "SCHEMA_VERSION",
    "SUPPORTED_BACKENDS",
    "CheckpointResult",
    "CompactReport",
    "DatabaseBusyError",
    "DatabaseUrlError",
    "EmptyDatabaseError",
    "LoadResult",
    "SchemaMissingError",
    "SchemaVersionError",
    "SqlAdapterError",
    "SqlStore",
    "SqlUnitOfWork",
    "SqlUnitOfWorkFactory",
    "create_sql_engine",
    "database_url",
    "describe_url",
    "metadata",
]

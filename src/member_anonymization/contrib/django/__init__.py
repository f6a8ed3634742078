"""The Django integration kit (the ``[django]`` extra).

What it solves for a Django host, each in one place:

* :class:`DjangoUnitOfWork` drives one explicit transaction on a database alias,
  begun lazily, committed only by :meth:`~DjangoUnitOfWork.commit` and rolled back
  otherwise; it refuses to run inside an outer ``atomic`` block
  (:class:`OuterTransactionError`), where its commit would only release a savepoint.
* :meth:`DjangoUnitOfWork.lock_rows` holds rows until the unit ends:
  ``select_for_update`` on PostgreSQL; on SQLite, where Django ignores it, the
  write lock taken by ``BEGIN IMMEDIATE`` (``OPTIONS={"transaction_mode": "IMMEDIATE"}``).
* :meth:`DjangoUnitOfWork.delete_files_on_commit` deletes stored files only after
  the commit (``transaction.on_commit(..., robust=True)``).
* :func:`aware` and :func:`to_club_time` convert Django's instants (naive with
  ``USE_TZ=False``, UTC otherwise) to aware instants in a club's time zone.
* :func:`blank_to_none` and :func:`none_to_blank` map ``""`` blanks and ``NULL``.
* :func:`employee_from_user`, :func:`has_permission` and :func:`grant_permissions`
  bridge Django auth permissions (app label :data:`PERMISSION_APP_LABEL`) and the
  library's employees.
* :data:`member_anonymized` is sent after the commit, for caches and search indexes.
* :func:`read_records` and :func:`model_values` map a model's rows to the
  library's records and back, field by field (instants in the club's zone);
  :func:`member_facts` groups the records of the facts by member.
* :class:`AuditLogRows`, :class:`ErasureRequestRows` and :class:`OutboxRows`
  keep the library's own records as JSON rows of the host's models.
* :func:`due_member_ids` is the retention rule as one ORM query;
  :class:`RecordReadersBase` and :class:`ErasableRecordsBase` spell the
  per-kind methods of the profile reader and of the erasable records.
"""

from __future__ import annotations

from member_anonymization.contrib.django._auth import (
    PERMISSION_APP_LABEL,
    PERMISSION_CODENAMES,
    employee_from_user,
    grant_permissions,
    has_permission,
    permission_name,
)
from member_anonymization.contrib.django._logs import (
    AuditLogRows,
    ErasureRequestRows,
    OutboxRows,
    log_row,
    logged_records,
)
from member_anonymization.contrib.django._records import (
    FACT_TYPES,
    member_facts,
    model_values,
    read_records,
)
from member_anonymization.contrib.django._retention import (
    ErasableRecordsBase,
    RecordReadersBase,
    due_member_ids,
)
from member_anonymization.contrib.django._signals import member_anonymized
from member_anonymization.contrib.django._uow import (
    DjangoUnitOfWork,
    OuterTransactionError,
    SqliteModeError,
)
from member_anonymization.contrib.django._values import (
    aware,
    blank_to_none,
    none_to_blank,
    to_club_time,
    to_database,
)

__all__ = [
    "FACT_TYPES",
    "PERMISSION_APP_LABEL",
    "PERMISSION_CODENAMES",
    "AuditLogRows",
    "DjangoUnitOfWork",
    "ErasableRecordsBase",
    "ErasureRequestRows",
    "OutboxRows",
    "OuterTransactionError",
    "RecordReadersBase",
    "SqliteModeError",
    "aware",
    "blank_to_none",
    "due_member_ids",
    "employee_from_user",
    "grant_permissions",
    "has_permission",
    "log_row",
    "member_facts",
    "logged_records",
    "member_anonymized",
    "model_values",
    "none_to_blank",
    "permission_name",
    "read_records",
    "to_club_time",
    "to_database",
]

"""The library's own records (audit, erasure requests, outbox) kept as JSON rows.

Each is a row of a model of the host with the record as JSON (``data``), its id
(``ref``), its member's id (``member_no``) and the columns the repositories query:
``action`` (audit entries); ``status`` (erasure requests); ``created_at``,
``request_ref`` and ``delivered_at`` (outbox messages).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from member_anonymization.contrib.django._values import to_database
from member_anonymization.domain import (
    AuditAction,
    AuditEntry,
    ErasureRequest,
    MemberId,
    OutboxMessage,
    RequestStatus,
)
from member_anonymization.serialization import converter

if TYPE_CHECKING:
    from member_anonymization.contrib.django._uow import DjangoUnitOfWork

__all__ = ["AuditLogRows", "ErasureRequestRows", "OutboxRows", "log_row", "logged_records"]

T = TypeVar("T")


def log_row(model: Any, record: AuditEntry | ErasureRequest | OutboxMessage) -> Any:
    """The (unsaved) row of an audit entry, erasure request or outbox message."""
    columns: dict[str, Any] = {}
    if isinstance(record, AuditEntry):
        columns["action"] = record.action.value
    elif isinstance(record, ErasureRequest):
        columns["status"] = record.status.value
    else:
        columns["created_at"] = to_database(record.created_at)
        columns["request_ref"] = record.request_id
        columns["delivered_at"] = record.delivered_at and to_database(record.delivered_at)
    data = converter.unstructure(record)
    return model(ref=record.id, member_no=record.member_id, data=data, **columns)


def logged_records(record_type: type[T], rows: Any) -> list[T]:
    """The records of JSON rows (a queryset of one of the library's logs)."""
    return [converter.structure(d, record_type) for d in rows.values_list("data", flat=True)]


class _Rows:
    record_type: type[Any]

    def __init__(self, uow: DjangoUnitOfWork, model: type[Any]) -> None:
        self._uow = uow
        self._model = model

    def _rows(self, **where: Any) -> Any:
        return self._model.objects.using(self._uow.db).filter(**where)

    def _read(self, rows: Any) -> list[Any]:
        return logged_records(self.record_type, rows)

    def _add(self, records: Sequence[Any]) -> None:
        self._rows().bulk_create(log_row(self._model, r) for r in records)


class AuditLogRows(_Rows):
    """:class:`~member_anonymization.ports.AuditLog` over a model of audit rows."""

    record_type = AuditEntry

    def add(self, entries: Sequence[AuditEntry]) -> None:
        """Store the entries."""
        self._add(entries)

    def anonymizations(self, *, after: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Entries of anonymizations, ordered by id, after ``after``."""
        rows = self._rows(action=AuditAction.ANONYMIZE.value, ref__gt=after or "")
        return self._read(rows.order_by("ref")[: max(limit, 0)])


class ErasureRequestRows(_Rows):
    """:class:`~member_anonymization.ports.ErasureRequestRegister` over a model of request rows."""

    record_type = ErasureRequest

    def get(self, request_id: str) -> ErasureRequest | None:
        """The request, or ``None``."""
        return next(iter(self._read(self._rows(ref=request_id))), None)

    def open_for(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, ErasureRequest]:
        """The open request of each member that has one."""
        found = self._read(self._rows(member_no__in=member_ids, status=RequestStatus.OPEN.value))
        return {r.member_id: r for r in found}

    def add(self, requests: Sequence[ErasureRequest]) -> None:
        """Store new requests."""
        self._add(requests)

    def update(self, requests: Sequence[ErasureRequest]) -> None:
        """Replace the stored requests of the same ids."""
        for request in requests:
            row = log_row(self._model, request)
            self._rows(ref=request.id).update(status=row.status, data=row.data)

    def open_requests(self, *, after: str | None = None, limit: int = 1000) -> list[ErasureRequest]:
        """Open requests ordered by id, after ``after``."""
        rows = self._rows(status=RequestStatus.OPEN.value, ref__gt=after or "")
        return self._read(rows.order_by("ref")[: max(limit, 0)])

    def all(self, *, status: RequestStatus | None = None) -> list[ErasureRequest]:
        """Every request (of ``status``), ordered by id."""
        rows = self._rows() if status is None else self._rows(status=status.value)
        return self._read(rows.order_by("ref"))


class OutboxRows(_Rows):
    """:class:`~member_anonymization.ports.Outbox` over a model of message rows."""

    record_type = OutboxMessage

    def _find(self, limit: int | None = None, **where: Any) -> list[OutboxMessage]:
        rows = self._rows(**where).order_by("created_at", "ref")
        return self._read(rows if limit is None else rows[: max(limit, 0)])

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Store new messages."""
        self._add(messages)

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, or ``None``."""
        return next(iter(self._find(ref=message_id)), None)

    def pending(self, *, limit: int | None = None) -> list[OutboxMessage]:
        """Pending messages, oldest first."""
        return self._find(limit, delivered_at=None)

    def of_request(self, request_id: str) -> list[OutboxMessage]:
        """Every message of the request, oldest first."""
        return self._find(request_ref=request_id)

    def mark_delivered(self, message_ids: Sequence[str], at: dt.datetime) -> list[str]:
        """Mark the pending ones delivered at ``at``; their ids."""
        pending = {m.id: m for m in self._find(ref__in=message_ids, delivered_at=None)}
        for message in pending.values():
            data = converter.unstructure(message.delivered(at))
            self._rows(ref=message.id).update(delivered_at=to_database(at), data=data)
        return [i for i in dict.fromkeys(message_ids) if i in pending]

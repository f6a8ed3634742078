"""The erasure-request register and the outbox of the reference schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

from sqlalchemy import insert, select, update

from member_anonymization.adapters.sql import _rows as rows
from member_anonymization.adapters.sql import _schema as s
from member_anonymization.adapters.sql._bulk import in_values, insert_rows
from member_anonymization.adapters.sql._types import split_instant
from member_anonymization.domain import (
    AuditEntry,
    ErasureRequest,
    MemberId,
    OutboxMessage,
    RequestStatus,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from member_anonymization.adapters.sql._repositories import SqlUnitOfWork

__all__ = ["SqlOutbox", "SqlRequests", "anonymizations"]

_CHUNK = 1000


class _Register:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    @property
    def _conn(self) -> Connection:
        return self._uow.connection


@final
class SqlRequests(_Register):
    """The register of erasure requests."""

    def get(self, request_id: str) -> ErasureRequest | None:
        """The request, or ``None``."""
        table = s.erasure_requests
        row = self._conn.execute(select(table).where(table.c.id == request_id)).first()
        return None if row is None else rows.erasure_request_from(row)

    def open_for(self, member_ids: Sequence[MemberId]) -> Mapping[MemberId, ErasureRequest]:
        """The open request of each member that has one (one query per chunk)."""
        table = s.erasure_requests
        wanted = list(dict.fromkeys(member_ids))
        out: dict[MemberId, ErasureRequest] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            statement = select(table).where(
                in_values(self._conn, table.c.member_id, chunk),
                table.c.status == RequestStatus.OPEN.value,
            )
            for row in self._conn.execute(statement):
                out[row.member_id] = rows.erasure_request_from(row)
        return out

    def add(self, requests: Sequence[ErasureRequest]) -> None:
        """Insert the requests (one executemany)."""
        if requests:
            self._conn.execute(
                insert(s.erasure_requests), [rows.erasure_request_row(r) for r in requests]
            )

    def update(self, requests: Sequence[ErasureRequest]) -> None:
        """Replace the stored requests by id."""
        table = s.erasure_requests
        for request in requests:
            values = rows.erasure_request_row(request)
            del values["id"]
            result = self._conn.execute(
                update(table).where(table.c.id == request.id).values(**values)
            )
            if result.rowcount != 1:
                raise KeyError(f"no erasure request {request.id!r}")

    def open_requests(
        self, *, after: str | None = None, limit: int = 1000
    ) -> Sequence[ErasureRequest]:
        """Open requests ordered by id, after ``after``."""
        table = s.erasure_requests
        statement = (
            select(table)
            .where(table.c.status == RequestStatus.OPEN.value)
            .order_by(table.c.id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(table.c.id > after)
        return [rows.erasure_request_from(row) for row in self._conn.execute(statement)]

    def all(self, *, status: RequestStatus | None = None) -> Iterable[ErasureRequest]:
        """Every request (of ``status``), ordered by id."""
        table = s.erasure_requests
        statement = select(table).order_by(table.c.id)
        if status is not None:
            statement = statement.where(table.c.status == status.value)
        return [rows.erasure_request_from(row) for row in self._conn.execute(statement)]


@final
class SqlOutbox(_Register):
    """Events and notices for the host to deliver."""

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Insert the messages (one statement)."""
        insert_rows(self._conn, s.outbox_messages, [rows.outbox_row(m) for m in messages])

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message, or ``None``."""
        table = s.outbox_messages
        row = self._conn.execute(select(table).where(table.c.id == message_id)).first()
        return None if row is None else rows.outbox_from(row)

    def pending(self, *, limit: int | None = None) -> Sequence[OutboxMessage]:
        """Pending messages, oldest first."""
        table = s.outbox_messages
        statement = (
            select(table)
            .where(table.c.delivered_at.is_(None))
            .order_by(table.c.created_at, table.c.id)
        )
        if limit is not None:
            statement = statement.limit(limit)
        return [rows.outbox_from(row) for row in self._conn.execute(statement)]

    def of_request(self, request_id: str) -> Sequence[OutboxMessage]:
        """The request's messages, oldest first."""
        table = s.outbox_messages
        statement = (
            select(table)
            .where(table.c.request_id == request_id)
            .order_by(table.c.created_at, table.c.id)
        )
        return [rows.outbox_from(row) for row in self._conn.execute(statement)]

    def mark_delivered(self, message_ids: Sequence[str], at: dt.datetime) -> Sequence[str]:
        """Mark pending messages delivered; return the ids that were pending."""
        table = s.outbox_messages
        wanted = list(dict.fromkeys(message_ids))
        utc, offset = split_instant(at)
        done: list[str] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            statement = (
                update(table)
                .where(in_values(self._conn, table.c.id, chunk), table.c.delivered_at.is_(None))
                .values(delivered_at=utc, delivered_at_offset=offset)
                .returning(table.c.id)
            )
            done.extend(self._conn.execute(statement).scalars())
        order = {message_id: position for position, message_id in enumerate(wanted)}
        return sorted(done, key=order.__getitem__)


def anonymizations(conn: Connection, *, after: str | None, limit: int) -> list[AuditEntry]:
    """Audit entries of anonymizations, ordered by id, after ``after``."""
    table = s.audit_entries
    statement: Any = (
        select(table).where(table.c.action == "anonymize").order_by(table.c.id).limit(limit)
    )
    if after is not None:
        statement = statement.where(table.c.id > after)
    return [rows.audit_from(row) for row in conn.execute(statement)]

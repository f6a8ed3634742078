"""The retention rule as one ORM query, and the per-kind readers and erasers as bases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.db.models import Case, Count, DateField, F, Max, Q, QuerySet, When
from django.db.models.functions import Coalesce

from member_anonymization.domain import (
    ClassBooking,
    ClubId,
    Document,
    Exercise,
    LogEntry,
    Measurement,
    MemberId,
    Note,
    NoteType,
    Receipt,
    Visit,
)

__all__ = ["ErasableRecordsBase", "RecordReadersBase", "due_member_ids"]


def due_member_ids(
    members: QuerySet[Any],
    *,
    thresholds: Mapping[ClubId, dt.date],
    after: MemberId | None,
    limit: int,
    id_field: str = "pk",
    club_field: str = "home_club__pk",
    contracts: str = "contracts",
) -> list[MemberId]:
    """``RetentionReader.due_members`` over a member model, in one query.

    The member model has ``registered_on`` and ``anonymized_at``; its contracts
    (the reverse relation ``contracts``) have ``start``, ``end`` and
    ``terminated_on``. Contracts terminated before their start are ignored;
    the ids come ordered by ``id_field`` (as text), after ``after``.

    Args:
        members: The members' rows (``Member.objects.using(...)``).
        thresholds: Per home club id, the latest last contract end that is due.
        after: Only ids greater than this one.
        limit: At most this many ids.
        id_field: The field holding the library's member id.
        club_field: The lookup of the home club's id (``"home_club__code"``).
        contracts: The name of the reverse relation to the member's contracts.
    """
    if not thresholds or limit <= 0:
        return []

    def c(name: str) -> str:
        return f"{contracts}__{name}"

    valid = Q(**{c("terminated_on"): None}) | Q(**{f"{c('terminated_on')}__gte": F(c("start"))})
    open_ended = Q(**{c("end"): None, c("terminated_on"): None})
    effective_end = Case(
        When(Q(**{c("end"): None}), then=F(c("terminated_on"))),
        When(Q(**{f"{c('terminated_on')}__lt": F(c("end"))}), then=F(c("terminated_on"))),
        default=F(c("end")),
        output_field=DateField(),
    )
    due = Q()
    for club, day in thresholds.items():
        due |= Q(**{club_field: club, "last_end__lte": day})
    rows = members.filter(anonymized_at=None)
    if after is not None:
        rows = rows.filter(**{f"{id_field}__gt": after})
    rows = rows.annotate(
        open_ended=Count(contracts, filter=valid & open_ended),
        last_end=Coalesce(Max(effective_end, filter=valid), F("registered_on")),
    ).filter(due, open_ended=0)
    ids = rows.order_by(id_field).values_list(id_field, flat=True)[:limit]
    return [str(i) for i in ids]


class RecordReadersBase:
    """``ProfileReader`` and ``AccountingReader.receipts_of`` through one method, :meth:`read`."""

    def read(self, cls: type[Any], member_id: MemberId) -> list[Any]:
        """The member's records of ``cls``."""
        raise NotImplementedError

    def receipts_of(self, member_id: MemberId) -> list[Receipt]:
        """The member's receipts."""
        return self.read(Receipt, member_id)

    def visits_of(self, member_id: MemberId) -> list[Visit]:
        """The member's visits."""
        return self.read(Visit, member_id)

    def class_bookings_of(self, member_id: MemberId) -> list[ClassBooking]:
        """The member's class bookings."""
        return self.read(ClassBooking, member_id)

    def measurements_of(self, member_id: MemberId) -> list[Measurement]:
        """The member's measurements."""
        return self.read(Measurement, member_id)

    def exercises_of(self, member_id: MemberId) -> list[Exercise]:
        """The member's exercises."""
        return self.read(Exercise, member_id)

    def notes_of(self, member_id: MemberId) -> list[Note]:
        """The member's notes."""
        return self.read(Note, member_id)

    def log_entries_of(self, member_id: MemberId) -> list[LogEntry]:
        """The member's log entries."""
        return self.read(LogEntry, member_id)

    def documents_of(self, member_id: MemberId) -> list[Document]:
        """The member's documents."""
        return self.read(Document, member_id)


class ErasableRecordsBase:
    """``ErasableRecords`` through one method, :meth:`delete`."""

    def delete(
        self,
        cls: type[Any],
        member_ids: Sequence[MemberId],
        note_types: Collection[NoteType] | None = None,
    ) -> dict[MemberId, int]:
        """Delete the members' records of ``cls`` (notes: of ``note_types``); counts per member."""
        raise NotImplementedError

    def delete_log_entries(self, member_ids: Sequence[MemberId]) -> dict[MemberId, int]:
        """Delete the members' log entries."""
        return self.delete(LogEntry, member_ids)

    def delete_documents(self, member_ids: Sequence[MemberId]) -> dict[MemberId, int]:
        """Delete the members' documents (their files after the commit)."""
        return self.delete(Document, member_ids)

    def delete_measurements(self, member_ids: Sequence[MemberId]) -> dict[MemberId, int]:
        """Delete the members' measurements."""
        return self.delete(Measurement, member_ids)

    def delete_exercises(self, member_ids: Sequence[MemberId]) -> dict[MemberId, int]:
        """Delete the members' exercises."""
        return self.delete(Exercise, member_ids)

    def delete_notes(
        self, member_ids: Sequence[MemberId], *, note_types: Collection[NoteType] | None
    ) -> dict[MemberId, int]:
        """Delete the members' notes of ``note_types`` (``None``: every type)."""
        return self.delete(Note, member_ids, note_types)

"""Activity records of a member's profile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import ClubId, MemberId, NoteType


@final
@attrs.frozen(kw_only=True)
class Visit:
    """One entry to a club (historia wejść). Kept: statistics count it."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    entered_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    left_at: dt.datetime | None = attrs.field(default=None, metadata=c.check(c.optional(c.instant)))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self, *c.not_before(self, "left_at", "entered_at"))


@final
@attrs.frozen(kw_only=True)
class ClassBooking:
    """A booking of a class (zajęcia). Kept: attendance statistics count it."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    class_name: str = attrs.field(metadata=c.check(c.any_text))
    starts_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    attended: bool = attrs.field(metadata=c.check(c.boolean))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Measurement:
    """A body measurement (health data). Deleted by anonymization."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    taken_on: dt.date = attrs.field(metadata=c.check(c.day))
    kind: str = attrs.field(metadata=c.check(c.any_text))
    value: Decimal = attrs.field(repr=c.redacted, metadata=c.check(c.decimal))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Exercise:
    """A planned exercise of a training plan. Deleted by anonymization."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    planned_on: dt.date = attrs.field(metadata=c.check(c.day))
    name: str = attrs.field(metadata=c.check(c.any_text))
    sets: int | None = attrs.field(default=None, metadata=c.check(c.optional(c.count)))
    reps: int | None = attrs.field(default=None, metadata=c.check(c.optional(c.count)))
    weight_kg: Decimal | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.non_negative_decimal))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Note:
    """A staff note on the profile. Free text may hold personal data."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    note_type: NoteType = attrs.field(metadata=c.check(c.member_of(NoteType)))
    created_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    text: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class LogEntry:
    """A line of the profile's Log tab. Deleted by anonymization."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    text: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class Document:
    """A file of the profile's Documents tab. Deleted by anonymization."""

    id: str = attrs.field(metadata=c.check(c.ident))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    name: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    uploaded_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    content_type: str = attrs.field(metadata=c.check(c.any_text))
    data: bytes = attrs.field(
        repr=lambda data: f"<{len(data)} bytes>", metadata=c.check(c.instance(bytes))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

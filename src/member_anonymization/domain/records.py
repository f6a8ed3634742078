"""Activity records of a member's profile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.members import _redacted
from member_anonymization.domain.values import ClubId, MemberId, NoteType


@final
@attrs.frozen(kw_only=True)
class Visit:
    """One entry to a club (historia wejść). Kept: statistics count it."""

    id: str
    member_id: MemberId
    club_id: ClubId
    entered_at: dt.datetime
    left_at: dt.datetime | None = None

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("entered_at", c.instant),
                ("left_at", c.optional(c.instant)),
            ),
            *c.not_before(self, "left_at", "entered_at"),
        )


@final
@attrs.frozen(kw_only=True)
class ClassBooking:
    """A booking of a class (zajęcia). Kept: attendance statistics count it."""

    id: str
    member_id: MemberId
    club_id: ClubId
    class_name: str
    starts_at: dt.datetime
    attended: bool

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("club_id", c.ident),
                ("class_name", c.text),
                ("starts_at", c.instant),
                ("attended", c.boolean),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class Measurement:
    """A body measurement (health data). Deleted by anonymization."""

    id: str
    member_id: MemberId
    taken_on: dt.date
    kind: str
    value: Decimal = attrs.field(repr=_redacted)

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("taken_on", c.day),
                ("kind", c.text),
                ("value", c.decimal),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class Exercise:
    """A planned exercise of a training plan. Deleted by anonymization."""

    id: str
    member_id: MemberId
    planned_on: dt.date
    name: str
    sets: int | None = None
    reps: int | None = None
    weight_kg: Decimal | None = None

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("planned_on", c.day),
                ("name", c.text),
                ("sets", c.optional(c.count)),
                ("reps", c.optional(c.count)),
                ("weight_kg", c.optional(c.non_negative_decimal)),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class Note:
    """A staff note on the profile. Free text may hold personal data."""

    id: str
    member_id: MemberId
    note_type: NoteType
    created_at: dt.datetime
    text: str = attrs.field(repr=_redacted)

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("note_type", c.member_of(NoteType)),
                ("created_at", c.instant),
                ("text", c.any_text),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class LogEntry:
    """A line of the profile's Log tab. Deleted by anonymization."""

    id: str
    member_id: MemberId
    at: dt.datetime
    text: str = attrs.field(repr=_redacted)

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (("id", c.ident), ("member_id", c.ident), ("at", c.instant), ("text", c.any_text)),
        )


@final
@attrs.frozen(kw_only=True)
class Document:
    """A file of the profile's Documents tab. Deleted by anonymization."""

    id: str
    member_id: MemberId
    name: str = attrs.field(repr=_redacted)
    uploaded_at: dt.datetime
    content_type: str
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("member_id", c.ident),
                ("name", c.text),
                ("uploaded_at", c.instant),
                ("content_type", c.text),
                ("data", c.instance(bytes)),
            ),
        )

"""Members and their personal data."""

from __future__ import annotations

import datetime as dt
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import BinaryContent, ClubId, MemberId


@final
@attrs.frozen(kw_only=True)
class Address:
    """A postal address (personal data)."""

    street: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    postal_code: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    city: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    country: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


@final
@attrs.frozen(kw_only=True)
class PersonalData:
    """Everything that identifies a member. Its ``repr`` never shows a value.

    Only the names are required; a club may not know the rest.
    """

    first_name: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    last_name: str = attrs.field(repr=c.redacted, metadata=c.check(c.any_text))
    email: str | None = attrs.field(
        default=None, repr=c.redacted, metadata=c.check(c.optional(c.any_text))
    )
    phone: str | None = attrs.field(
        default=None, repr=c.redacted, metadata=c.check(c.optional(c.any_text))
    )
    birth_date: dt.date | None = attrs.field(
        default=None, repr=c.redacted, metadata=c.check(c.optional(c.day))
    )
    national_id: str | None = attrs.field(
        default=None, repr=c.redacted, metadata=c.check(c.optional(c.any_text))
    )
    address: Address | None = attrs.field(
        default=None, repr=c.redacted, metadata=c.check(c.optional(c.instance(Address)))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    @property
    def display_name(self) -> str:
        """First and last name, as lists show it."""
        return f"{self.first_name} {self.last_name}".strip()


@final
@attrs.frozen(kw_only=True)
class Member:
    """A member (klubowicz) of the network.

    Attributes:
        home_club_id: The club whose settings (time zone, retention) apply.
        registered_on: When the member was registered.
        personal: The member's personal data.
        photo: The profile photo, if any.
        restrict_processing: GDPR Art. 18 switch: while on, nothing is removed.
        anonymized_at: When the member was anonymized, or ``None``.
    """

    id: MemberId = attrs.field(metadata=c.check(c.ident))
    home_club_id: ClubId = attrs.field(metadata=c.check(c.ident))
    registered_on: dt.date = attrs.field(metadata=c.check(c.day))
    personal: PersonalData = attrs.field(metadata=c.check(c.instance(PersonalData)))
    photo: BinaryContent | None = attrs.field(
        default=None,
        repr=lambda p: c.redacted(p) if p else "None",
        metadata=c.check(c.optional(c.instance(BinaryContent))),
    )
    restrict_processing: bool = attrs.field(default=False, metadata=c.check(c.boolean))
    anonymized_at: dt.datetime | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instant))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)

    @property
    def is_anonymized(self) -> bool:
        """Whether the member has been anonymized."""
        return self.anonymized_at is not None

"""Members and their personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any, final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import BinaryContent, ClubId, MemberId


def _redacted(_: Any) -> str:
    return "<redacted>"


@final
@attrs.frozen(kw_only=True)
class Address:
    """A postal address (personal data)."""

    street: str = attrs.field(repr=_redacted)
    postal_code: str = attrs.field(repr=_redacted)
    city: str = attrs.field(repr=_redacted)
    country: str = attrs.field(repr=_redacted)

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("street", c.any_text),
                ("postal_code", c.any_text),
                ("city", c.any_text),
                ("country", c.any_text),
            ),
        )


@final
@attrs.frozen(kw_only=True)
class PersonalData:
    """Everything that identifies a member. Its ``repr`` never shows a value.

    Only the names are required; a club may not know the rest.
    """

    first_name: str = attrs.field(repr=_redacted)
    last_name: str = attrs.field(repr=_redacted)
    email: str | None = attrs.field(default=None, repr=_redacted)
    phone: str | None = attrs.field(default=None, repr=_redacted)
    birth_date: dt.date | None = attrs.field(default=None, repr=_redacted)
    national_id: str | None = attrs.field(default=None, repr=_redacted)
    address: Address | None = attrs.field(default=None, repr=_redacted)

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("first_name", c.any_text),
                ("last_name", c.any_text),
                ("email", c.optional(c.any_text)),
                ("phone", c.optional(c.any_text)),
                ("birth_date", c.optional(c.day)),
                ("national_id", c.optional(c.any_text)),
                ("address", c.optional(c.instance(Address))),
            ),
        )

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

    id: MemberId
    home_club_id: ClubId
    registered_on: dt.date
    personal: PersonalData
    photo: BinaryContent | None = attrs.field(
        default=None, repr=lambda p: _redacted(p) if p else "None"
    )
    restrict_processing: bool = False
    anonymized_at: dt.datetime | None = None

    def __attrs_post_init__(self) -> None:
        c.validate(
            self,
            (
                ("id", c.ident),
                ("home_club_id", c.ident),
                ("registered_on", c.day),
                ("personal", c.instance(PersonalData)),
                ("photo", c.optional(c.instance(BinaryContent))),
                ("restrict_processing", c.boolean),
                ("anonymized_at", c.optional(c.instant)),
            ),
        )

    @property
    def is_anonymized(self) -> bool:
        """Whether the member has been anonymized."""
        return self.anonymized_at is not None

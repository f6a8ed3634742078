"""The dataset format's converter: cattrs hooks for every domain record (internal).

Reading is strict: a primitive of the wrong shape raises :class:`BadValue`
(whose message never holds the value), unknown keys are rejected, timestamps
need an offset and money is a decimal string. Use
:data:`member_anonymization.serialization.converter`, the shared instance.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from member_anonymization.domain import (
    Address,
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    BinaryContent,
    Document,
    ExtensionReason,
    Member,
    Note,
    NoteType,
    NoticeKind,
    OutboxKind,
    Permission,
    PersonalData,
    RejectionReason,
    Reminder,
    RequestChannel,
    RequestStatus,
)
from member_anonymization.errors import MemberAnonymizationError

__all__ = ["RENAMED", "BadValue", "make_converter"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class BadValue(MemberAnonymizationError, ValueError):
    """A primitive value of the wrong shape; the message never holds the value."""


def _strict(kind: type[Any], label: str) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise BadValue(f"must be {label}")
        return value

    return hook


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, float):
        raise BadValue("must be a decimal string, not a float")
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise BadValue('must be a decimal string such as "12.50"')
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern already guards
        raise BadValue("must be a decimal string") from None


def _structure_date(value: Any, _: Any) -> dt.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise BadValue("must be a date as YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadValue("must be a valid calendar date (YYYY-MM-DD)") from None


def _structure_datetime(value: Any, _: Any) -> dt.datetime:
    if not isinstance(value, str) or len(value) < 16 or value[10:11] not in ("T", " "):
        raise BadValue("must be an ISO 8601 timestamp with an offset")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadValue("must be an ISO 8601 timestamp with an offset") from None
    if parsed.tzinfo is None:
        raise BadValue("must have an offset (a naive timestamp is ambiguous)")
    return parsed


def _structure_bytes(value: Any, _: Any) -> bytes:
    if not isinstance(value, str):
        raise BadValue("must be base64 text")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BadValue("must be valid base64") from None


def _unstructure_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _structure_enum(enum_type: type[enum.Enum]) -> Callable[[Any, Any], Any]:
    allowed = {member.value: member for member in enum_type}
    reason = f"must be one of: {', '.join(str(v) for v in allowed)}"

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, str) or value not in allowed:
            raise BadValue(reason)
        return allowed[value]

    return hook


def _structure_permissions(value: Any, _: Any) -> frozenset[Permission]:
    if not isinstance(value, list):
        raise BadValue("must be a list of permissions")
    allowed = {p.value: p for p in Permission}
    out: set[Permission] = set()
    for item in value:
        if item not in allowed:
            raise BadValue(f"must hold only: {', '.join(sorted(allowed))}")
        out.add(allowed[item])
    return frozenset(out)


_PERSONAL_KEYS: Final = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "national_id",
    "address",
)


@attrs.define(kw_only=True)
class _MemberRow:
    """The flat dataset shape of a member (unvalidated until it becomes a Member)."""

    id: str
    home_club_id: str
    registered_on: dt.date
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    birth_date: dt.date | None = None
    national_id: str | None = None
    address: Address | None = None
    photo: BinaryContent | None = None
    restrict_processing: bool = False
    anonymized_at: dt.datetime | None = None


_ENUMS: Final = (
    NoteType,
    AnonymizationMode,
    AuditAction,
    RequestChannel,
    RequestStatus,
    ExtensionReason,
    RejectionReason,
    NoticeKind,
    OutboxKind,
)
"""Enumerations written as their values."""

RENAMED: Final[Mapping[tuple[type[Any], str], str]] = {
    (BinaryContent, "data"): "data_base64",
    (Document, "data"): "data_base64",
    (Note, "note_type"): "type",
}
"""Fields whose dataset key differs from the attribute: (class, attribute) -> key."""

_OMITTED_WHEN_EMPTY: Final[Mapping[type[Any], tuple[str, ...]]] = {
    Reminder: ("request_id", "action"),
    AuditEntry: ("as_of",),
}
"""Fields added after the first release: left out of a file while empty, so
that data written before them is written back exactly as it was."""


def make_converter() -> cattrs.Converter:
    """A fresh converter for the dataset shapes of every domain record."""
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    conv.register_structure_hook(bytes, _structure_bytes)
    conv.register_unstructure_hook(bytes, _unstructure_bytes)
    is_permissions: Callable[[Any], bool] = lambda t: t == frozenset[Permission]  # noqa: E731
    conv.register_structure_hook_func(is_permissions, _structure_permissions)
    conv.register_unstructure_hook_func(is_permissions, lambda ps: sorted(p.value for p in ps))
    for enum_type in _ENUMS:
        conv.register_structure_hook(enum_type, _structure_enum(enum_type))
        conv.register_unstructure_hook(enum_type, lambda e: e.value)

    overridden: dict[type[Any], dict[str, Any]] = {}
    for (cls, attribute), key in RENAMED.items():
        overridden.setdefault(cls, {})[attribute] = override(rename=key)
    for cls, names in _OMITTED_WHEN_EMPTY.items():
        for attribute in names:
            overridden.setdefault(cls, {})[attribute] = override(omit_if_default=True)
    for cls, fields in overridden.items():
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **fields))
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **fields))

    row_structure = make_dict_structure_fn(_MemberRow, conv)

    def structure_member(value: Any, _: Any) -> Member:
        if not isinstance(value, Mapping):
            raise BadValue("must be an object")
        row = row_structure(value, _MemberRow)
        personal = PersonalData(**{key: getattr(row, key) for key in _PERSONAL_KEYS})
        return Member(
            id=row.id,
            home_club_id=row.home_club_id,
            registered_on=row.registered_on,
            personal=personal,
            photo=row.photo,
            restrict_processing=row.restrict_processing,
            anonymized_at=row.anonymized_at,
        )

    def unstructure_member(member: Member) -> dict[str, Any]:
        p = member.personal
        return {
            "id": member.id,
            "home_club_id": member.home_club_id,
            "registered_on": member.registered_on.isoformat(),
            "first_name": p.first_name,
            "last_name": p.last_name,
            "email": p.email,
            "phone": p.phone,
            "birth_date": None if p.birth_date is None else p.birth_date.isoformat(),
            "national_id": p.national_id,
            "address": conv.unstructure(p.address, Address | None),
            "photo": conv.unstructure(member.photo, BinaryContent | None),
            "restrict_processing": member.restrict_processing,
            "anonymized_at": None
            if member.anonymized_at is None
            else member.anonymized_at.isoformat(),
        }

    conv.register_structure_hook(Member, structure_member)
    conv.register_unstructure_hook(Member, unstructure_member)
    return conv

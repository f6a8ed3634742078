"""Construction-time validation of domain records.

Every domain record checks all of its fields when it is built and reports every
problem at once in one :class:`InvalidRecordError`. Messages name the record
type, its id (a key, which tells nothing about the person by itself) and the
field, and say what is wrong; they never repeat the offending value, because
it may be personal data.

Each field declares its check where it is declared, through its metadata::

    id: str = attrs.field(metadata=c.check(c.ident))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self, *c.not_before(self, "end", "start"))

:func:`check_fields` runs every declared check in declaration order, adds the
rules that span several fields, and raises once with every problem.

Only what the rules and the formats need is strict: ids, dates, instants,
amounts, currencies, time zones, booleans and enums. Text that is only shown
(names of clubs, employees, contracts, classes, exercises and documents, a
measurement's kind, content types, invoice numbers and lines) is
:func:`any_text`: a host's real data has blanks there, and a blank name must not
stop a check, an anonymization or an export.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Final, final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from member_anonymization.errors import MemberAnonymizationError

Check = Callable[[Any], "str | None"]
"""A check returns ``None`` when the value is valid, or a reason (no value)."""

MAX_ID_LENGTH: Final = 200
MAX_COUNT: Final = 2**31 - 1
"""The largest count (sets, repetitions, months, removals): 2,147,483,647, the
largest signed 32-bit integer, which the reference schema's ``INTEGER`` columns
hold on every supported database (PostgreSQL's are 32-bit)."""
_CURRENCY = re.compile(r"[A-Z]{3}")
_CHECK: Final = "member_anonymization.check"
"""The metadata key under which a field declares its check."""
_DECLARED: dict[type, tuple[tuple[str, Check], ...]] = {}
""":func:`declared_checks` by record type, filled on first use."""


@final
@attrs.frozen
class FieldProblem:
    """One invalid field of a record: which field and why, never the value."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidRecordError(MemberAnonymizationError, ValueError):
    """A domain record was built with invalid values.

    Attributes:
        record_type: The class name of the record, such as ``"Contract"``.
        record_id: The record's id when it is itself valid, else ``None``.
        problems: Every invalid field, in declaration order.
    """

    def __init__(
        self, record_type: str, record_id: str | None, problems: Iterable[FieldProblem]
    ) -> None:
        self.record_type = record_type
        self.record_id = record_id
        self.problems = tuple(problems)
        where = record_type if record_id is None else f"{record_type} {record_id!r}"
        details = "; ".join(str(p) for p in self.problems)
        super().__init__(f"invalid {where}: {details}")


def validate(record: object, checks: Iterable[tuple[str, Check]], *extra: FieldProblem) -> None:
    """Run ``checks`` on the fields of ``record``; raise once with every problem."""
    problems = [
        FieldProblem(name, reason)
        for name, check in checks
        if (reason := check(getattr(record, name))) is not None
    ]
    problems.extend(extra)
    if problems:
        raw_id = getattr(record, "id", None)
        record_id = raw_id if ident(raw_id) is None else None
        raise InvalidRecordError(type(record).__name__, record_id, problems)


def check(field_check: Check) -> dict[str, Check]:
    """Field metadata declaring ``field_check`` as the field's check."""
    return {_CHECK: field_check}


def check_of(field: attrs.Attribute[Any]) -> Check | None:
    """The check ``field`` declares, or ``None`` when it declares none."""
    return field.metadata.get(_CHECK)


def declared_checks(record_type: type) -> tuple[tuple[str, Check], ...]:
    """Every field of ``record_type`` with its check, in declaration order.

    Raises:
        TypeError: A field declares no check.
    """
    checks = _DECLARED.get(record_type)
    if checks is None:
        checks = tuple(
            (field.name, _declared_check(record_type, field)) for field in attrs.fields(record_type)
        )
        _DECLARED[record_type] = checks
    return checks


def _declared_check(record_type: type, field: attrs.Attribute[Any]) -> Check:
    field_check = check_of(field)
    if field_check is None:
        raise TypeError(f"{record_type.__name__}.{field.name} declares no check")
    return field_check


def check_fields(record: object, *extra: FieldProblem) -> None:
    """Run every check ``record``'s fields declare, then ``extra``; raise once with all."""
    validate(record, declared_checks(type(record)), *extra)


def redacted(_: Any) -> str:
    """The ``repr`` of a field holding personal data."""
    return "<redacted>"


def optional(check: Check) -> Check:
    """Allow ``None`` besides what ``check`` accepts."""

    def _optional(value: Any) -> str | None:
        return None if value is None else check(value)

    return _optional


def ident(value: Any) -> str | None:
    """A record id: a non-empty string without surrounding white space."""
    if not isinstance(value, str):
        return "must be a string id"
    if not value or value.strip() != value:
        return "must be a non-empty id without surrounding white space"
    if len(value) > MAX_ID_LENGTH:
        return f"must be at most {MAX_ID_LENGTH} characters"
    return None


def text(value: Any) -> str | None:
    """A required, non-blank string."""
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "must not be blank"
    return None


def any_text(value: Any) -> str | None:
    """A string that may be empty (free text, or a name that is only shown)."""
    return None if isinstance(value, str) else "must be a string"


def day(value: Any) -> str | None:
    """A calendar date (not a datetime)."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        return "must be a date"
    return None


def instant(value: Any) -> str | None:
    """A timezone-aware datetime."""
    if not isinstance(value, dt.datetime):
        return "must be a datetime"
    if value.tzinfo is None or value.utcoffset() is None:
        return "must be timezone-aware (a timestamp with an offset)"
    return None


def decimal(value: Any) -> str | None:
    """A finite :class:`~decimal.Decimal` (never a float)."""
    if isinstance(value, float):
        return "must be a Decimal, not a float"
    if not isinstance(value, Decimal):
        return "must be a Decimal"
    if not value.is_finite():
        return "must be a finite number"
    return None


def non_negative_decimal(value: Any) -> str | None:
    """A finite, non-negative Decimal."""
    reason = decimal(value)
    if reason is None and value < 0:
        return "must not be negative"
    return reason


def positive_count(value: Any) -> str | None:
    """A positive integer (not a bool)."""
    reason = count(value)
    if reason is None and value == 0:
        return "must be at least 1"
    return reason


def currency(value: Any) -> str | None:
    """An ISO 4217 code: three capital letters."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        return "must be an ISO 4217 currency code (three capital letters)"
    return None


def boolean(value: Any) -> str | None:
    """A real ``bool``."""
    return None if isinstance(value, bool) else "must be true or false"


def count(value: Any) -> str | None:
    """A non-negative integer (not a bool) of at most :data:`MAX_COUNT`."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    if value < 0:
        return "must not be negative"
    if value > MAX_COUNT:
        return f"must be at most {MAX_COUNT}"
    return None


def member_of(enum_type: type[enum.Enum]) -> Check:
    """A member of ``enum_type``."""

    def _member_of(value: Any) -> str | None:
        if isinstance(value, enum_type):
            return None
        allowed = ", ".join(str(m.value) for m in enum_type)
        return f"must be one of: {allowed}"

    return _member_of


def each(check: Check, *, unique: bool = False) -> Check:
    """A tuple whose every item passes ``check``."""

    def _each(value: Any) -> str | None:
        if not isinstance(value, tuple):
            return "must be a tuple"
        for index, item in enumerate(value):
            reason = check(item)
            if reason is not None:
                return f"item {index} {reason}"
        if unique and len(set(value)) != len(value):
            return "must not repeat an item"
        return None

    return _each


def frozenset_of(check: Check) -> Check:
    """A frozenset whose every item passes ``check``."""

    def _frozenset_of(value: Any) -> str | None:
        if not isinstance(value, frozenset):
            return "must be a frozenset"
        for item in value:
            reason = check(item)
            if reason is not None:
                return f"an item {reason}"
        return None

    return _frozenset_of


def instance(cls: type) -> Check:
    """An instance of ``cls``."""

    def _instance(value: Any) -> str | None:
        return None if isinstance(value, cls) else f"must be a {cls.__name__}"

    return _instance


def timezone(value: Any) -> str | None:
    """An IANA time zone name known to this system."""
    if not isinstance(value, str) or not value:
        return "must be an IANA time zone name"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone name known to this system"
    return None


def not_before(
    record: object, later: str, earlier: str, *, reason: str | None = None
) -> tuple[FieldProblem, ...]:
    """Problems when ``record.later`` is set and precedes ``record.earlier``."""
    a = getattr(record, later)
    b = getattr(record, earlier)
    try:
        wrong = a is not None and b is not None and a < b
    except TypeError:  # mismatched types are already reported by their own checks
        return ()
    if wrong:
        return (FieldProblem(later, reason or f"must not be before {earlier}"),)
    return ()

"""Column types that keep every value exact on SQLite and PostgreSQL.

* :class:`ExactDecimal`: ``NUMERIC`` on PostgreSQL (it keeps the scale, so
  ``12.50`` comes back as ``12.50``); ``TEXT`` on SQLite, whose ``NUMERIC``
  affinity would turn decimals into binary floats.
* :class:`UtcInstant`: the instant of a timestamp, in UTC. ``TIMESTAMP WITH TIME
  ZONE`` on PostgreSQL; fixed-width ISO text on SQLite, so that comparing the
  text compares the instants. The original UTC offset is kept beside it in an
  integer ``<name>_offset`` column (seconds east of UTC): see
  :func:`split_instant` and :func:`join_instant`.
* :class:`FreeText` and :class:`Identifier`: text, and record ids compared and
  ordered by code point (``COLLATE "C"`` on PostgreSQL; SQLite's ``BINARY``
  already does). PostgreSQL cannot store the NUL character in text, so there
  a value holding one (rare, and always hostile) is stored escaped behind a
  marker character and unescaped when read: every string round-trips.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import DateTime, Numeric, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from member_anonymization.errors import MemberAnonymizationError

__all__ = [
    "ExactDecimal",
    "FreeText",
    "Identifier",
    "InstantError",
    "UtcInstant",
    "join_instant",
    "split_instant",
]

_MARK: Final = "\ufdd0"
"""Starts an escaped value on PostgreSQL (a Unicode noncharacter, never in real text)."""
_ESCAPED: Final = re.compile(r"\\(.)", re.DOTALL)


def _escape_nul(value: str) -> str:
    if "\x00" not in value and not value.startswith(_MARK):
        return value
    return _MARK + value.replace("\\", "\\\\").replace("\x00", "\\0")


def _unescape_nul(value: str) -> str:
    if not value.startswith(_MARK):
        return value
    return _ESCAPED.sub(lambda m: "\x00" if m[1] == "0" else m[1], value[1:])


def _escape_optional(value: str | None) -> str | None:
    return value if value is None else _escape_nul(value)


def _unescape_optional(value: str | None) -> str | None:
    return value if value is None or not value.startswith(_MARK) else _unescape_nul(value)


class _EscapedText(TypeDecorator[str]):
    """Text escaped on PostgreSQL when it holds NUL; one plain function per value.

    The processors are those :meth:`process_bind_param` and
    :meth:`process_result_value` describe, without the generic wrapper's
    extra calls: the adapter reads and writes many of these values.
    """

    impl: Any = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        """The text, escaped on PostgreSQL when it holds NUL."""
        if value is None or dialect.name != "postgresql":
            return value
        return _escape_nul(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """The original text."""
        if value is None or dialect.name != "postgresql":
            return value  # type: ignore[no-any-return]
        return _unescape_nul(value)

    def bind_processor(self, dialect: Dialect) -> Any:
        """:meth:`process_bind_param` as one function (none on SQLite)."""
        inner = self.impl_instance.bind_processor(dialect)
        if dialect.name != "postgresql":
            return inner
        if inner is None:
            return _escape_optional
        return lambda value: inner(_escape_optional(value))

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """:meth:`process_result_value` as one function (none on SQLite)."""
        inner = self.impl_instance.result_processor(dialect, coltype)
        if dialect.name != "postgresql":
            return inner
        if inner is None:
            return _unescape_optional
        return lambda value: _unescape_optional(inner(value))


class FreeText(_EscapedText):
    """Text of any length; on PostgreSQL a value holding NUL is stored escaped."""

    impl = Text
    cache_ok = True


class Identifier(_EscapedText):
    """A record id, ordered by code point (``VARCHAR COLLATE "C"`` on PostgreSQL)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``VARCHAR(200)``; on PostgreSQL unbounded (escaping may lengthen it), ``"C"``."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(String(collation="C"))
        return dialect.type_descriptor(String(200))


_SQLITE_FORMAT: Final = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


class ExactDecimal(TypeDecorator[Decimal]):
    """A :class:`~decimal.Decimal` stored without ever becoming a float."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """NUMERIC (unconstrained) on PostgreSQL, TEXT elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """The Decimal itself for NUMERIC, its exact text for TEXT."""
        if value is None or dialect.name == "postgresql":
            return value
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """A Decimal with the stored scale."""
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(value)


class UtcInstant(TypeDecorator[dt.datetime]):
    """A timezone-aware instant, stored in UTC and read back in UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """TIMESTAMP WITH TIME ZONE on PostgreSQL, fixed-width text on SQLite."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(String(26))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """The instant in UTC (as text on SQLite)."""
        if value is None:
            return None
        utc = value.astimezone(dt.UTC)
        if dialect.name == "postgresql":
            return utc
        return _SQLITE_FORMAT % (
            utc.year,
            utc.month,
            utc.day,
            utc.hour,
            utc.minute,
            utc.second,
            utc.microsecond,
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """An aware datetime in UTC."""
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC)
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


class InstantError(MemberAnonymizationError, ValueError):
    """A timestamp the schema cannot hold exactly (the message holds no value)."""


def split_instant(value: dt.datetime) -> tuple[dt.datetime, int]:
    """The UTC instant and the UTC offset in seconds of an aware datetime.

    Raises:
        InstantError: The offset is not a whole number of seconds, or the
            instant in UTC falls outside the years 1 to 9999.
    """
    offset = value.utcoffset()
    if offset is None:
        raise InstantError("must have an offset")
    if offset.microseconds:
        raise InstantError("must have an offset of whole seconds")
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        raise InstantError("must fall within the years 1 to 9999 in UTC") from None
    return utc, offset.days * 86400 + offset.seconds


def join_instant(utc: dt.datetime, offset: int) -> dt.datetime:
    """The instant again, expressed at its original UTC offset."""
    if offset == 0:
        return utc.astimezone(dt.UTC)
    return utc.astimezone(dt.timezone(dt.timedelta(seconds=offset)))

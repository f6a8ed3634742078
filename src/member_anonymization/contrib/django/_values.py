"""Instants and blanks between Django's columns and the library's records."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def aware(value: dt.datetime) -> dt.datetime:
    """An instant read from Django, made aware.

    With ``USE_TZ=False`` Django returns naive datetimes in ``settings.TIME_ZONE``;
    with ``USE_TZ=True`` it returns them in UTC.
    """
    if timezone.is_naive(value):
        return timezone.make_aware(value, ZoneInfo(settings.TIME_ZONE))
    return value


def to_club_time(value: dt.datetime, club_timezone: str) -> dt.datetime:
    """An instant read from Django, in the club's time zone (the offset the domain expects)."""
    return aware(value).astimezone(ZoneInfo(club_timezone))


def to_database(value: dt.datetime) -> dt.datetime:
    """An aware instant ready for a ``DateTimeField`` under the current ``USE_TZ``."""
    if settings.USE_TZ:
        return value
    return timezone.make_naive(value, ZoneInfo(settings.TIME_ZONE))


def blank_to_none(value: str | None) -> str | None:
    """A text column's ``""`` blank read as ``None``."""
    return value or None


def none_to_blank(value: str | None) -> str:
    """``None`` written as the ``""`` blank of a ``NOT NULL`` text column.

    Never use it for a unique column: a second ``""`` breaks the constraint, so
    write ``None`` there (``null=True``).
    """
    return "" if value is None else value

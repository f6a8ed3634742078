"""Calendar arithmetic shared by the retention rule and erasure-request deadlines."""

from __future__ import annotations

import calendar
import datetime as dt

__all__ = ["add_months", "month_length"]


def month_length(year: int, month: int) -> int:
    """The number of days of ``month`` in ``year``."""
    return calendar.monthrange(year, month)[1]


def add_months(day: dt.date, months: int) -> dt.date:
    """Move ``day`` by calendar months, clamping the day to the month's length.

    ``add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)``; ``months`` may be
    negative or zero.

    Raises:
        ValueError: The result falls outside the years 1 to 9999.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise ValueError("the date moved by that many months is out of range")
    month = month0 + 1
    return dt.date(year, month, min(day.day, month_length(year, month)))

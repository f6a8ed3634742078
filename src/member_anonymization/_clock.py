"""What the services share: the real clock, new ids, and their common defaults."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TypeVar, final

from member_anonymization.ports import Clock

__all__ = ["SystemClock", "new_id", "service_defaults"]

OptionsT = TypeVar("OptionsT")


@final
class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> dt.datetime:
        """The current instant."""
        return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A new random id: 32 hexadecimal digits."""
    return uuid.uuid4().hex


def service_defaults(
    clock: Clock | None, options: OptionsT | None, default_options: Callable[[], OptionsT]
) -> tuple[Clock, OptionsT]:
    """The clock and options a service runs with: those given, or the defaults.

    Args:
        clock: The clock given, or ``None`` for :class:`SystemClock`.
        options: The options given, or ``None`` for ``default_options()``.
        default_options: Makes the default options.
    """
    return (
        clock if clock is not None else SystemClock(),
        options if options is not None else default_options(),
    )

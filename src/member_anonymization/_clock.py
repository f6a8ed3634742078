"""What the services share: the real clock and new ids."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import final

__all__ = ["SystemClock", "new_id"]


@final
class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> dt.datetime:
        """The current instant."""
        return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A new random id: 32 hexadecimal digits."""
    return uuid.uuid4().hex

"""The constructor, clock and options that the library's services share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from member_anonymization._clock import SystemClock
from member_anonymization.ports import Clock, UnitOfWork, UnitOfWorkFactory

__all__ = ["BatchedService", "Service"]

OptionsT = TypeVar("OptionsT")


class Service(Generic[OptionsT]):
    """A service over the host's units of work, with a clock and options.

    Args:
        unit_of_work: Opens a fresh unit of work for each operation.
        clock: The current time; the system clock by default.
        options: The club's options; the service's defaults by default.
    """

    _default_options: ClassVar[type[Any]]

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory | Callable[[], UnitOfWork],
        *,
        clock: Clock | None = None,
        options: OptionsT | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._options: OptionsT = options if options is not None else self._default_options()

    @property
    def options(self) -> OptionsT:
        """The options in force."""
        return self._options


class BatchedService(Service[OptionsT]):
    """A service that works in batches, one unit of work each.

    Args:
        unit_of_work: Opens a fresh unit of work for each batch.
        clock: The current time; the system clock by default.
        options: The club's options; the service's defaults by default.
        batch_size: How many members one unit of work handles; the service's
            ``DEFAULT_BATCH_SIZE`` by default.

    Raises:
        ValueError: ``batch_size`` is not a whole number of at least 1.
    """

    default_batch_size: ClassVar[int]

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory | Callable[[], UnitOfWork],
        *,
        clock: Clock | None = None,
        options: OptionsT | None = None,
        batch_size: int | None = None,
    ) -> None:
        size = self.default_batch_size if batch_size is None else batch_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError("batch_size must be a whole number of at least 1")
        super().__init__(unit_of_work, clock=clock, options=options)
        self._batch_size = size

    @property
    def batch_size(self) -> int:
        """How many members one unit of work handles."""
        return self._batch_size

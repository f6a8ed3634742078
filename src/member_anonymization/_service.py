"""What the library's services share: the constructor, and batches redone one by one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from member_anonymization._clock import SystemClock
from member_anonymization.ports import Clock, UnitOfWork, UnitOfWorkFactory

__all__ = ["BatchedService", "Outcome", "Service", "settle_batch"]

OptionsT = TypeVar("OptionsT")
T = TypeVar("T")
OutcomeT = TypeVar("OutcomeT", bound="Outcome")


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


class Outcome(Protocol):
    """What settling some items produced; the outcomes of single items add up."""

    def merge(self, other: Self) -> None:
        """Add ``other``'s results to these."""
        ...


def settle_batch(
    open_unit: Callable[[], UnitOfWork],
    fetch: Callable[[UnitOfWork], Sequence[T]],
    settle: Callable[[UnitOfWork, Sequence[T]], OutcomeT],
    *,
    empty: Callable[[], OutcomeT],
    failed: Callable[[OutcomeT, T, Exception], None],
    what: str,
    log: logging.Logger,
) -> tuple[Sequence[T], OutcomeT]:
    """Fetch a batch and settle it in one unit of work; redo it one item at a time on failure.

    Args:
        open_unit: Opens a unit of work.
        fetch: Reads the batch in the batch's unit of work.
        settle: Settles some items in a unit of work (and commits it).
        empty: Makes an outcome with nothing in it.
        failed: Records in the outcome an item that failed on its own.
        what: What a batch is of, for the log (``"retention"``, ...).
        log: The service's logger.

    Returns:
        The batch and what settling it produced.

    Raises:
        Exception: What ``fetch`` raised (nothing was read, so nothing is retried).
    """
    items: Sequence[T] = ()
    try:
        with open_unit() as uow:
            items = fetch(uow)
            if not items:
                return items, empty()
            return items, settle(uow, items)
    except Exception as exc:
        if not items:
            raise
        log.warning(
            "%s batch of %d failed (%s); retrying one at a time",
            what,
            len(items),
            type(exc).__name__,
        )
    outcome = empty()
    for item in items:
        try:
            with open_unit() as uow:
                single = settle(uow, [item])
        except Exception as exc:
            log.warning("%s of one item failed (%s)", what, type(exc).__name__)
            failed(outcome, item, exc)
            continue
        outcome.merge(single)
    return items, outcome

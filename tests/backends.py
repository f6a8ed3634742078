"""The stores that the behavioural tests run against.

Every behavioural test and invariant takes the ``make_store`` fixture and runs
once per backend: in memory, and (with the SQL adapter) SQLite and PostgreSQL.
A backend turns a :class:`~member_anonymization.serialization.Dataset` into a
fresh :class:`Store`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from member_anonymization.serialization import Dataset
from member_anonymization.testing import InMemoryStore


class Store(Protocol):
    """What a test needs from a backend holding one dataset."""

    calls: list[str]

    def unit_of_work(self) -> Any:
        """A fresh unit of work (possibly wrapped for fault injection)."""
        ...

    def snapshot(self) -> Dataset:
        """The committed content, in canonical order."""
        ...

    def fail_on_call(self, n: int) -> None:
        """Make the n-th repository call from now on raise."""
        ...

    def heal(self) -> None:
        """Stop injecting failures."""
        ...


MakeStore = Callable[[Dataset], Store]

BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Iterator[MakeStore]]] = {}


def _memory(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    del request
    yield InMemoryStore


BACKENDS["memory"] = _memory


@pytest.fixture(params=sorted(BACKENDS, key=lambda n: n != "memory"))
def make_store(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """A factory of fresh stores on each backend (memory first)."""
    yield from BACKENDS[request.param](request)

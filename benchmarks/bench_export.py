"""Time and peak memory of exporting a member with a long visit history.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_export.py [--visits 100000] [--no-sqlite]

For each store and format it prints the wall time of one export (without
tracing) and the peak of memory allocated while exporting (``tracemalloc``,
in a second run). Three stores:

* ``memory``: the in-memory adapter. Its unit of work copies the tables and
  returns lists, so the peak includes the adapter's own copy of 100,000 visits;
  ``memory (reading only)`` shows that part alone (opening a unit of work and
  listing the visits, no export).
* ``streaming``: the in-memory adapter for everything but the visits, which a
  generator makes one at a time, as a streaming database adapter hands them
  over. Its peak is the exporter's own.
* ``sqlite``: the reference SQL adapter on a temporary SQLite file (when
  ``member_anonymization.adapters.sql`` is installed).

The output goes to a temporary file, so it is not counted as memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from member_anonymization.domain import (
    BinaryContent,
    Club,
    Employee,
    Member,
    Network,
    Permission,
    PersonalData,
    Visit,
)
from member_anonymization.export import Exporter, ExportFormat
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FixedClock, InMemoryStore

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
START = dt.datetime(2015, 1, 1, 6, 0, tzinfo=dt.UTC)


def visit(i: int) -> Visit:
    """The i-th visit of member m1: one a day, an hour and a half each."""
    entered = START + dt.timedelta(hours=i * 7)
    return Visit(
        id=f"v{i:07d}",
        member_id="m1",
        club_id="c1",
        entered_at=entered,
        left_at=entered + dt.timedelta(minutes=90),
    )


def dataset(visits: int) -> Dataset:
    """A network with one club, one employee and member m1 with ``visits`` visits."""
    member = Member(
        id="m1",
        home_club_id="c1",
        registered_on=dt.date(2015, 1, 1),
        personal=PersonalData(first_name="Jan", last_name="Kowalski", email="jan@example.com"),
        photo=BinaryContent(content_type="image/jpeg", data=b"\xff\xd8" + b"\0" * 50_000),
    )
    return Dataset(
        network=Network(id="net-1", name="Fit Network"),
        clubs=(Club(id="c1", name="Centrum", timezone="Europe/Warsaw", uses_debt_collection=True),),
        employees=(Employee(id="e1", name="Desk", permissions=frozenset(Permission)),),
        members=(member,),
        visits=tuple(visit(i) for i in range(visits)),
    )


class _GeneratedVisits:
    """A profile reader whose visits are made one at a time, like a database cursor."""

    def __init__(self, inner: Any, count: int) -> None:
        self._inner = inner
        self._count = count

    def visits_of(self, member_id: str) -> Iterator[Visit]:
        return (visit(i) for i in range(self._count)) if member_id == "m1" else iter(())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _StreamingUnitOfWork:
    """An in-memory unit of work with :class:`_GeneratedVisits` as its profile reader."""

    def __init__(self, inner: Any, count: int) -> None:
        self._inner = inner
        self._count = count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _StreamingUnitOfWork:
        self._inner.__enter__()
        self.profile = _GeneratedVisits(self._inner.profile, self._count)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)


def measure(action: Callable[[], object]) -> tuple[float, float]:
    """Seconds of one untraced run, and MiB at the peak of a traced run."""
    gc.collect()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    try:
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak / 2**20


def run(name: str, factory: Callable[[], Any], folder: Path) -> None:
    """Export m1 as JSON and as ZIP and print one line for each."""
    exporter = Exporter(factory, clock=FixedClock(NOW))
    counter = iter(range(1_000_000))
    for fmt in ExportFormat:
        size = 0

        def export(fmt: ExportFormat = fmt) -> None:
            nonlocal size
            path = folder / f"{name}-{next(counter)}.{fmt.value}"
            exporter.export("m1", path, actor="e1", format=fmt)
            size = path.stat().st_size
            path.unlink()

        seconds, peak = measure(export)
        print(
            f"{name:<24} {fmt.value:<5} {seconds:8.2f} s {peak:10.1f} MiB {size / 2**20:10.1f} MiB"
        )


def main() -> None:
    """Run every benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    count: int = args.visits

    print(f"exporting a member with {count:,} visits")
    print(f"{'store':<24} {'form':<5} {'time':>10} {'peak memory':>14} {'file size':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = InMemoryStore(dataset(count))

        def read_only() -> None:
            with store.unit_of_work() as uow:
                sum(1 for _ in uow.profile.visits_of("m1"))

        seconds, peak = measure(read_only)
        label = "memory (reading only)"
        print(f"{label:<24} {'-':<5} {seconds:8.2f} s {peak:10.1f} MiB")
        run("memory", store.unit_of_work, folder)

        small = InMemoryStore(dataset(0))
        run("streaming", lambda: _StreamingUnitOfWork(small.unit_of_work(), count), folder)

        if not args.no_sqlite and importlib.util.find_spec("member_anonymization.adapters.sql"):
            from member_anonymization.adapters.sql import SqlStore

            sql = SqlStore.open(folder / "bench.sqlite")
            sql.create_schema()
            started = time.perf_counter()
            sql.load(dataset(count))
            print(f"(sqlite: loaded in {time.perf_counter() - started:.1f} s)")
            run("sqlite", sql.unit_of_work, folder)
            sql.dispose()


if __name__ == "__main__":
    main()

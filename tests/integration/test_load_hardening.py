"""Loading hostile or huge dataset files into the SQL adapter: all or nothing, every problem.

``SqlStore.load_file`` streams a file record by record; ``SqlStore.load`` takes
a parsed file. Both reject bad input with one ``DatasetError`` listing where
each problem is, write nothing, and agree on every message.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from member_anonymization import DatasetError, structure_dataset, unstructure_dataset
from member_anonymization.serialization import DATASET_FORMAT
from tests.backends import MakeSqlStore, SqlTestStore

EXAMPLE = Path(__file__).parent.parent / "data" / "spec_example.json"
Raw = dict[str, Any]


def example() -> Raw:
    """The dataset example of interfaces.md, parsed."""
    data: Raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


def encoded(data: Raw, *, indent: int | None = 1, ascii_only: bool = False) -> bytes:
    """The file's bytes (non-ASCII text as UTF-8 unless ``ascii_only``)."""
    return json.dumps(data, ensure_ascii=ascii_only, indent=indent).encode("utf-8")


def second_file(**collections: list[Raw]) -> Raw:
    """A further file of the example's network holding only ``collections``."""
    return {"format": DATASET_FORMAT, "network": example()["network"], **collections}


def visit(id: str, **changes: Any) -> Raw:
    record = {
        "id": id,
        "member_id": "m1",
        "club_id": "c1",
        "entered_at": "2020-01-01T10:00:00+01:00",
        "left_at": None,
    }
    record.update(changes)
    return record


def by_id(raw: Raw) -> Raw:
    out = dict(raw)
    for key, value in raw.items():
        if isinstance(value, list):
            out[key] = sorted(value, key=lambda r: r.get("id", r.get("member_id")))
    return out


class Unseekable(io.RawIOBase):
    """A pipe-like stream: readable once, not seekable."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(len(buffer), 4096))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def rejected(store: SqlTestStore, source: Any, *, via_file: bool) -> DatasetError:
    """The error of loading ``source``; checks that nothing was written."""
    before = store.snapshot() if _has_network(store) else None
    load = store.sql.load_file if via_file else store.sql.load
    with pytest.raises(DatasetError) as caught:
        load(source)
    after = store.snapshot() if _has_network(store) else None
    assert after == before
    return caught.value


def _has_network(store: SqlTestStore) -> bool:
    from member_anonymization.adapters.sql import EmptyDatabaseError

    try:
        store.sql.dump()
    except EmptyDatabaseError:
        return False
    return True


# --------------------------------------------------------------------------- 64-bit integers


@pytest.mark.parametrize(
    ("collection", "path", "field"),
    [
        ("exercises", ("sets",), "sets"),
        (
            "clubs",
            ("retention", "months_after_contract_end"),
            "retention.months_after_contract_end",
        ),
    ],
)
@pytest.mark.parametrize("too_large", [2**70, 2**63, 2**31], ids=["2**70", "2**63", "2**31"])
@pytest.mark.parametrize("via_file", [False, True], ids=["parsed", "file"])
def test_an_integer_beyond_64_bits_is_a_problem_not_a_driver_error(
    make_sql_store: MakeSqlStore,
    collection: str,
    path: tuple[str, ...],
    field: str,
    via_file: bool,
    too_large: int,
) -> None:
    """2**70 in an integer field names the record and field; nothing is written."""
    store = make_sql_store(None)
    raw = example()
    target = raw[collection][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = too_large
    error = rejected(store, encoded(raw) if via_file else raw, via_file=via_file)
    (problem,) = error.problems
    assert (problem.collection, problem.index, problem.field) == (collection, 0, field)
    assert "at most" in problem.message
    assert str(too_large) not in error.describe()


def test_the_largest_count_is_stored_and_read_back(make_sql_store: MakeSqlStore) -> None:
    """The largest count the domain accepts fits both databases' columns."""
    from member_anonymization.domain._checks import MAX_COUNT

    store = make_sql_store(None)
    raw = example()
    raw["exercises"][0]["sets"] = MAX_COUNT
    raw["clubs"][0]["retention"]["months_after_contract_end"] = MAX_COUNT
    raw["exercises"][0]["reps"] = 0
    store.sql.load_file(encoded(raw))
    assert unstructure_dataset(store.sql.dump()) == by_id(raw)


# --------------------------------------------------------------------------- load_file


def test_load_file_reads_paths_bytes_and_streams_with_or_without_a_bom(
    make_sql_store: MakeSqlStore, tmp_path: Path
) -> None:
    """Every form of a file loads the same records as the parsed file."""
    raw = example()
    path = tmp_path / "example.json"
    path.write_bytes(b"\xef\xbb\xbf" + encoded(raw))
    sources: list[Any] = [
        path,
        str(path),
        encoded(raw, indent=None),
        io.BytesIO(encoded(raw)),
        io.BufferedReader(Unseekable(b"\xef\xbb\xbf" + encoded(raw))),
    ]
    for source in sources:
        store = make_sql_store(None)
        result = store.sql.load_file(source)
        assert result.total == sum(len(v) for v in raw.values() if isinstance(v, list))
        assert unstructure_dataset(store.sql.dump()) == by_id(raw)


def test_load_file_reads_a_stream_from_its_current_position(
    make_sql_store: MakeSqlStore, tmp_path: Path
) -> None:
    """A seekable stream already part read (stdin after a header) loads what follows."""
    raw = example()
    path = tmp_path / "after-a-header.bin"
    path.write_bytes(b"HEADER\n" + encoded(raw))
    store = make_sql_store(None)
    with path.open("rb") as stream:
        stream.readline()
        store.sql.load_file(stream)
    assert unstructure_dataset(store.sql.dump()) == by_id(raw)


def test_load_file_handles_every_chunk_boundary(
    make_sql_store: MakeSqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny read chunks split numbers, escapes and multi-byte characters: same result."""
    from member_anonymization import _json

    raw = example()
    raw["exercises"][0]["sets"] = 2147483647
    raw["notes"][0]["text"] = 'Zażółć \\u gęślą 🏋️ "jaźń" \u2028'
    raw["visits"] = [visit(f"v{n}", left_at=None) for n in range(30)]
    monkeypatch.setattr(_json, "CHUNK_SIZE", 7)
    monkeypatch.setattr(_json, "LOOKAHEAD", 1)
    store = make_sql_store(None)
    store.sql.load_file(io.BytesIO(encoded(raw, indent=None)))
    assert unstructure_dataset(store.sql.dump()) == by_id(raw)


def test_load_file_takes_the_collections_in_any_order(make_sql_store: MakeSqlStore) -> None:
    """A file may list visits before the members and clubs they refer to."""
    raw = example()
    reordered = dict(reversed(list(raw.items())))
    store = make_sql_store(None)
    store.sql.load_file(encoded(reordered))
    assert unstructure_dataset(store.sql.dump()) == by_id(raw)


HOSTILE: dict[str, tuple[bytes, str, str, int | None]] = {
    "deep": (
        encoded(example()).replace(b'"sets": 5', b'"sets": ' + b"[" * 1000 + b"]" * 1000),
        "deeper than",
        "exercises",
        0,
    ),
    "very deep": (
        encoded(example()).replace(b'"sets": 5', b'"sets": ' + b"[" * 100_000 + b"]" * 100_000),
        "deeper than",
        "exercises",
        0,
    ),
    "huge integer": (
        encoded(example()).replace(b'"sets": 5', b'"sets": ' + b"9" * 5_000),
        "integer",
        "exercises",
        0,
    ),
    "duplicate key": (
        encoded(example()).replace(b'"sets": 5', b'"sets": 5, "sets": 5'),
        "duplicate key sets",
        "exercises",
        0,
    ),
    "duplicate collection": (
        encoded(example()).replace(b'"reminders": []', b'"visits": []'),
        "duplicate key visits",
        "",
        None,
    ),
    "nan": (
        encoded(example()).replace(b'"sets": 5', b'"sets": NaN'),
        "not JSON",
        "exercises",
        0,
    ),
    "syntax": (
        encoded(example()).replace(b'"sets": 5', b'"sets": 5,,'),
        "not valid JSON",
        "exercises",
        0,
    ),
    "truncated": (encoded(example())[:-1], "not valid JSON", "", None),
    "not utf-8": (encoded(example()).replace(b"Squat", b"Squ\xffat"), "UTF-8", "", None),
    "trailing data": (encoded(example()) + b"\n{}", "not valid JSON", "", None),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_load_file_rejects_hostile_json_naming_where(
    make_sql_store: MakeSqlStore, case: str
) -> None:
    """Parsing problems are one DatasetError naming the record and the line; nothing is written."""
    data, message, collection, index = HOSTILE[case]
    store = make_sql_store(None)
    error = rejected(store, data, via_file=True)
    (problem,) = error.problems
    assert message in problem.message
    assert "line " in problem.message
    assert (problem.collection, problem.index) == (collection, index)
    assert "9999" not in str(problem)


# --------------------------------------------------------------------------- every problem


def stored() -> Any:
    """The example with a few hundred visits, as the database holds it before the file."""
    raw = example()
    raw["visits"] += [visit(f"v-old-{n:04}") for n in range(300)]
    return structure_dataset(raw)


def many_problems() -> tuple[Raw, list[tuple[str, int, str | None, str]]]:
    """A second file with hundreds of problems of every kind, and where each one is."""
    expected: list[tuple[str, int, str | None, str]] = []
    visits: list[Raw] = []
    for n in range(300):
        kind = n % 6
        record = visit(f"v-new-{n:04}")
        if kind == 1:
            record["entered_at"] = "2020-01-01T10:00:00"
            expected.append(("visits", n, "entered_at", "offset"))
        elif kind == 2:
            record["id"] = f"v-new-{n - 2:04}"
            expected.append(("visits", n, "id", "duplicate id"))
        elif kind == 3:
            record["id"] = f"v-old-{n:04}"
            expected.append(("visits", n, "id", "already exists"))
        elif kind == 4:
            record["member_id"] = f"m-missing-{n}"
            expected.append(("visits", n, "member_id", "missing member"))
        elif kind == 5 and n % 12 == 11:
            record["colour"] = "red"
            expected.append(("visits", n, None, "unknown key: colour"))
        visits.append(record)
    members = [
        {**example()["members"][0], "id": "m1"},
        {**example()["members"][0], "id": "m2", "birth_date": "1990-02-30"},
        {**example()["members"][0], "id": "m3", "home_club_id": "c404"},
    ]
    expected[:0] = [
        ("members", 0, "id", "already exists"),
        ("members", 1, "birth_date", "calendar date"),
        ("members", 2, "home_club_id", "missing club"),
    ]
    notes = [
        {**example()["notes"][0], "id": "n-new-1", "member_id": "m2"},
        {**example()["notes"][0], "id": "n-new-2", "member_id": "m404"},
    ]
    expected.append(("notes", 1, "member_id", "missing member"))
    wallets = [{"member_id": "m1", "balance": "1.00", "currency": "PLN"}]
    expected[3:3] = [("wallets", 0, "member_id", "already has a wallet")]
    return second_file(members=members, wallets=wallets, visits=visits, notes=notes), expected


@pytest.mark.parametrize("via_file", [False, True], ids=["parsed", "file"])
def test_hundreds_of_problems_are_all_reported_in_file_order(
    make_sql_store: MakeSqlStore, via_file: bool
) -> None:
    """Invalid values, duplicates, stored ids, dangling references: all, in file order."""
    store = make_sql_store(stored())
    raw, expected = many_problems()
    error = rejected(store, encoded(raw) if via_file else raw, via_file=via_file)
    found = [(p.collection, p.index, p.field, p.message) for p in error.problems]
    assert len(found) == len(expected) > 200
    for (collection, index, field, message), (c, i, f, m) in zip(expected, found, strict=True):
        assert (c, i, f) == (collection, index, field), (c, i, f, m)
        assert message in m


def test_both_ways_of_loading_report_the_same_problems(make_sql_store: MakeSqlStore) -> None:
    """The streaming load and the load of a parsed file agree on every message."""
    store = make_sql_store(stored())
    raw, _ = many_problems()
    raw["network"] = {"id": "net-2", "name": "Other"}
    raw["unexpected"] = {}
    parsed = rejected(store, raw, via_file=False)
    streamed = rejected(store, encoded(raw), via_file=True)
    assert parsed.problems == streamed.problems
    assert parsed.problems[0].collection == ""
    assert parsed.problems[1].collection == "network"


def test_a_late_value_the_database_cannot_hold_writes_nothing(
    make_sql_store: MakeSqlStore,
) -> None:
    """A problem found while inserting (after thousands of rows) still rolls everything back."""
    store = make_sql_store(None)
    raw = example()
    raw["visits"] = [visit(f"v{n:05}") for n in range(5000)]
    raw["log_entries"][0]["text"] = "a\ud800b"
    error = rejected(store, encoded(raw, ascii_only=True), via_file=True)
    (problem,) = error.problems
    assert (problem.collection, problem.field) == ("log_entries", "text")
    store.sql.load_file(encoded(example()))
    assert unstructure_dataset(store.sql.dump()) == by_id(example())

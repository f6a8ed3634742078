"""Loading dataset files into the reference schema and dumping them back."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from member_anonymization import DatasetError, structure_dataset, unstructure_dataset
from member_anonymization.serialization import DATASET_FORMAT, Dataset
from tests.backends import MakeSqlStore, SqlTestStore
from tests.integration.sql_support import count_statements
from tests.strategies import datasets

EXAMPLE = Path(__file__).parent.parent / "data" / "spec_example.json"
Raw = dict[str, Any]


def example() -> Raw:
    """The dataset example of interfaces.md, parsed."""
    data: Raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


def canonical(data: Raw | Dataset) -> Raw:
    """A dataset file with every list in canonical order."""
    dataset = data if isinstance(data, Dataset) else structure_dataset(data)
    return unstructure_dataset(dataset.sorted())


def by_id(raw: Raw) -> Raw:
    """The same file with each list sorted by id (wallets by member)."""
    out = dict(raw)
    for key, value in raw.items():
        if isinstance(value, list):
            out[key] = sorted(value, key=lambda r: r.get("id", r.get("member_id")))
    return out


def second_file(**collections: list[Raw]) -> Raw:
    """A further file of the example's network holding only ``collections``."""
    return {"format": DATASET_FORMAT, "network": example()["network"], **collections}


def visit(id: str = "v9", **changes: Any) -> Raw:
    """A visit of the example's member, in the dataset shape."""
    record = {
        "id": id,
        "member_id": "m1",
        "club_id": "c1",
        "entered_at": "2020-01-01T10:00:00+01:00",
        "left_at": None,
    }
    record.update(changes)
    return record


def test_spec_example_round_trips_exactly(make_sql_store: MakeSqlStore) -> None:
    """Loading the spec's example and dumping it gives back the very same file."""
    store = make_sql_store(None)
    raw = example()
    result = store.sql.load(raw)
    assert result.network_id == "net-1"
    assert result.counts["members"] == 1
    assert result.counts["notes"] == 2
    assert result.total == sum(len(v) for v in raw.values() if isinstance(v, list))
    assert unstructure_dataset(store.sql.dump()) == by_id(raw)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=datasets())
def test_generated_datasets_round_trip(make_sql_store: MakeSqlStore, data: Dataset) -> None:
    """Any generated dataset dumps back exactly as it was loaded, offsets included."""
    store = make_sql_store(data)
    assert unstructure_dataset(store.snapshot()) == canonical(data)


EDGE_TEXTS = (
    "",
    "Zażółć gęślą jaźń 🏋️",
    "back\\slash \\0 and NUL\x00inside",
    "\ufdd0starts with the escape marker",
    "\ufdd0\x00\\",
    "line\nbreak\ttab",
)


def edge_file() -> Raw:
    """A file full of values that are easy to get wrong."""
    raw = example()
    member = raw["members"][0]
    member["registered_on"] = "0001-01-01"
    member["birth_date"] = "9999-12-31"
    member["first_name"] = EDGE_TEXTS[2]
    member["last_name"] = ""
    member["address"] = {"street": "", "postal_code": "", "city": "", "country": ""}
    member["photo"] = {"content_type": "image/png", "data_base64": ""}
    member["anonymized_at"] = None
    raw["wallets"][0]["balance"] = "-0.50"
    raw["installments"][0]["amount"] = "12345678901234567890.123456789"
    raw["purchases"][0]["amount"] = "4.000"
    raw["purchases"][0]["bought_at"] = "2019-03-01T10:00:00.000001+05:45:30"
    raw["invoices"][0]["lines"] = [
        {"description": t, "quantity": q, "unit_price": "0.10", "vat_rate": "zw"}
        for t, q in zip(EDGE_TEXTS, ("1", "0.5", "100", "1.000", "0", "-2"), strict=True)
    ]
    raw["visits"] = [
        visit("v1", entered_at="0001-01-01T00:00:00-05:00", left_at=None),
        visit("v2", entered_at="9999-12-31T23:59:59.999999+14:00", left_at=None),
        visit("v3", entered_at="2019-05-03T17:00:00+00:00", left_at="2019-05-03T18:00:00-00:30"),
        visit("v\x00nul", entered_at="2019-05-03T17:00:00-09:30"),
        visit("v-ł-🙂", entered_at="2019-10-27T02:30:00+02:00"),
    ]
    raw["notes"] = [
        {
            "id": f"n{i}",
            "member_id": "m1",
            "type": "general",
            "created_at": "2019-02-01T12:00:00+01:00",
            "text": t,
        }
        for i, t in enumerate(EDGE_TEXTS)
    ]
    raw["exercises"][0].update(sets=None, reps=0, weight_kg="0.0")
    raw["measurements"][0]["value"] = "82.50"
    raw["documents"][0]["data_base64"] = "AAEC/wD+" * 50_000
    return raw


def test_edge_values_round_trip_exactly(make_sql_store: MakeSqlStore) -> None:
    """Scales, signs, far dates, odd offsets, NUL, escapes and big blobs all come back as given."""
    raw = edge_file()
    store = make_sql_store(None)
    store.sql.load(raw)
    assert unstructure_dataset(store.sql.dump()) == by_id(raw)


def test_a_timestamp_outside_the_storable_range_is_rejected(make_sql_store: MakeSqlStore) -> None:
    """An instant before year 1 in UTC cannot be stored and rejects the file, naming the field."""
    store = make_sql_store(None)
    raw = example()
    raw["visits"][0]["entered_at"] = "0001-01-01T00:30:00+01:00"
    with pytest.raises(DatasetError) as caught:
        store.sql.load(raw)
    (problem,) = caught.value.problems
    assert (problem.collection, problem.record_id, problem.field) == ("visits", "v1", "entered_at")


# --------------------------------------------------------------------------- rejections

Mutation = Callable[[], Raw]

REJECTED: dict[str, tuple[Mutation, tuple[str, str | None, str]]] = {
    "unknown key": (
        lambda: second_file(visits=[visit(colour="red")]),
        ("visits", None, "unknown key"),
    ),
    "naive timestamp": (
        lambda: second_file(visits=[visit(entered_at="2020-01-01T10:00:00")]),
        ("visits", "entered_at", "offset"),
    ),
    "float money": (
        lambda: second_file(
            purchases=[
                {
                    **example()["purchases"][0],
                    "id": "p9",
                    "amount": 4.5,
                }
            ]
        ),
        ("purchases", "amount", "not a float"),
    ),
    "duplicate id in the file": (
        lambda: second_file(visits=[visit("v9"), visit("v9")]),
        ("visits", "id", "duplicate id"),
    ),
    "id already in the database": (
        lambda: second_file(visits=[visit("v1")]),
        ("visits", "id", "already exists"),
    ),
    "member already in the database": (
        lambda: second_file(members=[example()["members"][0]]),
        ("members", "id", "already exists"),
    ),
    "second wallet": (
        lambda: second_file(wallets=[{"member_id": "m1", "balance": "1.00", "currency": "PLN"}]),
        ("wallets", "member_id", "already has a wallet"),
    ),
    "dangling reference": (
        lambda: second_file(visits=[visit(member_id="m404")]),
        ("visits", "member_id", "missing member"),
    ),
    "dangling contract": (
        lambda: second_file(
            installments=[{**example()["installments"][0], "id": "i9", "contract_id": "k404"}]
        ),
        ("installments", "contract_id", "missing contract"),
    ),
    "another network": (
        lambda: {**second_file(visits=[visit()]), "network": {"id": "net-2", "name": "Other"}},
        ("network", "id", "network the database already holds"),
    ),
    "lone surrogate": (
        lambda: second_file(
            log_entries=[
                {"id": "l9", "member_id": "m1", "at": "2020-01-01T10:00:00Z", "text": "a\ud800b"}
            ]
        ),
        ("log_entries", "text", "valid Unicode"),
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_a_bad_file_is_rejected_and_nothing_is_written(
    make_sql_store: MakeSqlStore, case: str
) -> None:
    """Each kind of problem rejects the whole file, names where it is, and writes nothing."""
    make_file, (collection, field, message) = REJECTED[case]
    store = make_sql_store(structure_dataset(example()))
    before = store.snapshot()
    bad = make_file()
    good_visit = visit("v-fine")
    bad.setdefault("visits", []).append(good_visit)
    with pytest.raises(DatasetError) as caught:
        store.sql.load(bad)
    assert store.snapshot() == before
    assert any(
        p.collection == collection and p.field == field and message in p.message
        for p in caught.value.problems
    ), caught.value.describe()


def test_every_problem_is_listed_without_any_value(make_sql_store: MakeSqlStore) -> None:
    """One rejection lists all the file's problems, and never the offending values."""
    store = make_sql_store(structure_dataset(example()))
    secret_name = "Hieronim Secretwitz"
    bad = second_file(
        visits=[visit("v1"), visit("v9", member_id="m404")],
        log_entries=[
            {"id": "l9", "member_id": "m1", "at": "2020-01-01T10:00", "text": secret_name}
        ],
        members=[
            {
                **example()["members"][0],
                "id": "m7",
                "first_name": secret_name,
                "home_club_id": "c404",
            }
        ],
    )
    with pytest.raises(DatasetError) as caught:
        store.sql.load(bad)
    problems = caught.value.problems
    described = caught.value.describe() + str(caught.value)
    assert len(problems) == 4, described
    assert {p.collection for p in problems} == {"members", "log_entries", "visits"}, described
    assert secret_name not in described
    assert "Hieronim" not in repr(problems)


def test_a_structurally_broken_file_lists_every_record_problem(
    make_sql_store: MakeSqlStore,
) -> None:
    """Invalid records are all reported at once, each with its position."""
    store = make_sql_store(None)
    raw = example()
    raw["visits"][0]["entered_at"] = "yesterday"
    raw["contracts"][0]["start"] = "2019-13-01"
    raw["unexpected"] = []
    with pytest.raises(DatasetError) as caught:
        store.sql.load(raw)
    where = {(p.collection, p.index, p.field) for p in caught.value.problems}
    assert ("visits", 0, "entered_at") in where
    assert ("contracts", 0, "start") in where
    assert any(p.collection == "" and "unexpected" in p.message for p in caught.value.problems)


def test_a_second_file_may_refer_to_stored_records(make_sql_store: MakeSqlStore) -> None:
    """References may point at records of the database; the dump holds both files."""
    store = make_sql_store(structure_dataset(example()))
    member = {**example()["members"][0], "id": "m2", "photo": None}
    extra = second_file(
        members=[member],
        contracts=[{**example()["contracts"][0], "id": "k2", "member_id": "m2"}],
        installments=[{**example()["installments"][0], "id": "i2", "contract_id": "k1"}],
        visits=[visit("v2", member_id="m2")],
        audit=[
            {
                "id": "a1",
                "member_id": "m1",
                "actor_id": "e1",
                "at": "2020-01-01T10:00:00+01:00",
                "mode": "manual",
                "action": "export",
                "removed": {},
            }
        ],
    )
    result = store.sql.load(extra)
    assert result.counts["members"] == 1
    assert result.total == 5
    combined = copy.deepcopy(example())
    for name in ("members", "contracts", "installments", "visits", "audit"):
        combined[name] = combined[name] + extra[name]
    assert canonical(store.snapshot()) == canonical(combined)


def test_loading_inserts_in_bulk(make_sql_store: MakeSqlStore) -> None:
    """Thousands of records go in with a few executemany statements, not one per record."""
    store = make_sql_store(None)
    raw = example()
    raw["visits"] = [visit(f"v{n:05}") for n in range(3000)]
    with count_statements(store.sql.engine) as statements:
        store.sql.load(raw)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO VISITS")]
    assert 1 <= len(inserts) <= 2
    assert len(statements) < 100
    assert len(store.snapshot().visits) == 3000


def refuse_visit(store: SqlTestStore) -> Callable[[], None]:
    """Make the database itself refuse the visit ``v-refused``; return the undo."""
    engine = store.sql.engine
    with engine.begin() as conn:
        if store.sql.dialect == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_visit BEFORE INSERT ON visits "
                    "WHEN NEW.id = 'v-refused' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
            undo = "DROP TRIGGER refuse_visit"
        else:
            conn.execute(
                text("ALTER TABLE visits ADD CONSTRAINT refuse_visit CHECK (id <> 'v-refused')")
            )
            undo = "ALTER TABLE visits DROP CONSTRAINT refuse_visit"

    def restore() -> None:
        with engine.begin() as conn:
            conn.execute(text(undo))

    return restore


def test_a_database_refusal_rejects_the_file_without_values(
    make_sql_store: MakeSqlStore,
) -> None:
    """An error raised by the database itself names the collection only, and nothing is written."""
    store = make_sql_store(None)
    restore = refuse_visit(store)
    try:
        raw = example()
        secret = "Hieronim Secretwitz"
        raw["members"][0]["first_name"] = secret
        raw["visits"].append(visit("v-refused"))
        with pytest.raises(DatasetError) as caught:
            store.sql.load(raw)
    finally:
        restore()
    (problem,) = caught.value.problems
    assert problem.collection == "visits"
    assert "refused the records" in problem.message
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None
    store.sql.load(example())
    assert canonical(store.snapshot()) == canonical(example())

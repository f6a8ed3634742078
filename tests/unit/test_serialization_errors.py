"""structure_dataset rejects bad files and says where, without echoing a value."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from member_anonymization import DatasetError, DatasetProblem, structure_dataset

EXAMPLE = Path(__file__).parent.parent / "data" / "spec_example.json"

SECRETS = (
    "Jan",
    "Kowalski",
    "jan.kowalski@example.com",
    "600100200",
    "90041212345",
    "1990-04-12",
    "Długa",
    "Warszawa",
    "Knee injury",
    "contract-scan",
)
"""Personal values of the example file, or parts of them."""


def example() -> dict[str, Any]:
    """A fresh copy of the specification's example dataset (valid)."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def problems_of(change: Callable[[dict[str, Any]], object]) -> tuple[DatasetProblem, ...]:
    """The problems reported for the example after ``change``; checks nothing leaks."""
    data = example()
    change(data)
    with pytest.raises(DatasetError) as info:
        structure_dataset(data)
    error = info.value
    assert error.problems
    for text in (str(error), error.describe(), repr(error.problems), repr(error.args)):
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked"
    return error.problems


def single(change: Callable[[dict[str, Any]], object]) -> DatasetProblem:
    """The one problem reported after ``change``."""
    problems = problems_of(change)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_example_is_valid() -> None:
    """The unchanged example loads: every failure below is due to its change."""
    assert structure_dataset(example()).members[0].id == "m1"


def test_not_an_object() -> None:
    """A file that is not a JSON object is one problem about the file."""
    with pytest.raises(DatasetError) as info:
        structure_dataset(["Jan Kowalski"])
    assert info.value.problems == (DatasetProblem(collection="", message="must be a JSON object"),)
    assert "Jan" not in str(info.value)


# -- unknown keys ---------------------------------------------------------------------------


def test_unknown_top_level_key() -> None:
    """An unknown key of the file is reported by name."""
    problem = single(lambda d: d.update(customers=[{"name": "Jan Kowalski"}]))
    assert problem.collection == ""
    assert problem.index is None
    assert "unknown key" in problem.message
    assert "customers" in problem.message


def test_unknown_record_key() -> None:
    """An unknown key on a record names the collection, index and id, not the value."""
    problem = single(lambda d: d["members"][0].update(nickname="Janek Kowalski"))
    assert (problem.collection, problem.index, problem.record_id) == ("members", 0, "m1")
    assert "unknown key" in problem.message
    assert "nickname" in problem.message


def test_unknown_key_in_nested_address() -> None:
    """An unknown key of the address is reported on the ``address`` field."""
    problem = single(lambda d: d["members"][0]["address"].update(flat="Kowalski 3"))
    assert (problem.collection, problem.index, problem.record_id) == ("members", 0, "m1")
    assert problem.field == "address"
    assert "flat" in problem.message


def test_unknown_key_in_network() -> None:
    """The network object is strict too."""
    problem = single(lambda d: d["network"].update(owner="Jan Kowalski"))
    assert problem.collection == "network"
    assert "owner" in problem.message


# -- wrong values ------------------------------------------------------------------------------


WRONG_VALUES = [
    pytest.param(
        lambda d: d["purchases"][0].update(bought_at="2019-03-01T10:00:00"),
        ("purchases", 0, "p1", "bought_at"),
        "offset",
        id="naive-timestamp",
    ),
    pytest.param(
        lambda d: d["members"][0].update(anonymized_at="1990-04-12T10:00:00"),
        ("members", 0, "m1", "anonymized_at"),
        "offset",
        id="naive-member-timestamp",
    ),
    pytest.param(
        lambda d: d["wallets"][0].update(balance=0.0),
        ("wallets", 0, "m1", "balance"),
        "float",
        id="float-money",
    ),
    pytest.param(
        lambda d: d["invoices"][0]["lines"][0].update(unit_price=129.0),
        ("invoices", 0, "f1", "lines[0].unit_price"),
        "float",
        id="float-money-nested",
    ),
    pytest.param(
        lambda d: d["installments"][0].update(amount="12,50"),
        ("installments", 0, "i1", "amount"),
        "decimal string",
        id="comma-money",
    ),
    pytest.param(
        lambda d: d["contracts"][0].update(name=12),
        ("contracts", 0, "k1", "name"),
        "string",
        id="int-for-string",
    ),
    pytest.param(
        lambda d: d["members"][0].update(national_id=90041212345),
        ("members", 0, "m1", "national_id"),
        "string",
        id="int-national-id",
    ),
    pytest.param(
        lambda d: d["members"][0].update(phone=48600100200),
        ("members", 0, "m1", "phone"),
        "string",
        id="int-phone",
    ),
    pytest.param(
        lambda d: d["exercises"][0].update(sets="5"),
        ("exercises", 0, "x1", "sets"),
        "integer",
        id="string-for-int",
    ),
    pytest.param(
        lambda d: d["purchases"][0].update(paid="yes"),
        ("purchases", 0, "p1", "paid"),
        "true or false",
        id="string-for-bool",
    ),
    pytest.param(
        lambda d: d["contracts"][0].update(start="2019-02-30"),
        ("contracts", 0, "k1", "start"),
        "calendar date",
        id="impossible-date",
    ),
    pytest.param(
        lambda d: d["contracts"][0].update(end="31.12.2019"),
        ("contracts", 0, "k1", "end"),
        "YYYY-MM-DD",
        id="date-format",
    ),
    pytest.param(
        lambda d: d["members"][0].update(birth_date="Jan Kowalski"),
        ("members", 0, "m1", "birth_date"),
        "YYYY-MM-DD",
        id="name-as-date",
    ),
    pytest.param(
        lambda d: d["documents"][0].update(data_base64="Knee injury!!"),
        ("documents", 0, "d1", "data_base64"),
        "base64",
        id="bad-base64-document",
    ),
    pytest.param(
        lambda d: d["members"][0]["photo"].update(data_base64="not*base64"),
        ("members", 0, "m1", "photo.data_base64"),
        "base64",
        id="bad-base64-photo",
    ),
    pytest.param(
        lambda d: d["notes"][0].update(type="Knee injury"),
        ("notes", 0, "n1", "type"),
        "must be one of: training_and_health, general",
        id="unknown-note-type",
    ),
    pytest.param(
        lambda d: d["members"][0]["address"].update(city=["Warszawa"]),
        ("members", 0, "m1", "address.city"),
        "string",
        id="nested-address-field",
    ),
    pytest.param(
        lambda d: d["invoices"][0]["buyer"].update(name=None),
        ("invoices", 0, "f1", "buyer.name"),
        "string",
        id="nested-buyer-field",
    ),
    pytest.param(
        lambda d: d["employees"][0].update(permissions=["anonymize_member", "Jan"]),
        ("employees", 0, "e1", "permissions"),
        "anonymize_member",
        id="unknown-permission",
    ),
    pytest.param(
        lambda d: d["clubs"][0].update(timezone="Warszawa/Jan"),
        ("clubs", 0, "c1", "timezone"),
        "time zone",
        id="unknown-time-zone",
    ),
    pytest.param(
        lambda d: d["contracts"][0].update(end="2018-12-31"),
        ("contracts", 0, "k1", "end"),
        "before start",
        id="end-before-start",
    ),
    pytest.param(
        lambda d: d["members"][0].pop("first_name"),
        ("members", 0, "m1", "first_name"),
        "missing",
        id="missing-field",
    ),
]


@pytest.mark.parametrize(("change", "where", "fragment"), WRONG_VALUES)
def test_wrong_value_is_located_and_not_echoed(
    change: Callable[[dict[str, Any]], object], where: tuple[str, int, str, str], fragment: str
) -> None:
    """A wrong value is reported with collection, index, record id and field, value withheld."""
    problem = single(change)
    assert (problem.collection, problem.index, problem.record_id, problem.field) == where
    assert fragment in problem.message
    collection, index, record_id, field = where
    assert str(problem).startswith(f"{collection}[{index}] (id {record_id!r}) field {field!r}: ")


def test_bad_record_id_is_not_used_as_a_label() -> None:
    """A record whose id is itself invalid is located by its index only."""
    problem = single(lambda d: d["contracts"][0].update(id=" Jan Kowalski "))
    assert (problem.collection, problem.index, problem.record_id, problem.field) == (
        "contracts",
        0,
        None,
        "id",
    )


def test_record_that_is_not_an_object() -> None:
    """A record given as a bare string is reported without its content."""
    problem = single(lambda d: d["members"].append("Jan Kowalski, jan.kowalski@example.com"))
    assert (problem.collection, problem.index, problem.record_id) == ("members", 1, None)
    assert problem.message == "must be an object"


def test_unknown_audit_mode() -> None:
    """An audit mode other than manual, retention or request is rejected with the allowed values."""
    problem = single(
        lambda d: d["audit"].append(
            {
                "id": "a1",
                "member_id": "m1",
                "actor_id": "e1",
                "at": "2026-11-27T12:00:00+00:00",
                "mode": "Jan Kowalski",
                "removed": {},
                "action": "anonymize",
            }
        )
    )
    assert (problem.collection, problem.index, problem.record_id, problem.field) == (
        "audit",
        0,
        "a1",
        "mode",
    )
    assert problem.message == "must be one of: manual, retention, request"


def test_collection_that_is_not_a_list() -> None:
    """A collection given as an object is one problem about that collection."""
    problem = single(lambda d: d.update(visits={"v1": "Jan Kowalski"}))
    assert (problem.collection, problem.index, problem.message) == (
        "visits",
        None,
        "must be a list",
    )


# -- format and network -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["member-anonymization/dataset@2", "", None, 1])
def test_wrong_format_string(value: object) -> None:
    """Only the known format string is accepted."""
    problem = single(lambda d: d.update(format=value))
    assert problem.collection == "format"
    assert "member-anonymization/dataset@1" in problem.message


def test_missing_format() -> None:
    """A file without ``format`` is rejected."""
    assert single(lambda d: d.pop("format")).collection == "format"


def test_missing_network() -> None:
    """A file without ``network`` is rejected."""
    problem = single(lambda d: d.pop("network"))
    assert (problem.collection, problem.message) == ("network", "required field missing")


# -- references and uniqueness ------------------------------------------------------------------


def test_duplicate_ids() -> None:
    """The second record with an id already used in its collection is reported."""
    problem = single(lambda d: d["contracts"].append(dict(d["contracts"][0])))
    assert (problem.collection, problem.index, problem.record_id, problem.field) == (
        "contracts",
        1,
        "k1",
        "id",
    )
    assert problem.message == "duplicate id"


DANGLING = [
    pytest.param(
        lambda d: d["members"][0].update(home_club_id="c9"),
        ("members", 0, "m1", "home_club_id"),
        "club",
        id="member-home-club",
    ),
    pytest.param(
        lambda d: d["contracts"][0].update(member_id="m9"),
        ("contracts", 0, "k1", "member_id"),
        "member",
        id="contract-member",
    ),
    pytest.param(
        lambda d: d["installments"][0].update(contract_id="k9"),
        ("installments", 0, "i1", "contract_id"),
        "contract",
        id="installment-contract",
    ),
    pytest.param(
        lambda d: d["audit"].append(
            {
                "id": "a1",
                "member_id": "m1",
                "actor_id": "e9",
                "at": "2026-11-27T12:00:00+00:00",
                "mode": "manual",
                "removed": {},
                "action": "anonymize",
            }
        ),
        ("audit", 0, "a1", "actor_id"),
        "employee",
        id="audit-actor",
    ),
]


@pytest.mark.parametrize(("change", "where", "target"), DANGLING)
def test_dangling_reference(
    change: Callable[[dict[str, Any]], object], where: tuple[str, int, str, str], target: str
) -> None:
    """A reference to a record missing from the file is reported on its field."""
    problem = single(change)
    assert (problem.collection, problem.index, problem.record_id, problem.field) == where
    assert problem.message == f"refers to a missing {target}"


def test_audit_entry_of_the_bulk_job_needs_no_actor() -> None:
    """A null actor (the retention job) is not a dangling reference."""
    data = example()
    data["audit"].append(
        {
            "id": "a1",
            "member_id": "m1",
            "actor_id": None,
            "at": "2026-11-27T12:00:00+00:00",
            "mode": "retention",
            "removed": {"personal_data": 1},
            "action": "anonymize",
        }
    )
    assert structure_dataset(data).audit[0].actor_id is None


def test_two_wallets_for_one_member() -> None:
    """A member has one wallet; a second one is reported on its member id."""
    problem = single(
        lambda d: d["wallets"].append({"member_id": "m1", "balance": "5.00", "currency": "EUR"})
    )
    assert (problem.collection, problem.index, problem.record_id, problem.field) == (
        "wallets",
        1,
        "m1",
        "member_id",
    )


def test_reference_checks_can_be_left_to_the_store() -> None:
    """With ``check_references=False`` dangling references are accepted."""
    data = example()
    data["contracts"][0]["member_id"] = "m9"
    loaded = structure_dataset(data, check_references=False)
    assert loaded.contracts[0].member_id == "m9"


# -- many problems at once ------------------------------------------------------------------------


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    """Problems across the file and within one record all come in one error."""

    def break_everything(d: dict[str, Any]) -> None:
        d["format"] = "other"
        d["extra"] = True
        d["members"][0].update(birth_date="12.04.1990", phone=600100200, email=None, nick="Janek")
        d["purchases"][0]["bought_at"] = "2019-03-01T10:00:00"
        d["wallets"][0]["balance"] = 1.5
        d["documents"][0]["data_base64"] = "%%%"

    problems = problems_of(break_everything)
    located = {(p.collection, p.index, p.field) for p in problems}
    assert ("", None, None) in located
    assert ("format", None, None) in located
    assert ("members", 0, "birth_date") in located
    assert ("members", 0, "phone") in located
    assert ("members", 0, None) in located
    assert ("purchases", 0, "bought_at") in located
    assert ("wallets", 0, "balance") in located
    assert ("documents", 0, "data_base64") in located
    assert len(problems) == 8


def test_every_dangling_reference_is_reported_at_once() -> None:
    """Reference problems are collected, not stopped at the first."""

    def dangle(d: dict[str, Any]) -> None:
        d["members"][0]["home_club_id"] = "c9"
        d["visits"][0]["club_id"] = "c8"
        d["contracts"].append(dict(d["contracts"][0]))

    problems = problems_of(dangle)
    assert {(p.collection, p.field) for p in problems} == {
        ("members", "home_club_id"),
        ("visits", "club_id"),
        ("contracts", "id"),
    }


def test_error_message_counts_the_other_problems() -> None:
    """The one-line message names the first problem and how many more there are."""
    data = example()
    data["extra"] = 1
    data["wallets"][0]["balance"] = 1.5
    data["contracts"][0]["name"] = 5
    with pytest.raises(DatasetError) as info:
        structure_dataset(data)
    assert str(info.value).endswith("(and 2 more problems)")
    assert len(info.value.describe().splitlines()) == 3

"""Domain records declare each field's check with the field, and report all problems at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from member_anonymization import domain
from member_anonymization.domain import Contract, FieldProblem, InvalidRecordError
from member_anonymization.domain import _checks as c
from member_anonymization.errors import MemberAnonymizationError

RECORD_TYPES: list[type[Any]] = [
    getattr(domain, name)
    for name in sorted(domain.__all__)
    if attrs.has(getattr(domain, name)) and name != "FieldProblem"
]
"""Every record class the domain exports."""


def test_the_walk_reaches_the_records() -> None:
    """The class walk below finds the domain's records, so it cannot pass on nothing."""
    names = {cls.__name__ for cls in RECORD_TYPES}
    assert {"Member", "Contract", "Invoice", "AuditEntry", "RemovalCounts"} <= names


def test_every_field_of_every_record_declares_a_check() -> None:
    """A record field without a declared check is a defect, whatever the record."""
    missing = [
        f"{cls.__name__}.{field.name}"
        for cls in RECORD_TYPES
        for field in attrs.fields(cls)
        if c.check_of(field) is None
    ]
    assert missing == []


def test_a_field_without_a_check_is_refused_when_built() -> None:
    """The shared runner refuses a record type with an unchecked field instead of skipping it."""

    @attrs.frozen(kw_only=True)
    class Careless:
        id: str = attrs.field(metadata=c.check(c.ident))
        remark: str

        def __attrs_post_init__(self) -> None:
            c.check_fields(self)

    with pytest.raises(TypeError, match=r"Careless\.remark declares no check"):
        Careless(id="x1", remark="anything")


def test_invalid_record_error_is_a_library_error() -> None:
    """InvalidRecordError is caught by the library's base error, and still as a ValueError."""
    assert issubclass(InvalidRecordError, MemberAnonymizationError)
    assert issubclass(InvalidRecordError, ValueError)
    with pytest.raises(MemberAnonymizationError):
        Contract(id="k1", member_id="", club_id="c1", name="Open", start=dt.date(2026, 1, 1))


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
def test_every_wrong_field_is_reported_at_once_in_declaration_order(cls: type[Any]) -> None:
    """With every field wrong, one error names every field, in the order they are declared."""
    names = [field.name for field in attrs.fields(cls)]
    with pytest.raises(InvalidRecordError) as info:
        cls(**dict.fromkeys(names, object()))
    assert info.value.record_type == cls.__name__
    assert info.value.record_id is None
    assert [p.field for p in info.value.problems] == names


def test_rules_across_fields_come_after_the_field_checks() -> None:
    """An end before the start is reported after every field's own problem."""
    with pytest.raises(InvalidRecordError) as info:
        Contract(
            id="k1",
            member_id=" m1",
            club_id="c1",
            name="Open",
            start=dt.date(2026, 2, 1),
            end=dt.date(2026, 1, 31),
            terminated_on="soon",  # type: ignore[arg-type]
        )
    assert info.value.record_id == "k1"
    assert info.value.problems == (
        FieldProblem("member_id", "must be a non-empty id without surrounding white space"),
        FieldProblem("terminated_on", "must be a date"),
        FieldProblem("end", "must not be before start"),
    )

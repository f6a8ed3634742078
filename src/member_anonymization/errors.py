"""Exceptions for bad input.

Messages hold ids and no other personal data: a member's id is a pseudonymous
identifier, never a name or a contact detail.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

import attrs

__all__ = [
    "DatasetError",
    "DatasetProblem",
    "ForeignRecordError",
    "FutureDateError",
    "MemberAnonymizationError",
    "UnknownClubError",
    "UnknownEmployeeError",
    "UnknownMemberError",
    "UnknownRequestError",
]


class MemberAnonymizationError(Exception):
    """Base class of the library's exceptions."""


class UnknownMemberError(MemberAnonymizationError, LookupError):
    """No member has the given id."""

    def __init__(self, member_id: str) -> None:
        self.member_id = member_id
        super().__init__(f"no member with id {member_id!r}")


class UnknownEmployeeError(MemberAnonymizationError, LookupError):
    """No employee has the given id."""

    def __init__(self, employee_id: str) -> None:
        self.employee_id = employee_id
        super().__init__(f"no employee with id {employee_id!r}")


class UnknownClubError(MemberAnonymizationError, LookupError):
    """No club of the network has the given id."""

    def __init__(self, club_id: str) -> None:
        self.club_id = club_id
        super().__init__(f"no club with id {club_id!r}")


class ForeignRecordError(MemberAnonymizationError, RuntimeError):
    """A repository returned a record of another member; the export was stopped.

    It means the host's adapter is wrong: no export leaves the library with
    another member's data in it.
    """

    def __init__(self, kind: str, record_id: str | None) -> None:
        self.kind = kind
        self.record_id = record_id
        super().__init__(
            f"the store returned a record of another member among the {kind.replace('_', ' ')}"
            f" (record id {record_id!r}); nothing was exported"
        )


@final
@attrs.frozen(kw_only=True)
class DatasetProblem:
    """One problem of a dataset file: where it is and what is wrong.

    Attributes:
        collection: The top-level key, such as ``"members"`` (empty for the file).
        index: The record's position in that list, when it is in one.
        record_id: The record's id, when it has a valid one.
        field: The field, dotted for nested ones, when one field is at fault.
        message: What is wrong. Never the value itself.
    """

    collection: str
    message: str
    index: int | None = None
    record_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.collection or "file"
        if self.index is not None:
            where += f"[{self.index}]"
        if self.record_id is not None:
            where += f" (id {self.record_id!r})"
        if self.field:
            where += f" field {self.field!r}"
        return f"{where}: {self.message}"


class DatasetError(MemberAnonymizationError, ValueError):
    """A dataset (or export) file is invalid. Lists every problem found."""

    def __init__(self, problems: Iterable[DatasetProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "unknown problem"
        more = "" if count <= 1 else f" (and {count - 1} more problem{'s' if count > 2 else ''})"
        super().__init__(f"invalid dataset: {first}{more}")

    def describe(self) -> str:
        """Every problem, one per line."""
        return "\n".join(str(p) for p in self.problems)


class UnknownRequestError(MemberAnonymizationError, LookupError):
    """No erasure request has the given id."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"no erasure request with id {request_id!r}")


class FutureDateError(MemberAnonymizationError, ValueError):
    """A date later than today was given to an operation that changes data.

    Checking and dry runs accept any date; anonymizing, a real sweep and
    processing erasure requests refuse one after the club's local date today,
    so that a typo can never make a running contract look ended.
    """

    def __init__(self, as_of: object, today: object, club_id: str) -> None:
        self.as_of = as_of
        self.today = today
        self.club_id = club_id
        super().__init__(
            f"the date {as_of} is later than today ({today}) in club {club_id!r}; "
            "only checks and dry runs accept a future date"
        )

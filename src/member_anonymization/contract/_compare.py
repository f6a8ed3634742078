"""How the contract compares what an adapter did with what the rule demands.

Differences are reported by record id and field name, never by value, so that
a :class:`ContractViolation` holds no personal data beyond ids (a member's id is
pseudonymous).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from member_anonymization.domain import Member, MemberId, RequestExtension
from member_anonymization.errors import MemberAnonymizationError
from member_anonymization.ports import UnitOfWork
from member_anonymization.serialization import COLLECTIONS, KINDS, Dataset


class ContractViolation(MemberAnonymizationError, AssertionError):
    """An adapter broke a rule of the repository protocols.

    The message names the rule, the operation, and the ids and field names
    involved; it never holds a field's value.
    """


def _fail(rule: str, detail: str) -> ContractViolation:
    return ContractViolation(f"{rule}: {detail}")


def _key(collection: str) -> Callable[[Any], str]:
    if collection == "wallets":
        return lambda w: f"{w.member_id}/{w.currency}"
    return lambda r: str(r.id)


def _field_names(left: Any, right: Any) -> list[str]:
    if attrs.has(type(left)) and type(left) is type(right):
        return [
            f.name
            for f in attrs.fields(type(left))
            if getattr(left, f.name) != getattr(right, f.name)
        ]
    return ["(type)"]


def _record_differences(
    label: str, actual: Iterable[Any], expected: Iterable[Any], key: Callable[[Any], str]
) -> list[str]:
    """What differs between two collections of records, by key and field name."""
    problems: list[str] = []
    got: dict[str, Any] = {}
    for record in actual:
        if record is None:
            problems.append(f"{label}: returned None instead of a record")
            continue
        k = key(record)
        if k in got:
            problems.append(f"{label}: {k} returned twice")
        got[k] = record
    want = {key(r): r for r in expected}
    missing = sorted(want.keys() - got.keys())
    extra = sorted(got.keys() - want.keys())
    if missing:
        problems.append(f"{label}: missing {', '.join(missing)}")
    if extra:
        problems.append(f"{label}: unexpected {', '.join(extra)}")
    for k in sorted(want.keys() & got.keys()):
        if want[k] != got[k]:
            problems.append(f"{label}: {k} differs in {', '.join(_field_names(got[k], want[k]))}")
    return problems


def _state_differences(actual: Dataset, expected: Dataset) -> list[str]:
    problems: list[str] = []
    if actual.network != expected.network:
        problems.append("network differs")
    for name in COLLECTIONS:
        problems.extend(
            _record_differences(name, getattr(actual, name), getattr(expected, name), _key(name))
        )
    return problems


def _same_state(rule: str, actual: Dataset, expected: Dataset) -> None:
    problems = _state_differences(actual, expected)
    if problems:
        raise _fail(rule, "the stored state is wrong: " + "; ".join(problems))


def _same_records(rule: str, label: str, actual: Iterable[Any], expected: Iterable[Any]) -> None:
    problems = _record_differences(label, actual, expected, _key(""))
    if problems:
        raise _fail(rule, "; ".join(problems))


def _equal(rule: str, label: str, actual: object, expected: object) -> None:
    if actual != expected:
        raise _fail(rule, f"{label} returned {actual!r}, expected {expected!r}")


def _absent(rule: str, label: str, value: object) -> None:
    """``value`` must be ``None``; a record found instead is named by its type only."""
    if value is not None:
        raise _fail(rule, f"{label} returned a {type(value).__name__} instead of None")


def _ids(records: Iterable[Any]) -> list[str]:
    """The records' ids, in the order given."""
    return [record.id for record in records]


def _find(dataset: Dataset, collection: str, record_id: str) -> Any:
    """The record of ``collection`` with that id in a snapshot."""
    records: tuple[Any, ...] = getattr(dataset, collection)
    for record in records:
        if record.id == record_id:
            return record
    raise _fail("contract_dataset", f"the snapshot holds no {collection} record {record_id}")


def _of(dataset: Dataset, collection: str, member_id: MemberId) -> list[Any]:
    records: tuple[Any, ...] = getattr(dataset, collection)
    return [r for r in records if r.member_id == member_id]


def _member(dataset: Dataset, member_id: MemberId) -> Member:
    for member in dataset.members:
        if member.id == member_id:
            return member
    raise _fail("contract_dataset", f"the snapshot holds no member {member_id}")


def _evolve(dataset: Dataset, **collections: Iterable[Any]) -> Dataset:
    changes: dict[str, Any] = {k: tuple(v) for k, v in collections.items()}
    return attrs.evolve(dataset, **changes)


def _without(dataset: Dataset, collection: str, drop: Callable[[Any], bool]) -> Dataset:
    records: tuple[Any, ...] = getattr(dataset, collection)
    return _evolve(dataset, **{collection: (r for r in records if not drop(r))})


def _with_members(dataset: Dataset, change: Callable[[Member], Member | None]) -> Dataset:
    members = []
    for member in dataset.members:
        changed = change(member)
        members.append(member if changed is None else changed)
    return _evolve(dataset, members=members)


def _counts(
    rule: str, label: str, counts: Mapping[MemberId, int], batch: Sequence[MemberId]
) -> dict[MemberId, int]:
    """The counts without zero entries; a count for a member outside the batch breaks the rule."""
    outside = sorted(set(counts) - set(batch))
    if outside:
        raise _fail(rule, f"{label} counted members outside the batch: {', '.join(outside)}")
    return {member_id: n for member_id, n in counts.items() if n}


IdMap: TypeAlias = Mapping[str, Mapping[str, str]]
"""Per collection (``"members"``, ``"contracts"``, ...), dataset id -> the host's id."""


def _look(ids: IdMap, collection: str, dataset_id: str) -> str:
    return ids.get(collection, {}).get(dataset_id, dataset_id)


def _renamed(collection: str, record: Any, ids: IdMap) -> Any:
    """``record`` of ``collection`` with its id and references in the host's ids."""
    record_kind = KINDS[collection]
    changes: dict[str, Any] = {}
    if "id" in record_kind.key_fields:
        changes["id"] = _look(ids, collection, record.id)
    for field, target in record_kind.references:
        value = getattr(record, field)
        if value is not None:
            changes[field] = _look(ids, target, value)
    extension = getattr(record, "extension", None)
    if isinstance(extension, RequestExtension):
        changes["extension"] = attrs.evolve(extension, by=_look(ids, "employees", extension.by))
    return attrs.evolve(record, **changes)


def with_host_ids(dataset: Dataset, ids: IdMap) -> Dataset:
    """The dataset as a host that gave its records the ids ``ids`` reads it back.

    Every record's id and every reference to it are replaced (an id ``ids`` leaves
    out is kept): what a harness's snapshot should return right after loading.
    """
    network = attrs.evolve(dataset.network, id=_look(ids, "network", dataset.network.id))
    changes = {
        name: tuple(_renamed(name, r, ids) for r in getattr(dataset, name)) for name in COLLECTIONS
    }
    return attrs.evolve(dataset, network=network, **changes)


@attrs.frozen
class _HostIds:
    """The ids the host gave the contract's records (a dataset id where it kept it)."""

    ids: IdMap

    def of(self, collection: str, dataset_id: str) -> str:
        return _look(self.ids, collection, dataset_id)

    def member(self, dataset_id: MemberId) -> MemberId:
        return self.of("members", dataset_id)

    def members(self, dataset_ids: Iterable[MemberId]) -> list[MemberId]:
        return [self.member(i) for i in dataset_ids]

    def employee(self, dataset_id: str) -> str:
        return self.of("employees", dataset_id)

    def clubs(self, thresholds: Mapping[str, Any]) -> dict[str, Any]:
        """A mapping keyed by the dataset's club ids, keyed by the host's."""
        return {self.of("clubs", k): v for k, v in thresholds.items()}

    def records(self, collection: str, records: Iterable[Any]) -> tuple[Any, ...]:
        """Records the checks write, referring to the host's members, clubs and employees."""
        return tuple(_renamed(collection, r, self.ids) for r in records)


@attrs.frozen(kw_only=True)
class LoadedDataset:
    """What :meth:`AdapterHarness.build` may return: the factory, and the ids the host gave.

    Attributes:
        unit_of_work: The unit-of-work factory the host hands to the services.
        ids: Per collection of :class:`~member_anonymization.serialization.Dataset`
            (``"members"``, ``"clubs"``, ``"employees"``, ``"contracts"``, ...,
            and ``"network"``), the dataset's id -> the id the host gave that
            record. An id left out (or a collection left out) was kept as it is.
    """

    unit_of_work: Callable[[], UnitOfWork]
    ids: IdMap = attrs.field(factory=dict)


class CheckSkipped(MemberAnonymizationError):
    """A check needs an optional harness hook that this harness does not provide.

    :class:`~member_anonymization.contract.AdapterContract` reports the check as
    skipped; a runner of its own may do the same.
    """

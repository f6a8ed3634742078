"""The dataset format: a cattrs converter for every domain record, and :class:`Dataset`.

The shapes are those of ``member-anonymization/dataset@1``: dates as
``YYYY-MM-DD``, timestamps as ISO 8601 with an offset (a naive one is an error),
money as decimal strings (a float is an error), binary content as base64 in
``data_base64``, and a member's personal data flat on the member record.
``structure(unstructure(x)) == x`` for every record.

Reading is strict: unknown keys, wrong types, naive timestamps and float money
are rejected, and :func:`structure_dataset` reports *every* problem of a file at
once as a :class:`~member_anonymization.errors.DatasetError` naming the
collection, the record and the field, never the offending value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final, TypeVar, final

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from typing_extensions import deprecated

from member_anonymization._converter import RENAMED, BadValue
from member_anonymization._converter import make_converter as _make_converter
from member_anonymization.domain import (
    AuditEntry,
    ClassBooking,
    Club,
    CollectionCase,
    Contract,
    Document,
    Employee,
    ErasureRequest,
    Exercise,
    Installment,
    InvalidRecordError,
    Invoice,
    LogEntry,
    Measurement,
    Member,
    Network,
    Note,
    OutboxMessage,
    ProfileTab,
    Purchase,
    Receipt,
    Reminder,
    Visit,
    Wallet,
)
from member_anonymization.domain._checks import ident
from member_anonymization.errors import DatasetError, DatasetProblem

__all__ = [
    "DATASET_FORMAT",
    "RECORD_TYPES",
    "Dataset",
    "converter",
    "dataset_key",
    "dataset_problems",
    "make_converter",
    "structure_dataset",
    "structure_record",
    "unstructure_dataset",
]

DATASET_FORMAT: Final = "member-anonymization/dataset@1"

converter: Final = _make_converter()
"""The shared converter. ``converter.structure(converter.unstructure(x), type(x)) == x``."""


@deprecated(
    "member_anonymization.serialization.make_converter is internal and will be removed in "
    "the next release: use member_anonymization.serialization.converter"
)
def make_converter() -> cattrs.Converter:
    """A fresh converter for the dataset shapes of every domain record."""
    return _make_converter()


T = TypeVar("T")


@final
@attrs.frozen(kw_only=True)
class RecordKind:
    """The declaration of one kind of record: everything the library derives from.

    Each collection of :class:`Dataset` declares its kind with :func:`kind`; the
    dataset file's lists, the reference checks, the in-memory adapter's
    tables, the export's lists and CSV files, the SQL adapter's load and dump
    and the adapter contract all walk :data:`RECORD_KINDS` instead of naming the
    kinds one by one.

    Attributes:
        collection: The list's key in the dataset file (and the field of
            :class:`Dataset`).
        record_type: The domain class of its records.
        references: ``(field, collection)`` pairs: which field refers to a
            record of which collection.
        key_fields: The fields that identify a record (``id``; a wallet: its
            member).
        tab: The profile tab that shows it, or ``None`` when it is not part
            of the member's profile.
        exported: Whether the member's export holds it.
        export_reader: Where the export reads it: ``"facts.<field>"`` (from
            the member's facts) or ``"<repository>.<method>"`` of a unit of
            work, called with the member id.
        erased: Whether anonymization deletes it (notes: those of the
            deleted types).
        written_by_library: Whether the library writes it (reminders, audit
            entries, erasure requests, outbox messages) rather than the host.
        optional: Whether a dataset file may leave the collection out (it
            came after the first release); a dump leaves it out while empty.
    """

    collection: str
    record_type: type[Any]
    references: tuple[tuple[str, str], ...] = ()
    key_fields: tuple[str, ...] = ("id",)
    tab: ProfileTab | None = None
    exported: bool = False
    export_reader: str | None = None
    erased: bool = False
    written_by_library: bool = False
    optional: bool = False

    def key(self, record: Any) -> str:
        """The record's identity as one string (its id, for most kinds)."""
        return "\0".join(str(getattr(record, name)) for name in self.key_fields)

    @property
    def is_per_member(self) -> bool:
        """Whether each record belongs to one member (has ``member_id``)."""
        return any(field == "member_id" for field, _ in self.references)


_KIND_KEY: Final = "member_anonymization.kind"

_MEMBER: Final = (("member_id", "members"),)
_MEMBER_CLUB: Final = (("member_id", "members"), ("club_id", "clubs"))


def kind(record_type: type[Any], **declaration: Any) -> Any:
    """A :class:`Dataset` field (an empty tuple by default) declaring its kind."""
    return attrs.field(
        default=(),
        metadata={_KIND_KEY: attrs.evolve(_BLANK_KIND, **declaration, record_type=record_type)},
    )


_BLANK_KIND: Final = RecordKind(collection="", record_type=object)


@final
@attrs.frozen(kw_only=True)
class Dataset:
    """A whole store as one value: the network and every record, in lists.

    It is the unit of ``load`` and ``dump``, of the in-memory adapter's
    snapshots, and of the property tests' before/after comparisons. Each field
    declares its :class:`RecordKind` (see :data:`RECORD_KINDS`); adding a kind
    of record means adding its domain class and one field here.
    """

    FORMAT: ClassVar[str] = DATASET_FORMAT

    network: Network
    clubs: tuple[Club, ...] = kind(Club)
    employees: tuple[Employee, ...] = kind(Employee)
    members: tuple[Member, ...] = kind(
        Member, references=(("home_club_id", "clubs"),), tab=ProfileTab.PERSONAL_DATA
    )
    contracts: tuple[Contract, ...] = kind(
        Contract,
        references=_MEMBER_CLUB,
        tab=ProfileTab.CONTRACTS,
        exported=True,
        export_reader="facts.contracts",
    )
    wallets: tuple[Wallet, ...] = kind(
        Wallet,
        references=_MEMBER,
        key_fields=("member_id",),
        tab=ProfileTab.FINANCES,
        exported=True,
        export_reader="facts.wallets",
    )
    collection_cases: tuple[CollectionCase, ...] = kind(
        CollectionCase,
        references=_MEMBER_CLUB,
        tab=ProfileTab.FINANCES,
        exported=True,
        export_reader="facts.collection_cases",
    )
    installments: tuple[Installment, ...] = kind(
        Installment,
        references=(*_MEMBER_CLUB, ("contract_id", "contracts")),
        tab=ProfileTab.FINANCES,
        exported=True,
        export_reader="facts.installments",
    )
    purchases: tuple[Purchase, ...] = kind(
        Purchase,
        references=_MEMBER_CLUB,
        tab=ProfileTab.FINANCES,
        exported=True,
        export_reader="facts.purchases",
    )
    invoices: tuple[Invoice, ...] = kind(
        Invoice,
        references=_MEMBER_CLUB,
        tab=ProfileTab.FINANCES,
        exported=True,
        export_reader="accounting.invoices_of",
    )
    receipts: tuple[Receipt, ...] = kind(
        Receipt,
        references=_MEMBER_CLUB,
        tab=ProfileTab.FINANCES,
        exported=True,
        export_reader="accounting.receipts_of",
    )
    visits: tuple[Visit, ...] = kind(
        Visit,
        references=_MEMBER_CLUB,
        tab=ProfileTab.VISITS,
        exported=True,
        export_reader="profile.visits_of",
    )
    class_bookings: tuple[ClassBooking, ...] = kind(
        ClassBooking,
        references=_MEMBER_CLUB,
        tab=ProfileTab.CLASSES,
        exported=True,
        export_reader="profile.class_bookings_of",
    )
    measurements: tuple[Measurement, ...] = kind(
        Measurement,
        references=_MEMBER,
        tab=ProfileTab.TRAINING,
        exported=True,
        export_reader="profile.measurements_of",
        erased=True,
    )
    exercises: tuple[Exercise, ...] = kind(
        Exercise,
        references=_MEMBER,
        tab=ProfileTab.TRAINING,
        exported=True,
        export_reader="profile.exercises_of",
        erased=True,
    )
    notes: tuple[Note, ...] = kind(
        Note,
        references=_MEMBER,
        tab=ProfileTab.NOTES,
        exported=True,
        export_reader="profile.notes_of",
        erased=True,
    )
    log_entries: tuple[LogEntry, ...] = kind(
        LogEntry,
        references=_MEMBER,
        tab=ProfileTab.LOG,
        exported=True,
        export_reader="profile.log_entries_of",
        erased=True,
    )
    documents: tuple[Document, ...] = kind(
        Document,
        references=_MEMBER,
        tab=ProfileTab.DOCUMENTS,
        exported=True,
        export_reader="profile.documents_of",
        erased=True,
    )
    reminders: tuple[Reminder, ...] = kind(
        Reminder,
        references=(*_MEMBER_CLUB, ("request_id", "erasure_requests")),
        written_by_library=True,
    )
    audit: tuple[AuditEntry, ...] = kind(
        AuditEntry,
        references=(("member_id", "members"), ("actor_id", "employees")),
        written_by_library=True,
    )
    erasure_requests: tuple[ErasureRequest, ...] = kind(
        ErasureRequest,
        references=(
            *_MEMBER_CLUB,
            ("registered_by", "employees"),
            ("closed_by", "employees"),
            ("audit_entry_id", "audit"),
        ),
        written_by_library=True,
        optional=True,
    )
    outbox: tuple[OutboxMessage, ...] = kind(
        OutboxMessage,
        references=(("member_id", "members"), ("request_id", "erasure_requests")),
        written_by_library=True,
        optional=True,
    )

    def sorted(self) -> Dataset:
        """The same dataset with every collection in a canonical order."""
        changes: dict[str, Any] = {}
        for record_kind in RECORD_KINDS:
            name = record_kind.collection
            changes[name] = tuple(sorted(getattr(self, name), key=record_kind.key))
        return attrs.evolve(self, **changes)

    def records(self, record_kind: RecordKind | str) -> tuple[Any, ...]:
        """The records of one kind (by its declaration or its collection name)."""
        name = record_kind if isinstance(record_kind, str) else record_kind.collection
        records: tuple[Any, ...] = getattr(self, name)
        return records


def _declared_kinds() -> tuple[RecordKind, ...]:
    out: list[RecordKind] = []
    for field in attrs.fields(Dataset):
        declared = field.metadata.get(_KIND_KEY)
        if declared is not None:
            out.append(attrs.evolve(declared, collection=field.name))
    return tuple(out)


RECORD_KINDS: Final[tuple[RecordKind, ...]] = _declared_kinds()
"""Every kind of record, in the dataset file's order (the order of :class:`Dataset`)."""

KINDS: Final[Mapping[str, RecordKind]] = {k.collection: k for k in RECORD_KINDS}
"""Every kind of record by its collection name."""

RECORD_TYPES: Final[Mapping[str, type[Any]]] = {k.collection: k.record_type for k in RECORD_KINDS}
"""Each list of the dataset file and the record type it holds, in file order."""

COLLECTIONS: Final = tuple(RECORD_TYPES)


def unstructure_dataset(dataset: Dataset) -> dict[str, Any]:
    """The dataset as a JSON-ready dict, ``format`` first.

    An optional collection (see :attr:`RecordKind.optional`) is left out while
    it is empty, so that a file of the first release is written back as it was.
    """
    out: dict[str, Any] = {
        "format": DATASET_FORMAT,
        "network": converter.unstructure(dataset.network, Network),
    }
    for record_kind in RECORD_KINDS:
        records = dataset.records(record_kind)
        if records or not record_kind.optional:
            out[record_kind.collection] = [
                converter.unstructure(r, record_kind.record_type) for r in records
            ]
    return out


_KEYS_BY_NAME: Final[Mapping[tuple[str, str], str]] = {
    (cls.__name__, attribute): key for (cls, attribute), key in RENAMED.items()
}


def dataset_key(record_type: type[Any], attribute: str) -> str:
    """The dataset file's key of a record class's attribute (``Note.note_type`` -> ``type``)."""
    return RENAMED.get((record_type, attribute), attribute)


def _key(record_type: str, field: str) -> str:
    """The dataset key of a record's field, as problems must name it."""
    return _KEYS_BY_NAME.get((record_type, field), field)


def _walk(exc: BaseException, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Flatten a cattrs error tree into (field path, message) pairs."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _walk(sub, (*path, _key(exc.cl.__name__, str(note.name))))
        for sub in without:
            yield from _walk(sub, path)
    elif isinstance(exc, IterableValidationError):
        items, rest = exc.group_exceptions()
        for sub, item in items:
            yield from _walk(sub, (*path, f"[{item.index}]"))
        for sub in rest:
            yield from _walk(sub, path)
    elif isinstance(exc, InvalidRecordError):
        for problem in exc.problems:
            yield (*path, _key(exc.record_type, problem.field)), problem.reason
    elif isinstance(exc, ForbiddenExtraKeysError):
        names = sorted(str(k)[:40] for k in exc.extra_fields)
        yield path, f"unknown key{'s' if len(names) > 1 else ''}: {', '.join(names)}"
    elif isinstance(exc, BadValue):
        yield path, str(exc)
    elif isinstance(exc, KeyError):
        yield path, "required field missing"
    elif isinstance(exc, AttributeError | TypeError) and not path:
        yield path, "must be an object"
    else:
        yield path, "invalid value"


def _join(path: Sequence[str]) -> str | None:
    if not path:
        return None
    text = path[0]
    for part in path[1:]:
        text += part if part.startswith("[") else f".{part}"
    return text


def structure_record(value: Any, cls: type[T]) -> T:
    """Build one domain record from its dataset shape.

    Raises:
        DatasetError: With every problem of the record.
    """
    try:
        return converter.structure(value, cls)
    except Exception as exc:
        problems = [
            DatasetProblem(collection=cls.__name__, field=_join(p), message=m)
            for p, m in _walk(exc, ())
        ]
        raise DatasetError(problems) from None


def _raw_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        raw = value.get("id", value.get("member_id"))
        if ident(raw) is None:
            return str(raw)
    return None


def structure_dataset(data: Any, *, check_references: bool = True) -> Dataset:
    """Build a :class:`Dataset` from a parsed dataset file.

    Args:
        data: The parsed JSON object.
        check_references: Also require unique ids and no dangling references
            within the file (turn off when references may point at records
            already stored elsewhere, and check them there).

    Raises:
        DatasetError: With every problem of the file, each naming the
            collection, the record's position and id, and the field.
    """
    problems: list[DatasetProblem] = []
    if not isinstance(data, Mapping):
        raise DatasetError([DatasetProblem(collection="", message="must be a JSON object")])
    known = {"format", "network", *COLLECTIONS}
    unknown = sorted(str(k)[:40] for k in data if k not in known)
    if unknown:
        problems.append(
            DatasetProblem(collection="", message=f"unknown keys: {', '.join(unknown)}")
        )
    if data.get("format") != DATASET_FORMAT:
        problems.append(DatasetProblem(collection="format", message=f"must be {DATASET_FORMAT!r}"))
    network: Network | None = None
    if "network" not in data:
        problems.append(DatasetProblem(collection="network", message="required field missing"))
    else:
        try:
            network = structure_record(data["network"], Network)
        except DatasetError as exc:
            problems.extend(attrs.evolve(p, collection="network") for p in exc.problems)

    collections: dict[str, tuple[Any, ...]] = {}
    for name, cls in RECORD_TYPES.items():
        raw_list = data.get(name, [])
        if not isinstance(raw_list, list):
            problems.append(DatasetProblem(collection=name, message="must be a list"))
            continue
        records: list[Any] = []
        for index, raw in enumerate(raw_list):
            try:
                records.append(converter.structure(raw, cls))
            except Exception as exc:
                rid = _raw_id(raw)
                problems.extend(
                    DatasetProblem(
                        collection=name, index=index, record_id=rid, field=_join(p), message=m
                    )
                    for p, m in _walk(exc, ())
                )
        collections[name] = tuple(records)

    if problems or network is None:
        raise DatasetError(problems)
    dataset = Dataset(network=network, **collections)
    if check_references:
        problems.extend(dataset_problems(dataset))
        if problems:
            raise DatasetError(problems)
    return dataset


@final
class KnownIds:
    """Ids that exist outside a dataset (already stored), for reference checks.

    Args:
        ids: For each collection, the ids already stored (a collection left
            out has none).
    """

    def __init__(self, **ids: Iterable[str]) -> None:
        unknown = sorted(set(ids) - set(COLLECTIONS) - {"open_request_members"})
        if unknown:
            raise TypeError(f"unknown collections: {', '.join(unknown)}")
        self._ids = {name: frozenset(values) for name, values in ids.items()}

    def of(self, collection: str) -> frozenset[str]:
        """The stored ids of ``collection``."""
        return self._ids.get(collection, frozenset())

    @property
    def open_request_members(self) -> frozenset[str]:
        """Members that have an open erasure request stored already."""
        return self._ids.get("open_request_members", frozenset())


def _duplicates(records: Iterable[Any], key: Callable[[Any], str]) -> Iterator[tuple[int, str]]:
    seen: Counter[str] = Counter()
    for index, record in enumerate(records):
        k = key(record)
        seen[k] += 1
        if seen[k] == 2:
            yield index, k


def _key_problems(
    record_kind: RecordKind, records: Sequence[Any], existing: KnownIds
) -> Iterator[DatasetProblem]:
    """Duplicate keys within the file, and ids that are stored already."""
    name = record_kind.collection
    field = record_kind.key_fields[0]
    by_id = record_kind.key_fields == ("id",)
    message = "duplicate id" if by_id else f"a member has only one {name[:-1]}"
    for index, key in _duplicates(records, record_kind.key):
        yield DatasetProblem(
            collection=name, index=index, record_id=key, field=field, message=message
        )
    if not by_id:
        return
    already = existing.of(name)
    for index, record in enumerate(records):
        if record.id in already:
            yield DatasetProblem(
                collection=name,
                index=index,
                record_id=record.id,
                field="id",
                message="id already exists",
            )


def _open_request_problems(dataset: Dataset, existing: KnownIds) -> Iterator[DatasetProblem]:
    """A member with a second open erasure request."""
    seen = set(existing.open_request_members)
    for index, request in enumerate(dataset.erasure_requests):
        if not request.is_open:
            continue
        if request.member_id in seen:
            yield DatasetProblem(
                collection="erasure_requests",
                index=index,
                record_id=request.id,
                field="status",
                message="a member has at most one open erasure request",
            )
        seen.add(request.member_id)


def dataset_problems(dataset: Dataset, *, existing: KnownIds | None = None) -> list[DatasetProblem]:
    """Duplicate ids, dangling references and broken rules across records.

    Args:
        dataset: The dataset to check.
        existing: Ids already stored, which references may point at and which
            the dataset must not repeat.
    """
    existing = existing or KnownIds()
    problems: list[DatasetProblem] = []
    ids: dict[str, set[str]] = {}
    for record_kind in RECORD_KINDS:
        records = dataset.records(record_kind)
        problems.extend(_key_problems(record_kind, records, existing))
        if record_kind.key_fields == ("id",):
            ids[record_kind.collection] = {r.id for r in records}
    for record_kind in RECORD_KINDS:
        name = record_kind.collection
        for index, record in enumerate(dataset.records(record_kind)):
            for field, target in record_kind.references:
                value = getattr(record, field)
                if value is None:
                    continue
                if value not in ids[target] and value not in existing.of(target):
                    problems.append(
                        DatasetProblem(
                            collection=name,
                            index=index,
                            record_id=_raw_id({"id": getattr(record, "id", None)})
                            or getattr(record, "member_id", None),
                            field=field,
                            message=f"refers to a missing {_singular(target)}",
                        )
                    )
    problems.extend(_open_request_problems(dataset, existing))
    return problems


def _singular(collection: str) -> str:
    """``"collection_cases"`` -> ``"collection case"``, ``"audit"`` -> ``"audit entry"``."""
    if collection == "audit":
        return "audit entry"
    return collection[:-1].replace("_", " ")

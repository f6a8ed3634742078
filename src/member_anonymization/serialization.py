"""The dataset format: a cattrs converter for every domain record, and :class:`Dataset`.

The shapes are those of ``member-anonymization/dataset@1``: dates as
``YYYY-MM-DD``, timestamps as ISO 8601 with an offset (a naive one is an error),
money as decimal strings (a float is an error), binary content as base64 in
``data_base64``, and a member's personal data flat on the member record.
``structure(unstructure(x)) == x`` for every record.

Reading is strict: unknown keys, wrong types, naive timestamps and float money
are rejected, and :func:`structure_dataset` reports *every* problem of a file at
once, in file order, as a :class:`~member_anonymization.errors.DatasetError`
naming the collection, the record and the field, never the offending value.
:func:`parse_json` is the safe way to parse such a file (or an export) first.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final, TypeVar, final

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from typing_extensions import deprecated

from member_anonymization._converter import RENAMED, BadValue
from member_anonymization._converter import make_converter as _make_converter
from member_anonymization._json import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    JsonProblem,
    JsonReader,
    Mark,
    plain_name,
    shown,
)
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
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "RECORD_TYPES",
    "Dataset",
    "converter",
    "dataset_key",
    "dataset_problems",
    "make_converter",
    "parse_json",
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


# --------------------------------------------------------------------------- parsing


def parse_json(data: bytes | bytearray | str) -> Any:
    """Parse a JSON document from outside (a dataset file, an export) strictly and safely.

    Beyond :func:`json.loads`, it drops a UTF-8 byte-order mark at the start
    and refuses, as one :class:`~member_anonymization.errors.DatasetError`
    naming the line and column but never the value:

    * a key given twice in one object (``json.loads`` keeps the last one);
    * nesting deeper than :data:`MAX_JSON_DEPTH` levels of arrays and objects
      (datasets and exports nest five at most);
    * an integer of more than :data:`MAX_INT_DIGITS` digits;
    * ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON;
    * bytes that are not UTF-8, and anything but white space after the value.

    Args:
        data: The document's text, or its UTF-8 bytes.

    Raises:
        DatasetError: With one problem, in ``collection`` ``""``.
    """
    try:
        return JsonReader(data).document()
    except JsonProblem as problem:
        raise DatasetError([DatasetProblem(collection="", message=str(problem))]) from None


def shown_keys(positions: Mapping[Any, int], unknown: Iterable[Any]) -> list[str]:
    """Unknown keys as messages show them: plain names, then the others' positions.

    Args:
        positions: Each key's position in its object, from 1.
        unknown: The keys to show.
    """
    keys = list(unknown)
    names = sorted(key for key in keys if plain_name(key))
    numbered = sorted(positions.get(key, 0) for key in keys if not plain_name(key))
    return [*names, *(f"#{n}" for n in numbered)]


def _at(value: Any, path: Sequence[str]) -> Any:
    """The part of a raw record at a problem's path (``None`` when it is not there)."""
    for part in path:
        try:
            value = value[int(part[1:-1])] if part.startswith("[") else value[part]
        except (LookupError, TypeError, ValueError):
            return None
    return value


def _walk(
    exc: BaseException, path: tuple[str, ...], raw: Any = None
) -> Iterator[tuple[tuple[str, ...], str]]:
    """Flatten a cattrs error tree into (field path, message) pairs."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _walk(sub, (*path, _key(exc.cl.__name__, str(note.name))), raw)
        for sub in without:
            yield from _walk(sub, path, raw)
    elif isinstance(exc, IterableValidationError):
        items, rest = exc.group_exceptions()
        for sub, item in items:
            yield from _walk(sub, (*path, f"[{item.index}]"), raw)
        for sub in rest:
            yield from _walk(sub, path, raw)
    elif isinstance(exc, InvalidRecordError):
        for problem in exc.problems:
            yield (*path, _key(exc.record_type, problem.field)), problem.reason
    elif isinstance(exc, ForbiddenExtraKeysError):
        part = _at(raw, path)
        positions = dict(zip(part, itertools.count(1))) if isinstance(part, Mapping) else {}
        names = shown_keys(positions, exc.extra_fields)
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
            for p, m in _walk(exc, (), value)
        ]
        raise DatasetError(problems) from None


def shown_id(value: Any) -> str | None:
    """A record id as problems show it: a valid id, its control characters escaped."""
    if ident(value) is None:
        return shown(value)
    return None


def _raw_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return shown_id(value.get("id", value.get("member_id")))
    return None


# --------------------------------------------------------------------------- checking


@final
class KnownIds:
    """Ids that exist outside a dataset (already stored), for reference checks.

    Args:
        ids: For each collection, the ids already stored (a collection left
            out has none; ``wallets``: the members that have one).
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


_ABSENT: Final[Any] = object()

_ORDER: Final[Mapping[str, int]] = {
    name: position for position, name in enumerate(("format", "network", *COLLECTIONS))
}

# The ranks of the checks: a record's problems are listed in this order.
_SHAPE, _NETWORK, _DUPLICATE, _STORED, _REFERENCE, _OPEN = range(6)


@final
class DatasetScan:
    """Checks a dataset file record by record, keeping only what the checks across records need.

    Feed it the file's parts in any order (:meth:`header`, :meth:`add_raw`,
    ...) and ask for :meth:`problems`: every problem of the file in file order
    (by collection, then record, then the kind of check). Without ``keep`` it
    holds the ids and references of the records, not the records: an adapter
    that streams a file then calls :meth:`cross_check` for each record in a
    second pass when :meth:`needs_cross_check` says so.

    Args:
        keep: Keep the valid records (for :meth:`dataset` and :meth:`records`).
    """

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.network: Network | None = None
        self.counts: dict[str, int] = dict.fromkeys(COLLECTIONS, 0)
        """Valid records per collection."""
        self.keys: dict[str, set[str]] = {name: set() for name in COLLECTIONS}
        """The keys of the valid records (ids; a wallet's member)."""
        self.references: dict[str, set[str]] = {name: set() for name in COLLECTIONS}
        """Every id the valid records refer to, per target collection."""
        self.invalid: dict[str, set[str]] = {name: set() for name in COLLECTIONS}
        """The ids of the invalid records, which references may point at."""
        self.unidentified: set[str] = set()
        """Collections holding a record whose id is itself invalid: a reference
        to none of their ids may mean that record, and is not reported."""
        self._records: dict[str, list[Any]] = {name: [] for name in COLLECTIONS}
        self._positions: dict[str, array[int]] = {name: array("q") for name in COLLECTIONS}
        self._problems: list[tuple[int, int, int, DatasetProblem]] = []
        self._duplicates: list[tuple[str, int, str]] = []
        self._doubled: dict[str, set[str]] = {name: set() for name in COLLECTIONS}
        self._open: list[tuple[int, str, str]] = []
        self._unknown: dict[Any, int] = {}

    # -- the file's parts ------------------------------------------------------------------

    def _problem(self, rank: int, problem: DatasetProblem) -> None:
        index = -1 if problem.index is None else problem.index
        self._problems.append((_ORDER.get(problem.collection, -1), index, rank, problem))

    def header(self, format_value: Any = _ABSENT, network: Any = _ABSENT) -> None:
        """The file's ``format`` and ``network`` (leave one out when the file has none)."""
        if format_value != DATASET_FORMAT:
            self._problem(
                _SHAPE, DatasetProblem(collection="format", message=f"must be {DATASET_FORMAT!r}")
            )
        if network is _ABSENT:
            self._problem(
                _SHAPE, DatasetProblem(collection="network", message="required field missing")
            )
            return
        try:
            self.network = structure_record(network, Network)
        except DatasetError as exc:
            for p in exc.problems:
                self._problem(_SHAPE, attrs.evolve(p, collection="network"))

    def unknown(self, key: Any, position: int) -> None:
        """A key of the file that names nothing (``position``: from 1)."""
        self._unknown[key] = position

    def not_a_list(self, name: str) -> None:
        """The collection ``name`` is not a list."""
        self._problem(_SHAPE, DatasetProblem(collection=name, message="must be a list"))

    def add_raw(self, name: str, index: int, raw: Any) -> Any | None:
        """Structure and add record ``index`` of collection ``name``; ``None`` when invalid."""
        try:
            record = converter.structure(raw, RECORD_TYPES[name])
        except Exception as exc:
            rid = _raw_id(raw)
            for p, m in _walk(exc, (), raw):
                problem = DatasetProblem(
                    collection=name, index=index, record_id=rid, field=_join(p), message=m
                )
                self._problem(_SHAPE, problem)
            raw_id = raw.get("id", raw.get("member_id")) if isinstance(raw, Mapping) else None
            if isinstance(raw_id, str):
                self.invalid[name].add(raw_id)
            if ident(raw_id) is not None:
                self.unidentified.add(name)
            return None
        self.add(name, index, record)
        return record

    def add(self, name: str, index: int, record: Any) -> None:
        """Add a valid record (``index``: its position in its collection)."""
        record_kind = KINDS[name]
        key = record_kind.key(record)
        keys = self.keys[name]
        if key in keys:
            if key not in self._doubled[name]:
                self._doubled[name].add(key)
                self._duplicates.append((name, index, key))
        else:
            keys.add(key)
        for field, target in record_kind.references:
            value = getattr(record, field)
            if value is not None:
                self.references[target].add(value)
        if name == "erasure_requests" and record.is_open:
            self._open.append((index, record.id, record.member_id))
        self.counts[name] += 1
        if self.keep:
            self._records[name].append(record)
            self._positions[name].append(index)

    @property
    def open_request_members(self) -> set[str]:
        """The members of the file's open erasure requests."""
        return {member_id for _, _, member_id in self._open}

    def add_problem(self, problem: DatasetProblem) -> None:
        """A problem found elsewhere (such as the network against the database's)."""
        self._problem(_NETWORK, problem)

    # -- across records --------------------------------------------------------------------

    def needs_cross_check(self, existing: KnownIds) -> bool:
        """Whether some record may repeat a stored id or refer to a missing one."""
        for name in COLLECTIONS:
            if not self.keys[name].isdisjoint(existing.of(name)):
                return True
            if name in self.unidentified:
                continue
            known = self.keys[name] | self.invalid[name] | existing.of(name)
            if not self.references[name] <= known:
                return True
        return False

    def cross_check(self, name: str, index: int, record: Any, existing: KnownIds) -> None:
        """Check one valid record against the stored ids and the file's other records."""
        record_kind = KINDS[name]
        record_id = getattr(record, "id", None)
        shown_record_id = shown_id(record_id) or shown_id(getattr(record, "member_id", None))
        key = record_kind.key(record)
        if key in existing.of(name):
            by_id = record_kind.key_fields == ("id",)
            field = record_kind.key_fields[0]
            message = "id already exists" if by_id else f"the member already has a {name[:-1]}"
            problem = DatasetProblem(
                collection=name, index=index, record_id=shown(key), field=field, message=message
            )
            self._problem(_STORED, problem)
        for field, target in record_kind.references:
            value = getattr(record, field)
            if value is None or target in self.unidentified:
                continue
            if value in self.keys[target] or value in self.invalid[target]:
                continue
            if value not in existing.of(target):
                problem = DatasetProblem(
                    collection=name,
                    index=index,
                    record_id=shown_record_id,
                    field=field,
                    message=f"refers to a missing {_singular(target)}",
                )
                self._problem(_REFERENCE, problem)

    def problems(
        self, existing: KnownIds | None = None, *, across: bool = True
    ) -> list[DatasetProblem]:
        """Every problem found, in file order.

        Args:
            existing: Ids already stored, which references may point at and
                which the file must not repeat.
            across: Check across records too: duplicate ids, open requests,
                and (for the records kept) stored ids and references.
        """
        if self._unknown:
            names = shown_keys(self._unknown, self._unknown)
            self._problem(
                _SHAPE, DatasetProblem(collection="", message=f"unknown keys: {', '.join(names)}")
            )
            self._unknown = {}
        if across:
            existing = existing or KnownIds()
            for name, index, key in self._duplicates:
                record_kind = KINDS[name]
                by_id = record_kind.key_fields == ("id",)
                message = "duplicate id" if by_id else f"a member has only one {name[:-1]}"
                problem = DatasetProblem(
                    collection=name,
                    index=index,
                    record_id=shown(key),
                    field=record_kind.key_fields[0],
                    message=message,
                )
                self._problem(_DUPLICATE, problem)
            self._duplicates = []
            for name in COLLECTIONS:
                for index, record in self.records(name):
                    self.cross_check(name, index, record, existing)
            seen = set(existing.open_request_members)
            for index, request_id, member_id in self._open:
                if member_id in seen:
                    problem = DatasetProblem(
                        collection="erasure_requests",
                        index=index,
                        record_id=shown(request_id),
                        field="status",
                        message="a member has at most one open erasure request",
                    )
                    self._problem(_OPEN, problem)
                seen.add(member_id)
            self._open = []
        ordered = sorted(self._problems, key=lambda entry: entry[:3])
        return [problem for *_, problem in ordered]

    # -- the records -----------------------------------------------------------------------

    def records(self, name: str) -> Iterator[tuple[int, Any]]:
        """The valid records of collection ``name`` kept, with their positions."""
        return zip(self._positions[name], self._records[name], strict=True)

    def dataset(self) -> Dataset:
        """The valid records kept, as a dataset (the file's network is valid)."""
        assert self.network is not None
        collections = {name: tuple(self._records[name]) for name in COLLECTIONS}
        return Dataset(network=self.network, **collections)


def scan_mapping(data: Any, scan: DatasetScan) -> None:
    """Feed a parsed dataset file to ``scan``.

    Raises:
        DatasetError: ``data`` is not a JSON object.
    """
    if not isinstance(data, Mapping):
        raise DatasetError([DatasetProblem(collection="", message="must be a JSON object")])
    known = {"format", "network", *COLLECTIONS}
    for position, key in enumerate(data, start=1):
        if key not in known:
            scan.unknown(key, position)
    scan.header(data.get("format", _ABSENT), data.get("network", _ABSENT))
    for name in COLLECTIONS:
        raw_list = data.get(name, [])
        if not isinstance(raw_list, list):
            scan.not_a_list(name)
            continue
        for index, raw in enumerate(raw_list):
            scan.add_raw(name, index, raw)


def scan_file(reader: JsonReader, scan: DatasetScan) -> dict[str, Mark]:
    """Feed a dataset file to ``scan`` record by record, as ``reader`` reads it.

    Returns:
        Where each collection's list starts, to read it again.

    Raises:
        DatasetError: The file is not valid JSON, or breaks the parsing rules
            of :func:`parse_json` (one problem), or is not a JSON object.
    """
    marks: dict[str, Mark] = {}
    parts: dict[str, Any] = {}
    where = ""
    try:
        if reader.starts() != "{":
            reader.document()
            raise DatasetError([DatasetProblem(collection="", message="must be a JSON object")])
        for key, position, _ in reader.members():
            if key in ("format", "network"):
                where = key
                parts[key] = reader.value(2)
            elif key in KINDS:
                where = key
                if reader.starts() != "[":
                    reader.value(2)
                    scan.not_a_list(key)
                else:
                    marks[key] = reader.mark()
                    for index, raw in enumerate(reader.items(2)):
                        scan.add_raw(key, index, raw)
            else:
                scan.unknown(key, position)
                reader.skip(2)
            where = ""
        reader.end()
    except JsonProblem as problem:
        collection = "" if problem.anywhere else where
        raise DatasetError(
            [
                DatasetProblem(
                    collection=collection,
                    index=problem.index if collection else None,
                    message=str(problem),
                )
            ]
        ) from None
    scan.header(parts.get("format", _ABSENT), parts.get("network", _ABSENT))
    return marks


def structure_dataset(data: Any, *, check_references: bool = True) -> Dataset:
    """Build a :class:`Dataset` from a parsed dataset file.

    Args:
        data: The parsed JSON object (see :func:`parse_json`).
        check_references: Also require unique ids and no dangling references
            within the file (turn off when references may point at records
            already stored elsewhere, and check them there).

    Raises:
        DatasetError: With every problem of the file in file order, each
            naming the collection, the record's position and id, and the
            field. References to a record that is itself invalid are not
            reported again.
    """
    scan = DatasetScan()
    scan_mapping(data, scan)
    problems = scan.problems(across=check_references)
    if problems:
        raise DatasetError(problems)
    return scan.dataset()


def dataset_problems(dataset: Dataset, *, existing: KnownIds | None = None) -> list[DatasetProblem]:
    """Duplicate ids, dangling references and broken rules across records, in file order.

    Args:
        dataset: The dataset to check.
        existing: Ids already stored, which references may point at and which
            the dataset must not repeat.
    """
    scan = DatasetScan()
    scan.network = dataset.network
    for record_kind in RECORD_KINDS:
        for index, record in enumerate(dataset.records(record_kind)):
            scan.add(record_kind.collection, index, record)
    return scan.problems(existing)


def _singular(collection: str) -> str:
    """``"collection_cases"`` -> ``"collection case"``, ``"audit"`` -> ``"audit entry"``."""
    if collection == "audit":
        return "audit entry"
    return collection[:-1].replace("_", " ")

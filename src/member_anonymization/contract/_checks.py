"""The contract checks: one function per rule of the repository protocols.

Each ``check_x`` builds a fresh store with :func:`contract_dataset` through the
harness, runs one operation and compares the outcome with the snapshots (and,
for whole anonymizations and sweeps, with the in-memory reference).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from member_anonymization.anonymizer import (
    AnonymizationOptions,
    AnonymizationResult,
    Anonymized,
    Anonymizer,
    NotPermitted,
    Refused,
    generic_placeholder,
)
from member_anonymization.contract._compare import (
    CheckSkipped,
    ContractViolation,
    LoadedDataset,
    _absent,
    _counts,
    _equal,
    _evolve,
    _fail,
    _find,
    _HostIds,
    _ids,
    _key,
    _member,
    _of,
    _record_differences,
    _same_records,
    _same_state,
    _with_members,
    _without,
)
from member_anonymization.contract._data import (
    _AS_OF,
    _DISTANT,
    _DUE_CASES,
    _M1,
    _M2,
    _M3,
    _NOW,
    _RQ_M1,
    _UNKNOWN,
    _new_audit,
    _new_messages,
    _new_reminders,
    _new_requests,
    contract_dataset,
)
from member_anonymization.domain import (
    ClubId,
    ErasureRequest,
    MemberId,
    NoteType,
    OutboxKind,
    OutboxMessage,
    PersonalData,
    RequestStatus,
)
from member_anonymization.erasure import ProcessReport, RequestProcessor
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork
from member_anonymization.retention import RetentionSweep, SweepReport
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FaultInjector, FixedClock, InjectedFailure, InMemoryStore

if TYPE_CHECKING:
    from member_anonymization.contract import AdapterHarness


def _build(harness: AdapterHarness) -> tuple[Callable[[], UnitOfWork], Dataset, _HostIds]:
    """Load the contract's dataset; the factory, the first snapshot and the host's ids."""
    built = harness.build(contract_dataset())
    if isinstance(built, LoadedDataset):
        factory, host = built.unit_of_work, _HostIds(built.ids)
    else:
        factory, host = built, _HostIds({})
    return factory, harness.snapshot().sorted(), host


def _options() -> AnonymizationOptions:
    """Options with predictable ids, so that two runs write the same records."""
    counter = itertools.count(1)
    return AnonymizationOptions(id_factory=lambda: f"contract-{next(counter)}")


def _snapshot(harness: AdapterHarness) -> Dataset:
    return harness.snapshot().sorted()


# --------------------------------------------------------------------------- readers


def check_clubs_reader(harness: AdapterHarness) -> None:
    """``clubs.network_clubs()`` returns every club of the network, by id."""
    rule = "ClubReader.network_clubs returns every club by id"
    factory, before, _host = _build(harness)
    with factory() as uow:
        clubs = dict(uow.clubs.network_clubs())
    keys = sorted(clubs)
    _equal(rule, "the keys", keys, sorted(c.id for c in before.clubs))
    wrong = sorted(k for k, club in clubs.items() if club.id != k)
    if wrong:
        raise _fail(rule, f"clubs filed under another id: {', '.join(wrong)}")
    _same_records(rule, "network_clubs()", clubs.values(), before.clubs)


def check_employees_reader(harness: AdapterHarness) -> None:
    """``employees.get`` returns each employee with their permissions, and ``None`` otherwise."""
    rule = "EmployeeReader.get returns the employee, or None"
    factory, before, host = _build(harness)
    with factory() as uow:
        for employee in before.employees:
            _same_records(
                rule, f"get({employee.id!r})", [uow.employees.get(employee.id)], [employee]
            )
        _equal(rule, f"get({_UNKNOWN!r})", uow.employees.get(_UNKNOWN), None)
        m1 = host.member(_M1)
        _equal(rule, f"get({m1!r}) of a member", uow.employees.get(m1), None)


def check_member_get(harness: AdapterHarness) -> None:
    """``members.get`` returns each member as stored, and ``None`` for an unknown id."""
    rule = "MemberRepository.get returns the member as stored, or None"
    factory, before, host = _build(harness)
    with factory() as uow:
        for member in before.members:
            _same_records(rule, f"get({member.id!r})", [uow.members.get(member.id)], [member])
        _equal(rule, f"get({_UNKNOWN!r})", uow.members.get(_UNKNOWN), None)
        e1 = host.employee("e1")
        _equal(rule, f"get({e1!r}) of an employee", uow.members.get(e1), None)
    _same_state(rule + " and changes nothing", _snapshot(harness), before)


def check_lock_returns_existing_ids(harness: AdapterHarness) -> None:
    """``members.lock`` returns the ids that exist (each once), and changes nothing."""
    rule = "MemberRepository.lock returns the existing ids"
    factory, before, host = _build(harness)
    m1, m2, m3 = host.members([_M1, _M2, _M3])
    with factory() as uow:
        locked = list(uow.members.lock([m2, _UNKNOWN, m1, host.employee("e1")]))
        _equal(rule, "lock([m2, unknown, m1, e1])", sorted(locked), sorted([m1, m2]))
        skipping = list(uow.members.lock([m3, _UNKNOWN], skip_locked=True))
        _equal(rule, "lock([m3, unknown], skip_locked=True)", skipping, [m3])
        _equal(rule, "lock([unknown])", list(uow.members.lock([_UNKNOWN])), [])
        uow.commit()
    _same_state(rule + " and changes nothing", _snapshot(harness), before)


def _expected_facts(before: Dataset, member_id: MemberId) -> MemberFacts:
    return MemberFacts(
        member=_member(before, member_id),
        contracts=tuple(_of(before, "contracts", member_id)),
        collection_cases=tuple(_of(before, "collection_cases", member_id)),
        wallets=tuple(_of(before, "wallets", member_id)),
        installments=tuple(_of(before, "installments", member_id)),
        purchases=tuple(_of(before, "purchases", member_id)),
    )


def check_load_facts_returns_network_wide_records(harness: AdapterHarness) -> None:
    """``facts.load_facts`` returns each member's records in every club; unknown ids left out."""
    rule = "FactsReader.load_facts returns each member's records in every club of the network"
    factory, before, host = _build(harness)
    asked = [host.member(_M1), _UNKNOWN, host.member(_M2), host.member("m6")]
    with factory() as uow:
        facts = dict(uow.facts.load_facts(asked))
        empty = dict(uow.facts.load_facts([_UNKNOWN]))
    _equal(rule, "load_facts([unknown]) keys", sorted(empty), [])
    _equal(rule, "load_facts keys", sorted(facts), sorted(a for a in asked if a != _UNKNOWN))
    for member_id, got in sorted(facts.items()):
        want = _expected_facts(before, member_id)
        label = f"load_facts()[{member_id!r}]"
        _same_records(rule, f"{label}.member", [got.member], [want.member])
        for name in ("contracts", "collection_cases", "installments", "purchases"):
            _same_records(rule, f"{label}.{name}", getattr(got, name), getattr(want, name))
        wallet_problems = _record_differences(
            f"{label}.wallets", got.wallets, want.wallets, _key("wallets")
        )
        if wallet_problems:
            raise _fail(rule, "; ".join(wallet_problems))
    clubs = sorted({c.club_id for c in facts[host.member(_M1)].contracts})
    _equal(
        rule,
        "the clubs of m1's contracts",
        clubs,
        sorted([host.of("clubs", "c1"), host.of("clubs", "c2")]),
    )


def check_accounting_reader(harness: AdapterHarness) -> None:
    """``accounting.invoices_of`` and ``receipts_of`` return the member's records, as issued."""
    rule = "AccountingReader returns the member's invoices and receipts, exactly as issued"
    factory, before, host = _build(harness)
    with factory() as uow:
        for member_id in (*host.members([_M1, _M2, _M3]), _UNKNOWN):
            _same_records(
                rule,
                f"invoices_of({member_id!r})",
                list(uow.accounting.invoices_of(member_id)),
                _of(before, "invoices", member_id),
            )
            _same_records(
                rule,
                f"receipts_of({member_id!r})",
                list(uow.accounting.receipts_of(member_id)),
                _of(before, "receipts", member_id),
            )


_PROFILE: Final = (
    ("visits_of", "visits"),
    ("class_bookings_of", "class_bookings"),
    ("measurements_of", "measurements"),
    ("exercises_of", "exercises"),
    ("notes_of", "notes"),
    ("log_entries_of", "log_entries"),
    ("documents_of", "documents"),
)


def check_profile_reader(harness: AdapterHarness) -> None:
    """Every ``profile`` reader returns the member's records only; each call starts anew."""
    rule = "ProfileReader returns the member's records, and each call starts a new iteration"
    factory, before, host = _build(harness)
    with factory() as uow:
        for method, collection in _PROFILE:
            read = getattr(uow.profile, method)
            for member_id in (*host.members([_M1, _M2, _M3]), _UNKNOWN):
                want = _of(before, collection, member_id)
                first, second = read(member_id), read(member_id)
                _same_records(rule, f"{method}({member_id!r})", list(first), want)
                _same_records(rule, f"{method}({member_id!r}), second call", list(second), want)


# --------------------------------------------------------------------------- writers


def _write_and_commit(factory: Callable[[], UnitOfWork], write: Callable[[UnitOfWork], Any]) -> Any:
    with factory() as uow:
        result = write(uow)
        uow.commit()
    return result


def check_replace_personal_data(harness: AdapterHarness) -> None:
    """``members.replace_personal_data`` overwrites every personal field of the members given."""
    rule = "MemberRepository.replace_personal_data overwrites every personal field"
    factory, before, host = _build(harness)
    replacements = {
        host.member(_M1): PersonalData(first_name="Anonymized", last_name="Member 1A2B3C"),
        host.member(_M3): PersonalData(
            first_name="Anonymized", last_name="Member D4E5F6", email="x@example.org"
        ),
    }
    _write_and_commit(factory, lambda uow: uow.members.replace_personal_data(replacements))
    expected = _with_members(
        before,
        lambda m: attrs.evolve(m, personal=replacements[m.id]) if m.id in replacements else None,
    )
    _same_state(rule, _snapshot(harness), expected)


def check_delete_photos(harness: AdapterHarness) -> None:
    """``members.delete_photos`` deletes the members' photos and counts them per member."""
    rule = "MemberRepository.delete_photos deletes the photos, with counts per member"
    factory, before, host = _build(harness)
    batch = host.members([_M1, _M3])
    counts = _write_and_commit(factory, lambda uow: uow.members.delete_photos(batch))
    _equal(
        rule,
        "delete_photos([m1, m3])",
        _counts(rule, "delete_photos", counts, batch),
        {batch[0]: 1},
    )
    expected = _with_members(
        before, lambda m: attrs.evolve(m, photo=None) if m.id in batch else None
    )
    _same_state(rule, _snapshot(harness), expected)


def _check_delete(
    harness: AdapterHarness,
    *,
    method: str,
    collection: str,
    delete: Callable[[UnitOfWork, Sequence[MemberId]], Mapping[MemberId, int]],
    deleted: Callable[[Any], bool] = lambda record: True,
) -> None:
    rule = f"ErasableRecords.{method} deletes exactly the members' records, with counts per member"
    factory, before, host = _build(harness)
    batch = host.members([_M1, _M3])
    gone = [r for r in getattr(before, collection) if r.member_id in batch and deleted(r)]
    if not gone:
        raise _fail(rule, f"the snapshot holds no {collection} of m1 to delete")
    counts = _write_and_commit(factory, lambda uow: delete(uow, batch))
    got = _counts(rule, method, counts, batch)
    _equal(rule, f"{method}([m1, m3])", got, {batch[0]: len(gone)})
    gone_ids = {r.id for r in gone}
    _same_state(rule, _snapshot(harness), _without(before, collection, lambda r: r.id in gone_ids))


def check_delete_log_entries(harness: AdapterHarness) -> None:
    """``records.delete_log_entries`` deletes the members' log entries only."""
    _check_delete(
        harness,
        method="delete_log_entries",
        collection="log_entries",
        delete=lambda uow, ids: uow.records.delete_log_entries(ids),
    )


def check_delete_documents(harness: AdapterHarness) -> None:
    """``records.delete_documents`` deletes the members' documents only."""
    _check_delete(
        harness,
        method="delete_documents",
        collection="documents",
        delete=lambda uow, ids: uow.records.delete_documents(ids),
    )


def check_delete_measurements(harness: AdapterHarness) -> None:
    """``records.delete_measurements`` deletes the members' measurements only."""
    _check_delete(
        harness,
        method="delete_measurements",
        collection="measurements",
        delete=lambda uow, ids: uow.records.delete_measurements(ids),
    )


def check_delete_exercises(harness: AdapterHarness) -> None:
    """``records.delete_exercises`` deletes the members' exercises only."""
    _check_delete(
        harness,
        method="delete_exercises",
        collection="exercises",
        delete=lambda uow, ids: uow.records.delete_exercises(ids),
    )


def check_delete_notes_of_given_types(harness: AdapterHarness) -> None:
    """``records.delete_notes(note_types=...)`` deletes the members' notes of those types only."""
    health: Collection[NoteType] = frozenset({NoteType.TRAINING_AND_HEALTH})
    _check_delete(
        harness,
        method="delete_notes",
        collection="notes",
        delete=lambda uow, ids: uow.records.delete_notes(ids, note_types=health),
        deleted=lambda note: note.note_type in health,
    )


def check_delete_notes_of_every_type(harness: AdapterHarness) -> None:
    """``records.delete_notes(note_types=None)`` deletes the members' notes of every type."""
    _check_delete(
        harness,
        method="delete_notes",
        collection="notes",
        delete=lambda uow, ids: uow.records.delete_notes(ids, note_types=None),
    )


def check_mark_anonymized(harness: AdapterHarness) -> None:
    """``members.mark_anonymized`` records the instant on the members given only."""
    rule = "MemberRepository.mark_anonymized records the instant"
    factory, before, host = _build(harness)
    batch = host.members([_M1, _M3])
    _write_and_commit(factory, lambda uow: uow.members.mark_anonymized(batch, _NOW))
    expected = _with_members(
        before, lambda m: attrs.evolve(m, anonymized_at=_NOW) if m.id in batch else None
    )
    _same_state(rule, _snapshot(harness), expected)


def check_reminders_add(harness: AdapterHarness) -> None:
    """``reminders.add`` stores the reminders, every field as given."""
    rule = "ReminderWriter.add stores the reminders"
    factory, before, host = _build(harness)
    added = host.records("reminders", _new_reminders())
    _write_and_commit(factory, lambda uow: uow.reminders.add(added))
    _same_state(rule, _snapshot(harness), _evolve(before, reminders=(*before.reminders, *added)))


def check_audit_add(harness: AdapterHarness) -> None:
    """``audit.add`` stores the entries: actor, instant, mode, action and every count."""
    rule = "AuditLog.add stores the entries"
    factory, before, host = _build(harness)
    added = host.records("audit", _new_audit())
    _write_and_commit(factory, lambda uow: uow.audit.add(added))
    _same_state(rule, _snapshot(harness), _evolve(before, audit=(*before.audit, *added)))


def _due(
    uow: UnitOfWork,
    thresholds: Mapping[ClubId, dt.date],
    after: MemberId | None = None,
    limit: int = 1000,
) -> list[MemberId]:
    return list(uow.retention.due_members(thresholds=thresholds, after=after, limit=limit))


def _reference_due(before: Dataset, thresholds: Mapping[ClubId, dt.date]) -> list[MemberId]:
    with InMemoryStore(before).unit_of_work() as uow:
        return _due(uow, thresholds)


_EVERY_CLUB: Final = {"c1": _DISTANT, "c2": _DISTANT, "c3": _DISTANT}


def _host_order(rule: str, factory: Callable[[], UnitOfWork], host: _HostIds) -> list[MemberId]:
    """Every member due far ahead, in the host's order of its ids (each once)."""
    with factory() as uow:
        order = _due(uow, host.clubs(_EVERY_CLUB))
    twice = sorted({m for m in order if order.count(m) > 1})
    if twice:
        raise _fail(rule, f"due_members returned {', '.join(twice)} more than once")
    return order


def check_due_members(harness: AdapterHarness) -> None:
    """``retention.due_members`` finds the due members by last contract end, in one order."""
    rule = "RetentionReader.due_members returns the due members, ordered by id"
    factory, before, host = _build(harness)
    order = _host_order(rule, factory, host)
    with factory() as uow:
        for label, thresholds, expected in _DUE_CASES:
            asked = host.clubs(thresholds)
            got = _due(uow, asked)
            _equal(rule, f"due_members ({label})", sorted(got), sorted(host.members(expected)))
            in_order = [m for m in order if m in got]
            _equal(rule, f"due_members ({label}), in the order of every due member", got, in_order)
            reference = sorted(_reference_due(before, asked))
            _equal(
                rule, f"due_members ({label}) compared with the reference", sorted(got), reference
            )


def check_due_members_paging(harness: AdapterHarness) -> None:
    """``retention.due_members`` pages with ``after`` (the ids after it) and ``limit``."""
    rule = "RetentionReader.due_members pages with after and limit, in one order of the ids"
    factory, _, host = _build(harness)
    order = _host_order(rule, factory, host)
    every = host.clubs(_EVERY_CLUB)
    far_ahead = _DUE_CASES[-1][2]  # every club, far ahead: eight members
    _equal(rule, "due_members (every club)", sorted(order), sorted(host.members(far_ahead)))
    pages = ((None, 3), (order[2], 3), (order[5], 3), (order[0], 1000), (order[-1], 3), (None, 0))
    some = host.clubs({"c1": dt.date(2022, 8, 31), "c2": dt.date(2022, 3, 31)})
    with factory() as uow:
        for after, limit in pages:
            want = order[order.index(after) + 1 if after else 0 :][:limit]
            label = f"due_members(after={after!r}, limit={limit})"
            _equal(rule, label, _due(uow, every, after, limit), want)
        due = _due(uow, some)
        for after in (m for m in order if m not in due):
            want = [m for m in order[order.index(after) + 1 :] if m in due]
            label = f"due_members(after={after!r}), a member not due at those thresholds"
            _equal(rule, label, _due(uow, some, after), want)


class _InHostOrder:
    """A reference unit whose ``due_members`` come in the host's order of the ids."""

    def __init__(self, inner: Any, order: Sequence[MemberId]) -> None:
        self._inner = inner
        self._rank = {m: n for n, m in enumerate(order)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _InHostOrder:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    @property
    def retention(self) -> _InHostOrder:
        return self

    def due_members(
        self, *, thresholds: Mapping[ClubId, dt.date], after: MemberId | None = None, limit: int
    ) -> list[MemberId]:
        found = sorted(_due(self._inner, thresholds, None, 1 << 30), key=self._rank.__getitem__)
        start = -1 if after is None else self._rank[after]
        return [m for m in found if self._rank[m] > start][: max(limit, 0)]


def _reference_in(before: Dataset, order: Sequence[MemberId]) -> Callable[[], Any]:
    """The in-memory reference, started from ``before``, paging due members like the host."""
    store = InMemoryStore(before)
    return lambda: _InHostOrder(store.unit_of_work(), order)


# ------------------------------------------------------------------ erasure requests, outbox


def _requests(dataset: Dataset, status: RequestStatus | None = None) -> list[ErasureRequest]:
    """The snapshot's requests (of ``status``), ordered by id."""
    found = (r for r in dataset.erasure_requests if status is None or r.status is status)
    return sorted(found, key=lambda r: r.id)


def _message_order(message: OutboxMessage) -> tuple[dt.datetime, str]:
    return (message.created_at, message.id)


def _pending(dataset: Dataset) -> list[OutboxMessage]:
    """The snapshot's pending messages, oldest first (by instant, then id)."""
    return sorted((m for m in dataset.outbox if m.delivered_at is None), key=_message_order)


def _check_pages(
    rule: str,
    factory: Callable[[], UnitOfWork],
    before: Dataset,
    name: str,
    method: Callable[[UnitOfWork], Callable[..., Iterable[Any]]],
    records: Sequence[Any],
    pages: Sequence[tuple[str | None, int]],
) -> None:
    """A paged reader gives ``records`` in order, each page as cut by id and as the reference does.

    Args:
        rule: The rule checked.
        factory: The host's units of work.
        before: What the host holds (the reference is loaded with it).
        name: The method's name, for the messages.
        method: The reader's method of a unit of work (``after``, ``limit``).
        records: Everything it must return, in order.
        pages: The ``(after, limit)`` pairs to ask for.
    """
    reference = InMemoryStore(before)
    with factory() as uow, reference.unit_of_work() as expected_uow:
        _in_order(rule, f"{name}()", method(uow)(), records)
        for after, limit in pages:
            want = [r for r in records if after is None or r.id > after][:limit]
            label = f"{name}(after={after!r}, limit={limit})"
            got = list(method(uow)(after=after, limit=limit))
            _in_order(rule, label, got, want)
            expected = method(expected_uow)(after=after, limit=limit)
            _equal(rule, label + " compared with the reference", _ids(got), _ids(expected))


def _in_order(rule: str, label: str, got: Iterable[Any], want: Sequence[Any]) -> None:
    """``got`` holds exactly the records ``want`` holds, in the same order."""
    records = list(got)
    _same_records(rule, label, records, want)
    _equal(rule, f"{label}, the order of the ids", _ids(records), _ids(want))


def check_requests_get(harness: AdapterHarness) -> None:
    """``requests.get`` returns each erasure request as stored, and ``None`` for an unknown id."""
    rule = "ErasureRequestRegister.get returns the request as stored, or None"
    factory, before, _host = _build(harness)
    if not before.erasure_requests:
        raise _fail(rule, "the snapshot holds no erasure request")
    with factory() as uow:
        for request in before.erasure_requests:
            _same_records(rule, f"get({request.id!r})", [uow.requests.get(request.id)], [request])
        _absent(rule, f"get({_UNKNOWN!r})", uow.requests.get(_UNKNOWN))
        _absent(rule, f"get({_M1!r}) of a member", uow.requests.get(_M1))
    _same_state(rule + " and changes nothing", _snapshot(harness), before)


def check_requests_open_for(harness: AdapterHarness) -> None:
    """``requests.open_for`` returns the open request of each member given; others left out."""
    rule = "ErasureRequestRegister.open_for returns each member's open request only"
    factory, before, host = _build(harness)
    asked = [*host.members([_M2]), _UNKNOWN, *host.members([_M1, "m6", "m5"])]
    asked += [host.employee("e1"), host.member("m10")]
    want = {r.member_id: r for r in _requests(before, RequestStatus.OPEN) if r.member_id in asked}
    closed = {r.member_id for r in before.erasure_requests if not r.is_open}
    if len(want) < 2 or not closed & (set(asked) - set(want)):
        raise _fail(rule, "the snapshot lacks open and closed requests of the members asked")
    with factory() as uow:
        found = dict(uow.requests.open_for(asked))
        empty = dict(uow.requests.open_for([_UNKNOWN, host.member("m6")]))
    _equal(rule, "open_for([unknown, m6]) keys", sorted(empty), [])
    _equal(rule, "open_for keys", sorted(found), sorted(want))
    wrong = sorted(k for k, r in found.items() if r is not None and r.member_id != k)
    if wrong:
        raise _fail(rule, f"requests filed under another member: {', '.join(wrong)}")
    _same_records(rule, "open_for() values", found.values(), want.values())


def check_requests_add(harness: AdapterHarness) -> None:
    """``requests.add`` stores the requests; ``get`` and ``all`` return every field as given."""
    rule = "ErasureRequestRegister.add stores the requests, every field as given"
    factory, before, host = _build(harness)
    added = host.records("erasure_requests", _new_requests())
    _write_and_commit(factory, lambda uow: uow.requests.add(added))
    after = _snapshot(harness)
    expected = _evolve(before, erasure_requests=(*before.erasure_requests, *added))
    _same_state(rule, after, expected)
    with factory() as uow:
        for request in added:
            _same_records(rule, f"get({request.id!r})", [uow.requests.get(request.id)], [request])
        _in_order(rule, "all()", uow.requests.all(), _requests(expected))


def check_requests_update(harness: AdapterHarness) -> None:
    """``requests.update`` replaces the stored requests by id, and leaves every other one."""
    rule = "ErasureRequestRegister.update replaces the requests by id"
    factory, before, host = _build(harness)
    near, extended = (
        _find(before, "erasure_requests", "rq10"),
        _find(before, "erasure_requests", "rq4"),
    )
    changed = [
        near.reminded(near_deadline=True).refusal_noticed(_NOW),
        extended.withdrawn(at=_NOW, by=host.employee("e1")),
    ]
    _write_and_commit(factory, lambda uow: uow.requests.update(changed))
    by_id = {r.id: r for r in changed}
    expected = _evolve(
        before, erasure_requests=(by_id.get(r.id, r) for r in before.erasure_requests)
    )
    _same_state(rule, _snapshot(harness), expected)
    with factory() as uow:
        for request in changed:
            _same_records(rule, f"get({request.id!r})", [uow.requests.get(request.id)], [request])


def check_open_requests_paging(harness: AdapterHarness) -> None:
    """``requests.open_requests`` returns open requests by id, paged with ``after``, ``limit``."""
    rule = "ErasureRequestRegister.open_requests returns open requests by id, paged"
    factory, before, _host = _build(harness)
    every = _requests(before, RequestStatus.OPEN)
    ids = _ids(every)
    if ids != ["rq10", "rq11", "rq4", "rq5", "rq6"]:
        raise _fail(rule, "the snapshot's open requests are not those of the contract's dataset")
    pages: tuple[tuple[str | None, int], ...] = (
        (None, 2),
        ("rq11", 2),
        ("rq5", 2),
        ("rq1", 1000),
        ("rq2", 3),
        ("rq6", 5),
        (None, 0),
    )
    _check_pages(
        rule, factory, before, "open_requests", lambda uow: uow.requests.open_requests, every, pages
    )


def check_requests_all(harness: AdapterHarness) -> None:
    """``requests.all`` returns every request, or those of one status, ordered by id."""
    rule = "ErasureRequestRegister.all returns the requests (of a status) by id"
    factory, before, _host = _build(harness)
    with factory() as uow:
        _in_order(rule, "all()", uow.requests.all(), _requests(before))
        for status in RequestStatus:
            want = _requests(before, status)
            if not want:
                raise _fail(rule, f"the snapshot holds no {status.value} request")
            _in_order(rule, f"all(status={status.value})", uow.requests.all(status=status), want)


def check_outbox_add(harness: AdapterHarness) -> None:
    """``outbox.add`` stores events and notices; ``get`` returns every message as stored."""
    rule = "Outbox.add stores the messages and Outbox.get returns them as stored"
    factory, before, host = _build(harness)
    added = host.records("outbox", _new_messages())
    _write_and_commit(factory, lambda uow: uow.outbox.add(added))
    expected = _evolve(before, outbox=(*before.outbox, *added))
    _same_state(rule, _snapshot(harness), expected)
    with factory() as uow:
        for message in expected.outbox:
            _same_records(rule, f"get({message.id!r})", [uow.outbox.get(message.id)], [message])
        _absent(rule, f"get({_UNKNOWN!r})", uow.outbox.get(_UNKNOWN))


def check_outbox_pending(harness: AdapterHarness) -> None:
    """``outbox.pending`` returns the pending messages, oldest first (instant, then id), limited."""
    rule = "Outbox.pending returns pending messages oldest first"
    factory, before, _host = _build(harness)
    pending = _pending(before)
    if len(pending) == len(before.outbox) or _ids(pending) == sorted(_ids(pending)):
        raise _fail(rule, "the snapshot lacks delivered messages, or pending ones out of id order")
    reference = InMemoryStore(before)
    with factory() as uow, reference.unit_of_work() as expected_uow:
        _in_order(rule, "pending()", uow.outbox.pending(), pending)
        for limit in (1, 3, 0, 100):
            label = f"pending(limit={limit})"
            got = list(uow.outbox.pending(limit=limit))
            _in_order(rule, label, got, pending[:limit])
            expected = expected_uow.outbox.pending(limit=limit)
            _equal(rule, label + " compared with the reference", _ids(got), _ids(expected))


def check_outbox_of_request(harness: AdapterHarness) -> None:
    """``outbox.of_request`` returns every message of a request, delivered or not, oldest first."""
    rule = "Outbox.of_request returns the request's messages oldest first"
    factory, before, _host = _build(harness)
    with factory() as uow:
        for request_id in ("rq4", "rq7", "rq1", _RQ_M1, _UNKNOWN):
            want = sorted(
                (m for m in before.outbox if m.request_id == request_id), key=_message_order
            )
            _in_order(rule, f"of_request({request_id!r})", uow.outbox.of_request(request_id), want)


def check_outbox_mark_delivered(harness: AdapterHarness) -> None:
    """``outbox.mark_delivered`` marks pending messages only, once, and returns their ids."""
    rule = "Outbox.mark_delivered marks the pending messages given, and keeps the first instant"
    factory, before, _host = _build(harness)
    pending = set(_ids(_pending(before)))
    asked = ["ob-04", _UNKNOWN, "ob-01", "ob-07", "ob-04"]
    want = [m for m in dict.fromkeys(asked) if m in pending]
    if want != ["ob-04", "ob-07"] or "ob-01" in pending:
        raise _fail(rule, "the snapshot's outbox is not that of the contract's dataset")
    done = _write_and_commit(factory, lambda uow: list(uow.outbox.mark_delivered(asked, _NOW)))
    label = "mark_delivered(['ob-04', unknown, 'ob-01' (delivered), 'ob-07', 'ob-04'])"
    _equal(rule, label, sorted(done), want)
    expected = _evolve(
        before,
        outbox=(attrs.evolve(m, delivered_at=_NOW) if m.id in want else m for m in before.outbox),
    )
    _same_state(rule, _snapshot(harness), expected)
    later = _NOW + dt.timedelta(hours=1)
    again = _write_and_commit(factory, lambda uow: list(uow.outbox.mark_delivered(want, later)))
    _equal(rule, "mark_delivered(['ob-04', 'ob-07']) a second time", again, [])
    _same_state(rule + " (a second time)", _snapshot(harness), expected)


def check_audit_anonymizations(harness: AdapterHarness) -> None:
    """``audit.anonymizations`` returns anonymization entries (no export) by id, paged."""
    rule = "AuditLog.anonymizations returns the anonymizations' entries by id, paged"
    factory, before, _host = _build(harness)
    entries = sorted((e for e in before.audit if e.is_anonymization), key=lambda e: e.id)
    ids = _ids(entries)
    exports = sorted(e.id for e in before.audit if not e.is_anonymization)
    if len(ids) < 2 or not any(ids[0] < x < ids[-1] for x in exports):
        raise _fail(rule, "the snapshot lacks exports between anonymizations")
    pages: tuple[tuple[str | None, int], ...] = (
        (None, 1),
        (ids[0], 1),
        (exports[0], 1000),
        (ids[-1], 10),
        (None, 0),
    )
    _check_pages(
        rule,
        factory,
        before,
        "anonymizations",
        lambda uow: uow.audit.anonymizations,
        entries,
        pages,
    )


# --------------------------------------------------------------------------- transactions


_OWN_REQUEST: Final = "contract-request-1"
"""The open request :func:`_write_everything` adds, then withdraws."""
_OWN_MESSAGE: Final = "contract-message-1"
"""The message :func:`_write_everything` adds, then marks delivered."""


def _write_everything(uow: UnitOfWork, host: _HostIds) -> None:
    """One call of every writing method, on m1 (and m3), and on new requests and messages."""
    batch = host.members([_M1, _M3])
    uow.members.replace_personal_data({m: generic_placeholder(m) for m in batch})
    uow.members.delete_photos(batch)
    uow.records.delete_log_entries(batch)
    uow.records.delete_documents(batch)
    uow.records.delete_measurements(batch)
    uow.records.delete_exercises(batch)
    uow.records.delete_notes(batch, note_types=None)
    uow.members.mark_anonymized(batch, _NOW)
    uow.reminders.add(host.records("reminders", _new_reminders()))
    uow.audit.add(host.records("audit", _new_audit()))
    added = host.records("erasure_requests", _new_requests())
    uow.requests.add(added)
    own = next(r for r in added if r.id == _OWN_REQUEST)
    uow.requests.update([own.withdrawn(at=_NOW, by=host.employee("e1"))])
    uow.outbox.add(host.records("outbox", _new_messages()))
    uow.outbox.mark_delivered([_OWN_MESSAGE], _NOW)


def check_reads_see_own_writes(harness: AdapterHarness) -> None:
    """Inside one unit of work, the readers see the unit's own uncommitted writes."""
    rule = "every repository of a unit works in the unit's one transaction"
    factory, before, host = _build(harness)
    m1 = host.member(_M1)
    with factory() as uow:
        _write_everything(uow, host)
        member = uow.members.get(m1)
        if member is None or member.personal != generic_placeholder(m1) or member.photo is not None:
            raise _fail(rule, "members.get('m1') does not show the unit's own changes")
        facts = uow.facts.load_facts([m1]).get(m1)
        if facts is None or facts.member.anonymized_at != _NOW:
            raise _fail(rule, "load_facts(['m1']) does not show the unit's own changes")
        for method, collection in _PROFILE:
            if collection in ("visits", "class_bookings"):
                continue
            left = list(getattr(uow.profile, method)(m1))
            _equal(rule, f"profile.{method}('m1') after deleting them", [r.id for r in left], [])
        request = uow.requests.get(_OWN_REQUEST)
        if request is None or request.status is not RequestStatus.WITHDRAWN:
            raise _fail(
                rule, f"requests.get({_OWN_REQUEST!r}) does not show the unit's own changes"
            )
        message = uow.outbox.get(_OWN_MESSAGE)
        if message is None or message.delivered_at != _NOW:
            raise _fail(rule, f"outbox.get({_OWN_MESSAGE!r}) does not show the unit's own changes")
        entries = _ids(uow.audit.anonymizations())
        if "contract-audit-1" not in entries:
            raise _fail(rule, "audit.anonymizations() does not show the unit's own entries")
    _same_state(rule + " and rolls it back without commit", _snapshot(harness), before)


def check_unit_without_commit_changes_nothing(harness: AdapterHarness) -> None:
    """A unit of work left without ``commit()`` changes nothing."""
    rule = "a unit of work left without commit changes nothing"
    factory, before, host = _build(harness)
    m1 = host.member(_M1)
    with factory() as uow:
        _write_everything(uow, host)
    _same_state(rule, _snapshot(harness), before)
    with factory() as uow:
        _same_records(
            rule,
            "members.get('m1') in the next unit",
            [uow.members.get(m1)],
            [_member(before, m1)],
        )


class _Boom(Exception):
    """The failure the contract raises inside a unit of work."""


def check_exception_in_unit_changes_nothing(harness: AdapterHarness) -> None:
    """An exception inside a unit of work propagates and changes nothing."""
    rule = "an exception inside a unit of work changes nothing and is not swallowed"
    factory, before, host = _build(harness)
    try:
        with factory() as uow:
            _write_everything(uow, host)
            raise _Boom("contract failure")
    except _Boom:
        pass
    else:
        raise _fail(rule, "the unit of work swallowed the exception")
    _same_state(rule, _snapshot(harness), before)


def check_rollback_discards_changes(harness: AdapterHarness) -> None:
    """``rollback()`` discards the unit's changes; the unit then reads the committed state."""
    rule = "UnitOfWork.rollback discards every change of the unit"
    factory, before, host = _build(harness)
    m1 = host.member(_M1)
    with factory() as uow:
        _write_everything(uow, host)
        uow.rollback()
        _same_records(
            rule, "members.get('m1') after rollback", [uow.members.get(m1)], [_member(before, m1)]
        )
        _same_records(
            rule,
            "profile.log_entries_of('m1') after rollback",
            list(uow.profile.log_entries_of(m1)),
            _of(before, "log_entries", m1),
        )
        _absent(
            rule, f"requests.get({_OWN_REQUEST!r}) after rollback", uow.requests.get(_OWN_REQUEST)
        )
        _same_records(
            rule, "outbox.pending() after rollback", uow.outbox.pending(), _pending(before)
        )
    _same_state(rule, _snapshot(harness), before)


def _use_again(uow: UnitOfWork, before: Dataset, m1: MemberId, m3: MemberId, m4: MemberId) -> None:
    """Write and commit, read and write again, commit again, write once more."""
    rule = "a unit of work used again after its commit begins anew"
    uow.members.mark_anonymized([m1], _NOW)
    uow.commit()
    marked = attrs.evolve(_member(before, m1), anonymized_at=_NOW)
    _same_records(rule, "members.get(m1) after the commit", [uow.members.get(m1)], [marked])
    uow.members.mark_anonymized([m3], _NOW)
    uow.commit()
    uow.members.mark_anonymized([m4], _NOW)


def check_unit_used_again_after_commit(harness: AdapterHarness) -> None:
    """A unit that commits and is then used again keeps the commit; later changes need their own."""
    rule = "a unit of work used again after its commit begins anew, and its commits do not fail"
    factory, before, host = _build(harness)
    m1, m3, m4 = host.members([_M1, _M3, "m4"])
    try:
        with factory() as uow:
            _use_again(uow, before, m1, m3, m4)
    except ContractViolation:
        raise
    except Exception as error:  # its text may hold values: named by its type only
        raise _fail(
            rule, f"committing, using the unit again and leaving it raised {type(error).__name__}"
        ) from error
    marked = (m1, m3)
    expected = _with_members(
        before, lambda m: attrs.evolve(m, anonymized_at=_NOW) if m.id in marked else None
    )
    _same_state(
        rule + " (the third change, left without commit, is discarded)",
        _snapshot(harness),
        expected,
    )


def _same_files(rule: str, label: str, got: Collection[str], want: Collection[str]) -> None:
    """The same stored files; reported by their numbers only (names may hold values)."""
    got, want = set(got), set(want)
    if got != want:
        raise _fail(
            rule,
            f"{label}: {len(want - got)} of the {len(want)} stored files are gone, "
            f"{len(got - want)} new",
        )


def check_files_deleted_only_after_commit(harness: AdapterHarness) -> None:
    """Stored files of photos and documents go with the commit only; a rollback keeps them.

    Needs the harness's optional ``stored_files()`` hook; skipped without it.
    """
    rule = "the files of deleted photos and documents are deleted after the commit, not before"
    stored_files = getattr(harness, "stored_files", None)
    if stored_files is None:
        raise CheckSkipped("the harness has no stored_files() hook")
    factory, before, host = _build(harness)
    m1, e1 = host.member(_M1), host.employee("e1")
    files = set(stored_files())
    owned = (_member(before, m1).photo is not None) + len(_of(before, "documents", m1))
    if len(files) < owned or not owned:
        raise _fail(rule, "stored_files() lists fewer files than m1's photo and documents")
    with factory() as uow:
        uow.members.delete_photos([m1])
        uow.records.delete_documents([m1])
        _same_files(rule, "before the commit", stored_files(), files)
        uow.rollback()
        _same_files(rule, "after rollback()", stored_files(), files)
    injector = FaultInjector(factory)
    injector.fail_on("uow.commit")
    try:
        _anonymize(injector, m1, e1)
    except InjectedFailure:
        pass
    else:
        raise _fail(rule, "anonymize(m1) did not commit")
    _same_files(rule, "after an anonymization whose commit failed", stored_files(), files)
    _same_state(rule + " (the commit failed)", _snapshot(harness), before)
    if not isinstance(_anonymize(factory, m1, e1), Anonymized):
        raise _fail(rule, "anonymize(m1) was not anonymized")
    left = set(stored_files())
    gone = len(files - left)
    if left - files or gone < owned:
        raise _fail(
            rule,
            f"after the anonymization's commit, {gone} stored files are gone, "
            f"expected at least {owned} (m1's photo and documents)",
        )


# --------------------------------------------------------------------------- services


def _anonymize(factory: Callable[[], Any], member_id: MemberId, actor: str) -> AnonymizationResult:
    anonymizer = Anonymizer(factory, clock=FixedClock(_NOW), options=_options())
    return anonymizer.anonymize(member_id, actor=actor, as_of=_AS_OF)


def check_anonymization_matches_reference(harness: AdapterHarness) -> None:
    """A full anonymization ends as in the reference; invoices and receipts stay unchanged."""
    rule = "an anonymization through the Anonymizer leaves the reference's end state"
    factory, before, host = _build(harness)
    m1 = host.member(_M1)
    e1 = host.employee("e1")
    result = _anonymize(factory, m1, e1)
    if not isinstance(result, Anonymized):
        raise _fail(rule, f"anonymize('m1') was {result.status}, expected anonymized")
    reference = InMemoryStore(before)
    _equal(rule, "anonymize('m1')", result, _anonymize(reference.unit_of_work, m1, e1))
    after = _snapshot(harness)
    _same_state(rule, after, reference.snapshot())
    _same_records(rule, "invoices after anonymization", after.invoices, before.invoices)
    _same_records(rule, "receipts after anonymization", after.receipts, before.receipts)
    with factory() as uow:
        _same_records(
            rule,
            "accounting.invoices_of('m1') after anonymization",
            list(uow.accounting.invoices_of(m1)),
            _of(before, "invoices", m1),
        )
    member = _member(after, m1)
    if member.personal != generic_placeholder(m1) or member.photo is not None:
        raise _fail(rule, "m1 keeps personal data or a photo")


def check_refused_anonymization_changes_nothing(harness: AdapterHarness) -> None:
    """A refused anonymization, or one by an actor without the permission, changes nothing."""
    rule = "a refused anonymization changes nothing"
    factory, before, host = _build(harness)
    m1, m2 = host.members([_M1, _M2])
    e1 = host.employee("e1")
    e3 = host.employee("e3")
    refused = _anonymize(factory, m2, e1)
    if not isinstance(refused, Refused):
        raise _fail(rule, f"anonymize('m2') was {refused.status}, expected refused")
    codes = sorted(b.code for b in refused.blockers)
    _equal(
        rule,
        "the blockers of m2",
        codes,
        ["active_contract", "open_collection_case", "wallet_funds"],
    )
    _same_state(rule, _snapshot(harness), before)
    if not isinstance(_anonymize(factory, m1, e3), NotPermitted):
        raise _fail(rule, "anonymize('m1') by e3 (no permission) was not refused")
    _same_state(rule + " (actor without the permission)", _snapshot(harness), before)


_MAX_CALLS: Final = 200


def check_failure_at_any_call_changes_nothing(harness: AdapterHarness) -> None:
    """A failure at any repository call (or the commit) of an anonymization changes nothing."""
    rule = "an anonymization that fails at any call changes nothing"
    factory, before, host = _build(harness)
    m1 = host.member(_M1)
    e1 = host.employee("e1")
    injector = FaultInjector(factory)
    for k in range(1, _MAX_CALLS):
        start = len(injector.calls)
        injector.fail_on_call(k)
        try:
            result = _anonymize(injector, m1, e1)
        except InjectedFailure:
            failed_at = injector.calls[start + k - 1]
            _same_state(f"{rule} (failure at call {k}, {failed_at})", _snapshot(harness), before)
            continue
        injector.heal()
        made = len(injector.calls) - start
        if made != k - 1:
            raise _fail(rule, f"the run made {made} calls, but only {k - 1} failed in turn")
        if not isinstance(result, Anonymized):
            raise _fail(rule, f"anonymize('m1') was {result.status} once no call failed")
        reference = InMemoryStore(before)
        _anonymize(reference.unit_of_work, m1, e1)
        _same_state(rule + " (and then succeeds)", _snapshot(harness), reference.snapshot())
        return
    raise _fail(rule, f"an anonymization made more than {_MAX_CALLS} calls")


def _sweep(factory: Callable[[], Any]) -> SweepReport:
    sweep = RetentionSweep(factory, clock=FixedClock(_NOW), options=_options(), batch_size=2)
    return sweep.run(as_of=_AS_OF)


def check_retention_sweep_matches_reference(harness: AdapterHarness) -> None:
    """A retention sweep in batches ends as in the reference, with the same report."""
    rule = "a retention sweep leaves the reference's end state"
    factory, before, host = _build(harness)
    order = _host_order(rule, factory, host)
    report = _sweep(factory)
    reference = InMemoryStore(before)
    expected = _sweep(lambda: _InHostOrder(reference.unit_of_work(), order))
    anonymized = sorted(report.anonymized)
    want = sorted(host.members(["m1", "m3", "m4", "m6"]))
    _equal(rule, "the anonymized members", anonymized, want)
    skipped = sorted((m.member_id, m.codes) for m in report.skipped)
    expected_skips = sorted(
        [
            (host.member("m10"), ("processing_restricted",)),
            (host.member("m8"), ("open_collection_case",)),
        ]
    )
    _equal(rule, "the skipped members", skipped, expected_skips)
    _equal(rule, "the sweep report", report, expected)
    after = _snapshot(harness)
    _same_state(rule, after, reference.snapshot())
    _same_records(rule, "invoices after the sweep", after.invoices, before.invoices)
    _same_records(rule, "receipts after the sweep", after.receipts, before.receipts)


def _new_since(before: Dataset, after: Dataset, collection: str) -> list[Any]:
    """The records of ``collection`` in ``after`` whose ids ``before`` does not hold."""
    old = set(_ids(getattr(before, collection)))
    return [r for r in getattr(after, collection) if r.id not in old]


def check_anonymization_completes_open_request(harness: AdapterHarness) -> None:
    """An anonymization completes the member's open request and writes one event, in its unit."""
    rule = "an anonymization completes the open request and writes one event in its unit of work"
    factory, before, host = _build(harness)
    m1 = host.member(_M1)
    e1 = host.employee("e1")
    request = _find(before, "erasure_requests", _RQ_M1)
    if not request.is_open or request.member_id != m1:
        raise _fail(rule, f"the snapshot's {_RQ_M1} is not m1's open request")
    injector = FaultInjector(factory)
    injector.fail_on("outbox.add")
    try:
        _anonymize(injector, m1, e1)
    except InjectedFailure:
        pass
    else:
        raise _fail(rule, "anonymize('m1') never wrote to the outbox")
    _same_state(rule + " (a failure at outbox.add changes nothing)", _snapshot(harness), before)
    result = _anonymize(factory, m1, e1)
    if not isinstance(result, Anonymized):
        raise _fail(rule, f"anonymize('m1') was {result.status}, expected anonymized")
    reference = InMemoryStore(before)
    _anonymize(reference.unit_of_work, m1, e1)
    after = _snapshot(harness)
    _same_state(rule, after, reference.snapshot())
    entries = _new_since(before, after, "audit")
    _equal(rule, "the new audit entries' members", [e.member_id for e in entries], [m1])
    completed = _find(after, "erasure_requests", _RQ_M1)
    if completed.status is not RequestStatus.COMPLETED or completed.audit_entry_id != entries[0].id:
        raise _fail(rule, f"erasure_requests: {_RQ_M1} is not completed by the new audit entry")
    events = [
        (m.member_id, m.request_id)
        for m in _new_since(before, after, "outbox")
        if m.kind is OutboxKind.MEMBER_ANONYMIZED
    ]
    _equal(rule, "the new member_anonymized events (member, request)", events, [(m1, _RQ_M1)])
    with factory() as uow:
        _equal(
            rule,
            "requests.open_for(['m1']) keys afterwards",
            list(uow.requests.open_for([m1])),
            [],
        )


def _process(factory: Callable[[], Any], *, batch_size: int = 2) -> ProcessReport:
    processor = RequestProcessor(
        factory, clock=FixedClock(_NOW), options=_options(), batch_size=batch_size
    )
    return processor.run(as_of=_AS_OF)


def check_request_processing_matches_reference(harness: AdapterHarness) -> None:
    """A processing run of erasure requests in batches ends as in the reference, same report."""
    rule = "a processing run of erasure requests leaves the reference's end state"
    factory, before, _host = _build(harness)
    report = _process(factory)
    reference = InMemoryStore(before)
    expected = _process(reference.unit_of_work)
    _equal(rule, "the completed requests", report.completed, (_RQ_M1, "rq6"))
    still_open = [o.request_id for o in report.still_open]
    _equal(rule, "the requests left open", still_open, ["rq10", "rq4", "rq5"])
    _equal(rule, "the processing report", report, expected)
    after = _snapshot(harness)
    _same_state(rule, after, reference.snapshot())
    _same_records(rule, "invoices after the run", after.invoices, before.invoices)
    _same_records(rule, "receipts after the run", after.receipts, before.receipts)


_ONE_BATCH: Final = 100
"""A batch size that takes every open request of the contract's dataset at once."""


def _down_from(injector: FaultInjector, k: int) -> Callable[[], Any]:
    """A factory whose store fails at the ``k``-th call, and opens no unit after that."""
    injector.fail_on_call(k)
    failing = len(injector.calls) + k

    def unit() -> Any:
        if len(injector.calls) >= failing:
            raise InjectedFailure("injected failure: the store is down")
        return injector()

    return unit


def _outcome(factory: Callable[[], Any]) -> ProcessReport | str:
    """The run's report, or ``"failed"`` when the injected failure reached the caller."""
    try:
        return _process(factory, batch_size=_ONE_BATCH)
    except InjectedFailure:
        return "failed"


def check_failure_at_any_call_of_a_processing_run(harness: AdapterHarness) -> None:
    """A processing run whose store fails at any call changes nothing; a retried one completes."""
    rule = "a processing run that fails at any call changes nothing, and retries to the end"
    factory, before, _host = _build(harness)
    counted = FaultInjector(InMemoryStore(before).unit_of_work)
    _process(counted, batch_size=_ONE_BATCH)
    calls = list(counted.calls)
    injector = FaultInjector(factory)
    for k, name in enumerate(calls, start=1):
        outcome = _outcome(_down_from(injector, k))
        injector.heal()
        expected = _outcome(_down_from(FaultInjector(InMemoryStore(before).unit_of_work), k))
        label = f"the store down from call {k}, {name}"
        _same_state(f"{rule} ({label})", _snapshot(harness), before)
        _equal(rule, f"the run with {label}", outcome, expected)
    # One failed call (the last: the batch's commit): the run retries each request alone.
    injector.fail_on_call(len(calls))
    report = _process(injector, batch_size=_ONE_BATCH)
    injector.heal()
    reference = InMemoryStore(before)
    retried = FaultInjector(reference.unit_of_work)
    retried.fail_on_call(len(calls))
    expected_report = _process(retried, batch_size=_ONE_BATCH)
    label = f"one failure at call {len(calls)}, {calls[-1]}"
    _equal(rule, f"the run with {label}", report, expected_report)
    if not report.completed or report.errors:
        raise _fail(rule, f"the run with {label} did not complete its requests one by one")
    _same_state(f"{rule} ({label})", _snapshot(harness), reference.snapshot())

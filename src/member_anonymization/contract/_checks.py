"""The contract checks: one function per rule of the repository protocols.

Each ``check_x`` builds a fresh store with :func:`contract_dataset` through the
harness, runs one operation and compares the outcome with the snapshots (and,
for whole anonymizations and sweeps, with the in-memory reference).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
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
    _counts,
    _equal,
    _evolve,
    _fail,
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
    _UNKNOWN,
    _new_audit,
    _new_reminders,
    contract_dataset,
)
from member_anonymization.domain import ClubId, MemberId, NoteType, PersonalData
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork
from member_anonymization.retention import RetentionSweep, SweepReport
from member_anonymization.serialization import Dataset
from member_anonymization.testing import FaultInjector, FixedClock, InjectedFailure, InMemoryStore

if TYPE_CHECKING:
    from member_anonymization.contract import AdapterHarness

__all__ = [
    "check_accounting_reader",
    "check_anonymization_matches_reference",
    "check_audit_add",
    "check_clubs_reader",
    "check_delete_documents",
    "check_delete_exercises",
    "check_delete_log_entries",
    "check_delete_measurements",
    "check_delete_notes_of_every_type",
    "check_delete_notes_of_given_types",
    "check_delete_photos",
    "check_due_members",
    "check_due_members_paging",
    "check_employees_reader",
    "check_exception_in_unit_changes_nothing",
    "check_failure_at_any_call_changes_nothing",
    "check_load_facts_returns_network_wide_records",
    "check_lock_returns_existing_ids",
    "check_mark_anonymized",
    "check_member_get",
    "check_profile_reader",
    "check_reads_see_own_writes",
    "check_refused_anonymization_changes_nothing",
    "check_reminders_add",
    "check_replace_personal_data",
    "check_retention_sweep_matches_reference",
    "check_rollback_discards_changes",
    "check_unit_without_commit_changes_nothing",
]


def _build(harness: AdapterHarness) -> tuple[Callable[[], UnitOfWork], Dataset]:
    factory = harness.build(contract_dataset())
    return factory, harness.snapshot().sorted()


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
    factory, before = _build(harness)
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
    factory, before = _build(harness)
    with factory() as uow:
        for employee in before.employees:
            _same_records(
                rule, f"get({employee.id!r})", [uow.employees.get(employee.id)], [employee]
            )
        _equal(rule, f"get({_UNKNOWN!r})", uow.employees.get(_UNKNOWN), None)
        _equal(rule, f"get({_M1!r}) of a member", uow.employees.get(_M1), None)


def check_member_get(harness: AdapterHarness) -> None:
    """``members.get`` returns each member as stored, and ``None`` for an unknown id."""
    rule = "MemberRepository.get returns the member as stored, or None"
    factory, before = _build(harness)
    with factory() as uow:
        for member in before.members:
            _same_records(rule, f"get({member.id!r})", [uow.members.get(member.id)], [member])
        _equal(rule, f"get({_UNKNOWN!r})", uow.members.get(_UNKNOWN), None)
        _equal(rule, "get('e1') of an employee", uow.members.get("e1"), None)
    _same_state(rule + " and changes nothing", _snapshot(harness), before)


def check_lock_returns_existing_ids(harness: AdapterHarness) -> None:
    """``members.lock`` returns the ids that exist (each once), and changes nothing."""
    rule = "MemberRepository.lock returns the existing ids"
    factory, before = _build(harness)
    with factory() as uow:
        locked = list(uow.members.lock([_M2, _UNKNOWN, _M1, "e1"]))
        _equal(rule, "lock(['m2', unknown, 'm1', 'e1'])", sorted(locked), [_M1, _M2])
        skipping = list(uow.members.lock([_M3, _UNKNOWN], skip_locked=True))
        _equal(rule, "lock(['m3', unknown], skip_locked=True)", skipping, [_M3])
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
    factory, before = _build(harness)
    asked = [_M1, _UNKNOWN, _M2, "m6"]
    with factory() as uow:
        facts = dict(uow.facts.load_facts(asked))
        empty = dict(uow.facts.load_facts([_UNKNOWN]))
    _equal(rule, "load_facts([unknown]) keys", sorted(empty), [])
    _equal(rule, "load_facts keys", sorted(facts), sorted([_M1, _M2, "m6"]))
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
    clubs = sorted({c.club_id for c in facts[_M1].contracts})
    _equal(rule, "the clubs of m1's contracts", clubs, ["c1", "c2"])


def check_accounting_reader(harness: AdapterHarness) -> None:
    """``accounting.invoices_of`` and ``receipts_of`` return the member's records, as issued."""
    rule = "AccountingReader returns the member's invoices and receipts, exactly as issued"
    factory, before = _build(harness)
    with factory() as uow:
        for member_id in (_M1, _M2, _M3, _UNKNOWN):
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
    factory, before = _build(harness)
    with factory() as uow:
        for method, collection in _PROFILE:
            read = getattr(uow.profile, method)
            for member_id in (_M1, _M2, _M3, _UNKNOWN):
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
    factory, before = _build(harness)
    replacements = {
        _M1: PersonalData(first_name="Anonymized", last_name="Member 1A2B3C"),
        _M3: PersonalData(
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
    factory, before = _build(harness)
    batch = [_M1, _M3]
    counts = _write_and_commit(factory, lambda uow: uow.members.delete_photos(batch))
    _equal(
        rule, "delete_photos(['m1', 'm3'])", _counts(rule, "delete_photos", counts, batch), {_M1: 1}
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
    factory, before = _build(harness)
    batch = [_M1, _M3]
    gone = [r for r in getattr(before, collection) if r.member_id in batch and deleted(r)]
    if not gone:
        raise _fail(rule, f"the snapshot holds no {collection} of m1 to delete")
    counts = _write_and_commit(factory, lambda uow: delete(uow, batch))
    _equal(rule, f"{method}(['m1', 'm3'])", _counts(rule, method, counts, batch), {_M1: len(gone)})
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
    factory, before = _build(harness)
    batch = [_M1, _M3]
    _write_and_commit(factory, lambda uow: uow.members.mark_anonymized(batch, _NOW))
    expected = _with_members(
        before, lambda m: attrs.evolve(m, anonymized_at=_NOW) if m.id in batch else None
    )
    _same_state(rule, _snapshot(harness), expected)


def check_reminders_add(harness: AdapterHarness) -> None:
    """``reminders.add`` stores the reminders, every field as given."""
    rule = "ReminderWriter.add stores the reminders"
    factory, before = _build(harness)
    added = _new_reminders()
    _write_and_commit(factory, lambda uow: uow.reminders.add(added))
    _same_state(rule, _snapshot(harness), _evolve(before, reminders=(*before.reminders, *added)))


def check_audit_add(harness: AdapterHarness) -> None:
    """``audit.add`` stores the entries: actor, instant, mode, action and every count."""
    rule = "AuditLog.add stores the entries"
    factory, before = _build(harness)
    added = _new_audit()
    _write_and_commit(factory, lambda uow: uow.audit.add(added))
    _same_state(rule, _snapshot(harness), _evolve(before, audit=(*before.audit, *added)))


def _reference_due(
    before: Dataset, thresholds: Mapping[ClubId, dt.date], after: MemberId | None, limit: int
) -> list[MemberId]:
    with InMemoryStore(before).unit_of_work() as uow:
        return list(uow.retention.due_members(thresholds=thresholds, after=after, limit=limit))


def check_due_members(harness: AdapterHarness) -> None:
    """``retention.due_members`` finds the due members by last contract end, ordered by id."""
    rule = "RetentionReader.due_members returns the due members, ordered by id"
    factory, before = _build(harness)
    with factory() as uow:
        for label, thresholds, expected in _DUE_CASES:
            got = list(uow.retention.due_members(thresholds=thresholds))
            _equal(rule, f"due_members ({label})", got, expected)
            reference = _reference_due(before, thresholds, None, 1000)
            _equal(rule, f"due_members ({label}) compared with the reference", got, reference)


def check_due_members_paging(harness: AdapterHarness) -> None:
    """``retention.due_members`` pages with ``after`` (ids greater than it) and ``limit``."""
    rule = "RetentionReader.due_members pages with after and limit"
    factory, before = _build(harness)
    every = {"c1": _DISTANT, "c2": _DISTANT, "c3": _DISTANT}
    pages: tuple[tuple[MemberId | None, int, list[MemberId]], ...] = (
        (None, 3, ["m1", "m10", "m3"]),
        ("m3", 3, ["m4", "m6", "m7"]),
        ("m7", 3, ["m8", "m9"]),
        ("m35", 1000, ["m4", "m6", "m7", "m8", "m9"]),
        ("m9", 3, []),
        (None, 0, []),
    )
    with factory() as uow:
        for after, limit, expected in pages:
            got = list(uow.retention.due_members(thresholds=every, after=after, limit=limit))
            label = f"due_members(after={after!r}, limit={limit})"
            _equal(rule, label, got, expected)
            _equal(
                rule,
                label + " compared with the reference",
                got,
                _reference_due(before, every, after, limit),
            )


# --------------------------------------------------------------------------- transactions


def _write_everything(uow: UnitOfWork) -> None:
    """One call of every writing method, on m1 (and m3)."""
    batch = [_M1, _M3]
    uow.members.replace_personal_data({m: generic_placeholder(m) for m in batch})
    uow.members.delete_photos(batch)
    uow.records.delete_log_entries(batch)
    uow.records.delete_documents(batch)
    uow.records.delete_measurements(batch)
    uow.records.delete_exercises(batch)
    uow.records.delete_notes(batch, note_types=None)
    uow.members.mark_anonymized(batch, _NOW)
    uow.reminders.add(_new_reminders())
    uow.audit.add(_new_audit())


def check_reads_see_own_writes(harness: AdapterHarness) -> None:
    """Inside one unit of work, the readers see the unit's own uncommitted writes."""
    rule = "every repository of a unit works in the unit's one transaction"
    factory, before = _build(harness)
    with factory() as uow:
        _write_everything(uow)
        member = uow.members.get(_M1)
        if (
            member is None
            or member.personal != generic_placeholder(_M1)
            or member.photo is not None
        ):
            raise _fail(rule, "members.get('m1') does not show the unit's own changes")
        facts = uow.facts.load_facts([_M1]).get(_M1)
        if facts is None or facts.member.anonymized_at != _NOW:
            raise _fail(rule, "load_facts(['m1']) does not show the unit's own changes")
        for method, collection in _PROFILE:
            if collection in ("visits", "class_bookings"):
                continue
            left = list(getattr(uow.profile, method)(_M1))
            _equal(rule, f"profile.{method}('m1') after deleting them", [r.id for r in left], [])
    _same_state(rule + " and rolls it back without commit", _snapshot(harness), before)


def check_unit_without_commit_changes_nothing(harness: AdapterHarness) -> None:
    """A unit of work left without ``commit()`` changes nothing."""
    rule = "a unit of work left without commit changes nothing"
    factory, before = _build(harness)
    with factory() as uow:
        _write_everything(uow)
    _same_state(rule, _snapshot(harness), before)
    with factory() as uow:
        _same_records(
            rule,
            "members.get('m1') in the next unit",
            [uow.members.get(_M1)],
            [_member(before, _M1)],
        )


class _Boom(Exception):
    """The failure the contract raises inside a unit of work."""


def check_exception_in_unit_changes_nothing(harness: AdapterHarness) -> None:
    """An exception inside a unit of work propagates and changes nothing."""
    rule = "an exception inside a unit of work changes nothing and is not swallowed"
    factory, before = _build(harness)
    try:
        with factory() as uow:
            _write_everything(uow)
            raise _Boom("contract failure")
    except _Boom:
        pass
    else:
        raise _fail(rule, "the unit of work swallowed the exception")
    _same_state(rule, _snapshot(harness), before)


def check_rollback_discards_changes(harness: AdapterHarness) -> None:
    """``rollback()`` discards the unit's changes; the unit then reads the committed state."""
    rule = "UnitOfWork.rollback discards every change of the unit"
    factory, before = _build(harness)
    with factory() as uow:
        _write_everything(uow)
        uow.rollback()
        _same_records(
            rule, "members.get('m1') after rollback", [uow.members.get(_M1)], [_member(before, _M1)]
        )
        _same_records(
            rule,
            "profile.log_entries_of('m1') after rollback",
            list(uow.profile.log_entries_of(_M1)),
            _of(before, "log_entries", _M1),
        )
    _same_state(rule, _snapshot(harness), before)


# --------------------------------------------------------------------------- services


def _anonymize(factory: Callable[[], Any], member_id: MemberId, actor: str) -> AnonymizationResult:
    anonymizer = Anonymizer(factory, clock=FixedClock(_NOW), options=_options())
    return anonymizer.anonymize(member_id, actor=actor, as_of=_AS_OF)


def check_anonymization_matches_reference(harness: AdapterHarness) -> None:
    """A full anonymization ends as in the reference; invoices and receipts stay unchanged."""
    rule = "an anonymization through the Anonymizer leaves the reference's end state"
    factory, before = _build(harness)
    result = _anonymize(factory, _M1, "e1")
    if not isinstance(result, Anonymized):
        raise _fail(rule, f"anonymize('m1') was {result.status}, expected anonymized")
    reference = InMemoryStore(before)
    _equal(rule, "anonymize('m1')", result, _anonymize(reference.unit_of_work, _M1, "e1"))
    after = _snapshot(harness)
    _same_state(rule, after, reference.snapshot())
    _same_records(rule, "invoices after anonymization", after.invoices, before.invoices)
    _same_records(rule, "receipts after anonymization", after.receipts, before.receipts)
    with factory() as uow:
        _same_records(
            rule,
            "accounting.invoices_of('m1') after anonymization",
            list(uow.accounting.invoices_of(_M1)),
            _of(before, "invoices", _M1),
        )
    member = _member(after, _M1)
    if member.personal != generic_placeholder(_M1) or member.photo is not None:
        raise _fail(rule, "m1 keeps personal data or a photo")


def check_refused_anonymization_changes_nothing(harness: AdapterHarness) -> None:
    """A refused anonymization, or one by an actor without the permission, changes nothing."""
    rule = "a refused anonymization changes nothing"
    factory, before = _build(harness)
    refused = _anonymize(factory, _M2, "e1")
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
    if not isinstance(_anonymize(factory, _M1, "e3"), NotPermitted):
        raise _fail(rule, "anonymize('m1') by e3 (no permission) was not refused")
    _same_state(rule + " (actor without the permission)", _snapshot(harness), before)


_MAX_CALLS: Final = 200


def check_failure_at_any_call_changes_nothing(harness: AdapterHarness) -> None:
    """A failure at any repository call (or the commit) of an anonymization changes nothing."""
    rule = "an anonymization that fails at any call changes nothing"
    factory, before = _build(harness)
    injector = FaultInjector(factory)
    for k in range(1, _MAX_CALLS):
        start = len(injector.calls)
        injector.fail_on_call(k)
        try:
            result = _anonymize(injector, _M1, "e1")
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
        _anonymize(reference.unit_of_work, _M1, "e1")
        _same_state(rule + " (and then succeeds)", _snapshot(harness), reference.snapshot())
        return
    raise _fail(rule, f"an anonymization made more than {_MAX_CALLS} calls")


def _sweep(factory: Callable[[], Any]) -> SweepReport:
    sweep = RetentionSweep(factory, clock=FixedClock(_NOW), options=_options(), batch_size=2)
    return sweep.run(as_of=_AS_OF)


def check_retention_sweep_matches_reference(harness: AdapterHarness) -> None:
    """A retention sweep in batches ends as in the reference, with the same report."""
    rule = "a retention sweep leaves the reference's end state"
    factory, before = _build(harness)
    report = _sweep(factory)
    reference = InMemoryStore(before)
    expected = _sweep(reference.unit_of_work)
    _equal(rule, "the anonymized members", report.anonymized, ("m1", "m3", "m4", "m6"))
    skipped = [(m.member_id, m.codes) for m in report.skipped]
    expected_skips = [("m10", ("processing_restricted",)), ("m8", ("open_collection_case",))]
    _equal(rule, "the skipped members", skipped, expected_skips)
    _equal(rule, "the sweep report", report, expected)
    after = _snapshot(harness)
    _same_state(rule, after, reference.snapshot())
    _same_records(rule, "invoices after the sweep", after.invoices, before.invoices)
    _same_records(rule, "receipts after the sweep", after.receipts, before.receipts)

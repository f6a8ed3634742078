"""Anonymizer.check and Anonymizer.anonymize, through every store backend."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from member_anonymization import (
    AnonymizationOptions,
    Anonymized,
    Anonymizer,
    NotPermitted,
    Refused,
    UnknownEmployeeError,
    UnknownMemberError,
    generic_placeholder,
    random_placeholder,
)
from member_anonymization.domain import (
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    Member,
    NoteType,
    Permission,
    PersonalData,
    RemovalCounts,
    Wallet,
)
from member_anonymization.serialization import COLLECTIONS, Dataset, converter
from member_anonymization.testing import (
    FaultInjector,
    FixedClock,
    InjectedFailure,
    InMemoryStore,
)
from tests import builders as b
from tests.backends import MakeStore, Store

NOW = b.NOON_UTC
"""The clock's instant: noon UTC on 2026-11-27, the same day in Warsaw."""

OTHER_PERSONAL = b.personal(
    first_name="Henryka",
    last_name="Wolska",
    email="henryka.wolska@example.org",
    phone="+48500400300",
    birth_date=dt.date(1985, 1, 1),
    national_id="85010154321",
    address=b.address(street="Krótka 1", postal_code="31-001", city="Kraków"),
)

READ_CALLS = frozenset(
    {"employees.get", "members.get", "members.lock", "facts.load_facts", "clubs.network_clubs"}
)
"""Repository calls that change nothing."""


def profile_dataset(*extra: Any) -> Dataset:
    """Two clubs without debt collection, two employees, m1 with warnings, and m2.

    m1 has one record of every kind, an overdue installment in c1 (``arrears``)
    and an unpaid purchase in c2 (``unpaid_purchases``). m2 is a bystander
    whose data must never change. e1 may anonymize; e2 may only export.
    """
    return b.dataset(
        b.club("c1", uses_debt_collection=False),
        b.club("c2", uses_debt_collection=False),
        b.employee("e1"),
        b.employee("e2", permissions=[Permission.EXPORT_MEMBER_DATA]),
        b.member("m1"),
        b.member("m2", personal_data=OTHER_PERSONAL),
        *b.profile_records("m1"),
        b.installment("i-due", club_id="c1", due_on=dt.date(2026, 10, 10), amount="129.00"),
        b.purchase("p-unpaid", club_id="c2", amount="4.00"),
        *b.profile_records("m2"),
        *extra,
    )


def anonymizer(store: Store, **options: Any) -> Anonymizer:
    """An anonymizer over ``store`` with the fixed clock and the given options."""
    return Anonymizer(
        store.unit_of_work, clock=FixedClock(NOW), options=AnonymizationOptions(**options)
    )


def member_of(data: Dataset, member_id: str) -> Member:
    """The member with that id in a snapshot."""
    (found,) = [m for m in data.members if m.id == member_id]
    return found


def records_of(data: Dataset, collection: str, member_id: str) -> tuple[Any, ...]:
    """The records of one member in one collection of a snapshot."""
    return tuple(r for r in getattr(data, collection) if r.member_id == member_id)


def as_json(record: Any) -> str:
    """A record in its dataset shape, as JSON text (personal values searchable)."""
    return json.dumps(converter.unstructure(record, type(record)), ensure_ascii=False)


def assert_no_personal_value(text: str) -> None:
    """None of the default member's personal values appear in ``text``."""
    for value in b.PERSONAL_VALUES:
        assert value not in text, f"{value!r} found"


# -- check -----------------------------------------------------------------------------------


def test_check_changes_nothing(make_store: MakeStore) -> None:
    """Checking reports blockers and warnings and leaves the store as it was."""
    store = make_store(profile_dataset(b.wallet("1.00", member_id="m3"), b.member("m3")))
    before = store.snapshot()
    injector = FaultInjector(store.unit_of_work)
    clock = FixedClock(NOW)
    m1 = Anonymizer(injector, clock=clock).check("m1")
    m3 = Anonymizer(injector, clock=clock).check("m3")
    assert m1.eligible
    assert m1.warning_codes == ("unpaid_purchases", "arrears")
    assert m3.blocker_codes == ("wallet_funds",)
    assert store.snapshot() == before
    assert set(injector.calls) <= READ_CALLS


def test_check_uses_the_home_club_date(make_store: MakeStore) -> None:
    """Without ``as_of`` the verdict is for the home club's local date."""
    store = make_store(profile_dataset())
    assert anonymizer(store).check("m1").as_of == b.TODAY


def test_check_of_unknown_member_raises(make_store: MakeStore) -> None:
    """Checking a member that does not exist is an error naming the id only."""
    store = make_store(profile_dataset())
    with pytest.raises(UnknownMemberError) as info:
        anonymizer(store).check("m404")
    assert info.value.member_id == "m404"


# -- anonymize: the effects ---------------------------------------------------------------------


def test_anonymize_returns_what_it_did(make_store: MakeStore) -> None:
    """The result says when, as of which date, what was removed, and the warnings."""
    store = make_store(profile_dataset())
    expected_warnings = anonymizer(store).check("m1").warnings
    result = anonymizer(store).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    assert result.status == "anonymized"
    assert result.member_id == "m1"
    assert result.as_of == b.TODAY
    assert result.at == NOW
    assert result.blockers == ()
    assert result.warnings == expected_warnings
    assert [w.code for w in result.warnings] == ["unpaid_purchases", "arrears"]
    assert result.removed == RemovalCounts(
        personal_data=1, photo=1, log_entries=1, documents=1, measurements=1, exercises=1, notes=1
    )


def test_personal_data_is_replaced_by_the_placeholder(make_store: MakeStore) -> None:
    """Every personal field is replaced; the id, club and registration date stay."""
    store = make_store(profile_dataset())
    before = member_of(store.snapshot(), "m1")
    anonymizer(store).anonymize("m1", actor="e1")
    after = member_of(store.snapshot(), "m1")
    assert after.personal == generic_placeholder("m1")
    assert after.personal.email is None
    assert after.personal.phone is None
    assert after.personal.birth_date is None
    assert after.personal.national_id is None
    assert after.personal.address is None
    assert (after.id, after.home_club_id, after.registered_on) == (
        before.id,
        before.home_club_id,
        before.registered_on,
    )
    assert_no_personal_value(as_json(after))


def test_replacement_is_not_derived_from_the_original(make_store: MakeStore) -> None:
    """Members with different personal data get the same replacement: nothing to reverse."""
    store = make_store(profile_dataset())
    anonymizer(store).anonymize("m1", actor="e1")
    anonymizer(store).anonymize("m2", actor="e1")
    data = store.snapshot()
    assert member_of(data, "m1").personal == member_of(data, "m2").personal


def test_photo_is_deleted(make_store: MakeStore) -> None:
    """The member's photo is gone; another member's photo stays."""
    store = make_store(profile_dataset())
    anonymizer(store).anonymize("m1", actor="e1")
    data = store.snapshot()
    assert member_of(data, "m1").photo is None
    assert member_of(data, "m2").photo is not None


@pytest.mark.parametrize("collection", ["log_entries", "documents", "measurements", "exercises"])
def test_sensitive_records_are_deleted(make_store: MakeStore, collection: str) -> None:
    """Log, documents, measurements and exercises of the member are deleted; others' stay."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    assert records_of(before, collection, "m1")
    anonymizer(store).anonymize("m1", actor="e1")
    after = store.snapshot()
    assert records_of(after, collection, "m1") == ()
    assert records_of(after, collection, "m2") == records_of(before, collection, "m2")


def test_training_and_health_notes_are_deleted_and_general_notes_kept(
    make_store: MakeStore,
) -> None:
    """By default only "training and health" notes go; general notes stay unchanged."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    anonymizer(store).anonymize("m1", actor="e1")
    after = store.snapshot()
    kept = records_of(after, "notes", "m1")
    general = [n for n in records_of(before, "notes", "m1") if n.note_type is NoteType.GENERAL]
    assert list(kept) == general
    assert [n.note_type for n in kept] == [NoteType.GENERAL]
    assert records_of(after, "notes", "m2") == records_of(before, "notes", "m2")


def test_delete_all_notes_option_deletes_every_note(make_store: MakeStore) -> None:
    """With ``delete_all_notes`` every note of the member goes, and is counted."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    result = anonymizer(store, delete_all_notes=True).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    assert result.removed.notes == 2
    after = store.snapshot()
    assert records_of(after, "notes", "m1") == ()
    assert records_of(after, "notes", "m2") == records_of(before, "notes", "m2")


def test_member_is_marked_anonymized_with_the_clock_time(make_store: MakeStore) -> None:
    """``anonymized_at`` is the clock's instant."""
    store = make_store(profile_dataset())
    anonymizer(store).anonymize("m1", actor="e1")
    data = store.snapshot()
    assert member_of(data, "m1").anonymized_at == NOW
    assert member_of(data, "m2").anonymized_at is None


KEPT = [
    "visits",
    "class_bookings",
    "contracts",
    "installments",
    "purchases",
    "wallets",
    "collection_cases",
    "invoices",
    "receipts",
]


@pytest.mark.parametrize("collection", KEPT)
def test_records_for_statistics_and_accounting_are_unchanged(
    make_store: MakeStore, collection: str
) -> None:
    """Visits, bookings, contracts, money records, invoices and receipts stay exactly."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    assert records_of(before, collection, "m1")
    anonymizer(store).anonymize("m1", actor="e1")
    assert getattr(store.snapshot(), collection) == getattr(before, collection)


def test_clubs_and_employees_are_unchanged(make_store: MakeStore) -> None:
    """The network's clubs and employees are not touched."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    anonymizer(store).anonymize("m1", actor="e1")
    after = store.snapshot()
    assert (after.network, after.clubs, after.employees) == (
        before.network,
        before.clubs,
        before.employees,
    )


def test_other_members_are_untouched(make_store: MakeStore) -> None:
    """Nothing of another member changes, in any collection."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    anonymizer(store).anonymize("m1", actor="e1")
    after = store.snapshot()
    assert member_of(after, "m2") == member_of(before, "m2")
    for collection in COLLECTIONS:
        if collection in ("clubs", "employees", "members"):
            continue
        assert records_of(after, collection, "m2") == records_of(before, collection, "m2")


def test_nothing_personal_survives_outside_invoices_and_receipts(make_store: MakeStore) -> None:
    """After anonymization the member's personal values remain only where the law keeps them."""
    store = make_store(profile_dataset())
    anonymizer(store).anonymize("m1", actor="e1")
    data = store.snapshot()
    for collection in COLLECTIONS:
        if collection in ("invoices", "receipts", "clubs", "employees"):
            continue
        records = getattr(data, collection)
        mine = [r for r in records if getattr(r, "member_id", getattr(r, "id", None)) == "m1"]
        assert mine or collection not in ("members", "notes", "visits", "audit", "reminders")
        for record in mine:
            assert_no_personal_value(as_json(record))
    assert_no_personal_value(as_json(member_of(data, "m1")))
    assert b.FULL_NAME in as_json(records_of(data, "invoices", "m1")[0])


# -- reminders and audit --------------------------------------------------------------------------


def test_each_warning_becomes_a_reminder_for_its_club(make_store: MakeStore) -> None:
    """One reminder per warning: the right club, kind = code, the amount, the time."""
    store = make_store(profile_dataset())
    result = anonymizer(store).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    reminders = sorted(store.snapshot().reminders, key=lambda r: r.kind)
    assert [
        (r.member_id, r.club_id, r.kind, r.amount, r.currency, r.created_at) for r in reminders
    ] == [
        ("m1", "c1", "arrears", Decimal("129.00"), "PLN", NOW),
        ("m1", "c2", "unpaid_purchases", Decimal("4.00"), "PLN", NOW),
    ]
    assert len(reminders) == len(result.warnings)
    for reminder in reminders:
        assert_no_personal_value(as_json(reminder))


def test_no_warning_means_no_reminder(make_store: MakeStore) -> None:
    """A member without unpaid money leaves no reminder."""
    store = make_store(b.dataset(*b.profile_records("m1")))
    result = anonymizer(store).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    assert result.warnings == ()
    assert store.snapshot().reminders == ()


def test_exactly_one_audit_entry_without_personal_data(make_store: MakeStore) -> None:
    """One audit entry: member id, actor, manual mode, the time and the counts, nothing more."""
    store = make_store(profile_dataset())
    result = anonymizer(store).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    (entry,) = store.snapshot().audit
    assert entry == AuditEntry(
        id=result.audit_entry_id,
        member_id="m1",
        actor_id="e1",
        at=NOW,
        mode=AnonymizationMode.MANUAL,
        removed=result.removed,
        action=AuditAction.ANONYMIZE,
        as_of=result.as_of,
    )
    assert entry.removed is not None
    assert entry.removed.total == 7
    text = as_json(entry)
    assert_no_personal_value(text)
    assert b.FULL_NAME not in text


def test_ids_of_new_records_come_from_the_id_factory(make_store: MakeStore) -> None:
    """Reminders and the audit entry take their ids from the configured factory."""
    store = make_store(profile_dataset())
    counter = itertools.count(1)
    result = anonymizer(store, id_factory=lambda: f"new-{next(counter)}").anonymize(
        "m1", actor="e1"
    )
    assert isinstance(result, Anonymized)
    data = store.snapshot()
    ids = {r.id for r in data.reminders} | {a.id for a in data.audit}
    assert ids == {"new-1", "new-2", "new-3"}
    assert result.audit_entry_id in ids


def test_member_without_records_removes_only_personal_data(make_store: MakeStore) -> None:
    """The counts say exactly what there was to remove."""
    store = make_store(b.dataset(b.member(with_photo=False)))
    result = anonymizer(store).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    assert result.removed == RemovalCounts(personal_data=1)
    assert store.snapshot().audit[0].removed == RemovalCounts(personal_data=1)


# -- refusals -----------------------------------------------------------------------------------


def blocked_dataset() -> Dataset:
    """m1 with several blockers: an active contract, an open case, funds, restriction."""
    return b.dataset(
        b.club("c1", uses_debt_collection=False),
        b.club("c2"),
        b.employee("e1"),
        b.member("m1", restrict_processing=True),
        b.contract("k-now", club_id="c2", start=dt.date(2026, 1, 1), end=None),
        b.collection_case("w-open", club_id="c2", closed_on=None),
        b.wallet("10.00"),
        b.purchase("p1", club_id="c1"),
        *(r for r in b.profile_records("m1") if not isinstance(r, Wallet)),
    )


def test_refused_lists_every_blocker_and_changes_nothing(make_store: MakeStore) -> None:
    """Blockers refuse with all of them reported; the store stays as it was."""
    store = make_store(blocked_dataset())
    before = store.snapshot()
    result = anonymizer(store).anonymize("m1", actor="e1")
    assert isinstance(result, Refused)
    assert result.status == "refused"
    assert result.as_of == b.TODAY
    assert [x.code for x in result.blockers] == [
        "active_contract",
        "open_collection_case",
        "wallet_funds",
        "processing_restricted",
    ]
    assert [w.code for w in result.warnings] == ["unpaid_purchases"]
    assert store.snapshot() == before


def test_refused_anonymization_makes_no_write_call(make_store: MakeStore) -> None:
    """A refusal reads and locks, but never writes or commits."""
    store = make_store(blocked_dataset())
    injector = FaultInjector(store.unit_of_work)
    result = Anonymizer(injector, clock=FixedClock(NOW)).anonymize("m1", actor="e1")
    assert isinstance(result, Refused)
    assert "facts.load_facts" in injector.calls
    assert set(injector.calls) <= READ_CALLS


def test_actor_without_permission_is_not_permitted(make_store: MakeStore) -> None:
    """An employee without the permission changes nothing and learns no blocker."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    result = anonymizer(store).anonymize("m1", actor="e2")
    assert result == NotPermitted(
        member_id="m1", actor_id="e2", permission=Permission.ANONYMIZE_MEMBER
    )
    assert result.status == "not_permitted"
    assert result.blockers == ()
    assert result.warnings == ()
    assert store.snapshot() == before


def test_not_permitted_even_for_an_unknown_member(make_store: MakeStore) -> None:
    """Without the permission the answer does not reveal whether a member exists."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    injector = FaultInjector(store.unit_of_work)
    result = Anonymizer(injector, clock=FixedClock(NOW)).anonymize("m404", actor="e2")
    assert isinstance(result, NotPermitted)
    assert result.member_id == "m404"
    assert store.snapshot() == before
    assert "facts.load_facts" not in injector.calls


def test_unknown_employee_raises(make_store: MakeStore) -> None:
    """An actor id that is no employee is an error, and nothing changes."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    with pytest.raises(UnknownEmployeeError) as info:
        anonymizer(store).anonymize("m1", actor="e404")
    assert info.value.employee_id == "e404"
    assert store.snapshot() == before


def test_unknown_member_raises(make_store: MakeStore) -> None:
    """A permitted actor asking for a missing member gets an error naming the id only."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    with pytest.raises(UnknownMemberError) as info:
        anonymizer(store).anonymize("m404", actor="e1")
    assert info.value.member_id == "m404"
    assert "m404" in str(info.value)
    assert store.snapshot() == before


def test_second_anonymization_is_refused(make_store: MakeStore) -> None:
    """Anonymizing twice is refused with ``already_anonymized``; the first result stands."""
    store = make_store(profile_dataset())
    first = anonymizer(store).anonymize("m1", actor="e1")
    assert isinstance(first, Anonymized)
    after_first = store.snapshot()
    later = Anonymizer(store.unit_of_work, clock=FixedClock(NOW + dt.timedelta(days=1))).anonymize(
        "m1", actor="e1"
    )
    assert isinstance(later, Refused)
    assert later.blockers[-1].code == "already_anonymized"
    assert [x.code for x in later.blockers] == ["already_anonymized"]
    assert store.snapshot() == after_first
    assert len(store.snapshot().audit) == 1


# -- placeholder schemes -------------------------------------------------------------------------


def test_random_placeholder_tells_members_apart(make_store: MakeStore) -> None:
    """``random_placeholder`` gives each member a neutral name with a random token."""
    store = make_store(profile_dataset())
    anon = anonymizer(store, placeholder=random_placeholder)
    anon.anonymize("m1", actor="e1")
    anon.anonymize("m2", actor="e1")
    data = store.snapshot()
    one, two = member_of(data, "m1").personal, member_of(data, "m2").personal
    assert one.first_name == two.first_name == "Anonymized"
    assert one.last_name.startswith("Member ")
    assert one.last_name != two.last_name
    assert (one.email, one.phone, one.birth_date, one.national_id, one.address) == (None,) * 5
    assert_no_personal_value(as_json(member_of(data, "m1")))


def test_custom_placeholder_scheme_gets_only_the_member_id(make_store: MakeStore) -> None:
    """A club's own scheme is used, and it is handed nothing but the member id."""
    seen: list[tuple[Any, ...]] = []

    def scheme(*args: Any, **kwargs: Any) -> PersonalData:
        seen.append((*args, *kwargs.values()))
        return PersonalData(first_name="Former", last_name=f"member no. {args[0]}")

    store = make_store(profile_dataset())
    anonymizer(store, placeholder=scheme).anonymize("m1", actor="e1")
    assert seen == [("m1",)]
    assert member_of(store.snapshot(), "m1").personal == PersonalData(
        first_name="Former", last_name="member no. m1"
    )


# -- one unit of work, re-checked under the lock ------------------------------------------------


def counting(store: Store) -> tuple[Callable[[], Any], list[object]]:
    """A unit-of-work factory over ``store`` that remembers every unit it opened."""
    opened: list[object] = []

    def factory() -> Any:
        unit = store.unit_of_work()
        opened.append(unit)
        return unit

    return factory, opened


def test_recheck_runs_under_the_lock_in_the_same_unit(make_store: MakeStore) -> None:
    """One unit: permission, lock, then the facts, then the writes, then one commit."""
    store = make_store(profile_dataset())
    factory, opened = counting(store)
    injector = FaultInjector(factory)
    result = Anonymizer(injector, clock=FixedClock(NOW)).anonymize("m1", actor="e1")
    assert isinstance(result, Anonymized)
    calls = injector.calls
    assert len(opened) == 1
    assert calls.index("employees.get") < calls.index("members.lock")
    assert calls.index("members.lock") < calls.index("facts.load_facts")
    writes = [i for i, name in enumerate(calls) if name not in READ_CALLS]
    assert writes
    assert calls.index("facts.load_facts") < min(writes)
    assert calls.count("uow.commit") == 1
    assert calls[-1] == "uow.commit"


def test_a_failure_midway_leaves_nothing_behind(make_store: MakeStore) -> None:
    """When the last write fails, every earlier write of the unit is rolled back."""
    store = make_store(profile_dataset())
    before = store.snapshot()
    injector = FaultInjector(store.unit_of_work)
    anon = Anonymizer(injector, clock=FixedClock(NOW))
    injector.fail_on("audit.add")
    with pytest.raises(InjectedFailure):
        anon.anonymize("m1", actor="e1")
    assert "members.replace_personal_data" in injector.calls
    assert store.snapshot() == before
    injector.heal()
    assert isinstance(anon.anonymize("m1", actor="e1"), Anonymized)


def test_options_are_exposed() -> None:
    """The anonymizer shows the options in force, defaulting to the generic scheme."""
    default = Anonymizer(InMemoryStore(b.dataset()).unit_of_work)
    assert default.options == AnonymizationOptions()
    assert default.options.placeholder is generic_placeholder
    assert not default.options.delete_all_notes
    assert default.options.deleted_note_types == frozenset({NoteType.TRAINING_AND_HEALTH})
    assert attrs.evolve(default.options, delete_all_notes=True).deleted_note_types is None

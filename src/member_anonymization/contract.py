"""Contract tests: the library's guarantees, checked against *your* adapter.

An adapter implements the protocols of :mod:`member_anonymization.ports` over a
host's own schema. The checks here drive it through a small
:class:`AdapterHarness` that the host writes, and raise
:class:`ContractViolation` (an :class:`AssertionError`) naming the broken rule,
the operation, and the ids and field names involved (never a value).

With pytest, subclass :class:`AdapterContract` in a test module and give it a
``harness`` fixture; every check becomes a test::

    import pytest
    from member_anonymization.contract import AdapterContract

    class TestMyAdapter(AdapterContract):
        @pytest.fixture
        def harness(self, tmp_path):
            return MyHarness(tmp_path / "app.sqlite")

Without pytest, call each function of :data:`CONTRACT_CHECKS` with a fresh harness.

Every check fills a fresh store with :func:`contract_dataset` (three clubs,
three employees, ten members, every kind of record), takes a snapshot, runs one
operation, and compares the results and the store's new state with what the
rule demands. Expectations come from the snapshots, never from the dataset
given to :meth:`AdapterHarness.build`, so a host whose schema cannot hold every
field of the dataset still passes, as long as its readers and its snapshot agree
(see :class:`AdapterHarness`). The end state of whole anonymizations and retention
sweeps is also compared with :class:`~member_anonymization.testing.InMemoryStore`,
the reference implementation, started from the same snapshot.

This module imports neither pytest nor hypothesis.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol, TypeAlias

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
from member_anonymization.domain import (
    Address,
    AnonymizationMode,
    AuditAction,
    AuditEntry,
    BinaryContent,
    Buyer,
    ClassBooking,
    Club,
    ClubId,
    CollectionCase,
    Contract,
    Document,
    Employee,
    Exercise,
    Installment,
    Invoice,
    InvoiceLine,
    LogEntry,
    Measurement,
    Member,
    MemberId,
    Network,
    Note,
    NoteType,
    Permission,
    PersonalData,
    Purchase,
    Receipt,
    Reminder,
    RemovalCounts,
    RetentionSetting,
    Visit,
    Wallet,
)
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork
from member_anonymization.retention import RetentionSweep, SweepReport
from member_anonymization.serialization import COLLECTIONS, Dataset
from member_anonymization.testing import FaultInjector, FixedClock, InjectedFailure, InMemoryStore

__all__ = [
    "CONTRACT_CHECKS",
    "AdapterContract",
    "AdapterHarness",
    "ContractCheck",
    "ContractViolation",
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
    "contract_dataset",
]


class ContractViolation(AssertionError):
    """An adapter broke a rule of the repository protocols.

    The message names the rule, the operation, and the ids and field names
    involved; it never holds a field's value.
    """


class AdapterHarness(Protocol):
    """What a host supplies to run the contract against its adapter.

    A harness is used by one check only: the check calls :meth:`build` once,
    then :meth:`snapshot` as often as it needs.
    """

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """Fill a fresh, empty store with ``dataset``; return its unit-of-work factory.

        The factory is what the host hands to the services (``Anonymizer``,
        ``RetentionSweep``): each call returns a new, not yet entered unit.
        """
        ...

    def snapshot(self) -> Dataset:
        """The committed state of the store, read back as a :class:`Dataset`.

        Host-defined: read the host's tables and map every row to the record the
        adapter's readers would return for it. A schema that cannot hold some
        field maps it the same way every time (say, a fixed currency) and it is
        then compared only as stored. Readers and snapshot must agree exactly:
        whatever ``members.get``, ``load_facts`` or a profile reader returns for
        a record must equal that record in the snapshot. Order does not matter.
        """
        ...


ContractCheck: TypeAlias = Callable[[AdapterHarness], None]
"""One contract check: takes a fresh harness, raises :class:`ContractViolation`."""


# --------------------------------------------------------------------------- the dataset

_AS_OF: Final = dt.date(2026, 11, 27)
_NOW: Final = dt.datetime.fromisoformat("2026-11-27T14:30:00+01:00")
"""The clock of the services' runs: whole seconds, with an offset."""

_M1: Final = "m1"
_M2: Final = "m2"
_M3: Final = "m3"
_UNKNOWN: Final = "no-such-member"
_DISTANT: Final = dt.date(2030, 1, 1)
_M1_NAME: Final = "Zbigniew Brzęczyszczykiewicz"
_M1_ADDRESS: Final = "Chrząszczyżewoszycka 5/3, 00-238 Łękołody"
_M2_NAME: Final = "Grażyna Żółkiewska"


def _t(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _d(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _d_or_none(value: str | None) -> dt.date | None:
    return None if value is None else _d(value)


def _t_or_none(value: str | None) -> dt.datetime | None:
    return None if value is None else _t(value)


def _clubs() -> tuple[Club, ...]:
    def club(cid: str, name: str, collection: bool, months: int | None) -> Club:
        retention = None if months is None else RetentionSetting(months_after_contract_end=months)
        return Club(
            id=cid,
            name=name,
            timezone="Europe/Warsaw",
            uses_debt_collection=collection,
            retention=retention,
        )

    return (
        club("c1", "Club Centrum", True, 24),
        club("c2", "Club Mokotów", False, 12),
        club("c3", "Club Gdańsk", False, None),
    )


def _employees() -> tuple[Employee, ...]:
    anonymize, export = Permission.ANONYMIZE_MEMBER, Permission.EXPORT_MEMBER_DATA
    return (
        Employee(id="e1", name="Anna Recepcja", permissions=frozenset({anonymize, export})),
        Employee(id="e2", name="Piotr Trener", permissions=frozenset({export})),
        Employee(id="e3", name="Ewa Kierownik"),
    )


def _members() -> tuple[Member, ...]:
    m1 = PersonalData(
        first_name="Zbigniew",
        last_name="Brzęczyszczykiewicz",
        email="zbigniew.b@example.com",
        phone="+48600100200",
        birth_date=_d("1990-04-12"),
        national_id="90041212345",
        address=Address(
            street="Chrząszczyżewoszycka 5/3", postal_code="00-238", city="Łękołody", country="PL"
        ),
    )
    m2 = PersonalData(
        first_name="Grażyna",
        last_name="Żółkiewska",
        email="grazyna.z@example.com",
        phone="+48600300400",
        birth_date=_d("1985-11-30"),
        national_id="85113054321",
        address=Address(street="Długa 7", postal_code="80-831", city="Gdańsk", country="PL"),
    )
    rows: tuple[tuple[str, str, str, PersonalData], ...] = (
        (_M1, "c1", "2018-03-01", m1),
        (_M2, "c1", "2019-06-01", m2),
        (_M3, "c1", "2020-01-10", PersonalData(first_name="Mieczysław", last_name="Wąs")),
        (
            "m4",
            "c1",
            "2021-05-01",
            PersonalData(first_name="Jadwiga", last_name="Kłos", email="jk@example.com"),
        ),
        ("m5", "c1", "2017-01-01", generic_placeholder("m5")),
        (
            "m6",
            "c2",
            "2019-02-01",
            PersonalData(first_name="Bożydar", last_name="Ćwik", phone="+48500600700"),
        ),
        ("m7", "c3", "2018-09-01", PersonalData(first_name="Halina", last_name="Źdźbło")),
        ("m8", "c1", "2020-07-01", PersonalData(first_name="Krzesimir", last_name="Ługowski")),
        ("m9", "c1", "2018-01-15", PersonalData(first_name="Wiesława", last_name="Dąb")),
        (
            "m10",
            "c1",
            "2018-05-05",
            PersonalData(first_name="Teodor", last_name="Szczęsny", national_id="88010154321"),
        ),
    )
    photos = {
        _M1: BinaryContent(content_type="image/jpeg", data=b"\xff\xd8\xff\xe0 photo of m1"),
        _M2: BinaryContent(content_type="image/png", data=b"\x89PNG photo of m2"),
    }
    return tuple(
        Member(
            id=mid,
            home_club_id=club,
            registered_on=_d(registered),
            personal=personal,
            photo=photos.get(mid),
            restrict_processing=mid == "m10",
            anonymized_at=_t("2025-01-15T10:00:00+01:00") if mid == "m5" else None,
        )
        for mid, club, registered, personal in rows
    )


_CONTRACT_ROWS: Final = (
    ("k1", _M1, "c1", "2022-07-01", "2023-06-30", None),
    ("k2", _M1, "c2", "2023-08-01", "2024-01-31", "2023-12-15"),
    ("k3", _M2, "c1", "2024-01-01", None, None),
    ("k4", "m4", "c1", "2021-06-01", "2021-06-30", "2021-05-20"),
    ("k5", "m5", "c1", "2017-01-01", "2017-12-31", None),
    ("k6", "m6", "c1", "2021-04-01", "2022-03-31", None),
    ("k7", "m7", "c3", "2018-09-01", "2019-08-31", None),
    ("k8", "m8", "c1", "2020-09-01", None, "2022-08-31"),
    ("k9", "m9", "c1", "2018-02-01", "2019-01-31", None),
    ("k10", "m9", "c2", "2024-06-01", "2025-05-31", None),
    ("k11", "m10", "c1", "2018-06-01", "2019-05-31", None),
)
"""Contracts: id, member, club, start, end, terminated on."""


def _money_records() -> dict[str, tuple[Any, ...]]:
    pln = "PLN"
    m1_buyer = Buyer(name=_M1_NAME, address=_M1_ADDRESS)

    def line(description: str, quantity: str, price: str, vat: str) -> InvoiceLine:
        return InvoiceLine(
            description=description,
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            vat_rate=vat,
        )

    return {
        "wallets": (
            Wallet(member_id=_M1, balance=Decimal("0.00"), currency=pln),
            Wallet(member_id=_M2, balance=Decimal("25.50"), currency=pln),
            Wallet(member_id="m6", balance=Decimal("-10.00"), currency=pln),
        ),
        "collection_cases": (
            CollectionCase(
                id="w1",
                member_id=_M1,
                club_id="c2",
                opened_on=_d("2024-02-01"),
                closed_on=_d("2024-05-31"),
            ),
            CollectionCase(id="w2", member_id=_M2, club_id="c1", opened_on=_d("2025-03-01")),
            CollectionCase(id="w3", member_id="m8", club_id="c2", opened_on=_d("2023-01-10")),
        ),
        "installments": tuple(
            Installment(
                id=iid,
                member_id=mid,
                club_id=club,
                contract_id=contract,
                due_on=_d(due),
                amount=Decimal(amount),
                currency=pln,
                paid_on=_d_or_none(paid),
            )
            for iid, mid, club, contract, due, amount, paid in (
                ("i1", _M1, "c1", "k1", "2022-08-10", "129.00", "2022-08-09"),
                ("i2", _M1, "c2", "k2", "2023-12-10", "99.00", None),
                ("i3", _M2, "c1", "k3", "2026-12-10", "149.00", None),
            )
        ),
        "purchases": tuple(
            Purchase(
                id=pid,
                member_id=mid,
                club_id=club,
                bought_at=_t(at),
                description=what,
                amount=Decimal(amount),
                currency=pln,
                paid=paid,
            )
            for pid, mid, club, at, what, amount, paid in (
                ("p1", _M1, "c1", "2023-03-01T10:00:00+01:00", "Water", "4.00", True),
                ("p2", _M1, "c2", "2023-09-12T18:30:15+02:00", "Protein bar", "7.50", False),
                ("p3", _M2, "c1", "2025-02-02T08:00:00+00:00", "Towel", "15.00", False),
            )
        ),
        "invoices": (
            Invoice(
                id="f1",
                number="FV/2022/07/0001",
                member_id=_M1,
                club_id="c1",
                issued_on=_d("2022-07-01"),
                buyer=m1_buyer,
                lines=(line("Open 12M - July", "1", "129.00", "23"),),
                total=Decimal("129.00"),
                currency=pln,
            ),
            Invoice(
                id="f2",
                number="FV/2023/08/0007",
                member_id=_M1,
                club_id="c2",
                issued_on=_d("2023-08-01"),
                buyer=attrs.evolve(m1_buyer, tax_id="5252525252"),
                lines=(
                    line("Open 6M - August", "1", "99.00", "23"),
                    line("Personal training", "2", "80.00", "8"),
                ),
                total=Decimal("259.00"),
                currency=pln,
            ),
            Invoice(
                id="f3",
                number="FV/2024/01/0003",
                member_id=_M2,
                club_id="c1",
                issued_on=_d("2024-01-01"),
                buyer=Buyer(name=_M2_NAME, address="Długa 7, 80-831 Gdańsk"),
                lines=(line("Open - January", "1", "149.00", "23"),),
                total=Decimal("149.00"),
                currency=pln,
            ),
        ),
        "receipts": tuple(
            Receipt(
                id=rid,
                number=number,
                member_id=mid,
                club_id="c1",
                issued_at=_t(at),
                contractor_name=name,
                total=Decimal(total),
                currency=pln,
            )
            for rid, number, mid, at, name, total in (
                ("r1", "PAR/2023/0001", _M1, "2023-03-01T10:00:05+01:00", _M1_NAME, "4.00"),
                ("r2", "PAR/2025/0002", _M2, "2025-02-02T08:00:09+00:00", _M2_NAME, "15.00"),
            )
        ),
    }


def _profile_records() -> dict[str, tuple[Any, ...]]:
    health, general = NoteType.TRAINING_AND_HEALTH, NoteType.GENERAL
    return {
        "visits": tuple(
            Visit(
                id=vid,
                member_id=mid,
                club_id=club,
                entered_at=_t(entered),
                left_at=_t_or_none(left),
            )
            for vid, mid, club, entered, left in (
                ("v1", _M1, "c1", "2023-05-03T17:00:00+02:00", "2023-05-03T18:30:00+02:00"),
                ("v2", _M1, "c2", "2023-10-10T07:15:00+02:00", None),
                ("v3", _M2, "c1", "2025-01-05T09:00:00+01:00", "2025-01-05T10:00:00+01:00"),
            )
        ),
        "class_bookings": (
            ClassBooking(
                id="b1",
                member_id=_M1,
                club_id="c1",
                class_name="Zumba",
                starts_at=_t("2023-05-04T10:00:00+02:00"),
                attended=True,
            ),
            ClassBooking(
                id="b2",
                member_id=_M2,
                club_id="c1",
                class_name="Yoga",
                starts_at=_t("2025-01-06T18:00:00+01:00"),
                attended=False,
            ),
        ),
        "measurements": tuple(
            Measurement(id=xid, member_id=mid, taken_on=_d(day), kind=kind, value=Decimal(value))
            for xid, mid, day, kind, value in (
                ("ms1", _M1, "2022-07-02", "weight_kg", "82.5"),
                ("ms2", _M1, "2022-07-02", "body_fat_pct", "21.3"),
                ("ms3", _M2, "2024-01-02", "weight_kg", "61"),
            )
        ),
        "exercises": (
            Exercise(
                id="x1",
                member_id=_M1,
                planned_on=_d("2022-07-05"),
                name="Squat",
                sets=5,
                reps=5,
                weight_kg=Decimal("80"),
            ),
            Exercise(id="x2", member_id=_M1, planned_on=_d("2022-07-06"), name="Plank"),
            Exercise(
                id="x3",
                member_id=_M2,
                planned_on=_d("2024-01-03"),
                name="Deadlift",
                sets=3,
                reps=8,
                weight_kg=Decimal("60.5"),
            ),
        ),
        "notes": tuple(
            Note(id=nid, member_id=mid, note_type=kind, created_at=_t(at), text=text)
            for nid, mid, kind, at, text in (
                ("n1", _M1, health, "2022-07-02T12:00:00+02:00", "Knee injury in 2018"),
                ("n2", _M1, general, "2022-07-03T12:00:00+02:00", "Prefers mornings"),
                ("n3", _M1, health, "2023-01-20T09:30:00+01:00", "Asthma, carries an inhaler"),
                ("n4", _M2, health, "2024-01-02T11:00:00+01:00", "Back pain"),
                ("n5", _M2, general, "2024-01-02T11:05:00+01:00", "Likes Yoga"),
            )
        ),
        "log_entries": tuple(
            LogEntry(id=lid, member_id=mid, at=_t(at), text=text)
            for lid, mid, at, text in (
                ("l1", _M1, "2022-07-01T09:00:00+02:00", f"Contract signed by {_M1_NAME}"),
                ("l2", _M1, "2023-08-01T09:00:00+02:00", "E-mail changed"),
                ("l3", _M2, "2024-01-01T09:00:00+01:00", "Contract signed"),
            )
        ),
        "documents": tuple(
            Document(
                id=did, member_id=mid, name=name, uploaded_at=_t(at), content_type=kind, data=data
            )
            for did, mid, name, at, kind, data in (
                (
                    "d1",
                    _M1,
                    "id-card.pdf",
                    "2022-07-01T09:05:00+02:00",
                    "application/pdf",
                    b"%PDF m1",
                ),
                (
                    "d2",
                    _M1,
                    "certificate.jpg",
                    "2023-01-20T09:35:00+01:00",
                    "image/jpeg",
                    b"\xff\xd8 m1",
                ),
                (
                    "d3",
                    _M2,
                    "contract.pdf",
                    "2024-01-01T09:05:00+01:00",
                    "application/pdf",
                    b"%PDF m2",
                ),
            )
        ),
    }


def _written_records() -> dict[str, tuple[Any, ...]]:
    return {
        "reminders": (
            Reminder(
                id="rem-old",
                member_id=_M2,
                club_id="c1",
                kind="unpaid_purchases",
                created_at=_t("2025-03-01T08:00:00+01:00"),
                amount=Decimal("15.00"),
                currency="PLN",
            ),
        ),
        "audit": (
            AuditEntry(
                id="audit-old-1",
                member_id="m5",
                actor_id="e1",
                at=_t("2025-01-15T10:00:00+01:00"),
                mode=AnonymizationMode.MANUAL,
                removed=RemovalCounts(personal_data=1, photo=1, log_entries=3, notes=1),
            ),
            AuditEntry(
                id="audit-old-2",
                member_id=_M2,
                actor_id="e2",
                at=_t("2025-02-01T12:00:00+01:00"),
                mode=AnonymizationMode.MANUAL,
                action=AuditAction.EXPORT,
            ),
        ),
    }


def contract_dataset() -> Dataset:
    """The data every contract check starts from.

    Clubs ``c1`` (uses debt collection, retention 24 months), ``c2`` (no debt
    collection, 12 months) and ``c3`` (no retention). Employees ``e1`` (may
    anonymize and export), ``e2`` (may export) and ``e3`` (no permission).
    Members, by what they test:

    * ``m1``: every kind of record, in clubs ``c1`` and ``c2``; eligible on
      2026-11-27 with two warnings (an unpaid purchase, arrears in ``c2``).
    * ``m2``: every kind of record too (so that a change to ``m1`` that leaks is
      seen); blocked by an open-ended contract, an open collection case and
      wallet funds.
    * ``m3`` to ``m10``: retention cases: no contract (``m3``), only a
      cancelled contract (``m4``), already anonymized (``m5``), home club
      ``c2`` with its contract in ``c1`` (``m6``), home club ``c3`` (``m7``),
      open-ended but terminated, with an open collection case in ``c2``
      (``m8``), a later contract in another club (``m9``), restricted
      processing (``m10``).

    Ids ``m1`` < ``m10`` < ``m3`` as text: due members come ordered by id as
    text. Ids are unique across members and employees. Instants are whole
    seconds; amounts have at most two decimals; one currency (PLN).
    """
    contracts = tuple(
        Contract(
            id=cid,
            member_id=mid,
            club_id=club,
            name=f"Membership {cid}",
            start=_d(start),
            end=_d_or_none(end),
            terminated_on=_d_or_none(terminated),
        )
        for cid, mid, club, start, end, terminated in _CONTRACT_ROWS
    )
    money, profile, written = _money_records(), _profile_records(), _written_records()
    return Dataset(
        network=Network(id="net-contract", name="Contract Network"),
        clubs=_clubs(),
        employees=_employees(),
        members=_members(),
        contracts=contracts,
        wallets=money["wallets"],
        collection_cases=money["collection_cases"],
        installments=money["installments"],
        purchases=money["purchases"],
        invoices=money["invoices"],
        receipts=money["receipts"],
        visits=profile["visits"],
        class_bookings=profile["class_bookings"],
        measurements=profile["measurements"],
        exercises=profile["exercises"],
        notes=profile["notes"],
        log_entries=profile["log_entries"],
        documents=profile["documents"],
        reminders=written["reminders"],
        audit=written["audit"],
    )


# --------------------------------------------------------------------------- comparison


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


def _new_reminders() -> tuple[Reminder, ...]:
    return (
        Reminder(
            id="contract-reminder-1",
            member_id=_M1,
            club_id="c2",
            kind="arrears",
            created_at=_NOW,
            amount=Decimal("99.00"),
            currency="PLN",
        ),
        Reminder(
            id="contract-reminder-2",
            member_id=_M3,
            club_id="c1",
            kind="unpaid_purchases",
            created_at=_NOW,
        ),
    )


def _new_audit() -> tuple[AuditEntry, ...]:
    return (
        AuditEntry(
            id="contract-audit-1",
            member_id=_M1,
            actor_id="e1",
            at=_NOW,
            mode=AnonymizationMode.MANUAL,
            removed=RemovalCounts(
                personal_data=1,
                photo=1,
                log_entries=2,
                documents=2,
                measurements=2,
                exercises=2,
                notes=2,
            ),
        ),
        AuditEntry(
            id="contract-audit-2",
            member_id=_M3,
            actor_id=None,
            at=_NOW,
            mode=AnonymizationMode.RETENTION,
            removed=RemovalCounts(personal_data=1),
        ),
        AuditEntry(
            id="contract-audit-3",
            member_id=_M2,
            actor_id="e2",
            at=_NOW,
            mode=AnonymizationMode.MANUAL,
            action=AuditAction.EXPORT,
        ),
    )


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


# --------------------------------------------------------------------------- retention

_DUE_CASES: Final[tuple[tuple[str, Mapping[ClubId, dt.date], list[MemberId]], ...]] = (
    ("no thresholds", {}, []),
    (
        "ends on the threshold",
        {"c1": _d("2022-08-31"), "c2": _d("2022-03-31")},
        ["m10", "m3", "m4", "m6", "m8"],
    ),
    ("one day too early", {"c1": _d("2022-08-30"), "c2": _d("2022-03-30")}, ["m10", "m3", "m4"]),
    ("registration on the threshold", {"c1": _d("2020-01-10")}, ["m10", "m3"]),
    (
        "every club, far ahead",
        {"c1": _DISTANT, "c2": _DISTANT, "c3": _DISTANT},
        ["m1", "m10", "m3", "m4", "m6", "m7", "m8", "m9"],
    ),
)


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


CONTRACT_CHECKS: Final[tuple[ContractCheck, ...]] = (
    check_clubs_reader,
    check_employees_reader,
    check_member_get,
    check_lock_returns_existing_ids,
    check_load_facts_returns_network_wide_records,
    check_accounting_reader,
    check_profile_reader,
    check_replace_personal_data,
    check_delete_photos,
    check_delete_log_entries,
    check_delete_documents,
    check_delete_measurements,
    check_delete_exercises,
    check_delete_notes_of_given_types,
    check_delete_notes_of_every_type,
    check_mark_anonymized,
    check_reminders_add,
    check_audit_add,
    check_due_members,
    check_due_members_paging,
    check_reads_see_own_writes,
    check_unit_without_commit_changes_nothing,
    check_exception_in_unit_changes_nothing,
    check_rollback_discards_changes,
    check_anonymization_matches_reference,
    check_refused_anonymization_changes_nothing,
    check_failure_at_any_call_changes_nothing,
    check_retention_sweep_matches_reference,
)
"""Every contract check, in a sensible order (readers, writers, transactions, services)."""


class AdapterContract:
    """The contract as pytest tests: subclass it in a ``Test...`` class.

    The subclass provides a ``harness`` fixture returning a fresh
    :class:`AdapterHarness` for each test (a function-scoped fixture). Each
    ``test_x`` method runs ``check_x`` of :data:`CONTRACT_CHECKS`.
    """

    def test_clubs_reader(self, harness: AdapterHarness) -> None:
        """Clubs reader returns every club by id."""
        check_clubs_reader(harness)

    def test_employees_reader(self, harness: AdapterHarness) -> None:
        """Employees reader returns employees with permissions, and None otherwise."""
        check_employees_reader(harness)

    def test_member_get(self, harness: AdapterHarness) -> None:
        """members.get returns the member as stored, or None."""
        check_member_get(harness)

    def test_lock_returns_existing_ids(self, harness: AdapterHarness) -> None:
        """members.lock returns the existing ids."""
        check_lock_returns_existing_ids(harness)

    def test_load_facts_returns_network_wide_records(self, harness: AdapterHarness) -> None:
        """load_facts returns each member's records in every club; unknown ids left out."""
        check_load_facts_returns_network_wide_records(harness)

    def test_accounting_reader(self, harness: AdapterHarness) -> None:
        """Accounting reader returns the member's invoices and receipts only."""
        check_accounting_reader(harness)

    def test_profile_reader(self, harness: AdapterHarness) -> None:
        """Profile readers return the member's records only."""
        check_profile_reader(harness)

    def test_replace_personal_data(self, harness: AdapterHarness) -> None:
        """replace_personal_data overwrites every personal field of the members given."""
        check_replace_personal_data(harness)

    def test_delete_photos(self, harness: AdapterHarness) -> None:
        """delete_photos deletes the photos with counts per member."""
        check_delete_photos(harness)

    def test_delete_log_entries(self, harness: AdapterHarness) -> None:
        """delete_log_entries deletes the members' log entries only."""
        check_delete_log_entries(harness)

    def test_delete_documents(self, harness: AdapterHarness) -> None:
        """delete_documents deletes the members' documents only."""
        check_delete_documents(harness)

    def test_delete_measurements(self, harness: AdapterHarness) -> None:
        """delete_measurements deletes the members' measurements only."""
        check_delete_measurements(harness)

    def test_delete_exercises(self, harness: AdapterHarness) -> None:
        """delete_exercises deletes the members' exercises only."""
        check_delete_exercises(harness)

    def test_delete_notes_of_given_types(self, harness: AdapterHarness) -> None:
        """delete_notes with note types deletes the notes of those types only."""
        check_delete_notes_of_given_types(harness)

    def test_delete_notes_of_every_type(self, harness: AdapterHarness) -> None:
        """delete_notes with None deletes notes of every type."""
        check_delete_notes_of_every_type(harness)

    def test_mark_anonymized(self, harness: AdapterHarness) -> None:
        """mark_anonymized records the instant on the members given only."""
        check_mark_anonymized(harness)

    def test_reminders_add(self, harness: AdapterHarness) -> None:
        """reminders.add stores the reminders."""
        check_reminders_add(harness)

    def test_audit_add(self, harness: AdapterHarness) -> None:
        """audit.add stores the entries with every count."""
        check_audit_add(harness)

    def test_due_members(self, harness: AdapterHarness) -> None:
        """due_members finds the due members, ordered by id."""
        check_due_members(harness)

    def test_due_members_paging(self, harness: AdapterHarness) -> None:
        """due_members pages with after and limit."""
        check_due_members_paging(harness)

    def test_reads_see_own_writes(self, harness: AdapterHarness) -> None:
        """Readers of a unit see the unit's own writes."""
        check_reads_see_own_writes(harness)

    def test_unit_without_commit_changes_nothing(self, harness: AdapterHarness) -> None:
        """A unit left without commit changes nothing."""
        check_unit_without_commit_changes_nothing(harness)

    def test_exception_in_unit_changes_nothing(self, harness: AdapterHarness) -> None:
        """An exception inside a unit propagates and changes nothing."""
        check_exception_in_unit_changes_nothing(harness)

    def test_rollback_discards_changes(self, harness: AdapterHarness) -> None:
        """Rolling back discards the unit's changes."""
        check_rollback_discards_changes(harness)

    def test_anonymization_matches_reference(self, harness: AdapterHarness) -> None:
        """A full anonymization ends as in the reference; invoices and receipts unchanged."""
        check_anonymization_matches_reference(harness)

    def test_refused_anonymization_changes_nothing(self, harness: AdapterHarness) -> None:
        """A refused or unpermitted anonymization changes nothing."""
        check_refused_anonymization_changes_nothing(harness)

    def test_failure_at_any_call_changes_nothing(self, harness: AdapterHarness) -> None:
        """A failure at any call of an anonymization changes nothing."""
        check_failure_at_any_call_changes_nothing(harness)

    def test_retention_sweep_matches_reference(self, harness: AdapterHarness) -> None:
        """A retention sweep ends as in the reference."""
        check_retention_sweep_matches_reference(harness)

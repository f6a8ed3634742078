"""The contract's data: the dataset every check starts from, and what the checks add.

:func:`contract_dataset` describes the dataset; the reminders, audit entries,
erasure requests and outbox messages here are what the writing checks store,
and the due-member cases what the retention checks ask for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs

from member_anonymization.anonymizer import generic_placeholder
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
    ErasureRequest,
    Exercise,
    ExtensionReason,
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
    Notice,
    NoticeKind,
    OutboxKind,
    OutboxMessage,
    Permission,
    PersonalData,
    Purchase,
    Receipt,
    RejectionReason,
    Reminder,
    RemovalCounts,
    RequestChannel,
    RequestExtension,
    RequestStatus,
    RetentionSetting,
    Visit,
    Wallet,
)
from member_anonymization.serialization import Dataset

_AS_OF: Final = dt.date(2026, 11, 27)
_NOW: Final = dt.datetime.fromisoformat("2026-11-27T14:30:00+01:00")
"""The clock of the services' runs: whole seconds, with an offset."""

_M1: Final = "m1"
_M2: Final = "m2"
_M3: Final = "m3"
_M11: Final = "m11"
_UNKNOWN: Final = "no-such-member"
_DISTANT: Final = dt.date(2030, 1, 1)
_WARSAW: Final = ZoneInfo("Europe/Warsaw")
_RQ_M1: Final = "rq11"
"""m1's open erasure request."""
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
    requests = Permission.HANDLE_ERASURE_REQUESTS
    return (
        Employee(
            id="e1", name="Anna Recepcja", permissions=frozenset({anonymize, export, requests})
        ),
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
        (_M11, "c2", "2019-03-01", generic_placeholder(_M11)),
    )
    anonymized = {"m5": "2025-01-15T10:00:00+01:00", _M11: "2026-03-02T06:00:00+01:00"}
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
            anonymized_at=_t_or_none(anonymized.get(mid)),
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


def _request_reminder(
    rid: str, member_id: str, request_id: str, kind: str, at: str, action: str | None = None
) -> Reminder:
    return Reminder(
        id=rid,
        member_id=member_id,
        club_id="c1",
        kind=kind,
        created_at=_t(at),
        request_id=request_id,
        action=action,
    )


def _written_records() -> dict[str, tuple[Any, ...]]:
    received_rq10, received_rq5 = "2026-10-28T19:30:00+01:00", "2026-10-01T08:05:00+02:00"
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
            _request_reminder(
                "rem-rq10-a", _M2, "rq10", "request_action", received_rq10, "wallet_funds"
            ),
            _request_reminder(
                "rem-rq10-b", _M2, "rq10", "request_action", received_rq10, "open_collection_case"
            ),
            _request_reminder(
                "rem-rq5-a", "m10", "rq5", "request_action", received_rq5, "processing_restricted"
            ),
            _request_reminder(
                "rem-rq5-b", "m10", "rq5", "request_deadline_near", "2026-10-26T06:00:00+01:00"
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
            AuditEntry(
                id="audit-old-3",
                member_id=_M2,
                actor_id="e1",
                at=_t("2026-10-28T19:25:00+01:00"),
                mode=None,
                removed=None,
                action=AuditAction.EXPORT,
            ),
            AuditEntry(
                id="audit-old-4",
                member_id=_M11,
                actor_id=None,
                at=_t("2026-03-02T06:00:00+01:00"),
                mode=AnonymizationMode.REQUEST,
                removed=RemovalCounts(personal_data=1, log_entries=1),
                as_of=_d("2026-03-02"),
            ),
        ),
    }


def _request(
    rid: str,
    member_id: str,
    club_id: str,
    received_at: str,
    channel: RequestChannel,
    registered_by: str | None,
    **changes: Any,
) -> ErasureRequest:
    """A request received at ``received_at`` (a local instant of its club)."""
    at = _t(received_at)
    request = ErasureRequest.receive(
        id=rid,
        member_id=member_id,
        club_id=club_id,
        received_at=at,
        received_on=at.astimezone(_WARSAW).date(),
        channel=channel,
        registered_by=registered_by,
    )
    return attrs.evolve(request, **changes)


def _erasure_requests() -> tuple[ErasureRequest, ...]:
    completed, withdrawn = RequestStatus.COMPLETED, RequestStatus.WITHDRAWN
    desk, email, app = RequestChannel.DESK, RequestChannel.EMAIL, RequestChannel.APP
    return (
        _request(
            "rq1",
            "m5",
            "c1",
            "2025-01-10T11:00:00+01:00",
            desk,
            "e1",
            status=completed,
            closed_at=_t("2025-01-15T10:00:00+01:00"),
            closed_by="e1",
            audit_entry_id="audit-old-1",
        ),
        _request(
            "rq2",
            _M2,
            "c1",
            "2025-03-03T12:00:00+01:00",
            desk,
            "e1",
            status=withdrawn,
            closed_at=_t("2025-03-10T17:20:00+01:00"),
            closed_by="e1",
        ),
        _request(
            "rq3",
            "m6",
            "c2",
            "2026-06-01T10:00:00+02:00",
            email,
            "e1",
            status=RequestStatus.REJECTED,
            closed_at=_t("2026-06-03T09:15:00+02:00"),
            closed_by="e1",
            rejection_reason=RejectionReason.IDENTITY_NOT_VERIFIED,
        ),
        _request(
            "rq4",
            "m8",
            "c1",
            "2026-09-20T18:10:00+02:00",
            app,
            None,
            extension=RequestExtension(
                deadline=_d("2026-12-20"),
                reason=ExtensionReason.COMPLEXITY,
                at=_t("2026-10-15T11:00:00+02:00"),
                by="e1",
            ),
        ),
        _request(
            "rq5",
            "m10",
            "c1",
            "2026-10-01T08:05:00+02:00",
            desk,
            "e1",
            reminded_near_deadline=True,
        ),
        _request("rq6", _M3, "c1", "2026-11-25T23:30:00+00:00", app, None),
        _request(
            "rq7",
            _M11,
            "c2",
            "2026-02-20T16:45:00+01:00",
            email,
            "e1",
            status=completed,
            closed_at=_t("2026-03-02T06:00:00+01:00"),
            audit_entry_id="audit-old-4",
        ),
        _request(
            "rq8",
            "m5",
            "c1",
            "2026-04-14T09:30:00+02:00",
            RequestChannel.LETTER,
            "e1",
            status=completed,
            closed_at=_t("2026-04-14T09:30:00+02:00"),
            closed_by="e1",
        ),
        _request("rq10", _M2, "c1", "2026-10-28T19:30:00+01:00", desk, "e1"),
        _request(_RQ_M1, _M1, "c1", "2026-11-20T09:00:00+01:00", email, "e1"),
    )


def _notice(kind: NoticeKind, language: str, request_id: str) -> Notice:
    """A notice whose text names the request and the club only."""
    return Notice(
        kind=kind,
        language=language,
        subject=f"{request_id}: {kind.value}",
        body=f"Club Centrum, {request_id}: {kind.value}.",
    )


def _message(
    mid: str,
    member_id: str,
    created_at: str,
    request_id: str | None,
    *,
    mode: AnonymizationMode | None = None,
    notice: tuple[NoticeKind, str] | None = None,
    delivered_at: str | None = None,
) -> OutboxMessage:
    """An event (with ``mode``) or a notice (with its kind and language)."""
    return OutboxMessage(
        id=mid,
        kind=OutboxKind.MEMBER_ANONYMIZED if notice is None else OutboxKind.NOTICE,
        member_id=member_id,
        created_at=_t(created_at),
        request_id=request_id,
        mode=mode,
        notice=None if notice is None or request_id is None else _notice(*notice, request_id),
        delivered_at=_t_or_none(delivered_at),
    )


def _outbox() -> tuple[OutboxMessage, ...]:
    received, completed = NoticeKind.RECEIVED, NoticeKind.COMPLETED
    anonymized_m11, delivered_m11 = "2026-03-02T06:00:00+01:00", "2026-03-02T06:01:10+01:00"
    return (
        _message(
            "ob-01",
            _M11,
            anonymized_m11,
            "rq7",
            mode=AnonymizationMode.REQUEST,
            delivered_at=delivered_m11,
        ),
        _message(
            "ob-02",
            _M11,
            anonymized_m11,
            "rq7",
            notice=(completed, "pl"),
            delivered_at=delivered_m11,
        ),
        _message(
            "ob-03",
            "m6",
            "2026-06-03T09:15:00+02:00",
            "rq3",
            notice=(NoticeKind.REJECTED, "en"),
            delivered_at="2026-06-03T09:20:00+02:00",
        ),
        _message("ob-04", "m8", "2026-09-20T18:10:00+02:00", "rq4", notice=(received, "pl")),
        _message(
            "ob-05", "m8", "2026-10-15T11:00:00+02:00", "rq4", notice=(NoticeKind.EXTENDED, "pl")
        ),
        _message(
            "ob-06",
            "m10",
            "2026-10-01T08:05:00+02:00",
            "rq5",
            notice=(received, "en"),
            delivered_at="2026-10-01T08:06:00+02:00",
        ),
        _message("ob-07", _M2, "2026-10-28T19:30:00+01:00", "rq10", notice=(received, "pl")),
        _message("ob-08", "m5", "2026-04-14T09:30:00+02:00", "rq8", notice=(completed, "en")),
        _message("ob-12", "m5", "2025-01-15T10:00:00+01:00", "rq1", mode=AnonymizationMode.MANUAL),
        _message("ob-11", "m5", "2025-01-15T09:00:00+00:00", "rq1", notice=(completed, "en")),
    )


def contract_dataset() -> Dataset:
    """The data every contract check starts from.

    Clubs ``c1`` (uses debt collection, retention 24 months), ``c2`` (no debt
    collection, 12 months) and ``c3`` (no retention). Employees ``e1`` (may
    anonymize, export and handle erasure requests), ``e2`` (may export) and
    ``e3`` (no permission). Members, by what they test:

    * ``m1``: every kind of record, in clubs ``c1`` and ``c2``; eligible on
      2026-11-27 with two warnings (an unpaid purchase, arrears in ``c2``).
    * ``m2``: every kind of record too (so that a change to ``m1`` that leaks is
      seen); blocked by an open-ended contract, an open collection case and
      wallet funds.
    * ``m3`` to ``m11``: retention cases: no contract (``m3``), only a
      cancelled contract (``m4``), already anonymized (``m5``, ``m11``), home
      club ``c2`` with its contract in ``c1`` (``m6``), home club ``c3``
      (``m7``), open-ended but terminated, with an open collection case in
      ``c2`` (``m8``), a later contract in another club (``m9``), restricted
      processing (``m10``).

    Erasure requests (ids ``rq1`` to ``rq11``), on 2026-11-27: open for ``m1``
    (``rq11``, nothing blocks), ``m2`` (``rq10``, its deadline tomorrow),
    ``m3`` (``rq6``, received at night: its local date is the next day),
    ``m8`` (``rq4``, extended) and ``m10`` (``rq5``, overdue); completed
    (``rq1`` and ``rq7`` by an anonymization's audit entry, ``rq8`` at once),
    withdrawn (``rq2``), rejected (``rq3``). Reminders name requests and the
    staff actions they need. The audit holds anonymizations with and without
    ``as_of`` and exports of both shapes (``manual`` with zero counts, and no
    mode nor counts). The outbox holds events and notices, pending and
    delivered, two of them created at the same instant.

    Ids ``m1`` < ``m10`` < ``m11`` < ``m3`` as text: requests come ordered by
    id as text; due members come in the host's own order of its member ids.
    Ids are unique across members and employees. Instants are whole seconds;
    amounts have at most two decimals; one currency (PLN).
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
        erasure_requests=_erasure_requests(),
        outbox=_outbox(),
    )


# --------------------------------------------------------------------------- written by the checks


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
        Reminder(
            id="contract-reminder-3",
            member_id=_M2,
            club_id="c1",
            kind="request_deadline_near",
            created_at=_NOW,
            request_id="rq10",
        ),
        Reminder(
            id="contract-reminder-4",
            member_id="m8",
            club_id="c2",
            kind="request_action",
            created_at=_NOW,
            request_id="rq4",
            action="open_collection_case",
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
            as_of=_AS_OF,
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
        AuditEntry(
            id="contract-audit-4",
            member_id=_M2,
            actor_id="e1",
            at=_NOW,
            mode=None,
            removed=None,
            action=AuditAction.EXPORT,
        ),
        AuditEntry(
            id="contract-audit-5",
            member_id="m4",
            actor_id=None,
            at=_NOW,
            mode=AnonymizationMode.REQUEST,
            removed=RemovalCounts(personal_data=1, notes=3),
            as_of=_AS_OF,
        ),
    )


def _new_requests() -> tuple[ErasureRequest, ...]:
    """Requests for members without an open one: every field and status once."""
    return (
        _request(
            "contract-request-1",
            "m4",
            "c1",
            "2026-10-05T10:00:00+02:00",
            RequestChannel.LETTER,
            "e2",
            extension=RequestExtension(
                deadline=_d("2027-01-05"),
                reason=ExtensionReason.NUMBER_OF_REQUESTS,
                at=_t("2026-10-20T12:00:00+02:00"),
                by="e1",
            ),
            reminded_near_deadline=True,
            reminded_overdue=True,
            refusal_noticed_at=_t("2026-11-04T06:00:00+01:00"),
        ),
        _request(
            "contract-request-2",
            "m7",
            "c3",
            "2026-11-02T15:00:00+01:00",
            RequestChannel.APP,
            None,
            status=RequestStatus.REJECTED,
            closed_at=_t("2026-11-03T08:00:00+01:00"),
            closed_by="e1",
            rejection_reason=RejectionReason.EXCESSIVE,
        ),
        _request(
            "contract-request-3",
            _M11,
            "c2",
            "2026-11-10T10:00:00+01:00",
            RequestChannel.OTHER,
            "e2",
            status=RequestStatus.COMPLETED,
            closed_at=_t("2026-11-10T10:00:00+01:00"),
            closed_by="e2",
        ),
        _request(
            "contract-request-4",
            "m9",
            "c2",
            "2026-11-26T12:00:00+01:00",
            RequestChannel.DESK,
            "e1",
            status=RequestStatus.WITHDRAWN,
            closed_at=_NOW,
            closed_by="e1",
        ),
    )


def _new_messages() -> tuple[OutboxMessage, ...]:
    """Pending events and notices, two of them at one instant in other offsets."""
    return (
        _message(
            "contract-message-1",
            _M1,
            _NOW.isoformat(),
            _RQ_M1,
            mode=AnonymizationMode.MANUAL,
        ),
        _message(
            "contract-message-2",
            _M1,
            _NOW.isoformat(),
            _RQ_M1,
            notice=(NoticeKind.COMPLETED, "pl"),
        ),
        _message(
            "contract-message-3",
            _M2,
            "2026-11-27T10:00:00+01:00",
            "rq10",
            notice=(NoticeKind.REFUSED, "en"),
        ),
        _message(
            "contract-message-4",
            _M3,
            "2026-11-27T13:30:00+00:00",
            None,
            mode=AnonymizationMode.RETENTION,
        ),
    )


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
    # m4's only contract was cancelled before its start (on 2021-05-20): it counts
    # from its registration (2021-05-01), not from the cancellation.
    ("a contract cancelled before its start", {"c1": _d("2021-05-10")}, ["m10", "m3", "m4"]),
    (
        "every club, far ahead",
        {"c1": _DISTANT, "c2": _DISTANT, "c3": _DISTANT},
        ["m1", "m10", "m3", "m4", "m6", "m7", "m8", "m9"],
    ),
)

"""The record kinds of an export, in file order, with their readers; the format's name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, final

import attrs

from member_anonymization.domain import (
    ClassBooking,
    CollectionCase,
    Contract,
    Document,
    Exercise,
    Installment,
    Invoice,
    LogEntry,
    Measurement,
    Note,
    ProfileTab,
    Purchase,
    Receipt,
    Visit,
    Wallet,
)
from member_anonymization.policy import MemberFacts
from member_anonymization.ports import UnitOfWork

EXPORT_FORMAT: Final = "member-anonymization/export@1"
"""The export document's format name (public as ``member_anonymization.export.EXPORT_FORMAT``)."""


@final
@attrs.frozen
class _Kind:
    """One kind of record of the export: its key, type, profile tab and reader."""

    name: str
    record_type: type[Any]
    tab: ProfileTab
    read: Callable[[UnitOfWork, MemberFacts], Iterable[Any]]
    key: Callable[[Any], str] = attrs.field(default=lambda record: str(record.id))


_KINDS: Final[tuple[_Kind, ...]] = (
    _Kind("contracts", Contract, ProfileTab.CONTRACTS, lambda u, f: f.contracts),
    _Kind(
        "wallets", Wallet, ProfileTab.FINANCES, lambda u, f: f.wallets, lambda w: str(w.currency)
    ),
    _Kind("collection_cases", CollectionCase, ProfileTab.FINANCES, lambda u, f: f.collection_cases),
    _Kind("installments", Installment, ProfileTab.FINANCES, lambda u, f: f.installments),
    _Kind("purchases", Purchase, ProfileTab.FINANCES, lambda u, f: f.purchases),
    _Kind(
        "invoices", Invoice, ProfileTab.FINANCES, lambda u, f: u.accounting.invoices_of(f.member_id)
    ),
    _Kind(
        "receipts", Receipt, ProfileTab.FINANCES, lambda u, f: u.accounting.receipts_of(f.member_id)
    ),
    _Kind("visits", Visit, ProfileTab.VISITS, lambda u, f: u.profile.visits_of(f.member_id)),
    _Kind(
        "class_bookings",
        ClassBooking,
        ProfileTab.CLASSES,
        lambda u, f: u.profile.class_bookings_of(f.member_id),
    ),
    _Kind(
        "measurements",
        Measurement,
        ProfileTab.TRAINING,
        lambda u, f: u.profile.measurements_of(f.member_id),
    ),
    _Kind(
        "exercises", Exercise, ProfileTab.TRAINING, lambda u, f: u.profile.exercises_of(f.member_id)
    ),
    _Kind("notes", Note, ProfileTab.NOTES, lambda u, f: u.profile.notes_of(f.member_id)),
    _Kind(
        "log_entries", LogEntry, ProfileTab.LOG, lambda u, f: u.profile.log_entries_of(f.member_id)
    ),
    _Kind(
        "documents",
        Document,
        ProfileTab.DOCUMENTS,
        lambda u, f: u.profile.documents_of(f.member_id),
    ),
)

EXPORT_KINDS: Final[tuple[str, ...]] = tuple(kind.name for kind in _KINDS)
"""The kinds' names in file order (public as ``member_anonymization.export.EXPORT_KINDS``)."""

_KIND: Final = {kind.name: kind for kind in _KINDS}

"""An independent oracle of the blocker and warning table of the domain rules.

Written straight from the table, on purpose without the library's policy code
or the helpers on its records (``is_active_on``, ``is_open_on`` ...), so that a
property test can compare the two.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs

from member_anonymization.domain import (
    Club,
    CollectionCase,
    Contract,
    Installment,
    Member,
    Permission,
    Purchase,
    Wallet,
)
from member_anonymization.serialization import Dataset

Outcome = Literal["anonymized", "refused", "not_permitted"]


@attrs.frozen(kw_only=True)
class Expected:
    """The blocker and warning codes the rules call for."""

    blockers: frozenset[str]
    warnings: frozenset[str]


def _cancelled(contract: Contract) -> bool:
    # "A contract terminated before its start date was cancelled and blocks nothing."
    return contract.terminated_on is not None and contract.terminated_on < contract.start


def _effective_end(contract: Contract) -> dt.date | None:
    # "A contract's effective end is the earlier of its end date and its termination date."
    ends = [d for d in (contract.end, contract.terminated_on) if d is not None]
    return min(ends) if ends else None


def _unpaid_and_due_before(installment: Installment, day: dt.date) -> bool:
    # "an unpaid installment due before D": paid after D means still unpaid on D.
    paid = installment.paid_on is not None and installment.paid_on <= day
    return not paid and installment.due_on < day


def expected_codes(
    *,
    member: Member,
    contracts: Iterable[Contract],
    collection_cases: Iterable[CollectionCase],
    wallets: Iterable[Wallet],
    installments: Iterable[Installment],
    purchases: Iterable[Purchase],
    clubs: Mapping[str, Club],
    as_of: dt.date,
) -> Expected:
    """The blocker and warning codes for one member's records on the date ``as_of``."""
    blockers: set[str] = set()
    warnings: set[str] = set()
    for contract in contracts:
        if _cancelled(contract):
            continue
        end = _effective_end(contract)
        if contract.start <= as_of and (end is None or end >= as_of):
            blockers.add("active_contract")
        if contract.start > as_of:
            blockers.add("future_contract")
    for case in collection_cases:
        if case.closed_on is None or case.closed_on > as_of:
            blockers.add("open_collection_case")
    if any(wallet.balance > 0 for wallet in wallets):
        blockers.add("wallet_funds")
    if member.restrict_processing:
        blockers.add("processing_restricted")
    if member.anonymized_at is not None:
        blockers.add("already_anonymized")
    for installment in installments:
        if _unpaid_and_due_before(installment, as_of):
            if clubs[installment.club_id].uses_debt_collection:
                blockers.add("arrears_under_collection")
            else:
                warnings.add("arrears")
    if any(not purchase.paid for purchase in purchases):
        warnings.add("unpaid_purchases")
    return Expected(blockers=frozenset(blockers), warnings=frozenset(warnings))


def expected_for(dataset: Dataset, member_id: str, as_of: dt.date) -> Expected:
    """The blocker and warning codes for a member of ``dataset`` on ``as_of``."""

    def own(records: Iterable[Any]) -> list[Any]:
        return [r for r in records if r.member_id == member_id]

    (member,) = [m for m in dataset.members if m.id == member_id]
    return expected_codes(
        member=member,
        contracts=own(dataset.contracts),
        collection_cases=own(dataset.collection_cases),
        wallets=own(dataset.wallets),
        installments=own(dataset.installments),
        purchases=own(dataset.purchases),
        clubs={club.id: club for club in dataset.clubs},
        as_of=as_of,
    )


def home_club_date(dataset: Dataset, member_id: str, at: dt.datetime) -> dt.date:
    """The member's "today": the home club's calendar date at the instant ``at``."""
    (member,) = [m for m in dataset.members if m.id == member_id]
    (club,) = [c for c in dataset.clubs if c.id == member.home_club_id]
    return at.astimezone(ZoneInfo(club.timezone)).date()


def expected_outcome(dataset: Dataset, *, member_id: str, actor_id: str, as_of: dt.date) -> Outcome:
    """What a manual anonymization must answer: permission first, then blockers."""
    (actor,) = [e for e in dataset.employees if e.id == actor_id]
    if Permission.ANONYMIZE_MEMBER not in actor.permissions:
        return "not_permitted"
    if expected_for(dataset, member_id, as_of).blockers:
        return "refused"
    return "anonymized"

"""The blocker policy: may this member be anonymized on this date?

:func:`evaluate` is a pure function of a member's facts, the network's clubs and
a date. It returns every blocker and every warning at once as small immutable
results with stable codes; it never raises for a blocked member and never
returns bare strings. Callers ``match`` on the result classes::

    for blocker in evaluate(facts, clubs=clubs, as_of=today).blockers:
        match blocker:
            case ActiveContract(contract_id=cid):
                ...
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import ClassVar, Final, Literal, TypeAlias, final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.contracts import Contract
from member_anonymization.domain.finance import CollectionCase, Installment, Purchase, Wallet
from member_anonymization.domain.members import Member
from member_anonymization.domain.organisation import Club
from member_anonymization.domain.values import ClubId, MemberId
from member_anonymization.errors import UnknownClubError
from member_anonymization.messages import Language, text

__all__ = [
    "BLOCKER_CODES",
    "WARNING_CODES",
    "ActiveContract",
    "AlreadyAnonymized",
    "AnonymizationWarning",
    "Arrears",
    "ArrearsUnderCollection",
    "Blocker",
    "Eligibility",
    "FutureContract",
    "Language",
    "MemberFacts",
    "OpenCollectionCase",
    "ProcessingRestricted",
    "UnpaidPurchases",
    "WalletFunds",
    "evaluate",
]


def _message(result: Blocker | AnonymizationWarning, lang: Language) -> str:
    """The catalogue's message for ``result``, its fields filled in."""
    kind = "warning" if result.code in WARNING_CODES else "blocker"
    fields = {f.name: getattr(result, f.name) for f in attrs.fields(type(result))}
    return text(f"{kind}.{result.code}", lang, **fields)


@final
@attrs.frozen(kw_only=True)
class ActiveContract:
    """A contract in any club of the network runs on the date (``active_contract``)."""

    code: ClassVar[Literal["active_contract"]] = "active_contract"
    contract_id: str
    club_id: ClubId
    start: dt.date
    effective_end: dt.date | None

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


@final
@attrs.frozen(kw_only=True)
class FutureContract:
    """A contract starts after the date (``future_contract``)."""

    code: ClassVar[Literal["future_contract"]] = "future_contract"
    contract_id: str
    club_id: ClubId
    start: dt.date
    effective_end: dt.date | None = None

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


@final
@attrs.frozen(kw_only=True)
class OpenCollectionCase:
    """A debt-collection case in any club of the network is not closed."""

    code: ClassVar[Literal["open_collection_case"]] = "open_collection_case"
    case_id: str
    club_id: ClubId
    opened_on: dt.date

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


@final
@attrs.frozen(kw_only=True)
class WalletFunds:
    """Money is left in the member's wallet (``wallet_funds``)."""

    code: ClassVar[Literal["wallet_funds"]] = "wallet_funds"
    amount: Decimal
    currency: str

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


@final
@attrs.frozen(kw_only=True)
class ProcessingRestricted:
    """The "restrict processing" switch is on (``processing_restricted``)."""

    code: ClassVar[Literal["processing_restricted"]] = "processing_restricted"

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


def _date_of(blocker: AlreadyAnonymized) -> dt.date:
    return blocker.anonymized_at.date()


@final
@attrs.frozen(kw_only=True)
class AlreadyAnonymized:
    """The member is already anonymized (``already_anonymized``).

    Attributes:
        anonymized_at: The instant of the anonymization.
        anonymized_on: Its date in the member's home club (what the message
            shows); by default the date of ``anonymized_at`` at its own offset.
    """

    code: ClassVar[Literal["already_anonymized"]] = "already_anonymized"
    anonymized_at: dt.datetime
    anonymized_on: dt.date = attrs.field(default=attrs.Factory(_date_of, takes_self=True))

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


@final
@attrs.frozen(kw_only=True)
class ArrearsUnderCollection:
    """Overdue installments in a club that uses debt collection.

    Our reading of the rules: such debt belongs to debt collection and blocks.
    """

    code: ClassVar[Literal["arrears_under_collection"]] = "arrears_under_collection"
    club_id: ClubId
    amount: Decimal
    currency: str
    installment_ids: tuple[str, ...]

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


@final
@attrs.frozen(kw_only=True)
class UnpaidPurchases:
    """Unpaid purchases in a club: a warning that becomes a reminder."""

    code: ClassVar[Literal["unpaid_purchases"]] = "unpaid_purchases"
    club_id: ClubId
    amount: Decimal
    currency: str
    purchase_ids: tuple[str, ...]

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


@final
@attrs.frozen(kw_only=True)
class Arrears:
    """Overdue installments in a club without debt collection: a warning."""

    code: ClassVar[Literal["arrears"]] = "arrears"
    club_id: ClubId
    amount: Decimal
    currency: str
    installment_ids: tuple[str, ...]

    def message(self, lang: Language = "en") -> str:
        """The human message in ``lang``, from :mod:`member_anonymization.messages`."""
        return _message(self, lang)


Blocker: TypeAlias = (
    ActiveContract
    | FutureContract
    | OpenCollectionCase
    | WalletFunds
    | ProcessingRestricted
    | AlreadyAnonymized
    | ArrearsUnderCollection
)
"""Anything that refuses an anonymization."""

AnonymizationWarning: TypeAlias = UnpaidPurchases | Arrears
"""Anything that lets an anonymization go ahead but leaves a reminder."""

BLOCKER_CODES: Final = (
    "active_contract",
    "future_contract",
    "open_collection_case",
    "wallet_funds",
    "processing_restricted",
    "already_anonymized",
    "arrears_under_collection",
)
"""Every blocker code, in the order results are reported."""

WARNING_CODES: Final = ("unpaid_purchases", "arrears")
"""Every warning code, in the order results are reported."""


@final
@attrs.frozen(kw_only=True)
class MemberFacts:
    """Everything the policy needs to know about one member, network-wide.

    Every record must belong to ``member``; construction checks it.
    """

    member: Member
    contracts: tuple[Contract, ...] = ()
    collection_cases: tuple[CollectionCase, ...] = ()
    wallets: tuple[Wallet, ...] = ()
    installments: tuple[Installment, ...] = ()
    purchases: tuple[Purchase, ...] = ()

    def __attrs_post_init__(self) -> None:
        checks: list[tuple[str, c.Check]] = [("member", c.instance(Member))]
        kinds: tuple[tuple[str, type], ...] = (
            ("contracts", Contract),
            ("collection_cases", CollectionCase),
            ("wallets", Wallet),
            ("installments", Installment),
            ("purchases", Purchase),
        )
        checks.extend((name, c.each(c.instance(kind))) for name, kind in kinds)
        foreign: list[c.FieldProblem] = []
        if isinstance(self.member, Member):
            for name, _ in kinds:
                records = getattr(self, name)
                if isinstance(records, tuple) and any(
                    getattr(r, "member_id", None) != self.member.id for r in records
                ):
                    foreign.append(c.FieldProblem(name, "holds a record of another member"))
        c.validate(self, checks, *foreign)

    @property
    def member_id(self) -> MemberId:
        """The member's id."""
        return self.member.id


@final
@attrs.frozen(kw_only=True)
class Eligibility:
    """The policy's verdict: every blocker and warning, as of a date."""

    member_id: MemberId
    as_of: dt.date
    blockers: tuple[Blocker, ...] = ()
    warnings: tuple[AnonymizationWarning, ...] = ()

    @property
    def eligible(self) -> bool:
        """No blocker applies: the member may be anonymized."""
        return not self.blockers

    @property
    def blocker_codes(self) -> tuple[str, ...]:
        """The codes of the blockers, in report order, without repeats."""
        return tuple(dict.fromkeys(b.code for b in self.blockers))

    @property
    def warning_codes(self) -> tuple[str, ...]:
        """The codes of the warnings, in report order, without repeats."""
        return tuple(dict.fromkeys(w.code for w in self.warnings))


def _totals(
    items: Iterable[tuple[ClubId, str, Decimal, str]],
) -> dict[tuple[ClubId, str], tuple[Decimal, tuple[str, ...]]]:
    """Sum amounts per (club, currency), keeping the contributing ids sorted."""
    sums: dict[tuple[ClubId, str], Decimal] = defaultdict(Decimal)
    ids: dict[tuple[ClubId, str], list[str]] = defaultdict(list)
    for club_id, currency, amount, record_id in items:
        sums[(club_id, currency)] += amount
        ids[(club_id, currency)].append(record_id)
    return {key: (sums[key], tuple(sorted(ids[key]))) for key in sorted(sums)}


def _club(clubs: Mapping[ClubId, Club], club_id: ClubId) -> Club:
    """The club ``club_id`` of the network.

    Raises:
        UnknownClubError: ``clubs`` has no such club.
    """
    club = clubs.get(club_id)
    if club is None:
        raise UnknownClubError(club_id)
    return club


def evaluate(facts: MemberFacts, *, clubs: Mapping[ClubId, Club], as_of: dt.date) -> Eligibility:
    """Return every blocker and warning for ``facts`` on the date ``as_of``.

    Args:
        facts: The member and their records in every club of the network.
        clubs: The network's clubs by id; it must hold every club an
            installment refers to (whether it uses debt collection decides
            between a blocker and a warning).
        as_of: "Today": the club's local date.

    Raises:
        UnknownClubError: A club the verdict depends on is missing from
            ``clubs``: the club of an overdue installment, or the home club
            of an anonymized member (its date is shown in the home club's
            time zone).
    """
    member = facts.member
    blockers: list[Blocker] = []

    for contract in sorted(facts.contracts, key=lambda k: (k.start, k.id)):
        if contract.is_active_on(as_of):
            blockers.append(
                ActiveContract(
                    contract_id=contract.id,
                    club_id=contract.club_id,
                    start=contract.start,
                    effective_end=contract.effective_end,
                )
            )
    for contract in sorted(facts.contracts, key=lambda k: (k.start, k.id)):
        if contract.starts_after(as_of):
            blockers.append(
                FutureContract(
                    contract_id=contract.id,
                    club_id=contract.club_id,
                    start=contract.start,
                    effective_end=contract.effective_end,
                )
            )
    for case in sorted(facts.collection_cases, key=lambda k: (k.opened_on, k.id)):
        if case.is_open_on(as_of):
            blockers.append(
                OpenCollectionCase(case_id=case.id, club_id=case.club_id, opened_on=case.opened_on)
            )
    for wallet in sorted(facts.wallets, key=lambda w: (w.currency, w.balance)):
        if wallet.has_funds:
            blockers.append(WalletFunds(amount=wallet.balance, currency=wallet.currency))
    if member.restrict_processing:
        blockers.append(ProcessingRestricted())
    if member.anonymized_at is not None:
        home = _club(clubs, member.home_club_id)
        blockers.append(
            AlreadyAnonymized(
                anonymized_at=member.anonymized_at,
                anonymized_on=home.local_date(member.anonymized_at),
            )
        )

    overdue = [i for i in facts.installments if i.is_overdue_on(as_of)]
    arrears = _totals((i.club_id, i.currency, i.amount, i.id) for i in overdue)
    warnings: list[AnonymizationWarning] = []
    for (club_id, currency), (amount, ids) in arrears.items():
        if _club(clubs, club_id).uses_debt_collection:
            blockers.append(
                ArrearsUnderCollection(
                    club_id=club_id, amount=amount, currency=currency, installment_ids=ids
                )
            )

    unpaid = _totals((p.club_id, p.currency, p.amount, p.id) for p in facts.purchases if not p.paid)
    for (club_id, currency), (amount, ids) in unpaid.items():
        warnings.append(
            UnpaidPurchases(club_id=club_id, amount=amount, currency=currency, purchase_ids=ids)
        )
    for (club_id, currency), (amount, ids) in arrears.items():
        if not _club(clubs, club_id).uses_debt_collection:
            warnings.append(
                Arrears(club_id=club_id, amount=amount, currency=currency, installment_ids=ids)
            )
    return Eligibility(
        member_id=member.id, as_of=as_of, blockers=tuple(blockers), warnings=tuple(warnings)
    )

"""The notices to members about their erasure requests, and the expected date, in every language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

import pytest

from member_anonymization._notices import (
    STAFF_ACTION_CODES,
    TIME_BOUND_CODES,
    completed_notice,
    expected_on,
    extended_notice,
    received_notice,
    refused_notice,
    rejected_notice,
)
from member_anonymization.domain import (
    ErasureRequest,
    ExtensionReason,
    Notice,
    NoticeKind,
    RejectionReason,
    RequestChannel,
)
from member_anonymization.messages import CATALOGUE, LANGUAGES
from member_anonymization.policy import (
    BLOCKER_CODES,
    ActiveContract,
    AlreadyAnonymized,
    ArrearsUnderCollection,
    Blocker,
    FutureContract,
    OpenCollectionCase,
    ProcessingRestricted,
    WalletFunds,
)

D = dt.date
CLUB: Final = "Fit Centrum"
RECEIVED_ON: Final = D(2026, 1, 31)

REQUEST: Final = ErasureRequest.receive(
    id="rq-7",
    member_id="m1",
    club_id="c1",
    received_at=dt.datetime(2026, 1, 31, 10, tzinfo=dt.UTC),
    received_on=RECEIVED_ON,
    channel=RequestChannel.DESK,
    registered_by="e1",
)
"""A request received on 31 January 2026: its deadline is 28 February."""


RUNNING_END: Final = D(2027, 3, 31)
NEXT_END: Final = D(2027, 12, 31)


def running(end: D | None = RUNNING_END, contract_id: str = "k-run") -> ActiveContract:
    """A running contract ending on ``end``."""
    return ActiveContract(
        contract_id=contract_id, club_id="c1", start=D(2025, 4, 1), effective_end=end
    )


def upcoming(end: D | None = NEXT_END, contract_id: str = "k-next") -> FutureContract:
    """A contract starting on 2027-01-01 and ending on ``end``."""
    return FutureContract(
        contract_id=contract_id, club_id="c1", start=D(2027, 1, 1), effective_end=end
    )


CASE: Final = OpenCollectionCase(case_id="w-open", club_id="c1", opened_on=D(2026, 5, 1))
FUNDS: Final = WalletFunds(amount=Decimal("25.50"), currency="PLN")
RESTRICTED: Final = ProcessingRestricted()
ANONYMIZED: Final = AlreadyAnonymized(anonymized_at=dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC))
ARREARS: Final = ArrearsUnderCollection(
    club_id="c1", amount=Decimal("99.00"), currency="PLN", installment_ids=("i-late",)
)

BLOCKERS: Final[dict[str, Blocker]] = {
    "active_contract": running(),
    "future_contract": upcoming(),
    "open_collection_case": CASE,
    "wallet_funds": FUNDS,
    "processing_restricted": RESTRICTED,
    "already_anonymized": ANONYMIZED,
    "arrears_under_collection": ARREARS,
}

LINES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "active_contract": "- your membership contract k-run runs until 2027-03-31. "
        "This clears by itself once the contract has ended.",
        "active_contract.open_ended": "- your membership contract k-run has no end date. "
        "This clears by itself once the contract has ended.",
        "future_contract": "- your membership contract k-next starts on 2027-01-01. "
        "This clears once that contract has ended or has been cancelled.",
        "open_collection_case": "- a debt-collection case (w-open) is open. "
        "This clears once the case is closed.",
        "wallet_funds": "- your wallet holds 25.50 PLN. "
        "This clears once the money has been refunded to you or used.",
        "processing_restricted": "- you asked us to restrict the processing of your data, "
        "which keeps it from being removed. This clears once the restriction is lifted.",
        "already_anonymized": "- your data has been erased already. Nothing more needs to be done.",
        "arrears_under_collection": "- installments of 99.00 PLN are overdue and handled by "
        "debt collection. This clears once they are settled.",
    },
    "pl": {
        "active_contract": "- Twoja umowa k-run obowiązuje do 2027-03-31. "
        "Ta przeszkoda ustąpi sama po zakończeniu umowy.",
        "active_contract.open_ended": "- Twoja umowa k-run jest zawarta na czas nieokreślony. "
        "Ta przeszkoda ustąpi sama po zakończeniu umowy.",
        "future_contract": "- Twoja umowa k-next zaczyna się 2027-01-01. "
        "Ta przeszkoda ustąpi po zakończeniu lub anulowaniu tej umowy.",
        "open_collection_case": "- prowadzona jest sprawa windykacyjna (w-open). "
        "Ta przeszkoda ustąpi po zamknięciu sprawy.",
        "wallet_funds": "- w Twoim Portfelu są środki: 25.50 PLN. "
        "Ta przeszkoda ustąpi po zwrocie lub wykorzystaniu środków.",
        "processing_restricted": "- na Twoje żądanie ograniczyliśmy przetwarzanie Twoich "
        "danych, co wstrzymuje ich usunięcie. Ta przeszkoda ustąpi po zniesieniu ograniczenia.",
        "already_anonymized": "- Twoje dane zostały już usunięte. Nic więcej nie trzeba robić.",
        "arrears_under_collection": "- zaległe raty na kwotę 99.00 PLN są przedmiotem "
        "windykacji. Ta przeszkoda ustąpi po ich uregulowaniu.",
    },
}
"""Each blocker's line in a notice: its reason, then what clears it."""

RIGHTS: Final = {
    "en": (
        "right to lodge a complaint with a supervisory authority",
        "President of the Personal Data Protection Office, PUODO",
        "to seek a judicial remedy",
    ),
    "pl": (
        "prawo wniesienia skargi do organu nadzorczego",
        "Prezesa Urzędu Ochrony Danych Osobowych",
        "ochrony prawnej przed sądem",
    ),
}


def all_notices(language: str, club: str = CLUB) -> dict[NoticeKind, Notice]:
    """One notice of every kind for :data:`REQUEST`, blocked by a running contract."""
    extended = REQUEST.extended(
        reason=ExtensionReason.COMPLEXITY,
        at=REQUEST.received_at,
        by="e1",
        on=RECEIVED_ON,
    )
    blockers = (running(),)
    return {
        NoticeKind.RECEIVED: received_notice(
            REQUEST,
            club_name=club,
            language=language,
            blockers=blockers,
            expected=D(2027, 4, 1),
        ),
        NoticeKind.EXTENDED: extended_notice(extended, club_name=club, language=language),
        NoticeKind.REFUSED: refused_notice(
            REQUEST, club_name=club, language=language, blockers=blockers, expected=D(2027, 4, 1)
        ),
        NoticeKind.REJECTED: rejected_notice(
            REQUEST, club_name=club, language=language, reason=RejectionReason.EXCESSIVE
        ),
        NoticeKind.COMPLETED: completed_notice(
            REQUEST, club_name=club, language=language, on=D(2026, 2, 10)
        ),
    }


# ----------------------------------------------------------------------------- expected_on


@pytest.mark.parametrize(
    ("blockers", "expected"),
    [
        ((running(),), D(2027, 4, 1)),
        ((running(D(2026, 12, 31)),), D(2027, 1, 1)),
        ((running(D(2027, 3, 31)), running(D(2027, 5, 31), "k-2")), D(2027, 6, 1)),
        ((running(D(2027, 5, 31), "k-2"), running(D(2027, 3, 31))), D(2027, 6, 1)),
        ((running(), upcoming()), D(2028, 1, 1)),
        ((upcoming(),), D(2028, 1, 1)),
        ((running(None),), None),
        ((upcoming(None),), None),
        ((running(), upcoming(None)), None),
        ((running(), FUNDS), None),
        ((running(), CASE), None),
        ((RESTRICTED,), None),
        ((ARREARS,), None),
        ((ANONYMIZED,), None),
        ((), None),
    ],
)
def test_expected_on(blockers: tuple[Blocker, ...], expected: D | None) -> None:
    """The day after the latest contract end, when only contracts with an end block."""
    assert expected_on(blockers) == expected


def test_every_blocker_code_is_time_bound_or_staff_action() -> None:
    """Each code clears by itself or needs staff, except an erasure done already."""
    assert {"active_contract", "future_contract"} == TIME_BOUND_CODES
    assert {
        "open_collection_case",
        "wallet_funds",
        "processing_restricted",
        "arrears_under_collection",
    } == STAFF_ACTION_CODES
    assert TIME_BOUND_CODES | STAFF_ACTION_CODES | {"already_anonymized"} == set(BLOCKER_CODES)


# ----------------------------------------------------------------------------- reasons


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", BLOCKER_CODES)
def test_each_blocker_line(code: str, language: str) -> None:
    """Each blocker reads as its reason and what clears it, in the received and refused notices."""
    blocker = BLOCKERS[code]
    line = LINES[language][code]
    received = received_notice(REQUEST, club_name=CLUB, language=language, blockers=[blocker])
    refused = refused_notice(REQUEST, club_name=CLUB, language=language, blockers=[blocker])
    assert line in received.body.splitlines()
    assert line in refused.body.splitlines()


@pytest.mark.parametrize("language", LANGUAGES)
def test_open_ended_contract_line(language: str) -> None:
    """A running contract without an end says so instead of a date."""
    notice = received_notice(REQUEST, club_name=CLUB, language=language, blockers=[running(None)])
    assert LINES[language]["active_contract.open_ended"] in notice.body.splitlines()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_blocker_at_once(language: str) -> None:
    """All blockers are listed, one line each, in the policy's order."""
    blockers = [BLOCKERS[code] for code in BLOCKER_CODES]
    notice = refused_notice(REQUEST, club_name=CLUB, language=language, blockers=blockers)
    lines = [line for line in notice.body.splitlines() if line.startswith("- ")]
    assert lines == [LINES[language][code] for code in BLOCKER_CODES]


@pytest.mark.parametrize("language", LANGUAGES)
def test_received_without_blockers(language: str) -> None:
    """Nothing blocking: the notice gives the deadline and no reasons."""
    notice = received_notice(REQUEST, club_name=CLUB, language=language)
    assert "2026-02-28" in notice.body
    assert "\n" not in notice.body
    assert not any(line.startswith("- ") for line in notice.body.splitlines())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("reason", "texts"),
    [
        (ExtensionReason.COMPLEXITY, ("because the request is complex.", "skomplikowany")),
        (ExtensionReason.NUMBER_OF_REQUESTS, ("large number of requests.", "dużą liczbę żądań")),
    ],
)
def test_extension_reasons(reason: ExtensionReason, texts: tuple[str, str], language: str) -> None:
    """The extended notice gives the new deadline and the reason."""
    extended = REQUEST.extended(reason=reason, at=REQUEST.received_at, by="e1", on=RECEIVED_ON)
    notice = extended_notice(extended, club_name=CLUB, language=language)
    assert notice.kind is NoticeKind.EXTENDED
    assert texts[LANGUAGES.index(language)] in notice.body
    assert "2026-04-30" in notice.body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("reason", "texts"),
    [
        (
            RejectionReason.IDENTITY_NOT_VERIFIED,
            ("because we could not confirm your identity.", "nie udało się potwierdzić"),
        ),
        (
            RejectionReason.MANIFESTLY_UNFOUNDED,
            ("because the request is manifestly unfounded.", "ewidentnie nieuzasadnione"),
        ),
        (
            RejectionReason.EXCESSIVE,
            ("because the request is excessive", "żądanie jest nadmierne"),
        ),
    ],
)
def test_rejection_reasons(reason: RejectionReason, texts: tuple[str, str], language: str) -> None:
    """The rejected notice gives the reason and the member's rights."""
    notice = rejected_notice(REQUEST, club_name=CLUB, language=language, reason=reason)
    assert notice.kind is NoticeKind.REJECTED
    assert texts[LANGUAGES.index(language)] in notice.body
    for mention in RIGHTS[language]:
        assert mention in notice.body


# ----------------------------------------------------------------------------- every notice


def test_notices_exist_in_english_and_polish() -> None:
    """Both languages are there, and Polish has every notice text of its own."""
    assert {"en", "pl"} <= set(LANGUAGES)
    english = {k for k in CATALOGUE.templates["en"] if k.startswith("notice.")}
    polish = {k for k in CATALOGUE.templates["pl"] if k.startswith("notice.")}
    assert english == polish
    assert all(CATALOGUE.templates["pl"][k] != CATALOGUE.templates["en"][k] for k in english)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_notice_kind(language: str) -> None:
    """Every kind has a subject and a body with the request id, the club and the dates."""
    notices = all_notices(language)
    assert set(notices) == set(NoticeKind)
    dates = {
        NoticeKind.RECEIVED: ("2026-01-31", "2026-02-28", "2027-04-01"),
        NoticeKind.EXTENDED: ("2026-01-31", "2026-04-30"),
        NoticeKind.REFUSED: ("2026-01-31", "2027-04-01"),
        NoticeKind.REJECTED: ("2026-01-31",),
        NoticeKind.COMPLETED: ("2026-01-31", "2026-02-10"),
    }
    subjects = {notice.subject for notice in notices.values()}
    assert len(subjects) == len(NoticeKind)
    for kind, notice in notices.items():
        assert notice.kind is kind
        assert notice.language == language
        assert "rq-7" in notice.subject
        assert "\n" not in notice.subject
        assert "rq-7" in notice.body
        assert CLUB in notice.body
        for day in dates[kind]:
            assert day in notice.body
        assert "{" not in notice.subject + notice.body


def test_polish_notices_are_in_polish() -> None:
    """No Polish notice falls back to English."""
    english, polish = all_notices("en"), all_notices("pl")
    for kind in NoticeKind:
        assert polish[kind].subject != english[kind].subject
        assert polish[kind].body != english[kind].body
    assert polish[NoticeKind.RECEIVED].subject.startswith("Żądanie usunięcia danych")
    assert "Przedłużyliśmy termin" in polish[NoticeKind.EXTENDED].body


@pytest.mark.parametrize("language", LANGUAGES)
def test_rights_in_refused_and_rejected_only(language: str) -> None:
    """The refused and rejected notices name the supervisory authority and the court."""
    for kind, notice in all_notices(language).items():
        named = [mention in notice.body for mention in RIGHTS[language]]
        assert named == [kind in (NoticeKind.REFUSED, NoticeKind.REJECTED)] * len(named)


@pytest.mark.parametrize("language", LANGUAGES)
def test_refused_notice_ends_with_the_rights(language: str) -> None:
    """The rights close the refused notice, after the reasons and the expected date."""
    notice = all_notices(language)[NoticeKind.REFUSED]
    paragraphs = notice.body.split("\n\n")
    assert RIGHTS[language][0] in paragraphs[-1]
    assert "2027-04-01" in paragraphs[-2]
    assert LINES[language]["active_contract"] in paragraphs[0].splitlines()


UNNAMED: Final = {
    "en": {
        NoticeKind.RECEIVED: "The club received your request to erase your personal data on ",
        NoticeKind.EXTENDED: ", received by the club on 2026-01-31, ",
        NoticeKind.REFUSED: ", received by the club on 2026-01-31.",
        NoticeKind.REJECTED: ", received by the club on 2026-01-31, ",
        NoticeKind.COMPLETED: "(request rq-7, received by the club on 2026-01-31).",
    },
    "pl": {
        NoticeKind.RECEIVED: "(żądanie rq-7, klub).",
        NoticeKind.EXTENDED: ", przyjęte 2026-01-31 (klub), do ",
        NoticeKind.REFUSED: ", przyjętego 2026-01-31 (klub).",
        NoticeKind.REJECTED: ", przyjęte 2026-01-31 (klub), ",
        NoticeKind.COMPLETED: "(żądanie rq-7, przyjęte 2026-01-31, klub).",
    },
}
"""Where each notice names a club whose display name is blank, in each language."""


@pytest.mark.parametrize("language", sorted(UNNAMED))
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_club_name_reads_the_club(language: str, blank: str) -> None:
    """A blank display name becomes the catalogue's word for the club, capitalised at the start."""
    assert set(UNNAMED) == set(LANGUAGES)
    for kind, notice in all_notices(language, blank).items():
        assert UNNAMED[language][kind] in notice.body, (kind, notice.body)
        assert notice.body[0].isupper(), (kind, notice.body)
        for gap in ("  ", "( ", " ,", "()"):
            assert gap not in notice.body, (kind, notice.body)


def test_a_named_club_keeps_its_name_as_written() -> None:
    """A club named in lower case keeps its name, even where it opens the notice."""
    notice = all_notices("en", "fit4you")[NoticeKind.RECEIVED]
    assert notice.body.startswith("fit4you received your request")

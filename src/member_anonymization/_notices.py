"""Notices to the member about their erasure request, built from typed blockers.

Every text comes from the message catalogue (``notice.*`` keys), so a notice
exists in every language the catalogue has. A notice holds the request id,
dates, the club's name and the reasons (with the contract and case ids and the
amounts they name): it names no person and holds no contact details; the host
adds the address when it delivers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final

from member_anonymization.domain import (
    ErasureRequest,
    Notice,
    NoticeKind,
    RejectionReason,
)
from member_anonymization.messages import Language, text
from member_anonymization.policy import (
    ActiveContract,
    Blocker,
    FutureContract,
)

__all__ = [
    "STAFF_ACTION_CODES",
    "TIME_BOUND_CODES",
    "completed_notice",
    "expected_on",
    "extended_notice",
    "received_notice",
    "refused_notice",
    "rejected_notice",
]

TIME_BOUND_CODES: Final = frozenset({"active_contract", "future_contract"})
"""Blockers that clear by themselves once the contracts have ended."""

STAFF_ACTION_CODES: Final = frozenset(
    {
        "open_collection_case",
        "wallet_funds",
        "processing_restricted",
        "arrears_under_collection",
    }
)
"""Blockers that clear only when staff act (each gets a reminder naming the action)."""


def expected_on(blockers: Sequence[Blocker]) -> dt.date | None:
    """The day the blockers clear by themselves, or ``None``.

    ``None`` when nothing blocks, when a blocker needs staff action, or when a
    contract has no end: only running and future contracts with an end clear
    by themselves, on the day after the latest of those ends.
    """
    if not blockers:
        return None
    ends: list[dt.date] = []
    for blocker in blockers:
        match blocker:
            case ActiveContract(effective_end=end) | FutureContract(effective_end=end):
                if end is None:
                    return None
                ends.append(end)
            case _:
                return None
    return max(ends) + dt.timedelta(days=1)


def _club(name: str, lang: Language) -> str:
    """The club's display name, or the catalogue's word for a club when it is blank."""
    return name if name.strip() else text("notice.unnamed_club", lang)


def _filled(key: str, lang: Language, club_name: str, **fields: object) -> str:
    """The message ``key`` naming the club: a blank name reads "the club" in ``lang``.

    Where that word opens the text, it takes its sentence-initial form.
    """
    filled = text(key, lang, club=_club(club_name, lang), **fields)
    if not club_name.strip():
        word = text("notice.unnamed_club", lang)
        if filled.startswith(word):
            filled = text("notice.unnamed_club.start", lang) + filled[len(word) :]
    return filled


def _reasons(blockers: Iterable[Blocker], lang: Language) -> str:
    lines = []
    for blocker in blockers:
        fields = {
            name: getattr(blocker, name)
            for name in (
                "contract_id",
                "club_id",
                "start",
                "effective_end",
                "case_id",
                "amount",
                "currency",
            )
            if hasattr(blocker, name)
        }
        key = f"notice.reason.{blocker.code}"
        if blocker.code == "active_contract" and fields.get("effective_end") is None:
            key += ".open_ended"
        reason = text(key, lang, **fields)
        clears = text(f"notice.clears.{blocker.code}", lang, **fields)
        lines.append(f"- {reason} {clears}")
    return "\n".join(lines)


def _notice(kind: NoticeKind, lang: Language, club_name: str, **fields: object) -> Notice:
    subject = _filled(f"notice.{kind.value}.subject", lang, club_name, **fields)
    body = _filled(f"notice.{kind.value}.body", lang, club_name, **fields)
    return Notice(kind=kind, language=lang, subject=subject, body=body)


def _rights(lang: Language) -> str:
    return text("notice.rights", lang)


def received_notice(
    request: ErasureRequest,
    *,
    club_name: str,
    language: Language,
    blockers: Sequence[Blocker] = (),
    expected: dt.date | None = None,
) -> Notice:
    """The ``received`` notice: the deadline and, when blocked, why and until when."""
    fields: dict[str, object] = {
        "request_id": request.id,
        "received_on": request.received_on,
        "deadline": request.current_deadline,
    }
    body = _filled("notice.received.body", language, club_name, **fields)
    if blockers:
        body += "\n\n" + text("notice.received.blocked", language)
        body += "\n" + _reasons(blockers, language)
        if expected is not None:
            body += "\n\n" + text("notice.received.expected", language, expected_on=expected)
    subject = _filled("notice.received.subject", language, club_name, **fields)
    return Notice(kind=NoticeKind.RECEIVED, language=language, subject=subject, body=body)


def extended_notice(request: ErasureRequest, *, club_name: str, language: Language) -> Notice:
    """The ``extended`` notice: the new deadline and the reason."""
    assert request.extension is not None
    reason = text(f"notice.extension_reason.{request.extension.reason.value}", language)
    return _notice(
        NoticeKind.EXTENDED,
        language,
        club_name,
        request_id=request.id,
        received_on=request.received_on,
        deadline=request.current_deadline,
        reason=reason,
    )


def refused_notice(
    request: ErasureRequest,
    *,
    club_name: str,
    language: Language,
    blockers: Sequence[Blocker],
    expected: dt.date | None = None,
) -> Notice:
    """The ``refused`` notice (Art. 12(4)): why not yet, what clears it, the rights."""
    fields: dict[str, object] = {
        "request_id": request.id,
        "received_on": request.received_on,
        "deadline": request.current_deadline,
    }
    body = _filled("notice.refused.body", language, club_name, **fields)
    body += "\n" + _reasons(blockers, language)
    if expected is not None:
        body += "\n\n" + text("notice.received.expected", language, expected_on=expected)
    body += "\n\n" + _rights(language)
    subject = _filled("notice.refused.subject", language, club_name, **fields)
    return Notice(kind=NoticeKind.REFUSED, language=language, subject=subject, body=body)


def rejected_notice(
    request: ErasureRequest, *, club_name: str, language: Language, reason: RejectionReason
) -> Notice:
    """The ``rejected`` notice: the reason and the member's rights."""
    fields: dict[str, object] = {
        "request_id": request.id,
        "received_on": request.received_on,
        "reason": text(f"notice.rejection_reason.{reason.value}", language),
    }
    body = _filled("notice.rejected.body", language, club_name, **fields)
    body += "\n\n" + _rights(language)
    subject = _filled("notice.rejected.subject", language, club_name, **fields)
    return Notice(kind=NoticeKind.REJECTED, language=language, subject=subject, body=body)


def completed_notice(
    request: ErasureRequest, *, club_name: str, language: Language, on: dt.date
) -> Notice:
    """The ``completed`` notice: the member's data was erased on ``on``."""
    return _notice(
        NoticeKind.COMPLETED,
        language,
        club_name,
        request_id=request.id,
        received_on=request.received_on,
        completed_on=on,
    )

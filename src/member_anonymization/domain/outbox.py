"""The outbox: what the host must pass on, written in the same transaction.

Every anonymization, by any path, writes one ``member_anonymized`` event (GDPR
Art. 19: tell the processors and recipients the data was shared with), and the
erasure-request services write their notices to the member here too. The
library sends nothing: the host reads the pending messages, delivers them, and
marks them delivered, so nothing is lost while it is down.

Neither an event nor a notice holds personal data: the member is named by id
only (the host looks up where to deliver), and a notice's text holds only the
request id, dates, the club's name and the reasons.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import final

import attrs

from member_anonymization.domain import _checks as c
from member_anonymization.domain.values import AnonymizationMode, MemberId

__all__ = ["Notice", "NoticeKind", "OutboxKind", "OutboxMessage"]


class NoticeKind(enum.Enum):
    """What a notice to the member tells (Art. 12(3) and 12(4))."""

    RECEIVED = "received"
    EXTENDED = "extended"
    REFUSED = "refused"
    REJECTED = "rejected"
    COMPLETED = "completed"


class OutboxKind(enum.Enum):
    """What an outbox message carries."""

    MEMBER_ANONYMIZED = "member_anonymized"
    NOTICE = "notice"


@final
@attrs.frozen(kw_only=True)
class Notice:
    """A notice to the member, ready to deliver, in one language.

    Attributes:
        kind: What it tells.
        language: The language of ``subject`` and ``body``.
        subject: A one-line subject.
        body: The text, with the request id, dates, the club's name and the
            reasons (with the ids and amounts they name); it names no person
            and holds no contact details.
    """

    kind: NoticeKind = attrs.field(metadata=c.check(c.member_of(NoticeKind)))
    language: str = attrs.field(metadata=c.check(c.ident))
    subject: str = attrs.field(metadata=c.check(c.text))
    body: str = attrs.field(metadata=c.check(c.text))

    def __attrs_post_init__(self) -> None:
        c.check_fields(self)


def _shape_problems(message: OutboxMessage) -> list[c.FieldProblem]:
    problems: list[c.FieldProblem] = []
    if message.kind is OutboxKind.MEMBER_ANONYMIZED:
        if message.mode is None:
            problems.append(c.FieldProblem("mode", "must be set for a member_anonymized event"))
        if message.notice is not None:
            problems.append(c.FieldProblem("notice", "must be empty for a member_anonymized event"))
    elif message.kind is OutboxKind.NOTICE:
        if message.notice is None:
            problems.append(c.FieldProblem("notice", "must be set for a notice"))
        if message.request_id is None:
            problems.append(c.FieldProblem("request_id", "must be set for a notice"))
        if message.mode is not None:
            problems.append(c.FieldProblem("mode", "must be empty for a notice"))
    return problems


@final
@attrs.frozen(kw_only=True)
class OutboxMessage:
    """One message for the host to deliver: an event or a notice.

    Attributes:
        kind: ``member_anonymized`` or ``notice``.
        member_id: The member it concerns: a pseudonymous id, the message's
            only personal data.
        created_at: When it was written (for an event: the anonymization time).
        request_id: The erasure request it belongs to, if any.
        mode: How the member was anonymized (events only).
        notice: The notice (notices only).
        delivered_at: When the host marked it delivered (``None``: pending).
    """

    id: str = attrs.field(metadata=c.check(c.ident))
    kind: OutboxKind = attrs.field(metadata=c.check(c.member_of(OutboxKind)))
    member_id: MemberId = attrs.field(metadata=c.check(c.ident))
    created_at: dt.datetime = attrs.field(metadata=c.check(c.instant))
    request_id: str | None = attrs.field(default=None, metadata=c.check(c.optional(c.ident)))
    mode: AnonymizationMode | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.member_of(AnonymizationMode)))
    )
    notice: Notice | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instance(Notice)))
    )
    delivered_at: dt.datetime | None = attrs.field(
        default=None, metadata=c.check(c.optional(c.instant))
    )

    def __attrs_post_init__(self) -> None:
        c.check_fields(self, *_shape_problems(self))

    @property
    def is_pending(self) -> bool:
        """Not yet marked delivered."""
        return self.delivered_at is None

    def delivered(self, at: dt.datetime) -> OutboxMessage:
        """The message marked delivered at ``at`` (a delivered one stays as it was)."""
        return self if self.delivered_at is not None else attrs.evolve(self, delivered_at=at)

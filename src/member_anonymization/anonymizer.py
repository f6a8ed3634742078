"""Manual anonymization: check a member, then anonymize them.

The :class:`Anonymizer` works only through :mod:`member_anonymization.ports`.
:meth:`Anonymizer.anonymize` runs in one unit of work: it locks the member,
re-evaluates the blockers on the locked state (so a contract signed a second
earlier is caught), applies every effect of an anonymization, records reminders
for the warnings and one audit entry, and commits once. Any failure rolls the
whole unit back.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeAlias, final

import attrs
from typing_extensions import deprecated

from member_anonymization._access import actor_may, member_facts, not_after_today, reading
from member_anonymization._clock import SystemClock, new_id
from member_anonymization._effects import Applied
from member_anonymization._effects import apply_anonymization as _apply
from member_anonymization._service import Service
from member_anonymization.domain import (
    AnonymizationMode,
    Club,
    ClubId,
    EmployeeId,
    MemberId,
    NoteType,
    Permission,
    PersonalData,
    RemovalCounts,
)
from member_anonymization.errors import UnknownClubError
from member_anonymization.policy import (
    AnonymizationWarning,
    Blocker,
    Eligibility,
    MemberFacts,
    evaluate,
)
from member_anonymization.ports import Clock, UnitOfWork

__all__ = [
    "AnonymizationOptions",
    "AnonymizationResult",
    "Anonymized",
    "Anonymizer",
    "NotPermitted",
    "PlaceholderScheme",
    "Refused",
    "SystemClock",
    "generic_placeholder",
    "random_placeholder",
]

PlaceholderScheme: TypeAlias = Callable[[MemberId], PersonalData]
"""Makes the replacement personal data for a member id.

It must not look at the original values (it never receives them): replacements
derived from personal data (hashes of names or e-mails) can be reversed by guessing.
"""

DELETED_NOTE_TYPES: frozenset[NoteType] = frozenset({NoteType.TRAINING_AND_HEALTH})


def generic_placeholder(member_id: MemberId) -> PersonalData:
    """The default scheme: the same neutral name for everyone, nothing else."""
    return PersonalData(first_name="Anonymized", last_name="Member")


def random_placeholder(member_id: MemberId) -> PersonalData:
    """A neutral name with a random token, so that lists tell members apart."""
    return PersonalData(first_name="Anonymized", last_name=f"Member {secrets.token_hex(3).upper()}")


@final
@attrs.frozen(kw_only=True)
class AnonymizationOptions:
    """What a club may configure.

    Attributes:
        delete_all_notes: Delete notes of every type, not only "training and
            health" ones. Free-text notes can hold personal data; clubs that
            cannot vouch for their notes should switch this on.
        placeholder: The placeholder name scheme.
        id_factory: Makes ids for new reminders, audit entries, erasure
            requests and outbox messages.
        notice_language: The language of the notices to members about their
            erasure requests (a language of :mod:`member_anonymization.messages`).
    """

    delete_all_notes: bool = False
    placeholder: PlaceholderScheme = generic_placeholder
    id_factory: Callable[[], str] = new_id
    notice_language: str = "en"

    @property
    def deleted_note_types(self) -> frozenset[NoteType] | None:
        """The note types to delete (``None``: every type)."""
        return None if self.delete_all_notes else DELETED_NOTE_TYPES


@final
@attrs.frozen(kw_only=True)
class Anonymized:
    """The member was anonymized.

    Attributes:
        at: The instant recorded as the anonymization time.
        warnings: The warnings, each now a reminder for its club.
        removed: How many records of each kind were removed.
        audit_entry_id: The id of the audit entry written.
        request_id: The member's erasure request this completed, if one was open.
    """

    status: ClassVar[Literal["anonymized"]] = "anonymized"
    member_id: MemberId
    as_of: dt.date
    at: dt.datetime
    warnings: tuple[AnonymizationWarning, ...]
    removed: RemovalCounts
    audit_entry_id: str
    request_id: str | None = None
    blockers: ClassVar[tuple[Blocker, ...]] = ()


@final
@attrs.frozen(kw_only=True)
class Refused:
    """Blockers applied; nothing was changed."""

    status: ClassVar[Literal["refused"]] = "refused"
    member_id: MemberId
    as_of: dt.date
    blockers: tuple[Blocker, ...]
    warnings: tuple[AnonymizationWarning, ...]


@final
@attrs.frozen(kw_only=True)
class NotPermitted:
    """The actor lacks the permission; nothing was changed or revealed."""

    status: ClassVar[Literal["not_permitted"]] = "not_permitted"
    member_id: MemberId
    actor_id: EmployeeId
    permission: Permission = Permission.ANONYMIZE_MEMBER
    blockers: ClassVar[tuple[Blocker, ...]] = ()
    warnings: ClassVar[tuple[AnonymizationWarning, ...]] = ()


AnonymizationResult: TypeAlias = Anonymized | Refused | NotPermitted
"""What :meth:`Anonymizer.anonymize` returns; ``match`` on it."""


@deprecated(
    "member_anonymization.anonymizer.local_today is internal and will be removed in the "
    "next release: use club.local_date(clock.now())"
)
def local_today(club: Club, clock: Clock) -> dt.date:
    """The club's local date now."""
    return club.local_date(clock.now())


@deprecated(
    "member_anonymization.anonymizer.apply_anonymization is internal and will be removed in "
    "the next release: use Anonymizer, RetentionSweep or RequestProcessor"
)
def apply_anonymization(
    uow: UnitOfWork, batch: Sequence[tuple[MemberFacts, Eligibility]], **effects: Any
) -> dict[MemberId, tuple[RemovalCounts, str]]:
    """Apply every effect of an anonymization; return what was removed and the audit ids.

    Args:
        uow: The open unit of work.
        batch: Eligible, locked members and their verdicts.
        **effects: ``at``, ``mode``, ``actor_id`` and ``options``, as before.
    """
    done = _apply(uow, batch, **effects)
    return {mid: (applied.removed, applied.audit_entry_id) for mid, applied in done.items()}


def _home_club(clubs: Mapping[ClubId, Club], club_id: ClubId) -> Club:
    try:
        return clubs[club_id]
    except KeyError:
        raise UnknownClubError(club_id) from None


@final
class Anonymizer(Service[AnonymizationOptions]):
    """Checks and anonymizes one member at a time, through the ports.

    Args:
        unit_of_work: Opens a fresh unit of work for each operation.
        clock: The current time (its instant is stored; "today" is the home
            club's local date of it).
        options: The club's options.
    """

    _default_options = AnonymizationOptions

    def _verdict(
        self,
        uow: UnitOfWork,
        facts: MemberFacts,
        as_of: dt.date | None,
        *,
        changes_data: bool = False,
    ) -> Eligibility:
        clubs = uow.clubs.network_clubs()
        home = _home_club(clubs, facts.member.home_club_id)
        day = as_of
        if day is None:
            day = home.local_date(self._clock.now())
        elif changes_data:
            not_after_today(day, home, self._clock.now())
        return evaluate(facts, clubs=clubs, as_of=day)

    def check(self, member_id: MemberId, *, as_of: dt.date | None = None) -> Eligibility:
        """Every blocker and warning for the member. Changes nothing.

        It reads in a read-only unit of work when the factory offers one
        (:class:`~member_anonymization.ports.ReadOnlyUnitOfWorkFactory`), so it
        takes no write lock and no row lock.

        Args:
            member_id: The member.
            as_of: "Today"; by default the home club's local date.

        Raises:
            UnknownMemberError: No such member.
            UnknownClubError: A club the verdict needs is not in the network.
        """
        with reading(self._uow)() as uow:
            return self._verdict(uow, member_facts(uow, member_id), as_of)

    def anonymize(
        self, member_id: MemberId, *, actor: EmployeeId, as_of: dt.date | None = None
    ) -> AnonymizationResult:
        """Anonymize the member, completely or not at all.

        Args:
            member_id: The member.
            actor: The employee pressing "anonymize"; needs ``anonymize_member``.
            as_of: "Today"; by default the home club's local date.

        Returns:
            :class:`Anonymized`, :class:`Refused` (with every blocker) or
            :class:`NotPermitted`. Only ``Anonymized`` changed anything.

        Raises:
            UnknownEmployeeError: No such employee.
            UnknownMemberError: No such member (checked after the permission,
                so that an actor without it learns nothing).
            UnknownClubError: A club the verdict needs is not in the network.
        """
        with self._uow() as uow:
            if not actor_may(uow, actor, Permission.ANONYMIZE_MEMBER):
                return NotPermitted(member_id=member_id, actor_id=actor)
            facts = member_facts(uow, member_id, lock=True)
            verdict = self._verdict(uow, facts, as_of, changes_data=True)
            if not verdict.eligible:
                uow.rollback()
                return Refused(
                    member_id=member_id,
                    as_of=verdict.as_of,
                    blockers=verdict.blockers,
                    warnings=verdict.warnings,
                )
            return anonymize_now(
                uow, facts, verdict, actor=actor, at=self._clock.now(), options=self._options
            )[0]


def anonymize_now(
    uow: UnitOfWork,
    facts: MemberFacts,
    verdict: Eligibility,
    *,
    actor: EmployeeId,
    at: dt.datetime,
    options: AnonymizationOptions,
) -> tuple[Anonymized, Applied]:
    """Anonymize one eligible, locked member by hand and commit (internal).

    Returns:
        The result, and what the effects did (the completed request among them).
    """
    applied = _apply(
        uow,
        [(facts, verdict)],
        at=at,
        mode=AnonymizationMode.MANUAL,
        actor_id=actor,
        options=options,
    )[facts.member.id]
    uow.commit()
    result = Anonymized(
        member_id=facts.member.id,
        as_of=verdict.as_of,
        at=at,
        warnings=verdict.warnings,
        removed=applied.removed,
        audit_entry_id=applied.audit_entry_id,
        request_id=None if applied.request is None else applied.request.id,
    )
    return result, applied

r"""What an anonymization would do to one member, before anyone confirms it.

:func:`preview_anonymization` reads, without changing anything, every blocker and
warning (each with its code and its message in the requested language), what an
anonymization would remove and what would stay: the page or question that asks an
employee to confirm shows it. :func:`removal_preview` counts only what would go::

    shown = preview_anonymization(store.unit_of_work, "m1", lang="pl")
    for finding in shown.blockers:
        print(finding.code, finding.message)
    print("\n".join(shown.removed_lines), "\n".join(shown.kept_lines))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Literal, final

import attrs

from member_anonymization._access import member_facts, reading
from member_anonymization._clock import SystemClock
from member_anonymization.anonymizer import DELETED_NOTE_TYPES, AnonymizationOptions
from member_anonymization.domain import MemberId
from member_anonymization.errors import UnknownClubError, UnknownMemberError
from member_anonymization.messages import ENGLISH, Language, text
from member_anonymization.policy import AnonymizationWarning, Blocker, evaluate
from member_anonymization.ports import Clock, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AnonymizationPreview",
    "Finding",
    "KeptRecords",
    "RemovalPreview",
    "preview_anonymization",
    "removal_preview",
]


def _count(items: Iterable[object]) -> int:
    return sum(1 for _ in items)


@final
@attrs.frozen(kw_only=True)
class RemovalPreview:
    """Counts of what an anonymization of one member would remove."""

    photo: bool
    log_entries: int
    documents: int
    measurements: int
    exercises: int
    training_notes: int
    other_notes: int

    def notes(self, *, delete_all_notes: bool = False) -> int:
        """The notes that go: "training and health" ones, or every one."""
        return self.training_notes + (self.other_notes if delete_all_notes else 0)

    def lines(self, lang: Language, *, delete_all_notes: bool = False) -> list[str]:
        """One line per kind, in the chosen language.

        Args:
            lang: The language of the lines.
            delete_all_notes: Notes of every type go, not only "training and
                health" ones (:class:`~member_anonymization.AnonymizationOptions`).
        """
        return [
            text("cli.preview.personal_data", lang),
            text("cli.preview.photo" if self.photo else "cli.preview.no_photo", lang),
            text("cli.preview.log_entries", lang, count=self.log_entries),
            text("cli.preview.documents", lang, count=self.documents),
            text(
                "cli.preview.measurements",
                lang,
                measurements=self.measurements,
                exercises=self.exercises,
            ),
            text("cli.preview.notes", lang, count=self.notes(delete_all_notes=delete_all_notes)),
            text("cli.preview.finances", lang),
        ]


@final
@attrs.frozen(kw_only=True)
class KeptRecords:
    """Counts of what stays after an anonymization, linked to the anonymized member.

    Statistics and accounting rely on these; invoices and receipts stay exactly
    as issued. ``notes`` counts the notes of other types than "training and
    health" (none when every note goes).
    """

    contracts: int
    visits: int
    class_bookings: int
    installments: int
    purchases: int
    wallets: int
    collection_cases: int
    invoices: int
    receipts: int
    notes: int

    def lines(self, lang: Language) -> list[str]:
        """One line per kind, in the chosen language."""
        return [
            text("preview.kept.member", lang),
            text("preview.kept.contracts", lang, count=self.contracts),
            text("preview.kept.visits", lang, visits=self.visits, bookings=self.class_bookings),
            text(
                "preview.kept.finances",
                lang,
                installments=self.installments,
                purchases=self.purchases,
                wallets=self.wallets,
            ),
            text("preview.kept.collection_cases", lang, count=self.collection_cases),
            text("preview.kept.invoices", lang, invoices=self.invoices, receipts=self.receipts),
            text("preview.kept.notes", lang, count=self.notes),
        ]


@final
@attrs.frozen(kw_only=True)
class Finding:
    """A blocker or warning with its message in the preview's language.

    Attributes:
        kind: ``"blocker"`` or ``"warning"``.
        code: The stable code (``active_contract``, ``arrears``, ...).
        message: The message, in the preview's language.
        result: The typed blocker or warning, with its details.
    """

    kind: Literal["blocker", "warning"]
    code: str
    message: str
    result: Blocker | AnonymizationWarning


@final
@attrs.frozen(kw_only=True)
class AnonymizationPreview:
    """Everything an employee sees before confirming an anonymization.

    Attributes:
        member_id: The member.
        as_of: The day the rules were evaluated on.
        language: The language of the messages and lines.
        blockers: Every blocker; any one of them refuses the anonymization.
        warnings: Every warning; each becomes a reminder for its club.
        removed: What would be removed.
        kept: What would stay.
        delete_all_notes: Whether notes of every type would go.
    """

    member_id: MemberId
    as_of: dt.date
    language: Language
    blockers: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    removed: RemovalPreview
    kept: KeptRecords
    delete_all_notes: bool

    @property
    def eligible(self) -> bool:
        """No blocker applies: the member may be anonymized."""
        return not self.blockers

    @property
    def removed_lines(self) -> list[str]:
        """What would be removed, one line per kind, in :attr:`language`."""
        return self.removed.lines(self.language, delete_all_notes=self.delete_all_notes)

    @property
    def kept_lines(self) -> list[str]:
        """What would stay, one line per kind, in :attr:`language`."""
        return self.kept.lines(self.language)


def _removal(uow: UnitOfWork, member_id: MemberId, *, photo: bool) -> RemovalPreview:
    notes = list(uow.profile.notes_of(member_id))
    training = sum(1 for n in notes if n.note_type in DELETED_NOTE_TYPES)
    return RemovalPreview(
        photo=photo,
        log_entries=_count(uow.profile.log_entries_of(member_id)),
        documents=_count(uow.profile.documents_of(member_id)),
        measurements=_count(uow.profile.measurements_of(member_id)),
        exercises=_count(uow.profile.exercises_of(member_id)),
        training_notes=training,
        other_notes=len(notes) - training,
    )


def removal_preview(
    unit_of_work: UnitOfWorkFactory | Callable[[], UnitOfWork], member_id: MemberId
) -> RemovalPreview:
    """Count, without changing anything, what anonymizing ``member_id`` removes.

    Raises:
        UnknownMemberError: No such member.
    """
    with reading(unit_of_work)() as uow:
        member = uow.members.get(member_id)
        if member is None:
            raise UnknownMemberError(member_id)
        return _removal(uow, member_id, photo=member.photo is not None)


def _findings(
    kind: Literal["blocker", "warning"],
    results: Iterable[Blocker | AnonymizationWarning],
    lang: Language,
) -> tuple[Finding, ...]:
    return tuple(
        Finding(kind=kind, code=r.code, message=r.message(lang), result=r) for r in results
    )


def preview_anonymization(
    unit_of_work: UnitOfWorkFactory | Callable[[], UnitOfWork],
    member_id: MemberId,
    *,
    lang: Language = ENGLISH,
    as_of: dt.date | None = None,
    clock: Clock | None = None,
    options: AnonymizationOptions | None = None,
) -> AnonymizationPreview:
    """Every blocker and warning, what would go and what would stay. Changes nothing.

    Everything is read in one unit of work (a read-only one when the factory
    offers it), so the verdict and the counts describe one state. The verdict is
    :meth:`Anonymizer.check <member_anonymization.Anonymizer.check>`'s; the
    anonymization itself checks again on the locked member.

    Args:
        unit_of_work: Opens the unit of work to read in.
        member_id: The member.
        lang: The language of the messages (one of
            :data:`~member_anonymization.messages.LANGUAGES`).
        as_of: "Today"; by default the home club's local date.
        clock: The current time (for the default ``as_of``).
        options: The club's options (``delete_all_notes`` changes what goes).

    Raises:
        UnknownMemberError: No such member.
        UnknownClubError: A club the verdict needs is not in the network.
        UnknownLanguageError: ``lang`` is not a language of the catalogue.
    """
    text("cli.preview.title", lang)  # an unknown language fails before any reading
    chosen = options if options is not None else AnonymizationOptions()
    with reading(unit_of_work)() as uow:
        facts = member_facts(uow, member_id)
        clubs = uow.clubs.network_clubs()
        home = clubs.get(facts.member.home_club_id)
        if home is None:
            raise UnknownClubError(facts.member.home_club_id)
        day = as_of if as_of is not None else home.local_date((clock or SystemClock()).now())
        verdict = evaluate(facts, clubs=clubs, as_of=day)
        removed = _removal(uow, member_id, photo=facts.member.photo is not None)
        kept = KeptRecords(
            contracts=len(facts.contracts),
            visits=_count(uow.profile.visits_of(member_id)),
            class_bookings=_count(uow.profile.class_bookings_of(member_id)),
            installments=len(facts.installments),
            purchases=len(facts.purchases),
            wallets=len(facts.wallets),
            collection_cases=len(facts.collection_cases),
            invoices=_count(uow.accounting.invoices_of(member_id)),
            receipts=_count(uow.accounting.receipts_of(member_id)),
            notes=0 if chosen.delete_all_notes else removed.other_notes,
        )
    return AnonymizationPreview(
        member_id=member_id,
        as_of=verdict.as_of,
        language=lang,
        blockers=_findings("blocker", verdict.blockers, lang),
        warnings=_findings("warning", verdict.warnings, lang),
        removed=removed,
        kept=kept,
        delete_all_notes=chosen.delete_all_notes,
    )

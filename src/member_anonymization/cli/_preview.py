"""What an anonymization would remove, for the confirmation question."""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

import attrs

from member_anonymization.domain import NoteType
from member_anonymization.errors import UnknownMemberError
from member_anonymization.messages import Language, text
from member_anonymization.ports import UnitOfWorkFactory


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

    def lines(self, lang: Language, *, delete_all_notes: bool = False) -> list[str]:
        """One line per kind, in the chosen language.

        Args:
            lang: The language of the lines.
            delete_all_notes: Notes of every type go, not only "training and
                health" ones (:class:`~member_anonymization.AnonymizationOptions`).
        """
        notes = self.training_notes + (self.other_notes if delete_all_notes else 0)
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
            text("cli.preview.notes", lang, count=notes),
            text("cli.preview.finances", lang),
        ]


def removal_preview(unit_of_work: UnitOfWorkFactory, member_id: str) -> RemovalPreview:
    """Count, without changing anything, what anonymizing ``member_id`` removes."""
    with unit_of_work() as uow:
        member = uow.members.get(member_id)
        if member is None:
            raise UnknownMemberError(member_id)
        notes = list(uow.profile.notes_of(member_id))
        training = sum(1 for n in notes if n.note_type is NoteType.TRAINING_AND_HEALTH)
        return RemovalPreview(
            photo=member.photo is not None,
            log_entries=_count(uow.profile.log_entries_of(member_id)),
            documents=_count(uow.profile.documents_of(member_id)),
            measurements=_count(uow.profile.measurements_of(member_id)),
            exercises=_count(uow.profile.exercises_of(member_id)),
            training_notes=training,
            other_notes=len(notes) - training,
        )

"""The message catalogue: complete in every language, and open to a new language as data."""

from __future__ import annotations

import datetime as dt
import json
import string
import typing
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from member_anonymization.anonymizer import AnonymizationOptions, Anonymized, Anonymizer
from member_anonymization.cli import app
from member_anonymization.domain import NoteType
from member_anonymization.errors import MemberAnonymizationError
from member_anonymization.messages import (
    CATALOGUE,
    ENGLISH,
    LANGUAGES,
    Catalogue,
    UnknownLanguageError,
    text,
)
from member_anonymization.policy import (
    BLOCKER_CODES,
    WARNING_CODES,
    ActiveContract,
    AlreadyAnonymized,
    AnonymizationWarning,
    Arrears,
    ArrearsUnderCollection,
    Blocker,
    FutureContract,
    OpenCollectionCase,
    ProcessingRestricted,
    UnpaidPurchases,
    WalletFunds,
)
from member_anonymization.preview import RemovalPreview, removal_preview
from member_anonymization.testing import InMemoryStore
from tests import builders as b

START = dt.date(2019, 1, 1)


def fields_of(template: str) -> set[str]:
    """The named fields of a ``str.format`` template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def one_of_each() -> list[Blocker | AnonymizationWarning]:
    """A result of every class, with an open-ended and an ending active contract."""
    return [
        ActiveContract(contract_id="k1", club_id="c1", start=START, effective_end=None),
        ActiveContract(
            contract_id="k1", club_id="c1", start=START, effective_end=dt.date(2027, 1, 31)
        ),
        FutureContract(contract_id="k2", club_id="c1", start=dt.date(2027, 2, 1)),
        OpenCollectionCase(case_id="w1", club_id="c1", opened_on=START),
        WalletFunds(amount=Decimal("12.50"), currency="PLN"),
        ProcessingRestricted(),
        AlreadyAnonymized(anonymized_at=dt.datetime(2025, 1, 1, 23, tzinfo=dt.UTC)),
        ArrearsUnderCollection(
            club_id="c1", amount=Decimal("99.00"), currency="PLN", installment_ids=("i1",)
        ),
        UnpaidPurchases(club_id="c2", amount=Decimal("4.00"), currency="PLN", purchase_ids=("p1",)),
        Arrears(club_id="c2", amount=Decimal("49.00"), currency="PLN", installment_ids=("i2",)),
    ]


# -- the package's catalogue is complete ---------------------------------------------------------


def test_languages_are_english_first_then_the_others() -> None:
    """English comes first; English and Polish are both there."""
    assert LANGUAGES[0] == ENGLISH
    assert "pl" in LANGUAGES
    assert list(LANGUAGES[1:]) == sorted(LANGUAGES[1:])
    assert tuple(CATALOGUE.templates) == LANGUAGES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_key(lang: str) -> None:
    """Each language holds exactly the keys of every other language."""
    for other in LANGUAGES:
        assert set(CATALOGUE.templates[lang]) == set(CATALOGUE.templates[other]), (lang, other)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_templates_have_the_same_fields_in_every_language(lang: str) -> None:
    """Each template names the same plain fields as its English original."""
    for key, template in CATALOGUE.templates[lang].items():
        english = CATALOGUE.templates[ENGLISH][key]
        assert fields_of(template) == fields_of(english), (lang, key)
        assert all(name.isidentifier() for name in fields_of(template)), (lang, key)
        assert template.strip() == template, (lang, key)
        assert template, (lang, key)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_blocker_and_warning_code_has_a_message(lang: str) -> None:
    """Every code of the policy has its message, and no message lacks a code."""
    keys = set(CATALOGUE.templates[lang])
    assert {f"blocker.{code}" for code in BLOCKER_CODES} <= keys
    assert {f"warning.{code}" for code in WARNING_CODES} <= keys
    assert {k for k in keys if k.startswith("blocker.")} == {f"blocker.{c}" for c in BLOCKER_CODES}
    assert {k for k in keys if k.startswith("warning.")} == {f"warning.{c}" for c in WARNING_CODES}


def test_one_of_each_covers_every_class() -> None:
    """The results rendered below include every blocker and warning class."""
    classes = {*typing.get_args(Blocker), *typing.get_args(AnonymizationWarning)}
    assert {type(r) for r in one_of_each()} == classes


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_result_renders_in_every_language(lang: str) -> None:
    """``message()`` of every result fills every field in every language."""
    for result in one_of_each():
        message = result.message(lang)
        assert message.strip(), (lang, result)
        assert "{" not in message, (lang, result)
        assert "}" not in message, (lang, result)
        assert result.message() == result.message(ENGLISH)


def test_values_are_formatted_in_one_way() -> None:
    """Dates as ISO days, decimals as written, a missing end as the language's word."""
    open_ended = ActiveContract(contract_id="k1", club_id="c1", start=START, effective_end=None)
    assert open_ended.message("en") == (
        "Contract k1 in club c1 is active (from 2019-01-01 to open-ended)."
    )
    assert open_ended.message("pl") == (
        "Klubowicz ma aktywną umowę k1 w klubie c1 (od 2019-01-01 do bezterminowo)."
    )
    done = AlreadyAnonymized(anonymized_at=dt.datetime(2025, 1, 1, 23, tzinfo=dt.UTC))
    assert done.message() == "The member is already anonymized (2025-01-01)."
    funds = WalletFunds(amount=Decimal("12.50"), currency="PLN")
    assert funds.message() == "The member's wallet holds 12.50 PLN."


# -- languages that do not exist -----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "", "EN", "en-GB"])
def test_an_unknown_language_raises_the_typed_error(lang: str) -> None:
    """Asking for a language without a catalogue raises UnknownLanguageError."""
    with pytest.raises(UnknownLanguageError) as caught:
        text("cli.confirm.declined", lang)
    assert isinstance(caught.value, MemberAnonymizationError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.language == lang
    assert caught.value.available == LANGUAGES
    with pytest.raises(UnknownLanguageError):
        ProcessingRestricted().message(lang)


def test_an_unknown_key_is_a_key_error() -> None:
    """A key that no language has is a programming error."""
    with pytest.raises(KeyError):
        text("cli.no.such.key", ENGLISH)


# -- a third language is a data change ------------------------------------------------------------


def write_catalogue(folder: Path, lang: str, templates: dict[str, str]) -> None:
    """Write one language's file, as the package holds it."""
    (folder / f"{lang}.json").write_text(
        json.dumps(templates, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def test_a_third_language_beside_the_others_is_picked_up(tmp_path: Path) -> None:
    """A ``de.json`` next to the package's files becomes a language; gaps show in English."""
    for lang in LANGUAGES:
        write_catalogue(tmp_path, lang, dict(CATALOGUE.templates[lang]))
    write_catalogue(
        tmp_path,
        "de",
        {
            "cli.confirm.question": "Mitglied {member_id} anonymisieren?",
            "value.no_end_date": "unbefristet",
        },
    )
    catalogue = Catalogue.load(tmp_path)
    assert catalogue.languages == (ENGLISH, "de", *LANGUAGES[1:])
    assert catalogue.text("cli.confirm.question", "de", member_id="m1") == (
        "Mitglied m1 anonymisieren?"
    )
    assert catalogue.text("cli.confirm.declined", "de") == "Nothing was changed."
    assert catalogue.text(
        "blocker.active_contract",
        "de",
        contract_id="k1",
        club_id="c1",
        start=START,
        effective_end=None,
    ) == ("Contract k1 in club c1 is active (from 2019-01-01 to unbefristet).")
    for lang in LANGUAGES:
        assert catalogue.templates[lang] == CATALOGUE.templates[lang]
    with pytest.raises(UnknownLanguageError):
        catalogue.text("cli.confirm.declined", "cs")


def test_a_broken_translation_falls_back_to_english(tmp_path: Path) -> None:
    """A template naming a field nobody passes shows the English message instead."""
    write_catalogue(tmp_path, ENGLISH, {"greeting": "Hello {name}."})
    write_catalogue(tmp_path, "cs", {"greeting": "Ahoj {jmeno}."})
    catalogue = Catalogue.load(tmp_path)
    assert catalogue.text("greeting", "cs", name="m1") == "Hello m1."


def test_a_catalogue_needs_english(tmp_path: Path) -> None:
    """A folder without ``en.json`` is refused."""
    write_catalogue(tmp_path, "pl", {"greeting": "Cześć."})
    with pytest.raises(ValueError, match="English"):
        Catalogue.load(tmp_path)


def test_a_catalogue_file_must_hold_texts(tmp_path: Path) -> None:
    """A file that is not one JSON object of texts is refused."""
    write_catalogue(tmp_path, ENGLISH, {"greeting": "Hello."})
    (tmp_path / "pl.json").write_text('{"greeting": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"pl\.json"):
        Catalogue.load(tmp_path)


def test_the_command_line_offers_every_language() -> None:
    """``--lang`` lists exactly the catalogue's languages."""
    shown = CliRunner().invoke(app, ["check", "--help"]).output
    assert f"--lang <{'|'.join(LANGUAGES)}>" in shown


# -- the confirmation's preview ------------------------------------------------------------------


def preview() -> RemovalPreview:
    """Counts with two training notes and three other notes."""
    return RemovalPreview(
        photo=True,
        log_entries=1,
        documents=1,
        measurements=1,
        exercises=1,
        training_notes=2,
        other_notes=3,
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_preview_counts_every_note_when_every_note_goes(lang: str) -> None:
    """With ``delete_all_notes`` the notes line counts notes of every type."""
    notes_line = 5
    assert preview().lines(lang)[notes_line] == text("cli.preview.notes", lang, count=2)
    assert preview().lines(lang, delete_all_notes=True)[notes_line] == text(
        "cli.preview.notes", lang, count=5
    )


def test_the_preview_lines_read_as_before() -> None:
    """The English lines of the confirmation."""
    assert preview().lines("en", delete_all_notes=True) == [
        "personal data (names, e-mail, phone, address, birth date, national id)",
        "photo: yes",
        "log entries: 1",
        "documents: 1",
        "measurements: 1, exercises: 1",
        "training and health notes: 5",
        "the Finances tab disappears from the profile (invoices stay unchanged)",
    ]


@pytest.mark.parametrize("delete_all_notes", [False, True])
def test_the_preview_counts_what_anonymization_removes(delete_all_notes: bool) -> None:
    """The previewed note count is what an anonymization with the same option deletes."""
    store = InMemoryStore(
        b.dataset(
            b.member("m1"),
            *b.profile_records("m1"),
            b.note("ng2-m1", member_id="m1", note_type=NoteType.GENERAL),
        )
    )
    counted = removal_preview(store.unit_of_work, "m1")
    assert (counted.training_notes, counted.other_notes) == (1, 2)
    options = AnonymizationOptions(delete_all_notes=delete_all_notes)
    result = Anonymizer(store.unit_of_work, options=options).anonymize(
        "m1", actor="e1", as_of=b.TODAY
    )
    assert isinstance(result, Anonymized)
    expected = text("cli.preview.notes", ENGLISH, count=result.removed.notes)
    assert counted.lines(ENGLISH, delete_all_notes=delete_all_notes)[5] == expected

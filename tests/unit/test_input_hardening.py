"""JSON from outside: parsing rules, integer bounds, safe messages, every problem at once.

Dataset files and exports come from other programs. Whatever they hold (deep
nesting, huge integers, a byte-order mark, duplicate keys, control characters,
a ZIP bomb), reading them ends in the library's documented ``DatasetError``
naming where the problem is, never in a ``RecursionError``, ``ValueError`` or
``OverflowError``, and never echoing a value.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from member_anonymization import DatasetError, structure_dataset
from member_anonymization.domain import Exercise, InvalidRecordError
from member_anonymization.export import EXPORT_FORMAT, read_export
from member_anonymization.serialization import unstructure_dataset

EXAMPLE = Path(__file__).parent.parent / "data" / "spec_example.json"
BOM = b"\xef\xbb\xbf"
LINE_COLUMN = re.compile(r"line \d+, column \d+")


def example() -> dict[str, Any]:
    """A fresh copy of the specification's example dataset (valid)."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def export_document() -> dict[str, Any]:
    """A valid export of the example's member, built from the dataset shapes."""
    data = example()
    return {
        "format": EXPORT_FORMAT,
        "exported_at": "2026-11-27T09:30:00+00:00",
        "member_id": "m1",
        "omitted": [],
        "member": data["members"][0],
        "exercises": data["exercises"],
        "visits": data["visits"],
    }


def zipped(payload: bytes, name: str = "export.json") -> bytes:
    """An archive holding ``payload`` under ``name``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, payload)
    return out.getvalue()


def only_problem(error: DatasetError) -> str:
    """The message of the single problem of ``error``."""
    (problem,) = error.problems
    return str(problem)


def deep(levels: int) -> str:
    """Arrays nested ``levels`` deep."""
    return "[" * levels + "]" * levels


# --------------------------------------------------------------------------- parse_json


def test_parse_json_reads_plain_json_from_text_and_bytes() -> None:
    """The one safe way to parse: text or bytes, the same values as json.loads."""
    from member_anonymization.serialization import parse_json

    text = EXAMPLE.read_text(encoding="utf-8")
    assert parse_json(text) == json.loads(text)
    assert parse_json(text.encode("utf-8")) == json.loads(text)
    assert parse_json('{"n": -12, "x": 1.5, "s": "\\u0142", "l": [true, null]}') == {
        "n": -12,
        "x": 1.5,
        "s": "ł",
        "l": [True, None],
    }


def test_parse_json_accepts_a_byte_order_mark() -> None:
    """A UTF-8 byte-order mark (as some editors write) is accepted and dropped."""
    from member_anonymization.serialization import parse_json

    text = EXAMPLE.read_text(encoding="utf-8")
    assert parse_json(BOM + text.encode("utf-8")) == json.loads(text)
    assert parse_json("\ufeff" + text) == json.loads(text)


def test_parse_json_rejects_deep_nesting_naming_the_place() -> None:
    """JSON nested 1,000 deep is a DatasetError, not a RecursionError."""
    from member_anonymization.serialization import MAX_JSON_DEPTH, parse_json

    for levels in (MAX_JSON_DEPTH + 1, 1_000, 100_000):
        with pytest.raises(DatasetError) as caught:
            parse_json(deep(levels))
        message = only_problem(caught.value)
        assert f"deeper than {MAX_JSON_DEPTH} levels" in message
        assert f"line 1, column {MAX_JSON_DEPTH + 1}" in message
    assert parse_json(deep(MAX_JSON_DEPTH))


def test_parse_json_rejects_deep_objects_in_a_long_document() -> None:
    """Depth is found past the first line too, inside objects, and past strings with brackets."""
    from member_anonymization.serialization import MAX_JSON_DEPTH, parse_json

    nested = '{"a": ' * (MAX_JSON_DEPTH + 5) + "1" + "}" * (MAX_JSON_DEPTH + 5)
    text = '{\n"s": "[[[[{{{{ \\" [[[",\n"deep": ' + nested + "\n}"
    with pytest.raises(DatasetError) as caught:
        parse_json(text)
    assert "line 3, column " in only_problem(caught.value)
    shallow = '{"s": "' + "[" * 500 + '", "t": [' + "{}," * 500 + "{}]}"
    assert parse_json(shallow)["s"] == "[" * 500


def test_parse_json_rejects_an_integer_of_thousands_of_digits() -> None:
    """Beyond the digits Python parses (4,300) is a DatasetError, and the digits never show."""
    from member_anonymization.serialization import parse_json

    digits = "7" * 5_000
    with pytest.raises(DatasetError) as caught:
        parse_json('{"members": [\n  {"sets": ' + digits + "}]}")
    message = only_problem(caught.value)
    assert "integer" in message
    assert "line 2, column 12" in message
    assert "7777" not in message
    assert parse_json(str(2**70)) == 2**70


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_parse_json_rejects_what_is_not_json(constant: str) -> None:
    """NaN and Infinity are not JSON, though Python's json module reads them."""
    from member_anonymization.serialization import parse_json

    with pytest.raises(DatasetError) as caught:
        parse_json('{"value": ' + constant + "}")
    assert "line 1, column 11" in only_problem(caught.value)


def test_parse_json_rejects_duplicate_keys_naming_the_place() -> None:
    """A key given twice in one object is an error (json.loads keeps the last silently)."""
    from member_anonymization.serialization import parse_json

    text = '{"members": [{"id": "m1",\n "email": "a@example.com",\n "email": "b@example.com"}]}'
    with pytest.raises(DatasetError) as caught:
        parse_json(text)
    message = only_problem(caught.value)
    assert "duplicate key email" in message
    assert "line 3, column 2" in message
    assert "example.com" not in message
    assert parse_json('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]


def test_parse_json_shows_a_duplicate_key_that_is_no_plain_name_by_position() -> None:
    """A key that is not a plain name may be anything, personal data included."""
    from member_anonymization.serialization import parse_json

    with pytest.raises(DatasetError) as caught:
        parse_json('{"a": 1, "Jan Kowalski": 2, "Jan Kowalski": 3}')
    message = only_problem(caught.value)
    assert "Jan" not in message
    assert "#3" in message


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"a": [1, 2,]}', "line 1, column 13"),
        (b'{"a": 1}\n{"b": 2}', "line 2, column 1"),
        (b'{"a": "\xff"}', "line 1"),
        (b"", "line 1, column 1"),
    ],
    ids=["syntax", "extra-data", "not-utf8", "empty"],
)
def test_parse_json_names_the_line_of_a_broken_document(raw: bytes, where: str) -> None:
    """Syntax errors and bad UTF-8 name their line (and column)."""
    from member_anonymization.serialization import parse_json

    with pytest.raises(DatasetError) as caught:
        parse_json(raw)
    assert where in only_problem(caught.value)


# --------------------------------------------------------------------------- integer bounds


def test_a_count_beyond_64_bits_is_an_invalid_record() -> None:
    """Counts must fit the database's integer columns: 2**63 is refused, MAX_COUNT accepted."""
    from member_anonymization.domain._checks import MAX_COUNT

    assert MAX_COUNT == 2**31 - 1
    day = dt.date(2019, 2, 1)
    with pytest.raises(InvalidRecordError) as caught:
        Exercise(id="x1", member_id="m1", planned_on=day, name="Squat", sets=2**63)
    assert [p.field for p in caught.value.problems] == ["sets"]
    assert str(2**63) not in str(caught.value)
    assert Exercise(id="x1", member_id="m1", planned_on=day, name="Squat", reps=MAX_COUNT).reps


@pytest.mark.parametrize(
    ("collection", "path", "field"),
    [
        ("exercises", ("sets",), "sets"),
        ("exercises", ("reps",), "reps"),
        (
            "clubs",
            ("retention", "months_after_contract_end"),
            "retention.months_after_contract_end",
        ),
    ],
)
def test_a_dataset_integer_beyond_64_bits_names_record_and_field(
    collection: str, path: tuple[str, ...], field: str
) -> None:
    """2**70 in an integer field is reported where it is, before it can reach a database."""
    from member_anonymization.domain._checks import MAX_COUNT

    data = example()
    target = data[collection][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = 2**70
    with pytest.raises(DatasetError) as caught:
        structure_dataset(data)
    (problem,) = caught.value.problems
    assert (problem.collection, problem.index, problem.field) == (collection, 0, field)
    assert str(2**70) not in str(problem)
    target[path[-1]] = MAX_COUNT + 1
    with pytest.raises(DatasetError):
        structure_dataset(data)
    target[path[-1]] = MAX_COUNT
    assert structure_dataset(data)


# --------------------------------------------------------------------------- read_export


def export_bytes(document: dict[str, Any] | None = None) -> bytes:
    return json.dumps(document or export_document()).encode("utf-8")


def hostile_exports() -> dict[str, bytes]:
    """Export documents that must each be a DatasetError."""
    good = export_bytes().decode("utf-8")
    return {
        "deep": ('{"format": ' + deep(1_000) + "}").encode(),
        "very-deep": deep(200_000).encode(),
        "huge-int": good.replace('"sets": 5', '"sets": ' + "9" * 5_000).encode(),
        "int-beyond-64-bits": good.replace('"sets": 5', f'"sets": {2**70}').encode(),
        "duplicate-key": good.replace(
            '"member_id": "m1"', '"member_id": "m1", "member_id": "m1"', 1
        ).encode(),
        "nan": good.replace('"sets": 5', '"sets": NaN').encode(),
    }


@pytest.mark.parametrize("case", sorted(hostile_exports()))
@pytest.mark.parametrize("container", ["json", "zip"])
def test_read_export_raises_only_its_documented_error(case: str, container: str) -> None:
    """Hostile JSON, bare or inside a ZIP, is a DatasetError naming where."""
    raw = hostile_exports()[case]
    if container == "zip":
        raw = zipped(raw)
    with pytest.raises(DatasetError) as caught:
        read_export(raw)
    text = caught.value.describe()
    assert "9999" not in text
    assert str(2**70) not in text
    if case != "int-beyond-64-bits":
        assert LINE_COLUMN.search(text), text
    else:
        (problem,) = caught.value.problems
        assert (problem.collection, problem.index, problem.field) == ("exercises", 0, "sets")


def test_read_export_accepts_a_byte_order_mark_in_json_and_zip() -> None:
    """A byte-order mark is dropped, bare or inside the archive."""
    plain = read_export(export_bytes())
    assert read_export(BOM + export_bytes()) == plain
    assert read_export(zipped(BOM + export_bytes())) == plain


def bomb(size: int) -> bytes:
    """A small ZIP whose ``export.json`` expands to ``size`` bytes of white space."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("export.json", "w", force_zip64=True) as entry,
    ):
        chunk = b" " * (1 << 20)
        for _ in range(size // len(chunk)):
            entry.write(chunk)
        entry.write(b" " * (size % len(chunk)))
    return out.getvalue()


def test_read_export_refuses_an_archive_that_expands_beyond_the_limit() -> None:
    """A ZIP bomb is refused from its declared size, before anything is expanded."""
    from member_anonymization.export._reader import MAX_EXPORT_SIZE

    assert MAX_EXPORT_SIZE == 256 * 1024 * 1024
    archive = bomb(8 << 20)
    assert len(archive) < 100_000
    with pytest.raises(DatasetError) as caught:
        read_export(archive, max_size=4 << 20)
    message = only_problem(caught.value)
    assert "expands beyond" in message
    assert "4194304 bytes" in message
    with pytest.raises(DatasetError) as caught:
        read_export(archive, max_size=16 << 20)
    assert "expands beyond" not in only_problem(caught.value)


def test_read_export_refuses_a_json_export_beyond_the_limit(tmp_path: Path) -> None:
    """The same limit holds for a bare JSON export, from bytes, a path or a stream."""
    raw = export_bytes()
    path = tmp_path / "export.json"
    path.write_bytes(raw)
    for source in (raw, path, io.BytesIO(raw)):
        with pytest.raises(DatasetError) as caught:
            read_export(source, max_size=len(raw) - 1)
        assert "larger than" in only_problem(caught.value)
    assert read_export(path, max_size=len(raw)).member_id == "m1"


# --------------------------------------------------------------------------- safe messages

CONTROL = ("\x1b", "\n", "\r", "\x00", "\u202e")


def assert_safe(error: DatasetError, *, longest: int = 400) -> None:
    """No control character and no overlong line in any message of ``error``."""
    texts = [str(error), error.describe()]
    for problem in error.problems:
        texts.extend([problem.message, problem.record_id or "", problem.field or ""])
    for text in texts:
        for char in CONTROL:
            if char == "\n" and text is texts[1]:
                continue
            assert char not in text, (char, text[:200])
    for line in error.describe().splitlines():
        assert len(line) <= longest, line[:200]


def test_unknown_keys_with_control_characters_are_shown_by_position() -> None:
    """An unknown key that is not a plain name is shown by its position, never raw."""
    data = example()
    data["zzz_plain"] = 1
    data["\x1b[2J\x1b[31mevil\r\n"] = 2
    data["Jan Kowalski"] = 3
    data["members"][0]["nick\nname"] = "Janek"
    data["members"][0]["address"]["flat\x1b"] = "3"
    with pytest.raises(DatasetError) as caught:
        structure_dataset(data)
    assert_safe(caught.value)
    described = caught.value.describe()
    assert "Jan Kowalski" not in described
    top, *members = caught.value.problems
    assert top.message == "unknown keys: zzz_plain, #23, #24"
    assert {(p.collection, p.index, p.field, p.message) for p in members} == {
        ("members", 0, None, "unknown key: #14"),
        ("members", 0, "address", "unknown key: #5"),
    }


def test_unknown_key_of_100_kilobytes_stays_short() -> None:
    """A huge key never becomes a huge line."""
    data = example()
    data["k" * 100_000] = 1
    data["visits"][0]["v" * 100_000] = 1
    with pytest.raises(DatasetError) as caught:
        structure_dataset(data)
    assert_safe(caught.value, longest=200)


def test_ids_with_control_characters_are_escaped_in_problems() -> None:
    """An id is shown (ids are not personal data), but escaped: no raw control character."""
    data = example()
    evil = "v\x1b[2J\r\nid\u202e"
    data["visits"][0]["id"] = evil
    data["visits"][0]["entered_at"] = "yesterday"
    data["visits"].append({**example()["visits"][0], "id": "x" * 150 + "\x1b", "left_at": 5})
    with pytest.raises(DatasetError) as caught:
        structure_dataset(data)
    assert_safe(caught.value)
    first, second = caught.value.problems
    assert first.record_id == "v\\x1b[2J\\r\\nid\\u202e"
    assert second.record_id is not None
    assert second.record_id.startswith("x" * 150 + "\\x1b")


def test_an_id_of_100_kilobytes_never_becomes_a_long_line() -> None:
    """An overlong id is not shown at all (it is itself the problem)."""
    data = example()
    data["visits"][0]["id"] = "\x1b" + "v" * 100_000
    data["members"][0]["id"] = "m" * 100_000
    with pytest.raises(DatasetError) as caught:
        structure_dataset(data)
    assert_safe(caught.value, longest=300)


def test_export_problems_are_safe_too() -> None:
    """The export reader shows unknown keys and ids the same way."""
    document = export_document()
    document["\x1b]0;pwned\x07"] = 1
    document["visits"][0]["id"] = "v\x1bx"
    document["visits"][0]["left_at"] = "soon"
    with pytest.raises(DatasetError) as caught:
        read_export(export_bytes(document))
    assert_safe(caught.value)
    assert any(p.message == "unknown keys: #8" for p in caught.value.problems)
    assert any(p.record_id == "v\\x1bx" for p in caught.value.problems)


# --------------------------------------------------------------------------- every problem


def many_problems() -> tuple[dict[str, Any], list[tuple[str, int, str]]]:
    """A file with a few hundred problems of different kinds, and where each one is."""
    data = example()
    expected: list[tuple[str, int, str]] = []
    visits: list[dict[str, Any]] = []
    template = example()["visits"][0]
    for n in range(400):
        visit = {**template, "id": f"v{n:04}"}
        kind = n % 5
        if kind == 1:
            visit["entered_at"] = "not a time"
            expected.append(("visits", n, "entered_at"))
        elif kind == 2:
            visit["id"] = f"v{n - 2:04}"
            expected.append(("visits", n, "id"))
        elif kind == 3:
            visit["member_id"] = f"m-missing-{n}"
            expected.append(("visits", n, "member_id"))
        elif kind == 4 and n % 10 == 4:
            visit["id"] = f"v{n - 1:04}"
            visit["club_id"] = "c-missing"
            expected.append(("visits", n, "id"))
            expected.append(("visits", n, "club_id"))
        visits.append(visit)
    data["visits"] = visits
    data["contracts"][0]["start"] = "2019-02-30"
    expected.insert(0, ("contracts", 0, "start"))
    data["notes"][1]["member_id"] = "m-gone"
    expected.append(("notes", 1, "member_id"))
    return data, expected


def test_every_problem_of_every_kind_is_reported_in_file_order() -> None:
    """Invalid values, duplicate ids and dangling references: all at once, in file order."""
    data, expected = many_problems()
    with pytest.raises(DatasetError) as caught:
        structure_dataset(data)
    found = [(p.collection, p.index, p.field) for p in caught.value.problems]
    assert found == expected
    assert len(found) > 300
    assert str(caught.value).endswith(f"(and {len(expected) - 1} more problems)")


def test_an_invalid_record_referred_to_is_not_reported_again_as_missing() -> None:
    """A reference to a record that is itself invalid is not a second problem."""
    data = example()
    data["members"][0]["birth_date"] = "1990-02-30"
    with pytest.raises(DatasetError) as caught:
        structure_dataset(data)
    (problem,) = caught.value.problems
    assert (problem.collection, problem.field) == ("members", "birth_date")


def test_a_valid_file_still_round_trips() -> None:
    """None of the checks above changes what a valid file reads as."""
    assert unstructure_dataset(structure_dataset(example())) == example()


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (BOM + EXAMPLE.read_bytes(), 0, "Loaded"),
        (
            EXAMPLE.read_bytes().replace(b'"sets": 5', b'"sets": 5, "sets": 6'),
            2,
            "duplicate key sets (line ",
        ),
        (EXAMPLE.read_bytes().replace(b'"sets": 5', b'"sets": ' + b"[" * 5_000), 2, "deeper than"),
        (EXAMPLE.read_bytes().replace(b'"sets": 5', b'"sets": ' + b"9" * 5_000), 2, "digits"),
    ],
    ids=["bom", "duplicate-key", "deep", "huge-int"],
)
def test_the_command_line_load_parses_safely(
    tmp_path: Path, content: bytes, code: int, message: str
) -> None:
    """``load`` accepts a byte-order mark and refuses hostile JSON with one sentence."""
    pytest.importorskip("typer")
    pytest.importorskip("sqlalchemy")
    from typer.testing import CliRunner

    from member_anonymization.cli import app

    path = tmp_path / "dataset.json"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "db.sqlite"), "load", str(path)])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert "9999" not in result.output

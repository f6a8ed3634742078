"""End to end: the gym application anonymizes a member through its adapter."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.gym_app import mapping
from examples.gym_app.adapter import GymDatabase
from examples.gym_app.app import ANNA, JAN, RECEPTION, TRAINER, connect, create_schema, seed
from member_anonymization import (
    Anonymized,
    Anonymizer,
    Exported,
    Exporter,
    NotPermitted,
    Refused,
    RetentionSweep,
    read_export,
)
from member_anonymization.domain import RequestChannel
from member_anonymization.erasure import RequestDesk, RequestProcessor, RequestReceived
from member_anonymization.testing import FixedClock

AS_OF = dt.date(2026, 11, 27)
NOW = dt.datetime.fromisoformat("2026-11-27T13:45:00+01:00")

TABLES = (
    "siec",
    "kluby",
    "people",
    "uprawnienia",
    "umowy",
    "portfele",
    "windykacja",
    "payments_plan",
    "zakupy",
    "faktury",
    "faktury_pozycje",
    "paragony",
    "wejscia",
    "rezerwacje",
    "pomiary",
    "cwiczenia",
    "notatki",
    "log_profilu",
    "dokumenty",
    "przypomnienia",
    "audyt",
    "wnioski_rodo",
    "do_wyslania",
)
KEPT = ("umowy", "portfele", "payments_plan", "zakupy", "faktury", "paragony", "wejscia")
"""Tables whose rows of an anonymized member stay exactly as they were."""


@pytest.fixture
def gym(tmp_path: Path) -> Path:
    """A gym database file with the application's schema and its seed."""
    path = tmp_path / "gym.sqlite"
    connection = connect(path)
    try:
        create_schema(connection)
        seed(connection)
    finally:
        connection.close()
    return path


@pytest.fixture
def db(gym: Path) -> Iterator[sqlite3.Connection]:
    """A connection for reading the application's tables directly."""
    connection = connect(gym)
    try:
        yield connection
    finally:
        connection.close()


def rows(
    db: sqlite3.Connection, table: str, where: str = "", *params: object
) -> list[tuple[object, ...]]:
    """The table's rows as plain tuples, in a stable order."""
    sql = f"SELECT * FROM {table} {where} ORDER BY rowid"
    return [tuple(row) for row in db.execute(sql, params)]


def everything(db: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table."""
    return {table: rows(db, table) for table in TABLES}


def of(db: sqlite3.Connection, table: str, person: str) -> list[tuple[object, ...]]:
    """The person's rows of a table."""
    column = "id" if table == "people" else "osoba_id"
    return rows(db, table, f"WHERE {column} = ?", person)


def anonymizer(gym: Path) -> Anonymizer:
    """The library's anonymizer over the gym database."""
    return Anonymizer(GymDatabase(gym).unit_of_work, clock=FixedClock(NOW))


def test_anonymizing_a_member_changes_exactly_the_gym_tables_it_should(
    gym: Path, db: sqlite3.Connection
) -> None:
    """Anonymizing Jan replaces his personal data, deletes his records, keeps accounting."""
    before = everything(db)
    kept = {table: of(db, table, JAN) for table in KEPT}
    anna = {
        table: of(db, table, ANNA)
        for table in TABLES
        if table not in ("siec", "kluby", "faktury_pozycje")
    }

    result = anonymizer(gym).anonymize(JAN, actor=RECEPTION, as_of=AS_OF)

    assert isinstance(result, Anonymized)
    assert [w.code for w in result.warnings] == ["unpaid_purchases"]
    jan = db.execute("SELECT * FROM people WHERE id = ?", (JAN,)).fetchone()
    assert (jan["imie"], jan["nazwisko"]) == ("Anonymized", "Member")
    for column in (*mapping.PERSONAL_COLUMNS[2:], "zdjecie", "zdjecie_mime"):
        assert jan[column] is None, column
    assert mapping.instant(jan["zanonimizowano_utc"], jan["zanonimizowano_tz"]) == NOW
    assert (jan["klub_id"], jan["zarejestrowano"]) == ("WAW-1", "2018-03-01")
    for table in ("log_profilu", "dokumenty", "pomiary", "cwiczenia"):
        assert of(db, table, JAN) == [], table
    assert [row[0] for row in of(db, "notatki", JAN)] == ["N-2"]
    assert {table: of(db, table, JAN) for table in KEPT} == kept
    assert rows(db, "faktury_pozycje") == before["faktury_pozycje"]
    buyers = [tuple(row) for row in db.execute("SELECT nabywca, nabywca_adres FROM faktury")]
    assert buyers == [("Jan Kowalski", "Długa 5/3, 00-238 Warszawa")]
    assert db.execute("SELECT kontrahent FROM paragony").fetchone()[0] == "Jan Kowalski"
    reminder = db.execute("SELECT * FROM przypomnienia").fetchall()
    assert [(r["osoba_id"], r["klub_id"], r["rodzaj"], r["kwota_gr"]) for r in reminder] == [
        (JAN, "KRK-1", "unpaid_purchases", 750)
    ]
    audit = [tuple(row)[2:] for row in db.execute("SELECT * FROM audyt")]
    assert audit == [
        (
            RECEPTION,
            *mapping.epoch(NOW),
            "RECZNIE",
            "ANONIMIZACJA",
            1,
            1,
            1,
            1,
            1,
            1,
            1,
            "2026-11-27",
        )
    ]
    assert {table: of(db, table, ANNA) for table in anna} == anna


def test_no_copy_of_the_removed_data_survives_in_the_file(gym: Path) -> None:
    """After anonymization the database file holds none of the removed values or bytes."""
    removed = (
        b"90041212345",
        b"jan.kowalski@example.com",
        b"+48600100200",
        b"portrait of Jan Kowalski",
        b"Kontuzja kolana",
        b"dowod osobisty Jan Kowalski",
        b"podpisana przez Jan Kowalski",
    )
    assert all(value in gym.read_bytes() for value in removed)
    assert isinstance(anonymizer(gym).anonymize(JAN, actor=RECEPTION, as_of=AS_OF), Anonymized)
    content = gym.read_bytes()
    assert [value for value in removed if value in content] == []


def test_a_refused_anonymization_changes_no_table(gym: Path, db: sqlite3.Connection) -> None:
    """Anna has a running contract and wallet funds: refused, and nothing changes."""
    before = everything(db)
    result = anonymizer(gym).anonymize(ANNA, actor=RECEPTION, as_of=AS_OF)
    assert isinstance(result, Refused)
    assert sorted(b.code for b in result.blockers) == ["active_contract", "wallet_funds"]
    assert everything(db) == before


def test_an_employee_without_the_permission_changes_nothing(
    gym: Path, db: sqlite3.Connection
) -> None:
    """The trainer's permissions (SPRZEDAZ, GRAFIK) do not include ANONIMIZACJA."""
    before = everything(db)
    result = anonymizer(gym).anonymize(JAN, actor=TRAINER, as_of=AS_OF)
    assert isinstance(result, NotPermitted)
    assert everything(db) == before


def test_export_first_then_anonymize(gym: Path, db: sqlite3.Connection, tmp_path: Path) -> None:
    """The export holds Jan's data from the gym tables; the anonymization follows it."""
    exporter = Exporter(GymDatabase(gym).unit_of_work, clock=FixedClock(NOW))
    exported = exporter.export(JAN, tmp_path / "jan.json", actor=RECEPTION)
    assert isinstance(exported, Exported)
    export = read_export(tmp_path / "jan.json")
    assert export.member.personal.national_id == "90041212345"
    assert [n.id for n in export.notes] == ["N-1", "N-2"]
    assert [i.total for i in export.invoices] == [mapping.from_grosze(12900)]
    assert isinstance(anonymizer(gym).anonymize(JAN, actor=RECEPTION, as_of=AS_OF), Anonymized)
    modes = db.execute("SELECT akcja, tryb FROM audyt ORDER BY kiedy_utc, akcja").fetchall()
    # An export is not an anonymization: its audit row has no mode.
    assert [tuple(row) for row in modes] == [("ANONIMIZACJA", "RECZNIE"), ("EKSPORT", None)]


def test_retention_sweep_over_the_gym(gym: Path, db: sqlite3.Connection) -> None:
    """Jan's contracts ended over 24 months ago: the sweep anonymizes him, not Anna."""
    sweep = RetentionSweep(GymDatabase(gym).unit_of_work, clock=FixedClock(NOW))
    report = sweep.run(as_of=AS_OF)
    assert (report.due, report.anonymized, report.skipped) == (1, (JAN,), ())
    audit = db.execute("SELECT osoba_id, pracownik_id, tryb FROM audyt").fetchall()
    assert [tuple(row) for row in audit] == [(JAN, None, "RETENCJA")]
    assert db.execute("SELECT imie FROM people WHERE id = ?", (ANNA,)).fetchone()[0] == "Anna"


def test_a_second_unit_waits_for_the_first(gym: Path) -> None:
    """A unit of work holds the write lock: another one cannot begin until it ends."""
    impatient = GymDatabase(gym, timeout=0.05)
    with GymDatabase(gym).unit_of_work() as first:
        first.members.lock([JAN])
        with pytest.raises(sqlite3.OperationalError, match="locked"), impatient.unit_of_work():
            pass
    with impatient.unit_of_work() as second:
        assert second.members.lock([JAN]) == [JAN]


def test_an_erasure_request_waits_for_the_days_run(gym: Path, db: sqlite3.Connection) -> None:
    """Jan's request goes into wnioski_rodo; the day's run anonymizes him and completes it."""
    database = GymDatabase(gym)
    desk = RequestDesk(database.unit_of_work, clock=FixedClock(NOW))
    received = desk.receive(JAN, actor=RECEPTION, channel=RequestChannel.EMAIL)
    assert isinstance(received, RequestReceived)
    request_id = received.request.id
    select = "SELECT osoba_id, kanal, przyjal_id, status, wplynal_dnia, termin FROM wnioski_rodo"
    assert [tuple(row) for row in db.execute(select)] == [
        (JAN, "EMAIL", RECEPTION, "OTWARTY", "2026-11-27", "2026-12-27")
    ]

    later = FixedClock(NOW + dt.timedelta(hours=10))
    report = RequestProcessor(database.unit_of_work, clock=later).run(as_of=AS_OF)

    assert report.completed == (request_id,)
    request = db.execute("SELECT * FROM wnioski_rodo").fetchone()
    assert (request["status"], request["zamknal_id"]) == ("ZREALIZOWANY", None)
    audit = db.execute("SELECT id, pracownik_id, tryb, stan_na FROM audyt").fetchall()
    assert [tuple(row) for row in audit] == [(request["audyt_id"], None, "WNIOSEK", "2026-11-27")]
    assert db.execute("SELECT imie FROM people WHERE id = ?", (JAN,)).fetchone()[0] == "Anonymized"
    outbox = db.execute("SELECT rodzaj, zawiadomienie, osoba_id, wniosek_id, tryb FROM do_wyslania")
    assert sorted(tuple(row) for row in outbox) == [
        ("ZANONIMIZOWANO", None, JAN, request_id, "WNIOSEK"),
        ("ZAWIADOMIENIE", "PRZYJETO", JAN, request_id, None),
        ("ZAWIADOMIENIE", "ZREALIZOWANO", JAN, request_id, None),
    ]


def test_a_blocked_request_and_its_notice(gym: Path, db: sqlite3.Connection) -> None:
    """Anna's request stays open, staff get a reminder; the app delivers the notice and acks it."""
    database = GymDatabase(gym)
    desk = RequestDesk(database.unit_of_work, clock=FixedClock(NOW))
    received = desk.receive(ANNA, actor=RECEPTION)
    assert isinstance(received, RequestReceived)
    request_id = received.request.id
    assert sorted(received.eligibility.blocker_codes) == ["active_contract", "wallet_funds"]
    reminders = db.execute(
        "SELECT osoba_id, klub_id, rodzaj, wniosek_id, czynnosc FROM przypomnienia"
    )
    assert [tuple(row) for row in reminders] == [
        (ANNA, "WAW-1", "request_action", request_id, "wallet_funds")
    ]
    notice = db.execute("SELECT * FROM do_wyslania").fetchone()
    assert (notice["zawiadomienie"], notice["wniosek_id"]) == ("PRZYJETO", request_id)
    for personal in ("Anna", "Nowak", "anna.nowak@example.com", "Floriańska"):
        assert personal not in notice["temat"] + notice["tresc"]

    with database.unit_of_work() as uow:
        pending = uow.outbox.pending()
        assert [message.id for message in pending] == [notice["id"]]
        assert uow.outbox.mark_delivered([notice["id"], "no-such-message"], NOW) == [notice["id"]]
        uow.commit()

    delivered = db.execute("SELECT dostarczono_utc, dostarczono_tz FROM do_wyslania").fetchone()
    assert tuple(delivered) == mapping.epoch(NOW)
    with database.unit_of_work() as uow:
        assert uow.outbox.pending() == []
        assert list(uow.requests.open_for([ANNA, JAN])) == [ANNA]

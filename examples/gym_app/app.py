"""The gym application's database: opening it, creating its schema, a tiny seed.

This is the application as it was before member-anonymization: plain
:mod:`sqlite3`, its own schema (``schema.sql``), its own way of writing rows.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

SCHEMA: Final = Path(__file__).with_name("schema.sql")

JAN: Final = "K-1001"
"""A former member: contracts ended, an unpaid purchase, a full profile."""
ANNA: Final = "K-1002"
"""A member with a running contract and money in her wallet."""
RECEPTION: Final = "P-01"
"""An employee who may anonymize, export and handle erasure requests."""
TRAINER: Final = "P-02"
"""An employee without either permission."""


def connect(path: str | os.PathLike[str], *, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection as the application opens them.

    Transactions are explicit (``isolation_level=None``: the caller says
    ``BEGIN``), rows are addressable by column name, foreign keys are enforced,
    and ``secure_delete`` overwrites deleted content with zeros, so that no
    deleted photo or note survives in the file's free pages.

    Args:
        path: The database file.
        timeout: Seconds to wait for another connection's write lock.
    """
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA secure_delete = ON")
    return connection


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the application's tables in an empty database, in one transaction."""
    connection.executescript(f"BEGIN;\n{SCHEMA.read_text(encoding='utf-8')}\nCOMMIT;")


def _at(utc: int, tz: int = 60) -> tuple[int, int]:
    """An instant as the application stores it (epoch seconds, offset minutes)."""
    return utc, tz


def seed(connection: sqlite3.Connection) -> None:
    """Fill an empty database with a tiny gym: two clubs, two employees, two members."""
    c = connection
    c.execute("BEGIN IMMEDIATE")
    try:
        c.execute("INSERT INTO siec VALUES ('fitnet', 'FitNet Polska')")
        c.executemany(
            "INSERT INTO kluby VALUES (?, ?, ?, ?, ?)",
            [
                ("WAW-1", "FitNet Warszawa Centrum", "Europe/Warsaw", 1, 24),
                ("KRK-1", "FitNet Kraków", "Europe/Warsaw", 0, None),
            ],
        )
        people = (
            "INSERT INTO people (id, rola, imie, nazwisko, email, telefon, data_urodzenia, pesel,"
            " ulica, kod_pocztowy, miasto, kraj, zdjecie, zdjecie_mime, klub_id, zarejestrowano)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        c.executemany(
            people,
            [
                (RECEPTION, "pracownik", "Anna", "Recepcja", "recepcja@fitnet.example")
                + (None,) * 11,
                (TRAINER, "pracownik", "Tomasz", "Trener") + (None,) * 12,
                (
                    JAN,
                    "klubowicz",
                    "Jan",
                    "Kowalski",
                    "jan.kowalski@example.com",
                    "+48600100200",
                    "1990-04-12",
                    "90041212345",
                    "Długa 5/3",
                    "00-238",
                    "Warszawa",
                    "PL",
                    b"\xff\xd8\xff\xe0 portrait of Jan Kowalski",
                    "image/jpeg",
                    "WAW-1",
                    "2018-03-01",
                ),
                (
                    ANNA,
                    "klubowicz",
                    "Anna",
                    "Nowak",
                    "anna.nowak@example.com",
                    "+48600300400",
                    "1987-09-23",
                    "87092354321",
                    "Floriańska 12",
                    "31-019",
                    "Kraków",
                    "PL",
                    None,
                    None,
                    "WAW-1",
                    "2023-12-15",
                ),
            ],
        )
        c.executemany(
            "INSERT INTO uprawnienia VALUES (?, ?)",
            [
                (RECEPTION, "ANONIMIZACJA"),
                (RECEPTION, "EKSPORT_DANYCH"),
                (RECEPTION, "WNIOSKI_RODO"),
                (RECEPTION, "SPRZEDAZ"),
                (TRAINER, "SPRZEDAZ"),
                (TRAINER, "GRAFIK"),
            ],
        )
        c.executemany(
            "INSERT INTO umowy VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                ("U-1", JAN, "WAW-1", "Open 12M", "2019-01-01", "2019-12-31", None),
                ("U-2", JAN, "KRK-1", "Open 6M", "2020-01-01", "2020-06-30", None),
                ("U-3", ANNA, "WAW-1", "Open", "2024-01-01", None, None),
            ],
        )
        c.executemany(
            "INSERT INTO portfele VALUES (?, ?, ?)",
            [(JAN, "PLN", 0), (ANNA, "PLN", 5000)],
        )
        c.executemany(
            "INSERT INTO payments_plan VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ("R-1", JAN, "WAW-1", "U-1", "2019-02-10", 12900, "PLN", "2019-02-09"),
                ("R-2", ANNA, "WAW-1", "U-3", "2026-12-10", 14900, "PLN", None),
            ],
        )
        c.executemany(
            "INSERT INTO zakupy VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ("Z-1", JAN, "WAW-1", *_at(1551430800), "Woda", 400, "PLN", 1),
                ("Z-2", JAN, "KRK-1", *_at(1589900400, 120), "Baton proteinowy", 750, "PLN", 0),
            ],
        )
        c.execute(
            "INSERT INTO faktury VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "F-1",
                "FV/2019/01/0001",
                JAN,
                "WAW-1",
                "2019-01-01",
                "Jan Kowalski",
                "Długa 5/3, 00-238 Warszawa",
                None,
                12900,
                "PLN",
            ),
        )
        c.execute(
            "INSERT INTO faktury_pozycje VALUES (?, ?, ?, ?, ?, ?)",
            ("F-1", 1, "Open 12M - styczeń", "1", 12900, "23"),
        )
        c.execute(
            "INSERT INTO paragony VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("PAR-1", "PAR/2019/0001", JAN, "WAW-1", *_at(1551430805), "Jan Kowalski", 400, "PLN"),
        )
        c.executemany(
            "INSERT INTO wejscia VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                ("W-1", JAN, "WAW-1", *_at(1556895600, 120), *_at(1556901000, 120)),
                ("W-2", JAN, "KRK-1", *_at(1580000000), None, None),
                ("W-3", ANNA, "WAW-1", *_at(1735000000), *_at(1735003600)),
            ],
        )
        c.execute(
            "INSERT INTO rezerwacje VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("B-1", JAN, "WAW-1", "Zumba", *_at(1556956800, 120), 1),
        )
        c.execute(
            "INSERT INTO pomiary VALUES (?, ?, ?, ?, ?)",
            ("PM-1", JAN, "2019-02-01", "waga_kg", "82.5"),
        )
        c.execute(
            "INSERT INTO cwiczenia VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("C-1", JAN, "2019-02-01", "Przysiad", 5, 5, "80"),
        )
        c.executemany(
            "INSERT INTO notatki VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("N-1", JAN, "TRENING_ZDROWIE", *_at(1549018800), "Kontuzja kolana w 2018"),
                ("N-2", JAN, "OGOLNA", *_at(1549105200), "Woli poranne zajęcia"),
                ("N-3", ANNA, "TRENING_ZDROWIE", *_at(1704103200), "Astma"),
            ],
        )
        c.executemany(
            "INSERT INTO log_profilu VALUES (?, ?, ?, ?, ?)",
            [
                ("L-1", JAN, *_at(1546329600), "Umowa Open 12M podpisana przez Jan Kowalski"),
                ("L-2", ANNA, *_at(1704096000), "Umowa Open podpisana"),
            ],
        )
        c.execute(
            "INSERT INTO dokumenty VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "D-1",
                JAN,
                "skan-dowodu-jan-kowalski.pdf",
                *_at(1546329900),
                "application/pdf",
                b"%PDF-1.7 dowod osobisty Jan Kowalski",
            ),
        )
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise

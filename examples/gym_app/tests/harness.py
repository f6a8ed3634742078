"""The contract's harness for the gym application: a dataset in, the tables out.

:func:`load_dataset` writes a :class:`Dataset` into the application's tables
the way the application stores things; :func:`dump_dataset` reads every table
back with the same row mappers the adapter's readers use
(:mod:`examples.gym_app.mapping`), so that snapshot and readers agree.

What the schema cannot hold exactly, and how the snapshot shows it:

* instants are whole seconds (epoch seconds plus an offset in minutes);
* amounts are whole grosze, shown with two decimal places;
* an employee's name is split at its first space into ``imie`` and
  ``nazwisko`` and joined back with one space;
* ids of members and employees share the ``people`` table, so they must differ.

The contract's dataset stays within these limits, so nothing is lost.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from examples.gym_app import mapping as m
from examples.gym_app.adapter import GymDatabase
from examples.gym_app.app import connect, create_schema
from member_anonymization.domain import Network
from member_anonymization.ports import UnitOfWork
from member_anonymization.serialization import Dataset

T = TypeVar("T")


def _insert(connection: sqlite3.Connection, table: str, rows: Iterable[tuple[object, ...]]) -> None:
    batch = list(rows)
    if batch:
        marks = ", ".join("?" * len(batch[0]))
        connection.executemany(f"INSERT INTO {table} VALUES ({marks})", batch)


def _people_rows(dataset: Dataset) -> Iterable[dict[str, object]]:
    for employee in dataset.employees:
        first, last = m.split_name(employee.name)
        yield {"id": employee.id, "rola": m.EMPLOYEE, "imie": first, "nazwisko": last}
    for member in dataset.members:
        anonymized_utc, anonymized_tz = m.optional_epoch(member.anonymized_at)
        photo = member.photo
        yield {
            "id": member.id,
            "rola": m.MEMBER,
            **m.personal_columns(member.personal),
            "zdjecie": None if photo is None else photo.data,
            "zdjecie_mime": None if photo is None else photo.content_type,
            "klub_id": member.home_club_id,
            "zarejestrowano": member.registered_on.isoformat(),
            "ogranicz_przetwarzanie": int(member.restrict_processing),
            "zanonimizowano_utc": anonymized_utc,
            "zanonimizowano_tz": anonymized_tz,
        }


def _insert_people(connection: sqlite3.Connection, dataset: Dataset) -> None:
    for row in _people_rows(dataset):
        columns = ", ".join(row)
        marks = ", ".join(f":{column}" for column in row)
        connection.execute(f"INSERT INTO people ({columns}) VALUES ({marks})", row)
    _insert(
        connection,
        "uprawnienia",
        (
            (employee.id, m.PERMISSIONS_BACK[permission])
            for employee in dataset.employees
            for permission in employee.permissions
        ),
    )


def _insert_money(connection: sqlite3.Connection, dataset: Dataset) -> None:
    _insert(
        connection,
        "umowy",
        (
            (
                c.id,
                c.member_id,
                c.club_id,
                c.name,
                m.day_text(c.start),
                m.day_text(c.end),
                m.day_text(c.terminated_on),
            )
            for c in dataset.contracts
        ),
    )
    _insert(
        connection,
        "portfele",
        ((w.member_id, w.currency, m.grosze(w.balance)) for w in dataset.wallets),
    )
    _insert(
        connection,
        "windykacja",
        (
            (w.id, w.member_id, w.club_id, m.day_text(w.opened_on), m.day_text(w.closed_on))
            for w in dataset.collection_cases
        ),
    )
    _insert(
        connection,
        "payments_plan",
        (
            (
                i.id,
                i.member_id,
                i.club_id,
                i.contract_id,
                m.day_text(i.due_on),
                m.grosze(i.amount),
                i.currency,
                m.day_text(i.paid_on),
            )
            for i in dataset.installments
        ),
    )
    _insert(
        connection,
        "zakupy",
        (
            (
                p.id,
                p.member_id,
                p.club_id,
                *m.epoch(p.bought_at),
                p.description,
                m.grosze(p.amount),
                p.currency,
                int(p.paid),
            )
            for p in dataset.purchases
        ),
    )
    _insert(
        connection,
        "faktury",
        (
            (
                f.id,
                f.number,
                f.member_id,
                f.club_id,
                m.day_text(f.issued_on),
                f.buyer.name,
                f.buyer.address,
                f.buyer.tax_id,
                m.grosze(f.total),
                f.currency,
            )
            for f in dataset.invoices
        ),
    )
    _insert(
        connection,
        "faktury_pozycje",
        (
            (
                f.id,
                number,
                line.description,
                m.decimal_text(line.quantity),
                m.grosze(line.unit_price),
                line.vat_rate,
            )
            for f in dataset.invoices
            for number, line in enumerate(f.lines, start=1)
        ),
    )
    _insert(
        connection,
        "paragony",
        (
            (
                r.id,
                r.number,
                r.member_id,
                r.club_id,
                *m.epoch(r.issued_at),
                r.contractor_name,
                m.grosze(r.total),
                r.currency,
            )
            for r in dataset.receipts
        ),
    )


def _insert_profile(connection: sqlite3.Connection, dataset: Dataset) -> None:
    _insert(
        connection,
        "wejscia",
        (
            (v.id, v.member_id, v.club_id, *m.epoch(v.entered_at), *m.optional_epoch(v.left_at))
            for v in dataset.visits
        ),
    )
    _insert(
        connection,
        "rezerwacje",
        (
            (b.id, b.member_id, b.club_id, b.class_name, *m.epoch(b.starts_at), int(b.attended))
            for b in dataset.class_bookings
        ),
    )
    _insert(
        connection,
        "pomiary",
        (
            (x.id, x.member_id, m.day_text(x.taken_on), x.kind, m.decimal_text(x.value))
            for x in dataset.measurements
        ),
    )
    _insert(
        connection,
        "cwiczenia",
        (
            (
                x.id,
                x.member_id,
                m.day_text(x.planned_on),
                x.name,
                x.sets,
                x.reps,
                m.decimal_text(x.weight_kg),
            )
            for x in dataset.exercises
        ),
    )
    _insert(
        connection,
        "notatki",
        (
            (n.id, n.member_id, m.NOTE_TYPES[n.note_type], *m.epoch(n.created_at), n.text)
            for n in dataset.notes
        ),
    )
    _insert(
        connection,
        "log_profilu",
        ((e.id, e.member_id, *m.epoch(e.at), e.text) for e in dataset.log_entries),
    )
    _insert(
        connection,
        "dokumenty",
        (
            (d.id, d.member_id, d.name, *m.epoch(d.uploaded_at), d.content_type, d.data)
            for d in dataset.documents
        ),
    )


def _insert_written(connection: sqlite3.Connection, dataset: Dataset) -> None:
    """What the library wrote, referenced rows first (foreign keys are checked at once)."""
    _insert(connection, "audyt", (m.audit_columns(a) for a in dataset.audit))
    for request in dataset.erasure_requests:
        row = m.request_columns(request)
        columns = ", ".join(row)
        marks = ", ".join(f":{column}" for column in row)
        connection.execute(f"INSERT INTO wnioski_rodo ({columns}) VALUES ({marks})", row)
    _insert(connection, "przypomnienia", (m.reminder_columns(r) for r in dataset.reminders))
    _insert(connection, "do_wyslania", (m.message_columns(o) for o in dataset.outbox))


def load_dataset(connection: sqlite3.Connection, dataset: Dataset) -> None:
    """Write the dataset into the application's (empty) tables, in one transaction."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(
            "INSERT INTO siec VALUES (?, ?)", (dataset.network.id, dataset.network.name)
        )
        _insert(
            connection,
            "kluby",
            (
                (
                    club.id,
                    club.name,
                    club.timezone,
                    int(club.uses_debt_collection),
                    None if club.retention is None else club.retention.months_after_contract_end,
                )
                for club in dataset.clubs
            ),
        )
        _insert_people(connection, dataset)
        _insert_money(connection, dataset)
        _insert_profile(connection, dataset)
        _insert_written(connection, dataset)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _all(
    connection: sqlite3.Connection, sql: str, read: Callable[[sqlite3.Row], T]
) -> tuple[T, ...]:
    return tuple(read(row) for row in connection.execute(sql))


def dump_dataset(connection: sqlite3.Connection) -> Dataset:
    """Every table read back as a dataset, in canonical order."""
    network_id, network_name = connection.execute("SELECT id, nazwa FROM siec").fetchone()
    permissions: defaultdict[str, list[str]] = defaultdict(list)
    for person, code in connection.execute("SELECT osoba_id, uprawnienie FROM uprawnienia"):
        permissions[person].append(code)
    lines: defaultdict[str, list[sqlite3.Row]] = defaultdict(list)
    for line in connection.execute("SELECT * FROM faktury_pozycje ORDER BY faktura_id, lp"):
        lines[line["faktura_id"]].append(line)

    def employee(row: sqlite3.Row) -> Any:
        return m.employee_from(row, permissions[row["id"]])

    def invoice(row: sqlite3.Row) -> Any:
        return m.invoice_from(row, lines[row["id"]])

    return Dataset(
        network=Network(id=network_id, name=network_name),
        clubs=_all(connection, "SELECT * FROM kluby", m.club_from),
        employees=_all(connection, "SELECT * FROM people WHERE rola = 'pracownik'", employee),
        members=_all(connection, "SELECT * FROM people WHERE rola = 'klubowicz'", m.member_from),
        contracts=_all(connection, "SELECT * FROM umowy", m.contract_from),
        wallets=_all(connection, "SELECT * FROM portfele", m.wallet_from),
        collection_cases=_all(connection, "SELECT * FROM windykacja", m.collection_case_from),
        installments=_all(connection, "SELECT * FROM payments_plan", m.installment_from),
        purchases=_all(connection, "SELECT * FROM zakupy", m.purchase_from),
        invoices=_all(connection, "SELECT * FROM faktury", invoice),
        receipts=_all(connection, "SELECT * FROM paragony", m.receipt_from),
        visits=_all(connection, "SELECT * FROM wejscia", m.visit_from),
        class_bookings=_all(connection, "SELECT * FROM rezerwacje", m.class_booking_from),
        measurements=_all(connection, "SELECT * FROM pomiary", m.measurement_from),
        exercises=_all(connection, "SELECT * FROM cwiczenia", m.exercise_from),
        notes=_all(connection, "SELECT * FROM notatki", m.note_from),
        log_entries=_all(connection, "SELECT * FROM log_profilu", m.log_entry_from),
        documents=_all(connection, "SELECT * FROM dokumenty", m.document_from),
        reminders=_all(connection, "SELECT * FROM przypomnienia", m.reminder_from),
        audit=_all(connection, "SELECT * FROM audyt", m.audit_from),
        erasure_requests=_all(connection, "SELECT * FROM wnioski_rodo", m.request_from),
        outbox=_all(connection, "SELECT * FROM do_wyslania", m.message_from),
    ).sorted()


class GymHarness:
    """The contract's :class:`~member_anonymization.contract.AdapterHarness` for the gym app.

    Args:
        folder: Where the database file is created (a test's ``tmp_path``).
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / "gym.sqlite"

    def build(self, dataset: Dataset) -> Callable[[], UnitOfWork]:
        """A new database file with the schema, holding the dataset."""
        if self.path.exists():
            raise RuntimeError("a harness builds one store")
        connection = connect(self.path)
        try:
            create_schema(connection)
            load_dataset(connection, dataset)
        finally:
            connection.close()
        return GymDatabase(self.path).unit_of_work

    def snapshot(self) -> Dataset:
        """The committed content of the database."""
        connection = connect(self.path)
        try:
            return dump_dataset(connection)
        finally:
            connection.close()

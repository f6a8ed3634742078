"""A realistic demo network: Polish members, contracts, visits, invoices, debts.

Everything is generated from a seed and dated relative to ``today`` (nothing
reads the real clock), so that the same ``today`` always gives the same data.
The first members are the story's cast: one for every blocker and warning of
the rules.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Final

import attrs
from faker import Faker

from member_anonymization.domain import (
    Address,
    BinaryContent,
    Buyer,
    ClassBooking,
    Club,
    CollectionCase,
    Contract,
    Document,
    Employee,
    Exercise,
    Installment,
    Invoice,
    InvoiceLine,
    LogEntry,
    Measurement,
    Member,
    Network,
    Note,
    NoteType,
    Permission,
    PersonalData,
    Purchase,
    Receipt,
    RetentionSetting,
    Visit,
    Wallet,
)
from member_anonymization.retention import add_months
from member_anonymization.serialization import Dataset

WARSAW: Final = dt.timezone(dt.timedelta(hours=1))
"""A fixed +01:00 offset for generated timestamps (winter time in Warsaw)."""

CAST: Final = {
    "m0001": "an active contract",
    "m0002": "a contract that starts next month",
    "m0003": "an open debt-collection case in another club of the network",
    "m0004": "money left in the wallet",
    "m0005": '"restrict processing" switched on',
    "m0006": "already anonymized",
    "m0007": "arrears in a club that uses debt collection",
    "m0008": "unpaid purchases (a warning only)",
    "m0009": "arrears in a club without debt collection (a warning only)",
    "m0010": "a contract that ended long ago: the member to export and anonymize",
}
"""The story's members and what makes each of them interesting."""

STORY_MEMBER: Final = "m0010"
BLOCKED_MEMBER: Final = "m0001"
ACTOR: Final = "e1"
ACTOR_WITHOUT_PERMISSION: Final = "e3"

_CLASSES: Final = ("Zumba", "Pilates", "Joga", "Crossfit", "Spinning", "Body Pump")
_PRODUCTS: Final = (("Woda", "4.00"), ("Baton proteinowy", "9.50"), ("Ręcznik", "12.00"))
_PLANS: Final = (("Open 12M", "129.00"), ("Open 6M", "149.00"), ("Poranny 12M", "99.00"))

_PDF: Final = (
    b"%PDF-1.4\n% demo document\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
)
_JPEG: Final = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=WARSAW)


@attrs.define
class _Builder:
    today: dt.date
    rng: random.Random
    fake: Faker
    records: dict[str, list[Any]] = attrs.Factory(dict)
    counters: dict[str, int] = attrs.Factory(dict)

    def next_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:05d}"

    def add(self, collection: str, record: Any) -> None:
        self.records.setdefault(collection, []).append(record)

    def person(self, member_id: str, home: Club, registered_on: dt.date) -> Member:
        fake = self.fake
        # Faker's own date_of_birth counts from the real date: the demo counts from its today.
        birth = self.today - dt.timedelta(days=self.rng.randint(18 * 366, 70 * 365))
        first, last = fake.first_name(), fake.last_name()
        personal = PersonalData(
            first_name=first,
            last_name=last,
            email=f"{member_id}.{fake.user_name()}@example.com",
            phone=fake.phone_number(),
            birth_date=birth,
            national_id=fake.pesel(date_of_birth=dt.datetime.combine(birth, dt.time())),
            address=Address(
                street=fake.street_address(),
                postal_code=fake.postcode(),
                city=fake.city(),
                country="PL",
            ),
        )
        photo = (
            BinaryContent(content_type="image/jpeg", data=_JPEG)
            if self.rng.random() < 0.6
            else None
        )
        return Member(
            id=member_id,
            home_club_id=home.id,
            registered_on=registered_on,
            personal=personal,
            photo=photo,
        )

    def contract(
        self,
        member: Member,
        club: Club,
        start: dt.date,
        months: int,
        *,
        terminated: dt.date | None = None,
    ) -> Contract:
        name, price = self.rng.choice(_PLANS)
        contract = Contract(
            id=self.next_id("k"),
            member_id=member.id,
            club_id=club.id,
            name=name,
            start=start,
            end=add_months(start, months) - dt.timedelta(days=1),
            terminated_on=terminated,
        )
        self.add("contracts", contract)
        self.billing(member, club, contract, Decimal(price))
        return contract

    def billing(self, member: Member, club: Club, contract: Contract, price: Decimal) -> None:
        """Monthly installments and invoices up to today, paid on time."""
        end = contract.effective_end or contract.start
        due = contract.start
        while due <= min(end, self.today):
            paid = due - dt.timedelta(days=1)
            self.add(
                "installments",
                Installment(
                    id=self.next_id("i"),
                    member_id=member.id,
                    club_id=club.id,
                    contract_id=contract.id,
                    due_on=due,
                    amount=price,
                    currency="PLN",
                    paid_on=paid if paid <= self.today else None,
                ),
            )
            if self.rng.random() < 0.5:
                self.invoice(member, club, due, f"{contract.name} - {due:%m/%Y}", price)
            due = add_months(due, 1)

    def invoice(
        self, member: Member, club: Club, issued_on: dt.date, what: str, price: Decimal
    ) -> None:
        p = member.personal
        address = (
            ""
            if p.address is None
            else f"{p.address.street}, {p.address.postal_code} {p.address.city}"
        )
        number = self.next_id("FV/")
        self.add(
            "invoices",
            Invoice(
                id=number.replace("FV/", "f"),
                number=f"FV/{issued_on:%Y/%m}/{number[3:]}",
                member_id=member.id,
                club_id=club.id,
                issued_on=issued_on,
                buyer=Buyer(name=p.display_name, address=address),
                lines=(
                    InvoiceLine(
                        description=what, quantity=Decimal("1"), unit_price=price, vat_rate="23"
                    ),
                ),
                total=price,
                currency="PLN",
            ),
        )

    def activity(self, member: Member, club: Club, since: dt.date, until: dt.date) -> None:
        """Visits, classes, purchases, training records, notes, log and documents."""
        rng = self.rng
        span = max((until - since).days, 1)
        for _ in range(rng.randint(5, 40)):
            day = since + dt.timedelta(days=rng.randrange(span))
            hour = rng.randint(6, 20)
            self.add(
                "visits",
                Visit(
                    id=self.next_id("v"),
                    member_id=member.id,
                    club_id=club.id,
                    entered_at=_at(day, hour),
                    left_at=_at(day, hour + 1, rng.randint(0, 59)),
                ),
            )
        for _ in range(rng.randint(0, 6)):
            day = since + dt.timedelta(days=rng.randrange(span))
            self.add(
                "class_bookings",
                ClassBooking(
                    id=self.next_id("b"),
                    member_id=member.id,
                    club_id=club.id,
                    class_name=rng.choice(_CLASSES),
                    starts_at=_at(day, rng.choice((9, 18, 19))),
                    attended=rng.random() < 0.8,
                ),
            )
        for _ in range(rng.randint(0, 3)):
            day = since + dt.timedelta(days=rng.randrange(span))
            what, price = rng.choice(_PRODUCTS)
            self.add(
                "purchases",
                Purchase(
                    id=self.next_id("p"),
                    member_id=member.id,
                    club_id=club.id,
                    bought_at=_at(day, 17),
                    description=what,
                    amount=Decimal(price),
                    currency="PLN",
                    paid=True,
                ),
            )
            self.add(
                "receipts",
                Receipt(
                    id=self.next_id("r"),
                    number=f"PAR/{day:%Y}/{self.counters['r']:05d}",
                    member_id=member.id,
                    club_id=club.id,
                    issued_at=_at(day, 17, 5),
                    contractor_name=member.personal.display_name,
                    total=Decimal(price),
                    currency="PLN",
                ),
            )
        self.add(
            "measurements",
            Measurement(
                id=self.next_id("ms"),
                member_id=member.id,
                taken_on=since,
                kind="weight_kg",
                value=Decimal(rng.randint(550, 1100)) / 10,
            ),
        )
        self.add(
            "exercises",
            Exercise(
                id=self.next_id("x"),
                member_id=member.id,
                planned_on=since,
                name=rng.choice(("Przysiad", "Martwy ciąg", "Wyciskanie")),
                sets=rng.randint(3, 5),
                reps=rng.randint(5, 12),
                weight_kg=Decimal(rng.randint(20, 120)),
            ),
        )
        self.add(
            "notes",
            Note(
                id=self.next_id("n"),
                member_id=member.id,
                note_type=NoteType.TRAINING_AND_HEALTH,
                created_at=_at(since, 12),
                text=rng.choice(
                    ("Uraz kolana w 2018", "Nadciśnienie, unikać maksów", "Ból pleców")
                ),
            ),
        )
        self.add(
            "notes",
            Note(
                id=self.next_id("n"),
                member_id=member.id,
                note_type=NoteType.GENERAL,
                created_at=_at(since, 12, 5),
                text=rng.choice(("Woli poranne treningi", "Pyta o karnet rodzinny", "Polecony")),
            ),
        )
        self.add(
            "log_entries",
            LogEntry(
                id=self.next_id("l"),
                member_id=member.id,
                at=_at(since, 9),
                text=f"Umowa podpisana przez {member.personal.display_name}",
            ),
        )
        self.add(
            "documents",
            Document(
                id=self.next_id("d"),
                member_id=member.id,
                name="skan-umowy.pdf",
                uploaded_at=_at(since, 9, 5),
                content_type="application/pdf",
                data=_PDF,
            ),
        )


def build_demo_dataset(*, today: dt.date, members: int = 300, seed: int = 2019) -> Dataset:
    """A demo network of three clubs and ``members`` members (at least the cast)."""
    rng = random.Random(seed)
    fake = Faker("pl_PL")
    fake.seed_instance(seed)
    b = _Builder(today=today, rng=rng, fake=fake)
    centrum = Club(
        id="c1",
        name="Fit Centrum Warszawa",
        timezone="Europe/Warsaw",
        uses_debt_collection=True,
        retention=RetentionSetting(months_after_contract_end=24),
    )
    mokotow = Club(
        id="c2",
        name="Fit Mokotów",
        timezone="Europe/Warsaw",
        uses_debt_collection=False,
        retention=RetentionSetting(months_after_contract_end=36),
    )
    krakow = Club(
        id="c3",
        name="Fit Kraków Kazimierz",
        timezone="Europe/Warsaw",
        uses_debt_collection=True,
        retention=None,
    )
    clubs = (centrum, mokotow, krakow)
    employees = (
        Employee(
            id="e1",
            name="Anna Recepcja",
            permissions=frozenset(
                {
                    Permission.ANONYMIZE_MEMBER,
                    Permission.EXPORT_MEMBER_DATA,
                    Permission.HANDLE_ERASURE_REQUESTS,
                }
            ),
        ),
        Employee(
            id="e2", name="Piotr Kierownik", permissions=frozenset({Permission.EXPORT_MEMBER_DATA})
        ),
        Employee(id="e3", name="Kasia Trenerka", permissions=frozenset()),
    )
    long_ago = add_months(today, -60)
    last_year = add_months(today, -12)

    def cast(member_id: str, home: Club, registered: dt.date) -> Member:
        member = b.person(member_id, home, registered)
        b.add("members", member)
        return member

    # The cast: one member per blocker and warning.
    m = cast("m0001", centrum, last_year)
    b.contract(m, centrum, add_months(today, -3), 12)
    b.activity(m, centrum, add_months(today, -3), today)

    m = cast("m0002", mokotow, last_year)
    b.contract(m, mokotow, add_months(today, -14), 12)
    b.contract(m, mokotow, add_months(today.replace(day=1), 1), 12)
    b.activity(m, mokotow, add_months(today, -14), add_months(today, -2))

    m = cast("m0003", centrum, long_ago)
    b.contract(m, centrum, long_ago, 12)
    b.add(
        "collection_cases",
        CollectionCase(
            id="w0001", member_id=m.id, club_id=krakow.id, opened_on=add_months(long_ago, 14)
        ),
    )
    b.activity(m, centrum, long_ago, add_months(long_ago, 12))

    m = cast("m0004", mokotow, long_ago)
    b.contract(m, mokotow, long_ago, 12)
    b.add("wallets", Wallet(member_id=m.id, balance=Decimal("85.00"), currency="PLN"))
    b.activity(m, mokotow, long_ago, add_months(long_ago, 12))

    m = attrs.evolve(cast("m0005", centrum, long_ago), restrict_processing=True)
    b.records["members"][-1] = m
    b.contract(m, centrum, long_ago, 12)
    b.activity(m, centrum, long_ago, add_months(long_ago, 12))

    m = cast("m0006", mokotow, long_ago)
    b.records["members"][-1] = attrs.evolve(
        m,
        personal=PersonalData(first_name="Anonymized", last_name="Member"),
        photo=None,
        anonymized_at=_at(add_months(today, -6), 3),
    )

    m = cast("m0007", centrum, last_year)
    k = b.contract(m, centrum, last_year, 6, terminated=add_months(last_year, 4))
    b.add(
        "installments",
        Installment(
            id=b.next_id("i"),
            member_id=m.id,
            club_id=centrum.id,
            contract_id=k.id,
            due_on=add_months(last_year, 4),
            amount=Decimal("129.00"),
            currency="PLN",
        ),
    )
    b.activity(m, centrum, last_year, add_months(last_year, 4))

    m = cast("m0008", mokotow, long_ago)
    b.contract(m, mokotow, long_ago, 12)
    b.activity(m, mokotow, long_ago, add_months(long_ago, 12))
    b.add(
        "purchases",
        Purchase(
            id=b.next_id("p"),
            member_id=m.id,
            club_id=mokotow.id,
            bought_at=_at(add_months(long_ago, 11), 18),
            description="Trening personalny",
            amount=Decimal("120.00"),
            currency="PLN",
            paid=False,
        ),
    )

    m = cast("m0009", mokotow, long_ago)
    k = b.contract(m, mokotow, long_ago, 12, terminated=add_months(long_ago, 8))
    b.add(
        "installments",
        Installment(
            id=b.next_id("i"),
            member_id=m.id,
            club_id=mokotow.id,
            contract_id=k.id,
            due_on=add_months(long_ago, 8),
            amount=Decimal("149.00"),
            currency="PLN",
        ),
    )
    b.activity(m, mokotow, long_ago, add_months(long_ago, 8))

    m = cast("m0010", centrum, add_months(today, -40))
    b.contract(m, centrum, add_months(today, -40), 12)
    b.add("wallets", Wallet(member_id=m.id, balance=Decimal("0.00"), currency="PLN"))
    b.activity(m, centrum, add_months(today, -40), add_months(today, -28))

    # Everybody else: members past and present, some due for retention.
    for n in range(len(CAST) + 1, members + 1):
        home = rng.choice(clubs)
        registered = today - dt.timedelta(days=rng.randint(30, 365 * 7))
        m = cast(f"m{n:04d}", home, registered)
        start = registered + dt.timedelta(days=rng.randint(0, 20))
        length = rng.choice((1, 3, 6, 12, 12, 24))
        if start < today and rng.random() < 0.9:
            b.contract(m, home, start, length)
            end = min(add_months(start, length), today)
            b.activity(m, home, start, max(end, start + dt.timedelta(days=1)))
        if rng.random() < 0.3:
            b.add("wallets", Wallet(member_id=m.id, balance=Decimal("0.00"), currency="PLN"))

    network = Network(id="net-1", name="Fit Network Polska")
    return Dataset(
        network=network,
        clubs=clubs,
        employees=employees,
        **{name: tuple(records) for name, records in b.records.items()},
    )
